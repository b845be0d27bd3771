#!/bin/bash
# tests/lib-http.sh: the HTTPS mirrors certpull fetch pulls bundles from
# (nginx) and the S3-compatible bucket certpush publishes to.  Source after
# lib.sh and lib-services.sh, whose conventions hold here: every instance
# lives in DIR under $TRASH, NS is a node made by netns_create, each *_start
# waits (bounded) for its port and registers its stop at exit, prints the log
# tails on failure and returns 1.
#
# Facts (/work/shared/SERVICES.md, "HTTPS mirror (nginx) and S3"): nginx's
# worker runs as the user of its "user" line (nobody here): what it serves
# must be readable by nobody or nogroup, and every folder above traversable.
# nginx's ETag is hex(mtime)-hex(size): a same-size file replaced within the
# same second keeps its ETag.

# mirror_start NS DIR ROOT CERT KEY: nginx serving the folder ROOT over HTTPS
# on 443 with CERT (leaf and chain) and KEY.  DIR/access.log has one line per
# request: "METHOD URI STATUS BYTES".  Besides plain files, the paths a
# hostile mirror answers with:
#   /hostile/redirect/X  a 302 to /good/X
#   /hostile/slow/X      X at 64 bytes a second
#   /hostile/chunked/X   X without a Content-Length (chunked, through SSI)
#   /hostile/304/X.bundle  304 Not Modified to any request with If-None-Match,
#                        whatever changed; X served to the others
mirror_start () {
	local ns=$1 dir=$2 root=$3 t
	svc_dir_ "$dir" && svc_dir_ "$dir/tmp" || return 1
	{
		cat <<-EOF
		user nobody nogroup;
		pid $dir/nginx.pid;
		error_log $dir/error.log notice;
		worker_processes 1;
		events {
		}
		http {
		    log_format mirror '\$request_method \$uri \$status \$body_bytes_sent';
		    access_log $dir/access.log mirror;
		    default_type application/octet-stream;
		EOF
		for t in client_body proxy fastcgi uwsgi scgi; do
			printf '    %s_temp_path %s/tmp/%s;\n' "$t" "$dir" "$t"
		done
		cat <<-EOF
		    server {
		        listen 443 ssl;
		        ssl_certificate $4;
		        ssl_certificate_key $5;
		        root $root;
		        location /hostile/redirect/ {
		            rewrite ^/hostile/redirect/(.*)\$ /good/\$1 redirect;
		        }
		        location /hostile/slow/ {
		            limit_rate 64;
		        }
		        location ~ ^/hostile/304/.*\\.bundle\$ {
		            if (\$http_if_none_match) {
		                return 304;
		            }
		        }
		        location /hostile/chunked/ {
		            ssi on;
		            ssi_types *;
		        }
		    }
		}
		EOF
	} >"$dir/nginx.conf"
	nginx -p "$dir/" -c "$dir/nginx.conf" -e "$dir/error.log" -t >"$dir/nginx-t.log" 2>&1 ||
		{ svc_fail_ "nginx: bad config" "$dir/nginx-t.log"; return 1; }
	DAEMON_NETNS=$ns DAEMON_LOG=$dir/error.log daemon_start "mirror:$dir" "$dir/nginx.pid.lib" \
		nginx -p "$dir/" -c "$dir/nginx.conf" -e "$dir/error.log" -g "daemon off;" &&
	svc_wait_ports_ "$ns" 10 443 ||
		{ svc_fail_ "nginx did not start" "$dir/error.log"; return 1; }
}

mirror_stop () {
	daemon_stop "mirror:$1"
}

# mirror_log_count DIR URI STATUS: how many requests for URI nginx answered
# with STATUS.  nginx writes each line after the answer: wait (bounded) for
# at least one when expecting one.
mirror_log_count () {
	awk -v u="$2" -v s="$3" '$2 == u && $3 == s { n++ } END { print n + 0 }' \
		"$1/access.log" 2>/dev/null
}

# ---------------------------------------------------------------------------
# An S3-compatible bucket: s3rver (npm), which checks the access key id but
# not the signature, behind tests/s3-sigv4-proxy.py, which checks every
# signed request's AWS Signature Version 4 with botocore (Debian's
# python3-botocore) and serves HTTPS.  Access key id and secret: S3RVER
# (s3rver's built-in account), region us-east-1.

S3RVER_VERSION=3.7.1
S3RVER_DIR=$SRC/tests/.cache/s3rver-$S3RVER_VERSION

# s3rver_install: s3rver, pinned, from the npm registry into
# tests/.cache/ (once; later runs reuse it).  Fails if npm or the registry
# is not there: callers skip with the reason printed.
s3rver_install () {
	test -x "$S3RVER_DIR/node_modules/.bin/s3rver" && return 0
	command -v npm >/dev/null || { echo "npm is not installed"; return 1; }
	mkdir -p "$SRC/tests/.cache" &&
	(
		flock 9 &&
		{ test -x "$S3RVER_DIR/node_modules/.bin/s3rver" ||
		  timeout 180 npm install --no-audit --no-fund --no-save \
			--fetch-timeout=20000 --fetch-retries=1 \
			--prefix "$S3RVER_DIR" "s3rver@$S3RVER_VERSION" \
			>"$TRASH/npm-s3rver.log" 2>&1; }
	) 9>"$SRC/tests/.cache/s3rver.lock" ||
		{ echo "npm install s3rver@$S3RVER_VERSION failed:"; tail -n 5 "$TRASH/npm-s3rver.log"; return 1; }
}

# s3_start NS DIR CERT KEY BUCKET: the bucket BUCKET over HTTPS on 443 of
# node NS with CERT (leaf and chain) and KEY; data in DIR/data, one line
# per request in DIR/requests.log: "METHOD PATH STATUS sigv4=ok|bad: WHY|none".
s3_start () {
	local ns=$1 dir=$2
	svc_dir_ "$dir" && mkdir -p "$dir/data" || return 1
	DAEMON_NETNS=$ns DAEMON_LOG=$dir/s3rver.log daemon_start "s3rver:$dir" "$dir/s3rver.pid" \
		node "$S3RVER_DIR/node_modules/s3rver/bin/s3rver.js" -d "$dir/data" \
		-a 127.0.0.1 -p 4568 --configure-bucket "$5" &&
	svc_wait_ports_ "$ns" 20 4568 ||
		{ svc_fail_ "s3rver did not start" "$dir/s3rver.log"; return 1; }
	DAEMON_NETNS=$ns DAEMON_LOG=$dir/proxy.log daemon_start "s3proxy:$dir" "$dir/proxy.pid" \
		/usr/bin/python3 "$SRC/tests/s3-sigv4-proxy.py" --listen 0.0.0.0:443 \
		--cert "$3" --key "$4" --upstream 127.0.0.1:4568 --access-key S3RVER \
		--secret S3RVER --region us-east-1 --log "$dir/requests.log" &&
	svc_wait_ports_ "$ns" 10 443 ||
		{ svc_fail_ "the SigV4 proxy did not start" "$dir/proxy.log"; return 1; }
}

# s3_log_count DIR LINE: how many requests.log lines are exactly LINE.
s3_log_count () {
	grep -cxF -- "$2" "$1/requests.log" 2>/dev/null || true
}
