#!/bin/bash
# Scenario 1, fan-out: push one renewed certificate and key and a DKIM key
# to N targets, each installing the three files with owner and mode and
# running the same reload command.  Four methods over the same sshd
# daemons (see lib-bench.sh): certpush --now (libssh2, forced command
# "certpull serve"), a sequential rsync + ssh loop, parallel-scp +
# parallel-ssh, and one "ssh 'tar x && reload'" per host all at once.
#
# Every run pushes a new certificate (so certpull never answers
# "unchanged") and is checked afterwards: content, owner, mode, reload.
# Wall time and client CPU (the pushing process tree) are medians of
# BENCH_REPS runs; target CPU is what the sshd daemons and everything
# they started used (their cutime), summed.
#
# Knobs: BENCH_FANOUT_N (default "1 4 16 64"), BENCH_REPS.
set --
. "$(dirname "$0")/../lib.sh"
. "$SRC/tests/lib-services.sh"
. "$SRC/tests/bench/lib-bench.sh"

bench_begin fanout "push cert + key + DKIM key to N targets over SSH"
bench_need /usr/sbin/sshd ssh rsync parallel-ssh parallel-scp unshare tar
if test -n "$BENCH_SMOKE"; then
	FAN_N=${BENCH_FANOUT_N:-1 2}
else
	FAN_N=${BENCH_FANOUT_N:-1 4 16 64}
fi
METHODS="certpush tuned pssh loop"
nmax=0
for n in $FAN_N; do
	test "$n" -gt "$nmax" && nmax=$n
done

bench_keys || bench_fail "setup: keys"
bench_new_leaf leaf0 || bench_fail "setup: certificate"
bench_targets "$nmax" || bench_fail "setup: $nmax sshd targets"
for n in $FAN_N; do
	bench_push_conf "$n" "push-$n.yaml" || bench_fail "setup: push-$n.yaml"
done
"$CERTPUSH" -c push-$nmax.yaml check-config >/dev/null || bench_fail "check-config"

export BL_HOSTS BL_SRC=$TRASH/src BL_STAGE BL_TGT=$BENCH_TGT BL_RELOAD=$BENCH_RELOAD
export BL_SSH_OPTS BL_DKIM=$BENCH_DKIM_OWNER:$BENCH_DKIM_GROUP BL_PAR
BL_SSH_OPTS=$(bench_ssh_opts)

# run_method METHOD N OUT: one push by METHOD to targets 1..N.
run_method () {
	local m=$1 n=$2 out=$3
	BL_HOSTS=$TRASH/hosts-$n.txt BL_STAGE=$TRASH/stage-$m BL_PAR=$n
	head -n "$n" hosts.txt >"$BL_HOSTS"
	case $m in
	certpush) bench_measure "$out" "$CERTPUSH" -c "$TRASH/push-$n.yaml" --now \
		>"$out.log" 2>&1 ;;
	*) bench_measure "$out" "$BENCHDIR/baseline/$m.sh" >"$out.log" 2>&1 ;;
	esac
}

# Warm-up (not measured): caches, and a first install on every target.
for m in certpush tuned; do
	bench_new_leaf "warm-$m" && bench_reset_marks "$nmax" &&
	run_method "$m" "$nmax" "$TRASH/warm-$m" ||
		bench_fail "warm-up with $m failed: $(tail -n 5 "$TRASH/warm-$m.log")"
done

declare -A WALL=() CPU=() TCPU=() OK=() RSS=()
leafno=0
for ((rep = 1; rep <= BENCH_REPS; rep++)); do
	for n in $FAN_N; do
		pids=$(bench_target_pids "$n")
		# Rotate the order of the methods from one repetition to the next.
		set -- $METHODS
		for ((k = 0; k < (rep - 1) % 4; k++)); do
			set -- "${@:2}" "$1"
		done
		for m in "$@"; do
			leafno=$((leafno + 1))
			bench_new_leaf "r$leafno" || bench_fail "new certificate"
			bench_reset_marks "$n"
			before=$(proc_cpu $pids)
			run_method "$m" "$n" "$TRASH/run-$m-$n-$rep" || :
			sleep 0.3	# let the daemons reap their sessions
			after=$(proc_cpu $pids)
			ok=$(bench_check_targets "$n")
			test "$ok" = "$n" || echo "# $m N=$n run $rep: only $ok of $n targets" \
				"correct; log: $(tail -n 3 "$TRASH/run-$m-$n-$rep.log" | tr '\n' ' ')" >&2
			WALL[$m,$n]+=" $M_WALL" CPU[$m,$n]+=" $M_CPU" RSS[$m,$n]+=" $M_RSS"
			TCPU[$m,$n]+=" $(calc "$after - $before")" OK[$m,$n]+=" $ok"
		done
	done
done

printf '%s, median of %d runs; ratio = certpush / method (< 1: certpush better)\n' \
	"wall and CPU seconds" "$BENCH_REPS"
printf '%4s  %-9s %8s %9s %10s %9s %9s %7s %7s %6s\n' N method wall_s client_cpu \
	cpu/tgt_ms tgt_cpu rss_kb r_wall r_cpu ok
for n in $FAN_N; do
	pw=$(median ${WALL[certpush,$n]}) pc=$(median ${CPU[certpush,$n]})
	for m in $METHODS; do
		w=$(median ${WALL[$m,$n]}) c=$(median ${CPU[$m,$n]})
		t=$(median ${TCPU[$m,$n]}) r=$(median ${RSS[$m,$n]})
		okmin=$(printf '%s\n' ${OK[$m,$n]} | sort -n | head -n 1)
		printf '%4s  %-9s %8.3f %9.3f %10.2f %9.3f %9.0f %7s %7s %3s/%-3s\n' "$n" "$m" \
			"$w" "$c" "$(calc "$c * 1000 / $n")" "$t" "$r" \
			"$(ratio "$pw" "$w")" "$(ratio "$pc" "$c")" "$okmin" "$n"
		bench_result "$m/N=$n" wall_s "$w" s
		bench_result "$m/N=$n" client_cpu_s "$c" s
		bench_result "$m/N=$n" target_cpu_s "$t" s
		bench_result "$m/N=$n" max_rss_kb "$r" KiB
		bench_result "$m/N=$n" targets_ok "$okmin" "of $n"
		test "$m" = certpush && continue
		bench_result "$m/N=$n" certpush_wall_ratio "$(ratio "$pw" "$w")" x
		bench_result "$m/N=$n" certpush_cpu_ratio "$(ratio "$pc" "$c")" x
	done
done
bench_done
