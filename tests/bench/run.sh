#!/bin/bash
# tests/bench/run.sh: make bench.  Runs the scenarios one after the other,
# each in its own scratch folder and namespaces (tests/lib.sh), prints
# their tables, then a summary of the targets met or missed.
#
# Usage: run.sh [--smoke] [SCENARIO...]
#   SCENARIO: fanout latency footprint audit crypto pullscale (default: all)
#   --smoke: tiny sizes, for tests/t0900-bench-smoke.sh (well under a minute)
#
# Environment (each also a make variable: make bench BENCH_REPS=5):
#   BENCH_ONLY         scenarios to run, as the arguments
#   BENCH_REPS         repetitions of each measurement, medians reported (3)
#   BENCH_FANOUT_N     fan-out target counts ("1 4 16 64")
#   BENCH_LATENCY_N    latency target counts ("4 16")
#   BENCH_RENEWALS     renewals per latency count (20)
#   BENCH_LINEAGES     lineages watched by the footprint daemon (100)
#   BENCH_IDLE_S       idle window of the footprint daemon (60)
#   BENCH_AUDIT_FILES  certificate files audited (1000)
#   BENCH_SSLCC_FILES  how many of them ssl-cert-check reads (all; fewer
#                      is extrapolated and labelled so)
#   BENCH_ENDPOINTS    live STARTTLS endpoints audited (64)
#   BENCH_CRYPTO_S     seconds per crypto measurement (3)
#   BENCH_PULL_N       simulated pulling nodes ("100 1000")
#   BENCH_PULL_PAR     fetches run at once by the pulling nodes (8)
#   BENCH_RESULTS      raw figures, TSV (build/bench/results.tsv)
#   BENCHTOOL          the helper (build/release/tests/bench/benchtool)
#
# Exit status: 0 if every scenario ran or was skipped for a stated reason,
# 1 if one failed, 64 on a usage error.
set -u
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
all="fanout latency footprint audit crypto pullscale"

usage () {
	sed -n '3,9p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 64
}

smoke= only=
for a in "$@"; do
	case $a in
	--smoke) smoke=1 ;;
	fanout|latency|footprint|audit|crypto|pullscale) only="$only $a" ;;
	*) usage ;;
	esac
done
only=${only:-${BENCH_ONLY:-$all}}
export BENCH_SMOKE=$smoke
export BENCHTOOL=${BENCHTOOL:-$src/build/release/tests/bench/benchtool}
export BENCH_RESULTS=${BENCH_RESULTS:-$src/build/bench/results${smoke:+-smoke}.tsv}
mkdir -p "$(dirname "$BENCH_RESULTS")" && : >"$BENCH_RESULTS" || exit 1

version () {
	dpkg-query -W -f '${Version}' "$1" 2>/dev/null || echo "?"
}

echo "make bench${smoke:+ (smoke: tiny sizes, not figures to quote)}: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "machine: $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)," \
	"$(awk '/^MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), Linux $(uname -r)"
echo "versions: $(ssh -V 2>&1 | cut -d, -f1), $(openssl version | cut -d' ' -f1-2)," \
	"libssh2 $(version libssh2-1), rsync $(version rsync), pssh $(version pssh)," \
	"haproxy $(version haproxy), postfix $(version postfix), ssl-cert-check $(version ssl-cert-check)"
echo "results: $BENCH_RESULTS"
# Other work on the machine skews every figure: say how busy it was.
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"

failed=
start=$SECONDS
for s in $only; do
	t=$SECONDS
	if ! bash "$here/$s.sh"; then
		failed="$failed $s"
		echo "FAILED: $s"
	fi
	printf '(%s: %d s)\n' "$s" $((SECONDS - t))
	printf 'run\t%s\tseconds\t%d\ts\n' "$s" $((SECONDS - t)) >>"$BENCH_RESULTS"
done

# The summary: each target of tests/bench/README.md, met or missed.
echo
echo "== summary: targets"
awk -F'\t' '
function v(s, c, m) { return (s SUBSEP c SUBSEP m) in val ? val[s, c, m] : "" }
function verdict(ok) { return ok ? "met" : "MISSED" }
{ val[$1, $2, $3] = $4 }
$1 == "fanout" && $3 == "wall_s" { split($2, p, "N="); ns[p[2]] = 1 }
$1 == "latency" && $3 == "p50_s" { split($2, p, "N="); ls[p[2]] = 1 }
$3 == "skip" { printf "%-10s skipped: %s\n", $1, $5 }
END {
	n = 0
	for (k in ns) list[++n] = k + 0
	for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++)
		if (list[j] < list[i]) { t = list[i]; list[i] = list[j]; list[j] = t }
	for (i = 1; i <= n; i++) {
		N = list[i]
		cw = v("fanout", "certpush/N=" N, "wall_s"); tw = v("fanout", "tuned/N=" N, "wall_s")
		cc = v("fanout", "certpush/N=" N, "client_cpu_s"); tc = v("fanout", "tuned/N=" N, "client_cpu_s")
		if (cw == "" || tw == "") continue
		printf "fanout    N=%-3d wall certpush/tuned shell %.2fx (target <= 1.00): %s; " \
			"client CPU per target %.1f ms vs %.1f ms (ssh + tar): %s\n", N, cw / tw,
			verdict(cw <= tw), cc * 1000 / N, tc * 1000 / N, verdict(cc < tc)
	}
	n = 0
	for (k in ls) list[++n] = k + 0
	for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++)
		if (list[j] < list[i]) { t = list[i]; list[i] = list[j]; list[j] = t }
	for (i = 1; i <= n; i++)
		printf "latency   N=%-3d renewal to served, minus quiet_period: p50 %.3f s, " \
			"p95 %.3f s\n", list[i], v("latency", "N=" list[i], "p50_s"),
			v("latency", "N=" list[i], "p95_s")
	s = v("footprint", "certpush run", "idle_switches")
	if (s != "")
		printf "footprint idle daemon: %d context switches, %s ms CPU over the idle window " \
			"(target 0 wake-ups): %s; RSS %s KiB (target < 8192): %s; " \
			"private %s KiB (target < 4096): %s\n", s,
			v("footprint", "certpush run", "idle_cpu_ms"), verdict(s == 0),
			v("footprint", "certpush run", "rss_kb"),
			verdict(v("footprint", "certpush run", "rss_kb") < 8192),
			v("footprint", "certpush run", "private_kb"),
			verdict(v("footprint", "certpush run", "private_kb") < 4096)
	cw = v("audit", "files/certpush", "wall_s")
	if (cw != "") {
		f1 = v("audit", "files/pkcs7", "wall_s"); f2 = v("audit", "files/storeutl", "wall_s")
		fl = (f2 != "" && f2 < f1) ? f2 : f1
		sc = v("audit", "files/sslcc", "wall_s"); lab = ""
		if (sc == "") { sc = v("audit", "files/sslcc_extrapolated", "wall_s"); lab = " (extrapolated)" }
		printf "audit     files: certpush %.3f s vs one-openssl floor %.3f s (target <= floor): %s\n",
			cw, fl, verdict(cw <= fl)
		if (sc != "")
			printf "audit     files: ssl-cert-check / certpush = %.0fx%s (target >= 300x): %s\n",
				sc / cw, lab, verdict(sc / cw >= 300)
		printf "audit     verdict differences: certpush %s, ssl-cert-check %s, openssl loop %s\n",
			v("audit", "files/certpush", "verdict_differences"),
			v("audit", "files/sslcc", "verdict_differences"),
			v("audit", "files/loop", "verdict_differences")
		ew = v("audit", "endpoints/certpush", "wall_s")
		if (ew != "")
			printf "audit     endpoints: s_client loop / certpush = %sx, verdict differences %s and %s\n",
				v("audit", "endpoints/loop", "speedup_of_certpush"),
				v("audit", "endpoints/certpush", "verdict_differences"),
				v("audit", "endpoints/loop", "verdict_differences")
	}
	for (k in val) {
		split(k, f, SUBSEP)
		if (f[1] == "pullscale" && f[3] == "publish_to_last_installed_s")
			printf "pullscale %s: publish to last node installed %.2f s; front CPU %.3f ms per " \
				"node; %s 304 polls/s; a 304 poll %.1f ms CPU, %.1f ms wall\n", f[2], val[k],
				v("pullscale", f[2], "front_cpu_per_node_ms"),
				v("pullscale", f[2], "mirror_req_per_s"), v("pullscale", f[2], "poll_304_cpu_ms"),
				v("pullscale", f[2], "poll_304_wall_ms")
	}
	e = v("crypto", "bundle/encode", "x_primitive")
	if (e != "")
		printf "crypto    bundle_encode %sx the Ed25519 sign primitive, bundle_verify %sx verify\n",
			e, v("crypto", "bundle/verify_all", "x_primitive")
}' "$BENCH_RESULTS"
printf '\ntotal: %d s%s; load average at the end: %s\n' $((SECONDS - start)) \
	"${failed:+; FAILED:$failed}" "$(cut -d' ' -f1-3 /proc/loadavg)"
test -z "$failed"
