#!/bin/bash
test_description='faults in the estate: each reported precisely, the rest unaffected, all converge

certpush --now runs in node "front" against seven SSH targets, six of them
broken at once: a node down (sshd stopped), a node that accepts TCP but
never answers SSH (socat), a link cut in the middle of the transfer, a
full disk (small tmpfs), a service whose reload hangs (/bin/sleep 1000,
timeout 2 s) and a wrong host key.  Each failure must name its cause, the
healthy node must install, the broken ones keep their previous leaf and
serial, and once every fault is removed the next push brings all seven to
the same serial and leaf.

Scale: RELIABILITY=1 repeats the break/repair cycle 5 times (default 1).'
. "$(dirname "$0")/lib.sh"
. "$SRC/tests/lib-services.sh"

test_have_prereq ROOT || skip_all "needs root"
test_have_prereq NETNS || skip_all "cannot create network namespaces"
test_have_prereq BUILT || skip_all "build certpush and certpull first"
for cmd in haproxy /usr/sbin/sshd ssh-keygen socat openssl tc; do
	test_have_prereq "CMD:$cmd" || skip_all "missing $cmd"
done

if test -n "${RELIABILITY:-}"; then
	CYCLES=5
else
	CYCLES=1
fi

# Targets: NAME PORT TIMEOUT.  All but "cut" live in namespace "nodes".
TARGETS="ok:2201:30 down:2202:30 mute:2203:4 full:2204:30 hang:2205:30 hostkey:2206:30 cut:22:8"

figure () {
	echo "# FIGURE $*" >&7
}

ns_of () {
	case $1 in cut) echo cut ;; *) echo nodes ;; esac
}

pull () {
	local node=$1
	shift
	netns_exec "$(ns_of $node)" "$CERTPULL" -c "$TRASH/$node/certpull.yaml" "$@" 7>&- 8>&-
}

new_leaf () {
	make_cert ca "$1" "DNS:www.test" >/dev/null &&
	source_leaf ca "$1"
}

port_of () {
	local t
	for t in $TARGETS; do
		case $t in "$1":*) t=${t#*:}; echo ${t%:*}; return ;; esac
	done
}

# node_conf NODE RELOAD: certpull.yaml; a plain file, or HAProxy for ok and cut.
node_conf () {
	local node=$1 dir=$TRASH/$1
	pull_conf_head $node "$dir/state" "grace: 10" &&
	case $node in
	ok|cut) pull_haproxy_service "$dir/dest/site.pem" "$dir/haproxy" name=site "timeout: 2" ;;
	hang) pull_files_service "$dir/dest/site.pem" www haproxy 0600 site "timeout: 2" "reload: [$2]" ;;
	*) pull_files_service "$dir/dest/site.pem" www haproxy 0600 site "timeout: 2" ;;
	esac
}

# start_sshd NODE: its sshd, forcing certpull serve; its host key trusted.
start_sshd () {
	SSHD_PORT=$(port_of $1) serve_sshd "$(ns_of $1)" "$TRASH/$1/sshd" "$TRASH/$1/certpull.yaml"
}

# leaf_of NODE: the leaf (by fingerprint) in the node's file, "-" if none.
leaf_of () {
	cert_fingerprint "$TRASH/$1/dest/site.pem" 2>/dev/null || echo -
}

serial_of () {
	sed -n 's/^serial \([0-9]*\)$/\1/p' "$TRASH/$1/state/installed" 2>/dev/null
}

serves () {
	wait_for_fingerprint "$2" 10 --netns "$(ns_of $1)" 127.0.0.1 443 >/dev/null
}

test_expect_success 'setup: CA, keys, namespaces front, nodes and cut' '
	mkdir -m 0700 keys src state &&
	make_ca ca && new_leaf a &&
	push_keys --ssh &&
	ssh-keygen -q -t ed25519 -N "" -C wrong -f keys/wrong_host_key &&
	netns_create front 1 && netns_create nodes 2 && netns_create cut 3
'

test_expect_success 'setup: seven nodes, HAProxy on ok and cut, a 256k tmpfs on full' '
	for t in $TARGETS; do
		node=${t%%:*} && mkdir -p $node/dest && node_conf $node /bin/true >$node/certpull.yaml || return 1
	done &&
	mount -t tmpfs -o size=256k,mode=0755 tmpfs full/dest &&
	at_exit "umount \"$TRASH/full/dest\"" &&
	for node in ok cut; do
		install -m 0600 ca/a.pem $node/dest/site.pem &&
		haproxy_start $(ns_of $node) "$TRASH/$node/haproxy" "$TRASH/$node/dest/site.pem" || return 1
	done &&
	for t in $TARGETS; do
		start_sshd ${t%%:*} || return 1
	done &&
	cp keys/known_hosts keys/known_hosts.good
'

test_expect_success 'setup: certpush.yaml, a first push to all seven' '
	{
		push_conf_head "concurrency: 16" &&
		for t in $TARGETS; do
			node=${t%%:*} && t=${t#*:} &&
			push_target_ssh $node "$(netns_addr $(ns_of $node))" ${t%:*} ${t#*:} www || return 1
		done
	} >certpush.yaml &&
	push check-config &&
	push --now >out && cat out &&
	grep "7 of 7 targets ok" out
'

# break_all: inject the six faults.
break_all () {
	sshd_stop "$TRASH/down/sshd" &&
	sshd_stop "$TRASH/mute/sshd" &&
	DAEMON_NETNS=nodes daemon_start mute-socat "" socat -T 1000 \
		TCP-LISTEN:$(port_of mute),reuseaddr,fork EXEC:"sleep 1000" &&
	NETNS=nodes wait_for_port 127.0.0.1 $(port_of mute) 5 &&
	{ dd if=/dev/zero of=full/dest/filler bs=4k 2>/dev/null || :; } &&
	node_conf hang "/bin/sleep, \"1000\"" >hang/certpull.yaml &&
	sed -i "/^$(netns_addr nodes)\]:$(port_of hostkey) /d; /^\[$(netns_addr nodes)\]:$(port_of hostkey) /d" keys/known_hosts &&
	echo "[$(netns_addr nodes)]:$(port_of hostkey) $(cut -d" " -f1,2 keys/wrong_host_key.pub)" >>keys/known_hosts &&
	$slow add dev ${netns_index_[cut]} root tbf rate 16kbit burst 1600 latency 5s
}

# repair_all: remove every fault.
repair_all () {
	netns_link_up cut &&
	{ $slow del dev ${netns_index_[cut]} root 2>/dev/null || :; } &&
	start_sshd down &&
	daemon_stop mute-socat && start_sshd mute &&
	rm -f full/dest/filler &&
	node_conf hang /bin/true >hang/certpull.yaml &&
	cp keys/known_hosts.good keys/known_hosts
}

# reported NODE REGEX: the node failed, and its error says why.
reported () {
	grep -q "^$1 .* failed .*error: .*$2" out && return 0
	echo "$1: not reported as /$2/: $(grep "^$1 " out)"
	return 1
}

test_expect_success "$CYCLES cycle(s): break six nodes, push, repair, push: all converge" '
	slow="ip netns exec $NETNS_BRIDGE tc qdisc" &&
	FAULTS=0 PRECISE=0 HEALTHY=0 CONVERGED=0 UNTOUCHED=0 &&
	for ((c = 1; c <= CYCLES; c++)); do
		before=$(serial_of down) && old=$(leaf_of down) &&
		new_leaf c$c && want=$(cert_fingerprint ca/c$c.crt) &&
		break_all || return 1
		{ push --now >out 2>err & pid=$!; } &&
		# The cut node gets 2 kB/s: cut its link while the bundle
		# flows, that is once certpull serve runs there.
		wait_until_ 20 netns_runs cut certpull && netns_link_down cut &&
		{ wait $pid && rc=0 || rc=$?; } &&
		cat out && test $rc = 1 || return 1
		FAULTS=$((FAULTS + 6))
		for r in "down:connect to .* port $(port_of down): Connection refused" \
			"mute:SSH handshake: timed out" \
			"cut:timed out" \
			"full:stage: .*No space left on device" \
			"hang:reload: site: reload failed: /bin/sleep timed out and was killed" \
			"hostkey:HOST KEY MISMATCH"; do
			reported "${r%%:*}" "${r#*:}" && PRECISE=$((PRECISE + 1))
		done
		grep -q "^ok .* installed " out && serves ok "$want" && test "$(leaf_of ok)" = "$want" &&
			HEALTHY=$((HEALTHY + 1))
		for node in down mute cut full hang hostkey; do
			test "$(serial_of $node)" = "$before" && test "$(leaf_of $node)" = "$old" &&
			test ! -e $node/state/journal && UNTOUCHED=$((UNTOUCHED + 1)) ||
				echo "$node changed: serial $(serial_of $node), leaf $(leaf_of $node)"
		done
		repair_all || return 1
		push --now >out 2>err && cat out && grep "7 of 7 targets ok" out || return 1
		serial=$(cat state/serial) &&
		for t in $TARGETS; do
			node=${t%%:*} &&
			pull $node status >/dev/null &&
			test "$(serial_of $node)" = "$serial" && test "$(leaf_of $node)" = "$want" &&
			CONVERGED=$((CONVERGED + 1)) ||
				echo "$node did not converge: serial $(serial_of $node) leaf $(leaf_of $node)"
		done
		serves ok "$want" && serves cut "$want" || return 1
	done &&
	figure "estate-faults: cycles=$CYCLES faults=$FAULTS reported-precisely=$PRECISE" \
		"faulty-nodes-untouched=$UNTOUCHED healthy-installed=$HEALTHY of $CYCLES" \
		"nodes-converged=$CONVERGED of $((7 * CYCLES))" &&
	test $PRECISE = $FAULTS && test $UNTOUCHED = $FAULTS && test $HEALTHY = $CYCLES &&
	test $CONVERGED = $((7 * CYCLES))
'

test_done
