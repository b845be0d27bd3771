#!/bin/bash
test_description='DANE and DKIM against real DNS: certpush tlsa, the hold of key changes, audit

A DNSSEC-signed zone example.test served by nsd (node ns) and a validating
unbound (node resolver); certpush runs in node front and asks the resolver
through libunbound, which validates from the zone'"'"'s DS itself.  Records are
published mid-test (zone re-signed, nsd reloaded, unbound flushed).  Then
Postfix on front is the DANE endpoint the audit probes, a DANE-enforcing
Postfix client (node client) delivers to it across a key rotation, and
mail the client signs through the OpenDKIM milter with the rotated DKIM
key verifies, as delivered, against the published record.'
. "$(dirname "$0")/lib.sh"
. "$SRC/tests/lib-services.sh"
. "$SRC/tests/lib-dns.sh"

test_have_prereq ROOT || skip_all "needs root"
test_have_prereq NETNS || skip_all "cannot create network namespaces"
test_have_prereq BUILT || skip_all "build certpush and certpull first"
for cmd in nsd nsd-control unbound unbound-control ldns-keygen ldns-signzone dig openssl \
	postfix postconf jq opendkim; do
	test_have_prereq "CMD:$cmd" || skip_all "missing $cmd"
done

# Records live 3 s: a key change in service waits that long once published.
DNS_TTL=3

# push_released: push until no key change is held (each published record
# waits out its TTL first), at most 30 times a second apart.
push_released () {
	local i
	for ((i = 0; i < 30; i++)); do
		push --now >out 2>err && return 0
		sleep 1
	done
	cat out err
	return 1
}

# spki_sha256 CERT_OR_KEY: the 3 1 1 association data of a certificate or key.
spki_sha256 () {
	case $(head -n 1 "$1") in
	*CERTIFICATE*) openssl x509 -in "$1" -noout -pubkey | openssl pkey -pubin -outform DER ;;
	*) openssl pkey -in "$1" -pubout -outform DER ;;
	esac | openssl dgst -sha256 -r | cut -d " " -f 1
}

# dane_conf [DNS_LINE...]: certpush.yaml with certificate www pinned by
# _25._tcp.$DANE_HOST (default mail.example.test; 3 1 1 and 2 1 1), the dns:
# section (its resolver, then each DNS_LINE), one local target.
dane_conf () {
	local head dkim=()
	test -z "${DKIM:-}" || dkim=(--dkim $DKIM)
	head=$(push_conf_head "${dkim[@]}" "dns:" "  trust_anchor: $DNS_ANCHOR" \
		"  timeout: ${DNS_TIMEOUT:-10}" "  resolver: [${RESOLVER:-$DNS_RESOLVER}]" \
		"ca_file: $TRASH/ca/ca.crt" "$@") &&
	head=${head%targets:} &&
	# dane: goes into the certificate, before any dkim: list.
	printf '%s' "${head%%dkim:*}" &&
	cat <<-EOF &&
	    dane:
	      - { host: ${DANE_HOST:-mail.example.test}, port: 25, usages: ["3 1 1", "2 1 1"] }
	    next_key: $TRASH/src/next.key
	EOF
	case $head in *dkim:*) printf 'dkim:%s' "${head#*dkim:}" ;; esac &&
	echo "targets:" &&
	push_target_local front "www${DKIM:+, dkim}" "$TRASH/front/certpull.yaml" \
		${ENDPOINT:+"endpoints:" "  - { address: $ENDPOINT, port: 25, starttls: smtp }"} \
		${RECIPIENT:+"recipient: $RECIPIENT"}
}

test_expect_success 'setup: CA, leaf a, next key, signed zone, nsd and unbound' '
	mkdir -m 0700 keys state src && mkdir front &&
	make_ca ca && make_cert ca a "DNS:mail.example.test" && source_leaf ca a &&
	(umask 077 && openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
		-out src/next.key 2>/dev/null) &&
	push_keys &&
	netns_create front &&
	dns_start example.test &&
	dane_conf >certpush.yaml &&
	push check-config &&
	hash_a=$(spki_sha256 ca/a.crt) && hash_next=$(spki_sha256 src/next.key) &&
	hash_ca=$(spki_sha256 ca/intermediate.crt)
'

test_expect_success 'tlsa: records of the current and next key, none published: exit 1' '
	test_expect_code 1 push tlsa >out &&
	cat out &&
	grep -x "_25._tcp.mail.example.test. IN TLSA 3 1 1 $hash_a ; www current: NOT PUBLISHED" out &&
	grep -x "_25._tcp.mail.example.test. IN TLSA 3 1 1 $hash_next ; www next: NOT PUBLISHED" out &&
	grep -x "_25._tcp.mail.example.test. IN TLSA 2 1 1 $hash_ca ; www current: NOT PUBLISHED" out &&
	test $(wc -l <out) = 3
'

test_expect_success 'tlsa: the current key published and signed: exit 0' '
	dns_publish "_25._tcp.mail IN TLSA 3 1 1 $hash_a" &&
	dns_dig _25._tcp.mail.example.test TLSA >dig.out &&
	cat dig.out &&
	grep -q "flags:.* ad" dig.out &&
	push tlsa >out &&
	cat out &&
	grep -x "_25._tcp.mail.example.test. IN TLSA 3 1 1 $hash_a ; www current: published (secure)" out &&
	grep -x "_25._tcp.mail.example.test. IN TLSA 3 1 1 $hash_next ; www next: NOT PUBLISHED" out
'

test_have_prereq CMD:strace && test_set_prereq STRACE
# libunbound is not linked (certpush/unbound_dl.c): only DNS lookups load it.
test_expect_success STRACE 'libunbound is loaded by tlsa, not by status nor check-config (strace)' '
	! ldd "$CERTPUSH" | grep libunbound &&
	netns_exec front strace -f -qq -e trace=openat -o trace.tlsa "$CERTPUSH" \
		-c "$TRASH/certpush.yaml" tlsa >out 7>&- 8>&- &&
	grep "published (secure)" out &&
	grep "libunbound\.so\.8\", O_RDONLY" trace.tlsa &&
	for cmd in status check-config; do
		netns_exec front strace -f -qq -e trace=openat -o trace.$cmd "$CERTPUSH" \
			-c "$TRASH/certpush.yaml" $cmd >out 7>&- 8>&- &&
		! grep libunbound trace.$cmd || return 1
	done
'

# Hidden by a bind mount in a mount namespace of its own: the lookup says
# why, the command does not crash nor claim an answer.
test_expect_success 'tlsa without libunbound: a clear error, nothing published claimed' '
	lib=$(ldconfig -p | awk "/libunbound\.so\.8 / { print \$NF; exit }") &&
	test -n "$lib" &&
	test_expect_code 1 netns_exec front unshare -m sh -c \
		"mount --bind /dev/null \"\$0\" && exec \"\$@\"" "$lib" \
		"$CERTPUSH" -c "$TRASH/certpush.yaml" tlsa >out 2>&1 7>&- 8>&- &&
	cat out &&
	grep "cannot load libunbound" out &&
	! grep "published (secure)" out
'

test_expect_success 'tlsa: a forged signature over the TLSA RRset is not taken' '
	dns_break_signature _25._tcp.mail.example.test. TLSA &&
	test_expect_code 1 push tlsa >out 2>err &&
	cat out err &&
	grep "^_25._tcp.mail.example.test. IN TLSA 3 1 1 $hash_a ; www current: _25._tcp.mail.example.test.: DNS \(bogus\|error\): " out &&
	! grep "published (secure)" out &&
	dns_reload_ &&
	push tlsa >out &&
	grep "3 1 1 $hash_a ; www current: published (secure)" out
'

test_expect_success 'tlsa: an unreachable resolver gives no answer within the deadline' '
	RESOLVER=$NETNS_SUBNET.250 DNS_TIMEOUT=3 dane_conf >unreachable.yaml &&
	test_expect_code 1 netns_exec front "$CERTPUSH" -c "$TRASH/unreachable.yaml" tlsa >out &&
	cat out &&
	grep "3 1 1 $hash_a ; www current: _25._tcp.mail.example.test.: DNS error: " out &&
	! grep "published (secure)" out
'

test_expect_success 'tlsa: a trust anchor that does not sign the zone: bogus, not secure' '
	(cd dns && ldns-keygen -k -a ECDSAP256SHA256 example.test >other.ksk) &&
	sed "s|$DNS_ANCHOR|$TRASH/dns/$(cat dns/other.ksk).ds|" certpush.yaml >other.yaml &&
	test_expect_code 1 netns_exec front "$CERTPUSH" -c "$TRASH/other.yaml" tlsa >out &&
	cat out &&
	grep "3 1 1 $hash_a ; www current: _25._tcp.mail.example.test.: DNS bogus: " out
'

# reissue CADIR NAME FROM: leaf NAME for mail.example.test with FROM's key
# (a renewal with certbot --reuse-key).
reissue () {
	install -m 0600 "$1/$3.key" "$1/$2.key" &&
	openssl req -new -key "$1/$2.key" -subj "/CN=mail.example.test" -out "$1/db/$2.csr" &&
	CPT_SAN=DNS:mail.example.test CPT_KU=digitalSignature,keyEncipherment \
		openssl ca -batch -notext -config "$1/ca.cnf" -extensions leaf \
		-startdate "$(cert_start_)" -enddate "$(openssl_time_ 7776000)" \
		-in "$1/db/$2.csr" -out "$1/$2.crt" 2>"$1/db/$2.log" ||
		{ cat "$1/db/$2.log"; return 1; }
	cp "$1/intermediate.crt" "$1/$2.chain"
}

# installed_is NAME: the front's installed key+chain holds leaf NAME's key.
installed_is () {
	test "$(spki_sha256 front/site.pem)" = "$(spki_sha256 "ca/$1.crt")"
}

test_expect_success 'push: a first key whose record is published is delivered' '
	{ pull_conf_head front "$TRASH/front/state" &&
	  pull_files_service "$TRASH/front/site.pem" www key+chain 0600; } >front/certpull.yaml &&
	push --now >out 2>err &&
	cat out err &&
	grep "1 of 1 targets ok" out &&
	installed_is a &&
	push status >status &&
	! grep HELD status
'

test_expect_success 'push: a renewal that keeps its key passes at once' '
	reissue ca a2 a && source_leaf ca a2 &&
	push --now >out 2>err &&
	cat out err &&
	grep "^front  *installed" out &&
	! grep held err &&
	cmp <(openssl x509 -in front/site.pem -noout -fingerprint) \
		<(openssl x509 -in ca/a2.crt -noout -fingerprint)
'

test_expect_success 'push: a new key without its TLSA record is held, the record to publish printed' '
	make_cert ca b "DNS:mail.example.test" && source_leaf ca b &&
	hash_b=$(spki_sha256 ca/b.crt) &&
	test_expect_code 1 push --now >out 2>err &&
	cat out err &&
	grep "front: www held (since [0-9]* s): new key: no published TLSA record matches the key: publish _25._tcp.mail.example.test. IN TLSA 3 1 1 $hash_b$" err &&
	grep "^front  *unchanged .*  held: www: new key: no published TLSA record matches the key: publish _25._tcp.mail.example.test. IN TLSA 3 1 1 $hash_b$" out &&
	grep -x "0 of 1 targets ok, 1 held, 0 failed (a held item keeps its previous content on the node until it is released: see each held target.s line)" out &&
	installed_is a2 &&
	push status >status &&
	cat status &&
	grep "^  HELD www since .*: new key: no published TLSA record" status &&
	push status --json >status.json &&
	jq -e ".targets[0].holds[0].item == \"www\" and .targets[0].holds[0].checks == 1" status.json &&
	test_expect_code 1 push --now >out 2>err &&
	grep "^front  *unchanged" out &&
	push status --json >status.json &&
	jq -e ".targets[0].holds[0].checks == 2" status.json &&
	test_expect_code 1 push --now --json >out.json 2>err &&
	cat out.json &&
	jq -e ".ok == 0 and .held == 1 and .failed == 0 and
		.targets[0].result == \"unchanged\" and .targets[0].holds[0].item == \"www\" and
		(.targets[0].holds[0].reason | startswith(\"new key: no published TLSA record\"))" out.json
'

# bundle_has FILE CERT: the last base64 line of CERT (its signature) is in FILE.
bundle_has () {
	grep -aqF "$(tail -n 2 "$2" | head -n 1)" "$1"
}

test_expect_success 'bundle: the held item goes at its previous content, as a push sends it' '
	push bundle --target front -o held.bundle >out 2>err &&
	cat out err &&
	grep -x "held.bundle: bundle for front, serial [0-9]*, [0-9]* bytes, with held items at their previous content" out &&
	grep "bundle for front: www held, its previous entries bundled: new key: no published TLSA record matches the key: publish _25._tcp.mail.example.test. IN TLSA 3 1 1 $hash_b$" err &&
	bundle_has held.bundle ca/a2.crt &&
	! bundle_has held.bundle ca/b.crt
'

test_expect_success 'push: once the record is published (zone re-signed) and its TTL over, the new key is delivered' '
	dns_publish "_25._tcp.mail IN TLSA 3 1 1 $hash_b" &&
	test_expect_code 1 push --now >out 2>err &&
	cat out err &&
	grep "front: www held .*: published; waiting [0-5] s more (the records. TTL of 3 s, and 2) for caches to drop the previous ones" err &&
	installed_is a2 &&
	push_released &&
	cat out err &&
	grep "^front  *installed" out &&
	installed_is b &&
	push status --json >status.json &&
	jq -e ".targets[0].holds == []" status.json
'

test_expect_success 'push: held while the record of the key in service is gone' '
	make_cert ca c "DNS:mail.example.test" && source_leaf ca c &&
	hash_c=$(spki_sha256 ca/c.crt) &&
	dns_unpublish "$hash_b" &&
	dns_publish "_25._tcp.mail IN TLSA 3 1 1 $hash_c" &&
	test_expect_code 1 push --now >out 2>err &&
	cat out err &&
	grep "www held .*the record of the key in service is gone, so the switch would break DANE: no published TLSA record matches the key: publish _25._tcp.mail.example.test. IN TLSA 3 1 1 $hash_b$" err &&
	installed_is b &&
	dns_publish "_25._tcp.mail IN TLSA 3 1 1 $hash_b" &&
	push_released &&
	installed_is c
'

test_expect_success 'push: a bogus TLSA RRset holds the new key' '
	make_cert ca d "DNS:mail.example.test" && source_leaf ca d &&
	hash_d=$(spki_sha256 ca/d.crt) &&
	dns_publish "_25._tcp.mail IN TLSA 3 1 1 $hash_d" &&
	dns_break_signature _25._tcp.mail.example.test. TLSA &&
	test_expect_code 1 push --now >out 2>err &&
	cat out err &&
	grep "www held .*new key: _25._tcp.mail.example.test.: DNS bogus: DNSSEC validation failed" err &&
	installed_is c
'

test_expect_success 'push: an unreachable resolver holds the new key' '
	dns_reload_ &&
	RESOLVER=$NETNS_SUBNET.250 DNS_TIMEOUT=3 dane_conf >unreachable.yaml &&
	test_expect_code 1 netns_exec front "$CERTPUSH" -c "$TRASH/unreachable.yaml" --now >out 2>err &&
	cat out err &&
	grep "www held .*new key: _25._tcp.mail.example.test.: DNS error: no answer within the 3 s DNS deadline" err &&
	installed_is c &&
	push_released &&
	installed_is d
'

test_expect_success 'run: the daemon holds a new key, then delivers it on its schedule once published' '
	DAEMON_NETNS=front daemon_start certpush-run "" "$CERTPUSH" -v -c "$TRASH/certpush.yaml" run &&
	wait_until_ 20 grep -q "watching" certpush-run.log &&
	make_cert ca e "DNS:mail.example.test" && source_leaf ca e &&
	hash_e=$(spki_sha256 ca/e.crt) &&
	wait_until_ 30 grep -q "www held .*publish _25._tcp.mail.example.test. IN TLSA 3 1 1 $hash_e$" \
		certpush-run.log &&
	installed_is d &&
	dns_publish "_25._tcp.mail IN TLSA 3 1 1 $hash_e" &&
	wait_until_ 60 installed_is e &&
	daemon_stop certpush-run &&
	push status --json >status.json &&
	jq -e ".targets[0].holds == []" status.json
'

# publish_dkim: publish the DKIM TXT record certpush tlsa prints.
publish_dkim () {
	local rec
	push tlsa >tlsa.out
	rec=$(sed -n "s/ ; dkim current: .*//p" tlsa.out) &&
	test -n "$rec" || { echo "publish_dkim: no DKIM record in"; cat tlsa.out; return 1; }
	dns_publish "$rec"
}

# dkim_installed_is KEY: the front's installed DKIM key is KEY.
dkim_installed_is () {
	test "$(spki_sha256 front/dkim.private)" = "$(spki_sha256 "$1")"
}

test_expect_success 'dkim: a first DKIM key without its TXT record is refused, then delivered' '
	(umask 077 && openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
		-out src/dkim.key 2>/dev/null) && cp src/dkim.key dkim1.key &&
	DKIM="$TRASH/src/dkim.key s1 example.test" dane_conf >certpush.yaml &&
	{ pull_conf_head front "$TRASH/front/state" &&
	  pull_files_service "$TRASH/front/site.pem" www key+chain 0600 &&
	  pull_files_service "$TRASH/front/dkim.private" dkim dkim 0600 dkim; } >front/certpull.yaml &&
	test_expect_code 1 push --now >out 2>err &&
	cat out err &&
	grep "^front  *failed .*dkim held, with no previous bundle to keep in service: new DKIM key: s1._domainkey.example.test.: no TXT record: publish s1._domainkey.example.test. IN TXT \"v=DKIM1; k=rsa; p=" out &&
	test_path_is_missing front/dkim.private &&
	installed_is e &&
	publish_dkim &&
	push --now >out 2>err &&
	cat out err &&
	dkim_installed_is dkim1.key
'

test_expect_success 'dkim: a new DKIM key whose TXT record is not published is held' '
	(umask 077 && openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
		-out src/dkim.new 2>/dev/null) && mv src/dkim.new src/dkim.key &&
	cp src/dkim.key dkim2.key &&
	test_expect_code 1 push --now >out 2>err &&
	cat out err &&
	grep "front: dkim held .*: new DKIM key: s1._domainkey.example.test.: no TXT record.s p= is this key: publish s1._domainkey.example.test. IN TXT" err &&
	dkim_installed_is dkim1.key &&
	dns_unpublish "_domainkey" &&
	publish_dkim &&
	push_released &&
	cat out err &&
	dkim_installed_is dkim2.key
'

# field JSON_FILE WHERE FIELD: one field of the audit line at WHERE.
field () {
	jq -r --arg w "$2" ".lines[] | select(.where == \$w) | .$3" "$1"
}

test_expect_success 'audit: Postfix on front serves the certificate certpull installs' '
	FRONT=$(netns_addr front) &&
	postfix_start front "$TRASH/pf" "$TRASH/front/site.pem" &&
	postconf -c "$TRASH/pf/etc" -e "relay_domains = example.test" \
		"transport_maps = inline:{example.test=discard:}" &&
	postfix_reload "$TRASH/pf" &&
	{ pull_conf_head front "$TRASH/front/state" &&
	  pull_files_service "$TRASH/front/site.pem" www key+chain 0600 postfix \
		"reload: [/usr/sbin/postfix, -c, $TRASH/pf/etc, reload]" &&
	  pull_files_service "$TRASH/front/dkim.private" dkim dkim 0600 dkim; } >front/certpull.yaml &&
	ENDPOINT=$FRONT DKIM="$TRASH/src/dkim.key s1 example.test" dane_conf >certpush.yaml &&
	push check-config &&
	dns_publish "@ IN MX 10 mail" "mail IN A $FRONT"
'

test_expect_success 'audit: the served key matches a secure record; the old records are stale' '
	test_expect_code 1 push audit --json >audit.json &&
	jq . audit.json | grep -A3 dane &&
	test "$(field audit.json "front/$FRONT:25 _25._tcp.mail.example.test." verdict)" = OK &&
	test "$(field audit.json "front/$FRONT:25 _25._tcp.mail.example.test." note)" = \
		"the served key matches a secure TLSA record" &&
	test "$(field audit.json _25._tcp.mail.example.test. verdict)" = WARNING &&
	field audit.json _25._tcp.mail.example.test. problems >problems &&
	cat problems &&
	test $(grep -o "stale record 3 1 1" problems | wc -l) = 4 &&
	grep "stale record 3 1 1 ${hash_a:0:8}...: matches no current, next or served key, remove it" problems &&
	! grep "${hash_e:0:8}" problems &&
	test "$(field audit.json s1._domainkey.example.test. verdict)" = OK &&
	test_expect_code 1 push audit --prometheus >prom &&
	grep "^certpush_audit_verdict{kind=\"dane\",source=\"_25._tcp.mail.example.test.\",item=\"\"} 1$" prom &&
	test_expect_code 1 push audit --nagios >nagios &&
	cat nagios &&
	grep "^CERTS WARNING - 0 critical, 1 warning" nagios
'

test_expect_success 'audit: once the stale records are removed, all dane lines are OK' '
	dns_unpublish "$hash_a|$hash_b|$hash_c|$hash_d" &&
	push audit --json >audit.json &&
	test "$(field audit.json _25._tcp.mail.example.test. verdict)" = OK &&
	test "$(field audit.json _25._tcp.mail.example.test. note)" = "secure, 1 record, none stale"
'

test_expect_success 'audit: a served key that matches no record is CRITICAL' '
	make_cert ca x "DNS:mail.example.test" &&
	install -m 0600 ca/x.pem front/site.pem &&
	postfix_reload "$TRASH/pf" &&
	test_expect_code 2 push audit --json >audit.json &&
	test "$(field audit.json "front/$FRONT:25 _25._tcp.mail.example.test." verdict)" = CRITICAL &&
	field audit.json "front/$FRONT:25 _25._tcp.mail.example.test." problems |
		grep "^the served key matches no TLSA record: DANE senders refuse it; no published TLSA record matches the key: publish _25._tcp.mail.example.test. IN TLSA 3 1 1 $(spki_sha256 ca/x.crt)$" &&
	install -m 0600 ca/e.pem front/site.pem &&
	postfix_reload "$TRASH/pf"
'

test_expect_success 'audit: a bogus TLSA RRset is CRITICAL' '
	dns_break_signature _25._tcp.mail.example.test. TLSA &&
	test_expect_code 2 push audit --json >audit.json &&
	test "$(field audit.json _25._tcp.mail.example.test. verdict)" = CRITICAL &&
	field audit.json _25._tcp.mail.example.test. problems | grep "^DNSSEC bogus: " &&
	dns_reload_
'

# smtp_inject NODE RCPT: hand a message for RCPT to the Postfix of NODE on
# 127.0.0.1:25; fails on any reply that is not 2xx or 3xx.
smtp_inject () {
	netns_exec "$1" bash -c '
		exec 3<>/dev/tcp/127.0.0.1/25 || exit 1
		reply () {
			local l i
			for ((i = 0; i < 50; i++)); do
				IFS= read -r -t 10 l <&3 || return 1
				echo "S: $l"
				case $l in
				[23][0-9][0-9]" "*) return 0 ;;
				[0-9][0-9][0-9]" "*) return 1 ;;
				esac
			done
			return 1
		}
		say () { echo "C: $1"; printf "%s\r\n" "$1" >&3; }
		reply && say "EHLO client.example.test" && reply &&
		say "MAIL FROM:<test@client.example.test>" && reply &&
		say "RCPT TO:<$0>" && reply && say DATA && reply &&
		say "From: <test@example.test>" && say "Subject: DANE test to $0" &&
		say "" && say "DANE test" && say "." &&
		reply && say QUIT && reply' "$2"
}

# sent_verified N: the client Postfix delivered N messages to
# mail.example.test over a DANE-verified TLS connection, and deferred none.
sent_verified () {
	test "$(grep -c "to=<user$1@example.test>, relay=mail.example.test.*status=sent" client/maillog)" = 1 &&
	test "$(grep -c "Verified TLS connection established to mail.example.test" client/maillog)" -ge "$1"
}

test_expect_success 'postfix: a DANE-enforcing client (smtp_tls_security_level = dane) delivers' '
	netns_create client &&
	mkdir -p "/etc/netns/$(netns_name client)" &&
	at_exit "rm -rf /etc/netns/$(netns_name client)" &&
	printf "nameserver %s\noptions trust-ad\n" "$DNS_RESOLVER" \
		>"/etc/netns/$(netns_name client)/resolv.conf" &&
	postfix_start client "$TRASH/client" "$TRASH/ca/a.pem" &&
	postconf -c "$TRASH/client/etc" -e "myhostname = client.example.test" \
		"smtp_tls_security_level = dane" "smtp_dns_support_level = dnssec" \
		"smtp_tls_loglevel = 1" &&
	postfix_reload "$TRASH/client" &&
	smtp_inject client user1@example.test &&
	wait_until_ 30 sent_verified 1 ||
		{ tail -n 30 client/maillog; false; }
'

test_expect_success 'postfix: after a key rotation (record first, then push), DANE delivery goes on' '
	make_cert ca f "DNS:mail.example.test" && source_leaf ca f &&
	hash_f=$(spki_sha256 ca/f.crt) &&
	dns_publish "_25._tcp.mail IN TLSA 3 1 1 $hash_f" &&
	push_released &&
	cat out err &&
	installed_is f &&
	smtp_inject client user2@example.test &&
	wait_until_ 30 sent_verified 2 &&
	! grep -i "untrusted\|deferred\|TLSA.*fail" client/maillog ||
		{ tail -n 30 client/maillog; false; }
'

test_expect_success 'opendkim: a message signed with the rotated key verifies against the published record' '
	mkdir -m 0755 dkimv &&
	install -o opendkim -g opendkim -m 0600 front/dkim.private dkimv/key.pem &&
	dkim_installed_is dkim2.key &&
	printf "%s\n" "From: test@example.test" "To: user@example.test" \
		"Subject: rotated DKIM key" "Date: $(date -R)" "" "signed after the rotation" >msg &&
	opendkim_setup "$TRASH/dkimv" "$TRASH/dkimv/key.pem" s1 example.test &&
	opendkim_sign "$TRASH/dkimv" msg >sig &&
	cat sig msg >signed &&
	printf "%s\n" "server:" "  local-zone: \"test.\" nodefault" \
		"  trust-anchor-file: \"$DNS_ANCHOR\"" "forward-zone:" "  name: \".\"" \
		"  forward-addr: $DNS_RESOLVER" >dkimv/unbound.conf &&
	printf "%s\n" "Mode v" "ResolverConfiguration $TRASH/dkimv/unbound.conf" \
		"Syslog no" "UserID opendkim" >dkimv/dns.conf &&
	opendkim_run_ "$TRASH/dkimv" dns.conf signed >verdict &&
	cat verdict &&
	grep "verification (s=s1, d=example.test, .*) succeeded" verdict &&
	! grep insecure verdict
'

test_expect_success 'opendkim: mail signed by the client Postfix through the OpenDKIM milter verifies at the server' '
	mkdir -m 0755 milter &&
	chown opendkim:opendkim milter &&
	install -o opendkim -g opendkim -m 0600 front/dkim.private milter/key.pem &&
	printf "%s\n" "Mode s" "Domain example.test" "Selector s1" "KeyFile $TRASH/milter/key.pem" \
		"Socket local:$TRASH/milter/sock" "UMask 000" "Canonicalization relaxed/simple" \
		"Syslog no" "UserID opendkim" "PidFile $TRASH/milter/pid" >milter/opendkim.conf &&
	DAEMON_NETNS=client daemon_start opendkim "" opendkim -f -x "$TRASH/milter/opendkim.conf" &&
	wait_until_ 10 test -S milter/sock &&
	postconf -c "$TRASH/client/etc" -e "smtpd_milters = unix:$TRASH/milter/sock" \
		"milter_default_action = tempfail" &&
	postfix_reload "$TRASH/client" &&
	install -d -o 65534 -g 65534 -m 0755 vmail &&
	postconf -c "$TRASH/pf/etc" -e "relay_domains =" "transport_maps =" \
		"virtual_mailbox_domains = example.test" "virtual_mailbox_base = $TRASH/vmail" \
		"virtual_mailbox_maps = inline:{user3@example.test=user3}" \
		"virtual_uid_maps = static:65534" "virtual_gid_maps = static:65534" &&
	postconf -c "$TRASH/pf/etc" -M "virtual/unix=virtual unix - n n - - virtual" &&
	postfix_reload "$TRASH/pf" &&
	smtp_inject client user3@example.test &&
	{ wait_until_ 30 grep -q "^DKIM-Signature: .*d=example.test; s=s1" vmail/user3 ||
		{ tail -n 20 client/maillog pf/maillog; false; }; } &&
	install -m 0644 vmail/user3 dkimv/received &&
	sed -i "1{/^From /d}" dkimv/received &&
	opendkim_run_ "$TRASH/dkimv" dns.conf dkimv/received >verdict &&
	cat verdict &&
	grep "verification (s=s1, d=example.test, .*) succeeded" verdict &&
	! grep insecure verdict
'

test_expect_success 'push: a target whose keys are sealed is held too, from its clear copy in STATE/previous' '
	"$CERTPULL" keygen -o front/node.key >keygen.out &&
	sed -i "/^state_dir:/a secret_key: $TRASH/front/node.key" front/certpull.yaml &&
	RECIPIENT=$(sed -n "s/^recipient: //p" keygen.out) ENDPOINT=$FRONT \
		DKIM="$TRASH/src/dkim.key s1 example.test" dane_conf >certpush.yaml &&
	push_released &&
	before=$(spki_sha256 front/site.pem) &&
	test_file_mode state/previous/front.bundle 600 &&
	make_cert ca z "DNS:mail.example.test" && source_leaf ca z &&
	hash_z=$(spki_sha256 ca/z.crt) &&
	test_expect_code 1 push --now >out 2>err &&
	cat out err &&
	grep "www held .*publish _25._tcp.mail.example.test. IN TLSA 3 1 1 $hash_z$" err &&
	! grep "no previous bundle" out err &&
	test "$(spki_sha256 front/site.pem)" = "$before" &&
	dns_publish "_25._tcp.mail IN TLSA 3 1 1 $hash_z" &&
	push_released &&
	installed_is z
'

# An unsigned zone plain.test on the same nsd and unbound: no trust anchor
# covers it, so it resolves (no SERVFAIL) but insecure (no AD flag).  DANE
# is not in effect there: the audit warns, a key change is held, even with
# the matching records published.
test_expect_success 'insecure: an unsigned zone resolves, without the AD flag' '
	make_cert ca y "DNS:mail.example.test" &&
	hash_y=$(spki_sha256 ca/y.crt) &&
	dns_add_unsigned plain.test "_25._tcp.mail IN TLSA 3 1 1 $hash_z" \
		"_25._tcp.mail IN TLSA 3 1 1 $hash_y" &&
	dns_dig _25._tcp.mail.plain.test TLSA >dig.out &&
	cat dig.out &&
	grep -q "status: NOERROR" dig.out &&
	grep -q "flags:" dig.out && ! grep -q "flags:.* ad" dig.out &&
	grep -q "ANSWER: 2," dig.out &&
	grep -qi "IN	TLSA	3 1 1 ${hash_y:0:56} ${hash_y:56}$" dig.out &&
	DANE_HOST=mail.plain.test RECIPIENT=$(sed -n "s/^recipient: //p" keygen.out) \
		ENDPOINT=$FRONT DKIM="$TRASH/src/dkim.key s1 example.test" \
		dane_conf >certpush.yaml &&
	push check-config &&
	test_expect_code 1 push tlsa >out && cat out &&
	grep -x "_25._tcp.mail.plain.test. IN TLSA 3 1 1 $hash_z ; www current: _25._tcp.mail.plain.test.: DNS answer insecure (the zone is not DNSSEC-signed, or the trust anchor does not cover it)" out
'

test_expect_success 'insecure: the audit warns that DANE is not in effect (WARNING, not OK nor CRITICAL)' '
	insecure="DNSSEC insecure: the zone is not signed (or not under the trust anchor), DANE is not in effect" &&
	test_expect_code 1 push audit --json >audit.json &&
	for where in "front/$FRONT:25 _25._tcp.mail.plain.test." _25._tcp.mail.plain.test.; do
		test "$(field audit.json "$where" verdict)" = WARNING &&
		test "$(field audit.json "$where" problems)" = "$insecure" || return 1
	done &&
	jq -e "[.lines[] | select(.verdict != \"OK\")] | length == 2" audit.json &&
	test_expect_code 1 push audit >audit.txt &&
	cat audit.txt &&
	test $(grep -c "WARNING .*$insecure$" audit.txt) = 2 &&
	test_expect_code 1 push audit --prometheus >prom &&
	grep "^certpush_audit_verdict{kind=\"dane\",source=\"_25._tcp.mail.plain.test.\",item=\"\"} 1$" prom &&
	test_expect_code 1 push audit --nagios >nagios &&
	grep "^CERTS WARNING - 0 critical, 2 warning" nagios
'

test_expect_success 'insecure: a new key is held there, its matching record published or not' '
	source_leaf ca y &&
	before=$(sha256sum <front/site.pem) &&
	for i in 1 2; do
		test_expect_code 1 push --now >out 2>err &&
		cat out err &&
		grep -x "certpush: front: www held (since [0-9]* s): new key: _25._tcp.mail.plain.test.: DNS answer insecure (the zone is not DNSSEC-signed, or the trust anchor does not cover it)" err &&
		grep "^front  *unchanged .*  held: www: new key: _25._tcp.mail.plain.test.: DNS answer insecure (" out &&
		test "$(sha256sum <front/site.pem)" = "$before" &&
		installed_is z || return 1
	done &&
	push status --json >status.json &&
	jq -e ".targets[0].holds[0].item == \"www\" and .targets[0].holds[0].checks == 2 and
		(.targets[0].holds[0].reason | contains(\"DNS answer insecure\"))" status.json
'

test_done
