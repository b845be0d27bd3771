#!/bin/bash
# tests/corpus/make-corpus.sh: (re)generate the hostile-bundle corpus.
#
#   tests/corpus/make-corpus.sh [OUTDIR]   write the corpus (default: this folder)
#   tests/corpus/make-corpus.sh key FILE   write the corpus signing key to FILE
#   tests/corpus/make-corpus.sh other FILE write the untrusted key to FILE
#
# The corpus is committed; tests/t0830-hostile-input.sh checks every file
# against the real certpull.  Run this again only to change the cases
# (then commit the result): certificates and signatures come out different
# each time, the cases, their expected verdicts and the keys do not.
#
# Both Ed25519 keys are derived from fixed seeds, so the trusted key
# (trusted.pub) never changes and the tests can re-sign bundles with it.
# They are throwaway test keys: never trust them anywhere else.  The CA,
# leaves and other keys are made afresh by each run and thrown away.
#
# The base bundle comes from the real certpush bundle (so entries are
# exactly what certpush writes); craft.pl then changes one thing at a time
# and re-signs.  Controls and every case that must fail for a reason other
# than time expire on 2099-01-01 and carry leaves valid until 2099-12-31,
# so the committed verdicts do not change as the years pass.
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
CERTPUSH=${CERTPUSH:-$SRC/certpush/certpush}
export LC_ALL=C TZ=UTC

# seed_key NAME FILE: the Ed25519 key whose 32-byte seed is SHA-256(NAME),
# as PKCS#8 PEM, mode 0600.
seed_key () {
	local seed
	seed=$(printf '%s' "$1" | sha256sum | cut -c1-64)
	(umask 077 && printf '302e020100300506032b657004220420%s' "$seed" | xxd -r -p |
		openssl pkey -inform DER -out "$2")
}

SIGNING_SEED="certpush hostile corpus signing key 1"
OTHER_SEED="certpush hostile corpus untrusted key 1"

case ${1:-} in
key) seed_key "$SIGNING_SEED" "$2"; exit 0 ;;
other) seed_key "$OTHER_SEED" "$2"; exit 0 ;;
esac

OUT=${1:-$HERE}
test -x "$CERTPUSH" || { echo "build certpush first ($CERTPUSH)" >&2; exit 1; }
W=$(mktemp -d "${TMPDIR:-/tmp}/make-corpus.XXXXXX")
trap 'rm -rf "$W"' EXIT
M=$W/mat
mkdir -p "$M/db" "$W/state" && chmod 0700 "$W" "$W/state"
: >"$M/db/index.txt"

key_ec () {
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1"
}

# CA: root and intermediate, EC P-256.
key_ec "$M/ca.key"
key_ec "$M/intermediate.key"
openssl req -x509 -new -key "$M/ca.key" -days 36500 -subj "/CN=corpus root" \
	-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
	-out "$M/ca.crt"
openssl req -new -key "$M/intermediate.key" -subj "/CN=corpus intermediate" -out "$M/db/i.csr"
printf '%s\n' basicConstraints=critical,CA:TRUE,pathlen:0 keyUsage=critical,keyCertSign,cRLSign \
	>"$M/db/i.ext"
openssl x509 -req -in "$M/db/i.csr" -CA "$M/ca.crt" -CAkey "$M/ca.key" -set_serial 2 \
	-days 36500 -extfile "$M/db/i.ext" -out "$M/intermediate.crt" 2>/dev/null
cat >"$M/ca.cnf" <<EOF
[ca]
default_ca = ica
[ica]
dir = $M
database = \$dir/db/index.txt
new_certs_dir = \$dir/db
rand_serial = yes
certificate = \$dir/intermediate.crt
private_key = \$dir/intermediate.key
default_md = sha256
policy = anything
unique_subject = no
email_in_dn = no
[anything]
commonName = supplied
[leaf]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:mail.test,DNS:www.test
EOF

# leaf NAME START END: NAME.key and NAME.crt, issued by the intermediate.
leaf () {
	key_ec "$M/$1.key"
	openssl req -new -key "$M/$1.key" -subj "/CN=mail.test" -out "$M/db/$1.csr"
	openssl ca -batch -notext -config "$M/ca.cnf" -extensions leaf -startdate "$2" \
		-enddate "$3" -in "$M/db/$1.csr" -out "$M/$1.crt" 2>"$M/db/$1.log" ||
		{ cat "$M/db/$1.log" >&2; exit 1; }
}

leaf www "$(date -u -d '-1 day' +%Y%m%d%H%M%SZ)" 20991231235959Z
leaf expired 20200101000000Z 20201231235959Z
leaf future 20980101000000Z 20991231235959Z
leaf short "$(date -u -d '-1 day' +%Y%m%d%H%M%SZ)" 20900101000000Z
key_ec "$M/other.key"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:512 -out "$M/rsa512.key" 2>/dev/null
openssl pkey -in "$M/www.key" -aes256 -passout pass:corpus -out "$M/encrypted.key"
openssl genpkey -algorithm ED25519 -out "$M/dkim.key"

# The base bundles, from the real certpush.
seed_key "$SIGNING_SEED" "$W/signing.key"
seed_key "$OTHER_SEED" "$W/other.key"
(umask 077 && mkdir "$W/src" && cp "$M/www.crt" "$W/src/cert.pem" &&
 cp "$M/intermediate.crt" "$W/src/chain.pem" && cp "$M/www.key" "$W/src/key.pem" &&
 cp "$M/dkim.key" "$W/src/dkim.key")
cat >"$W/certpush.yaml" <<EOF
signing_key: $W/signing.key
state_dir: $W/state
certificates:
  - name: www
    cert: $W/src/cert.pem
    chain: $W/src/chain.pem
    key: $W/src/key.pem
dkim:
  - name: dkim
    key: $W/src/dkim.key
    selector: sel
    domain: mail.test
targets:
  - name: mail
    type: local
    items: [www, dkim]
  - name: small
    type: local
    items: [dkim]
EOF
"$CERTPUSH" -c "$W/certpush.yaml" bundle --target mail -o "$W/base.bundle" >/dev/null
"$CERTPUSH" -c "$W/certpush.yaml" bundle --target small -o "$W/small.bundle" >/dev/null

mkdir -p "$OUT"
rm -f "$OUT"/*.bundle
perl "$HERE/craft.pl" corpus "$W/base.bundle" "$W/small.bundle" "$W/signing.key" \
	"$W/other.key" "$M" "$OUT"
pub=$(openssl pkey -in "$W/signing.key" -pubout -outform DER | tail -c 32 | base64)
echo "ed25519:$pub" >"$OUT/trusted.pub"
echo "$(grep -vc '^#' "$OUT/MANIFEST") cases in $OUT, trusted key $(cat "$OUT/trusted.pub")"
