#!/bin/bash
# tests/bench/lib-bench.sh: what the bench scenarios share.  A scenario
# script sources tests/lib.sh (scratch folder, namespaces, daemons, cleanup
# at exit), tests/lib-services.sh, then this file.
#
# Each scenario prints its tables on standard output and appends its raw
# figures to $BENCH_RESULTS, one line each:
#	SCENARIO <TAB> CASE <TAB> METRIC <TAB> VALUE <TAB> UNIT
# where VALUE is a number, or "skip" with the reason as UNIT.
#
# Environment: BENCHTOOL (the helper built by bench.mk), BENCH_RESULTS,
# BENCH_SMOKE=1 (tiny sizes), BENCH_REPS (repetitions, median reported).

BENCHDIR=$SRC/tests/bench
BENCHTOOL=${BENCHTOOL:-$SRC/build/release/tests/bench/benchtool}
BENCH_RESULTS=${BENCH_RESULTS:-$TRASH/results.tsv}
BENCH_SMOKE=${BENCH_SMOKE:-}
if test -n "$BENCH_SMOKE"; then
	BENCH_REPS=${BENCH_REPS:-1}
else
	BENCH_REPS=${BENCH_REPS:-3}
fi
export BENCHTOOL BENCH_RESULTS

# bench_done: the end of a scenario; cleanup runs at exit (lib.sh).
bench_done () {
	test_done_called_=t
	exit 0
}

# bench_fail MSG: stop the scenario as failed; cleanup still runs.
bench_fail () {
	echo "bench: $bench_scenario_: $*" >&2
	test_done_called_=t
	exit 1
}

# bench_begin NAME TITLE: name the scenario and print its title.
bench_begin () {
	bench_scenario_=$1
	printf '\n== %s: %s\n' "$1" "$2"
}

# bench_skip REASON: record and print that the scenario cannot run here.
bench_skip () {
	printf '%s\t-\tskip\tskip\t%s\n' "$bench_scenario_" "$*" >>"$BENCH_RESULTS"
	echo "SKIPPED: $*"
	bench_done
}

# bench_need CMD...: skip the scenario unless root, namespaces and each CMD.
bench_need () {
	local cmd
	test_have_prereq ROOT || bench_skip "needs root"
	test_have_prereq NETNS || bench_skip "cannot create network namespaces"
	test_have_prereq BUILT || bench_skip "build certpush and certpull first"
	test -x "$BENCHTOOL" || bench_skip "no $BENCHTOOL (make bench-tool)"
	for cmd in "$@"; do
		test_have_prereq "CMD:$cmd" || bench_skip "missing $cmd"
	done
}

# bench_result CASE METRIC VALUE UNIT: one raw figure for $BENCH_RESULTS.
bench_result () {
	printf '%s\t%s\t%s\t%s\t%s\n' "$bench_scenario_" "$1" "$2" "$3" "$4" >>"$BENCH_RESULTS"
}

# bench_measure OUTFILE CMD...: run CMD under "benchtool run"; sets M_WALL,
# M_CPU (user + system of CMD and its waited-for descendants, seconds),
# M_RSS (largest resident set among them, KiB) and M_STATUS.  Returns
# CMD's exit status.
bench_measure () {
	local out=$1 user sys
	shift
	"$BENCHTOOL" run "$out" "$@"
	read -r M_WALL user sys M_RSS M_STATUS <"$out" || return 1
	M_CPU=$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.6f", u + s }')
	return "$M_STATUS"
}

# median X...: the median of the numbers.
median () {
	printf '%s\n' "$@" | sort -g |
		awk '{ a[NR] = $1 } END { if (NR == 0) print "nan";
			else if (NR % 2) print a[(NR + 1) / 2];
			else printf "%.6f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

# percentile P X...: nearest-rank P-th percentile of the numbers.
percentile () {
	local p=$1
	shift
	printf '%s\n' "$@" | sort -g |
		awk -v p="$p" '{ a[NR] = $1 } END { if (NR == 0) { print "nan"; exit }
			r = int(p / 100 * NR); if (r < p / 100 * NR) r++; if (r < 1) r = 1
			print a[r] }'
}

# ratio A B: A / B with two decimals ("-" when B is not positive).
ratio () {
	awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 > 0) printf "%.2f\n", a / b; else print "-" }'
}

# calc EXPR: evaluate an awk expression, 3 decimals.
calc () {
	awk "BEGIN { printf \"%.3f\\n\", $1 }"
}

# proc_cpu PID...: seconds of CPU used by each PID and the children it
# reaped (utime + stime + cutime + cstime of /proc/PID/stat), summed.
proc_cpu () {
	local pid hz total=0 line
	hz=$(getconf CLK_TCK)
	for pid in "$@"; do
		line=$(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null) || continue
		# After "comm)": field 3 is state, so utime..cstime are 12..15.
		set -- $line
		total=$((total + ${12} + ${13} + ${14} + ${15}))
	done
	awk -v t="$total" -v hz="$hz" 'BEGIN { printf "%.3f\n", t / hz }'
}

# proc_switches PID: voluntary + involuntary context switches of all of
# PID's threads.
proc_switches () {
	cat /proc/"$1"/task/*/status 2>/dev/null |
		awk '/^(voluntary|nonvoluntary)_ctxt_switches:/ { n += $2 } END { print n + 0 }'
}

# proc_ticks PID: utime + stime of PID itself, in clock ticks.
proc_ticks () {
	sed 's/^.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'
}

# proc_kb PID FIELD: a "FIELD: N kB" line of /proc/PID/status (VmRSS, VmHWM).
proc_kb () {
	awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"
}

# rollup_kb PID FIELD: FIELD (kB) of /proc/PID/smaps_rollup, 0 if absent.
rollup_kb () {
	awk -v f="$2:" '$1 == f { n = $2 } END { print n + 0 }' "/proc/$1/smaps_rollup"
}

# ---------------------------------------------------------------------------
# Push targets shared by the fan-out and footprint scenarios.
#
# All targets are sshd daemons in one namespace "nodes", on ports
# BENCH_PORT0+1.., each in its own mount namespace where its directory
# $TRASH/t/I/root is bind-mounted on $BENCH_TGT: every target has the same
# paths, as real nodes do, so one parallel-scp command fits all, and
# certpull, rsync, scp and tar all write $BENCH_TGT/etc/ssl/www.pem.
#
# Each target trusts two client keys: keys/id_ed25519 forced to
# "certpull serve" (certpush), and keys/shell_ed25519 without restriction
# (the shell baselines, as root: PermitRootLogin prohibit-password).  Same
# sshd, same files, same reload command ($BENCH_RELOAD TARGET_ROOT, a
# two-line sh script that touches TARGET_ROOT/reloaded).

BENCH_PORT0=${BENCH_PORT0:-2300}
BENCH_TGT=$TRASH/target
BENCH_RELOAD=$TRASH/bin/reload
BENCH_DKIM_OWNER=opendkim
id opendkim >/dev/null 2>&1 || BENCH_DKIM_OWNER=nobody
BENCH_DKIM_GROUP=$(id -gn "$BENCH_DKIM_OWNER")

# bench_keys: CA, signing key, the two SSH client keys, the DKIM key,
# the reload script.  Sets bench_pub.
bench_keys () {
	make_ca ca >/dev/null &&
	mkdir -p -m 0700 keys src state &&
	mkdir -p bin t "$BENCH_TGT" &&
	printf '#!/bin/sh\n: >"$1/reloaded"\n' >"$BENCH_RELOAD" && chmod 0755 "$BENCH_RELOAD" &&
	push_keys --ssh && bench_pub=$pub &&
	ssh-keygen -q -t ed25519 -N '' -C shell -f keys/shell_ed25519 &&
	(umask 077 && openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
		-out src/dkim.private 2>/dev/null)
}

# bench_new_leaf NAME: a renewed certificate (ECDSA P-256, as certbot
# makes by default) becomes the source: src/cert.pem, chain.pem,
# fullchain.pem, key.pem.  Prints nothing; sets bench_fpr.
bench_new_leaf () {
	make_cert ca "$1" "DNS:www.bench.test" ec >/dev/null &&
	source_leaf ca "$1" && cp "ca/$1.fullchain" src/fullchain.pem &&
	bench_fpr=$(cert_fingerprint src/cert.pem)
}

# bench_target_conf I: the certpull.yaml of target I: one file-only
# service, three files with owner and mode, the reload command.
bench_target_conf () {
	local d=$TRASH/t/$1
	{ pull_conf_head n$1 "$BENCH_TGT/state" && cat; } >"$d/certpull.yaml" <<-EOF
	  - name: files
	    files:
	      - { path: $BENCH_TGT/etc/ssl/www.pem, item: www, format: fullchain, owner: root, group: root, mode: "0644" }
	      - { path: $BENCH_TGT/etc/ssl/www.key, item: www, format: key, owner: root, group: root, mode: "0600" }
	      - { path: $BENCH_TGT/etc/dkimkeys/dkim.private, item: dkim, format: dkim, owner: $BENCH_DKIM_OWNER, group: $BENCH_DKIM_GROUP, mode: "0600" }
	    reload: [$BENCH_RELOAD, $BENCH_TGT]
	    timeout: 30
	EOF
}

# bench_sshd_start I: target I's sshd in namespace "nodes" and its own
# mount namespace (see above).  Does not wait for the port.
bench_sshd_start () {
	local i=$1 d=$TRASH/t/$1 dir=$TRASH/t/$1/sshd port=$((BENCH_PORT0 + $1))
	mkdir -p "$d/root/etc/ssl" "$d/root/state" "$dir/home" &&
	install -d -m 0700 -o "$BENCH_DKIM_OWNER" -g "$BENCH_DKIM_GROUP" \
		"$d/root/etc/dkimkeys" &&
	ssh-keygen -q -t ed25519 -N '' -C '' -f "$dir/ssh_host_ed25519_key" &&
	printf '%s\n' \
		"restrict,command=\"$CERTPULL -c $d/certpull.yaml serve\" $(cat keys/id_ed25519.pub)" \
		"$(cat keys/shell_ed25519.pub)" >"$dir/authorized_keys" &&
	chmod 0600 "$dir/authorized_keys" &&
	echo "$port" >"$dir/port" &&
	SSHD_EXTRA="Subsystem sftp /usr/lib/openssh/sftp-server" sshd_config_ "$dir" "$port" |
		sed 's/^PermitRootLogin .*/PermitRootLogin prohibit-password/' >"$dir/sshd_config" &&
	/usr/sbin/sshd -t -f "$dir/sshd_config" &&
	DAEMON_NETNS=nodes DAEMON_LOG=$dir/sshd.log daemon_start "sshd:$dir" "$dir/sshd.pid" \
		unshare -m --propagation private sh -c \
		'mount --bind "$0" "$1" && exec /usr/sbin/sshd -D -e -f "$2"' \
		"$d/root" "$BENCH_TGT" "$dir/sshd_config"
}

# bench_targets N: start targets 1..N; writes keys/known_hosts,
# hosts.txt ("root@ADDR:PORT" per line, parallel-ssh's format) and sets
# bench_addr.
bench_targets () {
	local n=$1 i
	netns_create nodes 1 >/dev/null || return 1
	bench_addr=$(netns_addr nodes)
	: >keys/known_hosts && : >hosts.txt || return 1
	for ((i = 1; i <= n; i++)); do
		mkdir -p "t/$i" && bench_target_conf "$i" && bench_sshd_start "$i" &&
		sshd_known_hosts_line "$bench_addr" "$TRASH/t/$i/sshd" >>keys/known_hosts &&
		echo "root@$bench_addr:$((BENCH_PORT0 + i))" >>hosts.txt || return 1
	done
	for ((i = 1; i <= n; i++)); do
		wait_for_port "$bench_addr" $((BENCH_PORT0 + i)) 10 >/dev/null || {
			tail -n 5 "$TRASH/t/$i/sshd/sshd.log" >&2
			return 1
		}
	done
}

# bench_push_conf N CONFIG: certpush.yaml pushing to targets 1..N, all at once.
bench_push_conf () {
	local n=$1 i
	{
		push_conf_head --dkim "$TRASH/src/dkim.private" bench bench.test "concurrency: $n" &&
		for ((i = 1; i <= n; i++)); do
			push_target_ssh n$i "$bench_addr" $((BENCH_PORT0 + i)) 60 "www, dkim" || return 1
		done
	} >"$2"
}

# bench_ssh_opts: the OpenSSH client options every shell baseline uses:
# the baseline key only, strict host key checking, no user configuration.
bench_ssh_opts () {
	echo "-F /dev/null -i $TRASH/keys/shell_ed25519 -o IdentitiesOnly=yes" \
		"-o BatchMode=yes -o UserKnownHostsFile=$TRASH/keys/known_hosts" \
		"-o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes" \
		"-o LogLevel=ERROR -o ConnectTimeout=10"
}

# bench_reset_marks N: remove the reload marks of targets 1..N.
bench_reset_marks () {
	local i
	for ((i = 1; i <= $1; i++)); do
		rm -f "$TRASH/t/$i/root/reloaded"
	done
}

# bench_check_targets N: how many of targets 1..N hold the current
# source (fullchain, key, DKIM key) with the right owner and mode and
# were reloaded since bench_reset_marks.  Prints the count.
bench_check_targets () {
	local n=$1 i r ok=0 want
	want="644 root root
600 root root
600 $BENCH_DKIM_OWNER $BENCH_DKIM_GROUP"
	for ((i = 1; i <= n; i++)); do
		r=$TRASH/t/$i/root
		test -e "$r/reloaded" || continue
		test "$(stat -c '%a %U %G' "$r/etc/ssl/www.pem" "$r/etc/ssl/www.key" \
			"$r/etc/dkimkeys/dkim.private" 2>/dev/null)" = "$want" || continue
		{ cmp -s "$r/etc/ssl/www.pem" src/fullchain.pem ||
		  test "$(cert_fingerprint "$r/etc/ssl/www.pem")" = "$bench_fpr"; } || continue
		same_key_ "$r/etc/ssl/www.key" src/key.pem || continue
		same_key_ "$r/etc/dkimkeys/dkim.private" src/dkim.private || continue
		ok=$((ok + 1))
	done
	echo "$ok"
}

# same_key_ A B: the two PEM files hold the same private key (byte-equal,
# or equal once re-encoded: certpull writes what OpenSSL re-encoded).
same_key_ () {
	cmp -s "$1" "$2" && return 0
	test "$(openssl pkey -in "$1" 2>/dev/null | sha256sum)" = \
		"$(openssl pkey -in "$2" 2>/dev/null | sha256sum)"
}

# bench_target_pids N: pids of the sshd listeners of targets 1..N.
bench_target_pids () {
	local i
	for ((i = 1; i <= $1; i++)); do
		cat "$TRASH/t/$i/sshd/sshd.pid"
	done
}
