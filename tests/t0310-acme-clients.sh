#!/bin/bash
test_description='certpush run sees real renewals by acmetool, dehydrated, lego and uacme

In node "front": the pebble ACME test server and the four ACME clients
Debian ships besides certbot, each writing in its own default layout
(acmetool: live/HOST -> ../certs/ID, certs/ID/privkey -> ../../keys/ID;
dehydrated: certs/NAME/cert.pem -> cert-TIMESTAMP.pem; lego and uacme:
plain files, rewritten in place or renamed).  certpush run watches them
and pushes to a local target: exactly one push per renewal, and nothing
from a link planted to leave a layout.'
. "$(dirname "$0")/lib.sh"
. "$SRC/tests/lib-services.sh"

# The leaves made here follow pebble's, which it dates when it issues them:
# date each when made too, since certpull refuses a leaf older than the one
# it replaces (verify:older).
CERT_START=now

test_have_prereq ROOT || skip_all "needs root"
test_have_prereq NETNS || skip_all "cannot create network namespaces"
test_have_prereq BUILT || skip_all "build certpush and certpull first"
for cmd in pebble pebble-challtestsrv acmetool dehydrated lego uacme unshare openssl; do
	test_have_prereq "CMD:$cmd" || skip_all "missing $cmd"
done

in_front () {
	netns_exec front "$@" 7>&- 8>&-
}

# A challenge hook that accepts every request: pebble takes every
# challenge as valid, nothing needs publishing.
hook_ok () {
	printf '#!/bin/sh\nexit 0\n' >hook-ok && chmod 0755 hook-ok
}

# acmetool's state directory, as "acmetool quickstart" leaves it, for
# the host acme.test; its DNS hook answers the challenges.
acmetool_ () {
	in_front env SSL_CERT_FILE="$TRASH/ca/ca.crt" acmetool --state "$TRASH/acme" \
		--hooks "$TRASH/acme-hooks" --batch "$@" >>acmetool.out 2>&1
}

acmetool_setup () {
	mkdir -p acme/conf acme/desired acme-hooks webroot &&
	cat >acme/conf/target <<-EOF &&
	request:
	  provider: https://localhost:14000/dir
	  challenge:
	    http-ports: []
	    webroot-paths: [$TRASH/webroot]
	EOF
	cat >acme/conf/responses <<-EOF &&
	"acme-enter-email": ""
	"acme-agreement:data:text/plain,Do%20what%20thou%20wilt": true
	EOF
	: >acme/desired/acme.test &&
	cp hook-ok acme-hooks/dns
}

# acmetool renews when its certificate no longer satisfies the target,
# as at expiry: ask for one more name each time.  The old certs/ID stays
# (still valid, acmetool keeps it): only the rename of live/HOST tells.
acmetool_renew () {
	local n
	n=$(ls acme/certs | wc -l) &&
	printf 'satisfy:\n  names: [acme.test, r%s.acme.test]\n' "$n" >acme/desired/acme.test &&
	acmetool_ reconcile
}

dehydrated_ () {
	in_front env CURL_CA_BUNDLE="$TRASH/ca/ca.crt" dehydrated -f "$TRASH/dh/config" "$@" \
		>>dehydrated.out 2>&1
}

dehydrated_setup () {
	mkdir -p dh &&
	cat >dh/config <<-EOF &&
	BASEDIR=$TRASH/dh
	CA=https://localhost:14000/dir
	CHALLENGETYPE=dns-01
	HOOK=$TRASH/hook-ok
	EOF
	echo dh.test >dh/domains.txt &&
	dehydrated_ --register --accept-terms
}

lego_ () {
	in_front env LEGO_CA_CERTIFICATES="$TRASH/ca/ca.crt" lego \
		--server https://localhost:14000/dir --email admin@lego.test \
		--domains lego.test --http --http.port 127.0.0.1:5002 \
		--path "$TRASH/lego" --accept-tos "$@" >>lego.out 2>&1
}

# uacme has no option for the ACME server's CA: give it a CA bundle with
# pebble's in a mount namespace of its own.
uacme_ () {
	in_front unshare -m --propagation private sh -c \
		'mount --bind "$0" /etc/ssl/certs/ca-certificates.crt && exec "$@"' \
		"$TRASH/cabundle.crt" uacme -a https://localhost:14000/dir -c "$TRASH/uacme" \
		-h "$TRASH/hook-ok" -y "$@" >>uacme.out 2>&1
}

# pushed ITEM CERT: the target holds CERT's leaf as ITEM.
pushed () {
	test "$(cert_fingerprint "front/$1.pem" 2>/dev/null)" = "$(cert_fingerprint "$2")"
}

# renewed "CLIENT ARGS" ITEM CERT: CLIENT renews, the daemon pushes once,
# the target holds the new leaf, and no half renewal was ever an error.
renewed () {
	local client=$1 item=$2 cert=$3 before old
	before=$(pushes) && old=$(cert_fingerprint "$cert") &&
	$client &&
	test "$(cert_fingerprint "$cert")" != "$old" &&
	wait_until_ 20 pushed "$item" "$cert" &&
	pushes_become $((before + 1)) &&
	! grep "not pushing, still inconsistent" certpush-run.log
}

ACME=acme/live/acme.test
DH=dh/certs/dh.test
LEGO=lego/certificates
UACME=uacme

test_expect_success 'setup: CA, pebble, and a certificate from each client' '
	make_ca ca && make_cert ca localhost "DNS:localhost" &&
	cat ca/ca.crt /etc/ssl/certs/ca-certificates.crt >cabundle.crt &&
	netns_create front 1 &&
	pebble_start front ca &&
	hook_ok &&
	acmetool_setup && acmetool_ reconcile &&
	test -L acme/live/acme.test && test -L acme/live/acme.test/privkey &&
	dehydrated_setup && dehydrated_ -c &&
	test -L $DH/cert.pem && test -L $DH/privkey.pem &&
	lego_ run &&
	test -f $LEGO/lego.test.crt && test -f $LEGO/lego.test.key &&
	uacme_ new && uacme_ issue uacme.test &&
	test -f $UACME/uacme.test/cert.pem && test -f $UACME/private/uacme.test/key.pem
'

test_expect_success 'setup: one local target for the four, first push' '
	mkdir -m 0700 keys state front &&
	push_keys &&
	{
		pull_conf_head front "$TRASH/front/state" &&
		for item in acmetool dehydrated lego uacme; do
			pull_files_service "$TRASH/front/$item.pem" $item fullchain 0644 $item ||
				return 1
		done
	} >front/certpull.yaml &&
	{
		cat <<-EOF &&
		signing_key: $TRASH/keys/signing.key
		state_dir: $TRASH/state
		quiet_period: 1
		inconsistent_after: 30
		certificates:
		  - name: acmetool
		    cert: $TRASH/$ACME/cert
		    chain: $TRASH/$ACME/chain
		    key: $TRASH/$ACME/privkey
		  - name: dehydrated
		    cert: $TRASH/$DH/cert.pem
		    chain: $TRASH/$DH/chain.pem
		    key: $TRASH/$DH/privkey.pem
		  - name: lego
		    cert: $TRASH/$LEGO/lego.test.crt
		    key: $TRASH/$LEGO/lego.test.key
		  - name: uacme
		    cert: $TRASH/$UACME/uacme.test/cert.pem
		    key: $TRASH/$UACME/private/uacme.test/key.pem
		targets:
		EOF
		push_target_local front "acmetool, dehydrated, lego, uacme" "$TRASH/front/certpull.yaml"
	} >certpush.yaml &&
	"$CERTPUSH" -c certpush.yaml check-config &&
	"$CERTPUSH" -c certpush.yaml --now &&
	pushed acmetool $ACME/cert && pushed dehydrated $DH/cert.pem &&
	pushed lego $LEGO/lego.test.crt && pushed uacme $UACME/uacme.test/cert.pem
'

test_expect_success 'the daemon starts and pushes nothing while nothing changes' '
	DAEMON_NETNS=front daemon_start certpush-run "" \
		"$CERTPUSH" -v -c "$TRASH/certpush.yaml" run &&
	wait_until_ 10 grep -q "watching .* directories" certpush-run.log &&
	sleep 3 &&
	test "$(pushes)" = 0
'

test_expect_success 'acmetool renews (live/HOST renamed to a new certs/ID): one push' '
	old=$(readlink $ACME) &&
	renewed acmetool_renew acmetool $ACME/cert &&
	test "$(readlink $ACME)" != "$old" &&
	test -d "acme/live/$old"
'

test_expect_success 'dehydrated renews (links renamed one by one, key first): one push' '
	old=$(readlink $DH/cert.pem) &&
	renewed "dehydrated_ -c -x" dehydrated $DH/cert.pem &&
	test "$(readlink $DH/cert.pem)" != "$old"
'

test_expect_success 'lego renews (files rewritten in place): one push' '
	renewed "lego_ renew --days 100000 --no-random-sleep" lego $LEGO/lego.test.crt
'

test_expect_success 'uacme renews (cert.pem replaced by rename): one push' '
	renewed "uacme_ -f issue uacme.test" uacme $UACME/uacme.test/cert.pem
'

# relink LINK TARGET: point LINK at TARGET by a rename, as dehydrated does.
relink () {
	ln -s "$2" "$1.new" && mv -T "$1.new" "$1"
}

test_expect_success 'a key switched before its certificate is waited for, not refused' '
	before=$(pushes) &&
	make_cert ca manual "DNS:dh.test" ec &&
	d=$DH && t=1999999999 &&
	cp ca/manual.crt $d/cert-$t.pem && cp ca/manual.chain $d/chain-$t.pem &&
	cp ca/manual.fullchain $d/fullchain-$t.pem &&
	install -m 0600 ca/manual.key $d/privkey-$t.pem &&
	relink $d/privkey.pem privkey-$t.pem &&
	wait_until_ 20 grep -q "waiting for the next change: certificate dehydrated: .*renewal in progress" \
		certpush-run.log &&
	sleep 2 &&
	test "$(pushes)" = "$before" &&
	! grep "renewal refused.*certificate dehydrated" certpush-run.log &&
	! grep "not pushing, still inconsistent" certpush-run.log &&
	relink $d/chain.pem chain-$t.pem && relink $d/fullchain.pem fullchain-$t.pem &&
	relink $d/cert.pem cert-$t.pem &&
	wait_until_ 20 pushed dehydrated ca/manual.crt &&
	pushes_become $((before + 1))
'

# plant LINK TARGET: replace LINK (a link or a file) by a link to TARGET,
# keeping the original as LINK.keep; unplant LINK puts it back.
plant () {
	mv "$1" "$1.keep" && ln -s "$2" "$1"
}

unplant () {
	rm -f "$1" && mv "$1.keep" "$1"
}

# refused LINK TARGET: a link planted there is refused by name in the
# log, nothing is pushed, and putting the original back pushes nothing.
refused () {
	local before=$(pushes) n
	n=$(log_count_ certpush-run.log "refusing to follow it") &&
	plant "$1" "$2" &&
	wait_until_ 20 eval "test \$(log_count_ certpush-run.log \"$1: is a symbolic link to .*refusing to follow it\") -gt 0" &&
	test "$(pushes)" = "$before" &&
	unplant "$1" &&
	sleep 3 &&
	test "$(pushes)" = "$before"
}

test_expect_success 'an escaping link in each layout is refused, nothing pushed' '
	id=$(basename "$(readlink $ACME)") &&
	refused "$TRASH/acme/certs/$id/privkey" "../../keys/../../keys/signing.key" &&
	refused "$TRASH/acme/live/acme.test" "../../keys" &&
	refused "$TRASH/$DH/privkey.pem" "../../../keys/signing.key" &&
	refused "$TRASH/$LEGO/lego.test.key" "../../keys/signing.key" &&
	refused "$TRASH/$UACME/private/uacme.test/key.pem" "../../../keys/signing.key" &&
	grep "renewal refused, nothing pushed" certpush-run.log
'

test_expect_success 'the daemon still sees renewals after all this' '
	renewed acmetool_renew acmetool $ACME/cert
'

# The chatmail examples with their paths moved under $TRASH: relay1 reads
# acmetool's live/acme.test and an OpenDKIM key in a dkimkeys folder that
# belongs to opendkim, as on Debian; relay2's certpull accepts the bundle.
# $TRASH may itself lie in /var/lib/certpush-tests: state_dir first.
chat_conf () {
	sed -e "s|^state_dir: /var/lib/certpush\$|state_dir: $TRASH/state-chat|" \
		-e "s|/var/lib/acme|$TRASH/acme|g" -e "s|chat\.example\.org|acme.test|g" \
		-e "s|/etc/dkimkeys|$TRASH/dkimkeys|g" -e "s|/etc/certpush|$TRASH/keys|g" \
		"$SRC/conf/certpush-acmetool.yaml" >chat.yaml &&
	! grep -v "^ *#" chat.yaml | grep -q "/etc/\|/var/lib/certpush\$"
}

test_expect_success 'conf/certpush-acmetool.yaml (chatmail relay): acmetool and an opendkim key' '
	mkdir -m 0700 dkimkeys &&
	opendkim-genkey --bits=2048 --selector=opendkim --domain=acme.test --directory=dkimkeys &&
	chown -R opendkim:opendkim dkimkeys && chmod 0600 dkimkeys/opendkim.private &&
	ssh-keygen -q -t ed25519 -N "" -f keys/id_ed25519 && : >keys/known_hosts &&
	chat_conf &&
	"$CERTPUSH" -c chat.yaml check-config &&
	"$CERTPUSH" -c chat.yaml bundle --target relay2 -o relay2.bundle &&
	mkdir -p relay2/files relay2/dkimkeys &&
	chown opendkim:opendkim relay2/dkimkeys && chmod 0700 relay2/dkimkeys &&
	sed -e "s|^state_dir: /var/lib/certpull\$|state_dir: $TRASH/relay2/state|" \
		-e "s|/etc/certpull/chatmail|$TRASH/relay2/files|g" \
		-e "s|/etc/dkimkeys|$TRASH/relay2/dkimkeys|g" \
		-e "s|ed25519:S9Rz[^ ]*|$pub|" \
		"$SRC/conf/certpull-chatmail.yaml" >relay2/certpull.yaml &&
	"$CERTPULL" -c relay2/certpull.yaml check-config &&
	"$CERTPULL" -c relay2/certpull.yaml receive --verify-only <relay2.bundle >verify.out &&
	grep "\"node\":\"relay2\",.*\"result\":\"verified\"" verify.out
'

test_expect_success 'without owner: opendkim, the example refuses the DKIM key' '
	grep -v "^    owner: opendkim" chat.yaml >chat-no-owner.yaml &&
	test_must_fail "$CERTPUSH" -c chat-no-owner.yaml check-config 2>err &&
	grep "dkimkeys: directory is owned by uid [0-9]* (opendkim)" err
'

test_expect_success 'SIGTERM stops the daemon' '
	pid=$(daemon_pid certpush-run) &&
	kill -TERM $pid &&
	wait_until_ 10 eval "! pid_alive_ $pid" &&
	grep "stopping" certpush-run.log
'

test_done
