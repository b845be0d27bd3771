/*
 * certpush.yaml and certpull.yaml: tables of bad configurations, each
 * with the exact message it must produce (FILE:LINE:COL: KEYPATH: ...),
 * beside good ones whose values are checked.  Every file is written with
 * mode 0600 into a 0700 scratch folder.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/stat.h>

#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pullconf.h"
#include "pushconf.h"
#include "sig.h"

#include "testutil.c"

/* A valid public key for the tables (any 32 bytes parse). */
#define PUB	"ed25519:MpxaBklszaQ8ioxxxRjE1++3mRTUqG0jlHmCXybOYWI="
/* A node's key for recipient:, and the same with a bit past the key set. */
#define RECIPIENT	"x25519:MpxaBklszaQ8ioxxxRjE1++3mRTUqG0jlHmCXybOYWI="
#define RECIPIENT_NC	"x25519:MpxaBklszaQ8ioxxxRjE1++3mRTUqG0jlHmCXybOYWJ="

/* Writes text to tu_dir/name with mode; the path goes to path. */
static void
write_conf(const char *name, const char *text, mode_t mode, char path[TU_PATH_MAX])
{
	if (tu_write(tu_dir, name, text, strlen(text), mode, path) == -1)
		fail_msg("cannot write %s/%s", tu_dir, name);
}

enum which { PUSH, PULL };

struct conf_case {
	const char	*name;
	enum which	 which;
	const char	*text;
	/* The message after the file name; only a prefix if it ends in "...". */
	const char	*want;
};

/* Loads path with the loader for which.  Returns its result. */
static int
load(enum which which, const char *path, struct err *e)
{
	struct pushconf pc;
	struct pullconf lc;
	int rc;

	e->msg[0] = '\0';
	if (which == PUSH) {
		if ((rc = pushconf_load(path, &pc, e)) == 0)
			pushconf_free(&pc);
	} else {
		if ((rc = pullconf_load(path, &lc, e)) == 0)
			pullconf_free(&lc);
	}
	return rc;
}

/* Asserts that loading path fails with exactly PATH + want (or a prefix). */
static void
assert_refused(const char *name, enum which which, const char *path,
    const char *want)
{
	struct err e;
	size_t n = strlen(path), wn = strlen(want);
	int prefix = wn >= 3 && strcmp(want + wn - 3, "...") == 0;

	if (load(which, path, &e) != -1)
		fail_msg("%s: accepted", name);
	if (getenv("TEST_VERBOSE") != NULL)
		print_message("%s: %s\n", name, e.msg);
	if (strncmp(e.msg, path, n) != 0 ||
	    (prefix ? strncmp(e.msg + n, want, wn - 3) :
	    strcmp(e.msg + n, want)) != 0)
		fail_msg("%s:\n  got  \"%s\"\n  want \"%s%s\"", name, e.msg, path, want);
}

static void
run_case(void **state)
{
	const struct conf_case *c = *state;
	char path[TU_PATH_MAX];

	write_conf(c->which == PUSH ? "certpush.yaml" : "certpull.yaml", c->text,
	    0600, path);
	assert_refused(c->name, c->which, path, c->want);
}

/* The smallest valid certpush.yaml, with a line inserted where named. */
#define PUSH_HEAD	"signing_key: /etc/certpush/signing.key\n"
#define PUSH_CERT	"certificates:\n  - name: c\n    cert: /c.pem\n    key: /c.key\n"
#define PUSH_TARGET	"targets:\n  - name: t\n    type: local\n    items: [c]\n"
#define PUSH_MIN	PUSH_HEAD PUSH_CERT PUSH_TARGET
#define SSH_TARGET(extra) "targets:\n  - name: t\n    host: t.example\n" \
	"    identity: /id\n    known_hosts: /kh\n    items: [c]\n" extra

/* The smallest valid certpull.yaml. */
#define PULL_HEAD	"node: mail\ntrusted_keys:\n  - " PUB "\n"
#define PULL_SVC	"services:\n  - name: postfix\n    files:\n"
#define PULL_FILE(fmt, mode) \
	"      - path: /etc/postfix/mail.pem\n        item: mail\n" \
	"        format: " fmt "\n        mode: " mode "\n"
#define PULL_MIN	PULL_HEAD PULL_SVC PULL_FILE("key+chain", "\"0600\"")
#define PULL_EP(extra)	PULL_MIN "    endpoints:\n      - address: 127.0.0.1\n" extra

static const struct conf_case cases[] = {
	/* ---- certpush.yaml ---- */
	{ "push: YAML syntax error", PUSH, PUSH_HEAD "targets: [a\n",
	    ":3:1: YAML syntax error: ..." },
	{ "push: bad indentation", PUSH, PUSH_HEAD "targets:\n  - name: t\n   items: [c]\n",
	    ":4:4: YAML syntax error: ..." },
	{ "push: empty file", PUSH, "", ": empty configuration" },
	{ "push: only a comment", PUSH, "# nothing here\n", ": empty configuration" },
	{ "push: top level is a list", PUSH, "- signing_key: /k\n",
	    ":1:1: (top level): expected a mapping of keys" },
	{ "push: top level is a scalar", PUSH, "certpush\n",
	    ":1:1: (top level): expected a mapping of keys" },
	{ "push: unknown top-level key", PUSH, PUSH_MIN "colour: red\n",
	    ":10:1: (top level): unknown key \"colour\"" },
	{ "push: unknown key in a target", PUSH, PUSH_MIN "    colour: red\n",
	    ":10:5: targets[0]: unknown key \"colour\"" },
	{ "push: unknown key in a certificate", PUSH, PUSH_HEAD
	    "certificates:\n  - name: c\n    cert: /c.pem\n    key: /c.key\n"
	    "    lineage2: /x\n" PUSH_TARGET,
	    ":6:5: certificates[0]: unknown key \"lineage2\"" },
	{ "push: duplicate top-level key", PUSH, PUSH_MIN "signing_key: /other\n",
	    ":10:1: (top level): duplicate key \"signing_key\"" },
	{ "push: duplicate key in a target", PUSH, PUSH_MIN "    type: ssh\n",
	    ":10:5: targets[0]: duplicate key \"type\"" },
	{ "push: list where a value is expected", PUSH,
	    "signing_key: [a, b]\n" PUSH_CERT PUSH_TARGET,
	    ":1:14: signing_key: expected a single value" },
	{ "push: mapping where a value is expected", PUSH, PUSH_CERT
	    "targets:\n  - name: t\n    type: {ssh: 1}\n    items: [c]\n"
	    "signing_key: /k\n",
	    ":7:11: targets[0].type: expected a single value" },
	{ "push: scalar where a list is expected", PUSH, PUSH_HEAD PUSH_CERT "targets: t\n",
	    ":6:10: targets: expected a list" },
	{ "push: mapping where a list is expected", PUSH, PUSH_HEAD PUSH_CERT
	    "targets:\n  name: t\n  items: [c]\n",
	    ":7:3: targets: expected a list" },
	{ "push: items is a scalar", PUSH, PUSH_HEAD PUSH_CERT
	    "targets:\n  - name: t\n    type: local\n    items: c\n",
	    ":9:12: targets[0].items: expected a list" },
	{ "push: a list item is a list", PUSH, PUSH_HEAD PUSH_CERT
	    "targets:\n  - name: t\n    type: local\n    items: [[c]]\n",
	    ":9:13: targets[0].items: item 1 must be a non-empty value" },
	{ "push: a target is a scalar", PUSH, PUSH_HEAD PUSH_CERT "targets:\n  - t\n",
	    ":7:5: targets[0]: expected a mapping" },
	{ "push: missing signing_key", PUSH, PUSH_CERT PUSH_TARGET,
	    ":1:1: (top level): missing required key \"signing_key\"" },
	{ "push: missing targets", PUSH, PUSH_HEAD PUSH_CERT,
	    ":1:1: (top level): missing required key \"targets\"" },
	{ "push: empty target list", PUSH, PUSH_HEAD PUSH_CERT "targets: []\n",
	    ":6:10: targets: at least one target is needed" },
	{ "push: target without items", PUSH, PUSH_HEAD PUSH_CERT
	    "targets:\n  - name: t\n    type: local\n",
	    ":7:5: targets[0]: missing required key \"items\"" },
	{ "push: target without a name", PUSH, PUSH_HEAD PUSH_CERT
	    "targets:\n  - type: local\n    items: [c]\n",
	    ":7:5: targets[0]: missing required key \"name\"" },
	{ "push: dkim without selector", PUSH, PUSH_MIN
	    "dkim:\n  - name: d\n    key: /d.key\n    domain: example.test\n",
	    ":11:5: dkim[0]: missing required key \"selector\"" },
	{ "push: empty value", PUSH, "signing_key: \"\"\n" PUSH_CERT PUSH_TARGET,
	    ":1:14: signing_key: must not be empty" },
	{ "push: port 0", PUSH, PUSH_HEAD PUSH_CERT SSH_TARGET("    port: 0\n"),
	    ":12:11: targets[0].port: 0 is out of range (1 to 65535)" },
	{ "push: port 70000", PUSH, PUSH_HEAD PUSH_CERT SSH_TARGET("    port: 70000\n"),
	    ":12:11: targets[0].port: 70000 is out of range (1 to 65535)" },
	{ "push: port abc", PUSH, PUSH_HEAD PUSH_CERT SSH_TARGET("    port: abc\n"),
	    ":12:11: targets[0].port: \"abc\" is not a whole number" },
	{ "push: port -22", PUSH, PUSH_HEAD PUSH_CERT SSH_TARGET("    port: -22\n"),
	    ":12:11: targets[0].port: \"-22\" is not a whole number" },
	{ "push: port 22x", PUSH, PUSH_HEAD PUSH_CERT SSH_TARGET("    port: 22x\n"),
	    ":12:11: targets[0].port: \"22x\" is not a whole number" },
	{ "push: port huge", PUSH, PUSH_HEAD PUSH_CERT
	    SSH_TARGET("    port: 99999999999999999999999\n"),
	    ":12:11: targets[0].port: \"99999999999999999999999\" is not a whole number" },
	{ "push: quiet_period too long", PUSH, PUSH_MIN "quiet_period: 3601\n",
	    ":10:15: quiet_period: 3601 is out of range (0 to 3600)" },
	{ "push: inconsistent_after 0", PUSH, PUSH_MIN "inconsistent_after: 0\n",
	    ":10:21: inconsistent_after: 0 is out of range (1 to 86400)" },
	{ "push: concurrency 0", PUSH, PUSH_MIN "concurrency: 0\n",
	    ":10:14: concurrency: 0 is out of range (1 to 256)" },
	{ "push: front_id 16", PUSH, PUSH_MIN "front_id: 16\n",
	    ":10:11: front_id: 16 is out of range (0 to 15)" },
	{ "push: front_id negative", PUSH, PUSH_MIN "front_id: -1\n",
	    ":10:11: front_id: \"-1\" is not a whole number" },
	{ "push: timeout 0", PUSH, PUSH_HEAD PUSH_CERT SSH_TARGET("    timeout: 0\n"),
	    ":12:14: targets[0].timeout: 0 is out of range (1 to 3600)" },
	{ "push: unknown target type", PUSH, PUSH_HEAD PUSH_CERT
	    "targets:\n  - name: t\n    type: ftp\n    items: [c]\n",
	    ":8:11: targets[0]: type \"ftp\" is not ssh or local" },
	{ "push: ssh target without host", PUSH, PUSH_HEAD PUSH_CERT
	    "targets:\n  - name: t\n    identity: /id\n    known_hosts: /kh\n"
	    "    items: [c]\n",
	    ":7:5: targets[0]: an ssh target needs host, identity and known_hosts" },
	{ "push: ssh target without identity", PUSH, PUSH_HEAD PUSH_CERT
	    "targets:\n  - name: t\n    type: ssh\n    host: h\n    known_hosts: /kh\n"
	    "    items: [c]\n",
	    ":7:5: targets[0]: an ssh target needs host, identity and known_hosts" },
	{ "push: ssh target without known_hosts", PUSH, PUSH_HEAD PUSH_CERT
	    "targets:\n  - name: t\n    host: h\n    identity: /id\n    items: [c]\n",
	    ":7:5: targets[0]: an ssh target needs host, identity and known_hosts" },
	{ "push: relative certpull", PUSH, PUSH_MIN "    certpull: bin/certpull\n",
	    ":10:15: targets[0]: certpull \"bin/certpull\" must be an absolute path" },
	{ "push: target references an unknown item", PUSH, PUSH_HEAD PUSH_CERT
	    "targets:\n  - name: t\n    type: local\n    items: [c, nope]\n",
	    ":9:12: targets[0]: item \"nope\" is not a certificate or dkim name" },
	{ "push: target lists an item twice", PUSH, PUSH_HEAD PUSH_CERT
	    "targets:\n  - name: t\n    type: local\n    items: [c, c]\n",
	    ":9:12: targets[0]: item \"c\" is listed twice" },
	{ "push: lineage together with cert", PUSH, PUSH_HEAD
	    "certificates:\n  - name: c\n    lineage: /etc/letsencrypt/live/c\n"
	    "    cert: /c.pem\n" PUSH_TARGET,
	    ":3:5: certificates[0]: give either lineage or cert/key/chain, not both" },
	{ "push: cert without key", PUSH, PUSH_HEAD
	    "certificates:\n  - name: c\n    cert: /c.pem\n" PUSH_TARGET,
	    ":3:5: certificates[0]: needs lineage, or both cert and key" },
	{ "push: empty names list", PUSH, PUSH_HEAD
	    "certificates:\n  - name: c\n    lineage: /l\n    names: []\n" PUSH_TARGET,
	    ":5:12: certificates[0].names: needs 1 to 100 values" },
	{ "push: bad item name", PUSH, PUSH_HEAD
	    "certificates:\n  - name: ../c\n    lineage: /l\n" PUSH_TARGET,
	    ":3:11: certificates[0]: name \"../c\" may use only letters, digits, "
	    "'.', '_', '-' (at most 58, not starting with '.' or '-', no \"..\")" },
	{ "push: bad target name", PUSH, PUSH_HEAD PUSH_CERT
	    "targets:\n  - name: mx 1\n    type: local\n    items: [c]\n",
	    ":7:11: targets[0]: name \"mx 1\" may use only letters, digits, "
	    "'.', '_', '-' (at most 58, not starting with '.' or '-', no \"..\")" },
	{ "push: duplicate target names", PUSH, PUSH_MIN
	    "  - name: t\n    type: local\n    items: [c]\n",
	    ": targets: name \"t\" is used twice" },
	{ "push: duplicate certificate names", PUSH, PUSH_HEAD PUSH_CERT
	    "  - name: c\n    lineage: /l\n" PUSH_TARGET,
	    ": certificates: name \"c\" is used twice" },
	{ "push: a certificate and a dkim key share a name", PUSH, PUSH_MIN
	    "dkim:\n  - name: c\n    key: /d.key\n    selector: s\n    domain: d.example\n",
	    ": item name \"c\" is used twice" },
	{ "push: outbox_group (one group for every node's keys)", PUSH, PUSH_MIN
	    "outbox: /srv/outbox\noutbox_group: root\n",
	    ":11:15: outbox_group: no longer supported: one group for the whole "
	    "outbox let every node read every other node's private keys; give "
	    "each target that fetches its own account and fetch_group instead "
	    "(certpush.yaml(5), fetch_group)" },
	{ "push: recipient is a signing key", PUSH, PUSH_MIN "    recipient: " PUB "\n",
	    ":10:16: targets[0].recipient: public key must start with \"x25519:\"" },
	{ "push: recipient cut short", PUSH, PUSH_MIN "    recipient: "
	    "x25519:MpxaBklszaQ8ioxxxRjE1++3mRTUqG0jlHmCXybOYW=\n",
	    ":10:16: targets[0].recipient: public key must be 44 base64 characters "
	    "after \"x25519:\"" },
	{ "push: recipient not canonical", PUSH, PUSH_MIN "    recipient: " RECIPIENT_NC
	    "\n", ":10:16: targets[0].recipient: public key: invalid base64 (not in "
	    "canonical form)" },
	{ "push: unknown fetch_group", PUSH, "outbox: /srv/outbox\n" PUSH_MIN
	    "    fetch_group: no-such-group-certpush\n",
	    ":11:18: targets[0].fetch_group: unknown group \"no-such-group-certpush\"" },
	{ "push: fetch_group with the outbox in state_dir (default)", PUSH, PUSH_MIN
	    "    fetch_group: root\n",
	    ":10:18: targets[0].fetch_group: needs an outbox outside state_dir "
	    "/var/lib/certpush, which only root may enter (for example outbox: "
	    "/var/lib/certpush-outbox)" },
	{ "push: fetch_group with the outbox in state_dir (given)", PUSH,
	    "state_dir: /srv/cp/\noutbox: /srv/cp/out\n" PUSH_MIN "    fetch_group: root\n",
	    ":12:18: targets[0].fetch_group: needs an outbox outside state_dir "
	    "/srv/cp/, which only root may enter (for example outbox: "
	    "/var/lib/certpush-outbox)" },
	{ "push: fetch_group is state_dir itself", PUSH,
	    "state_dir: /srv/cp\noutbox: /srv/cp\n" PUSH_MIN "    fetch_group: root\n",
	    ":12:18: targets[0].fetch_group: needs an outbox outside state_dir..." },
	{ "push: two targets share a fetch_group", PUSH, "outbox: /srv/outbox\n"
	    PUSH_MIN "    fetch_group: root\n  - name: u\n    type: local\n"
	    "    items: [c]\n    fetch_group: \"0\"\n",
	    ":15:18: targets[1].fetch_group: group \"0\" is already target t's: each "
	    "node needs a fetch account of its own, or it can read the other's keys" },

	/* ---- certpull.yaml ---- */
	{ "push: s3 without credentials_file", PUSH, PUSH_MIN
	    "s3:\n  endpoint: https://s3.example\n  region: us-east-1\n",
	    ":11:3: s3: missing required key \"credentials_file\"" },
	{ "push: s3 endpoint over http", PUSH, PUSH_MIN "s3:\n  endpoint: http://s3.example\n"
	    "  region: us-east-1\n  credentials_file: /c\n",
	    ":11:13: s3.endpoint: \"http://s3.example\" is not an https:// URL without query" },
	{ "push: s3 endpoint with a query", PUSH, PUSH_MIN "s3:\n  endpoint: https://s3/?a\n"
	    "  region: us-east-1\n  credentials_file: /c\n",
	    ":11:13: s3.endpoint: \"https://s3/?a\" is not an https:// URL without query" },
	{ "push: s3 bucket with capitals", PUSH, PUSH_MIN "s3:\n  endpoint: https://s3\n"
	    "  bucket: Bundles\n  region: us-east-1\n  credentials_file: /c\n",
	    ":12:11: s3.bucket: \"Bundles\" is not a bucket name (3 to 63 of a-z, 0-9, "
	    "'.', '-')" },
	{ "push: s3 region with a slash", PUSH, PUSH_MIN "s3:\n  endpoint: https://s3\n"
	    "  region: us/east\n  credentials_file: /c\n",
	    ":12:11: s3.region: \"us/east\" is not a region name (a-z, 0-9, '-')" },
	{ "push: s3 prefix climbing", PUSH, PUSH_MIN "s3:\n  endpoint: https://s3\n"
	    "  region: r\n  prefix: a/../b/\n  credentials_file: /c\n",
	    ":13:11: s3.prefix: \"a/../b/\": a prefix has at most 200 of A-Z, a-z, 0-9, "
	    "'.', '_', '-', '/', no leading '/', no \"//\" or \"..\"" },
	{ "push: s3 relative credentials_file", PUSH, PUSH_MIN "s3:\n  endpoint: https://s3\n"
	    "  region: r\n  credentials_file: s3.cred\n",
	    ":13:21: s3.credentials_file: \"s3.cred\" must be absolute" },
	{ "push: s3 unknown key", PUSH, PUSH_MIN "s3:\n  endpoint: https://s3\n"
	    "  region: r\n  credentials_file: /c\n  secret: x\n",
	    ":14:3: s3: unknown key \"secret\"" },
	{ "pull: YAML syntax error", PULL, "node: mail\nservices: [\n",
	    ":3:1: YAML syntax error: ..." },
	{ "pull: tab indentation", PULL, "node: mail\nservices:\n\t- name: x\n",
	    ":3:1: YAML syntax error: ..." },
	{ "pull: empty file", PULL, "", ": empty configuration" },
	{ "pull: top level is a list", PULL, "- node: mail\n",
	    ":1:1: (top level): expected a mapping of keys" },
	{ "pull: relative secret_key", PULL, "secret_key: node.key\n" PULL_MIN,
	    ":1:13: secret_key: secret_key \"node.key\" must be an absolute path" },
	{ "pull: secret_key not a string", PULL, "secret_key: [a]\n" PULL_MIN,
	    ":1:13: secret_key: ..." },
	{ "pull: unknown top-level key", PULL, PULL_MIN "nodes: [a]\n",
	    ":11:1: (top level): unknown key \"nodes\"" },
	{ "pull: unknown key in a file", PULL, PULL_MIN "        colour: red\n",
	    ":11:9: services[0].files[0]: unknown key \"colour\"" },
	{ "pull: unknown key in an endpoint", PULL, PULL_EP("        port: 25\n"
	    "        tls: yes\n"),
	    ":14:9: services[0].endpoints[0]: unknown key \"tls\"" },
	{ "pull: duplicate top-level key", PULL, PULL_MIN "node: other\n",
	    ":11:1: (top level): duplicate key \"node\"" },
	{ "pull: duplicate key in a file", PULL, PULL_MIN "        mode: \"0640\"\n",
	    ":11:9: services[0].files[0]: duplicate key \"mode\"" },
	{ "pull: list where a value is expected", PULL,
	    "node: [a, b]\ntrusted_keys: [" PUB "]\n" PULL_SVC
	    PULL_FILE("cert", "\"0644\""),
	    ":1:7: node: expected a single value" },
	{ "pull: scalar where a list is expected", PULL,
	    "node: mail\ntrusted_keys: " PUB "\n" PULL_SVC PULL_FILE("cert", "\"0644\""),
	    ":2:15: trusted_keys: expected a list" },
	{ "pull: mapping where a list is expected", PULL, PULL_HEAD
	    "services:\n  name: postfix\n",
	    ":5:3: services: expected a list" },
	{ "pull: files is a mapping", PULL, PULL_HEAD
	    "services:\n  - name: postfix\n    files: {path: /x}\n",
	    ":6:12: services[0].files: expected a list" },
	{ "pull: reload is a scalar", PULL, PULL_MIN "    reload: /bin/true\n",
	    ":11:13: services[0].reload: expected a list" },
	{ "pull: missing node", PULL, "trusted_keys: [" PUB "]\n" PULL_SVC
	    PULL_FILE("cert", "\"0644\""),
	    ":1:1: (top level): missing required key \"node\"" },
	{ "pull: missing trusted_keys", PULL, "node: mail\n" PULL_SVC
	    PULL_FILE("cert", "\"0644\""),
	    ":1:1: (top level): missing required key \"trusted_keys\"" },
	{ "pull: service without files", PULL, PULL_HEAD
	    "services:\n  - name: postfix\n    reload: [/bin/true]\n",
	    ":5:5: services[0]: missing required key \"files\"" },
	{ "pull: file without mode", PULL, PULL_HEAD PULL_SVC
	    "      - path: /x.pem\n        item: mail\n        format: cert\n",
	    ":7:9: services[0].files[0]: missing required key \"mode\"" },
	{ "pull: empty services list", PULL, PULL_HEAD "services: []\n",
	    ":4:11: services: needs 1 to 16 entries" },
	{ "pull: endpoint port 0", PULL, PULL_EP("        port: 0\n"),
	    ":13:15: services[0].endpoints[0].port: 0 is out of range (1 to 65535)" },
	{ "pull: endpoint port 70000", PULL, PULL_EP("        port: 70000\n"),
	    ":13:15: services[0].endpoints[0].port: 70000 is out of range (1 to 65535)" },
	{ "pull: endpoint port abc", PULL, PULL_EP("        port: abc\n"),
	    ":13:15: services[0].endpoints[0].port: \"abc\" is not a whole number" },
	{ "pull: fetch port 0", PULL, PULL_MIN "fetch:\n  host: front\n  port: 0\n"
	    "  identity: /id\n  known_hosts: /kh\n  path: /outbox/mail.bundle\n",
	    ":13:9: fetch.port: 0 is out of range (1 to 65535)" },
	{ "pull: fetch without path", PULL, PULL_MIN "fetch:\n  host: front\n"
	    "  identity: /id\n  known_hosts: /kh\n",
	    ":12:3: fetch: missing required key \"path\"" },
	{ "pull: empty fetch section", PULL, PULL_MIN "fetch: {}\n",
	    ":11:8: fetch: needs urls (HTTPS mirrors), host (SFTP on the front), or both" },
	{ "pull: fetch url over http", PULL, PULL_MIN "fetch:\n  urls:\n"
	    "    - http://mirror.example/{node}.bundle\n",
	    ":13:7: fetch.urls: \"http://mirror.example/{node}.bundle\" is not an https:// "
	    "URL (printable, no spaces, at most 1024 characters)" },
	{ "pull: fetch url with a space", PULL, PULL_MIN "fetch:\n  urls:\n"
	    "    - \"https://mirror.example/a b\"\n",
	    ":13:7: fetch.urls: \"https://mirror.example/a b\" is not an https:// URL..." },
	{ "pull: fetch url {node} unquoted in [ ]", PULL, PULL_MIN
	    "fetch:\n  urls: [{node}]\n",
	    ":12:10: fetch.urls: entry 1 is not a string: quote a URL holding {node} "
	    "inside [ ] (\"https://mirror/{node}.bundle\")" },
	{ "pull: fetch nine urls", PULL, PULL_MIN "fetch:\n  urls: [https://a, https://b, "
	    "https://c, https://d, https://e, https://f, https://g, https://h, https://i]\n",
	    ":12:9: fetch.urls: needs 1 to 8 values" },
	{ "pull: fetch ca_file relative", PULL, PULL_MIN "fetch:\n  urls: [https://a]\n"
	    "  ca_file: ca.pem\n",
	    ":13:12: fetch.ca_file: ca_file \"ca.pem\" must be absolute" },
	{ "pull: fetch ca_file without urls", PULL, PULL_MIN "fetch:\n  host: front\n"
	    "  identity: /id\n  known_hosts: /kh\n  path: /o/mail.bundle\n  ca_file: /ca.pem\n",
	    ":16:12: fetch.ca_file: ca_file is for urls only" },
	{ "pull: fetch SFTP key without host", PULL, PULL_MIN "fetch:\n  urls: [https://a]\n"
	    "  path: /o/mail.bundle\n",
	    ":12:3: fetch: port, user, identity, known_hosts and path are for SFTP: they "
	    "need host" },
	{ "pull: fetch host and urls, no identity", PULL, PULL_MIN "fetch:\n"
	    "  urls: [https://a]\n  host: front\n  known_hosts: /kh\n  path: /o/m.bundle\n",
	    ":12:3: fetch: missing required key \"identity\"" },
	{ "pull: mode 640", PULL, PULL_HEAD PULL_SVC PULL_FILE("cert", "640"),
	    ":10:15: services[0].files[0].mode: \"640\" is not an octal mode like 0640" },
	{ "pull: mode 0999", PULL, PULL_HEAD PULL_SVC PULL_FILE("cert", "\"0999\""),
	    ":10:15: services[0].files[0].mode: \"0999\" is not an octal mode like 0640" },
	{ "pull: mode rw", PULL, PULL_HEAD PULL_SVC PULL_FILE("cert", "rw"),
	    ":10:15: services[0].files[0].mode: \"rw\" is not an octal mode like 0640" },
	{ "pull: mode 00644", PULL, PULL_HEAD PULL_SVC PULL_FILE("cert", "\"00644\""),
	    ":10:15: services[0].files[0].mode: \"00644\" is not an octal mode like 0640" },
	{ "pull: key+chain file with mode 0644", PULL, PULL_HEAD PULL_SVC
	    PULL_FILE("key+chain", "\"0644\""),
	    ":10:15: services[0].files[0]: mode 0644 is too open for a private key: "
	    "no execute bit, no group write, nothing for others (use 0600, or 0640 "
	    "for a service group)" },
	{ "pull: haproxy file with mode 0604", PULL, PULL_HEAD PULL_SVC
	    PULL_FILE("haproxy", "\"0604\""),
	    ":10:15: services[0].files[0]: mode 0604 is too open for a private key..." },
	{ "pull: key file with mode 0660", PULL, PULL_HEAD PULL_SVC
	    PULL_FILE("key", "\"0660\""),
	    ":10:15: services[0].files[0]: mode 0660 is too open for a private key..." },
	{ "pull: dkim file with mode 0700", PULL, PULL_HEAD PULL_SVC
	    PULL_FILE("dkim", "\"0700\""),
	    ":10:15: services[0].files[0]: mode 0700 is too open for a private key..." },
	{ "pull: key file with mode 0740", PULL, PULL_HEAD PULL_SVC
	    PULL_FILE("key", "\"0740\""),
	    ":10:15: services[0].files[0]: mode 0740 is too open for a private key..." },
	{ "pull: certificate file with mode 0664", PULL, PULL_HEAD PULL_SVC
	    PULL_FILE("fullchain", "\"0664\""),
	    ":10:15: services[0].files[0]: mode 0664 lets the group or others rewrite "
	    "a certificate" },
	{ "pull: certificate file with mode 0646", PULL, PULL_HEAD PULL_SVC
	    PULL_FILE("cert", "\"0646\""),
	    ":10:15: services[0].files[0]: mode 0646 lets the group or others rewrite "
	    "a certificate" },
	{ "pull: unknown owner", PULL, PULL_MIN "        owner: no-such-user-cp\n",
	    ":11:16: services[0].files[0].owner: unknown user \"no-such-user-cp\"" },
	{ "pull: unknown group", PULL, PULL_MIN "        group: no-such-group-cp\n",
	    ":11:16: services[0].files[0].group: unknown group \"no-such-group-cp\"" },
	{ "pull: unknown numeric owner", PULL, PULL_MIN "        owner: 4000000\n",
	    ":11:16: services[0].files[0].owner: unknown user \"4000000\"" },
	{ "pull: relative path", PULL, PULL_HEAD PULL_SVC
	    "      - path: etc/mail.pem\n        item: mail\n        format: cert\n"
	    "        mode: \"0644\"\n",
	    ":7:15: services[0].files[0]: path \"etc/mail.pem\" must be absolute" },
	{ "pull: bad item name", PULL, PULL_HEAD PULL_SVC
	    "      - path: /m.pem\n        item: ../mail\n        format: cert\n"
	    "        mode: \"0644\"\n",
	    ":8:15: services[0].files[0]: invalid item name \"../mail\"" },
	{ "pull: unknown format", PULL, PULL_HEAD PULL_SVC PULL_FILE("pem", "\"0600\""),
	    ":9:17: services[0].files[0].format: \"pem\" is not one of: haproxy, "
	    "key+chain, fullchain, cert, chain, key, dkim, pkcs12" },
	{ "pull: unknown starttls", PULL, PULL_EP("        port: 990\n"
	    "        starttls: ftps\n"),
	    ":14:19: services[0].endpoints[0].starttls: \"ftps\" is not one of: none, "
	    "smtp, imap, pop3, postgres, sieve, lmtp, xmpp, xmpp-server, ldap, ftp, mysql" },
	{ "pull: relative reload command", PULL, PULL_MIN "    reload: [systemctl, reload]\n",
	    ":11:13: services[0]: reload command \"systemctl\" must be an absolute path" },
	{ "pull: relative check command", PULL, PULL_MIN "    check: [postfix, check]\n",
	    ":11:12: services[0]: check command \"postfix\" must be an absolute path" },
	{ "pull: bad node name", PULL, "node: mail/1\ntrusted_keys: [" PUB "]\n"
	    PULL_SVC PULL_FILE("cert", "\"0644\""),
	    ":1:7: node: invalid node name \"mail/1\"" },
	{ "pull: trusted key with a wrong prefix", PULL, "node: mail\ntrusted_keys:\n"
	    "  - ed448:MpxaBklszaQ8ioxxxRjE1++3mRTUqG0jlHmCXybOYWI=\n"
	    PULL_SVC PULL_FILE("cert", "\"0644\""),
	    ":3:5: trusted_keys: public key must start with \"ed25519:\"" },
	{ "pull: trusted key too short", PULL, "node: mail\ntrusted_keys:\n"
	    "  - ed25519:MpxaBklszaQ8ioxxxRjE1++3mRTUqG0jlHmCXybOYW=\n"
	    PULL_SVC PULL_FILE("cert", "\"0644\""),
	    ":3:5: trusted_keys: public key must be 44 base64 characters after "
	    "\"ed25519:\"" },
	{ "pull: trusted key too long", PULL, "node: mail\ntrusted_keys:\n"
	    "  - ed25519:MpxaBklszaQ8ioxxxRjE1++3mRTUqG0jlHmCXybOYWII=\n"
	    PULL_SVC PULL_FILE("cert", "\"0644\""),
	    ":3:5: trusted_keys: public key must be 44 base64 characters after "
	    "\"ed25519:\"" },
	{ "pull: trusted key with bad base64", PULL, "node: mail\ntrusted_keys:\n"
	    "  - ed25519:MpxaBklszaQ8ioxxxRjE1++3mRTUqG0jlHmCXyb!YWI=\n"
	    PULL_SVC PULL_FILE("cert", "\"0644\""),
	    ":3:5: trusted_keys: public key: invalid base64 character" },
	{ "pull: second trusted key bad", PULL, "node: mail\ntrusted_keys:\n"
	    "  - " PUB "\n  - ed25519:AAAA\n" PULL_SVC PULL_FILE("cert", "\"0644\""),
	    ":4:5: trusted_keys: public key must be 44 base64 characters after "
	    "\"ed25519:\"" },
	{ "pull: nine trusted keys", PULL, "node: mail\ntrusted_keys: [" PUB ", " PUB
	    ", " PUB ", " PUB ", " PUB ", " PUB ", " PUB ", " PUB ", " PUB "]\n"
	    PULL_SVC PULL_FILE("cert", "\"0644\""),
	    ":2:15: trusted_keys: needs 1 to 8 values" },
	{ "pull: the same path twice", PULL, PULL_MIN
	    "  - name: haproxy\n    files:\n" PULL_FILE("haproxy", "\"0600\""),
	    ": services: path \"/etc/postfix/mail.pem\" appears twice" },
	{ "pull: duplicate service names", PULL, PULL_MIN
	    "  - name: postfix\n    files:\n"
	    "      - path: /etc/postfix/other.pem\n        item: mail\n"
	    "        format: cert\n        mode: \"0644\"\n",
	    ": services: name \"postfix\" is used twice" },
	{ "pull: endpoint names an item no file receives", PULL,
	    PULL_EP("        port: 25\n        item: www\n"),
	    ": services: postfix: endpoint 127.0.0.1:25 names item \"www\", which no "
	    "file of this node receives" },
	{ "pull: timeout 0", PULL, PULL_MIN "    timeout: 0\n",
	    ":11:14: services[0].timeout: 0 is out of range (1 to 600)" },
};

#define NCASES	(sizeof(cases) / sizeof(cases[0]))

/* ---- refusals that depend on the file, not its content ---------------- */

static void
test_unsafe_config_files(void **state)
{
	static const mode_t bad_modes[] = { 0666, 0646, 0602, 0622, 0620, 0660 };
	char path[TU_PATH_MAX], want[TU_PATH_MAX + 128];
	size_t i;
	struct err e;

	(void)state;
	for (i = 0; i < sizeof(bad_modes) / sizeof(bad_modes[0]); i++) {
		write_conf("certpush.yaml", PUSH_MIN, bad_modes[i], path);
		snprintf(want, sizeof(want), ": writable by others or owned by another "
		    "user (uid %u, mode %04o): refusing it", (unsigned)geteuid(),
		    (unsigned)bad_modes[i]);
		assert_refused("push: unsafe mode", PUSH, path, want);
		write_conf("certpull.yaml", PULL_MIN, bad_modes[i], path);
		assert_refused("pull: unsafe mode", PULL, path, want);
	}
	/* Readable by all is fine: certpull.yaml holds no secret. */
	write_conf("certpull.yaml", PULL_MIN, 0644, path);
	assert_int_equal(load(PULL, path, &e), 0);
	/* Owned by another user. */
	if (geteuid() == 0) {
		write_conf("certpull.yaml", PULL_MIN, 0600, path);
		assert_int_equal(chown(path, 65534, 65534), 0);
		snprintf(want, sizeof(want), ": writable by others or owned by another "
		    "user (uid 65534, mode 0600): refusing it");
		assert_refused("pull: other owner", PULL, path, want);
	}
}

static void
test_config_symlink_and_missing(void **state)
{
	char path[TU_PATH_MAX], link[TU_PATH_MAX];
	struct err e;

	(void)state;
	write_conf("real.yaml", PULL_MIN, 0600, path);
	assert_int_equal(load(PULL, path, &e), 0);
	snprintf(link, sizeof(link), "%s/link.yaml", tu_dir);
	unlink(link);
	assert_int_equal(symlink(path, link), 0);
	assert_int_equal(load(PULL, link, &e), -1);
	assert_true(tu_contains(e.msg, link));
	assert_true(tu_contains(e.msg, "symbolic link"));
	assert_int_equal(load(PUSH, link, &e), -1);
	snprintf(link, sizeof(link), "%s/absent.yaml", tu_dir);
	assert_int_equal(load(PUSH, link, &e), -1);
	assert_true(tu_contains(e.msg, "No such file"));
	/* A folder is not a configuration. */
	assert_int_equal(load(PULL, tu_dir, &e), -1);
	assert_true(tu_contains(e.msg, "not a regular file"));
}

/* ---- good configurations ---------------------------------------------- */

static const char good_push[] =
    "# certpush.yaml for the tests\n"
    "signing_key: /etc/certpush/signing.key\n"
    "state_dir: /var/lib/certpush-test\n"
    "quiet_period: 5\n"
    "inconsistent_after: 120\n"
    "concurrency: 4\n"
    "bundle_days: 14\n"
    "front_id: 3\n"
    "certificates:\n"
    "  - name: mail\n"
    "    cert: /etc/ssl/mail.crt\n"
    "    key: /etc/ssl/private/mail.key\n"
    "    chain: /etc/ssl/int.crt\n"
    "    names: [mail.example.test, smtp.example.test]\n"
    "  - name: www\n"
    "    lineage: /etc/letsencrypt/live/www.example.test\n"
    "dkim:\n"
    "  - name: dkim-2026\n"
    "    key: /etc/dkim/2026.key\n"
    "    selector: \"2026\"\n"
    "    domain: example.test\n"
    "targets:\n"
    "  - name: mx1\n"
    "    host: mx1.example.test\n"
    "    port: 2222\n"
    "    user: certpull\n"
    "    identity: /etc/certpush/id_ed25519\n"
    "    known_hosts: /etc/certpush/known_hosts\n"
    "    timeout: 20\n"
    "    items: [mail, dkim-2026]\n"
    "  - name: front\n"
    "    type: local\n"
    "    certpull_config: /etc/certpull/front.yaml\n"
    "    items:\n"
    "      - www\n";

static void
test_good_push(void **state)
{
	char path[TU_PATH_MAX];
	struct pushconf c;
	const struct target *t;
	const struct cert_source *cs;
	const struct dkim_source *ds;
	struct err e;

	(void)state;
	write_conf("certpush.yaml", good_push, 0600, path);
	if (pushconf_load(path, &c, &e) == -1)
		fail_msg("%s", e.msg);
	assert_string_equal(c.file, path);
	assert_string_equal(c.signing_key, "/etc/certpush/signing.key");
	assert_string_equal(c.state_dir, "/var/lib/certpush-test");
	assert_string_equal(c.outbox, "/var/lib/certpush-test/outbox");
	assert_int_equal(c.quiet_period, 5);
	assert_int_equal(c.inconsistent_after, 120);
	assert_int_equal(c.concurrency, 4);
	assert_int_equal(c.bundle_days, 14);
	assert_int_equal(c.front_id, 3);
	assert_int_equal(c.ncerts, 2);
	assert_int_equal(c.ndkims, 1);
	assert_int_equal(c.ntargets, 2);

	assert_non_null(cs = pushconf_cert(&c, "mail"));
	assert_null(cs->lineage);
	assert_string_equal(cs->cert, "/etc/ssl/mail.crt");
	assert_string_equal(cs->key, "/etc/ssl/private/mail.key");
	assert_string_equal(cs->chain, "/etc/ssl/int.crt");
	assert_int_equal(cs->nnames, 2);
	assert_string_equal(cs->names[0], "mail.example.test");
	assert_string_equal(cs->names[1], "smtp.example.test");
	assert_null(cs->names[2]);
	assert_non_null(cs = pushconf_cert(&c, "www"));
	assert_string_equal(cs->lineage, "/etc/letsencrypt/live/www.example.test");
	assert_null(cs->cert);
	assert_int_equal(cs->nnames, 0);
	assert_null(pushconf_cert(&c, "dkim-2026"));

	assert_non_null(ds = pushconf_dkim(&c, "dkim-2026"));
	assert_string_equal(ds->key, "/etc/dkim/2026.key");
	assert_string_equal(ds->selector, "2026");
	assert_string_equal(ds->domain, "example.test");

	assert_non_null(t = pushconf_target(&c, "mx1"));
	assert_int_equal(t->type, TARGET_SSH);
	assert_string_equal(t->host, "mx1.example.test");
	assert_int_equal(t->port, 2222);
	assert_string_equal(t->user, "certpull");
	assert_string_equal(t->identity, "/etc/certpush/id_ed25519");
	assert_string_equal(t->known_hosts, "/etc/certpush/known_hosts");
	assert_int_equal(t->timeout, 20);
	assert_string_equal(t->certpull, "/usr/sbin/certpull");
	assert_int_equal(t->nitems, 2);
	assert_string_equal(t->items[0], "mail");
	assert_string_equal(t->items[1], "dkim-2026");

	assert_non_null(t = pushconf_target(&c, "front"));
	assert_int_equal(t->type, TARGET_LOCAL);
	assert_null(t->host);
	assert_int_equal(t->port, 22);
	assert_int_equal(t->timeout, 60);
	assert_string_equal(t->user, "root");
	assert_string_equal(t->certpull_config, "/etc/certpull/front.yaml");
	assert_int_equal(t->nitems, 1);
	assert_string_equal(t->items[0], "www");
	assert_null(pushconf_target(&c, "mx2"));
	pushconf_free(&c);
}

static void
test_push_defaults(void **state)
{
	char path[TU_PATH_MAX];
	struct pushconf c;
	struct err e;

	(void)state;
	write_conf("certpush.yaml", PUSH_MIN, 0600, path);
	if (pushconf_load(path, &c, &e) == -1)
		fail_msg("%s", e.msg);
	assert_string_equal(c.state_dir, "/var/lib/certpush");
	assert_string_equal(c.outbox, "/var/lib/certpush/outbox");
	assert_int_equal(c.quiet_period, 2);
	assert_int_equal(c.inconsistent_after, 600);
	assert_int_equal(c.concurrency, 16);
	assert_int_equal(c.bundle_days, 30);
	assert_int_equal(c.front_id, -1);	/* one front: plain clock serials */
	assert_string_equal(c.targets[0].certpull_config, "/etc/certpull/certpull.yaml");
	pushconf_free(&c);
}

/* fetch_group: per target, resolved; the outbox opens only with one. */
static void
test_push_fetch_groups(void **state)
{
	char path[TU_PATH_MAX];
	struct pushconf c;
	struct err e;

	(void)state;
	write_conf("certpush.yaml", "state_dir: /var/lib/cp\n"
	    "outbox: /var/lib/cp-outbox\n" PUSH_MIN "    fetch_group: \"0\"\n"
	    "  - name: u\n    type: local\n    items: [c]\n", 0600, path);
	if (pushconf_load(path, &c, &e) == -1)
		fail_msg("%s", e.msg);
	assert_true(c.outbox_shared);
	assert_true(c.targets[0].fetch_shared);
	assert_int_equal(c.targets[0].fetch_gid, 0);
	assert_false(c.targets[1].fetch_shared);
	assert_false(c.targets[0].sealed);
	pushconf_free(&c);
	write_conf("certpush.yaml", PUSH_MIN "    recipient: " RECIPIENT "\n", 0600, path);
	if (pushconf_load(path, &c, &e) == -1)
		fail_msg("%s", e.msg);
	assert_true(c.targets[0].sealed);
	assert_int_equal(c.targets[0].recipient.raw[0], 0x32);
	assert_int_equal(c.targets[0].recipient.raw[31], 0x62);
	pushconf_free(&c);
	write_conf("certpush.yaml", "outbox: /var/lib/cp-outbox\n" PUSH_MIN, 0600, path);
	if (pushconf_load(path, &c, &e) == -1)
		fail_msg("%s", e.msg);
	assert_false(c.outbox_shared);
	assert_false(c.targets[0].fetch_shared);
	pushconf_free(&c);
}

static void
test_good_pull(void **state)
{
	char path[TU_PATH_MAX], pub[SIG_PUBTEXT_MAX], text[4096];
	struct pullconf c;
	struct pubkey pk;
	const struct service *s;
	EVP_PKEY *sk;
	struct err e;

	(void)state;
	assert_non_null(sk = sig_keygen(&e));
	assert_int_equal(sig_pubkey_of(sk, &pk, &e), 0);
	EVP_PKEY_free(sk);
	sig_pubkey_format(&pk, pub);
	snprintf(text, sizeof(text),
	    "node: mx1\n"
	    "state_dir: /var/lib/certpull-test\n"
	    "grace: 10\n"
	    "trusted_keys:\n"
	    "  - %s\n"
	    "  - " PUB "\n"
	    "services:\n"
	    "  - name: postfix\n"
	    "    files:\n"
	    "      - path: /etc/postfix/mail.pem\n"
	    "        item: mail\n"
	    "        format: key+chain\n"
	    "        mode: \"0600\"\n"
	    "      - path: /etc/opendkim/2026.key\n"
	    "        item: dkim-2026\n"
	    "        format: dkim\n"
	    "        owner: nobody\n"
	    "        group: \"65534\"\n"
	    "        mode: \"0640\"\n"
	    "    check: [/usr/sbin/postfix, check]\n"
	    "    reload: [/usr/sbin/postfix, reload]\n"
	    "    timeout: 15\n"
	    "    endpoints:\n"
	    "      - address: 127.0.0.1\n"
	    "        port: 25\n"
	    "        starttls: smtp\n"
	    "        sni: mail.example.test\n"
	    "        item: mail\n"
	    "  - name: web\n"
	    "    files:\n"
	    "      - path: /etc/ssl/www.pem\n"
	    "        item: www\n"
	    "        format: fullchain\n"
	    "        mode: \"0644\"\n"
	    "fetch:\n"
	    "  host: front.example.test\n"
	    "  identity: /etc/certpull/id_ed25519\n"
	    "  known_hosts: /etc/certpull/known_hosts\n"
	    "  path: /var/lib/certpush/outbox/mx1.bundle\n", pub);
	write_conf("certpull.yaml", text, 0600, path);
	if (pullconf_load(path, &c, &e) == -1)
		fail_msg("%s", e.msg);
	assert_string_equal(c.file, path);
	assert_string_equal(c.node, "mx1");
	assert_string_equal(c.state_dir, "/var/lib/certpull-test");
	assert_int_equal(c.grace, 10);
	assert_int_equal(c.ntrusted, 2);
	assert_memory_equal(c.trusted[0].raw, pk.raw, SIG_PUB_LEN);
	assert_memory_equal(c.trusted[0].id, pk.id, SIG_KEYID_LEN);
	assert_int_equal(c.nservices, 2);

	s = &c.services[0];
	assert_string_equal(s->name, "postfix");
	assert_int_equal(s->nfiles, 2);
	assert_string_equal(s->files[0].path, "/etc/postfix/mail.pem");
	assert_string_equal(s->files[0].item, "mail");
	assert_int_equal(s->files[0].format, FMT_KEY_CHAIN);
	assert_int_equal(s->files[0].mode, 0600);
	assert_int_equal(s->files[0].uid, 0);
	assert_int_equal(s->files[0].gid, 0);
	assert_int_equal(s->files[1].format, FMT_DKIM);
	assert_int_equal(s->files[1].uid, 65534);
	assert_int_equal(s->files[1].gid, 65534);
	assert_int_equal(s->files[1].mode, 0640);
	assert_string_equal(s->check[0], "/usr/sbin/postfix");
	assert_string_equal(s->check[1], "check");
	assert_null(s->check[2]);
	assert_string_equal(s->reload[1], "reload");
	assert_int_equal(s->timeout, 15);
	assert_int_equal(s->nendpoints, 1);
	assert_string_equal(s->endpoints[0].address, "127.0.0.1");
	assert_int_equal(s->endpoints[0].port, 25);
	assert_int_equal(s->endpoints[0].starttls, TLS_SMTP);
	assert_string_equal(s->endpoints[0].sni, "mail.example.test");
	assert_string_equal(s->endpoints[0].item, "mail");

	s = &c.services[1];
	assert_string_equal(s->name, "web");
	assert_int_equal(s->files[0].format, FMT_FULLCHAIN);
	assert_int_equal(s->files[0].mode, 0644);
	assert_null(s->check);
	assert_null(s->reload);
	assert_int_equal(s->timeout, 30);
	assert_int_equal(s->nendpoints, 0);

	assert_string_equal(c.fetch.host, "front.example.test");
	assert_int_equal(c.fetch.port, 22);
	assert_string_equal(c.fetch.user, "root");
	assert_string_equal(c.fetch.path, "/var/lib/certpush/outbox/mx1.bundle");
	assert_int_equal(c.fetch.timeout, 60);
	pullconf_free(&c);

	assert_string_equal(format_name(FMT_KEY_CHAIN), "key+chain");
	assert_true(format_is_secret(FMT_HAPROXY));
	assert_true(format_is_secret(FMT_DKIM));
	assert_false(format_is_secret(FMT_FULLCHAIN));
	assert_false(format_is_secret(FMT_CERT));
}

static void
test_pull_defaults(void **state)
{
	char path[TU_PATH_MAX];
	struct pullconf c;
	struct err e;

	(void)state;
	write_conf("certpull.yaml", PULL_MIN, 0600, path);
	if (pullconf_load(path, &c, &e) == -1)
		fail_msg("%s", e.msg);
	assert_string_equal(c.state_dir, "/var/lib/certpull");
	assert_int_equal(c.grace, 30);
	assert_null(c.fetch.host);
	assert_int_equal(c.services[0].timeout, 30);
	assert_null(c.secret_key);
	pullconf_free(&c);
	write_conf("certpull.yaml", "secret_key: /etc/certpull/node.key\n" PULL_MIN, 0600,
	    path);
	if (pullconf_load(path, &c, &e) == -1)
		fail_msg("%s", e.msg);
	assert_string_equal(c.secret_key, "/etc/certpull/node.key");
	pullconf_free(&c);
}

/* fetch: mirrors only, then mirrors and SFTP together. */
static void
test_pull_fetch_mirrors(void **state)
{
	char path[TU_PATH_MAX];
	struct pullconf c;
	struct err e;

	(void)state;
	write_conf("certpull.yaml", PULL_MIN "fetch:\n  urls:\n"
	    "    - https://m1.example/certpush/{node}.bundle\n"
	    "    - \"https://m2.example:8443/{node}/{node}.bundle\"\n"
	    "  ca_file: /etc/certpull/mirror-ca.pem\n  timeout: 20\n", 0600, path);
	if (pullconf_load(path, &c, &e) == -1)
		fail_msg("%s", e.msg);
	assert_int_equal(c.fetch.nurls, 2);
	assert_string_equal(c.fetch.urls[0], "https://m1.example/certpush/{node}.bundle");
	assert_string_equal(c.fetch.urls[1], "https://m2.example:8443/{node}/{node}.bundle");
	assert_null(c.fetch.urls[2]);
	assert_string_equal(c.fetch.ca_file, "/etc/certpull/mirror-ca.pem");
	assert_int_equal(c.fetch.timeout, 20);
	assert_null(c.fetch.host);
	assert_null(c.fetch.user);
	pullconf_free(&c);

	write_conf("certpull.yaml", PULL_MIN "fetch:\n  urls: [\"https://m/{node}\"]\n"
	    "  host: front\n  identity: /id\n  known_hosts: /kh\n  path: /o/mail.bundle\n",
	    0600, path);
	if (pullconf_load(path, &c, &e) == -1)
		fail_msg("%s", e.msg);
	assert_int_equal(c.fetch.nurls, 1);
	assert_null(c.fetch.ca_file);
	assert_string_equal(c.fetch.host, "front");
	assert_string_equal(c.fetch.user, "root");
	assert_int_equal(c.fetch.timeout, 60);
	pullconf_free(&c);
}

/* The shipped examples in conf/, when they exist, load cleanly. */
static void
test_conf_examples(void **state)
{
	glob_t g;
	size_t i, n = 0;
	struct err e;

	(void)state;
	if (glob("conf/*.yaml", 0, NULL, &g) != 0) {
		print_message("no conf/*.yaml (run from the top folder): skipped\n");
		skip();
	}
	for (i = 0; i < g.gl_pathc; i++) {
		const char *p = g.gl_pathv[i];
		enum which w = tu_contains(p, "certpush") ? PUSH : PULL;

		if (load(w, p, &e) == -1) {
			char msg[sizeof(e.msg)];

			snprintf(msg, sizeof(msg), "%s", e.msg);
			globfree(&g);
			fail_msg("%s", msg);
		}
		n++;
	}
	globfree(&g);
	assert_true(n > 0);
}

/* The example for the seed topology, with the values it documents. */
static void
test_conf_example_values(void **state)
{
	struct pushconf pc;
	struct pullconf lc;
	const struct target *t;
	const struct service *s;
	struct err e;
	size_t i;

	(void)state;
	if (access("conf/certpush.yaml", F_OK) == -1 ||
	    access("conf/certpull-mail.yaml", F_OK) == -1) {
		print_message("no conf/certpush.yaml, conf/certpull-mail.yaml: skipped\n");
		skip();
	}
	if (pushconf_load("conf/certpush.yaml", &pc, &e) == -1)
		fail_msg("%s", e.msg);
	assert_string_equal(pc.signing_key, "/etc/certpush/signing.key");
	assert_non_null(t = pushconf_target(&pc, "front"));
	assert_int_equal(t->type, TARGET_LOCAL);
	assert_non_null(t = pushconf_target(&pc, "mail"));
	assert_int_equal(t->type, TARGET_SSH);
	assert_non_null(t->host);
	assert_int_equal(t->port, 22);
	assert_non_null(pushconf_dkim(&pc, "dkim-2026"));
	for (i = 0; i < t->nitems; i++)
		assert_true(pushconf_cert(&pc, t->items[i]) != NULL ||
		    pushconf_dkim(&pc, t->items[i]) != NULL);
	pushconf_free(&pc);

	if (pullconf_load("conf/certpull-mail.yaml", &lc, &e) == -1)
		fail_msg("%s", e.msg);
	assert_string_equal(lc.node, "mail");
	assert_true(lc.ntrusted >= 1);
	s = &lc.services[0];
	assert_string_equal(s->name, "postfix");
	assert_int_equal(s->files[0].format, FMT_KEY_CHAIN);
	assert_int_equal(s->files[0].mode, 0600);
	assert_true(s->nendpoints >= 1);
	assert_int_equal(s->endpoints[0].port, 25);
	assert_int_equal(s->endpoints[0].starttls, TLS_SMTP);
	pullconf_free(&lc);
}

static const struct CMUnitTest fixed_tests[] = {
	cmocka_unit_test(test_unsafe_config_files),
	cmocka_unit_test(test_config_symlink_and_missing),
	cmocka_unit_test(test_good_push),
	cmocka_unit_test(test_push_defaults),
	cmocka_unit_test(test_push_fetch_groups),
	cmocka_unit_test(test_good_pull),
	cmocka_unit_test(test_pull_defaults),
	cmocka_unit_test(test_pull_fetch_mirrors),
	cmocka_unit_test(test_conf_examples),
	cmocka_unit_test(test_conf_example_values),
};

#define NFIXED	(sizeof(fixed_tests) / sizeof(fixed_tests[0]))

int
main(void)
{
	static struct CMUnitTest tests[NFIXED + NCASES];
	size_t i;

	for (i = 0; i < NFIXED; i++)
		tests[i] = fixed_tests[i];
	for (i = 0; i < NCASES; i++)
		tests[NFIXED + i] = (struct CMUnitTest){
			.name = cases[i].name,
			.test_func = run_case,
			.initial_state = (void *)&cases[i],
		};
	return cmocka_run_group_tests_name("config", tests, tu_group_setup,
	    tu_group_teardown);
}
