#!/bin/bash
test_description='certpull install against the real HAProxy, Postfix, Dovecot and OpenDKIM

One node "mail" in its own network namespace runs all four services, each
reading the files certpull writes.  certpush builds the bundles from a
throwaway CA; certpull installs them inside the namespace, so the live
checks go to the real ports.'
. "$(dirname "$0")/lib.sh"
. "$SRC/tests/lib-services.sh"

test_have_prereq ROOT || skip_all "needs root"
test_have_prereq NETNS || skip_all "cannot create network namespaces"
test_have_prereq BUILT || skip_all "build certpush and certpull first"
for cmd in haproxy postfix dovecot doveadm opendkim socat openssl setpriv strace chattr; do
	test_have_prereq "CMD:$cmd" || skip_all "missing $cmd"
done

# pull ARGS...: certpull inside the mail node, with the test's config.
pull () {
	netns_exec mail "$CERTPULL" -c "$TRASH/${PULLCONF:-certpull.yaml}" "$@" 7>&- 8>&-
}

# make_bundle LEAF [TARGET]: copy leaf LEAF into the sources and bundle it.
make_bundle () {
	source_leaf ca "$1" &&
	"$CERTPUSH" -c certpush.yaml bundle --target "${2:-mail}" -o "b-$1-${2:-mail}" >/dev/null &&
	echo "b-$1-${2:-mail}"
}

# serves LEAF: every endpoint of the node serves leaf LEAF (daemons act on
# a reload a moment after it returns: wait a little).
serves () {
	wait_until_ 10 serves_now "$1" && return 0
	echo "not every endpoint serves $1"
	return 1
}

serves_now () {
	local fp
	fp=$(cert_fingerprint "ca/$1.crt") &&
	test "$(tls_fingerprint --netns mail 127.0.0.1 443)" = "$fp" &&
	test "$(tls_fingerprint --netns mail --starttls smtp 127.0.0.1 25)" = "$fp" &&
	test "$(tls_fingerprint --netns mail --starttls smtp 127.0.0.1 587)" = "$fp" &&
	test "$(tls_fingerprint --netns mail 127.0.0.1 993)" = "$fp" &&
	test "$(tls_fingerprint --netns mail 127.0.0.1 995)" = "$fp" &&
	test "$(tls_fingerprint --netns mail --starttls imap 127.0.0.1 143)" = "$fp" &&
	test "$(tls_fingerprint --netns mail --starttls pop3 127.0.0.1 110)" = "$fp"
}

# pubkey FILE: the public key of the private key in FILE (any PEM layout).
pubkey () {
	openssl pkey -in "$1" -pubout 2>/dev/null
}

# certkey FILE: the public key of the first certificate in FILE.
certkey () {
	openssl x509 -in "$1" -noout -pubkey 2>/dev/null
}

# installed_is LEAF: every installed file holds leaf LEAF and its own key.
installed_is () {
	local fp
	fp=$(cert_fingerprint "ca/$1.crt") &&
	test "$(cert_fingerprint certs/haproxy.pem)" = "$fp" &&
	test "$(cert_fingerprint certs/postfix.pem)" = "$fp" &&
	test "$(cert_fingerprint dovecot-certs/dovecot.crt)" = "$fp" &&
	test "$(pubkey certs/haproxy.pem)" = "$(certkey certs/haproxy.pem)" &&
	test "$(pubkey certs/postfix.pem)" = "$(certkey certs/postfix.pem)" &&
	test "$(pubkey dovecot-certs/dovecot.key)" = "$(certkey dovecot-certs/dovecot.crt)"
}

snapshot () {
	rm -rf "$1" && mkdir "$1" &&
	cp -p certs/* dovecot-certs/* dkim/keys/* "$1/"
}

same_as () {
	for f in certs/* dovecot-certs/* dkim/keys/*; do
		cmp -s "$f" "$1/${f##*/}" || { echo "$f differs from $1"; return 1; }
	done
}

no_temp_files () {
	! ls -a certs dovecot-certs dkim/keys | grep -q certpull-new
}

# pull_config [SED_SCRIPT]: write certpull.yaml, optionally edited.
pull_config () {
	sed -e "${1:-}" certpull.yaml.in >certpull.yaml
}

test_expect_success 'setup: CA, leaves, DKIM keys, signing key' '
	make_ca ca &&
	for leaf in a b c c2 d e f; do
		make_cert ca $leaf "DNS:mail.test,DNS:www.test" || return 1
	done &&
	make_cert ca r "DNS:mail.test,DNS:www.test" rsa &&
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out dkim1.key 2>/dev/null &&
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out dkim2.key 2>/dev/null &&
	mkdir -m 0700 src state pullstate keys &&
	install -m 0600 dkim2.key src/dkim.key &&
	netns_create mail 2
'

test_expect_success 'setup: the services, serving leaf a' '
	mkdir certs dovecot-certs &&
	mount -t tmpfs -o size=256k,mode=0755 tmpfs dovecot-certs &&
	at_exit "umount \"$TRASH/dovecot-certs\"" &&
	install -m 0600 ca/a.pem certs/haproxy.pem &&
	install -m 0600 ca/a.pem certs/postfix.pem &&
	install -m 0644 ca/a.fullchain dovecot-certs/dovecot.crt &&
	install -m 0600 ca/a.key dovecot-certs/dovecot.key &&
	install -d -o opendkim -g opendkim -m 0700 dkim dkim/keys &&
	install -o opendkim -g opendkim -m 0600 dkim1.key dkim/keys/sel.private &&
	haproxy_start mail "$TRASH/haproxy" "$TRASH/certs/haproxy.pem" &&
	postfix_start mail "$TRASH/postfix" "$TRASH/certs/postfix.pem" &&
	dovecot_start mail "$TRASH/dovecot" "$TRASH/dovecot-certs/dovecot.crt" \
		"$TRASH/dovecot-certs/dovecot.key" &&
	serves a
'

test_expect_success 'setup: certpush.yaml and certpull.yaml' '
	push_keys &&
	{
		push_conf_head --cert mail --names mail.test --dkim "$TRASH/src/dkim.key" sel mail.test &&
		push_target_local mail "mail, dkim" &&
		push_target_local other "mail, dkim"
	} >certpush.yaml &&
	{
		pull_conf_head mail "$TRASH/pullstate" "grace: 10" &&
		pull_haproxy_service "$TRASH/certs/haproxy.pem" "$TRASH/haproxy" \
			item=mail check reload sni=mail.test &&
		cat
	} >certpull.yaml.in <<-EOF &&
	  - name: postfix
	    files:
	      - { path: $TRASH/certs/postfix.pem, item: mail, format: key+chain, mode: "0600" }
	    check: [/usr/sbin/postfix, -c, $TRASH/postfix/etc, check]
	    reload: [/usr/sbin/postfix, -c, $TRASH/postfix/etc, reload]
	    endpoints:
	      - { address: 127.0.0.1, port: 25, starttls: smtp }
	      - { address: 127.0.0.1, port: 587, starttls: smtp }
	  - name: dovecot
	    files:
	      - { path: $TRASH/dovecot-certs/dovecot.crt, item: mail, format: fullchain, mode: "0644" }
	      - { path: $TRASH/dovecot-certs/dovecot.key, item: mail, format: key, mode: "0600" }
	    check: [/usr/bin/doveconf, -n, -c, $TRASH/dovecot/dovecot.conf]
	    reload: [/usr/bin/doveadm, -c, $TRASH/dovecot/dovecot.conf, reload]
	    endpoints:
	      - { address: 127.0.0.1, port: 993 }
	      - { address: 127.0.0.1, port: 995 }
	      - { address: 127.0.0.1, port: 143, starttls: imap }
	      - { address: 127.0.0.1, port: 110, starttls: pop3 }
	  - name: opendkim
	    files:
	      - { path: $TRASH/dkim/keys/sel.private, item: dkim, format: dkim,
	          owner: opendkim, group: opendkim, mode: "0600" }
	EOF
	pull_config &&
	"$CERTPUSH" -c certpush.yaml check-config &&
	pull check-config
'

test_expect_success 'install: every endpoint serves the new leaf' '
	bundle=$(make_bundle b) &&
	pull install "$bundle" >out &&
	cat out &&
	grep "^$bundle: installed serial" out &&
	grep "haproxy: reloaded (runtime API)" out &&
	grep "postfix: reloaded (reload command)" out &&
	grep "dovecot: reloaded (reload command)" out &&
	serves b && installed_is b && no_temp_files
'

test_expect_success 'owner, group and mode of every installed file' '
	test_file_mode certs/haproxy.pem 0600 && test_file_owner certs/haproxy.pem root:root &&
	test_file_mode certs/postfix.pem 0600 &&
	test_file_mode dovecot-certs/dovecot.crt 0644 &&
	test_file_mode dovecot-certs/dovecot.key 0600 &&
	test_file_mode dkim/keys/sel.private 0600 &&
	test_file_owner dkim/keys/sel.private opendkim:opendkim
'

test_expect_success 'Postfix gets key first, then leaf and chain; HAProxy leaf, chain, key' '
	grep -m1 -- "-----BEGIN" certs/postfix.pem >first &&
	grep "PRIVATE KEY" first &&
	grep -m1 -- "-----BEGIN" certs/haproxy.pem >first &&
	grep "CERTIFICATE" first &&
	test "$(grep -c "BEGIN CERTIFICATE" certs/haproxy.pem)" = 2 &&
	! grep -q "^$" certs/haproxy.pem
'

test_expect_success 'OpenDKIM signs with the new key' '
	test "$(pubkey dkim/keys/sel.private)" = "$(pubkey dkim2.key)" &&
	opendkim_setup "$TRASH/odk" "$TRASH/dkim/keys/sel.private" sel mail.test &&
	printf "From: a@mail.test\nTo: b@mail.test\nSubject: t\n\nbody\n" >msg &&
	opendkim_sign "$TRASH/odk" msg >sig &&
	grep "s=sel" sig && grep "d=mail.test" sig &&
	{ cat sig && cat msg; } >signed &&
	opendkim_verify "$TRASH/odk" signed
'

test_expect_success 'the same bundle again: exit 2, nothing touched' '
	snapshot before &&
	ls -i certs/haproxy.pem >inode.before &&
	test_expect_code 2 pull install "$bundle" &&
	ls -i certs/haproxy.pem >inode.after &&
	test_cmp inode.before inode.after &&
	same_as before
'

test_expect_success 'status shows the serial and each file' '
	pull status >status.out &&
	grep "installed serial" status.out &&
	grep "sha256: $(cert_fingerprint ca/b.crt)" status.out &&
	pull status --json >status.json &&
	grep "\"sha256\":\"$(cert_fingerprint ca/b.crt)\"" status.json
'

# The version the packages get (packaging/debian/changelog; t0700 checks
# the rpm spec has the same).
VERSION=$(sed -n '1s/^[^(]*(\([^)]*\)).*/\1/p' "$SRC/packaging/debian/changelog")

test_expect_success '--version and -V print the packages version; status --json has it' '
	test -n "$VERSION" &&
	printf "certpush %s\n" "$VERSION" >expect.push &&
	printf "certpull %s\n" "$VERSION" >expect.pull &&
	"$CERTPUSH" --version >out.push && test_cmp expect.push out.push &&
	"$CERTPUSH" -V >out.push && test_cmp expect.push out.push &&
	"$CERTPULL" --version >out.pull && test_cmp expect.pull out.pull &&
	"$CERTPULL" -V >out.pull && test_cmp expect.pull out.pull &&
	"$CERTPUSH" --help >help && grep -e "--version" help &&
	"$CERTPULL" --help >help && grep -e "--version" help &&
	pull status --json >status.json &&
	grep "\"version\":\"$VERSION\"}$" status.json &&
	"$CERTPUSH" -c certpush.yaml status --json >status.json &&
	grep "\"version\":\"$VERSION\"}$" status.json
'

# Every temp file is created exclusively (never through a symlink) with
# mode 0600 and given its final owner and mode before the first byte is
# written to it.
check_temp_creates () {
	awk -v sel='certpull-new", ' -v nofollow=1 -f "$SRC/tests/check-creates.awk" "$1"
}

test_expect_success 'no temp file is ever readable by others (strace)' '
	bundle=$(make_bundle c) &&
	netns_exec mail strace -f -qq -e trace=openat,fchown,fchmod,write,close -o trace \
		"$CERTPULL" -c "$TRASH/certpull.yaml" install "$bundle" >out 7>&- 8>&- &&
	check_temp_creates trace &&
	serves c && installed_is c
'

# check_syncs TRACE STATE: the order of renames and directory fsyncs of
# one install (strace -y): every copy in STATE/prev synced with one fsync
# of STATE/prev, the journal on disk (STATE synced) before the first file
# is renamed into place, and each directory that received a file synced
# once, after its last rename.
check_syncs () {
	awk -v state="$2" '
	function dir(p) { sub(/\/[^\/]*$/, "", p); return p }
	{ sub(/^[0-9]+ +/, "") }
	/^rename\(/ {
		split($0, q, "\""); to = q[4]
		if (to == state "/journal") journal = NR
		else if (dir(to) == state || dir(to) == state "/prev") next
		else { last[dir(to)] = NR; if (!first) first = NR }
	}
	/^fsync\([0-9]+</ && /\) += 0$/ {
		p = $0; sub(/^fsync\([0-9]+</, "", p); sub(/>.*/, "", p)
		n[p]++; at[p] = NR
		if (p == state && journal && !first) jsync = NR
		if (p == state "/prev" && !journal) psync++
	}
	END {
		if (!journal || !first || !jsync) { print "no journal synced before the first rename"; exit 1 }
		if (psync != 1) { print "STATE/prev synced " psync + 0 " times before the journal"; exit 1 }
		for (d in last) {
			if (n[d] != 1) { print d ": synced " n[d] + 0 " times"; bad = 1 }
			else if (at[d] < last[d]) { print d ": synced before its last rename"; bad = 1 }
		}
		exit bad
	}' "$1"
}

test_expect_success 'renames then one fsync per directory; copies and journal synced first (strace)' '
	bundle=$(make_bundle c2) &&
	netns_exec mail strace -f -qq -y -e trace=rename,fsync -o trace \
		"$CERTPULL" -c "$TRASH/certpull.yaml" install "$bundle" >out 7>&- 8>&- &&
	cat trace &&
	check_syncs trace "$TRASH/pullstate" &&
	serves c2 && installed_is c2 &&
	bundle=$(make_bundle c) && pull install "$bundle" >out && serves c
'

test_expect_success 'a failing reload command: rolled back, old leaf served' '
	snapshot before &&
	pull_config "s|reload: \[/usr/sbin/postfix.*|reload: [/bin/false]|" &&
	test_when_finished "pull_config" &&
	bundle=$(make_bundle d) &&
	test_expect_code 1 pull install "$bundle" >out &&
	cat out &&
	grep "failed at reload: postfix" out &&
	grep "(previous files restored)$" out &&
	same_as before && no_temp_files && serves c
'

test_expect_success 'HAProxy socket missing: the reload command takes over' '
	pull_config "s|haproxy_socket: .*|haproxy_socket: $TRASH/haproxy/none.sock|" &&
	test_when_finished "pull_config" &&
	pull install "$bundle" >out &&
	grep "haproxy: reloaded (reload command)" out &&
	wait_for_fingerprint "$(cert_fingerprint ca/d.crt)" 10 --netns mail 127.0.0.1 443 &&
	serves d && installed_is d
'

test_expect_success 'HAProxy socket missing and no reload command: rolled back' '
	snapshot before &&
	pull_config "s|haproxy_socket: .*|haproxy_socket: $TRASH/haproxy/none.sock|; \\|/bin/kill|d" &&
	test_when_finished "pull_config" &&
	bundle=$(make_bundle e) &&
	test_expect_code 1 pull install "$bundle" >out &&
	grep "failed at reload: haproxy" out &&
	same_as before && serves d
'

test_expect_success 'an endpoint that keeps the old leaf: rolled back everywhere' '
	snapshot before &&
	pull_config "s|reload: \[/usr/bin/doveadm.*|reload: [/bin/true]|; s|grace: 10|grace: 3|" &&
	test_when_finished "pull_config" &&
	test_expect_code 1 pull install "$bundle" >out &&
	cat out &&
	grep "failed at live-check" out &&
	same_as before && serves d && installed_is d
'

test_expect_success 'disk full: nothing changes' '
	snapshot before &&
	{ dd if=/dev/zero of=dovecot-certs/filler bs=1k count=1024 2>/dev/null || :; } &&
	test_when_finished "rm -f dovecot-certs/filler" &&
	test_expect_code 1 pull install "$bundle" >out &&
	grep "failed at stage" out && grep "(nothing changed)$" out &&
	rm dovecot-certs/filler &&
	same_as before && no_temp_files && serves d
'

test_expect_success 'destination directory missing: nothing changes' '
	snapshot before &&
	pull_config "s|$TRASH/dovecot-certs/dovecot.key|$TRASH/missing/dovecot.key|" &&
	test_when_finished "pull_config" &&
	test_expect_code 1 pull install "$bundle" >out &&
	grep "failed at stage" out &&
	same_as before && no_temp_files && serves d
'

test_expect_success 'a bundle for another node is refused' '
	snapshot before &&
	other=$(make_bundle e other) &&
	test_expect_code 1 pull install "$other" >out &&
	grep "failed at verify:audience" out &&
	same_as before
'

test_expect_success 'a replayed older bundle is refused' '
	test_expect_code 1 pull install b-b-mail >out &&
	grep "failed at verify:serial" out &&
	same_as before
'

# The words of certpull(8) for a bundle that cannot be read, checked in the
# page's source, then printed by verify, install and receive.
test_expect_success 'oversize, symlinked, directory bundles: the words certpull(8) documents' '
	doc="$SRC/certpull/certpull.8" &&
	grep -Fx "FILE: is a symbolic link: refusing it" "$doc" &&
	grep -Fx "FILE: not a regular file (a directory)" "$doc" &&
	grep -Fx ".Ql FILE: larger than 1048576 bytes ;" "$doc" &&
	grep -Fx ".Ql input larger than 1048576 bytes ." "$doc" &&
	snapshot before &&
	head -c 1048577 /dev/zero >big.bundle &&
	head -c 1048576 /dev/zero >max.bundle &&
	ln -s "$(make_bundle f)" link.bundle &&
	mkdir dir.bundle &&
	test_expect_code 1 pull verify big.bundle >out &&
	echo "big.bundle: rejected (size): big.bundle: larger than 1048576 bytes" >expect &&
	test_cmp expect out &&
	test_expect_code 1 pull install big.bundle >out 2>/dev/null &&
	echo "big.bundle: failed at verify:size: big.bundle: larger than 1048576 bytes (nothing changed)" >expect &&
	test_cmp expect out &&
	test_expect_code 1 pull receive <big.bundle >out 2>/dev/null &&
	grep "\"step\":\"verify:size\",\"error\":\"input larger than 1048576 bytes\"" out &&
	test_expect_code 1 pull verify max.bundle >out &&
	grep "^max.bundle: rejected (magic): " out &&
	test_expect_code 1 pull verify link.bundle >out &&
	echo "link.bundle: rejected (input): link.bundle: is a symbolic link: refusing it" >expect &&
	test_cmp expect out &&
	test_expect_code 1 pull install link.bundle >out 2>/dev/null &&
	echo "link.bundle: failed at input: link.bundle: is a symbolic link: refusing it (nothing changed)" >expect &&
	test_cmp expect out &&
	test_expect_code 1 pull verify dir.bundle >out &&
	echo "dir.bundle: rejected (input): dir.bundle: not a regular file (a directory)" >expect &&
	test_cmp expect out &&
	test_expect_code 1 pull install dir.bundle >out 2>/dev/null &&
	echo "dir.bundle: failed at input: dir.bundle: not a regular file (a directory) (nothing changed)" >expect &&
	test_cmp expect out &&
	same_as before
'

test_expect_success 'a second install waits for the lock, then fails clearly' '
	snapshot before &&
	# The holder execs into sleep with the lock on fd 9: killing it frees the lock.
	{ (exec 9>>pullstate/lock && flock 9 && exec sleep 60) & holder=$!; } &&
	wait_until_ 10 test_must_fail flock -n pullstate/lock true &&
	test_expect_code 1 pull install "$bundle" >out 2>err &&
	kill $holder 2>/dev/null; wait $holder 2>/dev/null;
	grep "failed at lock: another certpull install holds .*lock (waited 10 s)" out &&
	same_as before
'

# An immutable state file: the new state cannot be written, nor the old
# one put back; the files are, and the journal stays for the next run.
test_expect_success 'the new state cannot be recorded: rolled back, the next run completes it' '
	snapshot before && cp pullstate/installed installed.before &&
	chattr +i pullstate/installed &&
	test_when_finished "chattr -i pullstate/installed" &&
	test_expect_code 1 pull install "$bundle" >out &&
	cat out &&
	grep "failed at state: .*installed" out &&
	grep "(the next run restores the previous files)$" out &&
	test_path_is_file pullstate/journal &&
	serves d &&
	chattr -i pullstate/installed &&
	pull status >out 2>err &&
	grep "interrupted install was found and rolled back" err &&
	test_path_is_missing pullstate/journal &&
	same_as before && no_temp_files && serves d && installed_is d &&
	cmp pullstate/installed installed.before
'

test_expect_success 'receive reads standard input and prints one JSON line' '
	netns_exec mail "$CERTPULL" -c "$TRASH/certpull.yaml" receive <"$bundle" >out 7>&- 8>&- &&
	test "$(wc -l <out)" = 1 &&
	grep "\"result\":\"installed\"" out &&
	grep "\"fingerprint\":\"$(cert_fingerprint ca/e.crt)\"" out &&
	serves e
'

# After a crash at STEP and the next run, the files are all of one leaf,
# each with its own key, and that leaf is what is served.
crash_at () {
	local step=$1 leaf=$2 old=$3 rc=0
	bundle=$(make_bundle "$leaf") || return 1
	CERTPULL_TEST_CRASH_AT=$step pull install "$bundle" >/dev/null 2>&1 || rc=$?
	test "$rc" = 137 || { echo "expected SIGKILL at $step, got exit $rc"; return 1; }
	pull status >/dev/null 2>&1 &&
	test_path_is_missing pullstate/journal || return 1
	if installed_is "$old"; then
		serves "$old" || return 1
	else
		installed_is "$leaf" || { echo "mixed files after a crash at $step"; return 1; }
	fi
	# The next install brings the node to the new leaf either way.
	pull install "$bundle" >/dev/null || test $? = 2 || return 1
	installed_is "$leaf" && serves "$leaf"
}

test_expect_success 'kill -9 at every step, then the next run recovers' '
	old=e &&
	for step in staged saved journaled swapped-0 swapped-1 swapped-2 swapped-3 \
		checked reloaded finished; do
		case $old in e) new=f ;; f) new=e ;; esac &&
		crash_at $step $new $old || { echo "step $step"; return 1; }
		old=$new
	done
'

handshakes () {
	local i n=0 fail=0 fp
	for ((i = 0; i < 400; i++)); do
		test -e stop-handshakes && break
		n=$((n + 1))
		timeout 5 openssl s_client "$@" </dev/null >/dev/null 2>&1 || fail=$((fail + 1))
	done
	echo "$n $fail"
}

test_expect_success 'no handshake fails while the services reload' '
	rm -f stop-handshakes && pids= &&
	for ep in "-connect 127.0.0.1:443" "-connect 127.0.0.1:587 -starttls smtp" \
		"-connect 127.0.0.1:993"; do
		netns_exec mail bash -c "$(declare -f handshakes); handshakes $ep" \
			>"hs.${ep##*:}" 7>&- 8>&- &
		pids="$pids $!"
	done &&
	for leaf in a b c; do
		bundle=$(make_bundle $leaf) && pull install "$bundle" >/dev/null || return 1
	done &&
	touch stop-handshakes && wait $pids &&
	cat hs.* &&
	awk "{ n += \$1; f += \$2 } END { print n \" handshakes, \" f \" failed\"; exit !(n > 30 && f == 0) }" hs.*
'

# closed_pipe CMD...: CMD with its output and errors to a pipe nobody
# reads any more (sshd's pipes once certpush has gone), SIGPIPE at its
# default; the caller sees its exit status, or 128 + the signal.
closed_pipe () {
	perl -e 'pipe(my $r, my $w) or die; close($r);
		open(STDIN, "<", "/dev/null") && open(STDOUT, ">&", $w) &&
		open(STDERR, ">&", $w) or die; $SIG{PIPE} = "DEFAULT"; exec(@ARGV)' "$@"
}

test_expect_success 'an endpoint that hangs up after its handshake, output to a closed pipe: no SIGPIPE, rolled back' '
	snapshot before &&
	DAEMON_NETNS=mail daemon_start hangup "" socat \
		OPENSSL-LISTEN:8443,reuseaddr,fork,cert=$TRASH/ca/c.pem,verify=0 EXEC:/bin/true &&
	test_when_finished "daemon_stop hangup" &&
	NETNS=mail wait_for_port 127.0.0.1 8443 &&
	pull_config "s|grace: 10|grace: 1|; s|^\( *\)- { address: 127.0.0.1, port: 443, sni: mail.test }|&\n\1- { address: 127.0.0.1, port: 8443 }|" &&
	test_when_finished "pull_config" &&
	grep -q 8443 certpull.yaml &&
	bundle=$(make_bundle d) &&
	test_expect_code 1 netns_exec mail bash -c "$(declare -f closed_pipe); closed_pipe \"\$@\"" \
		sh "$CERTPULL" -c "$TRASH/certpull.yaml" install "$bundle" &&
	test_path_is_missing pullstate/journal &&
	same_as before && no_temp_files && serves c && installed_is c
'

test_expect_success 'a check command gets descriptors 0-2 and the documented environment only' '
	write_spy spy &&
	pull_config "s|check: \[/usr/sbin/postfix, |check: [$TRASH/spy, /usr/sbin/postfix, |" &&
	test_when_finished "pull_config" &&
	bundle=$(make_bundle d) &&
	CERTPULL_LEAK=1 pull install "$bundle" >out 5<certpull.yaml &&
	spy_saw_clean spy &&
	serves d && installed_is d
'

test_done
