#!/bin/bash
test_description='hostile SSH targets: certpush stays bounded and reports each precisely

The target side is not trusted by certpush.  Node "targets" runs one sshd
per hostile behaviour, each forcing a script instead of certpull serve:
endless output (yes), one oversized line, an answer that never ends
(sleep), a slow drip, garbage or deeply nested JSON, two outcome lines,
an answer that lies about its exit status, a command killed by a signal,
a flood on standard error, and answers with "\r\nFAKE ok line" in their
result, step and error.  Two more are not sshd but peers that trickle a
byte a second, in the SSH banner and inside the key exchange packet.  Two
honest targets run the real certpull.  One certpush --now must stay
within its memory and time bounds, name each failure (a target'"'"'s text
escaped, on its line), and install on the honest targets; the daemon'"'"'s
log and certpush status show the target'"'"'s text escaped too.

Scale: RELIABILITY=1 runs the push 10 times (default 2).'
. "$(dirname "$0")/lib.sh"
. "$SRC/tests/lib-services.sh"

test_have_prereq ROOT || skip_all "needs root"
test_have_prereq NETNS || skip_all "cannot create network namespaces"
test_have_prereq BUILT || skip_all "build certpush and certpull first"
for cmd in /usr/sbin/sshd ssh-keygen openssl /usr/bin/time; do
	test_have_prereq "CMD:$cmd" || skip_all "missing $cmd"
done

if test -n "${RELIABILITY:-}"; then
	RUNS=10
else
	RUNS=2
fi
TIMEOUT=5		# per target, seconds
# Bounded means each target is cut at its timeout (its error says so) and
# certpush ends: the watchdog only catches a hang, far above any slow run
# (how long a push takes is a figure, not an assertion).
WATCHDOG=$((TIMEOUT * 12 + 60))
MAX_RSS_KB=65536	# certpush's whole process, all targets at once

figure () {
	echo "# FIGURE $*" >&7
}

# Each hostile target: NAME, the script it forces, and the error certpush
# must report for it.
HOSTILE="endless longline nevercloses drip garbage nested twolines liar killed stderrflood
crlfresult crlffields bannerdrip kexdrip sftpdrip"
# What a target says that must never start a line of any output.
FAKE='FAKE ok line'

hostile_script () {
	case $1 in
	endless)	echo 'exec yes' ;;
	longline)	echo 'cat >/dev/null; head -c 300000 /dev/zero | tr "\0" x; echo' ;;
	nevercloses)	echo 'cat >/dev/null; exec sleep 1000' ;;
	drip)		echo 'cat >/dev/null; while :; do printf "{"; sleep 1; done' ;;
	garbage)	echo 'cat >/dev/null; echo "{\"result\":\"installed\",\"serial\":"; exit 0' ;;
	nested)		echo 'cat >/dev/null; head -c 60000 /dev/zero | tr "\0" "["; echo; exit 0' ;;
	twolines)	echo 'cat >/dev/null; echo "{\"result\":\"installed\"}"; echo "{\"result\":\"installed\"}"' ;;
	liar)		echo 'cat >/dev/null; echo "{\"node\":\"liar\",\"serial\":1,\"result\":\"installed\"}"; exit 1' ;;
	killed)		echo 'cat >/dev/null; kill -KILL $$' ;;
	stderrflood)	echo 'cat >/dev/null; head -c 50000000 /dev/zero >&2; exec sleep 1000' ;;
	crlfresult)	echo "cat >/dev/null; printf '%s\\n' '{\"result\":\"\\r\\n$FAKE\"}'" ;;
	# The start of a 256-byte packet, then a byte a second (for SFTP too:
	# the forced command answers the subsystem request as well).
	sftpdrip)	echo 'printf "\0\0\1\0"; for i in $(seq 300); do printf x || exit; sleep 1; done' ;;
	crlffields)	echo "cat >/dev/null; printf '%s\\n' '{\"result\":\"failed\",\"step\":\"install\\r\\n$FAKE\",\"error\":\"x\\r\\n$FAKE\",\"files\":\"untouched\"}'; exit 1" ;;
	esac
}

hostile_error () {
	case $1 in
	endless|longline) echo "the answer exceeds 65536 bytes" ;;
	nevercloses|drip|stderrflood|sftpdrip) echo "timed out" ;;
	garbage|nested|twolines|killed) echo "no valid outcome line" ;;
	liar) echo "inconsistent answer: result \"installed\" with exit status 1" ;;
	crlfresult) echo "inconsistent answer: result \"\\r\\n$FAKE\" with exit status 0" ;;
	crlffields) echo "install\\r\\n$FAKE: x\\r\\n$FAKE (nothing changed)" ;;
	bannerdrip|kexdrip) echo "SSH handshake: timed out" ;;
	esac
}

# What a trickling peer sends at once (hex), before a byte a second: the
# start of a banner; a banner and the length of a 4 KiB packet.
drip_prefix () {
	case $1 in
	bannerdrip)	printf "SSH-2.0-" | od -An -tx1 | tr -d " \n" ;;
	kexdrip)	printf "SSH-2.0-OpenSSH_9.2\r\n\0\0\020\0" | od -An -tx1 | tr -d " \n" ;;
	esac
}

# drip.pl ADDR PORT HEX: for each connection, HEX then one byte a second,
# at most 300 (each ends by itself).
write_drip_peer () {
	cat >drip.pl <<-'EOF'
	use IO::Socket::INET;
	my ($addr, $port, $hex) = @ARGV;
	$SIG{CHLD} = "IGNORE";
	my $l = IO::Socket::INET->new(LocalAddr => $addr, LocalPort => $port,
	    Listen => 16, ReuseAddr => 1) or die "listen: $!";
	while (my $c = $l->accept) {
		if (fork() == 0) {
			$c->autoflush(1);
			print $c pack("H*", $hex);
			for (1 .. 300) { sleep 1; print $c "x" or exit 0 }
			exit 0;
		}
		close $c;
	}
	EOF
	# A DNS server that reads every query and answers none.
	cat >dnssink.pl <<-'EOF'
	use IO::Socket::INET;
	my $s = IO::Socket::INET->new(LocalAddr => "0.0.0.0", LocalPort => 53,
	    Proto => "udp") or die "udp: $!";
	my $q;
	while (defined $s->recv($q, 4096)) { }
	EOF
}

# target_yaml NAME PORT: the target's entry in certpush.yaml.
target_yaml () {
	push_target_ssh $1 "$(netns_addr targets)" $2 $TIMEOUT www
}

# sshd_target NAME PORT CMD: an sshd on node "targets" forcing CMD, in known_hosts.
sshd_target () {
	SSHD_PORT=$2 serve_sshd targets "$TRASH/$1/sshd" "" "$3"
}

test_expect_success 'setup: keys, node "targets" with thirteen hostile and two honest sshd, two trickling peers' '
	mkdir -m 0700 keys src state &&
	make_ca ca && make_cert ca a "DNS:www.test" ec &&
	source_leaf ca a &&
	push_keys --ssh &&
	netns_create front 1 && netns_create targets 2 &&
	: >keys/known_hosts && port=2300 && write_drip_peer &&
	for name in $HOSTILE honest1 honest2; do
		port=$((port + 1)) && mkdir -p $name &&
		case $name in
		bannerdrip|kexdrip)
			DAEMON_NETNS=targets daemon_start $name "" perl "$TRASH/drip.pl" \
				0.0.0.0 $port "$(drip_prefix $name)" &&
			svc_wait_ports_ targets 10 $port ;;
		honest*)
			{
				pull_conf_head $name "$TRASH/$name/state" &&
				pull_files_service "$TRASH/$name/site.pem" www haproxy 0600
			} >$name/certpull.yaml &&
			sshd_target $name $port "$CERTPULL -c $TRASH/$name/certpull.yaml serve" ;;
		*)
			# An SFTP subsystem to request: the forced command answers it.
			extra= && test $name != sftpdrip || extra="Subsystem sftp internal-sftp"
			hostile_script $name >$name/run.sh &&
			SSHD_EXTRA=$extra sshd_target $name $port "/bin/sh $TRASH/$name/run.sh" ;;
		esac &&
		echo "$name $port" >>ports || return 1
	done &&
	{
		push_conf_head "concurrency: 16" &&
		while read -r name port; do
			target_yaml $name $port || return 1
		done <ports
	} >certpush.yaml &&
	netns_exec front "$CERTPUSH" -c "$TRASH/certpush.yaml" check-config
'

test_expect_success "$RUNS push(es) against every target: bounded, each failure named, honest ones installed" '
	PRECISE=0 HONEST=0 MAXRSS=0 MAXSECS=0 TOTAL=0 &&
	for ((r = 1; r <= RUNS; r++)); do
		start=$(date +%s%N) &&
		netns_exec front /usr/bin/time -f "%M" -o rss.out timeout -s KILL $WATCHDOG \
			"$CERTPUSH" -c "$TRASH/certpush.yaml" --now >out 2>err 7>&- 8>&-
		rc=$? && ms=$((($(date +%s%N) - start) / 1000000)) &&
		cat out &&
		{ test $rc != 137 || { echo "certpush still ran after $WATCHDOG s: killed"; return 1; }; } &&
		test $rc = 1 || return 1
		# A target'"'"'s text never starts a line of its own.
		! grep "^$FAKE" out err || return 1
		rss=$(tail -n 1 rss.out) &&
		test $rss -le $MAX_RSS_KB || { echo "max RSS $rss kB over $MAX_RSS_KB kB"; return 1; }
		test $rss -le $MAXRSS || MAXRSS=$rss
		test $ms -le $MAXSECS || MAXSECS=$ms
		for name in $HOSTILE; do
			TOTAL=$((TOTAL + 1))
			if grep "^$name .* failed " out | grep -qF "$(hostile_error $name)"; then
				PRECISE=$((PRECISE + 1))
			else
				echo "$name: expected \"$(hostile_error $name)\": $(grep "^$name " out)"
			fi
		done
		for name in honest1 honest2; do
			grep -q "^$name .* \(installed\|unchanged\) " out && test -s $name/site.pem &&
			HONEST=$((HONEST + 1))
		done
	done &&
	figure "hostile-targets: pushes=$RUNS hostile=$TOTAL reported-precisely=$PRECISE" \
		"honest-ok=$HONEST of $((2 * RUNS)) max-rss-kb=$MAXRSS max-ms=$MAXSECS" \
		"timeout-s=$TIMEOUT" &&
	test $PRECISE = $TOTAL && test $HONEST = $((2 * RUNS))
'

test_expect_success 'certpush status reports the hostile targets behind, the honest ones ok' '
	netns_exec front "$CERTPUSH" -c "$TRASH/certpush.yaml" status >status.out 7>&- 8>&- &&
	cat status.out &&
	grep "^honest1 .* ok " status.out && grep "^honest2 .* ok " status.out &&
	for name in $HOSTILE; do
		grep -q "^$name .* BEHIND " status.out || { echo "$name not behind"; return 1; }
	done &&
	! grep "^$FAKE" status.out &&
	grep "^crlffields .*BEHIND" status.out | grep -F "$(hostile_error crlffields)"
'

test_expect_success 'certpull fetch is cut at its timeout: a trickle in the SSH handshake, in SFTP' '
	for name in kexdrip sftpdrip; do
		sed "s|^state_dir: .*|state_dir: $TRASH/fetch-state|" honest1/certpull.yaml >fetch.yaml &&
		printf "fetch:\n  host: %s\n  port: %s\n  identity: %s\n  known_hosts: %s\n  path: /x/node.bundle\n  timeout: 3\n" \
			"$(netns_addr targets)" "$(sed -n "s/^$name //p" ports)" \
			"$TRASH/keys/id_ed25519" "$TRASH/keys/known_hosts" >>fetch.yaml &&
		rc=0 &&
		netns_exec front timeout 60 "$CERTPULL" -c "$TRASH/fetch.yaml" fetch \
			>fetch.out 2>&1 7>&- 8>&- || rc=$?
		cat fetch.out &&
		test $rc = 1 && grep "fetch from .*: .*timed out" fetch.out || return 1
	done
'

test_expect_success 'a name lookup that gets no answer is cut at the timeout: push, fetch, probe' '
	nsconf=/etc/netns/$(netns_name front) &&
	mkdir -p "$nsconf" && at_exit "rm -rf $nsconf" &&
	printf "nameserver %s\noptions timeout:30 attempts:3\n" "$(netns_addr targets)" \
		>"$nsconf/resolv.conf" &&
	DAEMON_NETNS=targets daemon_start dnssink "" perl "$TRASH/dnssink.pl" &&
	wait_for_udp_port targets 53 &&
	sed -n "1,/^targets:/p" certpush.yaml >lookup.yaml &&
	target_yaml slow 22 | sed "s|host: .*|host: slow.example.com|" >>lookup.yaml &&
	printf "    endpoints:\n      - {address: slow.example.com, port: 443}\n" >>lookup.yaml &&
	rc=0 &&
	netns_exec front timeout -s KILL 60 "$CERTPUSH" -c "$TRASH/lookup.yaml" --now \
		>lookup.out 2>&1 7>&- 8>&- || rc=$?
	cat lookup.out &&
	test $rc = 1 && grep "^slow .* failed .*slow.example.com: name lookup timed out" lookup.out &&
	sed "s|^  host: .*|  host: slow.example.com|" fetch.yaml >fetch-slow.yaml &&
	rc=0 &&
	netns_exec front timeout -s KILL 60 "$CERTPULL" -c "$TRASH/fetch-slow.yaml" fetch \
		>fetch.out 2>&1 7>&- 8>&- || rc=$?
	cat fetch.out &&
	test $rc = 1 && grep "fetch from slow.example.com: slow.example.com: name lookup timed out" fetch.out &&
	rc=0 &&
	netns_exec front timeout -s KILL 60 "$CERTPUSH" -c "$TRASH/lookup.yaml" audit \
		--timeout 2 >audit.out 2>&1 7>&- 8>&- || rc=$?
	cat audit.out &&
	test $rc != 137 && grep "slow.example.com: name lookup timed out" audit.out
'

test_expect_success 'the daemon logs what the targets said escaped, one line per message' '
	sed -n "1,/^targets:/p" certpush.yaml >crlf.yaml &&
	for name in crlfresult crlffields; do
		target_yaml $name $(sed -n "s/^$name //p" ports) >>crlf.yaml || return 1
	done &&
	DAEMON_NETNS=front daemon_start certpush-run "" \
		"$CERTPUSH" -c "$TRASH/crlf.yaml" run &&
	wait_until_ 30 grep -q "targets ok" certpush-run.log &&
	daemon_stop certpush-run &&
	cat certpush-run.log &&
	! grep -v "^certpush: " certpush-run.log &&
	for name in crlfresult crlffields; do
		grep "^certpush: $name .* failed " certpush-run.log |
		grep -F "$(hostile_error $name)" || return 1
	done
'

test_done
