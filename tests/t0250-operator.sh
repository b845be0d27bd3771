#!/bin/bash
test_description='what an operator reads: the node'"'"'s own words at the front

A front (certpush; its own certpull as a local target) and one node, mail,
an sshd whose authorized key forces "certpull serve".  No services run:
each certpull installs one file.  Each test breaks one thing a new
operator gets wrong and compares what certpush, its status and the audit
print.'
. "$(dirname "$0")/lib.sh"
. "$SRC/tests/lib-services.sh"

test_have_prereq ROOT || skip_all "needs root"
test_have_prereq NETNS || skip_all "cannot create network namespaces"
test_have_prereq BUILT || skip_all "build certpush and certpull first"
for cmd in /usr/sbin/sshd ssh-keygen openssl; do
	test_have_prereq "CMD:$cmd" || skip_all "missing $cmd"
done

push () {
	netns_exec front "$CERTPUSH" -c "$TRASH/certpush.yaml" "$@" 7>&- 8>&-
}

# pull_conf NODE [OWNER [RELOAD]]: certpull.yaml for NODE: one file, owned
# by OWNER (root), its service reloaded by RELOAD (/bin/true).
pull_conf () {
	local node=$1 dir=$TRASH/$1
	cat >"$dir/certpull.yaml" <<-EOF
	node: $node
	state_dir: $dir/state
	trusted_keys: [$pub]
	services:
	  - name: web
	    files:
	      - { path: $dir/out/site.pem, item: www, format: haproxy, owner: ${2:-root}, mode: "0600" }
	    reload: [${3:-/bin/true}]
	EOF
}

# push_line TARGET FILE: TARGET's line of certpush --now's output FILE,
# with the time column out, for test_cmp.
push_line () {
	sed -n "s/^\($1 .*\) [0-9]*\.[0-9][0-9]s/\1 T/p" "$2"
}

test_expect_success 'setup: CA, keys, the front and one ssh node' '
	make_ca ca && mkdir -m 0700 keys src state &&
	make_cert ca a "DNS:www.test" >/dev/null && source_leaf ca a &&
	"$CERTPUSH" keygen -o keys/signing.key >keygen.out &&
	pub=$(sed -n "s/^- //p" keygen.out) &&
	ssh-keygen -q -t ed25519 -N "" -C certpush -f keys/id_ed25519 &&
	netns_create front 1 && netns_create mail 2 &&
	mkdir -p front/out mail/out && pull_conf front && pull_conf mail &&
	sshd_start mail "$TRASH/mail/sshd" \
		"restrict,command=\"$CERTPULL -c $TRASH/mail/certpull.yaml serve\" $(cat keys/id_ed25519.pub)" &&
	sshd_known_hosts_line "$(netns_addr mail)" "$TRASH/mail/sshd" >keys/known_hosts &&
	cat >certpush.yaml <<-EOF &&
	signing_key: $TRASH/keys/signing.key
	state_dir: $TRASH/state
	certificates:
	  - { name: www, cert: $TRASH/src/cert.pem, chain: $TRASH/src/chain.pem, key: $TRASH/src/key.pem }
	targets:
	  - { name: front, type: local, certpull: $CERTPULL, certpull_config: $TRASH/front/certpull.yaml, items: [www] }
	  - { name: mail, host: $(netns_addr mail), identity: $TRASH/keys/id_ed25519, known_hosts: $TRASH/keys/known_hosts, timeout: 20, items: [www] }
	EOF
	push --now >first.out &&
	grep "2 of 2 targets ok" first.out
'

test_expect_success 'a node whose configuration fails: its own message in the push line, --json, status, the audit' '
	pull_conf mail opendkm-nobody &&
	test_when_finished "pull_conf mail" &&
	make_cert ca b "DNS:www.test" >/dev/null && source_leaf ca b &&
	test_must_fail push --now >bad.out &&
	cat bad.out &&
	conf=$TRASH/mail/certpull.yaml &&
	at=$(sed -n "s/.*certpull.yaml:\([0-9]*:[0-9]*\): services.*/\1/p" bad.out) &&
	msg="config: $conf:$at: services[0].files[0].owner: unknown user \"opendkm-nobody\" (nothing changed)" &&
	serial=$(sed -n "s/^front  *installed  serial \([0-9]*\) .*/\1/p" bad.out) &&
	printf "%-16s %-10s serial %-12s %-8s T  error: %s\n" mail failed "$serial" - "$msg" >expect &&
	push_line mail bad.out >actual &&
	test_cmp expect actual &&
	test_must_fail push --now --json --target mail >bad.json &&
	grep -F "\"result\":\"failed\"" bad.json &&
	grep -F "\"fingerprint\":null" bad.json &&
	grep -F "\"error\":\"config: $conf:$at: services[0].files[0].owner: unknown user \\\"opendkm-nobody\\\" (nothing changed)\"" bad.json &&
	push status >status.out &&
	grep -F "$msg" status.out &&
	{ push audit >audit.out || :; } &&
	cat audit.out &&
	grep -F "certpull status failed at config: $conf:$at: services[0].files[0].owner: unknown user \"opendkm-nobody\"" audit.out
'

test_expect_success 'the node is fixed: the retry installs' '
	push --now >fixed.out &&
	grep "2 of 2 targets ok" fixed.out
'

test_expect_success 'a failed reload: the push line says the previous files are back' '
	pull_conf mail root /bin/false &&
	test_when_finished "pull_conf mail" &&
	make_cert ca c "DNS:www.test" >/dev/null && source_leaf ca c &&
	test_must_fail push --now --target mail >reload.out &&
	cat reload.out &&
	grep -E "^mail +failed +serial [0-9]+ +- +[0-9.]+s  error: reload: .* \(previous files restored\)$" reload.out
'

test_expect_success 'dry run: every node verifies the bundle, nothing is installed' '
	before=$(cat mail/state/installed | od -An -tx1) &&
	push --now --dry-run >dry.out &&
	cat dry.out &&
	grep -E "^front +verified +serial [0-9]+ +- +[0-9.]+s$" dry.out &&
	grep -E "^mail +verified +serial [0-9]+ +- +[0-9.]+s$" dry.out &&
	grep -Fx "2 of 2 targets would install the bundle, 0 would not (dry run: nothing installed)" dry.out &&
	test "$(cat mail/state/installed | od -An -tx1)" = "$before"
'

# dry_error NAME: the error column of target mail in a dry run, which must fail.
dry_error () {
	test_must_fail push --now --dry-run >"$1.out" &&
	cat "$1.out" &&
	grep -E "^front +verified " "$1.out" &&
	sed -n "s/^mail  *failed  *serial [0-9]*  *-  *[0-9.]*s  error: //p" "$1.out" >"$1.err"
}

test_expect_success 'dry run: a node with another name refuses the bundle' '
	sed -i "s/^node: mail/node: mx/" mail/certpull.yaml &&
	test_when_finished "pull_conf mail" &&
	dry_error node &&
	echo "verify:audience: bundle is for node \"mail\", this node is \"mx\"" >expect &&
	test_cmp expect node.err
'

test_expect_success 'dry run: a node that trusts another key (the example key) refuses it' '
	sed -i "s|^trusted_keys: .*|trusted_keys: [ed25519:S9RzNkYREG1hyBuPh22LwhMJaWSPstMK4zJJ54aNhDw=]|" mail/certpull.yaml &&
	test_when_finished "pull_conf mail" &&
	dry_error key &&
	grep "^verify:key: " key.err
'

test_expect_success 'dry run: an unknown owner, a missing directory' '
	pull_conf mail opendkm-nobody &&
	test_when_finished "pull_conf mail" &&
	dry_error owner &&
	grep -F "services[0].files[0].owner: unknown user \"opendkm-nobody\"" owner.err &&
	pull_conf mail &&
	sed -i "s|/mail/out/site.pem|/mail/nodir/site.pem|" mail/certpull.yaml &&
	dry_error dir &&
	echo "path: $TRASH/mail/nodir/site.pem: directory $TRASH/mail/nodir: No such file or directory" >expect &&
	test_cmp expect dir.err
'

test_expect_success 'dry run: a node whose certpull does not know the verify request' '
	cp mail/sshd/authorized_keys old_keys &&
	test_when_finished "cp old_keys mail/sshd/authorized_keys" &&
	echo "restrict,command=\"/bin/false\" $(cat keys/id_ed25519.pub)" >mail/sshd/authorized_keys &&
	dry_error old &&
	echo "the node'"'"'s certpull refused the verify-only request (exit status 1, no answer): it is older than this certpush; nothing was checked there" >expect &&
	test_cmp expect old.err
'

test_done
