#!/bin/bash
test_description='DANE and DKIM against real DNS: certpush tlsa, the hold of key changes

A DNSSEC-signed zone example.test served by nsd (node ns) and a validating
unbound (node resolver); certpush runs in node front and asks the resolver
through libunbound, which validates from the zone'"'"'s DS itself.  Records are
published mid-test (zone re-signed, nsd reloaded, unbound flushed).'
. "$(dirname "$0")/lib.sh"
. "$SRC/tests/lib-dns.sh"

test_have_prereq ROOT || skip_all "needs root"
test_have_prereq NETNS || skip_all "cannot create network namespaces"
test_have_prereq BUILT || skip_all "build certpush and certpull first"
for cmd in nsd nsd-control unbound unbound-control ldns-keygen ldns-signzone dig openssl; do
	test_have_prereq "CMD:$cmd" || skip_all "missing $cmd"
done

# spki_sha256 CERT_OR_KEY: the 3 1 1 association data of a certificate or key.
spki_sha256 () {
	case $(head -n 1 "$1") in
	*CERTIFICATE*) openssl x509 -in "$1" -noout -pubkey | openssl pkey -pubin -outform DER ;;
	*) openssl pkey -in "$1" -pubout -outform DER ;;
	esac | openssl dgst -sha256 -r | cut -d " " -f 1
}

# dane_conf [DNS_LINE...]: certpush.yaml with certificate www pinned by
# _25._tcp.mail.example.test (3 1 1 and 2 1 1), the dns: section (its
# resolver, then each DNS_LINE), one local target.
dane_conf () {
	local head
	head=$(push_conf_head "dns:" "  trust_anchor: $DNS_ANCHOR" \
		"  timeout: ${DNS_TIMEOUT:-10}" "  resolver: [${RESOLVER:-$DNS_RESOLVER}]" "$@") &&
	printf '%s' "${head%targets:}" &&
	cat <<-EOF &&
	    dane:
	      - { host: mail.example.test, port: 25, usages: ["3 1 1", "2 1 1"] }
	    next_key: $TRASH/src/next.key
	targets:
	EOF
	push_target_local front www "$TRASH/front/certpull.yaml"
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

test_done
