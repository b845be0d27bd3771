#!/bin/bash
# make demo: the whole flow on this one machine, with a throwaway CA.
#
# A "front" node (this machine's HAProxy on 127.0.0.1:8443, a local
# target) and a "mail" node (an sshd on 127.0.0.1:2222 whose key forces
# "certpull serve") receive a certificate and a DKIM key from certpush;
# then the bundle checks, a rejected forgery, status and the audit.
# Everything lives in a scratch folder (removed at the end unless KEEP=1)
# and every daemon it starts is stopped on exit.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
push="$top/certpush/certpush"
pull="$top/certpull/certpull"
# Not under /tmp or /var/tmp: sshd refuses keys below a world-writable folder.
mkdir -p /var/lib/certpush-demo
demo=$(mktemp -d /var/lib/certpush-demo/run.XXXXXX)
chmod 0755 "$demo"
pids=()
cleanup() {
	for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || :; done
	wait 2>/dev/null || :
	[ "${KEEP:-0}" = 1 ] || rm -rf "$demo"
}
trap cleanup EXIT
cd "$demo"

step() { printf '\n== %s\n' "$*"; }
wait_port() {
	for _ in $(seq 50); do
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		sleep 0.1
	done
	echo "demo: nothing listens on port $1" >&2
	return 1
}
served() {
	timeout 10 openssl s_client -connect "127.0.0.1:$1" -servername mail.example.test \
		</dev/null 2>/dev/null | openssl x509 -noout -fingerprint -sha256 | sed 's/.*=//'
}

step "1. a throwaway CA (root + intermediate), a leaf for mail.example.test, a DKIM key"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
	-subj "/CN=Demo Root CA" -keyout ca.key -out ca.crt \
	-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=Demo Intermediate" \
	-keyout int.key -out int.csr 2>/dev/null
printf 'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\n' >int.ext
openssl x509 -req -in int.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 30 \
	-extfile int.ext -out int.crt 2>/dev/null
mkdir -m 0700 keys src
leaf() {
	openssl req -newkey rsa:2048 -nodes -subj "/CN=mail.example.test" -keyout "src/$1.key" \
		-out "$1.csr" 2>/dev/null
	printf 'subjectAltName=DNS:mail.example.test,DNS:smtp.example.test\n' >leaf.ext
	openssl x509 -req -in "$1.csr" -CA int.crt -CAkey int.key -CAcreateserial -days "$2" \
		-extfile leaf.ext -out "src/$1.crt" 2>/dev/null
	chmod 0600 "src/$1.key"
}
leaf mail 20
cp src/mail.crt src/cert.pem && cp src/mail.key src/key.pem && cp int.crt src/chain.pem
openssl x509 -in src/cert.pem -noout -subject -enddate -fingerprint -sha256
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out src/dkim.key 2>/dev/null
chmod 0600 src/dkim.key

step "2. certpush keygen: the signing key, and an SSH identity for the push"
"$push" keygen -o keys/signing.key | tee pubkey.txt
pub=$(sed -n 's/^- //p' pubkey.txt)
ssh-keygen -q -t ed25519 -N '' -C certpush@demo -f keys/id_ed25519

step "3. the mail node: an sshd on 127.0.0.1:2222 whose key may only run certpull serve"
mkdir -p mail/home front
ssh-keygen -q -t ed25519 -N '' -C '' -f mail/host_key
printf 'restrict,command="%s -c %s/mail/certpull.yaml serve" %s\n' "$pull" "$demo" \
	"$(cat keys/id_ed25519.pub)" >mail/authorized_keys
chmod 0600 mail/authorized_keys
cat >mail/sshd_config <<EOF
Port 2222
ListenAddress 127.0.0.1
HostKey $demo/mail/host_key
PidFile none
AuthorizedKeysFile $demo/mail/authorized_keys
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
PermitRootLogin forced-commands-only
SetEnv HOME=$demo/mail/home
EOF
install -d -m 0755 /run/sshd
/usr/sbin/sshd -D -e -f "$demo/mail/sshd_config" 2>mail/sshd.log &
pids+=($!)
wait_port 2222
echo "[127.0.0.1]:2222 $(cut -d' ' -f1,2 mail/host_key.pub)" >keys/known_hosts
cat mail/authorized_keys | cut -c1-110

step "4. the front node: HAProxy on 127.0.0.1:8443 with a placeholder certificate"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
	-subj "/CN=placeholder" -keyout front/ph.key -out front/ph.crt 2>/dev/null
cat front/ph.crt front/ph.key >front/site.pem && chmod 0600 front/site.pem
cat >front/haproxy.cfg <<EOF
global
	stats socket $demo/front/admin.sock mode 600 level admin
defaults
	mode http
	timeout connect 5s
	timeout client 10s
	timeout server 10s
frontend tls
	bind 127.0.0.1:8443 ssl crt $demo/front/site.pem
	http-request return status 200 content-type text/plain string ok
EOF
haproxy -W -db -f front/haproxy.cfg >front/haproxy.log 2>&1 &
pids+=($!)
wait_port 8443
echo "front serves $(served 8443) (placeholder)"

step "5. certpull.yaml on each node, certpush.yaml on the front"
cat >front/certpull.yaml <<EOF
node: front
state_dir: $demo/front/state
trusted_keys: [$pub]
services:
  - name: haproxy
    files:
      - { path: $demo/front/site.pem, item: mail, format: haproxy, mode: "0600" }
    check: [/usr/sbin/haproxy, -c, -q, -f, $demo/front/haproxy.cfg]
    haproxy_socket: $demo/front/admin.sock
    endpoints:
      - { address: 127.0.0.1, port: 8443, sni: mail.example.test }
EOF
cat >mail/certpull.yaml <<EOF
node: mail
state_dir: $demo/mail/state
trusted_keys: [$pub]
services:
  - name: postfix
    files:
      - { path: $demo/mail/postfix.pem, item: mail, format: key+chain, mode: "0600" }
  - name: opendkim
    files:
      - { path: $demo/mail/dkim.private, item: dkim-2026, format: dkim, mode: "0600" }
EOF
cat >certpush.yaml <<EOF
signing_key: $demo/keys/signing.key
state_dir: $demo/state
certificates:
  - name: mail
    cert: $demo/src/cert.pem
    chain: $demo/src/chain.pem
    key: $demo/src/key.pem
    names: [mail.example.test, smtp.example.test]
dkim:
  - name: dkim-2026
    key: $demo/src/dkim.key
    selector: "2026"
    domain: example.test
targets:
  - name: front
    type: local
    certpull: $pull
    certpull_config: $demo/front/certpull.yaml
    items: [mail]
    # What "certpush audit" probes from here: the step 10 endpoint row.
    endpoints:
      - { address: 127.0.0.1, port: 8443, sni: mail.example.test }
  - name: mail
    host: 127.0.0.1
    port: 2222
    identity: $demo/keys/id_ed25519
    known_hosts: $demo/keys/known_hosts
    items: [mail, dkim-2026]
EOF
"$push" -c certpush.yaml check-config
"$pull" -c front/certpull.yaml check-config
"$pull" -c mail/certpull.yaml check-config

step "6. certpush --now: both nodes, in parallel"
"$push" -c certpush.yaml --now
echo "front now serves $(served 8443)"
ls -l mail/postfix.pem mail/dkim.private front/site.pem

step "7. a renewal: a new leaf, pushed again; the front swaps it in without a reload"
leaf renewed 25
cp src/renewed.crt src/cert.pem && cp src/renewed.key src/key.pem
"$push" -c certpush.yaml --now
echo "front now serves $(served 8443)"

step "8. the bundle checks: a signed bundle verifies, a forged one names the failed check"
"$push" -c certpush.yaml bundle --target mail -o mail.bundle
"$pull" -c mail/certpull.yaml verify mail.bundle
cp mail.bundle forged.bundle
printf '\x00' | dd of=forged.bundle bs=1 seek=200 conv=notrunc 2>/dev/null
if "$pull" -c mail/certpull.yaml verify forged.bundle; then
	echo "demo: a forged bundle was accepted" >&2
	exit 1
fi

step "9. status on the front and on a node"
"$push" -c certpush.yaml status
"$pull" -c mail/certpull.yaml status

if "$push" --help | grep -q ' audit'; then
	step "10. the expiry audit: sources, targets and the live endpoint"
	"$push" -c certpush.yaml audit --ca-file ca.crt >audit.txt || :
	cat audit.txt
	# The row promised above: the front's endpoint, serving the renewed leaf.
	if ! grep -q " endpoint .*front/127.0.0.1:8443" audit.txt; then
		echo "demo: the audit shows no row for the live endpoint" >&2
		exit 1
	fi
fi

printf '\ndemo: OK (scratch folder %s%s)\n' "$demo" \
	"$([ "${KEEP:-0}" = 1 ] && echo ', kept' || echo ', removed')"
