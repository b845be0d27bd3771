#!/bin/bash
test_description='secrets sealed to their node (certbundle(5) format 2)

Two nodes, a and b, each with its own key pair from certpull keygen and
its own certpull.yaml; certpush.yaml names each public key as its
target'"'"'s recipient.  Node a runs a HAProxy in a network namespace.  A
push seals every private key to its node: the outbox holds no private key
in clear (neither its PEM nor its DER), node a installs and serves the new
leaf, and node b'"'"'s key cannot open node a'"'"'s bundle.  A bundle in clear
for a node with a key (a downgrade) and a sealed bundle for a node without
one are refused, and nothing is installed.'
. "$(dirname "$0")/lib.sh"
. "$SRC/tests/lib-services.sh"
. "$SRC/tests/lib-http.sh"

test_have_prereq ROOT || skip_all "needs root"
test_have_prereq NETNS || skip_all "cannot create network namespaces"
test_have_prereq BUILT || skip_all "build certpush and certpull first"
for cmd in haproxy nginx openssl xxd; do
	test_have_prereq "CMD:$cmd" || skip_all "missing $cmd"
done

push () {
	netns_exec a "$CERTPUSH" -c "$TRASH/${PUSHCONF:-certpush.yaml}" "$@" 7>&- 8>&-
}

# pull NODE ARGS...: certpull with NODE's configuration (or $PULLCONF).
pull () {
	local node=$1
	shift
	netns_exec a "$CERTPULL" -c "$TRASH/${PULLCONF:-$node/certpull.yaml}" "$@" 7>&- 8>&-
}

serves () {
	wait_for_fingerprint "$(cert_fingerprint "ca/$1.crt")" 10 \
		--netns a 127.0.0.1 443 >/dev/null
}

# hex FILE: the bytes of FILE as one line of hex digits.
hex () {
	xxd -p "$1" | tr -d "\n"
}

# no_secret_in BUNDLE KEYFILE...: neither the PEM nor the DER of any key.
no_secret_in () {
	local bundle=$1 key
	shift
	test_must_fail grep -a "PRIVATE KEY" "$bundle" &&
	for key in "$@"; do
		openssl pkey -in "$key" -outform DER -out key.der &&
		sed -n 2p "$key" >key.line &&
		test_must_fail grep -a -F -f key.line "$bundle" &&
		! hex "$bundle" | grep -q "$(hex key.der)" || return 1
	done
}

snapshot () {
	rm -rf "$1" && mkdir "$1" && cp -p a/site.pem a/dkim.key "$1/"
}

test_expect_success 'setup: CA, leaves, DKIM key, signing key, node a' '
	make_ca ca &&
	for leaf in a b c; do
		make_cert ca $leaf "DNS:www.test" ec >/dev/null || return 1
	done &&
	mkdir -m 0700 src state keys a b &&
	source_leaf ca b &&
	openssl genpkey -algorithm ED25519 -out src/dkim.key 2>/dev/null &&
	chmod 0600 src/dkim.key &&
	"$CERTPUSH" keygen -o keys/signing.key >keygen.out &&
	sed -n "s/^- //p" keygen.out >pub &&
	netns_create a 2 &&
	install -m 0600 ca/a.pem a/site.pem &&
	haproxy_start a "$TRASH/a/haproxy" "$TRASH/a/site.pem" &&
	serves a
'

test_expect_success 'keygen: a key pair per node, 0600, never overwritten' '
	"$CERTPULL" keygen -o keys/a.key >a.out &&
	"$CERTPULL" keygen -o keys/b.key >b.out &&
	cat a.out &&
	test_file_mode keys/a.key 0600 &&
	test_file_mode keys/b.key 0600 &&
	grep -E "^recipient: x25519:[A-Za-z0-9+/]{43}=$" a.out &&
	grep "under this node.s target in certpush.yaml" a.out &&
	! cmp a.out b.out &&
	cp keys/a.key a.key.before &&
	test_must_fail "$CERTPULL" keygen -o keys/a.key >out 2>err &&
	cat err &&
	grep "keys/a.key" err &&
	cmp keys/a.key a.key.before &&
	! test -s out
'

# pull_conf NODE: NODE'"'"'s certpull.yaml; a serves HAProxy, b only writes files.
pull_conf () {
	{
		cat <<-EOF
		node: $1
		state_dir: $TRASH/$1/state
		secret_key: $TRASH/keys/$1.key
		trusted_keys: [$(cat pub)]
		grace: 10
		services:
		  - name: site
		    files:
		      - { path: $TRASH/$1/site.pem, item: www, format: haproxy, mode: "0600" }
		EOF
		if test "$1" = a; then
			cat <<-EOF
			      - { path: $TRASH/a/dkim.key, item: dkim, format: dkim, mode: "0600" }
			    check: [/usr/sbin/haproxy, -c, -q, -f, $TRASH/a/haproxy/haproxy.cfg]
			    haproxy_socket: $TRASH/a/haproxy/admin.sock
			    reload: [/bin/kill, -USR2, "$(cat a/haproxy/haproxy.pid)"]
			    endpoints:
			      - { address: 127.0.0.1, port: 443, sni: www.test }
			EOF
		fi
	} >"$1/certpull.yaml"
}

# push_conf: certpush.yaml; each target gets its node'"'"'s recipient line.
push_conf () {
	cat <<-EOF
	signing_key: $TRASH/keys/signing.key
	state_dir: $TRASH/state
	outbox: $TRASH/outbox
	quiet_period: 0
	certificates:
	  - name: www
	    cert: $TRASH/src/cert.pem
	    chain: $TRASH/src/chain.pem
	    key: $TRASH/src/key.pem
	dkim:
	  - name: dkim
	    key: $TRASH/src/dkim.key
	    selector: sel
	    domain: www.test
	targets:
	  - name: a
	    type: local
	    certpull: $CERTPULL
	    certpull_config: $TRASH/a/certpull.yaml
	    items: [www, dkim]
	$(grep "^recipient:" a.out | sed "s/^/    /")
	  - name: b
	    type: local
	    certpull: $CERTPULL
	    certpull_config: $TRASH/b/certpull.yaml
	    items: [www]
	$(grep "^recipient:" b.out | sed "s/^/    /")
	EOF
}

test_expect_success 'setup: certpush.yaml with recipients, certpull.yaml with secret_key' '
	pull_conf a && pull_conf b &&
	push_conf >certpush.yaml &&
	grep -c "^    recipient: x25519:" certpush.yaml >n && test "$(cat n)" = 2 &&
	push check-config &&
	pull a check-config >out &&
	cat out &&
	grep "OK (node a" out &&
	pull b check-config
'

test_expect_success 'check-config: a node key others may read is refused' '
	chmod 0640 keys/b.key &&
	test_when_finished "chmod 0600 \"$TRASH/keys/b.key\"" &&
	test_must_fail pull b check-config 2>err &&
	cat err &&
	grep "secret_key .*keys/b.key: mode 0640" err &&
	sed "s|keys/b.key|keys/signing.key|" b/certpull.yaml >b-signing-key.yaml &&
	PULLCONF=b-signing-key.yaml test_must_fail pull b check-config 2>err &&
	cat err &&
	grep "secret_key: .*keys/signing.key: not an X25519 key" err
'

test_expect_success 'a sealed push: both nodes install, a serves the new leaf' '
	push --now --dry-run >out &&
	cat out &&
	test "$(grep -c " verified " out)" = 2 &&
	push --now >out &&
	cat out &&
	grep "2 of 2 targets ok" out &&
	serves b &&
	test "$(cert_fingerprint a/site.pem)" = "$(cert_fingerprint ca/b.crt)" &&
	test "$(cert_fingerprint b/site.pem)" = "$(cert_fingerprint ca/b.crt)" &&
	openssl pkey -in a/site.pem -pubout >k1 &&
	openssl pkey -in ca/b.key -pubout >k2 &&
	test_cmp k2 k1 &&
	openssl pkey -in a/dkim.key -pubout >k1 &&
	openssl pkey -in src/dkim.key -pubout >k2 &&
	test_cmp k2 k1
'

test_expect_success 'the outbox holds no private key in clear, in format 2' '
	for t in a b; do
		test "$(xxd -s 8 -l 2 -p outbox/$t.bundle)" = 0002 || return 1
	done &&
	no_secret_in outbox/a.bundle ca/b.key src/dkim.key &&
	no_secret_in outbox/b.bundle ca/b.key &&
	pull a verify outbox/a.bundle >out &&
	cat out &&
	grep "valid: .*private keys sealed to this node" out
'

test_have_prereq CMD:strace && test_set_prereq STRACE
# libsodium, libssh2 and libssl are not linked into certpull
# (common/lib_dl.h): a sealed bundle loads libsodium when it is opened, a
# bundle in clear neither, and no verify loads libssl (a TLS probe does),
# so that an install maps fewer libraries.
test_expect_success STRACE 'certpull loads libsodium for a sealed bundle only, libssh2 and libssl for none (strace)' '
	! ldd "$CERTPULL" | grep "libsodium\|libssh2\|libssl" &&
	netns_exec a strace -f -qq -e trace=openat -o trace.sealed "$CERTPULL" \
		-c "$TRASH/a/certpull.yaml" verify outbox/a.bundle >out 7>&- 8>&- &&
	grep "valid: .*private keys sealed to this node" out &&
	grep "libsodium\.so\.23\", O_RDONLY" trace.sealed &&
	! grep "libssh2\|libssl" trace.sealed &&
	sed "/^    recipient:/d" certpush.yaml >clear0.yaml &&
	PUSHCONF=clear0.yaml push bundle --target a -o clear0.bundle >/dev/null &&
	sed "/^secret_key:/d" a/certpull.yaml >a-nokey.yaml &&
	netns_exec a strace -f -qq -e trace=openat -o trace.clear "$CERTPULL" \
		-c "$TRASH/a-nokey.yaml" verify clear0.bundle >out 7>&- 8>&- &&
	grep "valid" out &&
	! grep "libsodium\|libssh2\|libssl" trace.clear
'

# certpush loads libsodium at its first seal: a front whose targets have
# no recipient never maps it.
test_expect_success STRACE 'certpush loads libsodium to seal only (strace)' '
	! ldd "$CERTPUSH" | grep "libsodium\|libssl" &&
	strace -f -qq -e trace=openat -o trace.pclear "$CERTPUSH" -c "$TRASH/clear0.yaml" \
		bundle --target a -o clear1.bundle >/dev/null 7>&- 8>&- &&
	! grep "libsodium\|libssl" trace.pclear &&
	strace -f -qq -e trace=openat -o trace.psealed "$CERTPUSH" -c "$TRASH/certpush.yaml" \
		bundle --target a -o sealed1.bundle >/dev/null 7>&- 8>&- &&
	grep "libsodium\.so\.23\", O_RDONLY" trace.psealed
'

test_expect_success 'node b'"'"'s key cannot open node a'"'"'s bundle: nothing installed' '
	source_leaf ca c &&
	push --now --target a >/dev/null &&
	serves c &&
	snapshot before &&
	sed "s|keys/a.key|keys/b.key|" a/certpull.yaml >a-with-b-key.yaml &&
	PULLCONF=a-with-b-key.yaml test_expect_code 1 pull a verify outbox/a.bundle >out &&
	cat out &&
	grep "rejected (seal): .*sealed to another node.s key" out &&
	PULLCONF=a-with-b-key.yaml test_must_fail pull a install outbox/a.bundle >out &&
	cat out &&
	grep "failed at verify:seal: .*sealed to another node.s key (nothing changed)" out &&
	test_expect_code 1 pull b verify outbox/a.bundle >out &&
	grep "rejected (audience)" out &&
	cmp a/site.pem before/site.pem && cmp a/dkim.key before/dkim.key
'

test_expect_success 'a bundle in clear for a node with a key: refused as a downgrade' '
	sed "/^    recipient:/d" certpush.yaml >clear.yaml &&
	source_leaf ca a &&
	PUSHCONF=clear.yaml push bundle --target a -o clear-a.bundle >/dev/null &&
	test "$(xxd -s 8 -l 2 -p clear-a.bundle)" = 0001 &&
	grep -a -q "PRIVATE KEY" clear-a.bundle &&
	test_must_fail pull a install clear-a.bundle >out &&
	cat out &&
	grep "failed at verify:seal: .*downgrade" out &&
	cmp a/site.pem before/site.pem &&
	serves c
'

test_expect_success 'a sealed bundle for a node without secret_key: refused clearly' '
	sed "/^secret_key:/d" a/certpull.yaml >a-no-key.yaml &&
	push bundle --target a -o sealed-a.bundle >/dev/null &&
	PULLCONF=a-no-key.yaml test_expect_code 1 pull a verify sealed-a.bundle >out &&
	cat out &&
	grep "rejected (seal): .*this node has no secret_key" out &&
	pull a install sealed-a.bundle >out &&
	cat out &&
	serves a
'

test_expect_success 'a mirror anyone may read serves the sealed bundle; node a fetches it' '
	netns_create mirror 3 &&
	M=$(netns_addr mirror) &&
	make_cert ca mirror "IP:$M" >/dev/null &&
	mkdir -m 0755 www &&
	mirror_start mirror "$TRASH/mirror" "$TRASH/www" "$TRASH/ca/mirror.fullchain" \
		"$TRASH/ca/mirror.key" &&
	source_leaf ca b &&
	push bundle --target a -o www/a.bundle >/dev/null &&
	chmod 0644 www/a.bundle &&
	no_secret_in www/a.bundle ca/b.key src/dkim.key &&
	cat >>a/certpull.yaml <<-EOF &&
	fetch:
	  timeout: 5
	  urls:
	    - "https://$M/{node}.bundle"
	  ca_file: $TRASH/ca/ca.crt
	EOF
	pull a fetch >out &&
	cat out &&
	grep "^https://$M/a.bundle: installed serial" out &&
	serves b
'

installed_serial () {
	pull "$1" status --json | sed -n 's/^{"node":"[^"]*","serial":\([0-9]*\).*/\1/p'
}

test_expect_success 'a new recipient is a change: the daemon pushes that target only' '
	push --now >out &&
	grep "2 of 2 targets ok" out &&
	serial_a=$(installed_serial a) && serial_b=$(installed_serial b) &&
	"$CERTPULL" keygen -o keys/b2.key >b2.out &&
	sed -i "s|keys/b.key|keys/b2.key|" b/certpull.yaml &&
	sed -i "s|^    $(grep "^recipient:" b.out)\$|    $(grep "^recipient:" b2.out)|" certpush.yaml &&
	grep -c "$(grep "^recipient:" b2.out)" certpush.yaml &&
	DAEMON_NETNS=a daemon_start certpush-run "" \
		"$CERTPUSH" -c "$TRASH/certpush.yaml" run &&
	wait_until_ 60 grep -q "targets ok" certpush-run.log &&
	daemon_stop certpush-run &&
	cat certpush-run.log &&
	grep "1 of 1 targets ok" certpush-run.log &&
	grep "^certpush: b  *unchanged  *serial " certpush-run.log &&
	! grep "^certpush: a " certpush-run.log &&
	test "$(installed_serial a)" = "$serial_a" &&
	test "$(installed_serial b)" -gt "$serial_b"
'

test_done
