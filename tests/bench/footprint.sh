#!/bin/bash
# Scenario 3, footprint: resident memory of "certpush run" watching 100
# certbot lineages (after its first push of all of them), of certpull
# during an install, and of the clients operators use for one push; the
# CPU time and context switches of the idle daemon over BENCH_IDLE_S
# seconds (default 60), beside an inotifywait loop watching the same
# directories over the same window; and the size of each program.
#
# Knobs: BENCH_LINEAGES (default 100), BENCH_IDLE_S (default 60).
set --
. "$(dirname "$0")/../lib.sh"
. "$SRC/tests/lib-services.sh"
. "$SRC/tests/bench/lib-bench.sh"

bench_begin footprint "memory, idle CPU and size"
bench_need /usr/sbin/sshd ssh rsync parallel-ssh parallel-scp inotifywait unshare tar
if test -n "$BENCH_SMOKE"; then
	LINEAGES=${BENCH_LINEAGES:-10}
	IDLE=${BENCH_IDLE_S:-1}
else
	LINEAGES=${BENCH_LINEAGES:-100}
	IDLE=${BENCH_IDLE_S:-60}
fi
PER_TARGET=15		# items per local target (a bundle holds at most 16)
LE=$TRASH/le

# lineage K: a certbot lineage live/siteK.test -> archive/siteK.test/*1.pem.
lineage () {
	local name=site$1.test f
	mkdir -p "$LE/live/$name" "$LE/archive/$name" &&
	cp ca/fp.crt "$LE/archive/$name/cert1.pem" &&
	cp ca/fp.chain "$LE/archive/$name/chain1.pem" &&
	cp ca/fp.fullchain "$LE/archive/$name/fullchain1.pem" &&
	install -m 0600 ca/fp.key "$LE/archive/$name/privkey1.pem" || return 1
	for f in cert chain fullchain privkey; do
		ln -s "../../archive/$name/${f}1.pem" "$LE/live/$name/$f.pem" || return 1
	done
}

# watch_conf: certpush.yaml with LINEAGES lineages, spread over local
# targets of PER_TARGET items; each target's certpull.yaml writes them.
watch_conf () {
	local k t ntargets=$(((LINEAGES + PER_TARGET - 1) / PER_TARGET))
	{
		cat <<-EOF
		signing_key: $TRASH/keys/signing.key
		state_dir: $TRASH/state-run
		quiet_period: 1
		certificates:
		EOF
		for ((k = 1; k <= LINEAGES; k++)); do
			printf '  - name: site%d\n    lineage: %s\n' "$k" "$LE/live/site$k.test"
		done
		echo "targets:"
		for ((t = 1; t <= ntargets; t++)); do
			printf '  - name: local%d\n    type: local\n    certpull: %s\n' "$t" "$CERTPULL"
			printf '    certpull_config: %s\n    items: [' "$TRASH/local$t/certpull.yaml"
			for ((k = (t - 1) * PER_TARGET + 1; k <= t * PER_TARGET && k <= LINEAGES; k++)); do
				printf '%ssite%d' "$(test $k = $(((t - 1) * PER_TARGET + 1)) || echo ', ')" "$k"
			done
			echo "]"
		done
	} >run.yaml || return 1
	for ((t = 1; t <= ntargets; t++)); do
		mkdir -p "local$t/files" && {
			printf 'node: local%d\nstate_dir: %s\ntrusted_keys: [%s]\n' "$t" \
				"$TRASH/local$t/state" "$bench_pub"
			printf 'services:\n  - name: files\n    files:\n'
			for ((k = (t - 1) * PER_TARGET + 1; k <= t * PER_TARGET && k <= LINEAGES; k++)); do
				printf '      - { path: %s, item: site%d, format: haproxy, mode: "0600" }\n' \
					"$TRASH/local$t/files/site$k.pem" "$k"
			done
		} >"local$t/certpull.yaml" || return 1
	done
}

# exe_size PATH: bytes of the executable, and of it plus every shared
# library it loads (ldd), as "EXE CLOSURE".
exe_size () {
	local exe total lib
	exe=$(stat -L -c %s "$1")
	total=$exe
	for lib in $(ldd "$1" 2>/dev/null | awk '$3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' |
		sort -u); do
		total=$((total + $(stat -L -c %s "$lib")))
	done
	echo "$exe $total"
}

bench_keys || bench_fail "setup: keys"
make_cert ca fp "DNS:www.bench.test" ec >/dev/null || bench_fail "setup: certificate"
mkdir -p -m 0700 "$LE" && mkdir -p -m 0700 "$LE/live" "$LE/archive" ||
	bench_fail "setup: lineages"
for ((k = 1; k <= LINEAGES; k++)); do
	lineage "$k" || bench_fail "setup: lineage $k"
done
watch_conf && "$CERTPUSH" -c run.yaml check-config >/dev/null || bench_fail "setup: run.yaml"

# The daemon and an inotifywait loop over the same directories.
DAEMON_LOG=$TRASH/run.log daemon_start run "" "$CERTPUSH" -c "$TRASH/run.yaml" run
wait_until_ 120 eval 'grep -q "targets ok" run.log' ||
	bench_fail "no first push: $(tail -n 5 run.log)"
daemon_start inotify "" bash -c 'inotifywait -q -m -r -e close_write,moved_to,moved_from,create,delete \
	"$0/live" "$0/archive" | while read -r line; do echo "changed: $line"; done' "$LE"
# Its two children would outlive it (nothing wakes them): stop them first.
at_exit "pkill -TERM -P $(daemon_pid inotify) 2>/dev/null; :"
sleep 2		# the daemon's push settles; inotifywait sets up its watches
run_pid=$(daemon_pid run)
loop_pid=$(daemon_pid inotify)
iw_pid=$(pgrep -P "$loop_pid" -x inotifywait | head -n 1)
rd_pid=$(pgrep -P "$loop_pid" -x bash | head -n 1)
test -n "$iw_pid" && test -n "$rd_pid" || bench_fail "inotifywait loop did not start"
grep -q "0 failed" run.log || bench_fail "first push failed: $(tail -n 5 run.log)"

t0=$(proc_ticks "$run_pid") s0=$(proc_switches "$run_pid")
i0=$(($(proc_ticks "$iw_pid") + $(proc_ticks "$rd_pid") + $(proc_ticks "$loop_pid")))
j0=$(($(proc_switches "$iw_pid") + $(proc_switches "$rd_pid") + $(proc_switches "$loop_pid")))
sleep "$IDLE"
t1=$(proc_ticks "$run_pid") s1=$(proc_switches "$run_pid")
i1=$(($(proc_ticks "$iw_pid") + $(proc_ticks "$rd_pid") + $(proc_ticks "$loop_pid")))
j1=$(($(proc_switches "$iw_pid") + $(proc_switches "$rd_pid") + $(proc_switches "$loop_pid")))
hz=$(getconf CLK_TCK)
run_rss=$(proc_kb "$run_pid" VmRSS) run_hwm=$(proc_kb "$run_pid" VmHWM)
# Private memory (issue 16: Private_Dirty and Anonymous of smaps_rollup).
# Anonymous pages are private and, once touched, dirty: the two sets
# overlap, and "private" is the larger (their union when one holds the
# other, as it does here).  The threads' stacks count once touched.
run_pd=$(rollup_kb "$run_pid" Private_Dirty) run_anon=$(rollup_kb "$run_pid" Anonymous)
run_priv=$((run_pd > run_anon ? run_pd : run_anon)) run_thr=$(proc_kb "$run_pid" Threads)
# Where the resident set is: KiB per mapped file (the heap, stacks and
# anonymous maps as [anon]), largest first.
awk '/^[0-9a-f]+-[0-9a-f]+ / { f = NF >= 6 ? $6 : "[anon]"; sub(/.*\//, "", f) }
	$1 == "Rss:" { rss[f] += $2 }
	END { for (f in rss) if (rss[f] > 0) printf "%8d %s\n", rss[f], f }' \
	"/proc/$run_pid/smaps" | sort -rn | head -n 12 >run-maps.txt
loop_rss=$(($(proc_kb "$iw_pid" VmRSS) + $(proc_kb "$rd_pid" VmRSS) + $(proc_kb "$loop_pid" VmRSS)))
iw_rss=$(proc_kb "$iw_pid" VmRSS)
watched=$(grep -c inotify "/proc/$run_pid/fdinfo/"* 2>/dev/null | awk -F: '{ n += $2 } END { print n }')
pkill -TERM -P "$loop_pid"
daemon_stop inotify
daemon_stop run

printf '%s lineages (%s inotify watches), idle window %s s after the first push of them all\n' \
	"$LINEAGES" "${watched:-?}" "$IDLE"
printf '%-34s %10s %10s %12s %12s\n' process rss_kb peak_kb idle_cpu_ms idle_switches
printf '%-34s %10s %10s %12s %12s\n' "certpush run" "$run_rss" "$run_hwm" \
	"$(calc "($t1 - $t0) * 1000 / $hz")" "$((s1 - s0))"
printf '%-34s %10s %10s %12s %12s\n' "inotifywait -m -r | while read" "$loop_rss" - \
	"$(calc "($i1 - $i0) * 1000 / $hz")" "$((j1 - j0))"
printf 'certpush run, private memory: Private_Dirty %s KiB, Anonymous %s KiB, %s threads\n' \
	"$run_pd" "$run_anon" "$run_thr"
printf 'certpush run, resident KiB by mapping: %s\n' "$(awk '{ printf "%s%s %s", (NR > 1 ? ", " : ""), $2, $1 }' run-maps.txt)"
bench_result "certpush run" rss_kb "$run_rss" KiB
bench_result "certpush run" peak_rss_kb "$run_hwm" KiB
bench_result "certpush run" private_dirty_kb "$run_pd" KiB
bench_result "certpush run" anonymous_kb "$run_anon" KiB
bench_result "certpush run" private_kb "$run_priv" KiB
bench_result "certpush run" threads "$run_thr" count
bench_result "certpush run" idle_cpu_ms "$(calc "($t1 - $t0) * 1000 / $hz")" ms
bench_result "certpush run" idle_switches "$((s1 - s0))" count
bench_result "certpush run" inotify_watches "${watched:-0}" count
bench_result "inotifywait loop" rss_kb "$loop_rss" KiB
bench_result "inotifywait loop" inotifywait_rss_kb "$iw_rss" KiB
bench_result "inotifywait loop" idle_cpu_ms "$(calc "($i1 - $i0) * 1000 / $hz")" ms
bench_result "inotifywait loop" idle_switches "$((j1 - j0))" count

# One push to one target by each method: the largest resident set of the
# pushing process tree, and certpull's during the install it runs there.
bench_new_leaf fp1 && bench_targets 1 && bench_push_conf 1 push-1.yaml ||
	bench_fail "setup: one target"
export BL_HOSTS=$TRASH/hosts.txt BL_SRC=$TRASH/src BL_TGT=$BENCH_TGT BL_RELOAD=$BENCH_RELOAD
export BL_SSH_OPTS BL_DKIM=$BENCH_DKIM_OWNER:$BENCH_DKIM_GROUP BL_PAR=1 BL_STAGE
BL_SSH_OPTS=$(bench_ssh_opts)
printf '\n%-34s %10s\n' "one push to one target" max_rss_kb
for m in certpush tuned loop pssh; do
	bench_new_leaf "fp-$m" && bench_reset_marks 1 && BL_STAGE=$TRASH/stage-$m
	case $m in
	certpush) bench_measure "m-$m" "$CERTPUSH" -c push-1.yaml --now >"m-$m.log" 2>&1 ;;
	*) bench_measure "m-$m" "$BENCHDIR/baseline/$m.sh" >"m-$m.log" 2>&1 ;;
	esac
	test "$(bench_check_targets 1)" = 1 || bench_fail "$m: the push failed"
	case $m in
	certpush) what="certpush --now (libssh2)" ;;
	tuned) what="ssh + tar (tuned shell)" ;;
	loop) what="rsync + ssh (loop)" ;;
	pssh) what="parallel-scp + parallel-ssh" ;;
	esac
	printf '%-34s %10s\n' "$what" "$M_RSS"
	bench_result "push/$m" max_rss_kb "$M_RSS" KiB
done
# certpull install of the same kind of bundle, locally.
bench_new_leaf fp2 && install -d "$BENCH_TGT/etc/ssl" &&
install -d -m 0700 -o "$BENCH_DKIM_OWNER" -g "$BENCH_DKIM_GROUP" "$BENCH_TGT/etc/dkimkeys" &&
sed "s|state_dir: .*|state_dir: $TRASH/pull-state|" t/1/certpull.yaml >pull.yaml &&
"$CERTPUSH" -c push-1.yaml bundle --target n1 -o n1.bundle >/dev/null ||
	bench_fail "setup: bundle"
bench_measure m-pull "$CERTPULL" -c pull.yaml install n1.bundle >m-pull.log 2>&1 ||
	bench_fail "certpull install: $(cat m-pull.log)"
printf '%-34s %10s\n' "certpull install (on the target)" "$M_RSS"
bench_result "certpull install" max_rss_kb "$M_RSS" KiB

printf '\n%-34s %12s %14s\n' program exe_bytes with_libs_bytes
for p in "$CERTPUSH" "$CERTPULL" /usr/bin/ssh /usr/bin/rsync /usr/bin/inotifywait \
	"$(readlink -f /usr/bin/python3)"; do
	read -r e c <<-EOF
	$(exe_size "$p")
	EOF
	printf '%-34s %12s %14s\n' "$(basename "$p")" "$e" "$c"
	bench_result "size/$(basename "$p")" exe_bytes "$e" bytes
	bench_result "size/$(basename "$p")" with_libs_bytes "$c" bytes
done
pssh_lib=$(du -sb /usr/lib/python3/dist-packages/psshlib 2>/dev/null | cut -f1)
pssh_sz=$((pssh_lib + $(stat -c %s /usr/bin/parallel-ssh)))
printf '%-34s %12s %14s\n' "parallel-ssh (+ psshlib)" "$pssh_sz" "+ python3"
bench_result "size/parallel-ssh" exe_bytes "$pssh_sz" bytes
bench_done
