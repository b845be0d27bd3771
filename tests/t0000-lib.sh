#!/bin/bash
test_description='self-test of tests/lib.sh'
. "$(dirname "$0")/lib.sh"

# Sub-scripts show what a failing or interrupted test script does.  Each is a
# test script of its own (sourcing lib.sh), written at top level from a
# quoted here-document so it can use single quotes; $OUTER is our $TRASH.

# sub_script NAME <BODY: write NAME.sh.
sub_script () {
	{ printf '#!/bin/bash\n. "%s/tests/lib.sh"\n' "$SRC" && cat; } >"$1.sh"
}

# run_sub NAME: run NAME.sh, keeping stdout, stderr and the exit code in
# NAME.out, NAME.err and NAME.rc; our own settings must not leak in
# (SUB_SEED becomes its TEST_SEED).
run_sub () {
	env -u KEEP_TRASH -u TEST_VERBOSE -u SKIP_TESTS -u RELIABILITY_SEED \
		TEST_SEED="${SUB_SEED:-}" OUTER="$TRASH" \
		bash "$1.sh" >"$1.out" 2>"$1.err"
	echo $? >"$1.rc"
}

sub_script seeded <<\EOF
test_seed
test_expect_success 'draw' '
	echo "$RANDOM $RANDOM $FIU_PRNG_SEED" >"$OUTER/seeded.draws"
'
test_done
EOF

test_expect_success 'test_seed prints its seed; TEST_SEED=N repeats the draws' '
	run_sub seeded && echo 0 >expect && test_cmp expect seeded.rc &&
	seed=$(sed -n "s/^# seed \([0-9]*\) (TEST_SEED=[0-9]* repeats these choices)$/\1/p" seeded.err) &&
	test -n "$seed" && mv seeded.draws first &&
	SUB_SEED=$seed run_sub seeded && test_cmp expect seeded.rc &&
	test_cmp first seeded.draws &&
	SUB_SEED=$((seed + 1)) run_sub seeded && test_cmp expect seeded.rc &&
	! cmp -s first seeded.draws &&
	SUB_SEED=abc run_sub seeded && echo 1 >expect && test_cmp expect seeded.rc &&
	grep "Bail out! TEST_SEED must be a number" seeded.out
'

# A scratch folder whose pid is not to be seen: reaped only once no process
# holds its .lib/alive (a run in another PID namespace looks like this).
test_expect_success CMD:flock 'a run that holds its lock keeps its scratch folder from the reaper' '
	stale=$(dirname "$TRASH")/certpush-test.t0000-fake.999999999 &&
	rm -rf "$stale" && mkdir -p "$stale/.lib" && test_when_finished "rm -rf \"$stale\"" &&
	# The holder execs into sleep with the lock on fd 5: killing it frees the lock.
	{ (exec 5>"$stale/.lib/alive" && flock -s 5 && exec sleep 300) 7>&- 8>&- & holder=$!; } &&
	test_when_finished "kill $holder 2>/dev/null; wait $holder 2>/dev/null; :" &&
	wait_until_ 10 test_must_fail flock -n -x "$stale/.lib/alive" true &&
	run_sub seeded && test_path_is_dir "$stale" &&
	kill $holder && wait $holder 2>/dev/null;
	run_sub seeded && test_path_is_missing "$stale"
'

test_expect_success 'test_cmp passes on equal files, fails with a diff' '
	printf "a\nb\n" >one && printf "a\nb\n" >two && printf "a\nc\n" >three &&
	test_cmp one two &&
	test_must_fail test_cmp one three >diff &&
	grep "^-b" diff && grep "^+c" diff
'

test_expect_success 'test_must_fail wants an ordinary failure' '
	test_must_fail false &&
	test_must_fail sh -c "exit 3" &&
	test_expect_code 1 test_must_fail true &&
	test_expect_code 1 test_must_fail sh -c "kill -TERM \$\$" &&
	test_expect_code 1 test_must_fail sh -c "exit 129" &&
	test_expect_code 1 test_must_fail no-such-command-certpush &&
	: >not-executable && chmod 0644 not-executable &&
	test_expect_code 1 test_must_fail ./not-executable
'

test_expect_success 'test_expect_code' '
	test_expect_code 0 true &&
	test_expect_code 7 sh -c "exit 7" &&
	test_expect_code 1 test_expect_code 7 sh -c "exit 6"
'

test_expect_success 'path, mode and owner checks' '
	: >file && chmod 0640 file &&
	test_path_is_file file &&
	test_must_fail test_path_is_file nothing-here &&
	test_path_is_missing nothing-here &&
	test_must_fail test_path_is_missing file &&
	ln -s nothing-here dangling && test_must_fail test_path_is_missing dangling &&
	test_file_mode file 0640 &&
	test_file_mode file 640 &&
	test_must_fail test_file_mode file 0600 &&
	test_file_owner file "$(id -un):$(id -gn)" &&
	test_must_fail test_file_owner file "$(id -un):no-such-group" &&
	test_must_fail test_file_owner file "no-such-user:$(id -gn)"
'

test_expect_success 'the scratch folder is ours, and safe for sshd and opendkim' '
	test "$PWD" = "$TRASH" &&
	case $TRASH in */certpush-test.t0000-lib.$$) ;; *) false ;; esac &&
	test_file_mode "$TRASH" 0755 &&
	{ test "$(id -u)" != 0 || path_is_safe_ "$TRASH"; } &&
	test "$CERTPUSH" = "$SRC/certpush/certpush" &&
	test "$CERTPULL" = "$SRC/certpull/certpull" &&
	test -f "$SRC/tests/lib.sh"
'

test_expect_success 'test_when_finished: setup' '
	test_when_finished "rm -f marker" &&
	test_when_finished "test_path_is_file marker" &&
	: >marker
'

test_expect_success 'test_when_finished: ran after the test, LIFO' '
	test_path_is_missing marker
'

sub_script fail <<\EOF
test_expect_success 'passes' 'true'
test_expect_success 'fails' 'echo some output && false'
test_expect_failure 'known' 'false'
test_expect_failure 'fixed' 'true'
test_skip 'not run' 'no reason'
test_done
EOF

test_expect_success 'TAP output, failures, TODO and the exit code' '
	run_sub fail &&
	cat >expect <<-\EOF &&
	ok 1 - passes
	not ok 2 - fails
	not ok 3 - known # TODO known breakage
	ok 4 - fixed # TODO known breakage vanished
	ok 5 # skip not run (no reason)
	1..5
	# 1 known breakage(s) vanished
	# still have 1 known breakage(s)
	EOF
	test_cmp expect fail.out &&
	echo 1 >expect && test_cmp expect fail.rc &&
	grep "^#   failed test 2: fails" fail.err &&
	grep "^#     echo some output && false" fail.err &&
	grep "^#   some output" fail.err &&
	grep "^# failed 1 among 5 test(s)" fail.err
'

sub_script verbose <<\EOF
test_expect_success 'talks' 'echo hello'
test_done
EOF

test_expect_success 'verbose output goes to TAP comments' '
	bash verbose.sh -v >verbose.out &&
	grep "^#   hello" verbose.out
'

sub_script cleanup <<\EOF
test_expect_success 'body fails' '
	test_when_finished "echo ran1 >>\"$OUTER/cleanup.log\"" &&
	false
'
test_expect_success 'cleanup fails' '
	test_when_finished false &&
	test_when_finished "echo ran2 >>\"$OUTER/cleanup.log\"" &&
	true
'
test_done
EOF

test_expect_success 'a failing test_when_finished fails the test; cleanups run' '
	run_sub cleanup &&
	printf "ran1\nran2\n" >expect &&
	test_cmp expect cleanup.log &&
	grep "^not ok 1 - body fails" cleanup.out &&
	grep "^not ok 2 - cleanup fails" cleanup.out
'

test_expect_success 'prerequisites' '
	test_have_prereq CMD:sh &&
	test_must_fail test_have_prereq CMD:no-such-command-certpush &&
	test_have_prereq !CMD:no-such-command-certpush &&
	test_must_fail test_have_prereq CMD:sh,CMD:no-such-command-certpush &&
	test "$missing_prereq_" = CMD:no-such-command-certpush &&
	test_set_prereq MINE && test_have_prereq MINE,CMD:sh &&
	{ test "$(id -u)" != 0 || test_have_prereq ROOT; }
'

sub_script prereq <<\EOF
test_expect_success CMD:sh 'has sh' 'true'
test_expect_success CMD:no-such-command-certpush 'no cmd' 'false'
test_expect_success !CMD:sh 'negated' 'false'
test_done
EOF

test_expect_success 'missing prerequisites skip like git' '
	run_sub prereq &&
	cat >expect <<-\EOF &&
	ok 1 - has sh
	ok 2 # skip no cmd (missing CMD:no-such-command-certpush)
	ok 3 # skip negated (missing !CMD:sh)
	1..3
	EOF
	test_cmp expect prereq.out &&
	echo 0 >expect && test_cmp expect prereq.rc
'

echo "skip_all 'no daemons here'" | sub_script skipall

test_expect_success 'skip_all' '
	run_sub skipall &&
	echo "1..0 # SKIP no daemons here" >expect &&
	test_cmp expect skipall.out &&
	echo 0 >expect && test_cmp expect skipall.rc
'

sub_script bail <<\EOF
test_expect_success 'one' 'true'
error 'broken setup'
EOF

sub_script early <<\EOF
test_expect_success 'one' 'true'
exit 0
EOF

test_expect_success 'error bails out; exiting without test_done fails' '
	run_sub bail &&
	grep "^Bail out! broken setup" bail.out &&
	echo 1 >expect && test_cmp expect bail.rc &&
	run_sub early &&
	echo 1 >expect && test_cmp expect early.rc &&
	grep "before test_done" early.err
'

sub_script atexit <<\EOF
echo "$TRASH" >"$OUTER/atexit.trash"
at_exit 'echo first >>"$OUTER/atexit.log"'
at_exit 'echo second >>"$OUTER/atexit.log"'
at_exit false
test_expect_success 'fails' 'false'
test_done
EOF

test_expect_success 'at_exit runs LIFO and removes the trash, even after a failure' '
	run_sub atexit &&
	printf "second\nfirst\n" >expect &&
	test_cmp expect atexit.log &&
	echo 1 >expect && test_cmp expect atexit.rc &&
	grep "at_exit: .false. failed" atexit.err &&
	test -n "$(cat atexit.trash)" &&
	test_path_is_missing "$(cat atexit.trash)"
'

echo 'echo "$TRASH" >"$OUTER/keep.trash"; test_done' | sub_script keep

test_expect_success 'KEEP_TRASH=1 keeps the scratch folder' '
	KEEP_TRASH=1 OUTER=$TRASH bash keep.sh >keep.out 2>&1 &&
	kept=$(cat keep.trash) &&
	test_when_finished "rm -rf \"$kept\"" &&
	test_path_is_dir "$kept"
'

sub_script signal <<\EOF
test_expect_success 'waits' '
	daemon_start sleeper "$OUTER/$SIG.daemon" sleep 300 &&
	echo "$TRASH" >"$OUTER/$SIG.trash" &&
	wait_for_file "$TRASH/never" 30
'
test_done
EOF

# signal_sub SIG: run the signal sub-script, send SIG once it waits, check
# that it cleaned up.  env --default-signal: background jobs of a
# non-interactive shell ignore SIGINT, and bash cannot trap a signal that was
# ignored when it started.
signal_sub () {
	local pid
	SIG=$1 OUTER=$TRASH env --default-signal=INT bash signal.sh >"$1.out" 2>"$1.err" &
	pid=$!
	if ! wait_for_file "$1.trash" 10; then
		kill "$pid"
		return 1
	fi
	kill -"$1" "$pid"
	wait_until_ 10 eval '! pid_alive_ '"$pid" || { kill -KILL "$pid"; return 1; }
	wait "$pid"
	echo $? >"$1.rc"
	! pid_alive_ "$(cat "$1.daemon")" &&
	test_path_is_missing "$(cat "$1.trash")" &&
	grep "caught SIG$1" "$1.err"
}

test_expect_success 'SIGTERM stops daemons and removes the trash' '
	signal_sub TERM &&
	echo 143 >expect && test_cmp expect TERM.rc
'

test_expect_success 'SIGINT (Ctrl-C) too' '
	signal_sub INT &&
	echo 130 >expect && test_cmp expect INT.rc
'

test_expect_success 'daemon_start and daemon_stop' '
	daemon_start sleeper "" sleep 300 &&
	pid=$(daemon_pid sleeper) && pid_alive_ "$pid" &&
	daemon_stop sleeper &&
	! pid_alive_ "$pid" &&
	daemon_stop sleeper
'

test_expect_success 'daemon_stop kills what ignores SIGTERM' '
	daemon_start stubborn "$TRASH/stubborn.pid" sh -c "trap \"\" TERM; exec sleep 300" &&
	pid=$(cat stubborn.pid) &&
	wait_until_ 5 test -n "$(ps -o comm= -p "$pid" | grep sleep)" &&
	daemon_stop stubborn >stop.out &&
	! pid_alive_ "$pid" &&
	grep SIGKILL stop.out
'

# Bounded by a count of tries, not only by the clock: a loaded machine
# makes the clock a poor witness, and tests assert no timing.
test_expect_success 'wait_until_, wait_for_file and wait_for_port are bounded' '
	: >tries &&
	test_must_fail wait_until_ 1 eval "echo >>tries; false" &&
	test "$(wc -l <tries)" -ge 1 && test "$(wc -l <tries)" -le 11 &&
	test_must_fail wait_for_file nothing-here 1 &&
	test_must_fail wait_for_port 127.0.0.1 1 1 &&
	{ (sleep 0.3 && : >late) & } &&
	wait_for_file late 5
'

test_expect_success CMD:openssl 'make_ca and make_cert' '
	make_ca ca &&
	make_cert ca leaf "DNS:a.test,DNS:b.test" &&
	make_cert ca ecleaf "DNS:ec.test" ec &&
	for f in key crt chain fullchain pem; do test_path_is_file ca/leaf.$f || return 1; done &&
	test_file_mode ca/leaf.key 0600 &&
	test_file_mode ca/leaf.pem 0600 &&
	test_file_mode ca/ca.key 0600 &&
	openssl verify -CAfile ca/ca.crt -untrusted ca/leaf.chain ca/leaf.crt &&
	openssl verify -CAfile ca/ca.crt -untrusted ca/ecleaf.chain ca/ecleaf.crt &&
	openssl x509 -in ca/leaf.crt -noout -ext subjectAltName >san &&
	grep "DNS:a.test, DNS:b.test" san &&
	openssl pkey -in ca/ecleaf.key -noout -text | grep "prime256v1" &&
	cat ca/leaf.crt ca/leaf.chain >expect && test_cmp expect ca/leaf.fullchain &&
	cmp ca/intermediate.crt ca/leaf.chain &&
	test "$(openssl x509 -in ca/leaf.pem -noout -fingerprint -sha256 | sed "s/.*=//")" = \
		"$(cert_fingerprint ca/leaf.crt)" &&
	test "$(openssl pkey -in ca/leaf.pem -pubout)" = "$(openssl x509 -in ca/leaf.crt -noout -pubkey)"
'

test_expect_success CMD:openssl 'make_cert: expired and short-lived leaves' '
	make_cert ca old "DNS:old.test" ec -2d &&
	make_cert ca brief "DNS:brief.test" ec 5m &&
	test_must_fail openssl verify -CAfile ca/ca.crt -untrusted ca/old.chain ca/old.crt >verify.out 2>&1 &&
	grep "certificate has expired" verify.out &&
	test_must_fail openssl x509 -in ca/old.crt -noout -checkend 0 &&
	openssl x509 -in ca/brief.crt -noout -checkend 60 &&
	test_must_fail openssl x509 -in ca/brief.crt -noout -checkend 600
'

test_expect_success NETNS 'netns_create: two nodes on a private /24' '
	netns_create alpha 1 &&
	netns_create beta &&
	ip netns list >ns.list &&
	grep "^cpt-$$-alpha" ns.list && grep "^cpt-$$-beta" ns.list &&
	test "$(netns_addr alpha)" = "$NETNS_SUBNET.1" &&
	test "$(netns_addr beta)" = "$NETNS_SUBNET.2" &&
	test "$(netns_addr host)" = "$NETNS_SUBNET.254" &&
	case $NETNS_SUBNET in 10.213.*) ;; *) false ;; esac &&
	netns_exec alpha ip -4 -o addr show dev eth0 | grep "inet $NETNS_SUBNET.1/24" &&
	netns_exec alpha ip -4 -o addr show dev lo | grep "inet 127.0.0.1/8" &&
	test -z "$(netns_exec alpha ip -4 route show default)" &&
	test -z "$(netns_exec beta ip -4 route show default)"
'

test_expect_success NETNS,CMD:socat 'host -> node and node -> node connections' '
	DAEMON_NETNS=beta daemon_start echo-beta "" \
		socat TCP-LISTEN:7,reuseaddr,fork EXEC:cat &&
	NETNS=beta wait_for_port 127.0.0.1 7 5 &&
	echo from-host >expect &&
	timeout 5 socat -T 3 - "TCP:$(netns_addr beta):7" <expect >actual &&
	test_cmp expect actual &&
	echo from-alpha >expect &&
	netns_exec alpha timeout 5 socat -T 3 - "TCP:$(netns_addr beta):7" <expect >actual &&
	test_cmp expect actual
'

test_expect_success NETNS,CMD:socat 'netns_runs sees a process by name in its node only' '
	netns_runs beta socat &&
	! netns_runs alpha socat &&
	! netns_runs beta no-such-command
'

test_expect_success NETNS,CMD:ping 'host -> node ping' '
	ping -c 1 -W 2 "$(netns_addr alpha)" &&
	netns_exec alpha ping -c 1 -W 2 "$(netns_addr host)"
'

test_expect_success NETNS,CMD:socat 'netns_link_down cuts the node off, link_up restores it' '
	netns_link_down beta &&
	test_must_fail timeout 5 socat -T 1 - "TCP:$(netns_addr beta):7,connect-timeout=1" </dev/null &&
	test_must_fail netns_exec alpha timeout 5 socat -T 1 - \
		"TCP:$(netns_addr beta):7,connect-timeout=1" </dev/null &&
	netns_link_up beta &&
	wait_for_port "$(netns_addr beta)" 7 5 &&
	echo again >expect &&
	timeout 5 socat -T 3 - "TCP:$(netns_addr beta):7" <expect >actual &&
	test_cmp expect actual
'

test_expect_success NETNS,CMD:openssl 'tls_fingerprint reads the served leaf' '
	DAEMON_NETNS=alpha daemon_start s_server "" openssl s_server -quiet -accept 4433 \
		-cert ca/leaf.crt -key ca/leaf.key -cert_chain ca/leaf.chain -www &&
	NETNS=alpha wait_for_port 127.0.0.1 4433 5 &&
	cert_fingerprint ca/leaf.crt >expect &&
	tls_fingerprint "$(netns_addr alpha)" 4433 a.test >actual &&
	test_cmp expect actual &&
	tls_fingerprint --netns beta "$(netns_addr alpha)" 4433 >actual &&
	test_cmp expect actual &&
	grep -E "^([0-9A-F]{2}:){31}[0-9A-F]{2}$" actual &&
	wait_for_fingerprint "$(cat expect)" 5 "$(netns_addr alpha)" 4433 &&
	test_must_fail tls_fingerprint "$(netns_addr alpha)" 4434 &&
	daemon_stop s_server
'

test_expect_success BUILT,CMD:openssl,CMD:ssh-keygen 'lib-nodes: certpush and certpull load the configurations it writes' '
	mkdir -m 0700 keys src state && mkdir -p node/hp &&
	make_ca nca && make_cert nca leaf "DNS:www.test" >/dev/null && source_leaf nca leaf &&
	push_keys --ssh && test -n "$pub" && test -s keys/id_ed25519.pub &&
	echo "[10.0.0.2]:2222 $(cut -d" " -f1,2 keys/id_ed25519.pub)" >keys/known_hosts &&
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -out src/dkim.key 2>/dev/null &&
	{
		push_conf_head --names www.test --also mx "$TRASH/src" \
			--dkim "$TRASH/src/dkim.key" sel mail.test "concurrency: 4" &&
		push_target_local front "www, mx, dkim" "$TRASH/node/certpull.yaml" &&
		push_target_ssh mail 10.0.0.2 2222 20 www "user: certpull"
	} >push.yaml &&
	cat push.yaml &&
	echo 1 >node/hp/haproxy.pid &&
	{
		pull_conf_head node "$TRASH/node/state" "grace: 10" &&
		pull_files_service "$TRASH/node/dkim.private" dkim dkim 0600 keys "reload: [/bin/true]" &&
		pull_haproxy_service "$TRASH/node/site.pem" "$TRASH/node/hp" check reload sni=www.test name=web &&
		pull_mail_services "$TRASH/node" "$TRASH/node" sni=mail.test
	} >node/certpull.yaml &&
	cat node/certpull.yaml &&
	"$CERTPULL" -c node/certpull.yaml check-config &&
	"$CERTPUSH" -c push.yaml check-config
'

sub_script netfail <<\EOF
test_expect_success NETNS 'make a node, start a daemon in it, and fail' '
	netns_create solo &&
	DAEMON_NETNS=solo daemon_start sleeper "$OUTER/netfail.daemon" sleep 300 &&
	echo $$ >"$OUTER/netfail.pid" &&
	false
'
test_done
EOF

test_expect_success NETNS 'namespaces, links and daemons are gone after a failed run' '
	run_sub netfail &&
	echo 1 >expect && test_cmp expect netfail.rc &&
	grep "^not ok 1 - make a node" netfail.out &&
	test_path_is_file netfail.daemon &&
	subpid=$(cat netfail.pid) &&
	! pid_alive_ "$(cat netfail.daemon)" &&
	! ip netns list | grep "^cpt-$subpid-" &&
	! ip link show "cpt${subpid}h" 2>/dev/null
'

test_done
