#!/bin/bash
test_description='crash consistency: kill -9 and I/O faults during installs and pushes

certpull on node "mail" (HAProxy through its runtime API, Postfix and
Dovecot by reload commands) is killed with SIGKILL at random moments of
installs and at every named step (CERTPULL_TEST_CRASH_AT), then run
again.  After each crash and the next certpull run: the journal is gone,
every file holds entirely the old or entirely the new leaf with its own
key, the endpoints serve what the files hold, and the installed serial is
that of the leaf on disk.  certpush --now is killed at random moments of
bundling, state writes and local deliveries: its serial never goes
backwards, the outbox only ever holds bundles that verify, and no target
installs anything but a whole bundle.  Then each fsync, rename and unlink
call of an install fails in turn (strace -e inject), and libfiu fails
write, fsync, rename, open, read or unlink at random inside certpull and
certpush: certpull exits 0 with the new leaf whole, or exits 1, says so,
and leaves the old one whole.

Scale: RELIABILITY=1 runs the long version (200 kills of certpull, 100 of
certpush, 60 fault runs); TEST_SEED=N repeats the random choices of a run
(the kill delays, the fault points and probabilities, and the draws of
libfiu), as printed in its "# seed N".'
. "$(dirname "$0")/lib.sh"
. "$SRC/tests/lib-services.sh"

test_have_prereq ROOT || skip_all "needs root"
test_have_prereq NETNS || skip_all "cannot create network namespaces"
test_have_prereq BUILT || skip_all "build certpush and certpull first"
for cmd in haproxy postfix dovecot doveadm socat openssl flock pgrep; do
	test_have_prereq "CMD:$cmd" || skip_all "missing $cmd"
done

if test -n "${RELIABILITY:-}"; then
	KILLS=200 PUSH_KILLS=100 FAULTS=60
else
	KILLS=15 PUSH_KILLS=15 FAULTS=12
fi
test_seed

# figure NAME K=V...: one line of figures, on the TAP stream.
figure () {
	echo "# FIGURE $*" >&7
}

# pull ARGS...: certpull on node mail.
pull () {
	netns_exec mail "$CERTPULL" -c "$TRASH/${PULLCONF:-certpull.yaml}" "$@" 7>&- 8>&-
}

# use_leaf LEAF: make LEAF the source certificate.
use_leaf () {
	source_leaf ca "$1"
}

# make_bundle LEAF N: bundle leaf LEAF for mail; prints "FILE SERIAL".
make_bundle () {
	local out
	use_leaf "$1" &&
	out=$("$CERTPUSH" -c certpush.yaml bundle --target mail -o "bundles/$1.$2") &&
	echo "bundles/$1.$2 $(echo "$out" | sed -n 's/.*, serial \([0-9]*\),.*/\1/p')"
}

# sleep_ms N
sleep_ms () {
	sleep "$(($1 / 1000)).$(printf %03d $(($1 % 1000)))"
}

# ms_since START_NS
ms_since () {
	echo $((($(date +%s%N) - $1) / 1000000))
}

pubkey () {
	openssl pkey -in "$1" -pubout 2>/dev/null
}

certkey () {
	openssl x509 -in "$1" -noout -pubkey 2>/dev/null
}

# FILES: what certpull installs on mail.  snapshot LEAF keeps a copy of
# them, with their modes and owners, once openssl has checked that each
# holds LEAF with its own key; disk_leaf then only compares.
FILES="certs/haproxy.pem certs/postfix.pem certs/dovecot.crt certs/dovecot.key"

snapshot () {
	local fp
	eval "fp=\$FP_$1"
	test "$(cert_fingerprint certs/haproxy.pem)" = "$fp" &&
	test "$(cert_fingerprint certs/postfix.pem)" = "$fp" &&
	test "$(cert_fingerprint certs/dovecot.crt)" = "$fp" &&
	test "$(pubkey certs/haproxy.pem)" = "$(certkey certs/haproxy.pem)" &&
	test "$(pubkey certs/postfix.pem)" = "$(certkey certs/postfix.pem)" &&
	test "$(pubkey certs/dovecot.key)" = "$(certkey certs/dovecot.crt)" ||
		{ echo "snapshot $1: files do not hold $1 with its key"; return 1; }
	rm -rf "snap/$1" && mkdir -p "snap/$1" && cp $FILES "snap/$1/" &&
	stat -c '%n %a %U:%G' $FILES >"snap/$1.modes"
}

# disk_leaf: print the leaf (a or b) whose files are all in place, with
# their modes and owners; print what is wrong and fail otherwise.
disk_leaf () {
	local leaf f ok
	stat -c '%n %a %U:%G' $FILES >modes.now || return 1
	for leaf in a b; do
		ok=t
		for f in $FILES; do
			cmp -s "$f" "snap/$leaf/${f##*/}" || { ok=; break; }
		done
		test -n "$ok" && cmp -s modes.now "snap/$leaf.modes" && { echo $leaf; return 0; }
	done
	echo "mixed files:"
	for f in $FILES; do
		echo "  $f: $(stat -c '%a %U:%G' "$f") $(cert_fingerprint "$f" 2>&1)"
	done
	return 1
}

served_is_ () {
	test "$(tls_fingerprint --netns mail 127.0.0.1 443 2>/dev/null)" = "$1" &&
	test "$(tls_fingerprint --netns mail --starttls smtp 127.0.0.1 25 2>/dev/null)" = "$1" &&
	test "$(tls_fingerprint --netns mail 127.0.0.1 993 2>/dev/null)" = "$1"
}

# served_is LEAF: every endpoint serves LEAF (daemons act a moment after a
# reload returns: wait a little).
served_is () {
	local fp
	eval "fp=\$FP_$1"
	wait_until_ 10 served_is_ "$fp" && return 0
	echo "served: 443 $(tls_fingerprint --netns mail 127.0.0.1 443 2>&1)," \
		"25 $(tls_fingerprint --netns mail --starttls smtp 127.0.0.1 25 2>&1)," \
		"993 $(tls_fingerprint --netns mail 127.0.0.1 993 2>&1); expected $1 $fp"
	return 1
}

# installed_serial: the serial of certpull's state file.
installed_serial () {
	sed -n 's/^serial \([0-9]*\)$/\1/p' pullstate/installed 2>/dev/null
}

temp_files () {
	find certs pullstate \( -name '*.certpull-new' -o -name '.*.??????' \) -print
}

# check_old_or_new OLD NEW OLD_SERIAL NEW_SERIAL: after a crash (or a
# failure) and a recovering "certpull status": no journal, the files of
# one leaf, its serial recorded, that leaf served.  Prints the leaf.
check_old_or_new () {
	local leaf serial
	pull status >status.out 2>&1 || { echo "status failed: $(cat status.out)"; return 1; }
	test_path_is_missing pullstate/journal || return 1
	leaf=$(disk_leaf) || { echo "$leaf"; return 1; }
	serial=$(installed_serial)
	case $leaf in
	"$1") test "$serial" = "$3" || { echo "files hold old $1, state says serial $serial, not $3"; return 1; } ;;
	"$2") test "$serial" = "$4" || { echo "files hold new $2, state says serial $serial, not $4"; return 1; } ;;
	esac
	served_is "$leaf" || return 1
	echo "$leaf"
}

# check_installed LEAF SERIAL: a completed install of LEAF.
check_installed () {
	local leaf
	test_path_is_missing pullstate/journal &&
	leaf=$(disk_leaf) && test "$leaf" = "$1" &&
	test "$(installed_serial)" = "$2" &&
	served_is "$1" || { echo "not installed: $1 serial $2 (disk: $leaf)"; return 1; }
	test -z "$(temp_files)" || { echo "temp files left: $(temp_files)"; return 1; }
}

other_leaf () {
	case $1 in a) echo b ;; b) echo a ;; esac
}

test_expect_success 'setup: CA, two leaves, node mail with HAProxy, Postfix, Dovecot' '
	make_ca ca &&
	make_cert ca a "DNS:mail.test,DNS:www.test" ec &&
	make_cert ca b "DNS:mail.test,DNS:www.test" ec &&
	FP_a=$(cert_fingerprint ca/a.crt) && FP_b=$(cert_fingerprint ca/b.crt) &&
	mkdir -m 0700 src state pullstate keys bundles &&
	netns_create mail 2 &&
	mail_start mail a "$TRASH/certs" "$TRASH" &&
	install -m 0600 ca/a.pem certs/haproxy.pem &&
	haproxy_start mail "$TRASH/haproxy" "$TRASH/certs/haproxy.pem" &&
	served_is a
'

# pull_config WRAP: certpull.yaml; WRAP prefixes the reload commands.
pull_config () {
	pull_conf_head mail "$TRASH/pullstate" "grace: 10" &&
	cat <<-EOF
	  - name: haproxy
	    files:
	      - { path: $TRASH/certs/haproxy.pem, item: mail, format: haproxy, mode: "0600" }
	    haproxy_socket: $TRASH/haproxy/admin.sock
	    reload: [$1/bin/kill, -USR2, "$(cat haproxy/haproxy.pid)"]
	    endpoints:
	      - { address: 127.0.0.1, port: 443 }
	  - name: postfix
	    files:
	      - { path: $TRASH/certs/postfix.pem, item: mail, format: key+chain, mode: "0600" }
	    reload: [$1/usr/sbin/postfix, -c, $TRASH/postfix/etc, reload]
	    endpoints:
	      - { address: 127.0.0.1, port: 25, starttls: smtp }
	  - name: dovecot
	    files:
	      - { path: $TRASH/certs/dovecot.crt, item: mail, format: fullchain, mode: "0644" }
	      - { path: $TRASH/certs/dovecot.key, item: mail, format: key, mode: "0600" }
	    reload: [$1/usr/bin/doveadm, -c, $TRASH/dovecot/dovecot.conf, reload]
	    endpoints:
	      - { address: 127.0.0.1, port: 993 }
	EOF
}

test_expect_success 'setup: configurations; install a, then b' '
	push_keys &&
	{ push_conf_head --cert mail && push_target_local mail mail; } >certpush.yaml &&
	pull_config "" >certpull.yaml &&
	pull check-config &&
	set -- $(make_bundle a setup) &&
	pull install "$1" >out &&
	snapshot a &&
	set -- $(make_bundle b setup) &&
	start=$(date +%s%N) &&
	pull install "$1" >out &&
	INSTALL_MS=$(ms_since $start) &&
	cat out &&
	snapshot b &&
	check_installed b "$2" &&
	CUR=b && CUR_SERIAL=$2 &&
	say "one install takes $INSTALL_MS ms"
'

# crash_trial HOW: an install of the other leaf, killed at a random moment
# (HOW = random) or at step HOW, then the checks; then the next run must
# complete it.  Counts in TRIALS, KILLED, VIOLATIONS, LEFT.
crash_trial () {
	local how=$1 new rc pid
	new=$(other_leaf $CUR)
	set -- $(make_bundle $new $TRIALS) || return 1
	TRIALS=$((TRIALS + 1))
	if test "$how" = random; then
		# Not through pull (a function): $! must be certpull itself.
		ip netns exec "$(netns_name mail)" "$CERTPULL" -c "$TRASH/certpull.yaml" \
			install "$1" >trial.out 2>&1 7>&- 8>&- &
		pid=$!
		sleep_ms $((RANDOM % (INSTALL_MS + 1)))
		comm=$(cat /proc/$pid/comm 2>/dev/null)
		kill -KILL $pid 2>/dev/null
		wait $pid 2>/dev/null && rc=0 || rc=$?
	else
		comm=certpull
		CERTPULL_TEST_CRASH_AT=$how pull install "$1" >trial.out 2>&1 && rc=0 || rc=$?
		test $rc = 137 || { echo "step $how: expected SIGKILL, got exit $rc"; VIOLATIONS=$((VIOLATIONS + 1)); }
	fi
	if test $rc = 137; then
		test "$comm" = certpull && KILLED=$((KILLED + 1)) || EARLY=$((EARLY + 1))
	fi
	if ! check_old_or_new $CUR $new $CUR_SERIAL $2 >check.out 2>&1; then
		VIOLATIONS=$((VIOLATIONS + 1))
		echo "trial $TRIALS ($how, exit $rc): $(cat check.out)"
	fi
	test -z "$(temp_files)" || LEFT=$((LEFT + 1))
	# The next run completes the install.
	pull install "$1" >rerun.out 2>&1 && rc=0 || rc=$?
	if test $rc = 1 || ! check_installed $new $2 >check.out 2>&1; then
		VIOLATIONS=$((VIOLATIONS + 1))
		echo "trial $TRIALS ($how): the next run (exit $rc) did not complete it:" \
			"$(cat rerun.out check.out)"
	fi
	CUR=$new CUR_SERIAL=$2
}

test_expect_success "kill -9 of certpull at $KILLS random moments, then the next run" '
	TRIALS=0 KILLED=0 EARLY=0 VIOLATIONS=0 LEFT=0 start=$(date +%s%N) &&
	for ((i = 0; i < KILLS; i++)); do
		crash_trial random || return 1
	done &&
	figure "crash-certpull-random: trials=$TRIALS killed-mid-run=$KILLED killed-before-exec=$EARLY violations=$VIOLATIONS" \
		"temp-files-until-next-run=$LEFT seconds=$(($(ms_since $start) / 1000))" &&
	test $VIOLATIONS = 0
'

test_expect_success 'kill -9 of certpull at every named step, then the next run' '
	TRIALS=0 KILLED=0 EARLY=0 VIOLATIONS=0 LEFT=0 &&
	for step in staged saved journaled swapped-0 swapped-1 swapped-2 swapped-3 \
		checked reloaded recorded finished; do
		crash_trial $step || return 1
	done &&
	figure "crash-certpull-steps: trials=$TRIALS killed=$KILLED violations=$VIOLATIONS" &&
	test $TRIALS = 11 && test $KILLED = 11 && test $VIOLATIONS = 0
'

# With haproxy_socket and no reload command, HAProxy holds the new leaf in
# memory only: the recovery must hand it the restored file the same way.
test_expect_success 'kill -9 after HAProxy took the new leaf by its runtime API alone: the recovery gives it back the old one' '
	sed "/-USR2/d" certpull.yaml >certpull-api.yaml &&
	new=$(other_leaf $CUR) && eval "fp_new=\$FP_$new" &&
	set -- $(PULLCONF=certpull-api.yaml make_bundle $new api) &&
	{ CERTPULL_TEST_CRASH_AT=reloaded PULLCONF=certpull-api.yaml pull install "$1" >trial.out 2>&1; test $? = 137; } &&
	test "$(tls_fingerprint --netns mail 127.0.0.1 443)" = "$fp_new" &&
	PULLCONF=certpull-api.yaml pull status >status.out 2>&1 &&
	grep "interrupted install was found and rolled back" status.out &&
	leaf=$(PULLCONF=certpull-api.yaml check_old_or_new $CUR $new $CUR_SERIAL $2) &&
	test "$leaf" = $CUR
'

# Services are matched by their exact names: "postfix" is no part of
# "postfix-sub".  mark NAME appends NAME to mark.log.
test_expect_success 'kill -9 after the reloads: the recovery reloads postfix-sub and postfix alike' '
	printf "#!/bin/sh\necho \"\$1\" >>\"\$0.log\"\n" >mark && chmod 0755 mark &&
	mkdir sub &&
	cat >sub.yaml <<-EOF &&
	node: mail
	state_dir: $TRASH/pullstate-sub
	trusted_keys: [$pub]
	services:
	  - name: postfix-sub
	    files:
	      - { path: $TRASH/sub/sub.pem, item: mail, format: key+chain, mode: "0600" }
	    reload: [$TRASH/mark, postfix-sub]
	  - name: postfix
	    files:
	      - { path: $TRASH/sub/main.pem, item: mail, format: key+chain, mode: "0600" }
	    reload: [$TRASH/mark, postfix]
	EOF
	set -- $(make_bundle a sub1) && "$CERTPULL" -c sub.yaml install "$1" >out &&
	set -- $(make_bundle b sub2) && rm mark.log &&
	{ CERTPULL_TEST_CRASH_AT=reloaded "$CERTPULL" -c sub.yaml install "$1" >out 2>&1; test $? = 137; } &&
	printf "postfix-sub\npostfix\n" >expect && test_cmp expect mark.log && rm mark.log &&
	"$CERTPULL" -c sub.yaml status >out 2>&1 &&
	grep "rolled back (services: postfix-sub,postfix)" out &&
	test_cmp expect mark.log &&
	test "$(cert_fingerprint sub/main.pem)" = "$FP_a" &&
	test "$(cert_fingerprint sub/sub.pem)" = "$FP_a"
'

# ---------------------------------------------------------------------------
# certpush --now, killed: three local targets n1..n3, each a certpull with
# a plain file.

# node_conf N: the certpull.yaml of target nN.
node_conf () {
	pull_conf_head n$1 "$TRASH/nodes/n$1/state" &&
	pull_files_service "$TRASH/nodes/n$1/site.pem" mail haproxy 0600
}

push () {
	"$CERTPUSH" -c "$TRASH/push.yaml" "$@" 7>&- 8>&-
}

push_serial () {
	cat pstate/serial 2>/dev/null || echo 0
}

# no_orphans: wait until no certpull a killed certpush started still runs.
no_orphans () {
	wait_until_ 20 eval "! pgrep -f \"$TRASH/nodes/\" >/dev/null"
}

# check_push_state LAST_SERIAL [FAULTS]: the serial file parses and did not
# go back; each outbox bundle verifies on its node; each node holds one
# whole leaf, and any bundle it refused was cut short, never a corrupt one
# (with FAULTS, certpull itself ran under faults: any step but verify).
# Temp files of a killed writer are counted in TEMPS_NOW (this check) and
# TEMPS (all checks).
declare -A OUTCOME_SUM=()

check_push_state () {
	local s n f out sum
	s=$(push_serial)
	case $s in
	''|*[!0-9]*) echo "serial file corrupt: \"$s\""; return 1 ;;
	esac
	test "$s" -ge "$1" || { echo "serial went back from $1 to $s"; return 1; }
	TEMPS_NOW=0
	for f in pstate/outbox/* pstate/outbox/.[!.]*; do
		test -e "$f" || continue
		case ${f##*/} in
		n[123].bundle)
			n=${f##*/}
			"$CERTPULL" -c "nodes/${n%.bundle}/certpull.yaml" verify "$f" >verify.out 2>&1 ||
				{ echo "outbox: $(cat verify.out)"; return 1; } ;;
		.n[123].bundle.??????)
			# A killed writer's temp file: the next complete push removes it.
			TEMPS_NOW=$((TEMPS_NOW + 1)) TEMPS=$((TEMPS + 1)) ;;
		*)	echo "outbox holds $f"; return 1 ;;
		esac
	done
	for n in 1 2 3; do
		"$CERTPULL" -c "nodes/n$n/certpull.yaml" status >/dev/null 2>&1 ||
			{ echo "n$n: status failed"; return 1; }
		test -e "nodes/n$n/site.pem" || continue
		cmp -s "nodes/n$n/site.pem" push-snap/a.pem || cmp -s "nodes/n$n/site.pem" push-snap/b.pem ||
			{ echo "n$n: site.pem holds neither leaf whole"; return 1; }
		out=$(sed -n "s/.*\"step\":\"\([^\"]*\)\".*/\1/p" "nodes/n$n/state/last-outcome.json" 2>/dev/null)
		case $out in
		''|verify:size|verify:length|verify:serial|lock) ;;
		verify:*) echo "n$n: refused a delivered bundle at $out"; return 1 ;;
		*) test -n "${2:-}" || { echo "n$n: failed at $out"; return 1; } ;;
		esac
		# Count each refusal once: the outcome file stays until the next run.
		sum=$(cksum <"nodes/n$n/state/last-outcome.json")
		test "$out" = "" || test "$sum" = "${OUTCOME_SUM[$n]:-}" || REFUSED=$((REFUSED + 1))
		OUTCOME_SUM[$n]=$sum
	done
}

test_expect_success 'setup: certpush with three local targets' '
	mkdir -m 0700 pstate && mkdir nodes push-snap &&
	{
		echo "state_dir: $TRASH/pstate" &&
		sed -n "/^signing_key/p; /^certificates/,/^targets/p" certpush.yaml &&
		for n in 1 2 3; do
			mkdir -p nodes/n$n && node_conf $n >nodes/n$n/certpull.yaml &&
			push_target_local n$n mail "$TRASH/nodes/n$n/certpull.yaml" || return 1
		done
	} >push.yaml &&
	cat push.yaml &&
	use_leaf a && push --now >out && cp nodes/n1/site.pem push-snap/a.pem &&
	use_leaf b && start=$(date +%s%N) && push --now >out &&
	PUSH_MS=$(ms_since $start) && cp nodes/n1/site.pem push-snap/b.pem &&
	cat out && grep "3 of 3 targets ok" out &&
	test "$(cert_fingerprint push-snap/b.pem)" = "$FP_b" &&
	say "one push takes $PUSH_MS ms"
'

test_expect_success "kill -9 of certpush --now at $PUSH_KILLS random moments" '
	TRIALS=0 KILLED=0 EARLY=0 VIOLATIONS=0 REFUSED=0 TEMPS=0 last=$(push_serial) leaf=b &&
	for ((i = 0; i < PUSH_KILLS; i++)); do
		leaf=$(other_leaf $leaf) && use_leaf $leaf &&
		{ "$CERTPUSH" -c "$TRASH/push.yaml" --now >trial.out 2>&1 7>&- 8>&- & pid=$!; } &&
		sleep_ms $((RANDOM % (PUSH_MS + 1))) &&
		comm=$(cat /proc/$pid/comm 2>/dev/null) &&
		kill -KILL $pid 2>/dev/null
		wait $pid 2>/dev/null && rc=0 || rc=$?
		TRIALS=$((TRIALS + 1))
		if test $rc = 137; then
			test "$comm" = certpush && KILLED=$((KILLED + 1)) || EARLY=$((EARLY + 1))
		fi
		no_orphans || return 1
		if ! check_push_state "$last" >check.out 2>&1; then
			VIOLATIONS=$((VIOLATIONS + 1))
			echo "trial $TRIALS (exit $rc): $(cat check.out)"
		fi
		last=$(push_serial)
	done &&
	push --now >out && grep "3 of 3 targets ok" out &&
	check_push_state "$last" && test $TEMPS_NOW = 0 &&
	figure "crash-certpush: trials=$TRIALS killed-mid-run=$KILLED killed-before-exec=$EARLY violations=$VIOLATIONS" \
		"cut-deliveries-refused=$REFUSED temp-files-until-next-push=$TEMPS" &&
	test $VIOLATIONS = 0
'

# ---------------------------------------------------------------------------
# I/O faults: every fsync, rename and unlink of an install failing in turn
# (strace's fault injection), then random faults (libfiu) of the POSIX
# preload library.

# fault_run LABEL INJECTOR...: an install of the other leaf by a certpull
# run through INJECTOR, then the invariants: exit 0 and the new leaf
# installed whole, or exit 1, a message, and once a run (status) has
# recovered, the old leaf whole.  A write fault may take the message
# with it: WRITE_FAULT=1 lets it go (counted in UNREPORTED).  Counts in
# TRIALS, FAILED and VIOLATIONS; CUR follows the leaf installed.
fault_run () {
	local label=$1 new rc bundle serial
	shift
	FAULT_RUNS=$((${FAULT_RUNS:-0} + 1)) && new=$(other_leaf $CUR) &&
	read -r bundle serial <<<"$(make_bundle $new f$FAULT_RUNS)" || return 1
	netns_exec mail "$@" "$CERTPULL" -c "$TRASH/fault.yaml" install "$bundle" >fault.out 2>&1 7>&- 8>&-
	rc=$?
	TRIALS=$((TRIALS + 1))
	case $rc in
	0)	pull status >/dev/null 2>&1 && check_installed $new $serial >check.out 2>&1 &&
		CUR=$new CUR_SERIAL=$serial ||
			{ VIOLATIONS=$((VIOLATIONS + 1)); echo "$label: exit 0 but $(cat check.out)"; } ;;
	1)	FAILED=$((FAILED + 1))
		if ! grep -q "failed at \|certpull: " fault.out; then
			test -n "${WRITE_FAULT:-}" && UNREPORTED=$((UNREPORTED + 1)) ||
				{ VIOLATIONS=$((VIOLATIONS + 1)); echo "$label: exit 1 without a message"; }
		fi
		check_old_or_new $CUR $new $CUR_SERIAL $serial >check.out 2>&1 &&
		test "$(tail -n 1 check.out)" = $CUR ||
			{ VIOLATIONS=$((VIOLATIONS + 1)); echo "$label: after exit 1: $(cat check.out fault.out)"; } ;;
	*)	VIOLATIONS=$((VIOLATIONS + 1)); echo "$label: exit $rc: $(cat fault.out)" ;;
	esac
}

# certpull's reload commands get a clean environment (certpull.yaml(5)),
# without the fault library: the faults are for certpull alone.
test_expect_success 'setup: the configuration of the fault runs' '
	pull_config "" >fault.yaml &&
	PULLCONF=fault.yaml pull check-config
'

INJECTED="fsync rename unlink unlinkat"

test_expect_success CMD:strace "certpull with each of its fsync, rename and unlink calls failing in turn (strace)" '
	TRIALS=0 FAILED=0 VIOLATIONS=0 UNREPORTED=0 points=0 &&
	# One install without faults counts the calls of each.
	fault_run count strace -qq -o "$TRASH/calls" -e trace=${INJECTED// /,} &&
	test $VIOLATIONS = 0 &&
	for sc in $INJECTED; do
		n=$(grep -c "^$sc(" calls) &&
		say "$sc: $n calls" &&
		for ((k = 1; k <= n; k++)); do
			points=$((points + 1)) &&
			fault_run "$sc #$k of $n" strace -qq -o /dev/null \
				-e trace=$sc -e inject=$sc:error=EIO:when=$k || return 1
		done || return 1
	done &&
	figure "faults-certpull-each-call: points=$points runs=$TRIALS failed-and-reported=$FAILED violations=$VIOLATIONS" &&
	test $points -gt 10 && test $VIOLATIONS = 0
'

FAULT_POINTS="posix/io/rw/write posix/io/sync/fsync posix/io/dir/rename
	posix/io/oc/open posix/io/rw/read posix/io/dir/unlink"

# pick_fault: FAULT="NAME PROBABILITY" at random, and FAULT_SEED for the
# draws of libfiu in that run.  Not through $(...): bash reseeds $RANDOM
# in a subshell, and the choice would not come from the seed.
pick_fault () {
	local points=($FAULT_POINTS) probs=(0.05 0.2 0.5)
	FAULT="${points[RANDOM % ${#points[@]}]} ${probs[RANDOM % 3]}"
	FAULT_SEED=$RANDOM
}

test_expect_success CMD:fiu-run "certpull under random I/O faults ($FAULTS runs): reported, old state kept" '
	TRIALS=0 FAILED=0 VIOLATIONS=0 UNREPORTED=0 &&
	for ((i = 0; i < FAULTS; i++)); do
		pick_fault && f=$FAULT &&
		case $f in posix/io/rw/write*) WRITE_FAULT=1 ;; *) WRITE_FAULT= ;; esac &&
		fault_run "fault $f, FIU_PRNG_SEED=$FAULT_SEED" env FIU_PRNG_SEED=$FAULT_SEED \
			fiu-run -x -c "enable_random name=${f% *},probability=${f#* }" || return 1
	done &&
	figure "faults-certpull: runs=$TRIALS failed-and-reported=$FAILED" \
		"unreported-after-write-faults=$UNREPORTED violations=$VIOLATIONS" &&
	test $VIOLATIONS = 0
'

test_expect_success CMD:fiu-run "certpush --now under I/O faults ($FAULTS runs): reported, serial and outbox sound" '
	TRIALS=0 FAILED=0 VIOLATIONS=0 REFUSED=0 TEMPS=0 last=$(push_serial) leaf=b &&
	for ((i = 0; i < FAULTS; i++)); do
		leaf=$(other_leaf $leaf) && use_leaf $leaf && pick_fault && f=$FAULT &&
		FIU_PRNG_SEED=$FAULT_SEED fiu-run -x -c "enable_random name=${f% *},probability=${f#* }" \
			"$CERTPUSH" -c "$TRASH/push.yaml" --now >fault.out 2>&1 7>&- 8>&-
		rc=$?
		TRIALS=$((TRIALS + 1))
		case $rc in
		0)	grep -q "3 of 3 targets ok" fault.out ||
				{ VIOLATIONS=$((VIOLATIONS + 1)); echo "fault $f: exit 0: $(cat fault.out)"; } ;;
		1)	FAILED=$((FAILED + 1))
			test -s fault.out ||
				{ VIOLATIONS=$((VIOLATIONS + 1)); echo "fault $f: exit 1 without a message"; } ;;
		*)	VIOLATIONS=$((VIOLATIONS + 1)); echo "fault $f: exit $rc: $(cat fault.out)" ;;
		esac
		no_orphans &&
		check_push_state "$last" faults >check.out 2>&1 ||
			{ VIOLATIONS=$((VIOLATIONS + 1)); echo "fault $f (exit $rc): $(cat check.out fault.out)"; }
		last=$(push_serial)
	done &&
	push --now >out && grep "3 of 3 targets ok" out &&
	check_push_state "$(push_serial)" && test $TEMPS_NOW = 0 &&
	figure "faults-certpush: runs=$TRIALS failed-and-reported=$FAILED violations=$VIOLATIONS" &&
	test $VIOLATIONS = 0
'

test_done
