#include <sys/stat.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "buf.h"
#include "cfgcheck.h"
#include "fsutil.h"
#include "log.h"

#define KNOWN_HOSTS_CAP	(1024 * 1024)

int
cfgcheck_file(const char *what, const char *path, int secret, struct err *e)
{
	struct stat st;

	if (lstat(path, &st) == -1 && errno == ENOENT) {
		err_set(e, "%s %s: missing", what, path);
		return 1;
	}
	if (lstat(path, &st) == -1)
		return err_set(e, "%s %s: %s", what, path, strerror(errno));
	if (S_ISLNK(st.st_mode))
		return err_set(e, "%s %s: a symbolic link; name the file itself", what, path);
	if (!S_ISREG(st.st_mode))
		return err_set(e, "%s %s: not a regular file", what, path);
	if (st.st_uid != 0 && st.st_uid != geteuid())
		return err_set(e, "%s %s: owned by uid %u, neither root nor us", what, path,
		    (unsigned)st.st_uid);
	if (st.st_mode & 022)
		return err_set(e, "%s %s: mode %04o: writable by group or others", what,
		    path, (unsigned)(st.st_mode & 07777));
	if (secret && (st.st_mode & 077))
		return err_set(e, "%s %s: mode %04o: a secret readable by group or others "
		    "(chmod 600)", what, path, (unsigned)(st.st_mode & 07777));
	return 0;
}

void
cfg_problem(struct cfgreport *r, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_warnx("%s", msg);
	r->problems++;
}

void
cfg_warning(struct cfgreport *r, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_warnx("warning: %s", msg);
	r->warnings++;
}

int
cfg_verdict(const struct cfgreport *r, const char *config)
{
	if (r->problems > 0)
		log_warnx("%s: %d problem%s and %d warning%s with what it names", config,
		    r->problems, r->problems == 1 ? "" : "s", r->warnings,
		    r->warnings == 1 ? "" : "s");
	else if (r->warnings > 0)
		log_warnx("%s: %d warning%s: the first push fails until what is missing "
		    "exists", config, r->warnings, r->warnings == 1 ? "" : "s");
	return r->problems > 0 ? 1 : 0;
}

int
cfgcheck_file_report(struct cfgreport *r, const char *what, const char *path,
    int secret, const char *hint)
{
	struct err e;
	int rc = cfgcheck_file(what, path, secret, &e);

	if (rc == 1)
		cfg_warning(r, "%s%s", e.msg, hint ? hint : "");
	else if (rc == -1)
		cfg_problem(r, "%s", e.msg);
	return rc;
}

/* A hashed host field "|1|SALT|HMAC" matches name (OpenSSH's HashKnownHosts). */
static int
hashed_match(const char *field, size_t len, const char *name)
{
	unsigned char salt[64], want[64], got[EVP_MAX_MD_SIZE];
	char text[200];
	const char *bar;
	unsigned glen = 0;
	int slen, wlen;

	if (len < 4 || len >= sizeof(text) || strncmp(field, "|1|", 3) != 0)
		return 0;
	memcpy(text, field + 3, len - 3);
	text[len - 3] = '\0';
	if ((bar = strchr(text, '|')) == NULL)
		return 0;
	text[bar - text] = '\0';
	slen = EVP_DecodeBlock(salt, (const unsigned char *)text, (int)strlen(text));
	wlen = EVP_DecodeBlock(want, (const unsigned char *)bar + 1,
	    (int)strlen(bar + 1));
	/* Both are 20 bytes, base64 with one '=' of padding: 21 decoded. */
	if (slen < 20 || wlen < 20)
		return 0;
	if (HMAC(EVP_sha1(), salt, 20, (const unsigned char *)name, strlen(name), got,
	    &glen) == NULL || glen != 20)
		return 0;
	return memcmp(got, want, 20) == 0;
}

/* The first field of a known_hosts line (comma-separated names) has name. */
static int
line_matches(const char *line, size_t len, const char *name)
{
	size_t n = strlen(name), i = 0, j;

	while (i < len && line[i] != ' ' && line[i] != '\t') {
		for (j = i; j < len && line[j] != ',' && line[j] != ' ' && line[j] != '\t'; j++)
			;
		if ((j - i == n && memcmp(line + i, name, n) == 0) ||
		    hashed_match(line + i, j - i, name))
			return 1;
		i = j < len && line[j] == ',' ? j + 1 : j;
	}
	return 0;
}

int
cfgcheck_known_host(const char *known_hosts, const char *host, unsigned port,
    struct err *e)
{
	struct buf b = { 0 };
	char name[300];
	size_t i = 0, end;
	int found = 0;

	if (port == 22)
		snprintf(name, sizeof(name), "%s", host);
	else
		snprintf(name, sizeof(name), "[%s]:%u", host, port);
	if (file_read(known_hosts, KNOWN_HOSTS_CAP, &b, e) == -1)
		return -1;
	while (!found && i < b.len) {
		const char *line = (const char *)b.data + i;

		for (end = i; end < b.len && b.data[end] != '\n'; end++)
			;
		if (line[0] != '#' && line[0] != '@')
			found = line_matches(line, end - i, name);
		i = end + 1;
	}
	buf_free(&b);
	if (!found)
		return err_set(e, "known_hosts %s: no entry for %s: fetch the node's key "
		    "(ssh-keyscan -p %u -t ed25519 %s), compare its fingerprint with the "
		    "node's own (ssh-keygen -lf), then append it", known_hosts, name, port,
		    host);
	return 0;
}
