#!/bin/bash
test_description='the real daemons behind tests/lib-services.sh'
. "$(dirname "$0")/lib.sh"
. "$SRC/tests/lib-services.sh"

test_have_prereq ROOT || skip_all "needs root"
test_have_prereq NETNS || skip_all "cannot create network namespaces"
for cmd in haproxy postfix dovecot doveadm opendkim opendkim-genkey /usr/sbin/sshd \
	ssh ssh-keygen socat openssl setpriv; do
	test_have_prereq "CMD:$cmd" || skip_all "missing $cmd"
done

test_expect_success 'setup: CA, three leaves, two nodes' '
	make_ca ca &&
	make_cert ca one "DNS:www.test,DNS:mail.test" &&
	make_cert ca two "DNS:www.test,DNS:mail.test" ec &&
	make_cert ca three "DNS:www.test,DNS:mail.test" &&
	fp_one=$(cert_fingerprint ca/one.crt) &&
	fp_two=$(cert_fingerprint ca/two.crt) &&
	fp_three=$(cert_fingerprint ca/three.crt) &&
	test "$fp_one" != "$fp_two" &&
	mkdir live &&
	install -m 0600 ca/one.pem live/haproxy.pem &&
	install -m 0600 ca/one.pem live/postfix.pem &&
	install -m 0644 ca/one.fullchain live/dovecot.crt &&
	install -m 0600 ca/one.key live/dovecot.key &&
	netns_create front 1 &&
	netns_create mail 2 &&
	FRONT=$(netns_addr front) && MAIL=$(netns_addr mail)
'

test_expect_success 'HAProxy serves the leaf on 443' '
	haproxy_start front "$TRASH/haproxy" "$TRASH/live/haproxy.pem" &&
	test "$(tls_fingerprint "$FRONT" 443 www.test)" = "$fp_one"
'

test_expect_success CMD:curl 'HAProxy answers HTTP with the full chain' '
	curl -sS --max-time 10 --cacert ca/ca.crt --resolve "www.test:443:$FRONT" \
		https://www.test/ >body &&
	printf ok >expect && test_cmp expect body
'

test_expect_success 'Postfix serves the leaf with STARTTLS on 25 and 587' '
	postfix_start mail "$TRASH/postfix" "$TRASH/live/postfix.pem" &&
	test "$(tls_fingerprint --starttls smtp "$MAIL" 25)" = "$fp_one" &&
	test "$(tls_fingerprint --starttls smtp "$MAIL" 587)" = "$fp_one"
'

test_expect_success 'Dovecot serves the leaf on 993, 995, and STARTTLS on 143, 110' '
	dovecot_start mail "$TRASH/dovecot" "$TRASH/live/dovecot.crt" "$TRASH/live/dovecot.key" &&
	test "$(tls_fingerprint "$MAIL" 993)" = "$fp_one" &&
	test "$(tls_fingerprint "$MAIL" 995)" = "$fp_one" &&
	test "$(tls_fingerprint --starttls imap "$MAIL" 143)" = "$fp_one" &&
	test "$(tls_fingerprint --starttls pop3 "$MAIL" 110)" = "$fp_one"
'

test_expect_success 'Dovecot logs in the test user' '
	printf "a LOGIN test secret\r\nb LOGOUT\r\n" >imap.in &&
	{ timeout 10 openssl s_client -quiet -connect "$MAIL:993" <imap.in >imap.out 2>/dev/null || :; } &&
	grep "^a OK .*Logged in" imap.out
'

test_expect_success 'a second leaf, after each reload' '
	install -m 0600 ca/two.pem live/haproxy.pem &&
	install -m 0600 ca/two.pem live/postfix.pem &&
	install -m 0644 ca/two.fullchain live/dovecot.crt &&
	install -m 0600 ca/two.key live/dovecot.key &&
	haproxy_reload "$TRASH/haproxy" &&
	postfix_reload "$TRASH/postfix" &&
	dovecot_reload "$TRASH/dovecot" &&
	wait_for_fingerprint "$fp_two" 5 "$FRONT" 443 www.test &&
	wait_for_fingerprint "$fp_two" 5 --starttls smtp "$MAIL" 25 &&
	wait_for_fingerprint "$fp_two" 5 --starttls smtp "$MAIL" 587 &&
	wait_for_fingerprint "$fp_two" 5 "$MAIL" 993 &&
	wait_for_fingerprint "$fp_two" 5 "$MAIL" 995 &&
	wait_for_fingerprint "$fp_two" 5 --starttls imap "$MAIL" 143 &&
	wait_for_fingerprint "$fp_two" 5 --starttls pop3 "$MAIL" 110
'

test_expect_success 'HAProxy runtime API swap, without reload' '
	haproxy_set_cert "$TRASH/haproxy" "$TRASH/live/haproxy.pem" ca/three.pem &&
	test "$(tls_fingerprint "$FRONT" 443 www.test)" = "$fp_three"
'

test_expect_success 'HAProxy refuses a key that does not match, keeps serving' '
	cat ca/one.key ca/two.crt ca/two.chain >mismatch.pem &&
	test_must_fail haproxy_set_cert "$TRASH/haproxy" "$TRASH/live/haproxy.pem" mismatch.pem &&
	test "$(tls_fingerprint "$FRONT" 443 www.test)" = "$fp_three" &&
	haproxy_set_cert "$TRASH/haproxy" "$TRASH/live/haproxy.pem" ca/one.pem &&
	test "$(tls_fingerprint "$FRONT" 443 www.test)" = "$fp_one"
'

test_expect_success 'haproxy_reload refuses a broken certificate on disk' '
	test_when_finished "install -m 0600 ca/two.pem live/haproxy.pem" &&
	echo garbage >live/haproxy.pem &&
	test_must_fail haproxy_reload "$TRASH/haproxy" &&
	test "$(tls_fingerprint "$FRONT" 443 www.test)" = "$fp_one"
'

test_expect_success 'OpenDKIM signs with a generated key' '
	install -d -m 0750 -o opendkim -g opendkim dkimkeys &&
	opendkim-genkey --bits=2048 --selector=sel2026 --domain=example.test --directory=dkimkeys &&
	chown opendkim:opendkim dkimkeys/sel2026.private &&
	test_file_mode dkimkeys/sel2026.private 0600 &&
	opendkim_setup "$TRASH/opendkim" "$TRASH/dkimkeys/sel2026.private" sel2026 example.test &&
	cat >message <<-\EOF &&
	From: alice@example.test
	To: bob@example.test
	Subject: certpush test
	Date: Sat, 21 Nov 2026 12:00:00 +0000
	Message-ID: <t0010@example.test>

	hello
	EOF
	opendkim_sign "$TRASH/opendkim" message >sig &&
	head -n 1 sig | grep "^DKIM-Signature: " &&
	tr -d "\n\t " <sig >sig.flat &&
	grep ";s=sel2026;" sig.flat &&
	grep ";d=example.test;" sig.flat &&
	cat sig message >signed
'

test_expect_success 'OpenDKIM verifies it against TestPublicKeys, rejects a change' '
	opendkim_verify "$TRASH/opendkim" signed &&
	sed "s/^hello$/hellO/" signed >tampered &&
	test_must_fail opendkim_verify "$TRASH/opendkim" tampered
'

test_expect_success 'OpenDKIM accepts root:opendkim 0640, refuses a key others can read' '
	test_when_finished "chown opendkim:opendkim dkimkeys/sel2026.private && chmod 0600 dkimkeys/sel2026.private" &&
	chown root:opendkim dkimkeys/sel2026.private && chmod 0640 dkimkeys/sel2026.private &&
	opendkim_sign "$TRASH/opendkim" message >/dev/null &&
	chmod 0644 dkimkeys/sel2026.private &&
	test_must_fail opendkim_sign "$TRASH/opendkim" message 2>err &&
	grep "can be read or written by other users" err
'

test_expect_success 'sshd runs the forced command; its exit code reaches the client' '
	ssh-keygen -q -t ed25519 -N "" -C "" -f client &&
	ssh-keygen -q -t ed25519 -N "" -C "" -f stranger &&
	printf "#!/bin/sh\necho \"home=\$HOME cmd=\$SSH_ORIGINAL_COMMAND\"\nexit 7\n" >forced.sh &&
	chmod 0755 forced.sh &&
	sshd_start mail "$TRASH/sshd" "restrict,command=\"$TRASH/forced.sh\" $(cat client.pub)" &&
	test_expect_code 7 ssh_run "$TRASH/sshd" client "$MAIL" hello there >out &&
	echo "home=$TRASH/sshd/home cmd=hello there" >expect &&
	test_cmp expect out
'

test_expect_success 'sshd: unknown key and wrong host key are refused' '
	test_expect_code 255 ssh_run "$TRASH/sshd" stranger "$MAIL" hello &&
	echo "$MAIL $(cut -d" " -f1,2 stranger.pub)" >wrong_known_hosts &&
	test_expect_code 255 timeout 30 ssh -F /dev/null -i client -o IdentitiesOnly=yes \
		-o BatchMode=yes -o ConnectTimeout=5 -o UserKnownHostsFile=wrong_known_hosts \
		-o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes "root@$MAIL" hello &&
	sshd_known_hosts_line "$MAIL" "$TRASH/sshd" >line &&
	grep "^$MAIL ssh-ed25519 " line
'

test_expect_success 'every daemon stops' '
	haproxy_stop "$TRASH/haproxy" &&
	postfix_stop "$TRASH/postfix" &&
	dovecot_stop "$TRASH/dovecot" &&
	sshd_stop "$TRASH/sshd" &&
	for port in 25 587 110 143 993 995 22; do
		NETNS=mail test_must_fail wait_for_port 127.0.0.1 $port 0 || return 1
	done &&
	NETNS=front test_must_fail wait_for_port 127.0.0.1 443 0 &&
	test -z "$(ip netns pids "$(netns_name mail)")" &&
	test -z "$(ip netns pids "$(netns_name front)")"
'

test_done
