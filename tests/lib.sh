#!/bin/bash
# tests/lib.sh: TAP library for the integration tests, after git's t/test-lib.sh.
#
# A test script looks like:
#
#	#!/bin/bash
#	test_description='what this script covers'
#	. "$(dirname "$0")/lib.sh"
#	test_expect_success 'step' '
#		do_this &&
#		test_cmp expect actual
#	'
#	test_done
#
# Options (after "::" with prove): -v/--verbose shows the output of passing
# tests too, -x traces test bodies, -i/--immediate stops at the first failure,
# --keep keeps the scratch folder.  Environment: KEEP_TRASH=1 (keep $TRASH),
# TEST_VERBOSE=1, SKIP_TESTS="t0010.3 t0010.7" (skip by number),
# TEST_SEED=N (repeat the random choices of a run, see test_seed).
#
# Tests assert no timing (a loaded machine must pass them: timings are
# figures of make bench), wait on conditions with wait_until_ rather than
# sleeping, and draw every random choice after test_seed, which prints the
# seed ("# seed N"): TEST_SEED=N repeats the run's choices exactly.
#
# Bodies are eval'ed in the script's own shell (no subshell), as in git, so a
# body can register cleanups; wrap a "cd" in a subshell yourself.  Never pipe
# the program under test: its exit code would be lost.

# ---------------------------------------------------------------------------
# Setup

test_name_=$(basename "$0" .sh)
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd) || exit 1
BUILD_BIN=$SRC
CERTPUSH=$SRC/certpush/certpush
CERTPULL=$SRC/certpull/certpull
export SRC BUILD_BIN CERTPUSH CERTPULL
# Stable output from the tools we parse; a known umask, since daemons running
# as their own users must read what the tests create.
export LC_ALL=C TZ=UTC
umask 022
unset CDPATH

verbose_=${TEST_VERBOSE:-}
trace_=
immediate_=
test -n "${KEEP_TRASH:-}" || KEEP_TRASH=
for arg_ in "$@"; do
	case $arg_ in
	-v|--verbose) verbose_=t ;;
	-x) trace_=t ;;
	-i|--immediate) immediate_=t ;;
	--keep) KEEP_TRASH=1 ;;
	*) echo "Bail out! $0: unknown option '$arg_'"; exit 1 ;;
	esac
done
unset arg_

test_count_=0
test_failed_=0
test_broken_=0
test_fixed_=0
test_done_called_=
test_cleanup=:
declare -a at_exit_cmds_=()
declare -A prereq_cache_=()

# ---------------------------------------------------------------------------
# Cleanup: one LIFO stack, run on EXIT and on INT/TERM (which exit, so EXIT
# runs it once).  Entries must be idempotent: a test may already have stopped
# what an entry stops.

# at_exit CMD...: push CMD (eval'ed later) onto the exit stack.  Refuses to
# run in a subshell, where the registration would silently vanish.
at_exit () {
	if test "${BASH_SUBSHELL:-0}" != 0; then
		echo "# BUG: at_exit '$*' called in a subshell" >&2
		return 1
	fi
	at_exit_cmds_+=("$*")
}

run_at_exit_ () {
	local i out
	for ((i = ${#at_exit_cmds_[@]} - 1; i >= 0; i--)); do
		# Report failures only: cleaning up something already gone is normal.
		if ! out=$(eval "${at_exit_cmds_[i]}" 2>&1 </dev/null); then
			echo "# at_exit: '${at_exit_cmds_[i]}' failed:" >&2
			printf '%s\n' "$out" | sed 's/^/#   /' >&2
		fi
		unset 'at_exit_cmds_[i]'
	done
}

# Traps run with the redirections of the command they interrupt (a test
# body writes to its output file), so exit paths write to fds 7 and 8: the
# script's real stdout and stderr, saved below.
lib_exit_ () {
	local code=$?
	trap '' INT TERM HUP PIPE
	exec 1>&7 2>&8
	if test -z "$test_done_called_"; then
		echo "# script exited with code $code before test_done" >&2
		test "$code" != 0 || code=1
	fi
	cd / || :
	run_at_exit_
	remove_trash_
	exit "$code"
}

# SIGPIPE and SIGHUP too: when prove or the terminal goes away, the next
# write would otherwise kill us without any cleanup.
lib_signal_ () {
	if test "$1" = PIPE; then
		exec 7>/dev/null 8>/dev/null
	fi
	exec 1>&7 2>&8
	echo "# caught SIG$1, cleaning up" >&2
	test_done_called_=t
	exit "$2"
}

# Daemons must not inherit 7 and 8, or prove waits for them: daemon_start
# closes them; close them yourself for anything else left running.
exec 7>&1 8>&2
trap lib_exit_ EXIT
trap 'lib_signal_ HUP 129' HUP
trap 'lib_signal_ INT 130' INT
trap 'lib_signal_ PIPE 141' PIPE
trap 'lib_signal_ TERM 143' TERM

# ---------------------------------------------------------------------------
# Scratch folder.
#
# OpenSSH's StrictModes refuses authorized_keys when any directory on the path
# up to / is group- or world-writable, sticky bit or not, and OpenDKIM's
# RequireSafeKeys refuses keys under such directories too.  /tmp and /var/tmp
# are both 1777 here, so as root $TRASH goes under /var/lib/certpush-tests
# (root 0755 all the way up) unless $TMPDIR is itself safe.  Not /run: it is
# often mounted noexec, and tests run scripts from $TRASH.

# path_is_safe_ DIR: true if DIR and every parent are neither group- nor
# world-writable.
path_is_safe_ () {
	local d=$1 mode
	while :; do
		mode=$(stat -c %a "$d" 2>/dev/null) || return 1
		test $((8#$mode & 8#022)) = 0 || return 1
		test "$d" != / || return 0
		d=$(dirname "$d")
	done
}

pick_trash_base_ () {
	local base=${TMPDIR:-/tmp}
	if test "$(id -u)" = 0 && ! path_is_safe_ "$base"; then
		base=/var/lib/certpush-tests
		mkdir -p "$base" && chmod 0755 "$base" || return 1
	fi
	echo "$base"
}

remove_trash_ () {
	test -n "$TRASH" && test -d "$TRASH" || return 0
	if test -n "$KEEP_TRASH"; then
		: >"$TRASH/.lib/kept"
		echo "# keeping $TRASH" >&2
		return 0
	fi
	rm -rf "$TRASH"
}

# reap_stale_trash_: remove what runs killed by SIGKILL left: their scratch
# folder (pid in the name is gone, not kept on purpose) and the daemons
# listed in its .lib/pids, if still running with that folder in their
# command line (so a reused pid is left alone).  A run also holds a lock on
# its .lib/alive for its whole life: a run whose pid we cannot see (another
# PID namespace, another /proc) is left alone too.  Namespaces: see
# netns_reap_stale_.
reap_stale_trash_ () {
	local d pid
	for d in "$TRASH_BASE"/certpush-test.*.[0-9]*; do
		test -d "$d/.lib" && test ! -e "$d/.lib/kept" || continue
		pid=${d##*.}
		pid_alive_ "$pid" && continue
		test ! -e "$d/.lib/alive" || flock -n -x "$d/.lib/alive" true || continue
		for pid in $(cat "$d/.lib/pids" 2>/dev/null); do
			tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "$d/" &&
				stop_pid_ "$pid" 2 >/dev/null
		done
		rm -rf "$d"
	done
}

TRASH_BASE=$(pick_trash_base_) || { echo "Bail out! no trash base"; exit 1; }
TRASH=$TRASH_BASE/certpush-test.$test_name_.$$
rm -rf "$TRASH"
(umask 022 && mkdir -p "$TRASH/.lib") || { echo "Bail out! cannot create $TRASH"; exit 1; }
chmod 0755 "$TRASH"
# Held (shared) until this shell exits; daemon_start closes it in daemons,
# so that the daemons of a run killed by SIGKILL do not keep it alive.
exec 6>"$TRASH/.lib/alive" && flock -s 6 || { echo "Bail out! cannot lock $TRASH/.lib/alive"; exit 1; }
export TRASH
test_out_=$TRASH/.lib/test-output
cd "$TRASH" || exit 1

# ---------------------------------------------------------------------------
# TAP plumbing

# say MSG...: a TAP comment on stdout (shown by prove -v).
say () {
	echo "# $*"
}

# comment_ FILE: print FILE as TAP comments on stderr, which prove always shows.
comment_ () {
	sed 's/^/#   /' "$1" >&2
}

# error MSG: abort the whole script (TAP "Bail out!"); cleanup still runs.
error () {
	echo "Bail out! $*" >&7
	test_done_called_=t
	exit 1
}
BAIL_OUT () { error "$@"; }

# skip_all REASON: skip the whole script; only valid before the first test.
skip_all () {
	test "$test_count_" = 0 || error "skip_all after $test_count_ tests"
	echo "1..0 # SKIP $*" >&7
	test_done_called_=t
	exit 0
}

test_eval_ () {
	if test -n "$trace_"; then
		eval "set -x
$1" >>"$test_out_" 2>&1 </dev/null
		{ eval_status_=$?; set +x; } 2>/dev/null
	else
		eval "$1" >>"$test_out_" 2>&1 </dev/null
		eval_status_=$?
	fi
	return "$eval_status_"
}

# test_run_ BODY: eval BODY then the cleanups it registered; the status is
# the body's unless a cleanup failed (git's semantics).
test_run_ () {
	: >"$test_out_"
	test_cleanup=:
	test_eval_ "$1"
	eval_ret=$?
	test_eval_ "$test_cleanup"
	test_cleanup=:
	return "$eval_ret"
}

test_report_failure_ () {
	echo "not ok $test_count_ - $1"
	{
		echo "#   failed test $test_count_: $1"
		echo "#   body:"
		printf '%s\n' "$2" | sed 's/^/#     /'
		echo "#   output:"
	} >&2
	comment_ "$test_out_"
}

test_show_output_ () {
	test -n "$verbose_" && test -s "$test_out_" || return 0
	sed 's/^/#   /' "$test_out_"
}

# test_skip_ DESC PREREQS: print the skip line and succeed if this test is to
# be skipped (SKIP_TESTS or a missing prerequisite).
test_skip_ () {
	local missing=
	case " ${SKIP_TESTS:-} " in
	*" $test_name_.$test_count_ "*|*" ${test_name_%%-*}.$test_count_ "*)
		echo "ok $test_count_ # skip $1 (SKIP_TESTS)"
		return 0 ;;
	esac
	test -n "$2" || return 1
	test_have_prereq "$2" && return 1
	missing=$missing_prereq_
	echo "ok $test_count_ # skip $1 (missing $missing)"
	return 0
}

test_args_ () {
	# 2 args: DESC BODY; 3 args: PREREQ DESC BODY.
	case $# in
	2) prereq_='' desc_=$1 body_=$2 ;;
	3) prereq_=$1 desc_=$2 body_=$3 ;;
	*) error "bug in the test script: test_expect_* takes 2 or 3 arguments, not $#" ;;
	esac
}

# test_expect_success [PREREQ] DESC BODY
test_expect_success () {
	local prereq_ desc_ body_
	test_args_ "$@"
	test_count_=$((test_count_ + 1))
	test_skip_ "$desc_" "$prereq_" && return 0
	if test_run_ "$body_"; then
		echo "ok $test_count_ - $desc_"
		test_show_output_
	else
		test_failed_=$((test_failed_ + 1))
		test_report_failure_ "$desc_" "$body_"
		test -z "$immediate_" || error "stopping at the first failure (--immediate)"
	fi
}

# test_expect_failure [PREREQ] DESC BODY: a known breakage (TAP TODO).
test_expect_failure () {
	local prereq_ desc_ body_
	test_args_ "$@"
	test_count_=$((test_count_ + 1))
	test_skip_ "$desc_" "$prereq_" && return 0
	if test_run_ "$body_"; then
		test_fixed_=$((test_fixed_ + 1))
		echo "ok $test_count_ - $desc_ # TODO known breakage vanished"
	else
		test_broken_=$((test_broken_ + 1))
		echo "not ok $test_count_ - $desc_ # TODO known breakage"
	fi
	test_show_output_
}

# test_skip DESC REASON: count a test as skipped without running anything.
test_skip () {
	test_count_=$((test_count_ + 1))
	echo "ok $test_count_ # skip $1 (${2:-skipped})"
}

# test_done: print the plan, exit 1 if any test failed.  Cleanup runs at exit.
test_done () {
	test_done_called_=t
	echo "1..$test_count_"
	test "$test_fixed_" = 0 || say "$test_fixed_ known breakage(s) vanished"
	test "$test_broken_" = 0 || say "still have $test_broken_ known breakage(s)"
	if test "$test_failed_" != 0; then
		echo "# failed $test_failed_ among $test_count_ test(s)" >&2
		exit 1
	fi
	exit 0
}

# test_when_finished CMD: run CMD after the current test, even if it fails;
# LIFO; a failing CMD fails the test.  Must be called from a test body.
test_when_finished () {
	if test "${BASH_SUBSHELL:-0}" != 0; then
		echo "BUG: test_when_finished does nothing in a subshell" >&2
		return 1
	fi
	test_cleanup="{ $*
		} && (exit \"\$eval_ret\"); eval_ret=\$?; $test_cleanup"
}

# ---------------------------------------------------------------------------
# Prerequisites: test_have_prereq A,B,!C.  Built in: ROOT, NETNS, CMD:name,
# BUILT (both binaries exist).  Add your own with test_set_prereq NAME.

test_set_prereq () {
	prereq_cache_[$1]=0
}

prereq_check_ () {
	case $1 in
	ROOT) test "$(id -u)" = 0 ;;
	NETNS) netns_probe_ ;;
	CMD:*) command -v "${1#CMD:}" >/dev/null 2>&1 ;;
	BUILT) test -x "$CERTPUSH" && test -x "$CERTPULL" ;;
	*) return 1 ;;
	esac
}

# test_have_prereq LIST: true if every prerequisite in the comma-separated
# LIST holds; sets missing_prereq_ to the ones that do not.
test_have_prereq () {
	local p name neg ok all=0 IFS=,
	missing_prereq_=
	for p in $1; do
		name=${p#!}
		neg=; test "$name" = "$p" || neg=t
		if test -z "${prereq_cache_[$name]+set}"; then
			prereq_check_ "$name" >/dev/null 2>&1
			prereq_cache_[$name]=$?
		fi
		ok=${prereq_cache_[$name]}
		if { test -z "$neg" && test "$ok" != 0; } ||
		   { test -n "$neg" && test "$ok" = 0; }; then
			missing_prereq_=${missing_prereq_:+$missing_prereq_,}$p
			all=1
		fi
	done
	return $all
}

# ---------------------------------------------------------------------------
# Assertions.  Each prints why it failed, for the TAP comments.

# test_cmp EXPECTED ACTUAL
test_cmp () {
	diff -u "$@"
}

# test_must_fail CMD...: CMD must exit 1..125: a crash (signal, exit > 128)
# or a missing/unrunnable command (126, 127) is not the failure we want.
# The assertions that run a command report on stderr: its stdout is often
# redirected to a file, which would swallow why the test failed.
test_must_fail () {
	"$@"
	local code=$?
	if test $code = 0; then
		echo "test_must_fail: command succeeded: $*" >&2
		return 1
	elif test $code -gt 128; then
		echo "test_must_fail: died by signal $((code - 128)): $*" >&2
		return 1
	elif test $code = 126 || test $code = 127; then
		echo "test_must_fail: command not found or not runnable: $*" >&2
		return 1
	fi
	return 0
}

# test_expect_code N CMD...: CMD must exit with exactly N.
test_expect_code () {
	local want=$1 code
	shift
	"$@"
	code=$?
	test "$code" = "$want" && return 0
	echo "test_expect_code: expected exit $want, got $code: $*" >&2
	return 1
}

test_path_is_file () {
	test -f "$1" && return 0
	echo "File $1 does not exist"
	return 1
}

test_path_is_dir () {
	test -d "$1" && return 0
	echo "Directory $1 does not exist"
	return 1
}

test_path_is_missing () {
	test ! -e "$1" && test ! -L "$1" && return 0
	echo "Path $1 exists"
	return 1
}

# test_file_mode PATH MODE: compare permission bits as octal numbers, so 600
# and 0600 both match.
test_file_mode () {
	local got
	got=$(stat -c %a "$1") || return 1
	test $((8#$got)) = $((8#$2)) && return 0
	echo "mode of $1 is $got, expected $2"
	return 1
}

# test_file_owner PATH USER:GROUP
test_file_owner () {
	local got
	got=$(stat -c %U:%G "$1") || return 1
	test "$got" = "$2" && return 0
	echo "owner of $1 is $got, expected $2"
	return 1
}

# ---------------------------------------------------------------------------
# Random choices.  test_seed picks the seed (TEST_SEED, or RELIABILITY_SEED
# its older name, or the pid), prints it, and seeds everything a test draws
# from: bash's $RANDOM, and libfiu's enable_random (FIU_PRNG_SEED, read by
# the preload library of fiu-run).  Call it once, before the first choice;
# anything else random (awk, perl) must be seeded from $TEST_SEED.  Draw
# from $RANDOM in the script's own shell, never inside $(...): bash
# reseeds $RANDOM in every subshell.

test_seed () {
	TEST_SEED=${TEST_SEED:-${RELIABILITY_SEED:-$$}}
	case $TEST_SEED in
	''|*[!0-9]*) error "TEST_SEED must be a number, not '$TEST_SEED'" ;;
	esac
	RANDOM=$TEST_SEED
	FIU_PRNG_SEED=$TEST_SEED
	export TEST_SEED FIU_PRNG_SEED
	# On stderr, which prove shows without -v: a failure in make check
	# must come with the seed that repeats it.
	echo "# seed $TEST_SEED (TEST_SEED=$TEST_SEED repeats these choices)" >&2
}

# ---------------------------------------------------------------------------
# Waiting.  Every loop is bounded by a deadline and an iteration count.

# wait_until_ TIMEOUT_S CMD...: poll CMD every 0.1 s until it succeeds.
wait_until_ () {
	local timeout=$1 i end
	shift
	end=$((SECONDS + timeout))
	for ((i = 0; i < timeout * 10 + 1; i++)); do
		"$@" && return 0
		test $SECONDS -le $end || break
		sleep 0.1
	done
	return 1
}

# wait_for_port ADDR PORT [TIMEOUT_S]: wait for a TCP listener; with NETNS=node
# in the environment, connect from inside that namespace.  Each attempt has
# its own timeout: a SYN into a cut link would otherwise wait for minutes.
wait_for_port () {
	local ns_cmd=()
	test -z "${NETNS:-}" || ns_cmd=(ip netns exec "$(netns_name "$NETNS")")
	wait_until_ "${3:-10}" timeout 2 "${ns_cmd[@]}" bash -c \
		'exec 3<>"/dev/tcp/$0/$1"' "$1" "$2" 2>/dev/null && return 0
	echo "wait_for_port: nothing listening on $1:$2${NETNS:+ in $NETNS} after ${3:-10}s"
	return 1
}

# wait_for_udp_port NODE PORT [TIMEOUT_S]: wait until a UDP socket is bound
# to PORT in NODE's namespace (a query sent before that gets a port
# unreachable, which a resolver reports at once as a failed lookup).
wait_for_udp_port () {
	wait_until_ "${3:-10}" udp_bound_ "$1" "$2" && return 0
	echo "wait_for_udp_port: nothing bound to udp port $2 in $1 after ${3:-10}s"
	return 1
}

udp_bound_ () {
	ip netns exec "$(netns_name "$1")" ss -Hlun "sport = :$2" 2>/dev/null | grep -q .
}

# wait_for_file PATH [TIMEOUT_S]: wait until PATH exists.
wait_for_file () {
	wait_until_ "${2:-10}" test -e "$1" && return 0
	echo "wait_for_file: $1 did not appear after ${2:-10}s"
	return 1
}

# ---------------------------------------------------------------------------
# Daemons.  Each runs in the foreground of a background job, so $! is its
# pid (ip netns exec execs the command, keeping the pid).  Background jobs of
# a non-interactive shell ignore SIGINT: Ctrl-C reaches us, and we stop them.

declare -A daemon_pidfile_=()

# pid_alive_ PID: running and not a zombie awaiting our wait.
pid_alive_ () {
	kill -0 "$1" 2>/dev/null || return 1
	case $(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) in
	Z|X|'') return 1 ;;
	esac
	return 0
}

# daemon_start NAME PIDFILE CMD...: run CMD (which must not fork away) in the
# background with output in $TRASH/NAME.log (or $DAEMON_LOG); with
# DAEMON_NETNS=node, inside that node's namespace.  PIDFILE may be empty.
# Registers daemon_stop NAME at exit.
daemon_start () {
	local name=$1 pidfile=${2:-$TRASH/.lib/$1.pid} log=${DAEMON_LOG:-$TRASH/$1.log}
	shift 2
	test -z "${daemon_pidfile_[$name]:-}" || { echo "daemon $name already started"; return 1; }
	test -z "${DAEMON_NETNS:-}" ||
		set -- ip netns exec "$(netns_name "$DAEMON_NETNS")" "$@"
	"$@" >>"$log" 2>&1 </dev/null 6>&- 7>&- 8>&- &
	echo $! >"$pidfile"
	echo $! >>"$TRASH/.lib/pids"
	daemon_pidfile_[$name]=$pidfile
	at_exit "daemon_stop '$name'"
}

# daemon_pid NAME: print the pid daemon_start recorded.
daemon_pid () {
	test -n "${daemon_pidfile_[$1]:-}" && cat "${daemon_pidfile_[$1]}"
}

# stop_pid_ PID [TIMEOUT_S]: TERM, wait bounded, then KILL; reap if ours.
stop_pid_ () {
	local pid=$1
	pid_alive_ "$pid" || { wait "$pid" 2>/dev/null; return 0; }
	kill -TERM "$pid" 2>/dev/null
	if ! wait_until_ "${2:-5}" eval '! pid_alive_ '"$pid"; then
		echo "pid $pid ignored SIGTERM, sending SIGKILL"
		kill -KILL "$pid" 2>/dev/null
		wait_until_ 2 eval '! pid_alive_ '"$pid"
	fi
	wait "$pid" 2>/dev/null
	return 0
}

# daemon_stop NAME: stop a daemon_start'ed daemon; a no-op when already
# stopped, so it is safe at exit too.  The pid file stays (tests may check
# the pid is gone); forgetting NAME keeps a reused pid from being killed.
daemon_stop () {
	local pidfile=${daemon_pidfile_[$1]:-} pid
	test -n "$pidfile" || return 0
	unset "daemon_pidfile_[$1]"
	pid=$(cat "$pidfile" 2>/dev/null) || return 0
	test -z "$pid" || stop_pid_ "$pid"
}

# ---------------------------------------------------------------------------
# Network namespaces.
#
# Layout: one bridge namespace per script run holding bridge "br0"; each node
# namespace gets a veth pair "eth0" <-> "n<index>" on br0, and the host gets
# one veth "cpt<pid>h" with .254.  The /24 is 10.213.X.0/24 with X picked
# free at first use; nothing has a default route and we never enable
# forwarding, so this traffic cannot leave the host.  Namespace names are
# cpt-<pid>-NAME: unique per run; interface names stay under 15 characters.

NETNS_PREFIX=cpt-$$
NETNS_BRIDGE=$NETNS_PREFIX-br
NETNS_HOST_IF=cpt$$h
NETNS_SUBNET=
NETNS_HOST_ADDR=
declare -A netns_index_=() netns_addr_=()
netns_count_=0

netns_probe_ () {
	local ns=$NETNS_PREFIX-probe
	test "$(id -u)" = 0 || return 1
	ip netns add "$ns" || return 1
	ip netns del "$ns"
}

# netns_name NAME: the real namespace name of node NAME (for ip netns, ip -n).
netns_name () {
	echo "$NETNS_PREFIX-$1"
}

# netns_exec NAME CMD...: run CMD inside node NAME.
netns_exec () {
	local ns
	ns=$(netns_name "$1")
	shift
	ip netns exec "$ns" "$@"
}

netns_empty_ () {
	test -z "$(ip netns pids "$1" 2>/dev/null)"
}

# netns_kill_ NS: stop every process left in a namespace (all ours: it is
# named after our pid): TERM all, wait up to 3 s, KILL the rest, reap ours.
netns_kill_ () {
	local pids pid
	pids=$(ip netns pids "$1" 2>/dev/null)
	test -n "$pids" || return 0
	kill -TERM $pids 2>/dev/null
	wait_until_ 3 netns_empty_ "$1" ||
		kill -KILL $(ip netns pids "$1" 2>/dev/null) 2>/dev/null
	wait_until_ 2 netns_empty_ "$1"
	for pid in $pids; do
		wait "$pid" 2>/dev/null
	done
	return 0
}

netns_delete_ () {
	ip netns list | grep -q "^$1\( \|$\)" || return 0
	netns_kill_ "$1"
	ip netns del "$1"
}

# netns_reap_stale_: remove namespaces left by runs that died by SIGKILL
# (their owner pid is gone).  Deleting a bridge namespace also removes the
# host-side veth of that run.
netns_reap_stale_ () {
	local ns pid
	for ns in $(ip netns list | awk '{print $1}' | grep '^cpt-[0-9]*-'); do
		pid=${ns#cpt-}
		pid=${pid%%-*}
		pid_alive_ "$pid" && continue
		ip link del "cpt${pid}h" 2>/dev/null
		netns_delete_ "$ns"
	done
}

# subnet_free_ X: no address or route of the host is in 10.213.X.0/24.
subnet_free_ () {
	! ip -4 -o addr show | grep -q " 10\.213\.$1\." &&
	! ip -4 route show table all | grep -q "^10\.213\.$1\."
}

# lock_ / unlock_: one lock for all runs sharing $TRASH_BASE, held while
# reaping stale runs and while picking a subnet.
lock_ () {
	exec 9>"$TRASH_BASE/certpush-test.lock" && flock -w 10 9 && return 0
	exec 9>&-
	echo "cannot lock $TRASH_BASE/certpush-test.lock"
	return 1
}

unlock_ () {
	exec 9>&-
}

# netns_bridge_init_: create the bridge namespace and the host link once.
netns_bridge_init_ () {
	local x i
	test -z "$NETNS_SUBNET" || return 0
	lock_ || return 1
	x=$(($$ % 250 + 1))
	for ((i = 0; i < 250; i++)); do
		subnet_free_ "$x" && break
		x=$((x % 250 + 1))
	done
	if test $i = 250; then
		unlock_
		echo "netns: no free 10.213.X.0/24"
		return 1
	fi
	# Deleting the bridge namespace would remove the host veth too, but the
	# kernel does that asynchronously: delete it ourselves, first.
	at_exit "netns_delete_ '$NETNS_BRIDGE'"
	at_exit "ip link del '$NETNS_HOST_IF' 2>/dev/null || :"
	ip netns add "$NETNS_BRIDGE" &&
	ip -n "$NETNS_BRIDGE" link set lo up &&
	ip -n "$NETNS_BRIDGE" link add br0 type bridge &&
	ip -n "$NETNS_BRIDGE" link set br0 up &&
	ip link add "$NETNS_HOST_IF" type veth peer name host netns "$NETNS_BRIDGE" &&
	ip -n "$NETNS_BRIDGE" link set host master br0 up &&
	ip addr add "10.213.$x.254/24" dev "$NETNS_HOST_IF" &&
	ip link set "$NETNS_HOST_IF" up
	local rc=$?
	unlock_
	test $rc = 0 || { echo "netns: cannot create bridge"; return 1; }
	NETNS_SUBNET=10.213.$x
	NETNS_HOST_ADDR=$NETNS_SUBNET.254
	netns_index_[host]=host
	netns_addr_[host]=$NETNS_HOST_ADDR
}

# netns_free_host_: the lowest host number no node has.
netns_free_host_ () {
	local n
	for ((n = 1; n <= 253; n++)); do
		case " ${netns_addr_[*]} " in
		*" $NETNS_SUBNET.$n "*) ;;
		*) echo "$n"; return 0 ;;
		esac
	done
	return 1
}

# netns_create NAME [N]: create node NAME with address 10.213.X.N/24 (N in
# 1..253, default: the lowest free), lo up, linked to the run's bridge.  X
# is picked per run, so pass a host number; of a full address only the last
# number is used.
netns_create () {
	local name=$1 n=${2:-} ns
	test -z "${netns_index_[$name]:-}" || { echo "netns $name exists"; return 1; }
	netns_bridge_init_ || return 1
	test -n "$n" || n=$(netns_free_host_) || { echo "netns: no free address"; return 1; }
	n=${n##*.}
	case " ${netns_addr_[*]} " in
	*" $NETNS_SUBNET.$n "*) echo "netns: address .$n taken"; return 1 ;;
	esac
	test "$n" -ge 1 && test "$n" -le 253 || { echo "netns: bad host number $n"; return 1; }
	netns_count_=$((netns_count_ + 1))
	ns=$(netns_name "$name")
	at_exit "netns_delete_ '$ns'"
	ip netns add "$ns" &&
	ip -n "$ns" link set lo up &&
	ip -n "$NETNS_BRIDGE" link add "n$netns_count_" type veth peer name eth0 netns "$ns" &&
	ip -n "$NETNS_BRIDGE" link set "n$netns_count_" master br0 up &&
	ip -n "$ns" addr add "$NETNS_SUBNET.$n/24" dev eth0 &&
	ip -n "$ns" link set eth0 up || { echo "netns: cannot create $ns"; return 1; }
	netns_index_[$name]=n$netns_count_
	netns_addr_[$name]=$NETNS_SUBNET.$n
}

# netns_addr NAME: print the node's IPv4 address ("host" for the host's).
netns_addr () {
	test -n "${netns_addr_[$1]:-}" || { echo "netns_addr: no node $1" >&2; return 1; }
	echo "${netns_addr_[$1]}"
}

# netns_runs NAME COMM: some process in node NAME has command name COMM
# (as in /proc/PID/comm): to wait for a step of a run instead of sleeping.
netns_runs () {
	local pid
	for pid in $(ip netns pids "$(netns_name "$1")" 2>/dev/null); do
		test "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$2" && return 0
	done
	return 1
}

# netns_link_down NAME / netns_link_up NAME: cut or restore the node's link
# at the bridge side, so the node sees carrier loss mid-transfer.  NAME may be
# "host" for the host's link.
netns_link_down () {
	test -n "${netns_index_[$1]:-}" || { echo "no node $1"; return 1; }
	ip -n "$NETNS_BRIDGE" link set "${netns_index_[$1]}" down
}

netns_link_up () {
	test -n "${netns_index_[$1]:-}" || { echo "no node $1"; return 1; }
	ip -n "$NETNS_BRIDGE" link set "${netns_index_[$1]}" up
}

# ---------------------------------------------------------------------------
# What the commands of certpull and certpush are given (see run.h).

# write_spy FILE: a command wrapper that records the descriptors and the
# environment it was given (FILE.fds, FILE.env), then runs its arguments.
write_spy () {
	cat >"$1" <<-\EOF &&
	#!/bin/sh
	# sh -c: a shell with no script file open lists what it inherited.
	/bin/sh -c 'ls "/proc/$$/fd"' >"$0.fds"
	env | grep -v "^PWD=" | sort >"$0.env"
	exec "$@"
	EOF
	chmod 0755 "$1"
}

# spy_saw_clean FILE: descriptors 0-2 and the environment of certpull(8) only.
spy_saw_clean () {
	printf "0\n1\n2\n" >spy.fds.expect &&
	printf "HOME=/\nLANG=C\nPATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n" \
		>spy.env.expect &&
	test_cmp spy.fds.expect "$1.fds" && test_cmp spy.env.expect "$1.env"
}

# ---------------------------------------------------------------------------
# TLS and certificates: lib-certs.sh.  The configurations and nodes the
# push tests share: lib-nodes.sh (its sshd_start is in lib-services.sh).

. "$SRC/tests/lib-certs.sh"
. "$SRC/tests/lib-nodes.sh"

# ---------------------------------------------------------------------------
# Startup: clear what runs killed by SIGKILL left behind, now that every
# function is defined.

if lock_ >/dev/null 2>&1; then
	reap_stale_trash_
	test "$(id -u)" != 0 || netns_reap_stale_
	unlock_
fi
