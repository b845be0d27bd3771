/*
 * Reading certpush sources (source.h): a table of hostile layouts built
 * in a scratch folder (a key replaced by a link to the signing key, a
 * certbot link leaving archive/, a directory others may write, a file
 * owned by another user, a FIFO...) beside the layouts that must work
 * (certbot's live/ -> archive/ links, acmetool's live/HOST -> certs/ID
 * -> keys/ID, dehydrated's cert.pem -> cert-TIMESTAMP.pem, the plain files
 * of lego and uacme, a /tmp-like sticky directory, a source owned by the
 * user its configuration names), and each client's links made to escape.  Also the owner and
 * follow_symlinks keys of certpush.yaml.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "pushconf.h"
#include "source.h"

#include "testutil.c"

#define NOBODY	65534	/* a user that is neither root nor the test's */

/* ---- building layouts: paths are relative to the case's folder d ---- */

static void
at(const char *d, const char *rel, char out[TU_PATH_MAX])
{
	snprintf(out, TU_PATH_MAX, "%s/%s", d, rel);
}

static void
mkd(const char *d, const char *rel, mode_t mode)
{
	char p[TU_PATH_MAX];

	at(d, rel, p);
	assert_int_equal(mkdir(p, 0700), 0);
	assert_int_equal(chmod(p, mode), 0);
}

/* A file whose content is its own relative name, so reads can be checked. */
static void
mkf(const char *d, const char *rel, mode_t mode)
{
	assert_int_equal(tu_write(d, rel, rel, strlen(rel), mode, NULL), 0);
}

static void
ln(const char *d, const char *target, const char *rel)
{
	char p[TU_PATH_MAX];

	at(d, rel, p);
	assert_int_equal(symlink(target, p), 0);
}

static void
rm(const char *d, const char *rel)
{
	char p[TU_PATH_MAX];

	at(d, rel, p);
	assert_int_equal(unlink(p), 0);
}

static void
own(const char *d, const char *rel, uid_t uid, gid_t gid)
{
	char p[TU_PATH_MAX];

	at(d, rel, p);
	assert_int_equal(lchown(p, uid, gid), 0);
}

/* certpush's own files: keys/signing.key, keys/id_ed25519, state/. */
static void
certpush_files(const char *d, struct source_guard *g)
{
	static char sk[TU_PATH_MAX], id[TU_PATH_MAX], st[TU_PATH_MAX];

	mkd(d, "keys", 0700);
	mkf(d, "keys/signing.key", 0600);
	mkf(d, "keys/id_ed25519", 0600);
	mkd(d, "state", 0700);
	at(d, "keys/signing.key", sk);
	at(d, "keys/id_ed25519", id);
	at(d, "state", st);
	assert_int_equal(source_guard_add(g, sk, "certpush's signing key", 0), 0);
	assert_int_equal(source_guard_add(g, id, "the SSH identity of a target", 0), 0);
	assert_int_equal(source_guard_add(g, st, "certpush's state_dir", 1), 0);
}

/* certbot's layout for lineage www, version 1, as certbot writes it. */
static void
certbot(const char *d)
{
	static const char *const f[] = { "cert", "chain", "fullchain", "privkey" };
	char rel[64], target[64];
	size_t i;

	mkd(d, "le", 0755);
	mkd(d, "le/live", 0700);
	mkd(d, "le/live/www", 0755);
	mkd(d, "le/archive", 0700);
	mkd(d, "le/archive/www", 0755);
	for (i = 0; i < 4; i++) {
		snprintf(rel, sizeof(rel), "le/archive/www/%s1.pem", f[i]);
		mkf(d, rel, i == 3 ? 0600 : 0644);
		snprintf(target, sizeof(target), "../../archive/www/%s1.pem", f[i]);
		snprintf(rel, sizeof(rel), "le/live/www/%s.pem", f[i]);
		ln(d, target, rel);
	}
}

/* ---- the table ---- */

struct layout {
	const char	*name;
	void		(*build)(const char *d);
	const char	*path;		/* read, relative to d */
	int		 secret;
	int		 follow;	/* follow_symlinks */
	int		 owner;		/* owner: NOBODY, or -1 */
	int		 rc;		/* 0, -1, SOURCE_ABSENT */
	const char	*content;	/* rc 0: what is read (relative name) */
	const char	*why;		/* rc != 0: in the message */
};

static void b_plain(const char *d) { mkd(d, "src", 0755); mkf(d, "src/key.pem", 0600); }
static void b_none(const char *d) { (void)d; }

/* The attack: the key replaced by a symbolic link to the signing key. */
static void
b_link_signing(const char *d)
{
	char target[TU_PATH_MAX];

	mkd(d, "dkimkeys", 0700);
	at(d, "keys/signing.key", target);
	ln(d, target, "dkimkeys/mail.private");
}

static void
b_link_identity(const char *d)
{
	mkd(d, "dkimkeys", 0700);
	ln(d, "../keys/id_ed25519", "dkimkeys/mail.private");
}

static void
b_hardlink_signing(const char *d)
{
	char a[TU_PATH_MAX], b[TU_PATH_MAX];

	mkd(d, "dkimkeys", 0700);
	at(d, "keys/signing.key", a);
	at(d, "dkimkeys/mail.private", b);
	assert_int_equal(link(a, b), 0);
}

static void
b_hardlink(const char *d)
{
	char a[TU_PATH_MAX], b[TU_PATH_MAX];

	b_plain(d);
	at(d, "src/key.pem", a);
	at(d, "src/other.pem", b);
	assert_int_equal(link(a, b), 0);
}

static void b_in_state(const char *d) { mkf(d, "state/serial", 0600); }

static void
b_certbot_escape(const char *d)
{
	certbot(d);
	mkd(d, "le/archive/other", 0755);
	mkf(d, "le/archive/other/privkey1.pem", 0600);
	rm(d, "le/live/www/privkey.pem");
	ln(d, "../../archive/other/privkey1.pem", "le/live/www/privkey.pem");
}

static void
b_certbot_dotdot(const char *d)
{
	certbot(d);
	rm(d, "le/live/www/privkey.pem");
	ln(d, "../../archive/www/../../../keys/signing.key", "le/live/www/privkey.pem");
}

static void
b_certbot_absolute(const char *d)
{
	char target[TU_PATH_MAX];

	certbot(d);
	at(d, "le/archive/www/privkey1.pem", target);
	rm(d, "le/live/www/privkey.pem");
	ln(d, target, "le/live/www/privkey.pem");
}

/* archive/www itself a link to elsewhere: only the live/ links are certbot's. */
static void
b_certbot_archive_link(const char *d)
{
	mkd(d, "le", 0755);
	mkd(d, "le/live", 0700);
	mkd(d, "le/live/www", 0755);
	mkd(d, "le/archive", 0700);
	mkd(d, "elsewhere", 0755);
	mkf(d, "elsewhere/privkey1.pem", 0600);
	ln(d, "../elsewhere", "le/archive/www");
	ln(d, "../../archive/www/privkey1.pem", "le/live/www/privkey.pem");
}

/* The same names outside a live/ folder are not certbot's. */
static void
b_not_live(const char *d)
{
	mkd(d, "le", 0755);
	mkd(d, "le/other", 0755);
	mkd(d, "le/other/www", 0755);
	mkd(d, "le/archive", 0755);
	mkd(d, "le/archive/www", 0755);
	mkf(d, "le/archive/www/privkey1.pem", 0600);
	ln(d, "../../archive/www/privkey1.pem", "le/other/www/privkey.pem");
}

static void
b_dir_link(const char *d)
{
	mkd(d, "real", 0755);
	mkf(d, "real/key.pem", 0600);
	ln(d, "real", "src");
}

/* A link another user planted (in a sticky directory, say). */
static void
b_link_nobody(const char *d)
{
	b_dir_link(d);
	own(d, "src", NOBODY, NOBODY);
}

static void
b_loop(const char *d)
{
	mkd(d, "src", 0755);
	ln(d, "b.pem", "src/a.pem");
	ln(d, "a.pem", "src/b.pem");
}

/*
 * acmetool's layout as it writes it (strace of acmetool 0.2.2 renewing
 * against pebble): live/HOST -> ../certs/ID, certs/ID/privkey ->
 * ../../keys/KID/privkey; files cert, chain, fullchain in certs/ID.
 */
#define ACME_ID		"pu7rpcqsarvyfx43omqziljeyc5vhwrjm4rpsw7h4halipv7t4oq"
#define ACME_KID	"fzr3t46ndr4yqxdjldj3o7tgzir5a6euax6qunqpqbunnmdco75q"

static void
acmetool(const char *d)
{
	mkd(d, "acme", 0755);
	mkd(d, "acme/live", 0755);
	mkd(d, "acme/certs", 0755);
	mkd(d, "acme/certs/" ACME_ID, 0755);
	mkd(d, "acme/keys", 0700);
	mkd(d, "acme/keys/" ACME_KID, 0700);
	mkf(d, "acme/certs/" ACME_ID "/cert", 0644);
	mkf(d, "acme/certs/" ACME_ID "/fullchain", 0644);
	mkf(d, "acme/keys/" ACME_KID "/privkey", 0600);
	ln(d, "../../keys/" ACME_KID "/privkey", "acme/certs/" ACME_ID "/privkey");
	ln(d, "../certs/" ACME_ID, "acme/live/www.test");
}

/* The host link pointed at certpush's keys through the state directory. */
static void
b_acmetool_live_escape(const char *d)
{
	acmetool(d);
	rm(d, "acme/live/www.test");
	ln(d, "../certs/../../keys", "acme/live/www.test");
}

/* The key link made to climb out of keys/. */
static void
b_acmetool_key_escape(const char *d)
{
	acmetool(d);
	rm(d, "acme/certs/" ACME_ID "/privkey");
	ln(d, "../../keys/" ACME_KID "/../../../keys/signing.key",
	    "acme/certs/" ACME_ID "/privkey");
}

/* certs/ID itself a link: acmetool writes directories there. */
static void
b_acmetool_certs_link(const char *d)
{
	acmetool(d);
	mkd(d, "elsewhere", 0755);
	mkf(d, "elsewhere/cert", 0644);
	ln(d, "../elsewhere", "acme/certs/other");
	rm(d, "acme/live/www.test");
	ln(d, "../certs/other", "acme/live/www.test");
}

/* dehydrated: certs/NAME/cert.pem -> cert-TIMESTAMP.pem, beside it. */
static void
dehydrated(const char *d)
{
	mkd(d, "dh", 0755);
	mkd(d, "dh/certs", 0700);
	mkd(d, "dh/certs/www.test", 0700);
	mkf(d, "dh/certs/www.test/cert-1796028308.pem", 0600);
	mkf(d, "dh/certs/www.test/privkey-1796028308.pem", 0600);
	ln(d, "cert-1796028308.pem", "dh/certs/www.test/cert.pem");
	ln(d, "privkey-1796028308.pem", "dh/certs/www.test/privkey.pem");
}

/* The key link pointed at another name's key. */
static void
b_dehydrated_other(const char *d)
{
	dehydrated(d);
	mkd(d, "dh/certs/other", 0700);
	mkf(d, "dh/certs/other/privkey-1.pem", 0600);
	rm(d, "dh/certs/www.test/privkey.pem");
	ln(d, "../other/privkey-1.pem", "dh/certs/www.test/privkey.pem");
}

/* The key link pointed at the certificate's file (another stem). */
static void
b_dehydrated_stem(const char *d)
{
	dehydrated(d);
	rm(d, "dh/certs/www.test/privkey.pem");
	ln(d, "cert-1796028308.pem", "dh/certs/www.test/privkey.pem");
}

/* lego and uacme write plain files: any link there is refused. */
static void
b_lego(const char *d)
{
	mkd(d, "lego", 0700);
	mkd(d, "lego/certificates", 0700);
	mkf(d, "lego/certificates/www.test.key", 0600);
}

static void
b_uacme(const char *d)
{
	mkd(d, "uacme", 0755);
	mkd(d, "uacme/private", 0700);
	mkd(d, "uacme/private/www.test", 0700);
	mkf(d, "uacme/private/www.test/key.pem", 0400);
}

static void
b_uacme_link(const char *d)
{
	b_uacme(d);
	rm(d, "uacme/private/www.test/key.pem");
	ln(d, "../../../keys/signing.key", "uacme/private/www.test/key.pem");
}

static void b_dir_ow(const char *d) { b_plain(d); mkd(d, "src/ow", 0777); mkf(d, "src/ow/key.pem", 0600); }
static void b_dir_sticky(const char *d) { b_plain(d); mkd(d, "src/tmp", 01777); mkd(d, "src/tmp/mine", 0700); mkf(d, "src/tmp/mine/key.pem", 0600); }

static void
b_dir_gw(const char *d)
{
	mkd(d, "src", 0775);
	own(d, "src", 0, NOBODY);
	mkf(d, "src/key.pem", 0600);
}

static void
b_dir_gw_root(const char *d)
{
	mkd(d, "src", 0775);
	own(d, "src", 0, 0);
	mkf(d, "src/key.pem", 0600);
}

static void
b_file_nobody(const char *d)
{
	b_plain(d);
	own(d, "src/key.pem", NOBODY, NOBODY);
}

/* Debian's /etc/dkimkeys: owned by the service user, key too. */
static void
b_dir_nobody(const char *d)
{
	mkd(d, "dkimkeys", 0700);
	own(d, "dkimkeys", NOBODY, NOBODY);
	mkf(d, "dkimkeys/mail.private", 0600);
	own(d, "dkimkeys/mail.private", NOBODY, NOBODY);
}

static void
b_fifo(const char *d)
{
	char p[TU_PATH_MAX];

	mkd(d, "src", 0755);
	at(d, "src/key.pem", p);
	assert_int_equal(mkfifo(p, 0600), 0);
}

static void b_dir_as_file(const char *d) { mkd(d, "src", 0755); mkd(d, "src/key.pem", 0700); }
static void b_world_key(const char *d) { mkd(d, "src", 0755); mkf(d, "src/key.pem", 0604); }
static void b_world_cert(const char *d) { mkd(d, "src", 0755); mkf(d, "src/cert.pem", 0644); }

static const struct layout layouts[] = {
	{ "plain key", b_plain, "src/key.pem", 1, 0, -1, 0, "src/key.pem", NULL },
	{ "absent", b_none, "src/key.pem", 1, 0, -1, SOURCE_ABSENT, NULL, "No such file" },
	{ "link to the signing key", b_link_signing, "dkimkeys/mail.private", 1, 0, -1, -1,
	    NULL, "mail.private: is a symbolic link to /" },
	{ "link to the signing key, follow_symlinks", b_link_signing,
	    "dkimkeys/mail.private", 1, 1, -1, -1, NULL,
	    "is certpush's signing key" },
	{ "link to an SSH identity, follow_symlinks", b_link_identity,
	    "dkimkeys/mail.private", 1, 1, -1, -1, NULL,
	    "is the SSH identity of a target" },
	{ "hard link to the signing key", b_hardlink_signing, "dkimkeys/mail.private",
	    1, 0, -1, -1, NULL, "is certpush's signing key" },
	{ "key with two names", b_hardlink, "src/key.pem", 1, 0, -1, -1, NULL,
	    "has 2 hard links" },
	{ "file in state_dir", b_in_state, "state/serial", 1, 0, -1, -1, NULL,
	    "is certpush's state_dir" },
	{ "certbot live key", certbot, "le/live/www/privkey.pem", 1, 0, -1, 0,
	    "le/archive/www/privkey1.pem", NULL },
	{ "certbot live fullchain", certbot, "le/live/www/fullchain.pem", 0, 0, -1, 0,
	    "le/archive/www/fullchain1.pem", NULL },
	{ "certbot link to another lineage", b_certbot_escape, "le/live/www/privkey.pem",
	    1, 0, -1, -1, NULL, "is a symbolic link to ../../archive/other/privkey1.pem" },
	{ "certbot link climbing out", b_certbot_dotdot, "le/live/www/privkey.pem",
	    1, 0, -1, -1, NULL, "is a symbolic link to ../../archive/www/../" },
	{ "certbot link made absolute", b_certbot_absolute, "le/live/www/privkey.pem",
	    1, 0, -1, -1, NULL, "privkey.pem: is a symbolic link to /" },
	{ "certbot archive is a link", b_certbot_archive_link, "le/live/www/privkey.pem",
	    1, 0, -1, -1, NULL, "archive/www: is a symbolic link to ../elsewhere" },
	{ "certbot names outside live/", b_not_live, "le/other/www/privkey.pem",
	    1, 0, -1, -1, NULL, "is a symbolic link" },
	{ "acmetool live key", acmetool, "acme/live/www.test/privkey", 1, 0, -1, 0,
	    "acme/keys/" ACME_KID "/privkey", NULL },
	{ "acmetool live cert", acmetool, "acme/live/www.test/cert", 0, 0, -1, 0,
	    "acme/certs/" ACME_ID "/cert", NULL },
	{ "acmetool host link climbing out", b_acmetool_live_escape,
	    "acme/live/www.test/signing.key", 1, 0, -1, -1, NULL,
	    "www.test: is a symbolic link to ../certs/../../keys" },
	{ "acmetool key link climbing out", b_acmetool_key_escape,
	    "acme/live/www.test/privkey", 1, 0, -1, -1, NULL,
	    "privkey: is a symbolic link to ../../keys/" },
	{ "acmetool certs/ID is a link", b_acmetool_certs_link,
	    "acme/live/www.test/cert", 0, 0, -1, -1, NULL,
	    "certs/other: is a symbolic link to ../elsewhere" },
	{ "dehydrated key", dehydrated, "dh/certs/www.test/privkey.pem", 1, 0, -1, 0,
	    "dh/certs/www.test/privkey-1796028308.pem", NULL },
	{ "dehydrated cert", dehydrated, "dh/certs/www.test/cert.pem", 0, 0, -1, 0,
	    "dh/certs/www.test/cert-1796028308.pem", NULL },
	{ "dehydrated link to another name", b_dehydrated_other,
	    "dh/certs/www.test/privkey.pem", 1, 0, -1, -1, NULL,
	    "is a symbolic link to ../other/privkey-1.pem" },
	{ "dehydrated key link to the cert", b_dehydrated_stem,
	    "dh/certs/www.test/privkey.pem", 1, 0, -1, -1, NULL,
	    "is a symbolic link to cert-1796028308.pem" },
	{ "lego key", b_lego, "lego/certificates/www.test.key", 1, 0, -1, 0,
	    "lego/certificates/www.test.key", NULL },
	{ "uacme key", b_uacme, "uacme/private/www.test/key.pem", 1, 0, -1, 0,
	    "uacme/private/www.test/key.pem", NULL },
	{ "uacme key replaced by a link", b_uacme_link,
	    "uacme/private/www.test/key.pem", 1, 0, -1, -1, NULL,
	    "key.pem: is a symbolic link to ../../../keys/signing.key" },
	{ "directory link", b_dir_link, "src/key.pem", 1, 0, -1, -1, NULL,
	    "/src: is a symbolic link to real" },
	{ "directory link, follow_symlinks", b_dir_link, "src/key.pem", 1, 1, -1, 0,
	    "real/key.pem", NULL },
	{ "link of another user, follow_symlinks", b_link_nobody, "src/key.pem", 1, 1, -1,
	    -1, NULL, "/src: symbolic link is owned by uid 65534" },
	{ "link loop, follow_symlinks", b_loop, "src/a.pem", 1, 1, -1, -1, NULL,
	    "more than 8 symbolic links" },
	{ "directory writable by others", b_dir_ow, "src/ow/key.pem", 1, 0, -1, -1, NULL,
	    "ow: directory is writable by others (mode 0777)" },
	{ "sticky directory of root", b_dir_sticky, "src/tmp/mine/key.pem", 1, 0, -1, 0,
	    "src/tmp/mine/key.pem", NULL },
	{ "directory writable by a group", b_dir_gw, "src/key.pem", 1, 0, -1, -1, NULL,
	    "directory is writable by group 65534" },
	{ "directory writable by root's group", b_dir_gw_root, "src/key.pem", 1, 0, -1, 0,
	    "src/key.pem", NULL },
	{ "file of another user", b_file_nobody, "src/key.pem", 1, 0, -1, -1, NULL,
	    "file is owned by uid 65534" },
	{ "file of the named owner", b_file_nobody, "src/key.pem", 1, 0, NOBODY, 0,
	    "src/key.pem", NULL },
	{ "directory of another user", b_dir_nobody, "dkimkeys/mail.private", 1, 0, -1,
	    -1, NULL, "dkimkeys: directory is owned by uid 65534" },
	{ "directory of the named owner", b_dir_nobody, "dkimkeys/mail.private", 1, 0,
	    NOBODY, 0, "dkimkeys/mail.private", NULL },
	{ "FIFO", b_fifo, "src/key.pem", 1, 0, -1, -1, NULL, "is a FIFO" },
	{ "directory", b_dir_as_file, "src/key.pem", 1, 0, -1, -1, NULL, "is a directory" },
	{ "key readable by others", b_world_key, "src/key.pem", 1, 0, -1, -1, NULL,
	    "readable by others (mode 0604)" },
	{ "certificate readable by all", b_world_cert, "src/cert.pem", 0, 0, -1, 0,
	    "src/cert.pem", NULL },
};

static void
run_layout(const struct layout *l, size_t i)
{
	struct source_opts o = { l->owner >= 0, (uid_t)(l->owner >= 0 ? l->owner : 0),
	    l->follow };
	struct source_guard g = { 0 };
	struct source_rules r = { &o, l->secret, &g };
	char d[TU_PATH_MAX], path[TU_PATH_MAX];
	struct buf b = { 0 };
	struct err e = { { 0 } };
	int rc;

	snprintf(d, sizeof(d), "%s/case%zu", tu_dir, i);
	assert_int_equal(mkdir(d, 0755), 0);
	certpush_files(d, &g);
	l->build(d);
	at(d, l->path, path);
	rc = source_read(path, &r, &b, &e);
	print_message("%-45s rc %d %s\n", l->name, rc, rc == 0 ? "" : e.msg);
	if (l->rc == 0) {
		assert_int_equal(rc, 0);
		assert_int_equal(b.len, strlen(l->content));
		assert_memory_equal(b.data, l->content, b.len);
		assert_int_equal(b.secret, l->secret);
	} else {
		/* source_read reports an absent file as an error like the others. */
		assert_int_equal(rc, -1);
		assert_true(tu_contains(e.msg, l->why));
		assert_int_equal(b.len, 0);
	}
	buf_free(&b);
}

static void
test_layouts(void **state)
{
	size_t i;

	(void)state;
	if (geteuid() != 0)
		skip();	/* the table chowns files to another user */
	for (i = 0; i < sizeof(layouts) / sizeof(layouts[0]); i++)
		run_layout(&layouts[i], i);
}

/* source_trace callback: appends "dir|name|last;" to a 16 KiB string. */
static int
traced(const char *d, const char *name, int last, void *arg)
{
	char *out = arg;
	size_t len = strlen(out);

	snprintf(out + len, 16384 - len, "%s|%s|%d;", d, name, last);
	return 0;
}

static int
trace_has(const char *out, const char *d, const char *rel, const char *name, int last)
{
	char want[2 * TU_PATH_MAX];

	snprintf(want, sizeof(want), "%s/%s|%s|%d;", d, rel, name, last);
	return tu_contains(out, want);
}

/*
 * What certpush run watches for a source: each directory on the way, with
 * the name that matters in it, through the links a client writes (the
 * rename of acmetool's live/HOST happens in live/), and not past a link no
 * client writes or a name that does not exist yet.
 */
static void
test_trace(void **state)
{
	char d[TU_PATH_MAX], path[TU_PATH_MAX], *out = calloc(1, 16384);

	(void)state;
	assert_non_null(out);
	at(tu_dir, "trace", d);
	assert_int_equal(mkdir(d, 0755), 0);
	mkd(d, "keys", 0700);
	mkf(d, "keys/signing.key", 0600);
	acmetool(d);
	at(d, "acme/live/www.test/privkey", path);
	assert_int_equal(source_trace(path, NULL, traced, out), 0);
	assert_true(trace_has(out, d, "acme", "live", 0));
	assert_true(trace_has(out, d, "acme/live", "www.test", 0));
	assert_true(trace_has(out, d, "acme/certs", ACME_ID, 0));
	assert_true(trace_has(out, d, "acme/certs/" ACME_ID, "privkey", 1));
	assert_true(trace_has(out, d, "acme/keys", ACME_KID, 0));
	assert_true(trace_has(out, d, "acme/keys/" ACME_KID, "privkey", 1));
	assert_true(tu_contains(out, "/|"));

	out[0] = '\0';
	b_uacme_link(d);
	at(d, "uacme/private/www.test/key.pem", path);
	assert_int_equal(source_trace(path, NULL, traced, out), 0);
	assert_true(trace_has(out, d, "uacme/private/www.test", "key.pem", 1));
	assert_false(tu_contains(out, "signing.key"));

	out[0] = '\0';
	at(d, "acme/live/new.test/cert", path);
	assert_int_equal(source_trace(path, NULL, traced, out), 0);
	assert_true(trace_has(out, d, "acme/live", "new.test", 0));
	assert_false(tu_contains(out, "|cert|"));
	free(out);
}

/* source_open tells an absent source (fine for check-config) from a bad one. */
static void
test_open_absent(void **state)
{
	struct source_rules r = { NULL, 1, NULL };
	char path[TU_PATH_MAX];
	struct stat st;
	struct err e;
	int fd = -1;

	(void)state;
	at(tu_dir, "no/such/key.pem", path);
	assert_int_equal(source_open(path, &r, &fd, &st, &e), SOURCE_ABSENT);
	assert_int_equal(fd, -1);
}

/*
 * A user who may not reach the file (check-config run by another user)
 * gets SOURCE_DENIED, which check-config does not count as a broken rule.
 */
static void
test_open_denied(void **state)
{
	struct source_rules r = { NULL, 1, NULL };
	char path[TU_PATH_MAX];
	struct stat st;
	struct err e;
	int fd = -1, status;
	pid_t pid;

	(void)state;
	if (geteuid() != 0)
		skip();
	mkd(tu_dir, "denied", 0700);	/* in the 0700 scratch folder */
	mkf(tu_dir, "denied/key.pem", 0600);
	at(tu_dir, "denied/key.pem", path);
	if ((pid = fork()) == 0) {
		if (setgid(NOBODY) == -1 || setuid(NOBODY) == -1)
			_exit(2);
		_exit(source_open(path, &r, &fd, &st, &e) == SOURCE_DENIED &&
		    tu_contains(e.msg, "Permission denied") ? 0 : 1);
	}
	assert_int_not_equal(pid, -1);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* A relative path is read from the working directory, with the same rules. */
static void
test_relative(void **state)
{
	struct source_rules r = { NULL, 0, NULL };
	char cwd[TU_PATH_MAX], d[TU_PATH_MAX];
	struct buf b = { 0 };
	struct err e;

	(void)state;
	at(tu_dir, "rel", d);
	assert_int_equal(mkdir(d, 0755), 0);
	mkf(d, "cert.pem", 0644);
	ln(d, "cert.pem", "link.pem");
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir(d), 0);
	assert_int_equal(source_read("./cert.pem", &r, &b, &e), 0);
	assert_int_equal(source_read("link.pem", &r, &b, &e), -1);
	assert_true(tu_contains(e.msg, "/rel/link.pem: is a symbolic link to cert.pem"));
	assert_int_equal(chdir(cwd), 0);
	assert_int_equal(b.len, strlen("cert.pem"));
	buf_free(&b);
}

/* ---- certpush.yaml: owner and follow_symlinks ---- */

static int
load(const char *sources, struct pushconf *c, struct err *e)
{
	char text[2048];

	snprintf(text, sizeof(text), "signing_key: /k\n%s"
	    "targets:\n  - name: t\n    type: local\n    items: [x]\n", sources);
	return pushconf_load_string("test.yaml", text, strlen(text), c, e);
}

static void
test_config_keys(void **state)
{
	struct pushconf c;
	struct err e;

	(void)state;
	assert_int_equal(load("dkim:\n  - name: x\n    key: /d.key\n    selector: s\n"
	    "    domain: d.example\n    owner: root\n    follow_symlinks: true\n",
	    &c, &e), 0);
	assert_int_equal(c.dkims[0].opts.has_owner, 1);
	assert_int_equal(c.dkims[0].opts.owner, 0);
	assert_int_equal(c.dkims[0].opts.follow_symlinks, 1);
	pushconf_free(&c);
	assert_int_equal(load("certificates:\n  - name: x\n    cert: /c\n    key: /k\n",
	    &c, &e), 0);
	assert_int_equal(c.certs[0].opts.has_owner, 0);
	assert_int_equal(c.certs[0].opts.follow_symlinks, 0);
	pushconf_free(&c);
	assert_int_equal(load("certificates:\n  - name: x\n    cert: /c\n    key: /k\n"
	    "    owner: no-such-user-here\n", &c, &e), -1);
	assert_true(tu_contains(e.msg, "unknown user \"no-such-user-here\""));
	assert_int_equal(load("certificates:\n  - name: x\n    cert: /c\n    key: /k\n"
	    "    follow_symlinks: maybe\n", &c, &e), -1);
	assert_true(tu_contains(e.msg, "\"maybe\" is not true or false"));
}

/* source_guard_init takes certpush's files from the configuration. */
static void
test_guard_from_config(void **state)
{
	struct source_opts follow = { 0, 0, 1 };
	struct source_guard g;
	struct source_rules r = { &follow, 1, &g };
	char d[TU_PATH_MAX], text[2048], p[TU_PATH_MAX];
	struct pushconf c;
	struct buf b = { 0 };
	struct err e;

	(void)state;
	at(tu_dir, "guard", d);
	assert_int_equal(mkdir(d, 0755), 0);
	mkd(d, "keys", 0700);
	mkf(d, "keys/signing.key", 0600);
	mkf(d, "keys/id_ed25519", 0600);
	mkd(d, "state", 0700);
	mkf(d, "state/x", 0600);
	mkd(d, "out", 0700);
	mkf(d, "out/node.bundle", 0600);
	ln(d, "keys/signing.key", "sk.pem");
	ln(d, "keys/id_ed25519", "id.pem");
	snprintf(text, sizeof(text), "signing_key: %s/keys/signing.key\n"
	    "state_dir: %s/state\noutbox: %s/out\n"
	    "dkim:\n  - name: x\n    key: /x\n    selector: s\n    domain: d\n"
	    "targets:\n"
	    "  - { name: a, host: a, identity: %s/keys/id_ed25519, known_hosts: /k, items: [x] }\n"
	    "  - { name: b, host: b, identity: %s/keys/id_ed25519, known_hosts: /k, items: [x] }\n",
	    d, d, d, d, d);
	assert_int_equal(pushconf_load_string("t.yaml", text, strlen(text), &c, &e), 0);
	source_guard_init(&g, &c);
	/* The identity shared by two targets is kept once. */
	assert_int_equal(g.nfiles, 2);
	assert_int_equal(g.ndirs, 2);
	at(d, "sk.pem", p);
	assert_int_equal(source_read(p, &r, &b, &e), -1);
	assert_true(tu_contains(e.msg, "is certpush's signing key"));
	at(d, "id.pem", p);
	assert_int_equal(source_read(p, &r, &b, &e), -1);
	assert_true(tu_contains(e.msg, "is the SSH identity of a target"));
	at(d, "state/x", p);
	assert_int_equal(source_read(p, &r, &b, &e), -1);
	assert_true(tu_contains(e.msg, "is certpush's state_dir"));
	at(d, "out/node.bundle", p);
	assert_int_equal(source_read(p, &r, &b, &e), -1);
	assert_true(tu_contains(e.msg, "is certpush's outbox"));
	assert_int_equal(b.len, 0);
	pushconf_free(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layouts),
		cmocka_unit_test(test_open_absent),
		cmocka_unit_test(test_open_denied),
		cmocka_unit_test(test_relative),
		cmocka_unit_test(test_trace),
		cmocka_unit_test(test_config_keys),
		cmocka_unit_test(test_guard_from_config),
	};

	return cmocka_run_group_tests_name("source", tests, tu_group_setup,
	    tu_group_teardown);
}
