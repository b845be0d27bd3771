#!/bin/bash
# make demo: a throwaway CA, certificates and a DKIM key in a scratch
# folder, a signing key, a signed bundle for one target, verified by
# certpull.  Prints each step.  Leaves nothing behind but the scratch
# folder it names (removed unless KEEP=1).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
push="$top/certpush/certpush"
pull="$top/certpull/certpull"
demo=$(mktemp -d /var/tmp/certpush-demo.XXXXXX)
chmod 0755 "$demo"
[ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$demo"' EXIT
cd "$demo"

step() { printf '\n== %s\n' "$*"; }

step "1. a throwaway CA (root + intermediate) and a leaf for mail.example.test"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
	-subj "/CN=Demo Root CA" -keyout ca.key -out ca.crt \
	-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=Demo Intermediate" \
	-keyout int.key -out int.csr 2>/dev/null
printf 'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\n' >int.ext
openssl x509 -req -in int.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 30 \
	-extfile int.ext -out int.crt 2>/dev/null
mkdir -m 0700 keys
openssl req -newkey rsa:2048 -nodes -subj "/CN=mail.example.test" -keyout keys/mail.key \
	-out mail.csr 2>/dev/null
printf 'subjectAltName=DNS:mail.example.test,DNS:smtp.example.test\n' >leaf.ext
openssl x509 -req -in mail.csr -CA int.crt -CAkey int.key -CAcreateserial -days 20 \
	-extfile leaf.ext -out mail.crt 2>/dev/null
openssl x509 -in mail.crt -noout -subject -enddate -fingerprint -sha256

step "2. a DKIM key (RSA 2048)"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out keys/dkim.key 2>/dev/null
chmod 0600 keys/*.key

step "3. certpush.yaml for one target, node \"mail\""
mkdir -m 0700 state
cat >certpush.yaml <<YAML
signing_key: $demo/keys/signing.key
state_dir: $demo/state
certificates:
  - name: mail
    cert: $demo/mail.crt
    chain: $demo/int.crt
    key: $demo/keys/mail.key
    names: [mail.example.test, smtp.example.test]
dkim:
  - name: dkim-2026
    key: $demo/keys/dkim.key
    selector: "2026"
    domain: example.test
targets:
  - name: mail
    type: local
    items: [mail, dkim-2026]
YAML
"$push" -c certpush.yaml check-config

step "4. certpush keygen"
"$push" -c certpush.yaml keygen | tee pubkey.txt
pub=$(sed -n 's/^- //p' pubkey.txt)

step "5. certpull.yaml on the node, trusting that key"
cat >certpull.yaml <<YAML
node: mail
state_dir: $demo/pullstate
trusted_keys:
  - $pub
services:
  - name: postfix
    files:
      - path: $demo/installed/postfix.pem
        item: mail
        format: key+chain
        mode: "0600"
YAML
"$pull" -c certpull.yaml check-config

step "6. certpush bundle --target mail"
"$push" -c certpush.yaml bundle --target mail -o mail.bundle

step "7. certpull verify"
"$pull" -c certpull.yaml verify mail.bundle

step "8. a tampered copy is rejected, naming the check"
cp mail.bundle bad.bundle
printf '\x00' | dd of=bad.bundle bs=1 seek=200 conv=notrunc 2>/dev/null
if "$pull" -c certpull.yaml verify bad.bundle; then
	echo "demo: a tampered bundle was accepted" >&2
	exit 1
fi

printf '\ndemo: OK (scratch folder %s%s)\n' "$demo" \
	"$([ "${KEEP:-0}" = 1 ] && echo ', kept' || echo ', removed')"
