#!/usr/bin/python3
"""HTTPS front of an S3-compatible server for tests/lib-http.sh.

s3rver speaks the S3 API but checks only the access key id, not the
signature.  This proxy checks every signed request's AWS Signature
Version 4 with botocore (the same code the AWS SDK signs with): the
credential scope, the signature over the signed headers, and that
x-amz-content-sha256 is the SHA-256 of the body.  A request that passes
is forwarded to the server; one that fails gets S3's 403
SignatureDoesNotMatch.  Unsigned GET and HEAD requests (the nodes'
downloads) are forwarded as they are, conditional headers included.

One line per request in --log: "METHOD PATH STATUS sigv4=ok|bad|none".
"""
import argparse
import hashlib
import http.client
import http.server
import re
import ssl
import sys

from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

MAX_BODY = 2 * 1024 * 1024
AUTH_RE = re.compile(
    r"AWS4-HMAC-SHA256 Credential=([^/,]+)/(\d{8})/([^/,]+)/s3/aws4_request,\s*"
    r"SignedHeaders=([a-z0-9;-]+),\s*Signature=([0-9a-f]{64})$")
HOP = {"connection", "keep-alive", "transfer-encoding", "proxy-connection", "date", "server"}


def check_sigv4(opts, method, path, headers, body):
    """None if the request's SigV4 is valid, else the reason."""
    m = AUTH_RE.match(headers.get("Authorization", ""))
    if not m:
        return "malformed Authorization"
    akid, date, region, signed, signature = m.groups()
    if akid != opts.access_key:
        return "unknown access key " + akid
    if region != opts.region:
        return "region " + region
    amz_date = headers.get("x-amz-date", "")
    if not amz_date.startswith(date):
        return "x-amz-date does not match the credential scope"
    sha = headers.get("x-amz-content-sha256")
    if sha is None:
        return "no x-amz-content-sha256"
    if sha != "UNSIGNED-PAYLOAD" and sha != hashlib.sha256(body).hexdigest():
        return "x-amz-content-sha256 is not the body's SHA-256"
    names = signed.split(";")
    for need in ("host", "x-amz-date", "x-amz-content-sha256"):
        if need not in names:
            return need + " not signed"
    hdrs = {}
    for name in names:
        if headers.get(name) is None:
            return "signed header %s missing" % name
        hdrs[name] = headers.get(name)
    req = AWSRequest(method=method, url="https://" + headers["Host"] + path,
                     headers=hdrs, data=body)
    req.context["timestamp"] = amz_date
    auth = S3SigV4Auth(Credentials(opts.access_key, opts.secret), "s3", opts.region)
    if auth.signed_headers(auth.headers_to_sign(req)) != signed:
        return "signed headers %s, botocore would sign %s" % (
            signed, auth.signed_headers(auth.headers_to_sign(req)))
    want = auth.signature(auth.string_to_sign(req, auth.canonical_request(req)), req)
    if want != signature:
        return "signature mismatch"
    return None


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, fmt, *args):
        pass

    def note(self, status, sig):
        with open(self.server.opts.log, "a") as f:
            f.write("%s %s %d sigv4=%s\n" % (self.command, self.path, status, sig))

    def answer(self, status, body, headers=()):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def refuse(self, why, sig):
        body = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>"
                "SignatureDoesNotMatch</Code><Message>%s</Message></Error>" % why).encode()
        self.note(403, sig + ": " + why)
        self.answer(403, body, [("Content-Type", "application/xml")])

    def handle_any(self):
        n = int(self.headers.get("Content-Length", "0"))
        if n > MAX_BODY:
            self.refuse("body too large", "bad")
            return
        body = self.rfile.read(n) if n else b""
        sig = "none"
        if "Authorization" in self.headers:
            why = check_sigv4(self.server.opts, self.command, self.path, self.headers, body)
            if why is not None:
                self.refuse(why, "bad")
                return
            sig = "ok"
        elif self.command not in ("GET", "HEAD"):
            self.refuse("anonymous " + self.command, "none")
            return
        up = http.client.HTTPConnection(self.server.opts.upstream_host,
                                        self.server.opts.upstream_port, timeout=30)
        fwd = {k: v for k, v in self.headers.items() if k.lower() not in HOP}
        up.request(self.command, self.path, body=body if n else None, headers=fwd)
        r = up.getresponse()
        data = r.read()
        up.close()
        self.note(r.status, sig)
        keep = [(k, v) for k, v in r.getheaders()
                if k.lower() not in HOP and k.lower() != "content-length"]
        self.answer(r.status, data, keep)

    do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = handle_any


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--listen", required=True)
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--upstream", required=True, help="HOST:PORT of the S3 server")
    p.add_argument("--access-key", required=True)
    p.add_argument("--secret", required=True)
    p.add_argument("--region", required=True)
    p.add_argument("--log", required=True)
    opts = p.parse_args()
    opts.upstream_host, port = opts.upstream.rsplit(":", 1)
    opts.upstream_port = int(port)
    host, port = opts.listen.rsplit(":", 1)
    srv = http.server.ThreadingHTTPServer((host, int(port)), Handler)
    srv.opts = opts
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(opts.cert, opts.key)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    sys.stdout.write("listening\n")
    sys.stdout.flush()
    srv.serve_forever()


if __name__ == "__main__":
    main()
