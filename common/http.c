#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "curl_dl.h"
#include "http.h"

/* Below this many bytes a second for LOW_SPEED_S seconds, a peer is cut off. */
#define LOW_SPEED_BPS	1024
#define LOW_SPEED_S	10
#define CONNECT_MS	10000

/* Set once libcurl is loaded and initialised (http_global_init). */
static int http_ready;

int
http_global_init(struct err *e)
{
	if (http_ready)
		return 0;
	if (curl_dl_load(e) == -1)
		return -1;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return err_set(e, "curl_global_init failed");
	http_ready = 1;
	return 0;
}

void
http_global_cleanup(void)
{
	if (http_ready)
		curl_global_cleanup();
	http_ready = 0;
}

int
http_url_ok(const char *url)
{
	size_t i, n = strlen(url);

	if (n > HTTP_URL_MAX || strncmp(url, "https://", 8) != 0 || n == 8)
		return -1;
	for (i = 0; i < n; i++)
		if ((unsigned char)url[i] <= 0x20 || (unsigned char)url[i] >= 0x7f)
			return -1;
	return 0;
}

/* The body, kept up to a cap; the cap is checked before each byte is kept. */
struct sink {
	struct buf	*out;
	size_t		 cap;
	int		 over;
	int		 nomem;
};

static size_t
on_body(char *p, size_t size, size_t n, void *arg)
{
	struct sink *s = arg;
	size_t len = size * n;

	if (len > s->cap - s->out->len) {
		s->over = 1;
		return 0;
	}
	if (buf_add(s->out, p, len) == -1) {
		s->nomem = 1;
		return 0;
	}
	return len;
}

/* Keeps an ETag only if it is short and plain (it goes back in a header). */
static void
keep_etag(char *etag, const char *p, size_t len)
{
	size_t i;

	while (len > 0 && (*p == ' ' || *p == '\t'))
		p++, len--;
	while (len > 0 && (p[len - 1] == '\r' || p[len - 1] == '\n' ||
	    p[len - 1] == ' ' || p[len - 1] == '\t'))
		len--;
	etag[0] = '\0';
	if (len == 0 || len > HTTP_ETAG_MAX)
		return;
	for (i = 0; i < len; i++)
		if ((unsigned char)p[i] <= 0x20 || (unsigned char)p[i] >= 0x7f)
			return;
	memcpy(etag, p, len);
	etag[len] = '\0';
}

/* Each response's headers (a 1xx first, maybe): the last ETag of the last one. */
static size_t
on_header(char *p, size_t size, size_t n, void *arg)
{
	char *etag = arg;
	size_t len = size * n;

	if (len >= 5 && strncmp(p, "HTTP/", 5) == 0)
		etag[0] = '\0';
	else if (len > 5 && strncasecmp(p, "ETag:", 5) == 0)
		keep_etag(etag, p + 5, len - 5);
	return len;
}

/* An easy handle with every limit of http.h set.  NULL with e set. */
static CURL *
easy_new(const char *url, const struct http_opts *o, char *errbuf, struct err *e)
{
	CURL *h;
	long low = o->timeout_ms / 1000 < LOW_SPEED_S ? (long)(o->timeout_ms / 1000) :
	    LOW_SPEED_S;
	int bad = 0;

	if (http_url_ok(url) == -1) {
		err_set(e, "%.200s: not an https:// URL", url);
		return NULL;
	}
	if (!http_ready) {	/* a caller's bug: say so rather than crash */
		err_set(e, "libcurl is not initialised (http_global_init)");
		return NULL;
	}
	if ((h = curl_easy_init()) == NULL) {
		err_set(e, "curl_easy_init failed");
		return NULL;
	}
	errbuf[0] = '\0';
	bad |= curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_URL, url) != CURLE_OK;
#if LIBCURL_VERSION_NUM >= 0x075500
	bad |= curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https") != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "https") != CURLE_OK;
#else
	/* Before 7.85 (RHEL 9's 7.76): the bit masks, deprecated since. */
	bad |= curl_easy_setopt(h, CURLOPT_PROTOCOLS, (long)CURLPROTO_HTTPS) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS, (long)CURLPROTO_HTTPS) != CURLE_OK;
#endif
	bad |= curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK;
	/* No proxy from the environment: the mirror is reached as configured. */
	bad |= curl_easy_setopt(h, CURLOPT_PROXY, "") != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)o->timeout_ms) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)(o->timeout_ms <
	    CONNECT_MS ? o->timeout_ms : CONNECT_MS)) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, (long)LOW_SPEED_BPS) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, low > 0 ? low : 1L) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)o->cap) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_USERAGENT, "certpush/" CP_VERSION) != CURLE_OK;
	if (o->ca_file != NULL) {
		/* CAPATH too: otherwise the system's directory would still count. */
		bad |= curl_easy_setopt(h, CURLOPT_CAINFO, o->ca_file) != CURLE_OK;
		bad |= curl_easy_setopt(h, CURLOPT_CAPATH, NULL) != CURLE_OK;
	}
	if (bad) {
		err_set(e, "libcurl refused an option (built without https?)");
		curl_easy_cleanup(h);
		return NULL;
	}
	return h;
}

/* Sets e from a failed transfer, in the operator's words. */
static void
report(CURLcode rc, const char *errbuf, const struct sink *s,
    const struct http_opts *o, struct err *e)
{
	const char *why = errbuf[0] ? errbuf : curl_easy_strerror(rc);

	if (rc == CURLE_FILESIZE_EXCEEDED)
		err_set(e, "the answer announces more than %zu bytes: refused unread",
		    o->cap);
	else if (s->over)
		err_set(e, "the answer runs past %zu bytes: refused", o->cap);
	else if (s->nomem)
		err_set(e, "out of memory");
	else if (rc == CURLE_OPERATION_TIMEDOUT)
		err_set(e, "too slow (deadline %u s, at least %d bytes/s): %s",
		    o->timeout_ms / 1000, LOW_SPEED_BPS, why);
	else if (rc == CURLE_PEER_FAILED_VERIFICATION)
		err_set(e, "the server's certificate is not trusted by %s: %s",
		    o->ca_file ? o->ca_file : "the system CA store", why);
	else if (rc == CURLE_SSL_CACERT_BADFILE)
		err_set(e, "cannot use ca_file %s: %s", o->ca_file ? o->ca_file : "", why);
	else
		err_set(e, "%s", why);
}

/* An HTTP status other than the expected ones, with what a redirect pointed at. */
static void
report_status(CURL *h, long status, struct err *e)
{
	char *to = NULL;

	if (status >= 300 && status < 400 &&
	    curl_easy_getinfo(h, CURLINFO_REDIRECT_URL, &to) == CURLE_OK && to != NULL)
		err_set(e, "HTTP %ld: a redirect to %.200s, and redirects are not followed",
		    status, to);
	else
		err_set(e, "HTTP %ld", status);
}

/*
 * The conditions, as headers: If-None-Match with the ETag, and
 * If-Modified-Since with the date of the last answer.  Not libcurl's
 * CURLOPT_TIMECONDITION: it would also take a 200 whose Last-Modified
 * is older (a mirror restored with older dates) for "not modified".
 */
static int
set_conditions(CURL *h, const struct http_validators *v, struct curl_slist **hdr)
{
	char line[HTTP_ETAG_MAX + 32];
	struct curl_slist *l;
	time_t t = (time_t)v->last_modified;
	struct tm tm;

	if (v->etag[0] != '\0') {
		snprintf(line, sizeof(line), "If-None-Match: %s", v->etag);
		if ((l = curl_slist_append(*hdr, line)) == NULL)
			return -1;
		*hdr = l;
	}
	if (v->last_modified >= 0 && gmtime_r(&t, &tm) != NULL &&
	    strftime(line, sizeof(line), "If-Modified-Since: %a, %d %b %Y %H:%M:%S GMT",
	    &tm) > 0) {
		if ((l = curl_slist_append(*hdr, line)) == NULL)
			return -1;
		*hdr = l;
	}
	if (*hdr != NULL && curl_easy_setopt(h, CURLOPT_HTTPHEADER, *hdr) != CURLE_OK)
		return -1;
	return 0;
}

/* After a transfer: 304 (to a conditional request), 200, or a failure. */
static enum http_result
classify(CURL *h, int conditional, struct err *e)
{
	long status = 0;

	if (curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK) {
		err_set(e, "libcurl: no response code");
		return HTTP_FAILED;
	}
	if (conditional && status == 304)
		return HTTP_NOT_MODIFIED;
	if (status == 200)
		return HTTP_BODY;
	report_status(h, status, e);
	return HTTP_FAILED;
}

enum http_result
http_get(const char *url, const struct http_opts *o, struct http_validators *v,
    struct buf *out, struct err *e)
{
	char errbuf[CURL_ERROR_SIZE], etag[HTTP_ETAG_MAX + 1] = "";
	struct sink s = { out, o->cap, 0, 0 };
	struct curl_slist *hdr = NULL;
	enum http_result r = HTTP_FAILED;
	curl_off_t mtime = -1;
	CURLcode rc;
	CURL *h;

	if ((h = easy_new(url, o, errbuf, e)) == NULL)
		return HTTP_FAILED;
	if (set_conditions(h, v, &hdr) == -1 ||
	    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_WRITEDATA, &s) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_HEADERDATA, etag) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_FILETIME, 1L) != CURLE_OK) {
		err_set(e, "libcurl refused an option");
		goto out;
	}
	if ((rc = curl_easy_perform(h)) != CURLE_OK)
		report(rc, errbuf, &s, o, e);
	else if ((r = classify(h, v->etag[0] != '\0' || v->last_modified >= 0, e)) ==
	    HTTP_BODY) {
		if (curl_easy_getinfo(h, CURLINFO_FILETIME_T, &mtime) != CURLE_OK)
			mtime = -1;
		snprintf(v->etag, sizeof(v->etag), "%s", etag);
		v->last_modified = mtime;
	}
out:
	if (r != HTTP_BODY)
		buf_free(out);
	curl_slist_free_all(hdr);
	curl_easy_cleanup(h);
	return r;
}

/* The printable start of an error body, for the operator. */
static void
body_excerpt(const struct buf *b, char *out, size_t size)
{
	size_t i, j = 0;

	for (i = 0; i < b->len && j + 1 < size && i < 300; i++)
		out[j++] = b->data[i] >= 0x20 && b->data[i] < 0x7f ? (char)b->data[i] : ' ';
	out[j] = '\0';
}

static int
sha256_hex(const void *data, size_t len, char out[65])
{
	unsigned char md[32];
	unsigned int mdlen = 0;
	size_t i;

	if (EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32)
		return -1;
	for (i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	return 0;
}

/* The headers and signing options of an S3 PUT; the body goes as POSTFIELDS. */
static int
s3_setup(CURL *h, const struct s3_auth *a, const void *data, size_t len,
    struct curl_slist **hdr, char *userpwd, size_t upsize, char *sigv4, size_t svsize)
{
	char line[128], hex[65];
	struct curl_slist *l;
	int bad = 0;

	/*
	 * curl 7.88 signs the hash of POSTFIELDS but sends no header with
	 * it: S3 requires x-amz-content-sha256, with the same value.
	 */
	if (sha256_hex(data, len, hex) == -1)
		return -1;
	snprintf(line, sizeof(line), "x-amz-content-sha256: %s", hex);
	if ((l = curl_slist_append(NULL, line)) == NULL)
		return -1;
	*hdr = l;
	if ((l = curl_slist_append(*hdr, "Content-Type: application/octet-stream")) == NULL)
		return -1;
	*hdr = l;
	snprintf(sigv4, svsize, "aws:amz:%s:s3", a->region);
	snprintf(userpwd, upsize, "%s:%s", a->access_key, a->secret_key);
	bad |= curl_easy_setopt(h, CURLOPT_HTTPHEADER, *hdr) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "PUT") != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_POSTFIELDS, data) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_AWS_SIGV4, sigv4) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_USERPWD, userpwd) != CURLE_OK;
	return bad ? -1 : 0;
}

int
http_put_s3(const char *url, const struct http_opts *o, const struct s3_auth *a,
    const void *data, size_t len, struct err *e)
{
	char errbuf[CURL_ERROR_SIZE], userpwd[512], sigv4[128], text[320];
	struct buf answer = { 0 };
	struct sink s = { &answer, 64 * 1024, 0, 0 };
	struct curl_slist *hdr = NULL;
	long status = 0;
	CURLcode rc;
	CURL *h;
	int ret = -1;

	if ((h = easy_new(url, o, errbuf, e)) == NULL)
		return -1;
	if (s3_setup(h, a, data, len, &hdr, userpwd, sizeof(userpwd), sigv4,
	    sizeof(sigv4)) == -1 ||
	    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_WRITEDATA, &s) != CURLE_OK) {
		err_set(e, "libcurl refused an option");
		goto out;
	}
	if ((rc = curl_easy_perform(h)) != CURLE_OK)
		report(rc, errbuf, &s, o, e);
	else if (curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK ||
	    status < 200 || status > 299) {
		body_excerpt(&answer, text, sizeof(text));
		err_set(e, "HTTP %ld%s%s", status, text[0] ? ": " : "", text);
	} else
		ret = 0;
out:
	OPENSSL_cleanse(userpwd, sizeof(userpwd));
	buf_free(&answer);
	curl_slist_free_all(hdr);
	curl_easy_cleanup(h);
	return ret;
}
