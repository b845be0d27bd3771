#!/bin/bash
test_description='make bench still runs: every scenario once at tiny sizes

tests/bench/run.sh --smoke: fan-out to 1 and 2 sshd targets by the four
methods, two renewals to two HAProxy nodes, the footprint of a daemon
watching 10 lineages, an audit of 20 files and 4 Postfix endpoints, the
crypto floor, three nodes fetching from an nginx mirror.  Nothing here is
timed against a limit: the figures of a
smoke run mean nothing.  It checks that each scenario ran (or says why
it was skipped), that every figure is a number, that every push was
verified on its targets and that the audits agree with the truth.'
. "$(dirname "$0")/lib.sh"

test_have_prereq ROOT || skip_all "needs root"
test_have_prereq NETNS || skip_all "cannot create network namespaces"
test_have_prereq BUILT || skip_all "build certpush and certpull first"

BENCHTOOL=$SRC/build/release/tests/bench/benchtool
RESULTS=$TRASH/results.tsv

# value SCENARIO CASE METRIC: a figure of the results file.
value () {
	awk -F'\t' -v s="$1" -v c="$2" -v m="$3" \
		'$1 == s && $2 == c && $3 == m { print $4; exit }' "$RESULTS"
}

test_expect_success 'the bench helper builds' '
	make -s -C "$SRC" bench-tool >make.out 2>&1 &&
	test -x "$BENCHTOOL"
'

test_expect_success 'run.sh --smoke runs every scenario and exits 0' '
	BENCHTOOL=$BENCHTOOL BENCH_RESULTS=$RESULTS bash "$SRC/tests/bench/run.sh" --smoke \
		>bench.out 2>bench.err &&
	cat bench.out &&
	for s in fanout latency footprint audit crypto pullscale; do
		grep "^== $s: " bench.out &&
		grep "^($s: [0-9]* s)$" bench.out || return 1
	done &&
	grep "^== summary: targets" bench.out &&
	grep "^total: [0-9]* s; load average" bench.out
'

test_expect_success 'the results are well formed: five fields, numbers or a stated skip' '
	test -s "$RESULTS" &&
	awk -F"\t" "NF != 5 { print \"bad line \" NR \": \" \$0; bad = 1 }
		\$3 == \"skip\" { next }
		\$4 !~ /^-?[0-9]+(\\.[0-9]+)?$/ { print \"not a number, line \" NR \": \" \$0; bad = 1 }
		END { exit bad }" "$RESULTS" &&
	for s in fanout latency footprint audit crypto pullscale; do
		grep -q "^$s	" "$RESULTS" || { echo "nothing from $s"; return 1; }
	done
'

test_expect_success 'fan-out: every method pushed to every target, checked there' '
	if grep -q "^fanout	-	skip" "$RESULTS"; then
		grep "^fanout" "$RESULTS"
	else
		for m in certpush tuned pssh loop; do
			for n in 1 2; do
				test "$(value fanout "$m/N=$n" targets_ok)" = "$n" ||
				{ echo "$m N=$n: $(value fanout "$m/N=$n" targets_ok) of $n"; return 1; }
			done
		done
	fi
'

test_expect_success 'latency: no renewal failed; footprint: the idle daemon was measured' '
	grep -q "^latency	-	skip" "$RESULTS" || test "$(value latency N=2 failed)" = 0 &&
	{ grep -q "^footprint	-	skip" "$RESULTS" ||
	  test -n "$(value footprint "certpush run" idle_switches)"; }
'

test_expect_success 'pullscale: every node installed the renewal, every poll was a 304' '
	grep -q "^pullscale	-	skip" "$RESULTS" || {
		n=$(awk -F"\t" "\$1 == \"pullscale\" && \$3 == \"installed\" { print \$2 }" "$RESULTS") &&
		test -n "$n" && test "$(value pullscale "$n" installed)" = "${n#N=}"
	}
'

test_expect_success 'audit: certpush, ssl-cert-check and the openssl loops agree with the truth' '
	test "$(value audit files/certpush verdict_differences)" = 0 &&
	test "$(value audit files/loop verdict_differences)" = 0 &&
	{ ! command -v ssl-cert-check >/dev/null ||
	  test "$(value audit files/sslcc verdict_differences)" = 0; } &&
	{ test -z "$(value audit endpoints/certpush wall_s)" ||
	  { test "$(value audit endpoints/certpush verdict_differences)" = 0 &&
	    test "$(value audit endpoints/loop verdict_differences)" = 0; }; }
'

# bench_leftovers: processes still running in the scratch folder of a
# bench scenario whose script has ended (the pid in the folder's name):
# another bench running meanwhile on this machine is not ours to judge.
bench_leftovers () {
	local pid owner
	for pid in $(pgrep -f "certpush-test\.(fanout|latency|footprint|audit|crypto|pullscale)\."); do
		owner=$(tr "\0" " " <"/proc/$pid/cmdline" 2>/dev/null |
			sed -n "s/.*certpush-test\.[a-z]*\.\([0-9][0-9]*\).*/\1/p")
		test -n "$owner" && ! pid_alive_ "$owner" && echo "$pid"
	done
}

test_expect_success 'nothing is left behind: no namespace, no daemon of the bench' '
	! ip netns list | grep "^cpt-[0-9]*-" | while read -r ns rest; do
		pid=${ns#cpt-}; pid=${pid%%-*}
		pid_alive_ "$pid" || echo "$ns"
	done | grep . &&
	test -z "$(bench_leftovers)"
'

test_done
