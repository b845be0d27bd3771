#!/bin/bash
test_description='certpush audit and certpull audit against real endpoints

Two nodes in network namespaces: front (HAProxy on 443, certpush runs
there, its certpull is a local target) and mail (sshd with the forced
"certpull serve", Postfix with STARTTLS on 25 and 587, Dovecot on 993,
995 and with STARTTLS on 143 and 110).  Then: everything current is OK;
a stale leaf served by Postfix is CRITICAL naming the node and port; a
renewal not yet delivered; expiry thresholds, checked against
ssl-cert-check; unreachable endpoints and targets, bad and garbage
files; the JSON, Prometheus and Nagios outputs and their exit codes;
1000 files in well under a second.'
. "$(dirname "$0")/lib.sh"
. "$SRC/tests/lib-services.sh"

test_have_prereq ROOT || skip_all "needs root"
test_have_prereq NETNS || skip_all "cannot create network namespaces"
test_have_prereq BUILT || skip_all "build certpush and certpull first"
for cmd in haproxy postfix postconf dovecot doveadm /usr/sbin/sshd ssh-keygen socat \
	openssl jq ssl-cert-check; do
	test_have_prereq "CMD:$cmd" || skip_all "missing $cmd"
done

# field JSON_FILE WHERE FIELD: one field of the line whose place is WHERE.
field () {
	jq -r --arg w "$2" ".lines[] | select(.where == \$w) | .$3" "$1"
}

# count JSON_FILE VERDICT: how many lines have that verdict.
count () {
	jq "[.lines[] | select(.verdict == \"$2\")] | length" "$1"
}

new_source () {
	make_cert ca "$1" "DNS:mail.test,DNS:www.test" >/dev/null &&
	source_leaf ca "$1"
}

front_conf () {
	{
		pull_conf_head front "$TRASH/front" "grace: 10" &&
		pull_haproxy_service "$TRASH/front/site.pem" "$TRASH/front/haproxy" check sni=www.test
	} >"$TRASH/front/certpull.yaml"
}

mail_conf () {
	{
		pull_conf_head mail "$TRASH/mail" "grace: 10" &&
		pull_mail_services "$TRASH/mail" "$TRASH/mail" sni=mail.test
	} >"$TRASH/mail/certpull.yaml"
}

# push_conf: certpush.yaml, with the endpoints of both nodes.
push_conf () {
	push_conf_head --names "www.test, mail.test" \
		"# The test CA is in no system store." "ca_file: $TRASH/ca/ca.crt" &&
	push_target_local front www "$TRASH/front/certpull.yaml" \
		"endpoints:" "  - { address: $FRONT, port: 443, sni: www.test }" &&
	push_target_ssh mail "$MAIL" 22 30 www "endpoints:" \
		"  - { address: $MAIL, port: 25, starttls: smtp }" \
		"  - { address: $MAIL, port: 587, starttls: smtp, sni: mail.test }" \
		"  - { address: $MAIL, port: 993 }" \
		"  - { address: $MAIL, port: 995 }" \
		"  - { address: $MAIL, port: 143, starttls: imap }" \
		"  - { address: $MAIL, port: 110, starttls: pop3 }"
}

test_expect_success 'setup: CA, leaf a, two nodes, HAProxy, Postfix, Dovecot, sshd' '
	mkdir -m 0700 keys state src && mkdir front mail &&
	make_ca ca && new_source a && make_cert ca b "DNS:mail.test,DNS:www.test" &&
	push_keys --ssh &&
	netns_create front 1 && netns_create mail 2 &&
	FRONT=$(netns_addr front) && MAIL=$(netns_addr mail) &&
	install -m 0600 ca/a.pem front/site.pem &&
	haproxy_start front "$TRASH/front/haproxy" "$TRASH/front/site.pem" &&
	mail_start mail a "$TRASH/mail" "$TRASH/mail" &&
	front_conf && mail_conf &&
	serve_sshd mail "$TRASH/mail/sshd" "$TRASH/mail/certpull.yaml" &&
	push_conf >certpush.yaml &&
	push check-config &&
	fp_a=$(cert_fingerprint ca/a.crt) && fp_b=$(cert_fingerprint ca/b.crt)
'

test_expect_success 'certpush --now installs on both targets' '
	push --now >out &&
	cat out &&
	grep "2 of 2 targets ok" out
'

test_expect_success 'audit: everything current is OK (exit 0), 14 lines' '
	test_expect_code 0 push audit --json >audit.json &&
	jq -e ".verdict == \"OK\" and .exit_status == 0 and .counts.ok == 14" audit.json &&
	test "$(count audit.json OK)" = 14 &&
	jq -e "[.lines[].kind] | sort | . == [\"endpoint\",\"endpoint\",\"endpoint\",
		\"endpoint\",\"endpoint\",\"endpoint\",\"endpoint\",\"installed\",\"installed\",
		\"installed\",\"installed\",\"source\",\"target\",\"target\"]" audit.json &&
	test "$(field audit.json www chain)" = complete &&
	test "$(field audit.json www key_match)" = true &&
	test "$(field audit.json www days_left)" = 89 &&
	test "$(field audit.json mail serial_installed)" = "$(field audit.json mail serial_current)" &&
	test "$(field audit.json "mail:$TRASH/mail/postfix.pem" mismatch)" = false &&
	test "$(field audit.json "mail/$MAIL:143" sha256)" = "$fp_a" &&
	test "$(field audit.json "mail/$MAIL:143" chain)" = verified &&
	test "$(field audit.json "front/$FRONT:443/www.test" mismatch)" = false
'

test_expect_success 'audit: the table, sorted, and the Nagios line' '
	test_expect_code 0 push audit >table &&
	cat table &&
	head -n 1 table | grep "^VERDICT  *DAYS  NOT AFTER  *KIND  *WHERE  *NAME  *DETAIL$" &&
	grep "^OK  *89  [0-9-]*  endpoint  *mail/$MAIL:25  *mail.test  *serves the current certificate" table &&
	tail -n 1 table | grep "^OK: 0 critical, 0 warning, 0 unknown, 14 ok$" &&
	! grep "$(printf "\033")" table &&
	{ test_expect_code 0 push audit --nagios >nagios || { cat nagios; false; }; } &&
	echo "CERTS OK - 0 critical, 0 warning, 14 ok | critical=0 warning=0 unknown=0 ok=14 min_days=89" >expect &&
	test_cmp expect nagios
'

test_expect_success 'certpull audit on each node: installed files and endpoints' '
	test_expect_code 0 pull mail audit --json --ca-file "$TRASH/ca/ca.crt" >mail.json &&
	jq -e ".counts.ok == 9 and .program == \"certpull\"" mail.json &&
	test "$(field mail.json "$TRASH/mail/dovecot.crt" key_match)" = true &&
	test "$(field mail.json "$TRASH/mail/postfix.pem" key_match)" = true &&
	test "$(field mail.json "$TRASH/mail/postfix.pem" chain)" = complete &&
	test "$(field mail.json "postfix/127.0.0.1:25" sha256)" = "$fp_a" &&
	test_expect_code 0 pull front audit --ca-file "$TRASH/ca/ca.crt" >front.out &&
	cat front.out &&
	grep "^OK .* endpoint  *haproxy/127.0.0.1:443/www.test " front.out
'

test_expect_success 'certpull audit without the CA: chains do not verify (CRITICAL)' '
	test_expect_code 2 pull mail audit --json >nochain.json &&
	test "$(count nochain.json CRITICAL)" = 6 &&
	test "$(count nochain.json WARNING)" = 2 &&
	field nochain.json "dovecot/127.0.0.1:993" problems >why &&
	grep "chain does not verify against the system store or CA file: unable to get local issuer certificate" why &&
	field nochain.json "$TRASH/mail/dovecot.crt" problems >why &&
	grep "chain incomplete: the issuer of certificate 2 (CN=certpush test root" why
'

test_expect_success CMD:setpriv 'run as a user who may not read the keys: those lines UNKNOWN' '
	test_expect_code 3 netns_exec mail setpriv --reuid=nobody --regid=nogroup --clear-groups \
		"$CERTPULL" -c "$TRASH/mail/certpull.yaml" audit --json --ca-file "$TRASH/ca/ca.crt" \
		>nobody.json 7>&- 8>&- &&
	test "$(field nobody.json "$TRASH/mail/postfix.pem" verdict)" = UNKNOWN &&
	field nobody.json "$TRASH/mail/postfix.pem" problems | grep "Permission denied" &&
	test "$(field nobody.json "$TRASH/mail/dovecot.key" verdict)" = UNKNOWN &&
	test "$(field nobody.json "$TRASH/mail/dovecot.crt" verdict)" = OK &&
	jq -e ".counts.unknown == 2 and .counts.critical == 0 and .counts.ok == 7" nobody.json
'

test_expect_success 'Postfix serving a stale leaf: CRITICAL, naming node and port' '
	test_when_finished "postconf -c \"$TRASH/mail/postfix/etc\" -e \
		\"smtpd_tls_chain_files = $TRASH/mail/postfix.pem\" &&
		postfix_reload \"$TRASH/mail/postfix\" &&
		wait_for_fingerprint \"$fp_a\" 10 --netns mail --starttls smtp 127.0.0.1 25" &&
	postconf -c "$TRASH/mail/postfix/etc" -e "smtpd_tls_chain_files = $TRASH/ca/b.pem" &&
	postfix_reload "$TRASH/mail/postfix" &&
	wait_for_fingerprint "$fp_b" 10 --netns mail --starttls smtp 127.0.0.1 25 &&
	test_expect_code 2 push audit >table &&
	cat table &&
	grep "^CRITICAL .* endpoint  *mail/$MAIL:25 .* serves a stale certificate: " table &&
	grep "^CRITICAL .* endpoint  *mail/$MAIL:587/mail.test .* serves a stale certificate" table &&
	head -n 3 table | tail -n 2 | grep -c "^CRITICAL" >n && echo 2 >expect && test_cmp expect n &&
	test_expect_code 2 push audit --nagios >nagios &&
	head -n 1 nagios >line1 &&
	echo "CERTS CRITICAL - 2 critical, 0 warning, 12 ok | critical=2 warning=0 unknown=0 ok=12 min_days=89" >expect &&
	test_cmp expect line1 &&
	grep "^CRITICAL endpoint mail/$MAIL:25: serves a stale certificate" nagios &&
	test_expect_code 2 push audit --json >stale.json &&
	test "$(field stale.json "mail/$MAIL:25" mismatch)" = true &&
	test "$(field stale.json "mail/$MAIL:25" sha256)" = "$fp_b" &&
	test "$(field stale.json "mail/$MAIL:25" expected_sha256)" = "$fp_a" &&
	test "$(field stale.json "mail:$TRASH/mail/postfix.pem" mismatch)" = false
'

test_expect_success 'a renewal not yet pushed: installed files and endpoints CRITICAL' '
	new_source c && fp_c=$(cert_fingerprint ca/c.crt) &&
	test_expect_code 2 push audit --json >renewed.json &&
	test "$(field renewed.json www verdict)" = OK &&
	test "$(field renewed.json "front:$TRASH/front/site.pem" mismatch)" = true &&
	test "$(field renewed.json "front:$TRASH/front/site.pem" expected_sha256)" = "$fp_c" &&
	field renewed.json "mail:$TRASH/mail/dovecot.crt" problems >why &&
	grep "holds another certificate than the current source" why &&
	test "$(count renewed.json CRITICAL)" = 10 &&
	push --now >out && cat out &&
	test_expect_code 0 push audit --json >after.json &&
	jq -e ".counts.ok == 14" after.json &&
	test "$(field after.json "mail/$MAIL:995" sha256)" = "$fp_c"
'

test_expect_success 'a target behind certpush (last push failed): WARNING' '
	cp state/targets/mail state/mail.saved &&
	test_when_finished "cp state/mail.saved state/targets/mail" &&
	sed -i "s/^built .*/built 99999999999/" state/targets/mail &&
	grep "^built 99999999999" state/targets/mail &&
	test_expect_code 1 push audit --json >behind.json &&
	field behind.json mail problems >why &&
	grep "^behind: installed serial [0-9]*, current 99999999999" why
'

test_expect_success 'expiry thresholds: certificates expiring in 3, 10, 60 days, expired' '
	mkdir -p exp &&
	for spec in d3:3d d10:10d d60:60d d200:200d old:-2d; do
		make_cert ca "${spec%%:*}" "DNS:${spec%%:*}.test" ec "${spec#*:}" >/dev/null &&
		cp "ca/${spec%%:*}.crt" "exp/${spec%%:*}.pem" || return 1
	done &&
	test_expect_code 2 "$CERTPUSH" audit exp/d3.pem &&
	test_expect_code 1 "$CERTPUSH" audit exp/d10.pem &&
	test_expect_code 0 "$CERTPUSH" audit exp/d60.pem &&
	test_expect_code 2 "$CERTPUSH" audit exp/old.pem &&
	test_expect_code 1 "$CERTPUSH" audit --warn 5 --crit 2 exp/d3.pem &&
	test_expect_code 0 "$CERTPUSH" audit --warn 2 --crit 1 exp/d3.pem &&
	test_expect_code 2 "$CERTPUSH" audit --warn 70 --crit 61 exp/d60.pem &&
	test_expect_code 2 "$CERTPUSH" audit --json exp >thr.json &&
	case $(field thr.json exp/d3.pem days_left) in 2|3) ;; *) false ;; esac &&
	test "$(field thr.json exp/d10.pem verdict)" = WARNING &&
	field thr.json exp/old.pem problems | grep "^expired on " &&
	jq -r ".lines[].where" thr.json >order &&
	printf "%s\n" exp/old.pem exp/d3.pem exp/d10.pem exp/d60.pem exp/d200.pem >expect &&
	test_cmp expect order
'

test_expect_success 'verdicts and days left agree with ssl-cert-check' '
	for f in exp/*.pem; do echo "$TRASH/$f FILE"; done >list &&
	ssl-cert-check -b -x 21 -f list >scc.out &&
	cat scc.out &&
	test "$(wc -l <scc.out)" = 5 &&
	test_expect_code 2 "$CERTPUSH" audit --json "$TRASH"/exp/*.pem >ours.json &&
	while read -r where status date1 date2 date3 days; do
		path=${where#FILE:}
		ours_days=$(field ours.json "$path" days_left) &&
		ours=$(field ours.json "$path" verdict) &&
		diff=$((days - ours_days)) &&
		echo "$path: ssl-cert-check $status $days, certpush $ours $ours_days" &&
		test "${diff#-}" -le 1 &&
		case $status in
		Expired) test "$ours_days" -lt 0 && test "$ours" = CRITICAL ;;
		Expiring) test "$ours_days" -ge 0 && test "$ours" != OK ;;
		Valid) test "$ours" = OK ;;
		*) false ;;
		esac || { echo "disagree on $path"; return 1; }
	done <scc.out
'

test_expect_success 'unreachable endpoint and target: CRITICAL per line' '
	{
		push_conf &&
		echo "      - { address: $MAIL, port: 8443 }" &&
		push_target_ssh ghost "$MAIL" 2222 5 www
	} >unreach.yaml &&
	test_expect_code 2 netns_exec front "$CERTPUSH" -c "$TRASH/unreach.yaml" audit --json \
		>unreach.json 7>&- 8>&- &&
	test "$(field unreach.json "mail/$MAIL:8443" verdict)" = CRITICAL &&
	test "$(field unreach.json "mail/$MAIL:8443" reachable)" = false &&
	field unreach.json "mail/$MAIL:8443" problems | grep "^unreachable: connect to $MAIL port 8443: Connection refused" &&
	test "$(field unreach.json ghost verdict)" = CRITICAL &&
	test "$(field unreach.json ghost serial_installed)" = null &&
	field unreach.json ghost problems | grep "unreachable: " &&
	test "$(count unreach.json CRITICAL)" = 2
'

test_expect_success 'bad files: garbage, empty, truncated are UNKNOWN (exit 3); DER is read' '
	mkdir -p bad &&
	printf "%s\n" "-----BEGIN CERTIFICATE-----" "!! garbage !!" "-----END CERTIFICATE-----" >bad/garbage.pem &&
	echo "just some text" >bad/text.crt &&
	: >bad/empty.pem &&
	{ cat ca/a.crt && echo "-----BEGIN CERTIFICATE-----" && echo MIIB; } >bad/truncated.pem &&
	openssl x509 -in ca/a.crt -outform DER -out bad/a.der &&
	test_expect_code 3 "$CERTPUSH" audit bad/garbage.pem >out &&
	cat out && grep "^UNKNOWN .* bad/garbage.pem .*malformed PEM" out &&
	test_expect_code 3 "$CERTPUSH" audit bad/empty.pem >out &&
	grep "^UNKNOWN .* bad/empty.pem .*empty file" out &&
	test_expect_code 3 "$CERTPUSH" audit bad/text.crt >out &&
	grep "neither PEM nor a DER certificate" out &&
	test_expect_code 0 "$CERTPUSH" audit --json bad/a.der >der.json &&
	test "$(field der.json bad/a.der sha256)" = "$fp_a" &&
	test_expect_code 3 "$CERTPUSH" audit --json bad/truncated.pem >trunc.json &&
	test "$(field trunc.json "bad/truncated.pem[1]" verdict)" = OK &&
	test "$(field trunc.json "bad/truncated.pem[2]" verdict)" = UNKNOWN &&
	test_expect_code 3 "$CERTPUSH" audit --nagios bad/nonexistent.pem >out &&
	grep "^CERTS UNKNOWN - 0 critical, 0 warning, 1 unknown, 0 ok |" out &&
	grep "cannot read: No such file or directory" out &&
	test_expect_code 2 "$CERTPUSH" audit bad exp >out &&
	grep "^CRITICAL: 2 critical, 1 warning, 4 unknown, 4 ok" out
'

test_expect_success 'a garbage source certificate: CRITICAL (a configured file)' '
	cp src/cert.pem src/cert.good &&
	test_when_finished "cp src/cert.good src/cert.pem" &&
	cp bad/garbage.pem src/cert.pem &&
	test_expect_code 2 push audit --json >badsrc.json &&
	test "$(field badsrc.json www verdict)" = CRITICAL &&
	field badsrc.json www problems | grep "src/cert.pem: malformed PEM" &&
	field badsrc.json "front:$TRASH/front/site.pem" note | grep "source unreadable: not compared"
'

test_expect_success 'unreadable configuration and usage errors exit 3 (UNKNOWN)' '
	test_expect_code 3 "$CERTPUSH" -c "$TRASH/nonexistent.yaml" audit --nagios >out 2>err &&
	grep "^CERTS UNKNOWN - 0 critical, 0 warning, 1 unknown, 0 ok" out &&
	test_expect_code 3 "$CERTPULL" -c "$TRASH/nonexistent.yaml" audit >out 2>err &&
	grep "^UNKNOWN .* config " out &&
	test_expect_code 3 "$CERTPUSH" audit --warn 5 --crit 9 exp 2>err &&
	grep "must not exceed" err &&
	test_expect_code 3 "$CERTPUSH" audit --json --nagios exp 2>err &&
	test_expect_code 3 "$CERTPULL" audit --bogus 2>err &&
	grep "unknown option --bogus" err
'

test_expect_success 'Prometheus textfile written atomically, mode 0644; exit code kept' '
	mkdir -p prom &&
	test_expect_code 0 push audit --prometheus -o "$TRASH/prom/certpush.prom" >out &&
	! test -s out &&
	test_file_mode prom/certpush.prom 0644 &&
	test "$(ls -A prom)" = certpush.prom &&
	grep "^# TYPE certpush_cert_not_after_seconds gauge$" prom/certpush.prom &&
	grep "^# HELP certpush_endpoint_mismatch " prom/certpush.prom &&
	grep "^certpush_audit_scrape_error 0$" prom/certpush.prom &&
	grep "^certpush_endpoint_mismatch{kind=\"endpoint\",source=\"mail/$MAIL:25\",item=\"www\"} 0$" prom/certpush.prom &&
	grep "^certpush_cert_time_left_seconds{kind=\"source\",source=\"www\",item=\"www\",name=\"mail.test\"} [0-9]*$" prom/certpush.prom &&
	! grep "days" prom/certpush.prom &&
	grep -v "^#" prom/certpush.prom | grep -cv "^[a-z_]*\({[^}]*}\)\? -\?[0-9][0-9]*$" >bad_lines || : &&
	echo 0 >expect && test_cmp expect bad_lines &&
	test_expect_code 3 "$CERTPUSH" audit --prometheus -o "$TRASH/prom/files.prom" bad/empty.pem &&
	grep "^certpush_audit_scrape_error 1$" prom/files.prom &&
	test_expect_code 3 "$CERTPUSH" -c "$TRASH/nonexistent.yaml" audit --prometheus \
		-o "$TRASH/prom/broken.prom" 2>err &&
	grep "^certpush_audit_status 3$" prom/broken.prom
'

# promtool (Debian'"'"'s prometheus package) lints the exposition as Prometheus
# itself parses it: base units (seconds, not days), HELP and TYPE lines.
test_expect_success CMD:promtool 'promtool check metrics passes on both programs'"'"' outputs' '
	{ push audit --prometheus -o "$TRASH/prom/push.prom" || test $? -le 2; } &&
	cat prom/push.prom &&
	promtool check metrics <prom/push.prom &&
	{ pull mail audit --prometheus --ca-file "$TRASH/ca/ca.crt" \
		-o "$TRASH/prom/pull.prom" || test $? -le 2; } &&
	cat prom/pull.prom &&
	grep "^certpull_cert_time_left_seconds{" prom/pull.prom &&
	grep "^certpull_installed_mismatch{" prom/pull.prom &&
	promtool check metrics <prom/pull.prom &&
	test_expect_code 2 "$CERTPULL" audit --prometheus -o "$TRASH/prom/files.prom" \
		bad/empty.pem exp &&
	grep "^certpull_cert_time_left_seconds{kind=\"file\",source=\"exp/old.pem\",.*} -[0-9]*$" \
		prom/files.prom &&
	promtool check metrics <prom/files.prom
'
test_have_prereq CMD:promtool ||
	say "promtool missing: install Debian's prometheus package (make deps)"

# How long this takes is a figure of make bench (tests/bench/audit.sh), not
# an assertion: a loaded machine would fail it.
test_expect_success '1000 files audited: every one read and counted' '
	mkdir many &&
	for i in $(seq 0 9); do
		make_cert ca "m$i" "DNS:m$i.test" ec "$((30 + i))d" >/dev/null || return 1
	done &&
	for i in $(seq 0 999); do
		cp "ca/m$((i % 10)).crt" "many/c$i.pem" || return 1
	done &&
	test_expect_code 0 "$CERTPUSH" audit many >many.out &&
	tail -n 1 many.out | grep "^OK: 0 critical, 0 warning, 0 unknown, 1000 ok$"
'

test_done
