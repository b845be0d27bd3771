#!/bin/bash
test_description='the pkcs12 file format, read by Java'"'"'s keytool and by openssl

certpull installs one item as two PKCS#12 files, one with a password read
from a root-only file and one with the empty password, for consumers such as Java that
read nothing else.  The files are checked with keytool and openssl; an
unchanged bundle leaves them byte for byte (PKCS#12 is salted anew at
each encoding); a password file others can read is refused, and nothing
changes.'
. "$(dirname "$0")/lib.sh"

test_have_prereq BUILT || skip_all "build certpush and certpull first"
for cmd in openssl keytool; do
	test_have_prereq "CMD:$cmd" || skip_all "missing $cmd"
done

pull () {
	"$CERTPULL" -c "$TRASH/certpull.yaml" "$@"
}

make_bundle () {
	source_leaf ca "$1" &&
	"$CERTPUSH" -c certpush.yaml bundle --target java -o "b-$1" >/dev/null &&
	echo "b-$1"
}

# keytool_leaf FILE [PASSWORD]: the SHA-256 fingerprint keytool reads from
# the private key entry of the PKCS#12 FILE.
keytool_leaf () {
	keytool -list -v -storetype PKCS12 -keystore "$1" -storepass "${2:-}" 2>&1 |
		sed -n "s/^[[:space:]]*SHA256: //p" | head -n 1
}

test_expect_success 'setup: CA, leaves, signing key, configurations' '
	make_ca ca && mkdir -m 0700 keys src state pullstate out &&
	make_cert ca a "DNS:app.test" >/dev/null && make_cert ca b "DNS:app.test" >/dev/null &&
	push_keys &&
	(umask 077 && printf "s3cret pass\n" >keys/p12.pass) &&
	{ push_conf_head --cert app && push_target_local java app; } >certpush.yaml &&
	{ pull_conf_head java "$TRASH/pullstate" && cat; } >certpull.yaml <<-EOF &&
	  - name: java
	    files:
	      - { path: $TRASH/out/app.p12, item: app, format: pkcs12, mode: "0600",
	          password_file: $TRASH/keys/p12.pass }
	      - { path: $TRASH/out/open.p12, item: app, format: pkcs12, mode: "0600" }
	    reload: [/bin/true]
	EOF
	pull check-config
'

test_expect_success 'install: keytool and openssl read leaf, chain and key' '
	bundle=$(make_bundle a) &&
	pull install "$bundle" >out.txt && cat out.txt &&
	grep "installed serial" out.txt &&
	test_file_mode out/app.p12 600 &&
	fp=$(cert_fingerprint ca/a.crt) &&
	test "$(keytool_leaf out/app.p12 "s3cret pass")" = "$fp" &&
	test "$(keytool_leaf out/open.p12)" = "$fp" &&
	openssl pkcs12 -in out/app.p12 -passin "file:keys/p12.pass" -nodes >app.pem 2>/dev/null &&
	test "$(grep -c "BEGIN CERTIFICATE" app.pem)" = 2 &&
	test "$(openssl pkey -in app.pem -pubout)" = "$(openssl x509 -in ca/a.crt -noout -pubkey)" &&
	test_must_fail openssl pkcs12 -in out/app.p12 -passin pass:wrong -nodes >/dev/null 2>&1
'

test_expect_success 'the same bundle again: unchanged, the files kept byte for byte' '
	cp -p out/app.p12 out/open.p12 . &&
	test_expect_code 2 pull install "$bundle" >out.txt &&
	cmp app.p12 out/app.p12 && cmp open.p12 out/open.p12
'

test_expect_success 'status and audit open the PKCS#12 files' '
	pull status >status.txt && cat status.txt &&
	test "$(grep -c "sha256: $(cert_fingerprint ca/a.crt)" status.txt)" = 2 &&
	pull audit --ca-file ca/ca.crt >audit.txt && cat audit.txt &&
	grep "^OK .*out/app.p12 .*key matches" audit.txt && grep "^OK .*out/open.p12 .*key matches" audit.txt
'

test_expect_success 'a password file others can read is refused; nothing changes' '
	chmod 0644 keys/p12.pass && test_when_finished "chmod 0600 keys/p12.pass" &&
	bundle=$(make_bundle b) &&
	test_expect_code 1 pull install "$bundle" >out.txt 2>err.txt && cat out.txt err.txt &&
	grep "failed at render: .*p12.pass.*" out.txt &&
	grep "(nothing changed)" out.txt &&
	cmp app.p12 out/app.p12
'

test_expect_success 'a renewal replaces both files' '
	test_expect_code 0 pull install "$bundle" >out.txt &&
	fp=$(cert_fingerprint ca/b.crt) &&
	test "$(keytool_leaf out/app.p12 "s3cret pass")" = "$fp" &&
	test "$(keytool_leaf out/open.p12)" = "$fp"
'

test_expect_success 'password_file is refused for other formats' '
	sed "s|format: pkcs12, mode: \"0600\" }|format: key, mode: \"0600\", password_file: /x }|" \
		certpull.yaml >bad.yaml &&
	test_must_fail "$CERTPULL" -c bad.yaml check-config 2>err.txt &&
	grep "password_file is for the pkcs12 format only" err.txt
'

test_done
