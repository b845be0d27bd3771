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
