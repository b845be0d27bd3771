#!/bin/bash
test_description='certpush --now over SSH to real sshd nodes in network namespaces

Four nodes: front (certpush runs there; its own HAProxy is a local target),
mail, backup1 and backup2 (each an sshd whose authorized key forces
"certpull serve", and a HAProxy).  Then: a changed host key, a node down
and back (daemon retry, certpull fetch over SFTP), a link cut in the
middle of a transfer, and 32 targets: the pool runs as many at once as
"concurrency" says, and no more (timings are in make bench).

certpull fetch: backup1 and backup2 each have a fetch account of their own
on the front (the system accounts daemon and nobody), and certpush.yaml
gives each bundle the fetch_group of its target.  The key of backup2 reads
the bundle of backup2 and nothing else: not that of backup1 or mail, and
not the outbox listing.  And a front paused after every read that finds
nothing, as on a loaded machine, still gets every answer in time.'
. "$(dirname "$0")/lib.sh"
. "$SRC/tests/lib-services.sh"

test_have_prereq ROOT || skip_all "needs root"
test_have_prereq NETNS || skip_all "cannot create network namespaces"
test_have_prereq BUILT || skip_all "build certpush and certpull first"
for cmd in haproxy /usr/sbin/sshd ssh-keygen sftp socat openssl tc jq; do
	test_have_prereq "CMD:$cmd" || skip_all "missing $cmd"
done

NODES="mail backup1 backup2"

# The fetch account of each backup node on the front, and its group:
# accounts every Debian system has, so that the test adds none.
declare -A FETCH_USER=([backup1]=daemon [backup2]=nobody)
for node in backup1 backup2; do
	id -gn "${FETCH_USER[$node]}" >/dev/null 2>&1 ||
		skip_all "needs the account ${FETCH_USER[$node]}"
done

# fetch_group NODE: the certpush.yaml line giving NODE's bundle to its account.
fetch_group () {
	echo "    fetch_group: $(id -gn "${FETCH_USER[$1]}")"
}

# sftp_as NODE COMMAND: one SFTP command on the front with NODE's fetch key
# and account, through OpenSSH's sftp; fails if the command fails.
sftp_as () {
	local dir=$TRASH/front/sftpd
	echo "$2" >sftp.batch &&
	timeout 30 sftp -F /dev/null -b sftp.batch -i "keys/fetch-$1" -P "$(cat "$dir/port")" \
		-o IdentitiesOnly=yes -o BatchMode=yes -o ConnectTimeout=5 \
		-o UserKnownHostsFile="$TRASH/keys/front_known_hosts" \
		-o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes \
		"${FETCH_USER[$1]}@$(netns_addr front)"
}

new_leaf () {
	make_cert ca "$1" "DNS:mail.test,DNS:www.test" >/dev/null &&
	source_leaf ca "$1"
}

# serves NODE LEAF: NODE's HAProxy serves leaf LEAF.
serves () {
	wait_for_fingerprint "$(cert_fingerprint "ca/$2.crt")" 10 \
		--netns "$1" 127.0.0.1 443 >/dev/null
}

installed_serial () {
	pull "$1" status --json | sed -n 's/^{"node":"[^"]*","serial":\([0-9]*\).*/\1/p'
}

# pull_conf NODE: certpull.yaml for NODE: one HAProxy, API and reload.
pull_conf () {
	local node=$1 dir=$TRASH/$1
	{
		pull_conf_head $node "$dir/state" "grace: 10" &&
		pull_haproxy_service "$dir/site.pem" "$dir/haproxy" check reload sni=www.test
	} >"$dir/certpull.yaml"
}

# start_node NODE N: namespace, HAProxy serving leaf a, certpull config.
start_node () {
	local node=$1 dir=$TRASH/$1
	netns_create "$node" "$2" &&
	mkdir -p "$dir" && install -m 0600 ca/a.pem "$dir/site.pem" &&
	haproxy_start "$node" "$dir/haproxy" "$dir/site.pem" &&
	pull_conf "$node"
}

# target NAME HOST PORT [TIMEOUT]: a certpush.yaml ssh target.
target () {
	push_target_ssh "$1" "$2" "$3" "${4:-20}" www
}

# serve NODE: NODE's sshd, forcing certpull serve.
serve () {
	serve_sshd "$1" "$TRASH/$1/sshd" "$TRASH/$1/certpull.yaml"
}

test_expect_success 'setup: CA, keys, four nodes' '
	make_ca ca && make_cert ca a "DNS:mail.test,DNS:www.test" &&
	mkdir -m 0700 keys src state && new_leaf b &&
	push_keys --ssh &&
	for node in backup1 backup2; do
		ssh-keygen -q -t ed25519 -N "" -C "fetch@$node" -f "keys/fetch-$node" || return 1
	done &&
	start_node front 1 && start_node mail 2 &&
	start_node backup1 3 && start_node backup2 4 &&
	for node in $NODES; do
		serve $node || return 1
	done
'

test_expect_success 'setup: certpush.yaml with a local and three ssh targets' '
	{
		push_conf_head "outbox: $TRASH/outbox" "concurrency: 8" &&
		push_target_local front www "$TRASH/front/certpull.yaml" &&
		target mail "$(netns_addr mail)" 22 &&
		target backup1 "$(netns_addr backup1)" 22 && fetch_group backup1 &&
		target backup2 "$(netns_addr backup2)" 22 && fetch_group backup2
	} >certpush.yaml &&
	push check-config
'

test_expect_success 'push to four nodes: all installed, same serial and fingerprint' '
	push --now >out &&
	cat out &&
	fp=$(cert_fingerprint ca/b.crt) &&
	test "$(grep -c " installed  serial [0-9]*   www=$(echo "$fp" | cut -c1-11) " out)" = 4 &&
	serial=$(installed_serial front) &&
	for node in front $NODES; do
		serves $node b && test "$(installed_serial $node)" = "$serial" || return 1
	done &&
	grep "4 of 4 targets ok" out
'

test_expect_success 'dry run: bundles built, every node verifies its own, nothing installed' '
	serial=$(installed_serial mail) &&
	last=$(cat state/serial) &&
	push --now --dry-run >out &&
	cat out &&
	test "$(grep -c " verified " out)" = 4 &&
	test "$(installed_serial mail)" = "$serial" &&
	test "$(cat state/serial)" = "$last"
'

test_expect_success 'status: every target current; --json' '
	push status >out && cat out &&
	test "$(grep -c " ok " out)" = 4 &&
	push status --json >out.json &&
	push --json status >before.json &&
	test "$(grep -c "\"behind\":" before.json)" = "$(grep -c "\"behind\":" out.json)" &&
	test_expect_code 64 push --json check-config 2>err &&
	grep "\"behind\":false" out.json && ! grep "\"behind\":true" out.json
'

# slow_client ARGS...: certpush, paused SLOWRECV_MS after each recv() that
# finds nothing, as a loaded front is descheduled (tests/preload/slowrecv.c).
slow_client () {
	local lib=$SRC/build/release/tests/preload/slowrecv.so
	test -f "$lib" || { echo "slow_client: $lib missing (make integration builds it)"; return 1; }
	SLOWRECV_MS=200 LD_PRELOAD=$lib push "$@"
}

test_expect_success 'a front descheduled after each empty read gets every answer in time' '
	{ slow_client --now >out; rc=$?; } &&
	cat out && test $rc = 0 &&
	grep "4 of 4 targets ok" out &&
	slow_client --now --dry-run >out &&
	test "$(grep -c " verified " out)" = 4 &&
	# Exit 1: without the test CA, the source chain is a WARNING.
	test_expect_code 1 slow_client audit --json >audit.json &&
	jq -e "[.lines[] | select(.kind == \"target\" and .verdict == \"OK\" and .reachable)] |
		length == 4" audit.json
'

test_expect_success 'the forced command refuses anything but receive and status' '
	test_expect_code 1 ssh_run "$TRASH/mail/sshd" keys/id_ed25519 "$(netns_addr mail)" \
		"cat /etc/shadow" >out 2>err &&
	grep "only \"receive\", \"verify\" and \"status\" are allowed" err &&
	! test -s out &&
	ssh_run "$TRASH/mail/sshd" keys/id_ed25519 "$(netns_addr mail)" status >out &&
	grep "\"node\":\"mail\"" out
'

test_expect_success 'a changed host key fails that node as a possible MITM, the others install' '
	new_leaf c &&
	cp keys/known_hosts keys/known_hosts.good &&
	test_when_finished "cp keys/known_hosts.good keys/known_hosts" &&
	ssh-keygen -q -t ed25519 -N "" -f other_host_key &&
	sed -i "/^$(netns_addr backup2) /d" keys/known_hosts &&
	echo "$(netns_addr backup2) $(cut -d" " -f1,2 other_host_key.pub)" >>keys/known_hosts &&
	test_expect_code 1 push --now >out &&
	cat out &&
	grep "^backup2 .*failed.*HOST KEY MISMATCH.*man-in-the-middle" out &&
	test "$(grep -c " installed " out)" = 3 &&
	serves mail c && serves backup1 c && serves backup2 b
'

test_expect_success 'a node down: reported failed, the others installed' '
	cp keys/known_hosts.good keys/known_hosts &&
	new_leaf d &&
	sshd_stop "$TRASH/backup1/sshd" &&
	test_expect_code 1 push --now >out &&
	cat out &&
	grep "^backup1 .*failed.*connect" out &&
	grep "^backup2 .*installed" out &&
	serves backup2 d && serves mail d && serves backup1 c &&
	push status >out && grep "^backup1 .*BEHIND" out
'

test_expect_success 'node back: the daemon retries it within the backoff bound' '
	DAEMON_NETNS=front daemon_start certpush-run "" \
		"$CERTPUSH" -c "$TRASH/certpush.yaml" run &&
	test_when_finished "daemon_stop certpush-run" &&
	wait_until_ 20 grep -q "backup1 .* failed .*connect" "$TRASH/certpush-run.log" &&
	serve backup1 &&
	wait_until_ 30 serves backup1 d &&
	wait_until_ 10 eval "push status | grep -q \"^backup1 .* ok \"" &&
	cat "$TRASH/certpush-run.log"
'

# The front's SFTP server: one account per backup node, each with only
# that node's key, read-only SFTP and nothing else.
test_expect_success 'setup: the front serves SFTP to one fetch account per node' '
	dir=$TRASH/front/sftpd && mkdir -p "$dir" &&
	for node in backup1 backup2; do
		echo "restrict,command=\"internal-sftp -R\" $(cat keys/fetch-$node.pub)" \
			>"$dir/authorized_keys.${FETCH_USER[$node]}" &&
		chmod 0644 "$dir/authorized_keys.${FETCH_USER[$node]}" || return 1
	done &&
	SSHD_PORT=2222 SSHD_EXTRA="Subsystem sftp internal-sftp
Match User *,!root
	AuthorizedKeysFile $dir/authorized_keys.%u" \
		sshd_start front "$dir" "# root may not log in here" &&
	sshd_known_hosts_line "$(netns_addr front)" "$dir" >keys/front_known_hosts
'

test_expect_success 'the outbox: 0711, the bundle of a fetching node 0640 to its group only' '
	test_file_mode outbox 0711 && test_file_owner outbox root:root &&
	for node in backup1 backup2; do
		test_file_mode outbox/$node.bundle 0640 &&
		test_file_owner outbox/$node.bundle "root:$(id -gn "${FETCH_USER[$node]}")" ||
		return 1
	done &&
	for node in front mail; do
		test_file_mode outbox/$node.bundle 0600 &&
		test_file_owner outbox/$node.bundle root:root || return 1
	done
'

test_expect_success 'certpull fetch brings a node that missed a push up to date (SFTP after a mirror that fails)' '
	cat >>backup2/certpull.yaml <<-EOF &&
	fetch:
	  urls: ["https://127.0.0.1:1/{node}.bundle"]
	  host: $(netns_addr front)
	  port: 2222
	  user: ${FETCH_USER[backup2]}
	  identity: $TRASH/keys/fetch-backup2
	  known_hosts: $TRASH/keys/front_known_hosts
	  path: $TRASH/outbox/backup2.bundle
	  timeout: 20
	EOF
	new_leaf e &&
	sshd_stop "$TRASH/backup2/sshd" &&
	test_expect_code 1 push --now >out &&
	grep "^backup2 .*failed" out &&
	serves backup2 d &&
	pull backup2 fetch >out 2>err &&
	cat out err &&
	grep "^certpull: fetch: mirror https://127.0.0.1:1/backup2.bundle: " err &&
	grep "fetch: installed serial" out &&
	serves backup2 e &&
	test_expect_code 2 pull backup2 fetch
'

test_expect_success 'a node fetches its own bundle only: that of another is refused by the front' '
	serial=$(installed_serial backup2) &&
	sed "s|outbox/backup2.bundle|outbox/backup1.bundle|" backup2/certpull.yaml \
		>backup2/other.yaml &&
	test_expect_code 1 netns_exec backup2 "$CERTPULL" -c "$TRASH/backup2/other.yaml" \
		fetch >out 2>err 7>&- 8>&- &&
	cat err &&
	grep -E "backup1\.bundle.*(error 3|[Pp]ermission denied)" err &&
	test "$(installed_serial backup2)" = "$serial" && serves backup2 e &&
	# The same through OpenSSH: backup2 reads its own, no other, lists nothing.
	sftp_as backup2 "get $TRASH/outbox/backup2.bundle own.bundle" &&
	cmp own.bundle outbox/backup2.bundle &&
	for other in backup1 mail front; do
		test_must_fail sftp_as backup2 "get $TRASH/outbox/$other.bundle stolen" \
			2>err && grep "Permission denied" err &&
		test_path_is_missing stolen || return 1
	done &&
	test_must_fail sftp_as backup2 "ls -a $TRASH/outbox" >out 2>err &&
	grep -i "permission denied" err && ! grep "\.bundle" out &&
	# backup1 reads its own with its own account, not that of backup2.
	sftp_as backup1 "get $TRASH/outbox/backup1.bundle own1.bundle" &&
	cmp own1.bundle outbox/backup1.bundle &&
	test_must_fail sftp_as backup1 "get $TRASH/outbox/backup2.bundle stolen" 2>err &&
	test_path_is_missing stolen
'

test_expect_success 'fetch with a wrong host key for the front is refused' '
	cp keys/front_known_hosts keys/front_known_hosts.good &&
	echo "[$(netns_addr front)]:2222 $(cut -d" " -f1,2 other_host_key.pub)" >keys/front_known_hosts &&
	test_expect_code 1 pull backup2 fetch 2>err &&
	grep "HOST KEY MISMATCH" err &&
	cp keys/front_known_hosts.good keys/front_known_hosts
'

test_expect_success 'a link cut in the middle of a transfer: nothing installed there, retry works' '
	serve backup2 &&
	sed -i "/name: mail$/,/items/ s/timeout: 20/timeout: 6/" certpush.yaml &&
	before=$(installed_serial mail) &&
	new_leaf f &&
	slow="ip netns exec $NETNS_BRIDGE tc qdisc" && link=${netns_index_[mail]} &&
	$slow add dev $link root tbf rate 16kbit burst 1600 latency 5s &&
	test_when_finished "$slow del dev $link root 2>/dev/null; netns_link_up mail" &&
	{ push --now >out & pushpid=$!; } &&
	# The traffic to mail is slowed to 2 kB/s: cut it while the bundle
	# flows, that is once certpull serve runs on mail.
	wait_until_ 20 netns_runs mail certpull && netns_link_down mail &&
	{ wait $pushpid && rc=0 || rc=$?; } && test $rc = 1 &&
	cat out &&
	grep "^mail .*failed" out &&
	grep "^backup1 .*installed" out &&
	test "$(installed_serial mail)" = "$before" && serves mail e &&
	netns_link_up mail && $slow del dev $link root &&
	sed -i "s/timeout: 6/timeout: 20/" certpush.yaml &&
	push --now --target mail >out &&
	cat out && serves mail f
'

# many/serve DIR: the forced command of the 32 targets: "start DIR" in
# many/events, then wait (bounded) until as many targets as many/barrier
# says have started, then certpull serve.  The service's reload writes
# "end DIR" before certpull answers, so each [start, end] lies inside the
# time certpush holds a slot for that target: the events alone show how
# many targets were in flight at once, without a clock.
write_serve () {
	cat >many/serve <<-EOF &&
	#!/bin/sh
	echo "start \$1" >>$TRASH/many/events
	i=0
	while test "\$(grep -c "^start " $TRASH/many/events)" -lt "\$(cat $TRASH/many/barrier)" &&
	      test \$i -lt 600; do
		sleep 0.1; i=\$((i + 1))
	done
	exec $CERTPULL -c "\$1/certpull.yaml" serve
	EOF
	chmod 0755 many/serve
}

# in_flight: the most targets between their start and end at any point.
in_flight () {
	awk '/^start / { n++; if (n > max) max = n } /^end / { n-- } END { print max + 0 }' many/events
}

# push_many CONCURRENCY BARRIER LEAF: push LEAF to the 32 targets.
push_many () {
	sed "s/^concurrency: .*/concurrency: $1/" many.yaml >many-$1.yaml &&
	echo "$2" >many/barrier && : >many/events &&
	new_leaf "$3" &&
	netns_exec front "$CERTPUSH" -c "$TRASH/many-$1.yaml" --now >many-$1.out 7>&- 8>&- &&
	tail -n 1 many-$1.out &&
	grep "32 of 32 targets ok" many-$1.out &&
	fp=$(cert_fingerprint "ca/$3.crt") &&
	for i in $(seq 1 32); do
		test "$(cert_fingerprint many/n$i/site.pem)" = "$fp" ||
			{ echo "n$i does not have leaf $3"; return 1; }
	done &&
	test "$(grep -c "^start " many/events)" = 32 &&
	test "$(grep -c "^end " many/events)" = 32
}

test_expect_success 'setup: 32 ssh targets on one node' '
	mkdir many && write_serve &&
	for i in $(seq 1 32); do
		port=$((2300 + i)) && d=$TRASH/many/n$i && mkdir -p $d &&
		{
			pull_conf_head n$i "$d/state" &&
			pull_files_service "$d/site.pem" www haproxy 0600 files \
				"reload: [/bin/sh, -c, \"echo end $d >>$TRASH/many/events\"]"
		} >$d/certpull.yaml &&
		SSHD_PORT=$port serve_sshd backup1 "$d/sshd" "" "$TRASH/many/serve $d" || return 1
	done &&
	{
		sed -n "1,/^targets:/p" certpush.yaml &&
		for i in $(seq 1 32); do
			target n$i "$(netns_addr backup1)" $((2300 + i)) 60 || return 1
		done
	} >many.yaml
'

test_expect_success 'concurrency 32: all 32 installed, all 32 in flight at once' '
	push_many 32 32 g &&
	test "$(in_flight)" = 32
'

test_expect_success 'concurrency 4: all 32 installed, never more than 4 in flight' '
	push_many 4 4 h &&
	test "$(in_flight)" = 4
'

test_done
