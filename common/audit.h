/*
 * The certificate expiry audit shared by certpush and certpull: audit
 * lines (one per certificate, file, target or endpoint), their verdicts,
 * the checks they share (dates, chains, key match, live endpoints), the
 * audit of arbitrary certificate files (audit_files.c) and the outputs:
 * a table, JSON, Prometheus text, a Nagios plugin line (audit_out.c).
 *
 * The program-specific parts (certpush/audit_push.c, certpull/audit_pull.c)
 * fill an audit_list; this module judges, sorts and renders it.  A line
 * starts OK; each problem found raises its verdict (audit_problem).
 */
#ifndef CP_AUDIT_H
#define CP_AUDIT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/x509.h>

#include "buf.h"
#include "cert.h"
#include "err.h"
#include "tlsprobe.h"

/* The values are the Nagios plugin exit codes. */
enum verdict { VERDICT_OK = 0, VERDICT_WARNING = 1, VERDICT_CRITICAL = 2,
	VERDICT_UNKNOWN = 3 };

enum audit_kind {
	AUDIT_SOURCE,		/* certpush: a certificate source */
	AUDIT_DKIM,		/* certpush: a DKIM key source */
	AUDIT_TARGET,		/* certpush: a target's installed serial */
	AUDIT_INSTALLED,	/* a file installed by certpull */
	AUDIT_ENDPOINT,		/* a live TLS endpoint */
	AUDIT_FILE,		/* a certificate of a file named on the command line */
	AUDIT_CONFIG,		/* the configuration or an option could not be used */
	AUDIT_DANE,		/* certpush: a key pinned in DNS (TLSA, DKIM TXT) */
	AUDIT_FRESHNESS,	/* certpull: what the mirrors' timestamps say */
};

enum audit_format { AUDIT_TABLE, AUDIT_JSON, AUDIT_PROMETHEUS, AUDIT_NAGIOS };

enum chain_state {
	CHAIN_NA,		/* not checked */
	CHAIN_COMPLETE,		/* in order, up to a self-signed or known issuer */
	CHAIN_INCOMPLETE,	/* the last certificate's issuer is unknown */
	CHAIN_DISORDERED,	/* a certificate is not issued by the next one */
	CHAIN_VERIFIED,		/* endpoints: verifies to a trusted root */
	CHAIN_UNVERIFIED,	/* endpoints: does not */
};

#define AUDIT_WHERE_MAX		1024
#define AUDIT_MSG_MAX		640
#define AUDIT_DEFAULT_WARN	21
#define AUDIT_DEFAULT_CRIT	7
#define AUDIT_DEFAULT_TIMEOUT	10	/* seconds per endpoint */
#define AUDIT_DAYS_NONE		INT64_MIN

struct audit_line {
	enum audit_kind	 kind;
	enum verdict	 verdict;
	char		 where[AUDIT_WHERE_MAX];	/* unique: item, path, target... */
	char		 item[64];			/* the certpush/certpull item */
	char		 subject[256];
	char		 issuer[256];
	char		 names[512];		/* DNS names, comma separated */
	char		 key[32];		/* "RSA 2048", "EC 256" */
	char		 sha256[CERT_FPR_LEN];
	char		 expected[CERT_FPR_LEN];	/* what it should be, if known */
	time_t		 not_before;		/* 0: no certificate */
	time_t		 not_after;
	enum chain_state chain;
	int		 key_match;		/* -1 not checked, 0 no, 1 yes */
	int		 mismatch;		/* -1 not compared, 0 same, 1 differs */
	int		 reachable;		/* endpoints and targets: -1, 0, 1 */
	char		 problems[AUDIT_MSG_MAX];	/* "; " separated */
	char		 note[256];		/* shown when there is no problem */
	union {
		struct {
			int	 known;		/* installed was read */
			uint64_t installed, current;
		} target;
		struct {
			char		address[256];
			unsigned	port;
			char		sni[256];
			enum starttls	starttls;
		} ep;
		struct {
			char		selector[64];
			char		domain[256];
		} dkim;
	} u;
};

/*
 * A growable array of lines.  On memory exhaustion audit_add returns
 * the spare line (so callers never check for NULL) and sets oom, which
 * makes the outcome UNKNOWN.
 */
struct audit_list {
	struct audit_line	*v;
	size_t			 n;
	size_t			 cap;
	int			 oom;
	struct audit_line	 spare;
};

struct audit_opts {
	long		 warn_days;
	long		 crit_days;
	enum audit_format format;
	const char	*output;	/* -o FILE, or NULL for standard output */
	const char	*ca_file;	/* --ca-file */
	unsigned	 timeout_s;	/* per endpoint */
	char *const	*paths;		/* FILE... arguments */
	size_t		 npaths;
};

struct audit_ctx {
	struct audit_opts o;
	const char	*prog;		/* "certpush"/"certpull": metric prefix */
	time_t		 now;
	X509_STORE	*store;		/* system store + CA file; NULL if none */
};

/*
 * Parses the audit options; argv[0] is "audit".  Returns 0, or -1 after
 * logging what is wrong and printing the synopsis of prog's audit.
 */
int	audit_parse_args(const char *prog, int argc, char **argv,
	    struct audit_opts *o);
/*
 * Sets up a context at the current time; ignores SIGPIPE (a peer may
 * close a TLS connection while we write).  Loads the system certificate
 * store and ca_file (o->ca_file wins over the configuration's); returns
 * 0, or -1 with e set if ca_file cannot be loaded (the system store is
 * still used).  Free with audit_ctx_free.
 */
int	audit_ctx_init(struct audit_ctx *a, const char *prog,
	    const struct audit_opts *o, const char *ca_file, struct err *e);
void	audit_ctx_free(struct audit_ctx *a);

const char *verdict_name(enum verdict v);
const char *audit_kind_name(enum audit_kind k);
/* Urgency for sorting and the overall verdict: CRITICAL, WARNING, UNKNOWN, OK. */
int	verdict_rank(enum verdict v);

/*
 * The verdict for a configured file that cannot be read: UNKNOWN if the
 * effective user may not read it (the audit cannot judge: run it as
 * root), CRITICAL otherwise (missing, not a regular file, ...).  Either
 * path may be NULL or "".
 */
enum verdict audit_unreadable(const char *path, const char *other);
/* Appends a line (zeroed, OK) with where set from fmt.  Never NULL. */
struct audit_line *audit_add(struct audit_list *l, enum audit_kind kind,
	    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Adds a problem and raises the line's verdict to v if v is more urgent. */
void	audit_problem(struct audit_line *l, enum verdict v, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
void	audit_note(struct audit_line *l, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* Moves src's lines to the end of dst; src is left empty. */
void	audit_list_move(struct audit_list *dst, struct audit_list *src);
void	audit_list_free(struct audit_list *l);

/*
 * Whole days from now to the line's notAfter, rounded down (negative once
 * expired), or AUDIT_DAYS_NONE if the line has no certificate.
 */
int64_t	audit_days_left(const struct audit_ctx *a, const struct audit_line *l);
/*
 * Describes x in l (subject, issuer, names, dates, key, fingerprint) and
 * judges its dates: expired, not valid yet or within crit days is
 * CRITICAL, within warn days WARNING.
 */
void	audit_cert(const struct audit_ctx *a, struct audit_line *l, X509 *x);
/* Judges l->not_after (and l->not_before if not 0) as audit_cert does. */
void	audit_expiry(const struct audit_ctx *a, struct audit_line *l);
/* Judges the dates of chain[1..]: an intermediate that expires soon. */
void	audit_chain_dates(const struct audit_ctx *a, struct audit_line *l,
	    STACK_OF(X509) *chain);
/*
 * Completeness of a chain (leaf first): each certificate issued by the
 * next, and the last self-signed or issued by a certificate of the store.
 * Sets l->chain; out of order is CRITICAL, incomplete a WARNING.
 */
void	audit_chain_complete(const struct audit_ctx *a, struct audit_line *l,
	    STACK_OF(X509) *chain);
/* Sets l->key_match; a key that does not match the leaf is CRITICAL. */
void	audit_key_match(struct audit_line *l, X509 *leaf, EVP_PKEY *key);
/* Every name must be covered by x; each one that is not is CRITICAL. */
void	audit_names(struct audit_line *l, X509 *x, char *const *names, size_t n);

struct audit_endpoint {
	const char	*address;
	unsigned	 port;
	const char	*sni;
	enum starttls	 starttls;
	const char	*expected;	/* fingerprint it must serve, or NULL */
	char *const	*names;		/* names the leaf must cover (besides sni) */
	size_t		 nnames;
};

/*
 * Adds an AUDIT_ENDPOINT line for ep, its place named
 * "PREFIX/ADDRESS:PORT[/SNI]" (an IPv6 address in brackets).
 */
struct audit_line *audit_add_endpoint(struct audit_list *l, const char *prefix,
	    const struct audit_endpoint *ep);
/*
 * Probes a live endpoint and judges it into l (a line from
 * audit_add_endpoint): unreachable, a leaf other
 * than expected, a name not covered, or a chain that does not verify to
 * the store is CRITICAL, besides the leaf's dates.  Thread-safe.
 */
void	audit_endpoint(const struct audit_ctx *a, struct audit_line *l,
	    const struct audit_endpoint *ep);

/*
 * Loads the certificates of PEM text (any number of blocks; other block
 * types are skipped, or decoded into *key when key is not NULL) or of one
 * DER certificate, pushing them onto certs.  *others counts the blocks
 * that were neither.  Returns 0, or -1 with e set on malformed input
 * (the certificates before the fault stay on certs).
 */
int	audit_load_pem(const void *data, size_t len, STACK_OF(X509) *certs,
	    EVP_PKEY **key, int *others, struct err *e);
/*
 * Audits certificate files and directories (recursively: files named
 * *.pem, *.crt, *.cer, *.cert, *.der; holding no certificate but other
 * PEM blocks, such as keys, they are skipped), one AUDIT_FILE line per
 * certificate.  See certpush(8) for the verdicts.
 */
void	audit_files(const struct audit_ctx *a, struct audit_list *l,
	    char *const *paths, size_t n);

/* Runs fn(arg, i) for i in [0, n) on at most conc threads at once. */
void	audit_parallel(size_t n, unsigned long conc, void (*fn)(void *, size_t),
	    void *arg);

/*
 * The lines in order of urgency (CRITICAL, WARNING, UNKNOWN, OK), then
 * of notAfter (lines without a certificate last), kind and place.
 * Returns a malloc'd array of l->n pointers into l (caller frees), or
 * NULL if memory is exhausted.
 */
const struct audit_line **audit_sorted(const struct audit_list *l);
/* The most urgent verdict of all lines; UNKNOWN if there is none or oom. */
enum verdict audit_overall(const struct audit_list *l);
/*
 * Renders the lines, sorted, in format f, appending to out; color: ANSI
 * colours in the table.  0, or -1 if memory is exhausted.
 */
int	audit_render(const struct audit_ctx *a, const struct audit_list *l,
	    enum audit_format f, int color, struct buf *out);
/*
 * Sorts, renders in the context's format and writes to standard output
 * or atomically to -o FILE (mode 0644).  Returns the exit status: the
 * overall verdict, or 3 (UNKNOWN) if the output cannot be written.
 */
int	audit_output(const struct audit_ctx *a, struct audit_list *l);

#endif
