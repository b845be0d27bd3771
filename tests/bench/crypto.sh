#!/bin/bash
# Scenario 5, crypto floor: Ed25519 sign and verify through the project's
# code (benchtool crypto: sig.c and bundle.c, in process) beside
# "openssl speed ed25519" on the same machine, and whole commands
# ("certpush bundle", "certpull verify") per call.  What lies above the
# primitive is hashing the bundle, parsing and checking its content, and
# for the commands, process start, configuration and key loading.
#
# Knobs: BENCH_CRYPTO_S (seconds per measurement, default 3), BENCH_CMD_LOOPS
# (commands per loop, default 50).
set --
. "$(dirname "$0")/../lib.sh"
. "$SRC/tests/lib-services.sh"
. "$SRC/tests/bench/lib-bench.sh"

bench_begin crypto "Ed25519 sign + verify against the primitive's speed"
test_have_prereq BUILT || bench_skip "build certpush and certpull first"
test -x "$BENCHTOOL" || bench_skip "no $BENCHTOOL (make bench-tool)"
test_have_prereq CMD:openssl || bench_skip "missing openssl"
if test -n "$BENCH_SMOKE"; then
	SECS=${BENCH_CRYPTO_S:-0.3}
	LOOPS=${BENCH_CMD_LOOPS:-3}
else
	SECS=${BENCH_CRYPTO_S:-3}
	LOOPS=${BENCH_CMD_LOOPS:-50}
fi

make_ca ca >/dev/null && make_cert ca leaf "DNS:www.bench.test" ec >/dev/null &&
mkdir -p -m 0700 keys src state &&
(umask 077 && openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
	-out src/dkim.private 2>/dev/null) || bench_fail "setup: certificates"

# openssl speed: "253 bits EdDSA (Ed25519)  0.0000s  0.0001s  SIGN/S  VERIFY/S"
openssl speed -seconds "$(awk -v s="$SECS" 'BEGIN { print s < 1 ? 1 : int(s) }')" ed25519 >speed.out 2>/dev/null ||
	openssl speed ed25519 >speed.out 2>/dev/null || bench_fail "openssl speed"
read -r o_sign o_verify <<-EOF
$(awk '/\(Ed25519\)/ { print $(NF - 1), $NF }' speed.out | tail -n 1)
EOF
test -n "$o_verify" || bench_fail "cannot read openssl speed's output"

"$BENCHTOOL" crypto "$SECS" ca/leaf.fullchain ca/leaf.key src/dkim.private >tool.out ||
	bench_fail "benchtool crypto"
bytes=$(sed -n 's/^# bundle of \([0-9]*\) bytes/\1/p' tool.out)

# Whole commands: certpush bundle (config, key, sources, sign, write) and
# certpull verify (config, read, every check), LOOPS times each.
source_leaf ca leaf &&
push_keys &&
{
	push_conf_head --dkim "$TRASH/src/dkim.private" bench bench.test &&
	push_target_ssh node1 127.0.0.1 22 20 "www, dkim"
} >push.yaml &&
{
	pull_conf_head node1 "$TRASH/pull-state" &&
	pull_files_service "$TRASH/out/www.pem" www fullchain 0644
} >pull.yaml &&
"$CERTPUSH" -c push.yaml bundle --target node1 -o b.bundle >/dev/null ||
	bench_fail "certpush bundle"
bench_measure m bash -c 'for ((i = 0; i < $1; i++)); do
	"$2" -c push.yaml bundle --target node1 -o b.bundle >/dev/null || exit 1; done' \
	loop "$LOOPS" "$CERTPUSH" || bench_fail "certpush bundle loop"
c_bundle=$(calc "$M_WALL * 1e6 / $LOOPS")
bench_measure m bash -c 'for ((i = 0; i < $1; i++)); do
	"$2" -c pull.yaml verify b.bundle >/dev/null || exit 1; done' \
	loop "$LOOPS" "$CERTPULL" || bench_fail "certpull verify loop"
c_verify=$(calc "$M_WALL * 1e6 / $LOOPS")

# certpull install (whole command): a new certificate each time, three
# files (fullchain 0644, key 0600, DKIM key 0600), no reload, so that
# every install renders, stages, swaps, journals and fsyncs.  CPU per
# install is the figure of issue 16 (target: at most 5 ms); "callgrind"
# prints the instructions of one install when valgrind is there.
{
	pull_conf_head node1 "$TRASH/inst-state" &&
	cat <<-EOF
	  - name: files
	    files:
	      - { path: $TRASH/inst/www.pem, item: www, format: fullchain, mode: "0644" }
	      - { path: $TRASH/inst/www.key, item: www, format: key, mode: "0600" }
	      - { path: $TRASH/inst/dkim.private, item: dkim, format: dkim, mode: "0600" }
	EOF
} >inst.yaml && mkdir -p inst || bench_fail "setup: install config"
for ((i = 0; i <= LOOPS; i++)); do
	make_cert ca "l$i" "DNS:www.bench.test" ec >/dev/null && source_leaf ca "l$i" &&
		"$CERTPUSH" -c push.yaml bundle --target node1 -o "i$i.bundle" >/dev/null ||
		bench_fail "setup: bundle $i"
done
"$CERTPULL" -c inst.yaml install i0.bundle >/dev/null 2>&1 &&
	cp -a inst-state inst-state.0 && cp -a inst inst.0 || bench_fail "certpull install"
bench_measure m bash -c 'for ((i = 1; i <= $1; i++)); do
	"$2" -c inst.yaml install "i$i.bundle" >/dev/null 2>&1 || exit 1; done' \
	loop "$LOOPS" "$CERTPULL" || bench_fail "certpull install loop"
c_install=$(calc "$M_WALL * 1e6 / $LOOPS")
c_install_cpu=$(calc "$M_CPU * 1e3 / $LOOPS")
# The same installs again from the same state, each started by benchtool
# with posix_spawn: the CPU of each certpull process alone (its exec,
# linking and run), without the shell's fork that the loop above counts.
rm -rf inst-state inst && cp -a inst-state.0 inst-state && cp -a inst.0 inst &&
	"$BENCHTOOL" each each.out 1 "$LOOPS" "$CERTPULL" -c inst.yaml install "i{}.bundle" ||
	bench_fail "certpull install, each spawned"
c_install_own=$(median $(awk '{ print $3 * 1e3 }' each.out))
c_install_ir=-
if command -v valgrind >/dev/null && make_cert ca lv "DNS:www.bench.test" ec >/dev/null &&
	source_leaf ca lv && "$CERTPUSH" -c push.yaml bundle --target node1 -o iv.bundle >/dev/null &&
	valgrind --tool=callgrind --callgrind-out-file=cg.out "$CERTPULL" -c inst.yaml \
		install iv.bundle >/dev/null 2>cg.err; then
	c_install_ir=$(sed -n 's/^summary: //p' cg.out)
fi
# The fsync calls of one install (two files change: the DKIM key is the same).
c_install_fsync=-
if command -v strace >/dev/null && make_cert ca ls "DNS:www.bench.test" ec >/dev/null &&
	source_leaf ca ls && "$CERTPUSH" -c push.yaml bundle --target node1 -o is.bundle >/dev/null &&
	strace -f -c -o st.out -e trace=fsync,fdatasync "$CERTPULL" -c inst.yaml \
		install is.bundle >/dev/null 2>&1; then
	c_install_fsync=$(awk '$NF == "fsync" { print $4 }' st.out)
fi

tool () {
	awk -v k="$1" '$1 == k { print $3 }' tool.out
}
o_sign_us=$(calc "1e6 / $o_sign") o_verify_us=$(calc "1e6 / $o_verify")
printf 'bundle of %s bytes (ECDSA leaf + chain + key, RSA-2048 DKIM key)\n' "$bytes"
printf '%-44s %12s %10s\n' operation us_per_op x_primitive
line () {
	printf '%-44s %12.2f %10s\n' "$1" "$3" "$(ratio "$3" "$4")"
	bench_result "$2" us_per_op "$3" us
	bench_result "$2" x_primitive "$(ratio "$3" "$4")" x
}
line "openssl speed ed25519: sign (primitive)" openssl/sign "$o_sign_us" "$o_sign_us"
line "openssl speed ed25519: verify (primitive)" openssl/verify "$o_verify_us" "$o_verify_us"
line "sig_sign, 64 bytes" sig/sign_64B "$(tool sign_64B)" "$o_sign_us"
line "sig_verify, 64 bytes" sig/verify_64B "$(tool verify_64B)" "$o_verify_us"
line "sig_sign, the bundle's bytes" sig/sign_bundle "$(tool sign_bundle_bytes)" "$o_sign_us"
line "sig_verify, the bundle's bytes" sig/verify_bundle "$(tool verify_bundle_bytes)" \
	"$o_verify_us"
line "bundle_encode (hash entries, sign)" bundle/encode "$(tool bundle_encode)" "$o_sign_us"
line "bundle_verify (signature + every check)" bundle/verify_all \
	"$(tool bundle_verify_all)" "$o_verify_us"
line "certpush bundle (whole command)" cmd/certpush_bundle "$c_bundle" "$o_sign_us"
line "certpull verify (whole command)" cmd/certpull_verify "$c_verify" "$o_verify_us"
line "certpull install (whole command)" cmd/certpull_install "$c_install" "$o_verify_us"
printf '\ncertpull install, a new certificate, 3 files: %.2f ms CPU per install (%d installs' \
	"$c_install_cpu" "$LOOPS"
printf ' in a bash loop, its forks counted), %.2f ms (median, each process alone),' "$c_install_own"
printf ' %s instructions (callgrind, one install), %s fsync calls\n' \
	"$c_install_ir" "${c_install_fsync:--}"
bench_result cmd/certpull_install cpu_ms "$c_install_cpu" ms
bench_result cmd/certpull_install own_cpu_ms "$c_install_own" ms
test "$c_install_ir" = - || bench_result cmd/certpull_install instructions "$c_install_ir" count
test "${c_install_fsync:--}" = - || bench_result cmd/certpull_install fsyncs "$c_install_fsync" count
bench_done
