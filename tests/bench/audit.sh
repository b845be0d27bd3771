#!/bin/bash
# Scenario 4, audit: expiry of 1,000 certificate files by "certpush audit",
# ssl-cert-check (Debian), a shell loop of "openssl x509 -enddate", and
# one openssl process reading them all as one bundle (the parsing floor);
# then 64 live STARTTLS endpoints (one real Postfix listening on 64 ports,
# each with its own certificate) by "certpush audit" (endpoints in the
# configuration, audited in parallel) and by a sequential loop of
# "openssl s_client -starttls smtp".  Verdicts are compared as sets:
# expired, expiring within 21 days, valid.
#
# Knobs: BENCH_AUDIT_FILES (default 1000), BENCH_SSLCC_FILES (how many of
# them ssl-cert-check reads; fewer is extrapolated, and labelled so; default
# all), BENCH_ENDPOINTS (default 64), BENCH_REPS.
set --
. "$(dirname "$0")/../lib.sh"
. "$SRC/tests/lib-services.sh"
. "$SRC/tests/bench/lib-bench.sh"

bench_begin audit "certificate expiry audit: files and live STARTTLS endpoints"
bench_need openssl /usr/bin/python3
if test -n "$BENCH_SMOKE"; then
	FILES=${BENCH_AUDIT_FILES:-20}
	ENDPOINTS=${BENCH_ENDPOINTS:-4}
	SSLCC_FILES=${BENCH_SSLCC_FILES:-5}
else
	FILES=${BENCH_AUDIT_FILES:-1000}
	ENDPOINTS=${BENCH_ENDPOINTS:-64}
	SSLCC_FILES=${BENCH_SSLCC_FILES:-$FILES}
fi
WARN=21
PORT0=2500

# classify NOW: read "NAME NOTAFTER_EPOCH" lines, print "NAME CLASS"
# sorted, CLASS one of expired, expiring (within WARN days), valid.
classify () {
	awk -v now="$1" -v warn="$WARN" '{
		c = $2 < now ? "expired" : ($2 < now + warn * 86400 ? "expiring" : "valid")
		n = $1; sub(/^.*\//, "", n); print n, c }' | sort
}

# json_lines FILE KIND: "WHERE NOTAFTER_EPOCH" of certpush audit --json's
# lines of that kind.
json_lines () {
	/usr/bin/python3 -c '
import json, sys
doc = json.load(open(sys.argv[1]))
for l in doc["lines"]:
    if l["kind"] == sys.argv[2] and l.get("not_after_epoch") is not None:
        print(l["where"], l["not_after_epoch"])
' "$1" "$2"
}

# sets_differ A B: how many names are classified differently (or missing).
sets_differ () {
	join -a 1 -a 2 -e none -o 0,1.2,2.2 "$1" "$2" | awk '$2 != $3' | wc -l
}

# --------------------------------------------------------------------------
# Files.

mkdir certs && "$BENCHTOOL" gencerts "$TRASH/certs" "$FILES" ||
	bench_fail "setup: $FILES certificates"
now=$(date +%s)
sed "s|^$TRASH/certs/||" certs.manifest | classify "$now" >truth.cls
cat certs/*.pem >all.pem
if test "$SSLCC_FILES" -lt "$FILES"; then
	mkdir certs-sslcc && ls certs | head -n "$SSLCC_FILES" |
		while read -r f; do cp "certs/$f" certs-sslcc/; done
else
	ln -s certs certs-sslcc
fi

declare -A WALL=() CPU=()
for ((rep = 1; rep <= BENCH_REPS; rep++)); do
	bench_measure m "$CERTPUSH" audit --json --warn "$WARN" certs >audit.json || :
	WALL[certpush]+=" $M_WALL" CPU[certpush]+=" $M_CPU"
	bench_measure m sh -c 'openssl crl2pkcs7 -nocrl -certfile all.pem |
		openssl pkcs7 -print_certs -noout >/dev/null' || bench_fail "openssl crl2pkcs7"
	WALL[pkcs7]+=" $M_WALL" CPU[pkcs7]+=" $M_CPU"
	bench_measure m openssl storeutl -noout -text all.pem >/dev/null ||
		bench_fail "openssl storeutl"
	WALL[storeutl]+=" $M_WALL" CPU[storeutl]+=" $M_CPU"
done
# The slow ones once: their spread is small beside their cost.
bench_measure m bash -c 'for f in certs/*.pem; do printf "%s " "$f";
	openssl x509 -in "$f" -noout -enddate; done' >loop.out || bench_fail "openssl loop"
WALL[loop]=$M_WALL CPU[loop]=$M_CPU
if command -v ssl-cert-check >/dev/null; then
	bench_measure m ssl-cert-check -b -x "$WARN" -d certs-sslcc/ >sslcc.out 2>sslcc.err || :
	WALL[sslcc]=$M_WALL CPU[sslcc]=$M_CPU
fi

# Verdicts, as sets.
json_lines audit.json file | sed "s|^certs/||" | classify "$now" >certpush.cls
sed 's/ notAfter=/|/' loop.out | awk -F'|' '{ print $2 }' >loop.dates
paste -d' ' <(awk '{ print $1 }' loop.out) <(date -f loop.dates +%s) | classify "$now" >loop.cls
diff_certpush=$(sets_differ truth.cls certpush.cls)
diff_loop=$(sets_differ truth.cls loop.cls)
floor_expired=$(openssl crl2pkcs7 -nocrl -certfile all.pem |
	openssl pkcs7 -print_certs -text -noout | sed -n 's/^ *Not After *: *//p' |
	date -f - +%s | awk -v now="$now" '$1 < now' | wc -l)
truth_expired=$(grep -c ' expired$' truth.cls)
if test -n "${WALL[sslcc]:-}"; then
	awk '$1 ~ /^FILE:/ { n = $1; sub(/^.*\//, "", n);
		c = $2 == "Expired" ? "expired" : ($2 == "Expiring" ? "expiring" : "valid");
		print n, c }' sslcc.out | sort >sslcc.cls
	if test "$SSLCC_FILES" -lt "$FILES"; then
		join -o 0,1.2 sslcc.cls truth.cls >truth-sslcc.cls
	else
		cp truth.cls truth-sslcc.cls
	fi
	diff_sslcc=$(sets_differ truth-sslcc.cls sslcc.cls)
fi

pw=$(median ${WALL[certpush]})
printf '%s certificate files (%s expired, %s expiring within %s days)\n' "$FILES" \
	"$truth_expired" "$(grep -c ' expiring$' truth.cls)" "$WARN"
printf '%-40s %9s %9s %12s %10s\n' method wall_s cpu_s certpush_x verdicts
row () {
	local name=$1 key=$2 w=$3 c=$4 v=$5
	printf '%-40s %9.3f %9.3f %12s %10s\n' "$name" "$w" "$c" "$(ratio "$w" "$pw")" "$v"
	bench_result "files/$key" wall_s "$w" s
	bench_result "files/$key" cpu_s "$c" s
	test "$key" = certpush || bench_result "files/$key" speedup_of_certpush "$(ratio "$w" "$pw")" x
}
row "certpush audit --json (median)" certpush "$pw" "$(median ${CPU[certpush]})" \
	"$(test "$diff_certpush" = 0 && echo same || echo "$diff_certpush differ")"
row "openssl crl2pkcs7 | pkcs7 (floor, median)" pkcs7 "$(median ${WALL[pkcs7]})" \
	"$(median ${CPU[pkcs7]})" "$(test "$floor_expired" = "$truth_expired" &&
	echo "same count" || echo "count differs")"
row "openssl storeutl (floor, median)" storeutl "$(median ${WALL[storeutl]})" \
	"$(median ${CPU[storeutl]})" "-"
row "shell loop of openssl x509 -enddate" loop "${WALL[loop]}" "${CPU[loop]}" \
	"$(test "$diff_loop" = 0 && echo same || echo "$diff_loop differ")"
if test -n "${WALL[sslcc]:-}"; then
	if test "$SSLCC_FILES" -lt "$FILES"; then
		scale=$(calc "$FILES / $SSLCC_FILES")
		row "ssl-cert-check (EXTRAPOLATED x$scale)" sslcc_extrapolated \
			"$(calc "${WALL[sslcc]} * $scale")" "$(calc "${CPU[sslcc]} * $scale")" \
			"$(test "$diff_sslcc" = 0 && echo same || echo "$diff_sslcc differ")"
		printf '%-40s measured on %s files: %.3f s\n' "" "$SSLCC_FILES" "${WALL[sslcc]}"
	else
		row "ssl-cert-check -d" sslcc "${WALL[sslcc]}" "${CPU[sslcc]}" \
			"$(test "$diff_sslcc" = 0 && echo same || echo "$diff_sslcc differ")"
	fi
	bench_result files/sslcc verdict_differences "$diff_sslcc" count
	bench_result files/sslcc files_read "$SSLCC_FILES" count
fi
bench_result files/certpush verdict_differences "$diff_certpush" count
bench_result files/loop verdict_differences "$diff_loop" count

# --------------------------------------------------------------------------
# Live endpoints: one Postfix in namespace "mx", STARTTLS on PORT0+1..,
# each port with its own certificate (the same mix of expiry dates).

test_have_prereq ROOT || { echo "endpoints: SKIPPED (needs root)"; bench_done; }
test_have_prereq NETNS || { echo "endpoints: SKIPPED (no namespaces)"; bench_done; }
for cmd in postfix socat; do
	test_have_prereq "CMD:$cmd" || { echo "endpoints: SKIPPED (no $cmd)"; bench_done; }
done
mkdir ep && "$BENCHTOOL" gencerts "$TRASH/ep" "$ENDPOINTS" || bench_fail "setup: endpoint certificates"
for ((i = 0; i < ENDPOINTS; i++)); do
	f=$(printf 'ep/cert%04d.pem' "$i")
	(umask 077 && cat ep.key "$f" >"${f%.pem}.chain") || bench_fail "setup: chain $i"
done
netns_create mx 1 >/dev/null || bench_fail "setup: namespace"
postfix_start mx "$TRASH/postfix" "$TRASH/ep/cert0002.chain" || bench_fail "setup: postfix"
for ((i = 0; i < ENDPOINTS; i++)); do
	printf '%d inet n - n - - smtpd\n  -o smtpd_tls_chain_files=%s\n' \
		$((PORT0 + i)) "$(printf '%s/ep/cert%04d.chain' "$TRASH" "$i")"
done >>postfix/etc/master.cf
postfix_reload "$TRASH/postfix" || bench_fail "setup: postfix reload"
for ((i = 0; i < ENDPOINTS; i++)); do
	NETNS=mx wait_for_port 127.0.0.1 $((PORT0 + i)) 10 >/dev/null ||
		bench_fail "postfix does not listen on $((PORT0 + i))"
done

# certpush.yaml: local targets of 16 endpoints each (certpull.yaml's limit).
"$CERTPUSH" keygen -o "$TRASH/signing.key" >keygen.out || bench_fail "setup: keygen"
pub=$(sed -n 's/^- //p' keygen.out)
{
	printf 'signing_key: %s\nstate_dir: %s\n' "$TRASH/signing.key" "$TRASH/state"
	printf 'certificates:\n  - name: mail\n    cert: %s\n    key: %s\n' \
		"$TRASH/ep/cert0002.pem" "$TRASH/ep.key"
	echo "targets:"
	for ((i = 0; i < ENDPOINTS; i++)); do
		if test $((i % 16)) = 0; then
			t=mx$((i / 16))
			mkdir -p "$t"
			printf 'node: %s\nstate_dir: %s\ntrusted_keys: [%s]\n' "$t" "$TRASH/$t/state" "$pub" \
				>"$t/certpull.yaml"
			printf 'services:\n  - name: postfix\n    files:\n' >>"$t/certpull.yaml"
			printf '      - { path: %s, item: mail, format: key+chain, mode: "0600" }\n' \
				"$TRASH/$t/chain.pem" >>"$t/certpull.yaml"
			printf '  - name: %s\n    type: local\n    certpull: %s\n' "$t" "$CERTPULL"
			printf '    certpull_config: %s\n    items: [mail]\n    endpoints:\n' \
				"$TRASH/$t/certpull.yaml"
		fi
		printf '      - { address: 127.0.0.1, port: %d, starttls: smtp }\n' $((PORT0 + i))
	done
} >audit.yaml
"$CERTPUSH" -c audit.yaml check-config >/dev/null || bench_fail "setup: audit.yaml"
conc=$(sed -n 's/^concurrency: //p' audit.yaml)

cat >starttls-loop.sh <<EOF
#!/bin/bash
# The sequential loop: each endpoint's certificate after STARTTLS.
for ((i = 0; i < $ENDPOINTS; i++)); do
	p=\$(($PORT0 + i))
	printf 'cert%04d.pem ' "\$i"
	openssl s_client -connect 127.0.0.1:\$p -starttls smtp </dev/null 2>/dev/null |
		openssl x509 -noout -enddate
done
EOF
chmod 0755 starttls-loop.sh
# Warm-up: every port has an smtpd waiting, as on a server in service.
netns_exec mx ./starttls-loop.sh >/dev/null 2>&1
declare -A EW=() EC=()
for ((rep = 1; rep <= BENCH_REPS; rep++)); do
	bench_measure m ip netns exec "$(netns_name mx)" "$CERTPUSH" -c "$TRASH/audit.yaml" \
		audit --json --warn "$WARN" >ep-audit.json 2>ep-audit.err || :
	EW[certpush]+=" $M_WALL" EC[certpush]+=" $M_CPU"
	bench_measure m ip netns exec "$(netns_name mx)" "$TRASH/starttls-loop.sh" \
		>ep-loop.out 2>/dev/null || :
	EW[loop]+=" $M_WALL" EC[loop]+=" $M_CPU"
done
json_lines ep-audit.json endpoint | awk '{ split($1, a, ":"); printf "cert%04d.pem %s\n",
	a[length(a)] - '"$PORT0"', $2 }' | classify "$now" >ep-certpush.cls
sed 's/ notAfter=/|/' ep-loop.out | awk -F'|' '{ print $2 }' >ep-loop.dates
paste -d' ' <(awk '{ print $1 }' ep-loop.out) <(date -f ep-loop.dates +%s) |
	classify "$now" >ep-loop.cls
sed "s|^$TRASH/ep/||" ep.manifest | classify "$now" >ep-truth.cls
d_c=$(sets_differ ep-truth.cls ep-certpush.cls) d_l=$(sets_differ ep-truth.cls ep-loop.cls)
pw=$(median ${EW[certpush]}) lw=$(median ${EW[loop]})
printf '\n%s live STARTTLS (SMTP) endpoints, one Postfix; median of %s runs\n' \
	"$ENDPOINTS" "$BENCH_REPS"
printf '%-40s %9s %9s %12s %10s\n' method wall_s cpu_s certpush_x verdicts
printf '%-40s %9.3f %9.3f %12s %10s\n' "certpush audit (concurrency ${conc:-16})" "$pw" \
	"$(median ${EC[certpush]})" 1.00 "$(test "$d_c" = 0 && echo same || echo "$d_c differ")"
printf '%-40s %9.3f %9.3f %12s %10s\n' "openssl s_client -starttls smtp loop" "$lw" \
	"$(median ${EC[loop]})" "$(ratio "$lw" "$pw")" \
	"$(test "$d_l" = 0 && echo same || echo "$d_l differ")"
bench_result endpoints/certpush wall_s "$pw" s
bench_result endpoints/certpush cpu_s "$(median ${EC[certpush]})" s
bench_result endpoints/certpush verdict_differences "$d_c" count
bench_result endpoints/loop wall_s "$lw" s
bench_result endpoints/loop cpu_s "$(median ${EC[loop]})" s
bench_result endpoints/loop verdict_differences "$d_l" count
bench_result endpoints/loop speedup_of_certpush "$(ratio "$lw" "$pw")" x
bench_done
