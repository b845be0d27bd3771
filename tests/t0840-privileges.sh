#!/bin/bash
test_description='secrets are never open to others; the forced command runs only receive and status

Installs under umask 000 are watched with inotify (every file created in
the destination and state directories, its mode the moment it appears,
and the order of its events: owner and mode set before the first byte)
and traced with strace (every file certpull, certpush and certpush keygen
create is O_EXCL 0600, given its owner and mode before the first write).
With fetch groups the outbox is 0711 (nobody lists it) and each bundle
0640 to the group of its own target only, or 0600, from its creation; the next
write puts back an outbox and bundles an operator opened.
A signing key open to the group or others, owned by another user or
reached through a symbolic link is refused, naming the reason; so is a
certpull.yaml asking for a key file readable by others.  Through sshd,
the forced command refuses every request but "receive" and "status",
whatever shell syntax the request carries.'
. "$(dirname "$0")/lib.sh"
. "$SRC/tests/lib-services.sh"

test_have_prereq ROOT || skip_all "needs root"
test_have_prereq BUILT || skip_all "build certpush and certpull first"
for cmd in openssl inotifywait strace mkfifo; do
	test_have_prereq "CMD:$cmd" || skip_all "missing $cmd"
done
getent passwd opendkim >/dev/null && getent group postfix >/dev/null ||
	skip_all "needs the opendkim user and the postfix group"

if test -n "${RELIABILITY:-}"; then
	INSTALLS=40
else
	INSTALLS=6
fi

figure () {
	echo "# FIGURE $*" >&7
}

pull () {
	"$CERTPULL" -c "$TRASH/certpull.yaml" "$@" 7>&- 8>&-
}

# use_leaf LEAF: LEAF and a new DKIM key become the sources.
use_leaf () {
	source_leaf ca "$1" &&
	install -m 0600 "dkim-$1.key" src/dkim.key
}

test_expect_success 'setup: CA, leaves, DKIM keys, signing key, configurations' '
	make_ca ca &&
	for leaf in a b; do
		make_cert ca $leaf "DNS:mail.test" ec &&
		openssl genpkey -algorithm ED25519 -out dkim-$leaf.key || return 1
	done &&
	mkdir -m 0700 src state keys pullstate &&
	mkdir -p dest/tls dest/dkim &&
	push_keys &&
	{
		push_conf_head --dkim "$TRASH/src/dkim.key" sel mail.test &&
		push_target_local mail "www, dkim" "$TRASH/certpull.yaml"
	} >certpush.yaml &&
	{ pull_conf_head mail "$TRASH/pullstate" && cat; } >certpull.yaml <<-EOF &&
	  - name: files
	    files:
	      - { path: $TRASH/dest/tls/haproxy.pem, item: www, format: haproxy, mode: "0600" }
	      - { path: $TRASH/dest/tls/postfix.pem, item: www, format: key+chain,
	          group: postfix, mode: "0640" }
	      - { path: $TRASH/dest/tls/www.crt, item: www, format: fullchain, mode: "0644" }
	      - { path: $TRASH/dest/tls/www.key, item: www, format: key, mode: "0600" }
	      - { path: $TRASH/dest/dkim/sel.private, item: dkim, format: dkim,
	          owner: opendkim, group: opendkim, mode: "0600" }
	EOF
	pull check-config && "$CERTPUSH" -c certpush.yaml check-config
'

# Files that hold no secret: the certificate alone may be read by all.
is_public () {
	case $1 in
	*/www.crt|*/www.crt.certpull-new) return 0 ;;
	esac
	return 1
}

# The watcher: inotifywait on the destination and state directories, and
# a reader that stats each file the moment its creation is reported.  The
# reader opens the FIFO read-write, so that neither side blocks on open;
# both are stopped by pid.
watch_start () {
	rm -f ev.fifo && mkfifo ev.fifo || return 1
	(exec 7>&- 8>&-
	 while IFS="|" read -r path ev; do
		echo "$path|$ev"
		case $ev in
		CREATE|MOVED_TO) echo "$path|MODE $(stat -c "%a %U:%G" "$path" 2>/dev/null || echo gone)" ;;
		esac
	 done <>ev.fifo >events.log) &
	READER_PID=$!
	at_exit "kill $READER_PID 2>/dev/null || :"
	inotifywait -m -r -e create,attrib,modify,moved_to,close_write \
		--format "%w%f|%e" dest pullstate state >ev.fifo 2>iw.err 7>&- 8>&- &
	IW_PID=$!
	at_exit "kill $IW_PID 2>/dev/null || :"
	wait_until_ 10 grep -q "Watches established" iw.err
}

# watch_stop: inotify reports in order, so once the reader has logged a
# sentinel file created last, it has logged every event before it.  The
# sentinel (mode 0600) is then taken out of the log.
watch_stop () {
	(umask 077 && : >state/.watch-end) &&
	wait_until_ 20 grep -q "^state/\.watch-end|MODE" events.log ||
		{ echo "the watcher never reported its sentinel"; return 1; }
	kill $IW_PID 2>/dev/null
	wait $IW_PID 2>/dev/null
	kill $READER_PID 2>/dev/null
	wait $READER_PID 2>/dev/null
	rm -f state/.watch-end &&
	sed -i "/^state\/\.watch-end|/d" events.log
}

# Over events.log: every observed mode of a secret-bearing file gives
# nothing to others; every file written was given its owner and mode
# (ATTRIB events: two, which inotify merges when nothing read them in
# between) after its creation and before its first byte.
cat >check-events.awk <<'EOF'
BEGIN { FS = "|" }
$2 ~ /^MODE / {
	split($2, m, " "); mode = m[2]; seen[$1] = 1; modes++
	if (mode != "gone" && mode % 10 != 0 && $1 !~ /\/www\.crt(\.certpull-new)?$/) {
		print "secret file " $1 " seen with mode " mode; bad = 1
	}
	next
}
$2 ~ /^CREATE/ { created[$1] = 1; attrib[$1] = 0; written[$1] = 0; files++; next }
$2 ~ /^ATTRIB/ { if ($1 in created) attrib[$1]++; next }
$2 ~ /^MODIFY/ {
	if (($1 in created) && !written[$1]) {
		written[$1] = 1
		if (attrib[$1] < 1) { print "written before owner and mode: " $1; bad = 1 }
	}
	next
}
END {
	if (files == 0) { print "no file created"; bad = 1 }
	print files " files created, " modes " modes seen"
	exit bad
}
EOF

test_expect_success "inotify: $INSTALLS installs under umask 000, no secret ever open to others" '
	watch_start &&
	(umask 000 &&
	 for ((i = 0; i < INSTALLS; i++)); do
		case $((i % 2)) in 0) leaf=a ;; 1) leaf=b ;; esac &&
		use_leaf $leaf &&
		"$CERTPUSH" -c certpush.yaml --now >push.out 7>&- 8>&- &&
		grep "1 of 1 targets ok" push.out || exit 1
	 done) &&
	watch_stop &&
	awk -f check-events.awk events.log >check.out &&
	cat check.out &&
	set -- $(tail -n 1 check.out) &&
	figure "privileges-inotify: installs=$INSTALLS files-created=$1 modes-seen=$4 exposed=0" &&
	test_file_mode dest/tls/haproxy.pem 0600 && test_file_mode dest/tls/postfix.pem 0640 &&
	test_file_owner dest/tls/postfix.pem root:postfix &&
	test_file_mode dest/tls/www.key 0600 && test_file_mode dest/tls/www.crt 0644 &&
	test_file_mode dest/dkim/sel.private 0600 &&
	test_file_owner dest/dkim/sel.private opendkim:opendkim &&
	test_file_mode pullstate 0700 && test_file_mode pullstate/prev 0700 &&
	test_file_mode state/outbox 0700 &&
	for f in pullstate/installed pullstate/last-outcome.json state/outbox/*; do
		test_file_mode "$f" 0600 || return 1
	done &&
	# The copies of the replaced files (old keys) go with the journal;
	# they are created in place (O_EXCL, 0600), seen above.
	test_path_is_missing pullstate/journal &&
	test -z "$(ls -A pullstate/prev)" &&
	grep -q "^pullstate/prev/[0-9]*|CREATE" events.log
'

# Every file opened with O_CREAT (but the lock files) is created O_EXCL with
# mode 0600 and gets fchown and fchmod before the first write to it.
check_creates () {
	awk -v sel=O_CREAT -f "$SRC/tests/check-creates.awk" "$1"
}

strace_ () {
	strace -f -qq -e trace=openat,fchown,fchmod,write,close -o "$1" "${@:2}" 7>&- 8>&-
}

test_expect_success 'strace: certpush --now, certpull (local target), bundle and keygen' '
	use_leaf a &&
	strace_ push.trace "$CERTPUSH" -c certpush.yaml --now >out &&
	grep "1 of 1 targets ok" out &&
	grep -q "certpull-new" push.trace && grep -q "outbox/\.mail\.bundle\." push.trace &&
	check_creates push.trace &&
	strace_ bundle.trace "$CERTPUSH" -c certpush.yaml bundle --target mail -o out.bundle >out &&
	check_creates bundle.trace && test_file_mode out.bundle 0600 &&
	strace_ keygen.trace "$CERTPUSH" keygen -o keys/another.key >out &&
	check_creates keygen.trace && test_file_mode keys/another.key 0600
'

# fetch.yaml: certpush.yaml with an outbox for fetch accounts: mail's
# bundle for group postfix, mx2's for nobody's group, mx3 without any.
# mx2 and mx3 are down (a closed port): their bundles still go to the outbox.
# One target at a time: strace would split the lines of parallel threads.
fetch_conf () {
	sed "s|^state_dir: .*|&\noutbox: $TRASH/fbox\nconcurrency: 1|" certpush.yaml &&
	echo "    fetch_group: postfix" &&
	for node in mx2 mx3; do
		cat <<-EOF
		  - name: $node
		    host: 127.0.0.1
		    port: 1
		    identity: $TRASH/keys/mx_ed25519
		    known_hosts: $TRASH/keys/mx_known_hosts
		    timeout: 5
		    items: [www]
		EOF
	done | sed "/name: mx2/,/items:/ s/^    items: .*/&\n    fetch_group: $(id -gn nobody)/"
}

test_expect_success 'fetch groups: outbox 0711, each bundle open to its own group only, from its creation' '
	ssh-keygen -q -t ed25519 -N "" -f keys/mx_ed25519 &&
	echo "[127.0.0.1]:1 $(cut -d" " -f1,2 keys/mx_ed25519.pub)" >keys/mx_known_hosts &&
	fetch_conf >fetch.yaml && cat fetch.yaml &&
	"$CERTPUSH" -c fetch.yaml check-config &&
	test_expect_code 1 strace_ fetch.trace "$CERTPUSH" -c fetch.yaml --now >out &&
	cat out &&
	grep -q "fbox/\.mx2\.bundle\." fetch.trace && check_creates fetch.trace &&
	# The outbox is put back to the rule once per push, not at each write.
	test "$(grep "/fbox\", O_RDONLY|.*O_NOFOLLOW" fetch.trace | grep -c O_DIRECTORY)" = 1 &&
	test_file_mode fbox 0711 && test_file_owner fbox root:root &&
	test_file_mode fbox/mail.bundle 0640 && test_file_owner fbox/mail.bundle root:postfix &&
	test_file_mode fbox/mx2.bundle 0640 &&
	test_file_owner fbox/mx2.bundle "root:$(id -gn nobody)" &&
	test_file_mode fbox/mx3.bundle 0600 && test_file_owner fbox/mx3.bundle root:root &&
	# No account but root may list it, nor read a bundle of another group.
	test_must_fail setpriv --reuid=nobody --regid="$(id -gn nobody)" --clear-groups \
		ls fbox &&
	test_must_fail setpriv --reuid=nobody --regid="$(id -gn nobody)" --clear-groups \
		cat fbox/mail.bundle >stolen && ! test -s stolen &&
	setpriv --reuid=nobody --regid="$(id -gn nobody)" --clear-groups \
		cat fbox/mx2.bundle >own && cmp own fbox/mx2.bundle
'

test_expect_success 'fetch groups: the next write puts an opened outbox and its bundles back' '
	chmod 0755 fbox && chmod 0644 fbox/mx3.bundle && chgrp "$(id -gn nobody)" fbox/mail.bundle &&
	chmod 0666 fbox/mx2.bundle &&
	# A bundle of a target no longer configured, and a temp file of one.
	install -m 0640 -g postfix /dev/null fbox/gone.bundle &&
	install -m 0644 /dev/null fbox/.mx3.bundle.AbC123 &&
	install -m 0644 /dev/null fbox/notes.txt &&
	"$CERTPUSH" -c fetch.yaml --now --target mail >out 2>err &&
	cat err &&
	test_file_mode fbox 0711 &&
	test_file_mode fbox/mail.bundle 0640 && test_file_owner fbox/mail.bundle root:postfix &&
	test_file_mode fbox/mx2.bundle 0640 &&
	test_file_owner fbox/mx2.bundle "root:$(id -gn nobody)" &&
	# A dead writer'"'"'s temp file of a target of this configuration: removed
	# (under the outbox lock, before the push writes).
	test_file_mode fbox/mx3.bundle 0600 && test_path_is_missing fbox/.mx3.bundle.AbC123 &&
	test_file_mode fbox/gone.bundle 0600 && test_file_owner fbox/gone.bundle root:root &&
	grep "fbox/mx3.bundle: mode 0644 .* set back to 0600" err &&
	# Not a bundle: left as it is.
	test_file_mode fbox/notes.txt 0644 &&
	# Without fetch groups the outbox closes again: 0700, every bundle 0600.
	sed "/fetch_group/d" fetch.yaml >closed.yaml &&
	"$CERTPUSH" -c closed.yaml --now --target mail >out 2>err &&
	test_file_mode fbox 0700 &&
	for f in fbox/*.bundle; do
		test_file_mode "$f" 0600 && test_file_owner "$f" root:root || return 1
	done
'

test_expect_success 'a signing key open to group or others is refused, naming its mode' '
	use_leaf b && n=0 &&
	for mode in 0640 0604 0644 0660 0606 0601 0620 0602; do
		chmod $mode keys/signing.key &&
		test_expect_code 1 "$CERTPUSH" -c certpush.yaml --now >out 2>err &&
		grep "signing.key: holds a secret but has mode $mode" err &&
		test_expect_code 1 "$CERTPUSH" -c certpush.yaml bundle --target mail -o x.bundle 2>err &&
		grep "has mode $mode" err && test_path_is_missing x.bundle &&
		n=$((n + 1)) || return 1
	done &&
	chmod 0600 keys/signing.key &&
	figure "privileges-signing-key: modes-refused=$n of 8" && test $n = 8 &&
	"$CERTPUSH" -c certpush.yaml bundle --target mail -o x.bundle >out
'

test_expect_success 'a signing key owned by another user, or behind a symlink, is refused' '
	test_when_finished "chown root:root keys/signing.key" &&
	chown nobody keys/signing.key &&
	test_expect_code 1 "$CERTPUSH" -c certpush.yaml bundle --target mail -o y.bundle 2>err &&
	grep "owned by uid $(id -u nobody)" err &&
	chown root keys/signing.key &&
	mv keys/signing.key keys/real.key && ln -s real.key keys/signing.key &&
	test_when_finished "rm -f keys/signing.key && mv keys/real.key keys/signing.key" &&
	test_expect_code 1 "$CERTPUSH" -c certpush.yaml bundle --target mail -o y.bundle 2>err &&
	cat err && grep "signing.key" err && test_path_is_missing y.bundle
'

test_expect_success 'certpull.yaml refuses a key file others could read, and a writable config' '
	for mode in 0644 0604 0660 0700; do
		sed "s|format: key, mode: \"0600\"|format: key, mode: \"$mode\"|" certpull.yaml >bad.yaml &&
		test_expect_code 1 "$CERTPULL" -c bad.yaml check-config 2>err &&
		grep "too open for a private key" err || return 1
	done &&
	cp certpull.yaml open.yaml && chmod 0666 open.yaml &&
	test_expect_code 1 "$CERTPULL" -c open.yaml check-config 2>err &&
	grep "writable by others" err
'

# ---------------------------------------------------------------------------
# The forced command, through a real sshd.

INJECTIONS=(
	"receive; id"
	"status && id"
	"status;id"
	"status || id"
	"receive | id"
	"\$(id)"
	"\`id\`"
	"status \$(id)"
	"status
id"
	"receive
touch @CANARY@"
	"status; touch @CANARY@"
	"status --json"
	" status"
	"status "
	"STATUS"
	"receive x"
	"install /etc/passwd"
	"verify /etc/shadow"
	"../../../bin/sh"
	"/bin/sh -c id"
	"sh"
	"scp -t /tmp"
	"internal-sftp"
)

test_expect_success NETNS,CMD:/usr/sbin/sshd,CMD:ssh 'setup: a node whose sshd forces certpull serve' '
	netns_create node 1 &&
	ssh-keygen -q -t ed25519 -N "" -C certpush -f keys/id_ed25519 &&
	sshd_start node "$TRASH/sshd" \
		"restrict,command=\"$CERTPULL -c $TRASH/certpull.yaml serve\" $(cat keys/id_ed25519.pub)" &&
	ssh_run "$TRASH/sshd" keys/id_ed25519 "$(netns_addr node)" status >out &&
	grep "\"node\":\"mail\"" out
'

test_expect_success NETNS,CMD:/usr/sbin/sshd,CMD:ssh 'the forced command refuses every other request' '
	n=0 refused=0 &&
	for req in "${INJECTIONS[@]}" ""; do
		req=${req//@CANARY@/$TRASH/canary} && n=$((n + 1)) &&
		if test -n "$req"; then
			ssh_run "$TRASH/sshd" keys/id_ed25519 "$(netns_addr node)" "$req" \
				>inj.out 2>inj.err </dev/null
		else
			ssh_run "$TRASH/sshd" keys/id_ed25519 "$(netns_addr node)" \
				>inj.out 2>inj.err </dev/null
		fi
		rc=$?
		if test $rc = 1 && grep -q "only \"receive\", \"verify\" and \"status\" are allowed" inj.err &&
		   ! test -s inj.out && ! grep -q "uid=" inj.out inj.err; then
			refused=$((refused + 1))
		else
			echo "request \"$req\" (exit $rc) was not refused:"; cat inj.out inj.err
		fi
	done &&
	test_path_is_missing canary &&
	figure "privileges-forced-command: requests=$n refused=$refused" &&
	test $refused = $n &&
	grep "serve: refused command" "$TRASH/sshd/sshd.log" >/dev/null ||
		say "(refusals go to syslog, not to the sshd log)"
'

test_expect_success NETNS,CMD:/usr/sbin/sshd,CMD:ssh 'no shell, no PTY, no forwarding through the key' '
	{ timeout 20 ssh -F /dev/null -i keys/id_ed25519 -tt -o IdentitiesOnly=yes \
		-o BatchMode=yes -o ConnectTimeout=5 -o StrictHostKeyChecking=yes \
		-o UserKnownHostsFile="$TRASH/sshd/known_hosts.$(netns_addr node)" \
		-o GlobalKnownHostsFile=/dev/null root@"$(netns_addr node)" status \
		>pty.out 2>&1 </dev/null; rc=$?; } &&
	cat pty.out && test $rc = 255 && grep "PTY allocation request failed" pty.out &&
	! grep "\"node\"" pty.out &&
	{ timeout 20 ssh -F /dev/null -i keys/id_ed25519 -o IdentitiesOnly=yes \
		-o BatchMode=yes -o ConnectTimeout=5 -o StrictHostKeyChecking=yes \
		-W 127.0.0.1:22 \
		-o UserKnownHostsFile="$TRASH/sshd/known_hosts.$(netns_addr node)" \
		-o GlobalKnownHostsFile=/dev/null root@"$(netns_addr node)" \
		>fwd.out 2>&1 </dev/null; rc=$?; } &&
	cat fwd.out && test $rc = 255 && grep "administratively prohibited" fwd.out
'

test_done
