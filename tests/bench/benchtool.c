/*
 * benchtool: the small helpers of make bench that a shell cannot do
 * cheaply.  Linked against the project's common library.
 *
 *   benchtool run OUTFILE CMD [ARG...]
 *	Runs CMD, then writes "WALL_S USER_S SYS_S MAXRSS_KB STATUS" to
 *	OUTFILE: the CPU times of CMD and of every descendant it waited for,
 *	the largest resident set among them.  Exits with CMD's status.
 *   benchtool each OUTFILE FIRST LAST CMD [ARG...]
 *	Runs CMD once for each number I from FIRST to LAST, every "{}" in
 *	its arguments replaced by I, started with posix_spawn (no shell, no
 *	copy of a parent to fork) and standard output discarded; writes
 *	"I WALL_S CPU_S STATUS" per run to OUTFILE, CPU_S being that
 *	process's own user + system time.  Stops at the first run that
 *	fails and exits with its status.
 *   benchtool gencerts DIR COUNT
 *	COUNT self-signed certificates DIR/certNNNN.pem sharing the P-256
 *	key DIR.key, a fixed mix of expired, expiring and valid ones, and
 *	the manifest DIR.manifest: "PATH NOTAFTER_EPOCH" per file.
 *   benchtool served [-i MS] [-t S] FPR ADDR:PORT...
 *	Polls every endpoint (plain TLS) until it serves the leaf with
 *	SHA-256 fingerprint FPR; prints "ADDR:PORT EPOCH_NS", the wall-clock
 *	time it was first seen, or "ADDR:PORT timeout".  Exit 0 if all did.
 *   benchtool crypto SECONDS CHAIN KEY DKIM
 *	Ed25519 sign and verify through the project's code (sig.c, bundle.c)
 *	on a bundle of CHAIN, KEY and DKIM: raw primitive on 64 bytes and on
 *	the bundle's bytes, bundle_encode, bundle_verify (every check).
 *	Prints "NAME OPS_PER_S US_PER_OP" lines.
 *
 * Exit status: 0 success, 1 failure, 64 usage error.
 */
#include <sys/resource.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "bundle.h"
#include "cert.h"
#include "fsutil.h"
#include "sig.h"
#include "tlsprobe.h"

#define DAY		86400
#define SERVED_MAX	256	/* endpoints polled by one "served" */

static int
usage(void)
{
	fprintf(stderr, "usage: benchtool run OUTFILE CMD [ARG...]\n"
	    "       benchtool each OUTFILE FIRST LAST CMD [ARG...]\n"
	    "       benchtool gencerts DIR COUNT\n"
	    "       benchtool served [-i MS] [-t S] FPR ADDR:PORT...\n"
	    "       benchtool crypto SECONDS CHAIN KEY DKIM\n");
	return 64;
}

static double
mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int
cmd_run(int argc, char **argv)
{
	struct rusage ru;
	FILE *out;
	double start;
	pid_t pid;
	int status, code;

	if (argc < 3)
		return usage();
	if ((out = fopen(argv[1], "w")) == NULL) {
		fprintf(stderr, "benchtool: run: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	start = mono_s();
	if ((pid = fork()) == -1) {
		fprintf(stderr, "benchtool: run: fork: %s\n", strerror(errno));
		fclose(out);
		return 1;
	}
	if (pid == 0) {
		fclose(out);
		execvp(argv[2], argv + 2);
		fprintf(stderr, "benchtool: run: %s: %s\n", argv[2], strerror(errno));
		_exit(127);
	}
	while (wait4(pid, &status, 0, &ru) == -1)
		if (errno != EINTR) {
			fprintf(stderr, "benchtool: run: wait4: %s\n", strerror(errno));
			fclose(out);
			return 1;
		}
	code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	fprintf(out, "%.6f %.6f %.6f %ld %d\n", mono_s() - start,
	    ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6,
	    ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6, ru.ru_maxrss, code);
	return fclose(out) == 0 ? code : 1;
}

#define EACH_ARGS	64
#define EACH_ARG_LEN	4096

/* dst = src with every "{}" replaced by num; -1 if it does not fit. */
static int
subst_num(char *dst, size_t size, const char *src, long num)
{
	const char *hole;
	size_t used = 0;
	int n;

	while ((hole = strstr(src, "{}")) != NULL) {
		n = snprintf(dst + used, size - used, "%.*s%ld", (int)(hole - src), src, num);
		if (n < 0 || (size_t)n >= size - used)
			return -1;
		used += (size_t)n;
		src = hole + 2;
	}
	n = snprintf(dst + used, size - used, "%s", src);
	return n < 0 || (size_t)n >= size - used ? -1 : 0;
}

/* One run of argv (already substituted): its wall time, CPU and status. */
static int
spawn_once(char **argv, FILE *out, long num, char **envp)
{
	posix_spawn_file_actions_t fa;
	struct rusage ru;
	double start;
	pid_t pid;
	int status, rc;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	start = mono_s();
	rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	if (rc != 0) {
		fprintf(stderr, "benchtool: each: %s: %s\n", argv[0], strerror(rc));
		return 127;
	}
	while (wait4(pid, &status, 0, &ru) == -1)
		if (errno != EINTR) {
			fprintf(stderr, "benchtool: each: wait4: %s\n", strerror(errno));
			return 1;
		}
	rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	fprintf(out, "%ld %.6f %.6f %d\n", num, mono_s() - start,
	    ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	    ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6, rc);
	return rc;
}

static int
cmd_each(int argc, char **argv)
{
	static char bufs[EACH_ARGS][EACH_ARG_LEN];
	char *args[EACH_ARGS + 1];
	long first, last, num;
	FILE *out;
	int i, n, rc = 0;

	if (argc < 5 || argc - 4 > EACH_ARGS)
		return usage();
	first = strtol(argv[2], NULL, 10);
	last = strtol(argv[3], NULL, 10);
	if (first < 0 || last < first)
		return usage();
	if ((out = fopen(argv[1], "w")) == NULL) {
		fprintf(stderr, "benchtool: each: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	n = argc - 4;
	for (num = first; num <= last && rc == 0; num++) {
		for (i = 0; i < n; i++) {
			if (subst_num(bufs[i], sizeof(bufs[i]), argv[4 + i], num) == -1) {
				fprintf(stderr, "benchtool: each: argument too long\n");
				fclose(out);
				return 64;
			}
			args[i] = bufs[i];
		}
		args[n] = NULL;
		rc = spawn_once(args, out, num, environ);
	}
	return fclose(out) == 0 ? rc : 1;
}

/*
 * The notAfter offset (seconds from now) of certificate i: every tenth
 * expired 2..91 days ago, every tenth expiring in 2..19 days, the rest
 * valid 30..365 days.  Half a day away from any whole day, so tools that
 * count in days agree.
 */
static long
not_after_offset(unsigned i)
{
	unsigned r = (i * 2654435761u) >> 8;

	switch (i % 10) {
	case 0:
		return -(long)(2 + r % 90) * DAY - DAY / 2;
	case 1:
		return (long)(2 + r % 18) * DAY + DAY / 2;
	}
	return (long)(30 + r % 336) * DAY + DAY / 2;
}

/* A self-signed leaf for CN, valid until now + off.  NULL on failure. */
static X509 *
make_cert(EVP_PKEY *key, const char *cn, unsigned serial, time_t now, long off)
{
	X509 *x = X509_new();
	X509_NAME *name = NULL;

	if (x == NULL || X509_set_version(x, 2) != 1 ||
	    ASN1_INTEGER_set(X509_get_serialNumber(x), (long)serial + 1) != 1 ||
	    X509_time_adj(X509_getm_notBefore(x), 0, &(time_t){ now + off - 400 * DAY })
	    == NULL ||
	    X509_time_adj(X509_getm_notAfter(x), 0, &(time_t){ now + off }) == NULL ||
	    (name = X509_get_subject_name(x)) == NULL ||
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0) != 1 ||
	    X509_set_issuer_name(x, name) != 1 || X509_set_pubkey(x, key) != 1 ||
	    X509_sign(x, key, EVP_sha256()) == 0) {
		X509_free(x);
		return NULL;
	}
	return x;
}

static EVP_PKEY *
make_p256(void)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	EVP_PKEY *key = NULL;

	if (ctx == NULL || EVP_PKEY_keygen_init(ctx) <= 0 ||
	    EVP_PKEY_CTX_set_group_name(ctx, "P-256") <= 0 ||
	    EVP_PKEY_keygen(ctx, &key) <= 0)
		key = NULL;
	EVP_PKEY_CTX_free(ctx);
	return key;
}

/* Writes one PEM certificate (x) or private key (key) to path.  0 or -1. */
static int
write_pem(const char *path, X509 *x, EVP_PKEY *key)
{
	FILE *f = fopen(path, "w");
	int rc;

	if (f == NULL)
		return -1;
	if (x != NULL)
		rc = PEM_write_X509(f, x) == 1 ? 0 : -1;
	else
		rc = PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) == 1 ? 0 : -1;
	return fclose(f) == 0 ? rc : -1;
}

static int
cmd_gencerts(int argc, char **argv)
{
	char path[PATH_MAX], cn[64];
	EVP_PKEY *key = NULL;
	FILE *manifest = NULL;
	time_t now = time(NULL);
	unsigned i, count;
	int rc = 1;

	if (argc != 3 || (count = (unsigned)strtoul(argv[2], NULL, 10)) == 0 ||
	    count > 100000)
		return usage();
	snprintf(path, sizeof(path), "%s.manifest", argv[1]);
	umask(077);
	if ((key = make_p256()) == NULL || (manifest = fopen(path, "w")) == NULL) {
		fprintf(stderr, "benchtool: gencerts: cannot start: %s\n", strerror(errno));
		goto out;
	}
	snprintf(path, sizeof(path), "%s.key", argv[1]);
	if (write_pem(path, NULL, key) == -1) {
		fprintf(stderr, "benchtool: gencerts: %s: failed\n", path);
		goto out;
	}
	umask(022);
	for (i = 0; i < count; i++) {
		long off = not_after_offset(i);
		X509 *x;

		snprintf(cn, sizeof(cn), "host%04u.bench.test", i);
		snprintf(path, sizeof(path), "%s/cert%04u.pem", argv[1], i);
		if ((x = make_cert(key, cn, i, now, off)) == NULL || write_pem(path, x, NULL) == -1) {
			X509_free(x);
			fprintf(stderr, "benchtool: gencerts: %s: failed\n", path);
			goto out;
		}
		X509_free(x);
		fprintf(manifest, "%s %lld\n", path, (long long)(now + off));
	}
	rc = 0;
out:
	if (manifest != NULL && fclose(manifest) != 0)
		rc = 1;
	EVP_PKEY_free(key);
	return rc;
}

struct endpoint {
	char		 addr[256];
	unsigned	 port;
	long long	 seen_ns;	/* 0: not yet */
};

static int
parse_endpoint(const char *s, struct endpoint *ep)
{
	const char *colon = strrchr(s, ':');
	char *end;
	unsigned long port;

	if (colon == NULL || (size_t)(colon - s) >= sizeof(ep->addr))
		return -1;
	port = strtoul(colon + 1, &end, 10);
	if (*end != '\0' || port == 0 || port > 65535)
		return -1;
	memcpy(ep->addr, s, (size_t)(colon - s));
	ep->addr[colon - s] = '\0';
	ep->port = (unsigned)port;
	ep->seen_ns = 0;
	return 0;
}

/* Whether ep serves the leaf with fingerprint fpr now. */
static int
serves(const struct endpoint *ep, const char *fpr)
{
	struct probe p = { 0 };
	char got[CERT_FPR_LEN];
	struct err e;
	int yes;

	if (tls_probe(ep->addr, ep->port, NULL, TLS_NONE, 2000, &p, &e) == -1)
		return 0;
	cert_fingerprint(p.leaf, got);
	yes = strcasecmp(got, fpr) == 0;
	probe_free(&p);
	return yes;
}

static long long
wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Polls the endpoints not seen yet, each at most every interval_ms. */
static int
cmd_served(int argc, char **argv)
{
	static struct endpoint ep[SERVED_MAX];
	unsigned long interval_ms = 20, timeout_s = 60;
	double deadline;
	size_t i, n, left;
	int ch;

	while ((ch = getopt(argc, argv, "i:t:")) != -1) {
		switch (ch) {
		case 'i':
			interval_ms = strtoul(optarg, NULL, 10);
			break;
		case 't':
			timeout_s = strtoul(optarg, NULL, 10);
			break;
		default:
			return usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 2 || (size_t)argc - 1 > SERVED_MAX || interval_ms == 0)
		return usage();
	n = (size_t)argc - 1;
	for (i = 0; i < n; i++)
		if (parse_endpoint(argv[i + 1], &ep[i]) == -1)
			return usage();
	deadline = mono_s() + (double)timeout_s;
	for (left = n; left > 0 && mono_s() < deadline;) {
		double sweep = mono_s();

		for (i = 0; i < n; i++)
			if (ep[i].seen_ns == 0 && serves(&ep[i], argv[0])) {
				ep[i].seen_ns = wall_ns();
				left--;
			}
		sweep = (double)interval_ms / 1000 - (mono_s() - sweep);
		if (left > 0 && sweep > 0)
			usleep((useconds_t)(sweep * 1e6));
	}
	for (i = 0; i < n; i++) {
		if (ep[i].seen_ns != 0)
			printf("%s:%u %lld\n", ep[i].addr, ep[i].port, ep[i].seen_ns);
		else
			printf("%s:%u timeout\n", ep[i].addr, ep[i].port);
	}
	return left == 0 ? 0 : 1;
}

/* Runs op(arg) for about seconds; prints and returns the operations/s. */
static double
measure(const char *name, double seconds, int (*op)(void *), void *arg)
{
	double start = mono_s(), elapsed;
	unsigned long n = 0;

	do {
		unsigned k;

		for (k = 0; k < 16; k++, n++)
			if (op(arg) == -1) {
				fprintf(stderr, "benchtool: crypto: %s failed\n", name);
				return -1;
			}
	} while ((elapsed = mono_s() - start) < seconds);
	printf("%-22s %12.1f %10.2f\n", name, n / elapsed, elapsed * 1e6 / n);
	return n / elapsed;
}

struct cryptoctx {
	EVP_PKEY		*sk;
	struct pubkey		 pk;
	const uint8_t		*msg;
	size_t			 len;
	uint8_t			 sig[SIG_LEN];
	struct bundle		 b;		/* to encode */
	struct buf		 enc;		/* the encoded bundle */
	struct verify_policy	 pol;
};

static int
op_sign(void *arg)
{
	struct cryptoctx *c = arg;
	struct err e;

	return sig_sign(c->sk, c->msg, c->len, c->sig, &e);
}

static int
op_verify(void *arg)
{
	struct cryptoctx *c = arg;

	return sig_verify(&c->pk, c->msg, c->len, c->sig);
}

static int
op_encode(void *arg)
{
	struct cryptoctx *c = arg;
	struct buf out = { 0 };
	struct err e;
	int rc = bundle_encode(&c->b, c->sk, &out, &e);

	buf_free(&out);
	return rc;
}

static int
op_bundle_verify(void *arg)
{
	struct cryptoctx *c = arg;
	struct bundle got;
	struct err e;
	int unchanged;

	return bundle_verify(c->enc.data, c->enc.len, &c->pol, &got, &unchanged, &e) ==
	    BC_OK ? 0 : -1;
}

/* Fills c->b with the entries of the three files in data[]. */
static int
crypto_bundle(struct cryptoctx *c, struct buf data[3], char **files, struct err *e)
{
	static const enum entry_kind kinds[] = { KIND_CHAIN, KIND_KEY, KIND_DKIM };
	static const char *const items[] = { "www", "www", "dkim" };
	time_t now = time(NULL);
	size_t i;

	for (i = 0; i < 3; i++)
		if (file_read(files[i], BUNDLE_MAX_ENTRY_SIZE, &data[i], e) == -1 ||
		    bundle_add_entry(&c->b, items[i], kinds[i], data[i].data, data[i].len,
		    e) == -1)
			return -1;
	c->b.type = BUNDLE_TYPE_CERTS;
	c->b.serial = (uint64_t)now;
	c->b.created = (uint64_t)now;
	c->b.expires = (uint64_t)now + DAY;
	snprintf(c->b.audience, sizeof(c->b.audience), "node1");
	if (bundle_check_content(&c->b, now, e) != BC_OK ||
	    bundle_encode(&c->b, c->sk, &c->enc, e) == -1)
		return -1;
	c->pol = (struct verify_policy){ .trusted = &c->pk, .ntrusted = 1,
	    .audience = "node1", .now = now };
	return 0;
}

static int
cmd_crypto(int argc, char **argv)
{
	static struct cryptoctx c;
	struct buf data[3] = { { 0 }, { .secret = 1 }, { .secret = 1 } };
	uint8_t small[64] = { 0 };
	double seconds;
	struct err e;
	size_t i;
	int rc = 1;

	if (argc != 5 || (seconds = strtod(argv[1], NULL)) <= 0)
		return usage();
	if ((c.sk = sig_keygen(&e)) == NULL || sig_pubkey_of(c.sk, &c.pk, &e) == -1 ||
	    crypto_bundle(&c, data, argv + 2, &e) == -1) {
		fprintf(stderr, "benchtool: crypto: %s\n", e.msg);
		goto out;
	}
	printf("%-22s %12s %10s\n", "# operation", "ops/s", "us/op");
	printf("# bundle of %zu bytes\n", c.enc.len);
	c.msg = small;
	c.len = sizeof(small);
	if (measure("sign_64B", seconds, op_sign, &c) < 0 ||
	    measure("verify_64B", seconds, op_verify, &c) < 0)
		goto out;
	c.msg = c.enc.data;
	c.len = c.enc.len - SIG_LEN;
	if (op_sign(&c) == -1 ||
	    measure("sign_bundle_bytes", seconds, op_sign, &c) < 0 ||
	    measure("verify_bundle_bytes", seconds, op_verify, &c) < 0 ||
	    measure("bundle_encode", seconds, op_encode, &c) < 0 ||
	    measure("bundle_verify_all", seconds, op_bundle_verify, &c) < 0)
		goto out;
	rc = 0;
out:
	for (i = 0; i < 3; i++)
		buf_free(&data[i]);
	buf_free(&c.enc);
	EVP_PKEY_free(c.sk);
	return rc;
}

int
main(int argc, char **argv)
{
	if (argc < 2)
		return usage();
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (strcmp(argv[1], "run") == 0)
		return cmd_run(argc - 1, argv + 1);
	if (strcmp(argv[1], "each") == 0)
		return cmd_each(argc - 1, argv + 1);
	if (strcmp(argv[1], "gencerts") == 0)
		return cmd_gencerts(argc - 1, argv + 1);
	if (strcmp(argv[1], "served") == 0)
		return cmd_served(argc - 1, argv + 1);
	if (strcmp(argv[1], "crypto") == 0)
		return cmd_crypto(argc - 1, argv + 1);
	return usage();
}
