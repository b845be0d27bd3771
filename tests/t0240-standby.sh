#!/bin/bash
test_description='a standby front takes over from a dead one

Two fronts, fronta (front_id 0) and frontb (front_id 1), each with its own
signing key, state and copy of the sources, push to two nodes, mail and
backup1 (each an sshd forcing "certpull serve"; each installs one file, no
service), which trust both keys from the start.  Both fronts log in with
the same SSH key here (the README gives each its own).  fronta runs the
watch daemon and pushes; backup1 is down during its second push, so that
its daemon still owes backup1 that bundle; then fronta is killed (kill -9).
frontb renews the leaf and pushes: every node installs it, signed by
frontb.  Then fronta comes back with its old state: its daemon resends the
bundle it owed backup1, an older serial: backup1 refuses it with "serial",
nothing changes on any node, and the daemon pushes nothing else (its
sources did not change).  Then fronta, its clock right, runs certpush
--now on its stale sources: a new, higher serial, but leaf a2 is older
than the installed leaf b, and every node refuses it at verify:older
(dry run too) and keeps serving b; certpull install --allow-older forces
it on mail.  Last, both fronts renew and push in the same second
(faketime): the serials differ in their low bits, so no node sees one
serial with two contents.'
. "$(dirname "$0")/lib.sh"
. "$SRC/tests/lib-services.sh"

test_have_prereq ROOT || skip_all "needs root"
test_have_prereq NETNS || skip_all "cannot create network namespaces"
test_have_prereq BUILT || skip_all "build certpush and certpull first"
for cmd in /usr/sbin/sshd ssh-keygen openssl faketime; do
	test_have_prereq "CMD:$cmd" || skip_all "missing $cmd"
done

NODES="mail backup1"

# front A|B ARGS...: certpush on fronta or frontb with its own configuration.
front () {
	local f=$1
	shift
	netns_exec front$f "$CERTPUSH" -c "$TRASH/front$f.yaml" "$@" 7>&- 8>&-
}

# front_at A|B WHEN ARGS...: the same with the clock at WHEN (faketime's
# syntax: "-10m" behind, "@2026-12-01 10:00:00" frozen there).
front_at () {
	local f=$1 when=$2
	shift 2
	netns_exec front$f faketime -f "$when" "$CERTPUSH" -c "$TRASH/front$f.yaml" "$@" 7>&- 8>&-
}

# front_conf A|B ID: front A's certpush.yaml (the shared blocks of
# lib-nodes.sh) or front B's (its own key, state and sources), with
# front_id ID and both nodes as ssh targets.
front_conf () {
	local f=$1 n
	{
		push_conf_head "front_id: $2" &&
		for n in $NODES; do
			push_target_ssh $n "$(netns_addr $n)" 22 20 www || return 1
		done
	} >front.tmp &&
	if test "$f" = A; then
		mv front.tmp frontA.yaml
	else
		sed -e "s|$TRASH/keys/signing.key|$TRASH/keys/signing-b.key|" \
			-e "s|$TRASH/state\$|$TRASH/state-b|" \
			-e "s|$TRASH/src/|$TRASH/src-b/|" front.tmp >frontB.yaml &&
		rm front.tmp
	fi
}

# node_file NODE: the file certpull installs on NODE.
node_file () {
	echo "$TRASH/$1/out/site.pem"
}

# node_json NODE KEY: KEY ("serial", "signer") of certpull status --json.
node_json () {
	pull "$1" status --json >"$1.status" &&
	sed -n "s/.*\"$2\":\"\{0,1\}\([0-9a-f]*\).*/\1/p" "$1.status"
}

# holds NODE LEAF: NODE's file holds leaf LEAF.
holds () {
	grep -qF "$(sed -n 2p "ca/$2.crt")" "$(node_file "$1")" 2>/dev/null
}

# snapshot NAME: every node's file and state, to compare with test_cmp.
snapshot () {
	local n
	for n in $NODES; do
		cat "$(node_file $n)" "$TRASH/$n/state/installed" || return 1
	done >"$1"
}

test_expect_success 'setup: CA, two fronts with their own keys, two nodes trusting both' '
	make_ca ca && make_cert ca a "DNS:www.test" >/dev/null &&
	mkdir -m 0700 keys src src-b state state-b &&
	source_leaf ca a && source_leaf ca a src-b &&
	push_keys --ssh && pub_a=$pub &&
	"$CERTPUSH" keygen -o "$TRASH/keys/signing-b.key" >keygen-b.out &&
	pub_b=$(sed -n "s/^- //p" keygen-b.out) && test -n "$pub_b" &&
	id_a=$(sed -n "s/.*key id \([0-9a-f]*\)$/\1/p" keygen.out) &&
	id_b=$(sed -n "s/.*key id \([0-9a-f]*\)$/\1/p" keygen-b.out) &&
	test -n "$id_a" && test -n "$id_b" && test "$id_a" != "$id_b" &&
	pub="$pub_a, $pub_b" &&
	netns_create frontA 1 && netns_create frontB 2 &&
	netns_create mail 3 && netns_create backup1 4 &&
	for n in $NODES; do
		mkdir -p $n/out &&
		{
			pull_conf_head $n "$TRASH/$n/state" &&
			pull_files_service "$(node_file $n)" www haproxy 0600
		} >$n/certpull.yaml &&
		serve_sshd $n "$TRASH/$n/sshd" "$TRASH/$n/certpull.yaml" || return 1
	done &&
	front_conf A 0 && front_conf B 1 &&
	front A check-config && front B check-config &&
	# A placeholder issued after every leaf below: before its first
	# install, a node compares nothing (verify:older) with its files.
	CERT_START=$((CERT_EPOCH_ + 300)) make_cert ca placeholder "DNS:www.test" >/dev/null &&
	cp ca/placeholder.pem "$(node_file mail)"
'

test_expect_success 'fronta, the active front, runs the daemon: every node has leaf a (mail over its newer placeholder), signed by fronta' '
	DAEMON_NETNS=frontA daemon_start certpush-a "" "$CERTPUSH" -c "$TRASH/frontA.yaml" run &&
	wait_until_ 30 eval "holds mail a && holds backup1 a" &&
	serial_a=$(cat state/serial) &&
	test $((serial_a % 16)) = 0 &&
	for n in $NODES; do
		test "$(node_json $n signer)" = "$id_a" &&
		test "$(node_json $n serial)" = "$serial_a" || return 1
	done
'

test_expect_success 'backup1 down while fronta pushes leaf a2: its daemon owes backup1 that bundle' '
	sshd_stop "$TRASH/backup1/sshd" &&
	CERT_START=$((CERT_EPOCH_ + 60)) make_cert ca a2 "DNS:www.test" >/dev/null &&
	source_leaf ca a2 &&
	wait_until_ 30 holds mail a2 &&
	wait_until_ 30 grep -q "backup1 .*failed" certpush-a.log &&
	owed=$(cat state/serial) && test "$owed" -gt "$serial_a" &&
	holds backup1 a
'

test_expect_success 'fronta dies (kill -9); backup1 is back' '
	kill -KILL "$(daemon_pid certpush-a)" &&
	wait_until_ 5 eval "! pid_alive_ $(daemon_pid certpush-a)" &&
	daemon_stop certpush-a &&
	serve_sshd backup1 "$TRASH/backup1/sshd" "$TRASH/backup1/certpull.yaml"
'

test_expect_success 'frontb renews leaf b and pushes: every node installs it, signed by frontb' '
	# A failover takes more than the second of fronta'"'"'s last serial:
	# wait (bounded) for the clock to pass it, as it always has by then.
	wait_until_ 5 eval "test \$(date +%s) -gt $((owed / 16))" &&
	CERT_START=$((CERT_EPOCH_ + 120)) make_cert ca b "DNS:www.test" >/dev/null &&
	source_leaf ca b src-b &&
	front B --now >b.out &&
	cat b.out &&
	test "$(grep -c " installed  serial " b.out)" = 2 &&
	serial_b=$(cat state-b/serial) &&
	test $((serial_b % 16)) = 1 && test "$serial_b" -gt "$owed" &&
	for n in $NODES; do
		holds $n b &&
		test "$(node_json $n signer)" = "$id_b" &&
		test "$(node_json $n serial)" = "$serial_b" || return 1
	done &&
	pull mail status >status.out && cat status.out &&
	grep -F "$id_b" status.out
'

test_expect_success 'fronta comes back: its daemon resends what it owed backup1, refused with "serial"' '
	snapshot before &&
	DAEMON_NETNS=frontA DAEMON_LOG=$TRASH/certpush-a2.log \
		daemon_start certpush-a2 "" "$CERTPUSH" -c "$TRASH/frontA.yaml" run &&
	wait_until_ 30 grep -q "backup1 .*failed" certpush-a2.log &&
	daemon_stop certpush-a2 &&
	cat certpush-a2.log &&
	grep "backup1 .*failed .*serial $owed .*serial: serial $owed is older than the installed serial $serial_b" certpush-a2.log &&
	! grep "mail .*installed" certpush-a2.log &&
	snapshot after &&
	test_cmp before after
'

# Leaf b was issued (notBefore) a minute after a2 (CERT_START).
test_expect_success 'fronta, clock right, runs --now on its stale sources: every node refuses the older leaf' '
	# A second after frontb'"'"'s push, fronta'"'"'s serial is the higher one:
	# wait (bounded) for the clock to pass it, so that the serial passes.
	wait_until_ 5 eval "test \$(date +%s) -gt $((serial_b / 16))" &&
	snapshot before &&
	test_must_fail front A --now --dry-run >stale-dry.out &&
	cat stale-dry.out &&
	test "$(grep -c " verify:older: www: certificate issued .* is older than the installed one issued " stale-dry.out)" = 2 &&
	test_must_fail front A --now >stale.out &&
	cat stale.out &&
	stale=$(cat state/serial) && test "$stale" -gt "$serial_b" &&
	for n in $NODES; do
		grep "^$n .*failed .*serial $stale .*verify:older: www: certificate issued .* is older than the installed one issued .* (rollback refused" stale.out &&
		holds $n b &&
		pull $n status >stale-$n.status &&
		grep "^installed serial $serial_b, signed by key $id_b" stale-$n.status &&
		grep "last install: failed at .*, verify:older: www: certificate issued" stale-$n.status || return 1
	done &&
	snapshot after &&
	test_cmp before after
'

test_expect_success 'certpull install --allow-older on mail forces the older leaf a2; backup1 keeps b' '
	front A bundle --target mail -o "$TRASH/older.bundle" &&
	test_must_fail pull mail verify "$TRASH/older.bundle" >older-verify.out &&
	cat older-verify.out &&
	grep "rejected (older): www: certificate issued" older-verify.out &&
	test_must_fail pull mail install "$TRASH/older.bundle" >older-refused.out &&
	cat older-refused.out &&
	grep "failed at verify:older: www: .*(rollback refused; certpull install --allow-older forces it) (nothing changed)" older-refused.out &&
	holds mail b &&
	test_expect_code 64 pull mail install --allow-older 2>usage.err &&
	grep "^usage: certpull" usage.err &&
	pull mail install --allow-older "$TRASH/older.bundle" >older-forced.out &&
	cat older-forced.out &&
	grep "installed serial" older-forced.out &&
	holds mail a2 && holds backup1 b &&
	test "$(node_json mail signer)" = "$id_a"
'

test_expect_success 'both fronts in the same second: two serials, the later front'"'"'s wins, no collision' '
	# Each front renews (c, then d, issued later), so that neither pushes
	# a leaf older than what the nodes hold.
	CERT_START=$((CERT_EPOCH_ + 180)) make_cert ca c "DNS:www.test" >/dev/null &&
	source_leaf ca c &&
	CERT_START=$((CERT_EPOCH_ + 240)) make_cert ca d "DNS:www.test" >/dev/null &&
	source_leaf ca d src-b &&
	when="@$(date -u -d "@$(($(date +%s) + 3600))" "+%Y-%m-%d %H:%M:%S")" &&
	front_at A "$when" --now >same-a.out &&
	cat same-a.out &&
	test "$(grep -c " installed  serial " same-a.out)" = 2 &&
	front_at B "$when" --now >same-b.out &&
	cat same-b.out &&
	test "$(grep -c " installed  serial " same-b.out)" = 2 &&
	sa=$(cat state/serial) && sb=$(cat state-b/serial) &&
	test $((sa / 16)) = $((sb / 16)) && test $((sb - sa)) = 1 &&
	for n in $NODES; do
		test "$(node_json $n signer)" = "$id_b" &&
		test "$(node_json $n serial)" = "$sb" || return 1
	done
'

test_done
