/*
 * DANE TLSA and DKIM TXT records (dane.h): what a resolver returns is
 * untrusted, so tables of hostile rdata (short, oversized, wrong lengths,
 * strings running past the record, NUL bytes, repeated or misplaced tags,
 * broken base64, keys of the wrong type, trailing DER) beside the records
 * that must match, computed independently with OpenSSL; and the dane:
 * and dns: keys of certpush.yaml; the holds file (STATE/holds/TARGET),
 * which status, audit and the daemon read back.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "dane.h"
#include "danehold.h"
#include "pushconf.h"

#include "testcerts.c"
#include "testutil.c"

#define NOW	1780000000L

static struct tc_pki pki;
static STACK_OF(X509) *chain;		/* rsa_leaf, inter */

static int
group_setup(void **state)
{
	(void)state;
	if (tc_pki_new(&pki, NOW) == -1 || (chain = sk_X509_new_null()) == NULL)
		return -1;
	sk_X509_push(chain, pki.rsa_leaf);
	sk_X509_push(chain, pki.inter);
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	sk_X509_free(chain);
	tc_pki_free(&pki);
	return 0;
}

/* rdata u s m + SHA-256 (or SHA-512) of der, computed here, not by dane.c. */
static size_t
rdata_hash(uint8_t *out, int u, int s, int m, const unsigned char *der, int len)
{
	unsigned int n = 0;

	out[0] = (uint8_t)u;
	out[1] = (uint8_t)s;
	out[2] = (uint8_t)m;
	assert_int_equal(EVP_Digest(der, (size_t)len, out + 3, &n, m == 1 ? EVP_sha256() :
	    EVP_sha512(), NULL), 1);
	return 3 + n;
}

static size_t
rdata_spki(uint8_t *out, int u, int m, X509 *x, EVP_PKEY *key)
{
	unsigned char *der = NULL;
	int len = i2d_PUBKEY(key ? key : X509_get0_pubkey(x), &der);
	size_t n = rdata_hash(out, u, 1, m, der, len);

	OPENSSL_free(der);
	return n;
}

static size_t
rdata_cert(uint8_t *out, int u, int m, X509 *x)
{
	unsigned char *der = NULL;
	int len = i2d_X509(x, &der);
	size_t n = rdata_hash(out, u, 0, m, der, len);

	OPENSSL_free(der);
	return n;
}

static int
matches(const uint8_t *rd, size_t len)
{
	struct tlsa t;
	struct err e;

	assert_int_equal(tlsa_parse(rd, len, &t, &e), 0);
	return tlsa_match_chain(&t, chain);
}

static void
test_tlsa_match(void **state)
{
	uint8_t rd[3 + 64];
	size_t n;

	(void)state;
	assert_true(matches(rd, rdata_spki(rd, 3, 1, pki.rsa_leaf, NULL)));
	assert_true(matches(rd, rdata_spki(rd, 3, 2, pki.rsa_leaf, NULL)));
	assert_true(matches(rd, rdata_cert(rd, 3, 1, pki.rsa_leaf)));
	assert_true(matches(rd, rdata_spki(rd, 2, 1, pki.inter, NULL)));
	assert_true(matches(rd, rdata_cert(rd, 2, 1, pki.inter)));
	/* The CA's hash as an end entity, the leaf's as a CA: no. */
	assert_false(matches(rd, rdata_spki(rd, 3, 1, pki.inter, NULL)));
	assert_false(matches(rd, rdata_spki(rd, 2, 1, pki.rsa_leaf, NULL)));
	/* Another key; the right hash with one bit flipped. */
	assert_false(matches(rd, rdata_spki(rd, 3, 1, NULL, pki.other_key)));
	n = rdata_spki(rd, 3, 1, pki.rsa_leaf, NULL);
	rd[n - 1] ^= 1;
	assert_false(matches(rd, n));
}

static void
test_tlsa_full_and_key(void **state)
{
	uint8_t rd[4096];
	unsigned char *der = NULL;
	struct tlsa t;
	struct err e;
	int len = i2d_PUBKEY(X509_get0_pubkey(pki.rsa_leaf), &der);

	(void)state;
	memcpy(rd, "\3\1\0", 3);
	memcpy(rd + 3, der, (size_t)len);
	assert_true(matches(rd, 3 + (size_t)len));
	/* A prefix of the full SubjectPublicKeyInfo is not it. */
	assert_false(matches(rd, 3 + (size_t)len - 1));
	OPENSSL_free(der);
	/* A bare key (next_key): 3 1 1 only. */
	assert_int_equal(tlsa_parse(rd, rdata_spki(rd, 3, 1, NULL, pki.other_key), &t, &e), 0);
	assert_true(tlsa_match_key(&t, pki.other_key));
	assert_false(tlsa_match_key(&t, pki.rsa_key));
	assert_int_equal(tlsa_parse(rd, rdata_spki(rd, 2, 1, NULL, pki.other_key), &t, &e), 0);
	assert_false(tlsa_match_key(&t, pki.other_key));
}

static void
test_tlsa_hostile(void **state)
{
	static const struct {
		const char	*rdata;
		size_t		 len;
		const char	*msg;
	} bad[] = {
		{ "", 0, "too short" },
		{ "\3\1\1", 3, "too short" },
		{ "\4\1\1" "0123456789abcdef0123456789abcdef", 35, "unknown usage" },
		{ "\3\2\1" "0123456789abcdef0123456789abcdef", 35, "unknown usage" },
		{ "\3\1\3" "0123456789abcdef0123456789abcdef", 35, "unknown usage" },
		{ "\3\1\1" "0123456789abcdef0123456789abcde", 34, "31 bytes of data, not 32" },
		{ "\3\1\1" "0123456789abcdef0123456789abcdef0", 36, "33 bytes of data, not 32" },
		{ "\3\1\2" "0123456789abcdef0123456789abcdef", 35, "32 bytes of data, not 64" },
	};
	struct tlsa t;
	struct err e;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		e.msg[0] = '\0';
		assert_int_equal(tlsa_parse((const uint8_t *)bad[i].rdata, bad[i].len, &t, &e), -1);
		if (strstr(e.msg, bad[i].msg) == NULL)
			fail_msg("case %zu: \"%s\" lacks \"%s\"", i, e.msg, bad[i].msg);
	}
}

static void
test_tlsa_record_text(void **state)
{
	static const uint8_t ee[3] = { 3, 1, 1 }, ta[3] = { 2, 1, 1 }, full[3] = { 3, 0, 1 };
	uint8_t rd[3 + 64];
	char text[DANE_RECORD_MAX], want[DANE_RECORD_MAX], hex[65];
	size_t i, n;

	(void)state;
	n = rdata_spki(rd, 3, 1, pki.rsa_leaf, NULL);
	for (i = 3; i < n; i++)
		snprintf(hex + 2 * (i - 3), 3, "%02x", rd[i]);
	snprintf(want, sizeof(want), "_25._tcp.mail.example.test. IN TLSA 3 1 1 %s", hex);
	assert_int_equal(tlsa_record_text("mail.example.test.", 25, ee, chain, NULL, text,
	    sizeof(text)), 0);
	assert_string_equal(text, want);
	assert_int_equal(tlsa_record_text("mail.example.test", 25, ee, NULL, pki.rsa_key,
	    text, sizeof(text)), 0);
	assert_string_equal(text, want);
	/* 2 1 1 names the issuer; a bare key has no certificate or issuer. */
	n = rdata_spki(rd, 2, 1, pki.inter, NULL);
	for (i = 3; i < n; i++)
		snprintf(hex + 2 * (i - 3), 3, "%02x", rd[i]);
	snprintf(want, sizeof(want), "_465._tcp.smtp.example.test. IN TLSA 2 1 1 %s", hex);
	assert_int_equal(tlsa_record_text("smtp.example.test", 465, ta, chain, NULL, text,
	    sizeof(text)), 0);
	assert_string_equal(text, want);
	assert_int_equal(tlsa_record_text("x.test", 25, ta, NULL, pki.rsa_key, text,
	    sizeof(text)), -1);
	assert_int_equal(tlsa_record_text("x.test", 25, full, NULL, pki.rsa_key, text,
	    sizeof(text)), -1);
	assert_int_equal(tlsa_record_text("x.test", 25, ee, chain, NULL, text, 20), -1);
}

/* ---- DKIM TXT ---- */

/* TXT rdata from text cut into character-strings of at most cut bytes. */
static size_t
txt_rdata(uint8_t *out, size_t size, const char *text, size_t cut)
{
	size_t n = strlen(text), i, o = 0, l;

	for (i = 0; i < n; i += l) {
		l = n - i < cut ? n - i : cut;
		assert_true(o + 1 + l <= size);
		out[o++] = (uint8_t)l;
		memcpy(out + o, text + i, l);
		o += l;
	}
	return o;
}

/* The base64 SubjectPublicKeyInfo of key, as opendkim-genkey writes p=. */
static char *
spki_b64(EVP_PKEY *key)
{
	unsigned char *der = NULL;
	int len = i2d_PUBKEY(key, &der);
	char *out = malloc((size_t)(len + 2) / 3 * 4 + 1);

	assert_non_null(out);
	EVP_EncodeBlock((unsigned char *)out, der, len);
	OPENSSL_free(der);
	return out;
}

static EVP_PKEY *
parse_txt(const char *text, size_t cut, struct err *e)
{
	uint8_t rd[8192];

	return dkim_txt_key(rd, txt_rdata(rd, sizeof(rd), text, cut), e);
}

static void
test_dkim_good(void **state)
{
	char *p = spki_b64(pki.dkim_key), text[4096], spaced[4096];
	EVP_PKEY *k;
	struct err e;
	size_t i, o = 0;

	(void)state;
	snprintf(text, sizeof(text), "v=DKIM1; k=rsa; p=%s", p);
	/* Strings of 255 (as published), and of 7 (cut anywhere). */
	assert_non_null(k = parse_txt(text, 255, &e));
	assert_true(dane_same_key(k, pki.dkim_key));
	EVP_PKEY_free(k);
	assert_non_null(k = parse_txt(text, 7, &e));
	assert_true(dane_same_key(k, pki.dkim_key));
	assert_false(dane_same_key(k, pki.rsa_key));
	EVP_PKEY_free(k);
	/* No v=, other tags, folding whitespace inside p=, a trailing ";". */
	for (i = 0; p[i] != '\0'; i++) {
		spaced[o++] = p[i];
		if (i % 40 == 39)
			spaced[o++] = ' ';
	}
	spaced[o] = '\0';
	snprintf(text, sizeof(text), " h=sha256 ; t=s; p= %s ;", spaced);
	assert_non_null(k = parse_txt(text, 255, &e));
	assert_true(dane_same_key(k, pki.dkim_key));
	EVP_PKEY_free(k);
	free(p);
}

static void
test_dkim_hostile(void **state)
{
	char *p = spki_b64(pki.dkim_key), *ec = spki_b64(pki.ec_key);
	char text[8192], mid[4096];
	const struct {
		const char	*fmt;
		const char	*msg;
	} bad[] = {
		{ "k=rsa; v=DKIM1; p=%s", "v= is not the first tag" },
		{ "v=DKIM2; p=%s", "is not DKIM1" },
		{ "v=DKIM1; p=%s; p=%s", "appears twice" },
		{ "v=DKIM1; k=rsa", "no p= tag" },
		{ "v=DKIM1; k=rsa; p=", "revoked" },
		{ "v=DKIM1; p=%s!", "not base64" },
		{ "v=DKIM1; p=%sA", "not base64" },
		{ "v=DKIM1; k=dsa; p=%s", "not rsa or ed25519" },
		{ "v=DKIM1; k=ed25519; p=%s", "not an Ed25519 key" },
		{ "v=DKIM1; p=QUFBQUFBQUFBQUFB", "not an RSA SubjectPublicKeyInfo" },
		{ "v=DKIM1; p", "has no '='" },
		{ "v=DKIM1; p%%x=1; p=%s", "bad tag name" },
	};
	uint8_t rd[8192];
	struct err e;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), bad[i].fmt, p, p);
		e.msg[0] = '\0';
		assert_null(parse_txt(text, 255, &e));
		if (strstr(e.msg, bad[i].msg) == NULL)
			fail_msg("case %zu: \"%s\" lacks \"%s\"", i, e.msg, bad[i].msg);
	}
	/* An EC key where RSA is said; '=' inside the base64. */
	snprintf(text, sizeof(text), "p=%s", ec);
	assert_null(parse_txt(text, 255, &e));
	assert_non_null(strstr(e.msg, "not an RSA SubjectPublicKeyInfo"));
	snprintf(mid, sizeof(mid), "%s", p);
	mid[8] = '=';
	snprintf(text, sizeof(text), "p=%s", mid);
	assert_null(parse_txt(text, 255, &e));
	assert_non_null(strstr(e.msg, "not base64"));
	/* A string that runs past the record; a NUL byte; over the cap. */
	memcpy(rd, "\x10p=abc", 6);
	assert_null(dkim_txt_key(rd, 6, &e));
	assert_non_null(strstr(e.msg, "runs past"));
	memcpy(rd, "\x05p=a\0b", 6);
	assert_null(dkim_txt_key(rd, 6, &e));
	assert_non_null(strstr(e.msg, "NUL"));
	memset(text, 'a', DKIM_TXT_MAX + 1);
	memcpy(text, "p=", 2);
	text[DKIM_TXT_MAX + 1] = '\0';
	assert_null(parse_txt(text, 255, &e));
	assert_non_null(strstr(e.msg, "more than 4096 bytes"));
	free(p);
	free(ec);
}

/* The record certpush prints, read back as a resolver would return it. */
static EVP_PKEY *
reparse(const char *rec)
{
	uint8_t rd[8192];
	const char *q = strchr(rec, '"'), *end;
	size_t o = 0;
	struct err e;

	while (q != NULL && (end = strchr(q + 1, '"')) != NULL) {
		assert_true(end - q - 1 <= 255);
		rd[o++] = (uint8_t)(end - q - 1);
		memcpy(rd + o, q + 1, (size_t)(end - q - 1));
		o += (size_t)(end - q - 1);
		q = strchr(end + 1, '"');
	}
	return dkim_txt_key(rd, o, &e);
}

static void
test_dkim_record_text(void **state)
{
	EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519"), *k;
	char *rec;

	(void)state;
	assert_non_null(rec = dkim_record_text("s2026", "example.test", pki.dkim_key));
	assert_memory_equal(rec, "s2026._domainkey.example.test. IN TXT \"v=DKIM1; k=rsa; p=",
	    55);
	assert_non_null(k = reparse(rec));
	assert_true(dane_same_key(k, pki.dkim_key));
	EVP_PKEY_free(k);
	free(rec);
	assert_non_null(ed);
	assert_non_null(rec = dkim_record_text("ed", "example.test", ed));
	assert_non_null(strstr(rec, "k=ed25519; p="));
	assert_non_null(k = reparse(rec));
	assert_true(dane_same_key(k, ed));
	EVP_PKEY_free(k);
	free(rec);
	EVP_PKEY_free(ed);
}

/* ---- certpush.yaml: dane: and dns: ---- */

static const char conf_head[] =
    "signing_key: /k\n"
    "certificates:\n"
    "  - name: www\n"
    "    cert: /c\n"
    "    key: /k2\n";
static const char conf_tail[] =
    "targets:\n"
    "  - { name: n, type: local, items: [www] }\n";

static int
load(const char *mid, struct pushconf *c, struct err *e)
{
	char text[2048];

	snprintf(text, sizeof(text), "%s%s%s", conf_head, mid, conf_tail);
	return pushconf_load_string("t.yaml", text, strlen(text), c, e);
}

static void
test_config(void **state)
{
	static const struct {
		const char	*mid;
		const char	*msg;
	} bad[] = {
		{ "    dane: [{ host: mail.test, port: 25, usages: [\"1 1 1\"] }]\n",
		  "\"1 1 1\" is not \"USAGE SELECTOR TYPE\"" },
		{ "    dane: [{ host: mail.test, port: 25, usages: [\"3 1 1 x\"] }]\n",
		  "is not \"USAGE SELECTOR TYPE\"" },
		{ "    dane: [{ host: mail.test, port: 25, usages: [\"3 1 0\"] }]\n",
		  "is not \"USAGE SELECTOR TYPE\"" },
		{ "    dane: [{ host: \"mail..test\", port: 25 }]\n", "is not a DNS name" },
		{ "    dane: [{ host: \"a b\", port: 25 }]\n", "is not a DNS name" },
		{ "    dane: [{ host: mail.test }]\n", "missing required key \"port\"" },
		{ "    dane: [{ host: mail.test, port: 0 }]\n", "port" },
		{ "    dane: []\n", "needs 1 to 8 entries" },
		{ "dns: { resolvers: [1.2.3.4] }\n", "resolvers" },
		{ "dns: { timeout: 0 }\n", "timeout" },
		{ "dns: { resolver: [a, b, c, d, e] }\n", "needs 1 to 4 values" },
	};
	struct pushconf c;
	struct err e;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(load(bad[i].mid, &c, &e), -1);
		if (strstr(e.msg, bad[i].msg) == NULL)
			fail_msg("case %zu: \"%s\" lacks \"%s\"", i, e.msg, bad[i].msg);
	}
	assert_int_equal(load("    next_key: /next\n    dane:\n"
	    "      - { host: mail.test, port: 25 }\n"
	    "      - { host: mx.test., port: 465, usages: [\"2 1 1\", \"3 0 2\"] }\n",
	    &c, &e), 0);
	assert_true(c.dns_checks);
	assert_false(c.dkim_checks);
	assert_int_equal(c.certs[0].ndane, 2);
	assert_int_equal(c.certs[0].dane[0].nusages, 1);
	assert_memory_equal(c.certs[0].dane[0].usages[0], "\3\1\1", 3);
	assert_memory_equal(c.certs[0].dane[1].usages[1], "\3\0\2", 3);
	assert_string_equal(c.certs[0].next_key, "/next");
	assert_int_equal(c.dns.timeout, 10);
	pushconf_free(&c);
	assert_int_equal(load("dns: { resolver: [10.0.0.1, \"10.0.0.2@5353\"], "
	    "trust_anchor: /ta, timeout: 3 }\n", &c, &e), 0);
	assert_true(c.dns_checks);
	assert_true(c.dkim_checks);
	assert_int_equal(c.dns.nresolvers, 2);
	assert_string_equal(c.dns.resolvers[1], "10.0.0.2@5353");
	assert_string_equal(c.dns.trust_anchor, "/ta");
	assert_int_equal(c.dns.timeout, 3);
	pushconf_free(&c);
}

/* ---- STATE/holds/TARGET ---- */

static void
test_holds_file(void **state)
{
	char dir[TU_PATH_MAX], sub[TU_PATH_MAX], path[TU_PATH_MAX], *big;
	struct holds h = { 0 }, back;
	struct err e;
	size_t i;
	FILE *f;

	(void)state;
	assert_int_equal(tu_mkdtemp(dir), 0);
	/* None: zero holds. */
	assert_int_equal(holds_load(dir, "n1", &back, &e), 0);
	assert_int_equal(back.n, 0);
	/* A round trip; a reason from DNS with a newline stays on its line. */
	h.n = 2;
	snprintf(h.h[0].item, sizeof(h.h[0].item), "www");
	h.h[0].since = 1000;
	h.h[0].attempts = 3;
	h.h[0].next = 2000;
	snprintf(h.h[0].reason, sizeof(h.h[0].reason), "DNS bogus: a\nhold evil 1 1 1 1 1 x");
	snprintf(h.h[1].item, sizeof(h.h[1].item), "dkim");
	h.h[1].seen = 1500;
	h.h[1].ttl = 300;
	assert_int_equal(holds_save(dir, "n1", &h, &e), 0);
	assert_int_equal(holds_load(dir, "n1", &back, &e), 0);
	assert_int_equal(back.n, 2);
	assert_string_equal(back.h[0].item, "www");
	assert_int_equal(back.h[0].since, 1000);
	assert_int_equal(back.h[0].attempts, 3);
	assert_int_equal(back.h[0].next, 2000);
	assert_null(strchr(back.h[0].reason, '\n'));
	assert_non_null(strstr(back.h[0].reason, "DNS bogus: a"));
	assert_int_equal(back.h[1].seen, 1500);
	assert_int_equal(back.h[1].ttl, 300);
	/* No holds: the file goes. */
	h.n = 0;
	assert_int_equal(holds_save(dir, "n1", &h, &e), 0);
	snprintf(path, sizeof(path), "%s/holds/n1", dir);
	assert_int_equal(access(path, F_OK), -1);
	/* Hostile lines are skipped; at most PUSH_MAX_ITEMS are read. */
	snprintf(sub, sizeof(sub), "%s/holds", dir);
	assert_non_null(f = fopen(path, "w"));
	fputs("garbage\nhold ../x 1 1 1 0 0 r\nhold www 1 1\nhold www x 1 1 0 0 r\n", f);
	for (i = 0; i < PUSH_MAX_ITEMS + 5; i++)
		fprintf(f, "hold item%zu 1 2 3 0 0 reason %zu\n", i, i);
	fclose(f);
	assert_int_equal(holds_load(dir, "n1", &back, &e), 0);
	assert_int_equal(back.n, PUSH_MAX_ITEMS);
	assert_string_equal(back.h[0].item, "item0");
	assert_string_equal(back.h[0].reason, "reason 0");
	/* An oversized file is an error, not a truncated reading. */
	assert_non_null(big = malloc(PUSH_MAX_ITEMS * 1400 + 2));
	memset(big, 'a', PUSH_MAX_ITEMS * 1400 + 1);
	assert_int_equal(tu_write(sub, "n2", big, PUSH_MAX_ITEMS * 1400 + 1, 0600, NULL), 0);
	free(big);
	assert_int_equal(holds_load(dir, "n2", &back, &e), -1);
	assert_int_equal(tu_rmtree(dir), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tlsa_match),
		cmocka_unit_test(test_tlsa_full_and_key),
		cmocka_unit_test(test_tlsa_hostile),
		cmocka_unit_test(test_tlsa_record_text),
		cmocka_unit_test(test_dkim_good),
		cmocka_unit_test(test_dkim_hostile),
		cmocka_unit_test(test_dkim_record_text),
		cmocka_unit_test(test_config),
		cmocka_unit_test(test_holds_file),
	};

	return cmocka_run_group_tests_name("dane", tests, group_setup, group_teardown);
}
