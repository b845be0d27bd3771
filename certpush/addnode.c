#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "addnode.h"
#include "buf.h"
#include "cfgcheck.h"
#include "fsutil.h"
#include "log.h"
#include "run.h"
#include "sig.h"

#define SSH_KEYGEN	"/usr/bin/ssh-keygen"
#define KEYSCAN		"/usr/bin/ssh-keyscan"
#define BLOB_MAX	200	/* base64 of an Ed25519 public key blob: 68 */

/* "SHA256:..." of a base64 key blob, as ssh-keygen -l prints it.  0 or -1. */
static int
blob_fingerprint(const char *b64, char out[64])
{
	unsigned char raw[BLOB_MAX], md[32];
	char enc[48];
	size_t len = strlen(b64);
	int n;

	if (len == 0 || len >= sizeof(raw) || len % 4 != 0 ||
	    strspn(b64, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789+/=") != len ||
	    (n = EVP_DecodeBlock(raw, (const unsigned char *)b64, (int)len)) <= 0 ||
	    EVP_Digest(raw, (size_t)n - (b64[len - 1] == '=') - (b64[len - 2] == '='),
	    md, NULL, EVP_sha256(), NULL) != 1 ||
	    (n = EVP_EncodeBlock((unsigned char *)enc, md, sizeof(md))) <= 0)
		return -1;
	while (n > 0 && enc[n - 1] == '=')
		n--;
	snprintf(out, 64, "SHA256:%.*s", n, enc);
	return 0;
}

/*
 * Asks the node for its Ed25519 host key; blob gets the key's base64.
 * What answers is not trusted yet: only its form is checked here.
 */
static int
scan_host_key(const struct target *t, char blob[BLOB_MAX], struct err *e)
{
	char port[16], timeout[16], *line, *save = NULL;
	char *argv[] = { KEYSCAN, "-p", port, "-T", timeout, "-t", "ed25519",
	    t->host, NULL };
	struct buf out = { 0 };
	int status, rc = -1;

	snprintf(port, sizeof(port), "%lu", (unsigned long)t->port);
	snprintf(timeout, sizeof(timeout), "%lu", (unsigned long)t->timeout);
	if (run_argv_io(argv, (unsigned)t->timeout + 5, NULL, 0, &out, 64 * 1024,
	    &status, e) == -1 || buf_add_u8(&out, '\0') == -1)
		goto out;
	for (line = strtok_r((char *)out.data, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		char host[300], type[32], key[BLOB_MAX];

		if (line[0] == '#' || sscanf(line, "%299s %31s %199s", host, type, key) != 3 ||
		    strcmp(type, "ssh-ed25519") != 0)
			continue;
		snprintf(blob, BLOB_MAX, "%s", key);
		rc = 0;
		break;
	}
	if (rc == -1)
		err_set(e, "%s port %lu: no Ed25519 host key answered (ssh-keyscan exit "
		    "status %d)", t->host, (unsigned long)t->port, status);
out:
	buf_free(&out);
	return rc;
}

/* The operator's yes: --fingerprint, or "yes" typed on a terminal. */
static int
confirmed(const struct target *t, const char *fpr, const char *expected)
{
	char answer[16];

	if (expected != NULL) {
		if (strcmp(expected, fpr) == 0)
			return 1;
		log_warnx("target %s: the key offered is %s, not %s as given: possible "
		    "man-in-the-middle attack, or not the node's key; nothing written",
		    t->name, fpr, expected);
		return 0;
	}
	if (!isatty(0)) {
		log_warnx("target %s: not confirmed: run this on a terminal, or pass "
		    "--fingerprint %s once the node shows that fingerprint", t->name, fpr);
		return 0;
	}
	printf("Does the node say the same?  Type yes to add it to %s: ", t->known_hosts);
	fflush(stdout);
	if (fgets(answer, sizeof(answer), stdin) == NULL || strcmp(answer, "yes\n") != 0) {
		log_warnx("target %s: not confirmed; nothing written", t->name);
		return 0;
	}
	return 1;
}

static int
append_line(const char *path, const char *line, struct err *e)
{
	size_t len = strlen(line);
	int fd;

	if ((fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
	    0644)) == -1)
		return err_set(e, "%s: %s", path, strerror(errno));
	if (write(fd, line, len) != (ssize_t)len || fsync(fd) == -1) {
		err_set(e, "%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (close(fd) == -1)
		return err_set(e, "%s: %s", path, strerror(errno));
	return 0;
}

/* known_hosts gets the node's key, confirmed by the operator. */
static int
add_host_key(const struct target *t, const char *expected)
{
	char blob[BLOB_MAX] = "", fpr[64], line[600], name[300];
	struct err e;

	if (cfgcheck_known_host(t->known_hosts, t->host, (unsigned)t->port, &e) == 0) {
		printf("# %s already has a key for %s: kept (a changed one is refused "
		    "when pushing)\n", t->known_hosts, t->host);
		return 0;
	}
	if (scan_host_key(t, blob, &e) == -1 || blob_fingerprint(blob, fpr) == -1) {
		log_warnx("target %s: %s", t->name, blob[0] ? "malformed host key" : e.msg);
		return -1;
	}
	printf("# %s port %lu offers the Ed25519 host key %s\n"
	    "# Compare, on the node itself: ssh-keygen -lf "
	    "/etc/ssh/ssh_host_ed25519_key.pub\n", t->host, (unsigned long)t->port, fpr);
	if (!confirmed(t, fpr, expected))
		return -1;
	if (t->port == 22)
		snprintf(name, sizeof(name), "%s", t->host);
	else
		snprintf(name, sizeof(name), "[%s]:%lu", t->host, (unsigned long)t->port);
	snprintf(line, sizeof(line), "%s ssh-ed25519 %s\n", name, blob);
	if (append_line(t->known_hosts, line, &e) == -1) {
		log_warnx("target %s: %s", t->name, e.msg);
		return -1;
	}
	printf("# added to %s: %s", t->known_hosts, line);
	return 0;
}

/* The SSH identity exists (created if not); pub gets its public line. */
static int
identity_pub(const struct target *t, char *pub, size_t size)
{
	char path[4200], *argv[] = { SSH_KEYGEN, "-q", "-t", "ed25519", "-N", "", "-C",
	    "certpush@front", "-f", t->identity, NULL };
	struct buf b = { 0 };
	struct err e;
	struct stat st;

	if (lstat(t->identity, &st) == -1 && errno == ENOENT) {
		if (run_argv(argv, 30, NULL, &e) == -1) {
			log_warnx("target %s: ssh-keygen: %s", t->name, e.msg);
			return -1;
		}
		printf("# created the SSH identity %s\n", t->identity);
	}
	snprintf(path, sizeof(path), "%s.pub", t->identity);
	if (file_read(path, 4096, &b, &e) == -1) {
		log_warnx("target %s: %s (ssh-keygen -y -f %s >%s makes it)", t->name, e.msg,
		    t->identity, path);
		return -1;
	}
	while (b.len > 0 && (b.data[b.len - 1] == '\n' || b.data[b.len - 1] == '\r'))
		b.len--;
	snprintf(pub, size, "%.*s", (int)b.len, (char *)b.data);
	buf_free(&b);
	return 0;
}

/* The signing key's public half, for trusted_keys; "" if there is none yet. */
static void
signing_pub(const struct pushconf *c, char text[SIG_PUBTEXT_MAX])
{
	struct pubkey pk;
	EVP_PKEY *sk;
	struct err e;

	text[0] = '\0';
	if ((sk = sig_load_secret(c->signing_key, &e)) != NULL &&
	    sig_pubkey_of(sk, &pk, &e) == 0)
		sig_pubkey_format(&pk, text);
	EVP_PKEY_free(sk);
}

static void
print_authorized_keys(const struct target *t, const char *pub)
{
	const char *user = strcmp(t->user, "root") == 0 ? "certpush" : t->user;

	printf("\n# On %s, as root.  1. root's ~/.ssh/authorized_keys, one line:\n"
	    "restrict,command=\"/usr/sbin/certpull serve\" %s\n"
	    "#    and in /etc/ssh/sshd_config: PermitRootLogin forced-commands-only\n"
	    "# Or, where root may not log in (then user: %s in certpush.yaml):\n"
	    "#    ~%s/.ssh/authorized_keys:\n"
	    "restrict,command=\"sudo -n /usr/sbin/certpull serve\" %s\n"
	    "#    /etc/sudoers.d/certpull (visudo -cf it; mode 0440):\n"
	    "Defaults!/usr/sbin/certpull env_keep += \"SSH_ORIGINAL_COMMAND SSH_CLIENT\"\n"
	    "%s ALL=(root) NOPASSWD: /usr/sbin/certpull serve\n", t->name, pub, user, user,
	    pub, user);
}

/* A certpull.yaml to start from: one file per item, paths to fill in. */
static void
print_certpull_yaml(const struct pushconf *c, const struct target *t, const char *key)
{
	size_t i;

	printf("\n# 2. /etc/certpull/certpull.yaml on %s: a start.  Put each file where "
	    "its service\n#    reads it and name the service's check and reload "
	    "(certpull.yaml(5),\n#    /usr/share/doc/certpull/examples/):\n"
	    "node: %s\nstate_dir: /var/lib/certpull\ntrusted_keys:\n  - %s\n"
	    "services:\n  - name: CHANGE-ME\n    files:\n", t->name, t->name,
	    key[0] ? key : "CHANGE-ME (certpush keygen prints it)");
	for (i = 0; i < t->nitems; i++)
		if (pushconf_cert(c, t->items[i]) != NULL)
			printf("      - { path: /CHANGE-ME/%s.pem, item: %s, format: haproxy, "
			    "mode: \"0600\" }\n", t->items[i], t->items[i]);
		else
			printf("      - { path: /etc/dkimkeys/%s.private, item: %s, format: dkim, "
			    "owner: opendkim, mode: \"0600\" }\n", t->items[i], t->items[i]);
	printf("    reload: [/bin/systemctl, reload, CHANGE-ME]\n"
	    "\n# 3. Then: certpull check-config on %s, and here: certpush --now "
	    "--dry-run --target %s\n", t->name, t->name);
}

int
add_node(const struct pushconf *c, const char *name, const char *expected)
{
	const struct target *t = pushconf_target(c, name);
	char pub[4096], key[SIG_PUBTEXT_MAX];

	if (t == NULL) {
		log_warnx("add-node: no target named \"%s\" in %s: add it there first",
		    name, c->file);
		return 1;
	}
	if (t->type != TARGET_SSH) {
		log_warnx("add-node: target %s is local: it needs no SSH set-up", name);
		return 1;
	}
	if (add_host_key(t, expected) == -1 || identity_pub(t, pub, sizeof(pub)) == -1)
		return 1;
	signing_pub(c, key);
	print_authorized_keys(t, pub);
	print_certpull_yaml(c, t, key);
	return 0;
}
