#!/bin/bash
# tests/lib-certs.sh: TLS and certificates (openssl CLI) for the
# integration tests: a throwaway CA, leaves valid for a chosen time, and
# the fingerprints of files and of what an endpoint serves.  Sourced by
# lib.sh.

# cert_fingerprint FILE: SHA-256 fingerprint of the first certificate in
# FILE, as "AB:CD:...", the format tls_fingerprint prints.
cert_fingerprint () {
	openssl x509 -noout -fingerprint -sha256 -in "$1" | sed 's/^.*=//'
}

# tls_fingerprint [--netns NODE] [--starttls PROTO] HOST PORT [SNI]:
# fingerprint of the leaf the endpoint serves (PROTO as openssl s_client
# -starttls knows it; for xmpp and xmpp-server SNI is also the stream's
# "to").  Fails when nothing is served.
tls_fingerprint () {
	local ns_cmd=() starttls=() sni=() pem
	while :; do
		case $1 in
		--netns) ns_cmd=(ip netns exec "$(netns_name "$2")"); shift 2 ;;
		--starttls) starttls=(-starttls "$2"); shift 2 ;;
		*) break ;;
		esac
	done
	test -z "${3:-}" || sni=(-servername "$3")
	case ${starttls[1]:-}/${3:-} in
	xmpp*/?*) sni+=(-xmpphost "$3") ;;
	esac
	pem=$(timeout 10 "${ns_cmd[@]}" openssl s_client -connect "$1:$2" \
		"${starttls[@]}" "${sni[@]}" </dev/null 2>/dev/null |
		sed -n '/-BEGIN CERTIFICATE-/,/-END CERTIFICATE-/p')
	test -n "$pem" || { echo "tls_fingerprint: no certificate from $1:$2" >&2; return 1; }
	printf '%s\n' "$pem" | openssl x509 -noout -fingerprint -sha256 | sed 's/^.*=//'
}

fingerprint_is_ () {
	local want=$1
	shift
	test "$(tls_fingerprint "$@" 2>/dev/null)" = "$want"
}

# wait_for_fingerprint FP TIMEOUT_S TLS_FINGERPRINT_ARGS...: wait until the
# endpoint serves the leaf with fingerprint FP (daemons may pick up a new
# certificate a moment after a reload returns).
wait_for_fingerprint () {
	local want=$1 timeout=$2
	shift 2
	wait_until_ "$timeout" fingerprint_is_ "$want" "$@" && return 0
	echo "wait_for_fingerprint: $* serves $(tls_fingerprint "$@"), expected $want"
	return 1
}

# make_ca DIR: a throwaway root CA (DIR/ca.crt) and intermediate
# (DIR/intermediate.crt), plus the "openssl ca" database make_cert uses.
make_ca () {
	local dir=$1
	mkdir -p "$dir/db" &&
	(umask 077 &&
	 openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$dir/ca.key" &&
	 openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$dir/intermediate.key") &&
	openssl req -x509 -new -key "$dir/ca.key" -days 3650 -subj "/CN=certpush test root $$" \
		-addext basicConstraints=critical,CA:TRUE \
		-addext keyUsage=critical,keyCertSign,cRLSign \
		-out "$dir/ca.crt" 2>/dev/null &&
	openssl req -new -key "$dir/intermediate.key" -subj "/CN=certpush test intermediate $$" \
		-out "$dir/db/intermediate.csr" &&
	printf '%s\n' basicConstraints=critical,CA:TRUE,pathlen:0 \
		keyUsage=critical,keyCertSign,cRLSign >"$dir/db/intermediate.ext" &&
	openssl x509 -req -in "$dir/db/intermediate.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" \
		-set_serial "0x$(openssl rand -hex 8)" -days 3650 -extfile "$dir/db/intermediate.ext" \
		-out "$dir/intermediate.crt" 2>/dev/null &&
	: >"$dir/db/index.txt" &&
	make_ca_conf_ "$dir" >"$dir/ca.cnf"
}

# "openssl ca" rather than "x509 -req": OpenSSL 3.0's x509 has no
# -not_before/-not_after and rejects negative -days, while "ca" takes
# -startdate/-enddate, so expired or soon-expiring leaves need no faketime.
make_ca_conf_ () {
	cat <<EOF
[ca]
default_ca = ica
[ica]
dir = $1
database = \$dir/db/index.txt
new_certs_dir = \$dir/db
serial = \$dir/db/serial
rand_serial = yes
certificate = \$dir/intermediate.crt
private_key = \$dir/intermediate.key
default_md = sha256
policy = anything
unique_subject = no
copy_extensions = none
email_in_dn = no
[anything]
commonName = supplied
[leaf]
basicConstraints = critical,CA:FALSE
keyUsage = critical,\$ENV::CPT_KU
extendedKeyUsage = serverAuth,clientAuth
subjectAltName = \$ENV::CPT_SAN
EOF
}

# openssl_time_ SECONDS_FROM_NOW: GeneralizedTime for -startdate/-enddate.
openssl_time_ () {
	date -u -d "@$(($(date +%s) + $1))" +%Y%m%d%H%M%SZ
}

# validity_secs_ SPEC: seconds for "30", "30d", "-2d", "12h", "5m", "90s".
validity_secs_ () {
	case $1 in
	*d) echo $((${1%d} * 86400)) ;;
	*h) echo $((${1%h} * 3600)) ;;
	*m) echo $((${1%m} * 60)) ;;
	*s) echo $((${1%s})) ;;
	*) echo $(($1 * 86400)) ;;
	esac
}

# The notBefore of every leaf make_cert makes in a script, unless CERT_START
# (seconds since the epoch) is set: an hour before the script started.  One
# date for all, because certpull refuses a leaf issued earlier than the one
# a file holds (verify:older), and the scripts that go back and forth
# between leaves test other things; those that test that check set
# CERT_START.  CERT_START=now dates each leaf when it is made, as a CA
# does: for the scripts whose leaves follow real ACME clients' (pebble
# dates its leaves when it issues them), each one newer than the last.
CERT_EPOCH_=$(($(date +%s) - 3600))

# cert_start_: that notBefore as GeneralizedTime, for -startdate.
cert_start_ () {
	case ${CERT_START:-} in
	now) date -u +%Y%m%d%H%M%SZ ;;
	*) date -u -d "@${CERT_START:-$CERT_EPOCH_}" +%Y%m%d%H%M%SZ ;;
	esac
}

# make_cert DIR NAME SANS [rsa|ec] [VALIDITY]: a leaf for SANS ("DNS:a,DNS:b")
# signed by DIR's intermediate (run make_ca DIR first).  Writes NAME.key
# (0600), NAME.crt, NAME.chain (intermediate), NAME.fullchain (leaf +
# intermediate) and NAME.pem (key + leaf + intermediate, 0600: HAProxy's crt
# and Postfix's smtpd_tls_chain_files).  VALIDITY (default 90d; suffix d, h,
# m or s) counts from now; not before is $CERT_START, or else $CERT_EPOCH_.
# A VALIDITY <= 0 gives
# a leaf that expired that long ago (valid for the 30 days before).
make_cert () {
	local dir=$1 name=$2 san=$3 type=${4:-rsa} secs start end cn ku
	secs=$(validity_secs_ "${5:-90d}") || return 1
	if test "$secs" -gt 0; then
		start=$(cert_start_)
		end=$(openssl_time_ "$secs")
	else
		start=$(openssl_time_ $((secs - 30 * 86400))) end=$(openssl_time_ $((secs - 1)))
	fi
	cn=${san%%,*}
	cn=${cn#*:}
	case $type in
	rsa) set -- -algorithm RSA -pkeyopt rsa_keygen_bits:2048
	    ku=digitalSignature,keyEncipherment ;;
	ec) set -- -algorithm EC -pkeyopt ec_paramgen_curve:P-256
	    ku=digitalSignature ;;
	*) echo "make_cert: unknown key type $type"; return 1 ;;
	esac
	rm -f "$dir/$name.key" "$dir/$name.pem"
	(umask 077 && openssl genpkey -quiet "$@" -out "$dir/$name.key") &&
	openssl req -new -key "$dir/$name.key" -subj "/CN=$cn" -out "$dir/db/$name.csr" &&
	CPT_SAN=$san CPT_KU=$ku openssl ca -batch -notext -config "$dir/ca.cnf" -extensions leaf \
		-startdate "$start" -enddate "$end" -in "$dir/db/$name.csr" \
		-out "$dir/$name.crt" 2>"$dir/db/$name.log" ||
		{ cat "$dir/db/$name.log"; return 1; }
	cp "$dir/intermediate.crt" "$dir/$name.chain" &&
	cat "$dir/$name.crt" "$dir/$name.chain" >"$dir/$name.fullchain" &&
	(umask 077 && cat "$dir/$name.key" "$dir/$name.fullchain" >"$dir/$name.pem")
}

# source_leaf CADIR NAME [DIR]: DIR (default src) gets leaf NAME of
# CADIR as the files a certpush source reads: cert.pem, chain.pem and
# key.pem (0600).
source_leaf () {
	local dir=${3:-src}
	cp "$1/$2.crt" "$dir/cert.pem" && cp "$1/$2.chain" "$dir/chain.pem" &&
	install -m 0600 "$1/$2.key" "$dir/key.pem"
}
