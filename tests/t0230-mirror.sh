#!/bin/bash
test_description='certpull fetch from HTTPS mirrors (nginx)

Node "node1" pulls its bundle with certpull fetch from nginx on node
"mirror", which a test CA certifies (the fetch: section pins it with
ca_file).  The first fetch installs; the next one is a conditional GET
answered 304 (exit 2, nothing touched).  Hostile mirrors listed first
(garbage, another node'"'"'s bundle, an older bundle, a body over the
1 MiB cap with and without Content-Length, a redirect, a trickle) are
each refused with their reason, and the next mirror is used; so is a
mirror answering 304 for a bundle older than one installed since.  A
pinned CA the mirror does not chain to is refused, and so is the test
CA when no ca_file is given (the system store does not know it).'
. "$(dirname "$0")/lib.sh"
. "$SRC/tests/lib-services.sh"
. "$SRC/tests/lib-http.sh"

test_have_prereq ROOT || skip_all "needs root"
test_have_prereq NETNS || skip_all "cannot create network namespaces"
test_have_prereq BUILT || skip_all "build certpush and certpull first"
for cmd in nginx openssl; do
	test_have_prereq "CMD:$cmd" || skip_all "missing $cmd"
done
id nobody >/dev/null 2>&1 && getent group nogroup >/dev/null ||
	skip_all "needs the account nobody and the group nogroup"

# bundle NAME [TARGET]: a new bundle (a new serial) of TARGET (node1) with
# leaf NAME of ca, as www/NAME.bundle.
bundle () {
	source_leaf ca "$1" &&
	"$CERTPUSH" -c "$TRASH/certpush.yaml" bundle --target "${2:-node1}" \
		-o "$TRASH/bundles/$1.bundle" >/dev/null
}

# publish NAME DIR: bundle NAME as DIR/node1.bundle on the mirror.
publish () {
	mkdir -p "www/$2" && install -m 0644 "bundles/$1.bundle" "www/$2/node1.bundle.tmp" &&
	mv "www/$2/node1.bundle.tmp" "www/$2/node1.bundle"
}

# fetch_conf "URL..." [LINE...]: node1's certpull.yaml fetching from the
# space-separated URLs in order; each LINE is added to the fetch: section.
fetch_conf () {
	local url line lines=(fetch: "  timeout: 3" "  urls:")
	for url in $1; do
		lines+=("    - \"$url\"")
	done
	shift
	for line in "$@"; do
		lines+=("  $line")
	done
	{
		pull_conf_head node1 "$TRASH/node1/state" "${lines[@]}" &&
		pull_files_service "$TRASH/node1/site.pem" www haproxy 0600
	} >node1/certpull.yaml
}

# push_conf [LINE...]: certpush.yaml: the outbox, each LINE (such as an s3:
# section), and the targets: node1 (whose bundle the front installs in
# front/, for the push to succeed; nogroup reads it, for nginx) and other.
push_conf () {
	push_conf_head "outbox: $TRASH/outbox" "$@" &&
	push_target_local node1 www "$TRASH/front/certpull.yaml" "fetch_group: nogroup" &&
	push_target_local other www "$TRASH/front/other.yaml"
}

installed_serial () {
	pull node1 status --json | sed -n 's/^{"node":"[^"]*","serial":\([0-9]*\).*/\1/p'
}

# serial_of FILE: a bundle's serial, the u64 after the 24-byte header,
# type and version (certbundle(5)), read whether the node would take it or not.
serial_of () {
	printf "%d\n" "0x$(od -An -tx1 -j28 -N8 "$1" | tr -d " \n")"
}

test_expect_success 'setup: CA, keys, leaves, the mirror, node1' '
	make_ca ca && make_ca ca2 &&
	mkdir -m 0700 keys src state && mkdir bundles node1 www &&
	for leaf in a b c d e f; do
		make_cert ca $leaf "DNS:www.test" >/dev/null || return 1
	done &&
	push_keys &&
	push_conf >certpush.yaml &&
	netns_create mirror 1 && netns_create node1 2 && netns_create front 3 &&
	M=$(netns_addr mirror) &&
	make_cert ca mirror "IP:$M" >/dev/null &&
	mirror_start mirror "$TRASH/mirror" "$TRASH/www" "$TRASH/ca/mirror.fullchain" \
		"$TRASH/ca/mirror.key" &&
	good="https://$M/good/{node}.bundle" &&
	fetch_conf "$good" "ca_file: $TRASH/ca/ca.crt" &&
	pull node1 check-config &&
	mkdir front &&
	{
		pull_conf_head node1 "$TRASH/front/state" &&
		pull_files_service "$TRASH/front/site.pem" www haproxy 0600
	} >front/certpull.yaml &&
	{
		pull_conf_head other "$TRASH/front/other-state" &&
		pull_files_service "$TRASH/front/other.pem" www haproxy 0600
	} >front/other.yaml
'

test_expect_success 'certpull fetch installs the bundle a mirror serves' '
	bundle a && publish a good &&
	pull node1 fetch >out &&
	cat out &&
	grep "^https://$M/good/node1.bundle: installed serial $(serial_of bundles/a.bundle)" out &&
	test "$(cert_fingerprint node1/site.pem)" = "$(cert_fingerprint ca/a.crt)" &&
	test "$(mirror_log_count mirror /good/node1.bundle 200)" = 1
'

test_expect_success 'the next fetch is a 304: exit 2, nothing read or touched' '
	before=$(stat -c %Y.%i node1/site.pem) &&
	cp node1/state/installed installed.before &&
	test_expect_code 2 pull node1 fetch >out &&
	cat out &&
	grep "^fetch: https://$M/good/node1.bundle: not modified" out &&
	wait_until_ 5 eval "test \"\$(mirror_log_count mirror /good/node1.bundle 304)\" = 1" &&
	test "$(stat -c %Y.%i node1/site.pem)" = "$before" &&
	test_cmp installed.before node1/state/installed
'

test_have_prereq CMD:strace && test_set_prereq STRACE
# libcurl is not linked (common/curl_dl.c): only what transfers loads it.
test_expect_success STRACE 'libcurl is loaded by fetch alone: not by status, nor by a push without s3: (strace)' '
	! ldd "$CERTPULL" "$CERTPUSH" | grep libcurl &&
	{ netns_exec node1 strace -f -qq -e trace=openat -o trace.fetch "$CERTPULL" \
		-c "$TRASH/node1/certpull.yaml" fetch >out 7>&- 8>&-; test $? = 2; } &&
	grep "not modified" out &&
	grep "libcurl\.so\.4\", O_RDONLY" trace.fetch &&
	netns_exec node1 strace -f -qq -e trace=openat -o trace.status "$CERTPULL" \
		-c "$TRASH/node1/certpull.yaml" status >out 7>&- 8>&- &&
	! grep libcurl trace.status &&
	netns_exec front strace -f -qq -e trace=openat -o trace.push "$CERTPUSH" \
		-c "$TRASH/certpush.yaml" --now >out 7>&- 8>&- &&
	grep -v "^#" out | grep " installed\| unchanged" &&
	! grep libcurl trace.push
'

test_expect_success 'a new bundle on the mirror is fetched and installed' '
	bundle b && publish b good &&
	touch -d "+2 seconds" www/good/node1.bundle &&
	pull node1 fetch >out &&
	grep "installed serial $(serial_of bundles/b.bundle)" out &&
	test "$(cert_fingerprint node1/site.pem)" = "$(cert_fingerprint ca/b.crt)"
'

test_expect_success 'hostile mirrors first: each refused with its reason, the good one used' '
	head -c 4000 /dev/urandom >garbage &&
	publish a old && bundle c other && install -m 0644 bundles/c.bundle other.bundle &&
	mkdir -p www/garbage www/other www/hostile/slow www/hostile/chunked www/huge &&
	cp garbage www/garbage/node1.bundle &&
	cp other.bundle www/other/node1.bundle &&
	head -c 2000000 /dev/urandom >www/huge/node1.bundle &&
	cp www/huge/node1.bundle www/hostile/chunked/node1.bundle &&
	head -c 50000 /dev/urandom >www/hostile/slow/node1.bundle &&
	bundle d && publish d good &&
	touch -d "+4 seconds" www/good/node1.bundle &&
	chmod -R a+rX www &&
	fetch_conf "https://$M/garbage/{node}.bundle https://$M/other/{node}.bundle
	    https://$M/old/{node}.bundle https://$M/huge/{node}.bundle
	    https://$M/hostile/chunked/{node}.bundle https://$M/hostile/redirect/{node}.bundle
	    https://$M/hostile/slow/{node}.bundle $good" "ca_file: $TRASH/ca/ca.crt" &&
	pull node1 fetch >out 2>err &&
	cat out err &&
	grep "garbage/node1.bundle: bundle refused at verify:magic" err &&
	grep "other/node1.bundle: bundle refused at verify:audience" err &&
	grep "old/node1.bundle: bundle refused at verify:serial" err &&
	grep "/huge/node1.bundle: the answer announces more than 1048576 bytes: refused unread" err &&
	grep "chunked/node1.bundle: the answer runs past 1048576 bytes: refused" err &&
	grep "redirect/node1.bundle: HTTP 302: a redirect to https://$M/good/node1.bundle, and redirects are not followed" err &&
	grep "slow/node1.bundle: too slow" err &&
	grep "^https://$M/good/node1.bundle: installed serial $(serial_of bundles/d.bundle)" out &&
	test "$(cert_fingerprint node1/site.pem)" = "$(cert_fingerprint ca/d.crt)"
'

test_expect_success 'every mirror hostile: exit 1, nothing changed, not even the last outcome' '
	cp node1/state/installed installed.before &&
	cp node1/state/last-outcome.json outcome.before &&
	fetch_conf "https://$M/garbage/{node}.bundle https://$M/old/{node}.bundle" \
		"ca_file: $TRASH/ca/ca.crt" &&
	test_expect_code 1 pull node1 fetch >out 2>err &&
	cat err &&
	grep "no mirror gave a bundle that verifies" err &&
	test_cmp installed.before node1/state/installed &&
	test_cmp outcome.before node1/state/last-outcome.json &&
	test "$(cert_fingerprint node1/site.pem)" = "$(cert_fingerprint ca/d.crt)"
'

test_expect_success 'a mirror answering 304 with a bundle older than the installed one is behind: the next is used' '
	bundle e && pull node1 install bundles/e.bundle &&
	bundle f && publish f good2 &&
	fetch_conf "$good https://$M/good2/{node}.bundle" "ca_file: $TRASH/ca/ca.crt" &&
	n=$(mirror_log_count mirror /good/node1.bundle 304) &&
	pull node1 fetch >out 2>err &&
	cat out err &&
	wait_until_ 5 eval "test \"\$(mirror_log_count mirror /good/node1.bundle 304)\" = $((n + 1))" &&
	grep "good/node1.bundle: not modified since serial $(serial_of bundles/d.bundle), older than the installed serial $(serial_of bundles/e.bundle)" err &&
	grep "^https://$M/good2/node1.bundle: installed serial $(serial_of bundles/f.bundle)" out
'

test_expect_success 'a mirror serving a newer serial with an older leaf: refused at verify:older, the next is used' '
	CERT_START=$((CERT_EPOCH_ - 600)) make_cert ca stale "DNS:www.test" >/dev/null &&
	bundle stale && publish stale stale &&
	bundle b && publish b good3 &&
	fetch_conf "https://$M/stale/{node}.bundle https://$M/good3/{node}.bundle" \
		"ca_file: $TRASH/ca/ca.crt" &&
	pull node1 fetch >out 2>err &&
	cat out err &&
	grep "stale/node1.bundle: bundle refused at verify:older: www: certificate issued .* is older than the installed one issued .* (rollback refused" err &&
	grep "^https://$M/good3/node1.bundle: installed serial $(serial_of bundles/b.bundle)" out &&
	test "$(cert_fingerprint node1/site.pem)" = "$(cert_fingerprint ca/b.crt)"
'

test_expect_success 'a pinned CA the mirror does not chain to is refused' '
	fetch_conf "$good" "ca_file: $TRASH/ca2/ca.crt" &&
	test_expect_code 1 pull node1 fetch 2>err &&
	cat err &&
	grep "good/node1.bundle: the server.s certificate is not trusted by $TRASH/ca2/ca.crt" err
'

test_expect_success 'without ca_file, the system store decides: the test CA is refused' '
	fetch_conf "$good" &&
	test_expect_code 1 pull node1 fetch 2>err &&
	grep "good/node1.bundle: the server.s certificate is not trusted by the system CA store" err
'

test_expect_success 'http:// and other schemes are refused by check-config' '
	fetch_conf "http://$M/good/{node}.bundle" &&
	test_must_fail pull node1 check-config 2>err &&
	grep "fetch.urls: \"http://$M/good/{node}.bundle\" is not an https:// URL" err
'

test_expect_success 'certpush publishes to the outbox with a newer mtime: nginx serves it, a node fetches it' '
	source_leaf ca a &&
	ln -s "$TRASH/outbox" www/outbox &&
	fetch_conf "https://$M/outbox/{node}.bundle" "ca_file: $TRASH/ca/ca.crt" &&
	push --now --target node1 >out &&
	cat out &&
	test "$(stat -c %a:%G outbox/node1.bundle)" = 640:nogroup &&
	pull node1 fetch >out &&
	cat out &&
	grep "^https://$M/outbox/node1.bundle: installed serial" out &&
	test_expect_code 2 pull node1 fetch
'

# Same leaf, same size: only the serial differs.  nginx would keep the ETag
# of a bundle replaced within the same second; an mtime in the future shows
# the new one is always later.  The node downloads it (no 304): same files.
test_expect_success 'a bundle replacing one of the same second or later gets a strictly newer mtime (nginx ETag)' '
	touch -d "@$(($(date +%s) + 3600))" outbox/node1.bundle &&
	old=$(stat -c %Y outbox/node1.bundle) &&
	size=$(stat -c %s outbox/node1.bundle) &&
	push --now --target node1 >out &&
	cat out &&
	stat -c "%s %Y (was $size $old)" outbox/node1.bundle &&
	test "$(stat -c %s outbox/node1.bundle)" = "$size" &&
	test "$(stat -c %Y outbox/node1.bundle)" -gt "$old" &&
	test_expect_code 2 pull node1 fetch >out &&
	cat out &&
	grep "^https://$M/outbox/node1.bundle: unchanged, serial $(serial_of outbox/node1.bundle)" out
'

test_expect_success 'setup: an S3-compatible bucket (s3rver behind a SigV4-checking proxy)' '
	if s3rver_install >s3rver-install.out 2>&1 && test -x /usr/bin/python3 &&
	   /usr/bin/python3 -c "import botocore" 2>/dev/null; then
		test_set_prereq S3
	else
		say "no S3 server: $(tr "\n" " " <s3rver-install.out)(the S3 part also needs /usr/bin/python3 with botocore)"
	fi
'

test_expect_success S3 'setup: the bucket runs, certpush.yaml has an s3: section' '
	netns_create s3 4 && S=$(netns_addr s3) &&
	make_cert ca s3 "IP:$S" >/dev/null &&
	s3_start s3 "$TRASH/s3" "$TRASH/ca/s3.fullchain" "$TRASH/ca/s3.key" certpush &&
	(umask 077 && printf "[default]\naws_access_key_id = S3RVER\naws_secret_access_key = S3RVER\n" \
		>keys/s3.credentials) &&
	push_conf "s3:" "  endpoint: https://$S/" "  bucket: certpush" "  region: us-east-1" \
		"  prefix: bundles/" "  credentials_file: $TRASH/keys/s3.credentials" \
		"  ca_file: $TRASH/ca/ca.crt" >certpush.yaml &&
	push check-config
'

test_expect_success S3 'certpush PUTs each bundle to the bucket with a valid SigV4; a node fetches it from there' '
	source_leaf ca b &&
	push --now --target node1 >out &&
	cat out &&
	grep "^node1 .* installed .*  s3: published$" out &&
	test "$(s3_log_count s3 "PUT /certpush/bundles/node1.bundle 200 sigv4=ok")" = 1 &&
	fetch_conf "https://$S/certpush/bundles/{node}.bundle" "ca_file: $TRASH/ca/ca.crt" &&
	pull node1 fetch >out &&
	cat out &&
	grep "^https://$S/certpush/bundles/node1.bundle: installed serial $(serial_of outbox/node1.bundle)" out &&
	test "$(cert_fingerprint node1/site.pem)" = "$(cert_fingerprint ca/b.crt)" &&
	test_expect_code 2 pull node1 fetch >out &&
	grep "not modified" out &&
	test "$(s3_log_count s3 "GET /certpush/bundles/node1.bundle 304 sigv4=none")" = 1
'

test_expect_success S3 'a wrong secret: the bucket refuses the signature, the delivery stands, exit 1' '
	test_when_finished "cp keys/s3.credentials.good keys/s3.credentials" &&
	cp -p keys/s3.credentials keys/s3.credentials.good &&
	sed -i "s/^aws_secret_access_key = .*/aws_secret_access_key = WRONG/" keys/s3.credentials &&
	test_expect_code 1 push --now --target node1 --json >out &&
	cat out &&
	grep "\"result\":\"\(installed\|unchanged\)\"" out &&
	grep "\"s3\":\"failed\"" out &&
	grep "\"ok\":0,.*\"failed\":1" out &&
	grep "\"s3_error\":\"s3 PUT https://$S/certpush/bundles/node1.bundle: HTTP 403: .*SignatureDoesNotMatch" out &&
	test "$(s3_log_count s3 "PUT /certpush/bundles/node1.bundle 403 sigv4=bad: signature mismatch")" = 1
'

test_expect_success S3 'a credentials file others can read is refused before any request' '
	test_when_finished "chmod 0600 keys/s3.credentials" &&
	chmod 0644 keys/s3.credentials &&
	n=$(wc -l <s3/requests.log) &&
	test_expect_code 1 push --now --target node1 >out &&
	cat out &&
	grep "^node1 .* \(installed\|unchanged\) .*  s3 error: .*keys/s3.credentials: holds a secret but has mode 0644" out &&
	grep -x "0 of 1 targets ok, 1 failed" out &&
	test "$(wc -l <s3/requests.log)" = "$n"
'

test_expect_success S3 'freshness: the timestamp goes to the bucket with its bundle and at each re-signing' '
	push_conf "freshness: 60" "s3:" "  endpoint: https://$S/" "  bucket: certpush" \
		"  region: us-east-1" "  prefix: bundles/" \
		"  credentials_file: $TRASH/keys/s3.credentials" "  ca_file: $TRASH/ca/ca.crt" \
		>certpush.yaml &&
	source_leaf ca d &&
	push --now --target node1 >out &&
	cat out &&
	grep "^node1 .* installed .*  s3: published$" out &&
	test "$(s3_log_count s3 "PUT /certpush/bundles/node1.timestamp 200 sigv4=ok")" = 1 &&
	fetch_conf "https://$S/certpush/bundles/{node}.bundle" "ca_file: $TRASH/ca/ca.crt" \
		"require_timestamp: true" &&
	# s3rver answers 304 on If-Modified-Since alone: when this bundle was
	# PUT in the second of the one node1 got, its conditional GET gets a
	# 304, the timestamp names a newer serial, and certpull asks again
	# without conditions.
	pull node1 fetch >out 2>err &&
	cat err out &&
	! grep "fetch: mirror" err &&
	grep "installed serial $(serial_of outbox/node1.bundle)" out &&
	pull node1 status >out &&
	grep "^freshness: fresh (https://$S/certpush/bundles/node1.bundle at " out &&
	sed "s/^freshness: 60$/freshness: 1/" certpush.yaml >certpush-1s.yaml &&
	DAEMON_NETNS=front daemon_start certpush-run "" "$CERTPUSH" -c "$TRASH/certpush-1s.yaml" run &&
	wait_until_ 30 eval "test \$(s3_log_count s3 \"PUT /certpush/bundles/node1.timestamp 200 sigv4=ok\") -ge 3" &&
	daemon_stop certpush-run
'

test_done
