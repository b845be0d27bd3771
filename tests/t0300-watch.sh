#!/bin/bash
test_description='certpush run watches real certbot renewals (pebble), plain files and DKIM keys

In node "front": the pebble ACME test server, certbot, HAProxy and the
certpush daemon, with a local target (front) and an SSH target (mail, with
its own HAProxy).  Every renewal must reach every target once, and only
when the renewal is complete and valid.'
. "$(dirname "$0")/lib.sh"
. "$SRC/tests/lib-services.sh"

# The leaves made here follow pebble's, which it dates when it issues them:
# date each when made too, since certpull refuses a leaf older than the one
# it replaces (verify:older).
CERT_START=now

test_have_prereq ROOT || skip_all "needs root"
test_have_prereq NETNS || skip_all "cannot create network namespaces"
test_have_prereq BUILT || skip_all "build certpush and certpull first"
for cmd in haproxy /usr/sbin/sshd pebble pebble-challtestsrv certbot openssl; do
	test_have_prereq "CMD:$cmd" || skip_all "missing $cmd"
done

LE=$TRASH/le

in_front () {
	netns_exec front "$@" 7>&- 8>&-
}

certbot_ () {
	in_front env REQUESTS_CA_BUNDLE="$TRASH/ca/ca.crt" certbot "$@" \
		--config-dir "$LE" --work-dir "$TRASH/le-work" --logs-dir "$TRASH/le-logs" \
		--server https://localhost:14000/dir --non-interactive \
		--standalone --http-01-address 127.0.0.1 --http-01-port 5002 \
		>>"$TRASH/certbot.out" 2>&1
}

# serves NODE FILE: NODE's HAProxy serves the leaf of FILE.
serves () {
	wait_for_fingerprint "$(cert_fingerprint "$2")" 20 --netns "$1" 127.0.0.1 443 >/dev/null
}

front_file_is () {
	test "$(cert_fingerprint front/web.pem 2>/dev/null)" = "$(cert_fingerprint "$1")"
}

# quiet_for S: let the daemon see and debounce everything so far.
quiet_for () {
	sleep "$1"
}

test_expect_success 'setup: CA, pebble and its DNS, certbot obtains a certificate' '
	make_ca ca && make_cert ca localhost "DNS:localhost" &&
	make_cert ca old "DNS:www.test" &&
	netns_create front 1 && netns_create mail 2 &&
	pebble_start front ca &&
	certbot_ certonly --agree-tos --register-unsafely-without-email -d www.test &&
	test -L "$LE/live/www.test/cert.pem" &&
	openssl x509 -in "$LE/live/www.test/cert.pem" -noout -subject
'

test_expect_success 'setup: keys, plain files, DKIM key, HAProxy on both nodes, sshd on mail' '
	mkdir -m 0700 keys state plain dkimkeys &&
	make_cert ca web1 "DNS:web.test" &&
	cp ca/web1.crt plain/cert.pem && cp ca/web1.chain plain/chain.pem &&
	install -m 0600 ca/web1.key plain/key.pem &&
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out dkimkeys/sel.private 2>/dev/null &&
	push_keys --ssh &&
	for node in front mail; do
		mkdir -p $node && install -m 0600 ca/old.pem $node/site.pem &&
		haproxy_start $node "$TRASH/$node/haproxy" "$TRASH/$node/site.pem" || return 1
	done &&
	serve_sshd mail "$TRASH/mail/sshd" "$TRASH/mail/certpull.yaml"
'

test_expect_success 'setup: configurations, first push' '
	for node in front mail; do
		{
			pull_conf_head $node "$TRASH/$node/state" &&
			pull_haproxy_service "$TRASH/$node/site.pem" "$TRASH/$node/haproxy"
		} >$node/certpull.yaml || return 1
	done &&
	write_spy spy &&
	cat >>front/certpull.yaml <<-EOF &&
	  - name: files
	    files:
	      - { path: $TRASH/front/web.pem, item: web, format: fullchain, mode: "0644" }
	      - { path: $TRASH/front/dkim.private, item: dkim, format: dkim, mode: "0600" }
	    reload: [$TRASH/spy, /bin/true]
	EOF
	cat >certpush.yaml <<-EOF &&
	signing_key: $TRASH/keys/signing.key
	state_dir: $TRASH/state
	quiet_period: 1
	inconsistent_after: 3
	certificates:
	  - name: www
	    lineage: $LE/live/www.test
	  - name: web
	    cert: $TRASH/plain/cert.pem
	    chain: $TRASH/plain/chain.pem
	    key: $TRASH/plain/key.pem
	dkim:
	  - name: dkim
	    key: $TRASH/dkimkeys/sel.private
	    selector: sel
	    domain: web.test
	targets:
	EOF
	{
		push_target_local front "www, web, dkim" "$TRASH/front/certpull.yaml" &&
		push_target_ssh mail "$(netns_addr mail)" 22 60 www &&
		push_target_local spare www2 "$TRASH/spare/certpull.yaml"
	} >>certpush.yaml &&
	mkdir spare &&
	{
		pull_conf_head spare "$TRASH/spare/state" &&
		pull_files_service "$TRASH/spare/www2.pem" www2 fullchain 0644
	} >spare/certpull.yaml &&
	sed -i "/^dkim:/i\\  - name: www2\\n    lineage: $LE/live/www2.test" certpush.yaml &&
	cp certpush.yaml certpush.yaml.good &&
	test_expect_code 1 in_front "$CERTPUSH" -c "$TRASH/certpush.yaml" --now >out &&
	cat out &&
	grep "^spare .*failed.*bundle not built.*www2" out &&
	serves front "$LE/live/www.test/cert.pem" && serves mail "$LE/live/www.test/cert.pem" &&
	front_file_is plain/cert.pem
'

# The daemon's standard output goes to certpush-run.stdout, its standard
# error to certpush-run.log: certpush(8) says push results are logged.
test_expect_success 'the daemon starts and pushes nothing while nothing changes' '
	DAEMON_NETNS=front daemon_start certpush-run "" \
		sh -c "exec \"\$@\" >\"\$0\"" "$TRASH/certpush-run.stdout" \
		"$CERTPUSH" -v -c "$TRASH/certpush.yaml" run &&
	wait_for_file certpush-run.log 5 &&
	quiet_for 3 &&
	test "$(pushes)" = 0
'

test_expect_success 'certbot renew: one push, every target serves the new certificate' '
	old=$(cert_fingerprint "$LE/live/www.test/cert.pem") &&
	certbot_ renew --force-renewal --no-random-sleep-on-renew &&
	new=$(cert_fingerprint "$LE/live/www.test/cert.pem") &&
	test "$old" != "$new" &&
	serves front "$LE/live/www.test/cert.pem" &&
	serves mail "$LE/live/www.test/cert.pem" &&
	pushes_become 1
'

test_expect_success 'push results go to standard error (the log), as certpush(8) says' '
	grep "^certpush: 2 of 2 targets ok, 0 failed$" certpush-run.log &&
	grep "^certpush: mail  *installed  *serial " certpush-run.log &&
	test_path_is_file certpush-run.stdout &&
	! test -s certpush-run.stdout
'

# switch_links VERSION NAME...: point live/www.test/NAME.pem at archive version.
switch_links () {
	local v=$1 name
	shift
	for name in "$@"; do
		ln -sfn "../../archive/www.test/$name$v.pem" "$LE/live/www.test/$name.pem" || return 1
	done
}

test_expect_success 'half-switched links are not pushed until consistent' '
	n=$(readlink "$LE/live/www.test/cert.pem" | sed "s/.*cert\([0-9]*\)\.pem/\1/") &&
	v=$((n + 1)) && a=$LE/archive/www.test &&
	make_cert ca manual "DNS:www.test" ec &&
	cp ca/manual.crt $a/cert$v.pem && cp ca/manual.chain $a/chain$v.pem &&
	cp ca/manual.fullchain $a/fullchain$v.pem &&
	install -m 0600 ca/manual.key $a/privkey$v.pem &&
	before=$(pushes) &&
	switch_links $v cert chain &&
	wait_until_ 20 grep -q "links point to archive versions" certpush-run.log &&
	test "$(pushes)" = "$before" &&
	# inconsistent_after: the error comes when due, with no further event.
	wait_until_ 10 grep -q "not pushing, still inconsistent after [3-9] s" certpush-run.log &&
	test "$(pushes)" = "$before" &&
	switch_links $v fullchain privkey &&
	serves front ca/manual.crt && serves mail ca/manual.crt &&
	pushes_become $((before + 1))
'

test_expect_success 'plain files replaced by rename' '
	before=$(pushes) &&
	make_cert ca web2 "DNS:web.test" &&
	cp ca/web2.crt plain/cert.new && install -m 0600 ca/web2.key plain/key.new &&
	mv plain/key.new plain/key.pem && mv plain/cert.new plain/cert.pem &&
	wait_until_ 20 front_file_is ca/web2.crt &&
	pushes_become $((before + 1))
'

# The daemon holds libinotifytools' descriptor; its local target's
# certpull, and that one's reload command, get none of it.
test_expect_success 'plain files rewritten in place; the reload gets descriptors 0-2 and the documented environment only' '
	rm -f spy.fds spy.env && before=$(pushes) &&
	make_cert ca web3 "DNS:web.test" &&
	cat ca/web3.crt >plain/cert.pem && cat ca/web3.key >plain/key.pem &&
	wait_until_ 20 front_file_is ca/web3.crt &&
	pushes_become $((before + 1)) &&
	spy_saw_clean spy
'

test_expect_success 'a new DKIM key dropped into the directory' '
	before=$(pushes) &&
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out dkimkeys/new.tmp 2>/dev/null &&
	chmod 0600 dkimkeys/new.tmp && mv dkimkeys/new.tmp dkimkeys/sel.private &&
	wait_until_ 20 eval "test \"\$(openssl pkey -in front/dkim.private -pubout 2>/dev/null)\" = \"\$(openssl pkey -in dkimkeys/sel.private -pubout)\"" &&
	pushes_become $((before + 1))
'

test_expect_success 'an unchanged renewal (same content) pushes nothing' '
	before=$(pushes) &&
	cat plain/cert.pem >plain/cert.same && mv plain/cert.same plain/cert.pem &&
	touch plain/key.pem &&
	quiet_for 4 &&
	test "$(pushes)" = "$before"
'

test_expect_success 'an invalid renewal (expired) is refused and logged, nothing pushed' '
	before=$(pushes) &&
	make_cert ca expired "DNS:web.test" ec -1d &&
	cp plain/cert.pem cert.keep && cp plain/key.pem key.keep &&
	cat ca/expired.crt >plain/cert.pem && cat ca/expired.key >plain/key.pem &&
	wait_until_ 20 grep -q "renewal refused, nothing pushed.*web.*expired" certpush-run.log &&
	quiet_for 2 &&
	test "$(pushes)" = "$before" &&
	front_file_is ca/web3.crt &&
	cat cert.keep >plain/cert.pem && cat key.keep >plain/key.pem
'

test_expect_success 'SIGHUP with a broken config keeps the daemon on the old one' '
	quiet_for 2 &&
	echo "targets: [" >certpush.yaml &&
	kill -HUP "$(daemon_pid certpush-run)" &&
	wait_until_ 10 grep -q "keeping the running configuration" certpush-run.log &&
	pid_alive_ "$(daemon_pid certpush-run)" &&
	before=$(pushes) &&
	make_cert ca web4 "DNS:web.test" &&
	cp ca/web4.crt plain/cert.new && install -m 0600 ca/web4.key plain/key.new &&
	mv plain/key.new plain/key.pem && mv plain/cert.new plain/cert.pem &&
	wait_until_ 20 front_file_is ca/web4.crt &&
	cp certpush.yaml.good certpush.yaml &&
	kill -HUP "$(daemon_pid certpush-run)" &&
	wait_until_ 10 grep -q "configuration reloaded" certpush-run.log
'

# front_hold FIELD: jq FIELD of front's first hold in certpush status --json.
front_hold () {
	in_front "$CERTPUSH" -c "$TRASH/certpush.yaml" status --json >status.json &&
	jq -r ".targets[] | select(.name == \"front\") | .holds[0].$1" status.json
}

# A key that never matches its certificate holds back front, which receives
# it, and only front: mail still gets the renewal of www.
test_expect_success 'a source never whole holds back its own target only, reported and retried' '
	before=$(pushes) && start=$(($(wc -l <certpush-run.log) + 1)) &&
	cp plain/key.pem key.keep &&
	make_cert ca stray "DNS:web.test" &&
	cat ca/stray.key >plain/key.pem &&
	wait_until_ 20 grep -q "front: web held (since [0-9]* s): its source is not whole, so the target is not pushed and keeps its previous bundle: certificate web: .*(renewal in progress?)" certpush-run.log &&
	certbot_ renew --force-renewal --no-random-sleep-on-renew --cert-name www.test &&
	serves mail "$LE/live/www.test/cert.pem" &&
	pushes_become $((before + 1)) &&
	tail -n "+$start" certpush-run.log >since.log &&
	grep "^certpush: mail  *installed " since.log &&
	grep "^certpush: 1 of 1 targets ok, 0 failed$" since.log &&
	! grep "^certpush: front  *installed" since.log &&
	test "$(cert_fingerprint front/site.pem)" != "$(cert_fingerprint "$LE/live/www.test/cert.pem")" &&
	front_file_is ca/web4.crt &&
	in_front "$CERTPUSH" -c "$TRASH/certpush.yaml" status >status &&
	cat status &&
	grep "^  HELD web since .*: its source is not whole, so the target is not pushed and keeps its previous bundle: certificate web: " status &&
	test "$(front_hold item)" = web &&
	# Retried on the backoff, with no event: the checks count up.
	wait_until_ 60 eval "test \"\$(front_hold checks)\" -ge 3" &&
	# CRITICAL: spare never got www2, and front is behind on www.
	test_expect_code 2 in_front "$CERTPUSH" -c "$TRASH/certpush.yaml" audit >audit.out &&
	cat audit.out &&
	grep "^WARNING .* target  *front .*web held for [0-9]* s (since [0-9TZ:-]*): its source is not whole, so the target is not pushed and keeps its previous bundle: certificate web: " audit.out &&
	cat key.keep >plain/key.pem &&
	serves front "$LE/live/www.test/cert.pem" &&
	test "$(front_hold item)" = null
'

test_expect_success 'a lineage that appears later is picked up and pushed' '
	before=$(pushes) &&
	certbot_ certonly --agree-tos --register-unsafely-without-email -d www2.test &&
	wait_until_ 20 test -f spare/www2.pem &&
	test "$(cert_fingerprint spare/www2.pem)" = "$(cert_fingerprint "$LE/live/www2.test/cert.pem")" &&
	pushes_become $((before + 1))
'

# rescans: how many times the daemon has set up its watch of the lineage's
# archive folder (certpush -v logs each watch it sets up).
rescans () {
	log_count_ "$TRASH/certpush-run.log" "watching $LE/archive/www.test\$"
}

test_expect_success 'files and folders made beside a folder on the way: no rescan, no push' '
	quiet_for 2 &&
	before=$(pushes) && r=$(rescans) &&
	mkdir "$TRASH/beside.d" && : >"$TRASH/beside" && : >"$LE/beside" &&
	mkdir "$LE/live.beside" && rm -r "$TRASH/beside.d" "$LE/live.beside" &&
	quiet_for 3 &&
	test "$(rescans)" = "$r" && test "$(pushes)" = "$before"
'

# mv /srv/a /srv/b; mkdir /srv/a: the folder above live/ and archive/
# moved away, then made again (a restore, say): the watches must follow
# the new folder, not the inodes they were on.
test_expect_success 'the folder of the lineages moved away and made again: the next renewal is pushed' '
	r=$(rescans) &&
	mv "$LE" "$LE.moved" &&
	mkdir -m 0700 "$LE" &&
	cp -a "$LE.moved/." "$LE/" &&
	wait_until_ 20 eval "test \$(rescans) -gt $r" &&
	quiet_for 3 &&
	certbot_ renew --force-renewal --no-random-sleep-on-renew --cert-name www.test &&
	serves front "$LE/live/www.test/cert.pem" &&
	serves mail "$LE/live/www.test/cert.pem"
'

test_expect_success 'SIGTERM stops the daemon cleanly' '
	pid=$(daemon_pid certpush-run) &&
	kill -TERM $pid &&
	wait_until_ 10 eval "! pid_alive_ $pid" &&
	grep "stopping" certpush-run.log
'

# The packaged deploy hook, pointed at this test's certpush and config.
make_hook () {
	printf '#!/bin/sh\nexec "%s" -c "%s" "$@"\n' "$CERTPUSH" "$TRASH/certpush.yaml" >certpush-wrapper &&
	chmod 0755 certpush-wrapper &&
	sed "s|^certpush=/usr/sbin/certpush$|certpush=$TRASH/certpush-wrapper|" \
		"$SRC/packaging/certbot/certpush-deploy-hook" >deploy-hook &&
	chmod 0755 deploy-hook && grep -q "certpush-wrapper" deploy-hook
}

test_expect_success 'the certbot deploy hook pushes the renewed lineage' '
	make_hook &&
	: >certbot.out &&
	certbot_ renew --force-renewal --no-random-sleep-on-renew --cert-name www.test \
		--deploy-hook "$TRASH/deploy-hook" &&
	grep "^ *mail  *installed" certbot.out &&
	serves front "$LE/live/www.test/cert.pem" && serves mail "$LE/live/www.test/cert.pem" &&
	! grep -q "^ *spare " certbot.out
'

test_expect_success 'a failed push is visible in certbot output' '
	sshd_stop "$TRASH/mail/sshd" &&
	: >certbot.out &&
	certbot_ renew --force-renewal --no-random-sleep-on-renew --cert-name www.test \
		--deploy-hook "$TRASH/deploy-hook" || : &&
	cat certbot.out &&
	grep "^ *mail  *failed.*connect" certbot.out &&
	grep "certpush deploy hook: FAILED to push $LE/live/www.test" certbot.out
'

test_done
