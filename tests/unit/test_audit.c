/*
 * The certificate expiry audit (common/audit*.c): verdict thresholds on
 * certificates made to expire in N days, files that are garbage, empty,
 * DER, bundles or keys, chains, key match, a live TLS endpoint on
 * loopback, options, and the endpoints: key of certpush.yaml.  Sorting
 * and the four outputs are in test_audit_out.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/socket.h>
#include <sys/stat.h>

#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "audit.h"
#include "jsonscan.h"
#include "pushconf.h"

#include "testcerts.c"
#include "testutil.c"
#include "auditfixture.c"

static struct tc_pki pki;
static char dir[TU_PATH_MAX];

static int
group_setup(void **state)
{
	(void)state;
	/* The loopback TLS server writes to clients that are gone. */
	signal(SIGPIPE, SIG_IGN);
	if (tu_mkdtemp(dir) == -1)
		return -1;
	return tc_pki_new(&pki, NOW);
}

static int
group_teardown(void **state)
{
	(void)state;
	tc_pki_free(&pki);
	return tu_rmtree(dir);
}

/* A store holding only the test root. */
static X509_STORE *
test_store(void)
{
	X509_STORE *s = X509_STORE_new();

	assert_non_null(s);
	assert_int_equal(X509_STORE_add_cert(s, pki.root), 1);
	return s;
}

/* ---------------------------------------------------------------- verdicts */

struct threshold_case {
	long		 from, to;	/* validity, seconds from NOW */
	long		 warn, crit;
	enum verdict	 want;
	int64_t		 days;
	const char	*msg;		/* expected in the problems, or NULL */
};

static void
test_thresholds(void **state)
{
	/* An hour past the day, so that the whole days are exact. */
	static const struct threshold_case cases[] = {
		{ -30 * TC_DAY, -2 * TC_DAY, 21, 7, VERDICT_CRITICAL, -2, "expired on" },
		{ -30 * TC_DAY, -3600, 21, 7, VERDICT_CRITICAL, -1, "expired on" },
		{ -TC_DAY, 3600, 21, 7, VERDICT_CRITICAL, 0, "expires in 0 days" },
		{ -TC_DAY, 3 * TC_DAY + 3600, 21, 7, VERDICT_CRITICAL, 3, "expires in 3 days" },
		{ -TC_DAY, 6 * TC_DAY + 3600, 21, 7, VERDICT_CRITICAL, 6, NULL },
		{ -TC_DAY, 7 * TC_DAY + 3600, 21, 7, VERDICT_WARNING, 7, "expires in 7 days" },
		{ -TC_DAY, 20 * TC_DAY + 3600, 21, 7, VERDICT_WARNING, 20, NULL },
		{ -TC_DAY, 21 * TC_DAY + 3600, 21, 7, VERDICT_OK, 21, NULL },
		{ -TC_DAY, 90 * TC_DAY, 21, 7, VERDICT_OK, 90, NULL },
		/* Other thresholds. */
		{ -TC_DAY, 3 * TC_DAY + 3600, 30, 0, VERDICT_WARNING, 3, NULL },
		{ -TC_DAY, 3 * TC_DAY + 3600, 3, 3, VERDICT_OK, 3, NULL },
		{ -TC_DAY, 1 * TC_DAY + 3600, 0, 0, VERDICT_OK, 1, NULL },
		{ -TC_DAY, 3600, 0, 0, VERDICT_OK, 0, NULL },
		/* Not valid yet, however long it lasts. */
		{ TC_DAY, 90 * TC_DAY, 21, 7, VERDICT_CRITICAL, 90, "not valid before" },
	};
	EVP_PKEY *key = tc_key_ec();
	size_t i;

	(void)state;
	assert_non_null(key);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct threshold_case *c = &cases[i];
		struct audit_ctx a = ctx(c->warn, c->crit);
		struct audit_list l = { 0 };
		X509 *x = tc_cert("t.example.test", key, NULL, NULL, NOW, c->from, c->to, 0,
		    "DNS:t.example.test");
		struct audit_line *line;

		assert_non_null(x);
		line = audit_add(&l, AUDIT_FILE, "case%zu", i);
		audit_cert(&a, line, x);
		if (line->verdict != c->want || audit_days_left(&a, line) != c->days)
			fail_msg("case %zu: got %s, %lld days (%s)", i,
			    verdict_name(line->verdict), (long long)audit_days_left(&a, line),
			    line->problems);
		if (c->msg != NULL && !tu_contains(line->problems, c->msg))
			fail_msg("case %zu: \"%s\" lacks \"%s\"", i, line->problems, c->msg);
		if (c->want == VERDICT_OK)
			assert_string_equal(line->problems, "");
		assert_string_equal(line->subject, "CN=t.example.test");
		assert_string_equal(line->names, "t.example.test");
		assert_string_equal(line->key, "EC 256");
		assert_int_equal(audit_overall(&l), c->want);
		X509_free(x);
		audit_list_free(&l);
	}
	EVP_PKEY_free(key);
}

static void
test_chain_dates(void **state)
{
	struct audit_ctx a = ctx(21, 7);
	struct audit_list l = { 0 };
	EVP_PKEY *ik = tc_key_ec(), *lk = tc_key_ec();
	X509 *inter, *leaf;
	STACK_OF(X509) *chain = sk_X509_new_null();
	struct audit_line *line;

	(void)state;
	/* A leaf valid 60 days under an intermediate that ends in 5. */
	inter = tc_cert("Short Intermediate", ik, pki.root, pki.root_key, NOW, -TC_DAY,
	    5 * TC_DAY + 3600, 1, NULL);
	leaf = tc_cert("l.example.test", lk, inter, ik, NOW, -TC_DAY, 60 * TC_DAY, 0, NULL);
	assert_non_null(leaf);
	sk_X509_push(chain, leaf);
	sk_X509_push(chain, inter);
	line = audit_add(&l, AUDIT_SOURCE, "s");
	audit_cert(&a, line, leaf);
	assert_int_equal(line->verdict, VERDICT_OK);
	audit_chain_dates(&a, line, chain);
	assert_int_equal(line->verdict, VERDICT_CRITICAL);
	assert_true(tu_contains(line->problems, "chain certificate 2 (CN=Short "
	    "Intermediate) expires in 5 days"));
	assert_int_equal(audit_days_left(&a, line), 60);
	sk_X509_pop_free(chain, X509_free);
	EVP_PKEY_free(ik);
	EVP_PKEY_free(lk);
	audit_list_free(&l);
}

static void
test_chain_complete(void **state)
{
	struct audit_ctx a = ctx(21, 7);
	struct audit_list l = { 0 };
	STACK_OF(X509) *chain;
	struct audit_line *line;
	struct err e;

	(void)state;
	/* Leaf + intermediate, the root in the store: complete. */
	a.store = test_store();
	chain = cert_parse_chain(pki.ec_chain, strlen(pki.ec_chain), &e);
	assert_non_null(chain);
	line = audit_add(&l, AUDIT_SOURCE, "complete");
	audit_chain_complete(&a, line, chain);
	assert_int_equal(line->chain, CHAIN_COMPLETE);
	assert_int_equal(line->verdict, VERDICT_OK);
	/* The same without the root anywhere: incomplete, a warning. */
	X509_STORE_free(a.store);
	a.store = X509_STORE_new();
	line = audit_add(&l, AUDIT_SOURCE, "incomplete");
	audit_chain_complete(&a, line, chain);
	assert_int_equal(line->chain, CHAIN_INCOMPLETE);
	assert_int_equal(line->verdict, VERDICT_WARNING);
	assert_true(tu_contains(line->problems, "CN=Test Root CA"));
	/* Up to the self-signed root: complete without any store. */
	sk_X509_push(chain, X509_dup(pki.root));
	X509_STORE_free(a.store);
	a.store = NULL;
	line = audit_add(&l, AUDIT_SOURCE, "with root");
	audit_chain_complete(&a, line, chain);
	assert_int_equal(line->chain, CHAIN_COMPLETE);
	sk_X509_pop_free(chain, X509_free);
	/* Out of order: critical. */
	chain = cert_parse_chain(pki.misordered_chain, strlen(pki.misordered_chain), &e);
	assert_non_null(chain);
	line = audit_add(&l, AUDIT_SOURCE, "misordered");
	audit_chain_complete(&a, line, chain);
	assert_int_equal(line->chain, CHAIN_DISORDERED);
	assert_int_equal(line->verdict, VERDICT_CRITICAL);
	assert_true(tu_contains(line->problems, "certificate 1 is not issued by "
	    "certificate 2"));
	sk_X509_pop_free(chain, X509_free);
	audit_list_free(&l);
}

static void
test_key_match_and_names(void **state)
{
	struct audit_list l = { 0 };
	struct audit_line *line;
	char *names[] = { "www.example.test", "example.test", NULL };
	char *wrong[] = { "www.example.test", "mail.example.test" };

	(void)state;
	line = audit_add(&l, AUDIT_SOURCE, "match");
	audit_key_match(line, pki.ec_leaf, pki.ec_key);
	audit_names(line, pki.ec_leaf, names, 2);
	assert_int_equal(line->key_match, 1);
	assert_int_equal(line->verdict, VERDICT_OK);
	line = audit_add(&l, AUDIT_SOURCE, "mismatch");
	audit_key_match(line, pki.ec_leaf, pki.other_key);
	assert_int_equal(line->key_match, 0);
	assert_int_equal(line->verdict, VERDICT_CRITICAL);
	line = audit_add(&l, AUDIT_SOURCE, "names");
	audit_names(line, pki.ec_leaf, wrong, 2);
	assert_int_equal(line->verdict, VERDICT_CRITICAL);
	assert_string_equal(line->problems, "does not cover the name mail.example.test");
	audit_list_free(&l);
}

/* ---------------------------------------------------------------- files */

static void
write_file(const char *name, const void *data, size_t len)
{
	if (tu_write(dir, name, data, len, 0644, NULL) == -1)
		fail_msg("cannot write %s/%s", dir, name);
}

/* The line whose place ends in suffix, or NULL. */
static const struct audit_line *
find(const struct audit_list *l, const char *suffix)
{
	size_t i, n = strlen(suffix), m;

	for (i = 0; i < l->n; i++) {
		m = strlen(l->v[i].where);
		if (m >= n && strcmp(l->v[i].where + m - n, suffix) == 0)
			return &l->v[i];
	}
	return NULL;
}

static const struct audit_line *
must_find(const struct audit_list *l, const char *suffix)
{
	const struct audit_line *x = find(l, suffix);

	if (x == NULL)
		fail_msg("no line for %s", suffix);
	return x;
}

static void
test_files(void **state)
{
	static const char garbage_pem[] = "-----BEGIN CERTIFICATE-----\n"
	    "!!!! not base64 !!!!\n-----END CERTIFICATE-----\n";
	static const char bad_der_pem[] = "-----BEGIN CERTIFICATE-----\n"
	    "bm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n";
	static const char binary[] = { 0x30, (char)0x82, 0x7f, 0x01, 0x00, 0x42 };
	struct audit_ctx a = ctx(21, 7);
	struct audit_list l = { 0 };
	const struct audit_line *x;
	char sub[TU_PATH_MAX], *paths[2], *text;
	uint8_t *der = NULL;
	int derlen = i2d_X509(pki.ec_leaf, &der);
	X509 *three[3] = { pki.rsa_leaf, pki.inter, pki.root };

	(void)state;
	snprintf(sub, sizeof(sub), "%s/files", dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	snprintf(sub, sizeof(sub), "%s/files/sub", dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	write_file("files/good.pem", pki.ec_chain, strlen(pki.ec_chain));
	write_file("files/leaf.der", der, (size_t)derlen);
	text = tc_pem_certs(three, 3);
	write_file("files/sub/bundle.crt", text, strlen(text));
	free(text);
	write_file("files/garbage.pem", garbage_pem, strlen(garbage_pem));
	write_file("files/bad-der.pem", bad_der_pem, strlen(bad_der_pem));
	write_file("files/text.crt", "hello, world\n", 13);
	write_file("files/binary.der", binary, sizeof(binary));
	write_file("files/empty.pem", "", 0);
	write_file("files/key.pem", pki.ec_keypem, strlen(pki.ec_keypem));
	write_file("files/README", "not a certificate\n", 18);
	/* A good certificate, then a truncated one. */
	text = malloc(strlen(pki.ec_chain) + 64);
	snprintf(text, strlen(pki.ec_chain) + 64, "%.*s-----BEGIN CERTIFICATE-----\nMIIB",
	    (int)(strstr(pki.ec_chain, "-----END CERTIFICATE-----\n") - pki.ec_chain + 26),
	    pki.ec_chain);
	write_file("files/truncated.pem", text, strlen(text));
	free(text);
	OPENSSL_free(der);

	snprintf(sub, sizeof(sub), "%s/files", dir);
	paths[0] = sub;
	audit_files(&a, &l, paths, 1);
	/* Leaf and intermediate of good.pem: a bundle, one line each. */
	x = must_find(&l, "/good.pem[1]");
	assert_int_equal(x->verdict, VERDICT_OK);
	assert_string_equal(x->subject, "CN=www.example.test");
	assert_int_equal(must_find(&l, "/good.pem[2]")->verdict, VERDICT_OK);
	x = must_find(&l, "/leaf.der");
	assert_int_equal(x->verdict, VERDICT_OK);
	assert_string_equal(x->names, "www.example.test,example.test");
	assert_non_null(must_find(&l, "/sub/bundle.crt[3]"));
	assert_string_equal(must_find(&l, "/sub/bundle.crt[3]")->subject, "CN=Test Root CA");
	x = must_find(&l, "/garbage.pem");
	assert_int_equal(x->verdict, VERDICT_UNKNOWN);
	assert_true(tu_contains(x->problems, "malformed PEM"));
	x = must_find(&l, "/bad-der.pem");
	assert_int_equal(x->verdict, VERDICT_UNKNOWN);
	assert_true(tu_contains(x->problems, "certificate 1 does not parse"));
	assert_int_equal(must_find(&l, "/text.crt")->verdict, VERDICT_UNKNOWN);
	assert_true(tu_contains(must_find(&l, "/binary.der")->problems,
	    "neither PEM nor a DER certificate"));
	assert_string_equal(must_find(&l, "/empty.pem")->problems, "empty file");
	assert_int_equal(must_find(&l, "/truncated.pem[1]")->verdict, VERDICT_OK);
	assert_int_equal(must_find(&l, "/truncated.pem[2]")->verdict, VERDICT_UNKNOWN);
	/* In a directory, a key file and a file of another name are skipped. */
	assert_null(find(&l, "/key.pem"));
	assert_null(find(&l, "/README"));
	assert_int_equal(l.n, 13);
	assert_int_equal(audit_overall(&l), VERDICT_UNKNOWN);
	audit_list_free(&l);

	/* Named on the command line, the key file is reported. */
	snprintf(sub, sizeof(sub), "%s/files/key.pem", dir);
	paths[1] = (char *)"/nonexistent/cert.pem";
	paths[0] = sub;
	audit_files(&a, &l, paths, 2);
	assert_int_equal(l.n, 2);
	assert_true(tu_contains(must_find(&l, "/key.pem")->problems,
	    "no certificate in the file (only other PEM blocks"));
	assert_true(tu_contains(must_find(&l, "/nonexistent/cert.pem")->problems,
	    "cannot read: No such file or directory"));
	audit_list_free(&l);
}

static void
test_load_pem_key(void **state)
{
	STACK_OF(X509) *certs = sk_X509_new_null();
	EVP_PKEY *key = NULL;
	struct err e;
	char *text;
	int others;
	size_t n;

	(void)state;
	/* HAProxy's layout: leaf, chain, key. */
	n = strlen(pki.ec_chain) + strlen(pki.ec_keypem) + 1;
	text = malloc(n);
	snprintf(text, n, "%s%s", pki.ec_chain, pki.ec_keypem);
	assert_int_equal(audit_load_pem(text, strlen(text), certs, &key, &others, &e), 0);
	assert_int_equal(sk_X509_num(certs), 2);
	assert_non_null(key);
	assert_int_equal(others, 0);
	assert_int_equal(X509_check_private_key(sk_X509_value(certs, 0), key), 1);
	EVP_PKEY_free(key);
	key = NULL;
	sk_X509_pop_free(certs, X509_free);
	/* Without a key pointer the key block only counts as another block. */
	certs = sk_X509_new_null();
	assert_int_equal(audit_load_pem(text, strlen(text), certs, NULL, &others, &e), 0);
	assert_int_equal(others, 1);
	sk_X509_pop_free(certs, X509_free);
	free(text);
	/* A key block that does not decode. */
	certs = sk_X509_new_null();
	text = "-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n";
	assert_int_equal(audit_load_pem(text, strlen(text), certs, &key, &others, &e), -1);
	assert_null(key);
	assert_true(tu_contains(e.msg, "the private key does not parse"));
	sk_X509_pop_free(certs, X509_free);
}

/* ---------------------------------------------------------------- endpoints */

struct server {
	int		 fd;
	SSL_CTX		*ctx;
	pthread_t	 th;
};

static void *
serve_one(void *arg)
{
	struct server *s = arg;
	int c = accept(s->fd, NULL, NULL);
	SSL *ssl;

	if (c == -1)
		return NULL;
	if ((ssl = SSL_new(s->ctx)) != NULL && SSL_set_fd(ssl, c) == 1 &&
	    SSL_accept(ssl) == 1)
		SSL_shutdown(ssl);
	SSL_free(ssl);
	close(c);
	return NULL;
}

/* A TLS server on loopback serving leaf (+ inter) for one connection. */
static unsigned
server_start(struct server *s, X509 *leaf, EVP_PKEY *key)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s->ctx = SSL_CTX_new(TLS_server_method());
	assert_non_null(s->ctx);
	assert_int_equal(SSL_CTX_use_certificate(s->ctx, leaf), 1);
	assert_int_equal(SSL_CTX_use_PrivateKey(s->ctx, key), 1);
	assert_int_equal(SSL_CTX_add1_chain_cert(s->ctx, pki.inter), 1);
	assert_true((s->fd = socket(AF_INET, SOCK_STREAM, 0)) != -1);
	assert_int_equal(bind(s->fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(s->fd, 1), 0);
	assert_int_equal(getsockname(s->fd, (struct sockaddr *)&sin, &len), 0);
	assert_int_equal(pthread_create(&s->th, NULL, serve_one, s), 0);
	return ntohs(sin.sin_port);
}

static void
server_stop(struct server *s)
{
	pthread_join(s->th, NULL);
	close(s->fd);
	SSL_CTX_free(s->ctx);
}

static void
test_endpoint(void **state)
{
	struct audit_ctx a = ctx(21, 7);
	struct audit_list l = { 0 };
	struct audit_line *x;
	struct server s;
	char fpr[CERT_FPR_LEN], other[CERT_FPR_LEN];
	char *names[] = { "www.example.test", "example.test", "mail.example.test" };
	struct audit_endpoint ep = { "127.0.0.1", 0, "www.example.test", TLS_NONE, fpr,
	    names, 2 };

	(void)state;
	a.store = test_store();
	cert_fingerprint(pki.ec_leaf, fpr);
	cert_fingerprint(pki.rsa_leaf, other);
	/* The current leaf, a chain to the root in the store: OK. */
	ep.port = server_start(&s, pki.ec_leaf, pki.ec_key);
	x = audit_add_endpoint(&l, "front", &ep);
	audit_endpoint(&a, x, &ep);
	server_stop(&s);
	if (x->verdict != VERDICT_OK)
		fail_msg("%s", x->problems);
	assert_int_equal(x->reachable, 1);
	assert_int_equal(x->mismatch, 0);
	assert_int_equal(x->chain, CHAIN_VERIFIED);
	assert_string_equal(x->note, "serves the current certificate");
	assert_int_equal(audit_days_left(&a, x), 90);
	/* A stale leaf that does not cover a name, and no root to verify: */
	ep.expected = other;
	ep.nnames = 3;
	X509_STORE_free(a.store);
	a.store = X509_STORE_new();
	ep.port = server_start(&s, pki.ec_leaf, pki.ec_key);
	x = audit_add_endpoint(&l, "front", &ep);
	audit_endpoint(&a, x, &ep);
	server_stop(&s);
	assert_int_equal(x->verdict, VERDICT_CRITICAL);
	assert_int_equal(x->mismatch, 1);
	assert_int_equal(x->chain, CHAIN_UNVERIFIED);
	assert_true(tu_contains(x->problems, "serves a stale certificate"));
	assert_true(tu_contains(x->problems, "does not cover the name mail.example.test"));
	assert_true(tu_contains(x->problems, "chain does not verify"));
	/* Nothing listens on the port any more: unreachable. */
	x = audit_add_endpoint(&l, "front", &ep);
	audit_endpoint(&a, x, &ep);
	assert_int_equal(x->verdict, VERDICT_CRITICAL);
	assert_int_equal(x->reachable, 0);
	assert_true(tu_contains(x->problems, "unreachable: connect to 127.0.0.1"));
	assert_true(strncmp(l.v[0].where, "front/127.0.0.1:", 16) == 0);
	assert_true(tu_contains(l.v[0].where, "/www.example.test"));
	X509_STORE_free(a.store);
	audit_list_free(&l);
}

/* ---------------------------------------------------------------- options */

static int
parse(struct audit_opts *o, ...)
{
	char *argv[16] = { "audit" };
	int argc = 1;
	va_list ap;

	va_start(ap, o);
	while (argc < 15 && (argv[argc] = va_arg(ap, char *)) != NULL)
		argc++;
	va_end(ap);
	return audit_parse_args("certpush", argc, argv, o);
}

static void
test_options(void **state)
{
	struct audit_opts o;

	(void)state;
	assert_int_equal(parse(&o, NULL), 0);
	assert_int_equal(o.warn_days, 21);
	assert_int_equal(o.crit_days, 7);
	assert_int_equal(o.format, AUDIT_TABLE);
	assert_int_equal(o.timeout_s, 10);
	assert_int_equal(o.npaths, 0);
	assert_int_equal(parse(&o, "--warn", "30", "--crit", "10", "--prometheus", "-o",
	    "/x.prom", "--ca-file", "/ca.pem", "--timeout", "3", "a.pem", "dir", NULL), 0);
	assert_int_equal(o.warn_days, 30);
	assert_int_equal(o.crit_days, 10);
	assert_int_equal(o.format, AUDIT_PROMETHEUS);
	assert_string_equal(o.output, "/x.prom");
	assert_string_equal(o.ca_file, "/ca.pem");
	assert_int_equal(o.timeout_s, 3);
	assert_int_equal(o.npaths, 2);
	assert_string_equal(o.paths[1], "dir");
	/* Options after the files too. */
	assert_int_equal(parse(&o, "a.pem", "--nagios", NULL), 0);
	assert_int_equal(o.format, AUDIT_NAGIOS);
	assert_int_equal(o.npaths, 1);
	assert_int_equal(parse(&o, "--json", "--json", NULL), 0);
	assert_int_equal(parse(&o, "--json", "--nagios", NULL), -1);
	assert_int_equal(parse(&o, "--warn", "5", "--crit", "6", NULL), -1);
	assert_int_equal(parse(&o, "--warn", "x", NULL), -1);
	assert_int_equal(parse(&o, "--warn", "-1", NULL), -1);
	assert_int_equal(parse(&o, "--crit", "99999", NULL), -1);
	assert_int_equal(parse(&o, "--timeout", "0", NULL), -1);
	assert_int_equal(parse(&o, "--bogus", NULL), -1);
}

/* ---------------------------------------------------------------- config */

#define TARGETS_HEAD \
	"signing_key: /k\n" \
	"certificates:\n  - {name: www, cert: /c, key: /k}\n  - {name: mail, cert: /c, key: /k}\n" \
	"dkim:\n  - {name: d, key: /k, selector: s, domain: example.test}\n" \
	"targets:\n"

static void
test_config_endpoints(void **state)
{
	static const struct {
		const char	*text;
		const char	*want;	/* error substring, or NULL */
	} cases[] = {
		{ "  - name: front\n    type: local\n    items: [www, mail]\n"
		  "    endpoints:\n"
		  "      - {address: 10.0.0.1, port: 443, sni: www.example.test}\n"
		  "      - {address: 10.0.0.2, port: 25, starttls: smtp, item: mail}\n", NULL },
		{ "  - name: front\n    type: local\n    items: [www]\n"
		  "    endpoints:\n      - {address: a, port: 1, starttls: ftps}\n",
		  "targets[0].endpoints[0]: starttls \"ftps\" is not one of: none, smtp, imap, "
		  "pop3, postgres, sieve, lmtp, xmpp, xmpp-server, ldap, ftp, mysql" },
		{ "  - name: front\n    type: local\n    items: [www]\n"
		  "    endpoints:\n      - {address: a, port: 1, item: mail}\n",
		  "item \"mail\" is not one of the target's certificate items" },
		{ "  - name: front\n    type: local\n    items: [d]\n"
		  "    endpoints:\n      - {address: a, port: 1}\n",
		  "the target has no certificate item for this endpoint to serve" },
		{ "  - name: front\n    type: local\n    items: [www]\n"
		  "    endpoints:\n      - {address: a, port: 0}\n", "port" },
		{ "  - name: front\n    type: local\n    items: [www]\n"
		  "    endpoints:\n      - {address: a, port: 443, color: red}\n", "color" },
		{ "  - name: front\n    type: local\n    items: [www]\n"
		  "    endpoints:\n      - {port: 443}\n", "address" },
		{ "  - name: front\n    type: local\n    items: [www]\n    endpoints: []\n",
		  "needs 1 to 16 entries" },
	};
	struct pushconf c;
	struct err e;
	char text[2048];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc;

		snprintf(text, sizeof(text), "%s%s", TARGETS_HEAD, cases[i].text);
		rc = pushconf_load_string("t.yaml", text, strlen(text), &c, &e);
		if (cases[i].want == NULL) {
			if (rc != 0)
				fail_msg("case %zu: %s", i, e.msg);
			assert_int_equal(c.targets[0].nendpoints, 2);
			assert_string_equal(c.targets[0].endpoints[0].address, "10.0.0.1");
			assert_int_equal(c.targets[0].endpoints[0].port, 443);
			assert_string_equal(c.targets[0].endpoints[0].sni, "www.example.test");
			assert_int_equal(c.targets[0].endpoints[0].starttls, TLS_NONE);
			assert_null(c.targets[0].endpoints[0].item);
			assert_int_equal(c.targets[0].endpoints[1].starttls, TLS_SMTP);
			assert_string_equal(c.targets[0].endpoints[1].item, "mail");
			assert_null(c.ca_file);
			pushconf_free(&c);
		} else if (rc == 0 || !tu_contains(e.msg, cases[i].want)) {
			if (rc == 0)
				pushconf_free(&c);
			fail_msg("case %zu: \"%s\" lacks \"%s\"", i, rc ? e.msg : "(loaded)",
			    cases[i].want);
		}
	}
	snprintf(text, sizeof(text), "ca_file: /etc/ssl/ca.pem\n%s%s", TARGETS_HEAD,
	    "  - {name: front, type: local, items: [www]}\n");
	assert_int_equal(pushconf_load_string("t.yaml", text, strlen(text), &c, &e), 0);
	assert_string_equal(c.ca_file, "/etc/ssl/ca.pem");
	assert_int_equal(c.targets[0].nendpoints, 0);
	pushconf_free(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_thresholds),
		cmocka_unit_test(test_chain_dates),
		cmocka_unit_test(test_chain_complete),
		cmocka_unit_test(test_key_match_and_names),
		cmocka_unit_test(test_files),
		cmocka_unit_test(test_load_pem_key),
		cmocka_unit_test(test_endpoint),
		cmocka_unit_test(test_options),
		cmocka_unit_test(test_config_endpoints),
	};

	return cmocka_run_group_tests_name("audit", tests, group_setup, group_teardown);
}
