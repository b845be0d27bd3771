#!/bin/bash
test_description='delivery without root logins: certpush as an unprivileged account, certpull serve through sudo

One node, mail, in its own namespace: a HAProxy serving the leaf, an sshd
with "PermitRootLogin no", and an account whose only key runs
"sudo -n certpull serve" as its forced command; a sudoers rule allows
exactly that command and keeps SSH_ORIGINAL_COMMAND.  Pushes, status, the
refusal of other commands, a rolled-back install, and the variants an
operator gets wrong (no env_keep, no sudo at all), each reported at the
front with the node'"'"'s own words.'
. "$(dirname "$0")/lib.sh"
. "$SRC/tests/lib-services.sh"

test_have_prereq ROOT || skip_all "needs root"
test_have_prereq NETNS || skip_all "cannot create network namespaces"
test_have_prereq BUILT || skip_all "build certpush and certpull first"
for cmd in haproxy /usr/sbin/sshd ssh-keygen openssl sudo visudo useradd; do
	test_have_prereq "CMD:$cmd" || skip_all "missing $cmd"
done

ACCOUNT=cpts$$
SUDOERS=/etc/sudoers.d/certpush-test-$$
NODE=$TRASH/mail

# Runs killed by SIGKILL leave an account and a sudoers file named by their pid.
reap_sudo_leftovers_ () {
	local f pid
	for f in /etc/sudoers.d/certpush-test-*; do
		test -e "$f" || continue
		pid=${f##*-}
		pid_alive_ "$pid" && continue
		rm -f "$f"
		getent passwd "cpts$pid" >/dev/null && userdel "cpts$pid"
	done
}
reap_sudo_leftovers_

# installed_is LEAF: the node's file holds LEAF.
installed_is () {
	test "$(cert_fingerprint "$NODE/site.pem")" = "$(cert_fingerprint "ca/$1.crt")"
}

pull () {
	netns_exec mail "$CERTPULL" -c "$NODE/certpull.yaml" "$@" 7>&- 8>&-
}

# sudoers [KEEP [TAG]]: the rule for the account; KEEP=no leaves env_keep
# out; TAG (NOPASSWD:) is the rule's tag ("" asks for a password).
sudoers () {
	{
		test "${1:-yes}" = no ||
		echo "Defaults!$CERTPULL env_keep += \"SSH_ORIGINAL_COMMAND SSH_CLIENT\""
		echo "$ACCOUNT ALL=(root) ${2-NOPASSWD:} $CERTPULL -c $NODE/certpull.yaml serve"
	} >sudoers.new &&
	visudo -c -q -f sudoers.new &&
	install -m 0440 sudoers.new "$SUDOERS"
}

# forced COMMAND: the account's authorized key runs COMMAND.
forced () {
	echo "restrict,command=\"$1\" $(cat keys/id_ed25519.pub)" >"$NODE/sshd/authorized_keys"
}

# node_conf [CHECK]: the node's certpull.yaml; its HAProxy checked by CHECK
# (the real configuration check by default).
node_conf () {
	{
		pull_conf_head mail "$NODE/state" "grace: 10" &&
		pull_haproxy_service "$NODE/site.pem" "$NODE/haproxy" sni=www.test \
			"check: [${1:-/usr/sbin/haproxy, -c, -q, -f, $NODE/haproxy/haproxy.cfg}]"
	} >"$NODE/certpull.yaml"
}

SERVE="sudo -n $CERTPULL -c $NODE/certpull.yaml serve"

test_expect_success 'setup: CA, keys, an account with sudo, sshd without root logins' '
	make_ca ca && mkdir -m 0700 keys src state &&
	make_cert ca a "DNS:www.test" >/dev/null && make_cert ca b "DNS:www.test" >/dev/null &&
	source_leaf ca b &&
	push_keys --ssh &&
	useradd --system --no-create-home --home-dir /nonexistent --shell /bin/sh "$ACCOUNT" &&
	at_exit "userdel $ACCOUNT" &&
	usermod -p "*" "$ACCOUNT" &&
	at_exit "rm -f $SUDOERS" && sudoers &&
	netns_create front 1 && netns_create mail 2 &&
	mkdir -p "$NODE" && install -m 0600 ca/a.pem "$NODE/site.pem" &&
	haproxy_start mail "$NODE/haproxy" "$NODE/site.pem" &&
	node_conf &&
	SSHD_ROOT_LOGIN=no serve_sshd mail "$NODE/sshd" "" "$SERVE" &&
	chmod 0644 "$NODE/sshd/authorized_keys" &&
	{
		push_conf_head &&
		push_target_ssh mail "$(netns_addr mail)" 22 20 www "user: $ACCOUNT"
	} >certpush.yaml &&
	push check-config
'

test_expect_success 'root cannot log in at all' '
	test_expect_code 255 ssh_run "$NODE/sshd" keys/id_ed25519 "$(netns_addr mail)" status 2>err &&
	grep -i "permission denied" err
'

test_expect_success 'push through sudo: installed, served, files root-owned 0600' '
	push --now >out && cat out &&
	grep "^mail .*installed" out && grep "1 of 1 targets ok" out &&
	wait_for_fingerprint "$(cert_fingerprint ca/b.crt)" 10 --netns mail 127.0.0.1 443 &&
	test_file_mode "$NODE/site.pem" 600 && test_file_owner "$NODE/site.pem" root:root
'

test_expect_success 'status through sudo, and unchanged on a second push' '
	SSH_USER=$ACCOUNT ssh_run "$NODE/sshd" keys/id_ed25519 "$(netns_addr mail)" status >out &&
	grep "\"node\":\"mail\"" out &&
	test_expect_code 0 push --now >out && grep "^mail .*unchanged" out
'

test_expect_success 'any other command is refused and logged, through sudo too' '
	SSH_USER=$ACCOUNT test_expect_code 1 ssh_run "$NODE/sshd" keys/id_ed25519 \
		"$(netns_addr mail)" "cat /etc/shadow" >out 2>err &&
	grep "are allowed" err && ! grep "root:" out
'

test_expect_success 'a failed install through sudo is rolled back: the old leaf stays served' '
	make_cert ca c "DNS:www.test" >/dev/null && source_leaf ca c &&
	node_conf /bin/false && test_when_finished node_conf &&
	test_expect_code 1 push --now >out && cat out &&
	grep "^mail .*failed.*check" out &&
	grep "previous files restored" out &&
	installed_is b &&
	wait_for_fingerprint "$(cert_fingerprint ca/b.crt)" 5 --netns mail 127.0.0.1 443
'

test_expect_success 'sudoers without env_keep: the front is told which line is missing' '
	sudoers no && test_when_finished "sudoers" &&
	test_expect_code 1 push --now >out && cat out &&
	grep "^mail .*failed.*did not reach certpull through sudo" out &&
	grep "env_keep += \\\\\\?\"SSH_ORIGINAL_COMMAND SSH_CLIENT" out &&
	installed_is b
'

test_expect_success 'a rule that asks for a password: the front shows what sudo said' '
	sudoers yes "" && test_when_finished "sudoers" &&
	test_expect_code 1 push --now >out && cat out &&
	grep "^mail .*failed.*no valid outcome line; its standard error: \".*sudo: a password is required" out &&
	installed_is b
'

test_expect_success 'a forced command without sudo: the front is told it runs as non-root' '
	forced "$CERTPULL -c $NODE/certpull.yaml serve" &&
	test_when_finished "forced \"$SERVE\"" &&
	test_expect_code 1 push --now >out && cat out &&
	grep "^mail .*failed.*runs as uid [0-9]*, not root.*sudo" out &&
	installed_is b
'

test_expect_success 'with the setup repaired, the renewal goes through' '
	push --now >out && cat out && grep "^mail .*installed" out &&
	wait_for_fingerprint "$(cert_fingerprint ca/c.crt)" 10 --netns mail 127.0.0.1 443
'

test_done
