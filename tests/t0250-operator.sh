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

# pull_conf NODE [OWNER [RELOAD]]: certpull.yaml for NODE: one file, owned
# by OWNER (root), its service reloaded by RELOAD (/bin/true).
pull_conf () {
	local node=$1 dir=$TRASH/$1
	{ pull_conf_head $node "$dir/state" && cat; } >"$dir/certpull.yaml" <<-EOF
	  - name: web
	    files:
	      - { path: $dir/out/site.pem, item: www, format: haproxy, owner: ${2:-root}, mode: "0600" }
	EOF
	# mail also gets mx, listed first at the front.
	test "$node" != mail ||
	echo "      - { path: $dir/out/mx.pem, item: mx, format: haproxy, mode: \"0600\" }" >>"$dir/certpull.yaml"
	echo "    reload: [${3:-/bin/true}]" >>"$dir/certpull.yaml"
}

# push_line TARGET FILE: TARGET's line of certpush --now's output FILE,
# with the time column out, for test_cmp.
push_line () {
	sed -n "s/^\($1 .*\) [0-9]*\.[0-9][0-9]s/\1 T/p" "$2"
}

test_expect_success 'setup: CA, keys, the front and one ssh node' '
	make_ca ca && mkdir -m 0700 keys src state &&
	make_cert ca a "DNS:www.test" >/dev/null && source_leaf ca a &&
	mkdir -m 0700 src2 && make_cert ca m "DNS:mx.test" >/dev/null && source_leaf ca m src2 &&
	push_keys --ssh &&
	netns_create front 1 && netns_create mail 2 &&
	mkdir -p front/out mail/out && pull_conf front && pull_conf mail &&
	serve_sshd mail "$TRASH/mail/sshd" "$TRASH/mail/certpull.yaml" &&
	{
		push_conf_head --also mx "$TRASH/src2" &&
		push_target_local front www "$TRASH/front/certpull.yaml" &&
		push_target_ssh mail "$(netns_addr mail)" 22 20 "mx, www"
	} >certpush.yaml &&
	push --now >first.out &&
	grep "2 of 2 targets ok" first.out
'

Q=\'

# short_fpr LEAF: the start of LEAF's fingerprint, as push lines show it.
short_fpr () {
	cert_fingerprint "ca/$1.crt" | cut -c1-11
}

test_expect_success 'the first push: each node names every item it changed' '
	printf "%s\n" "front=www=$(short_fpr a)" "mail=www=$(short_fpr a),mx=$(short_fpr m)" >expect &&
	sed -n "s/^\([a-z]*\)  *installed  *serial [0-9]*  *\([^ ]*\) .*/\1=\2/p" first.out >actual &&
	test_cmp expect actual
'

test_expect_success 'one certificate renewed: the nodes show it, not what their first endpoint serves' '
	make_cert ca a2 "DNS:www.test" >/dev/null && source_leaf ca a2 &&
	push --now >renew.out &&
	cat renew.out &&
	printf "%s\n" "front=www=$(short_fpr a2)" "mail=www=$(short_fpr a2)" >expect &&
	sed -n "s/^\([a-z]*\)  *installed  *serial [0-9]*  *\([^ ]*\) .*/\1=\2/p" renew.out >actual &&
	test_cmp expect actual &&
	make_cert ca m2 "DNS:mx.test" >/dev/null && source_leaf ca m2 src2 &&
	push --now --json >renew.json &&
	cat renew.json &&
	grep -F "\"name\":\"mail\",\"result\":\"installed\"" renew.json &&
	grep -F "\"changed\":[{\"item\":\"mx\",\"fingerprint\":\"$(cert_fingerprint ca/m2.crt)\"}]" renew.json &&
	grep -F "\"name\":\"front\",\"result\":\"unchanged\"" renew.json &&
	grep -F "\"changed\":[]" renew.json
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

test_expect_success 'the audit shows what a node that is not certpull said' '
	cp mail/sshd/authorized_keys old_keys &&
	test_when_finished "cp old_keys mail/sshd/authorized_keys" &&
	echo "restrict,command=\"/bin/echo Permission denied, please try again\" $(cat keys/id_ed25519.pub)" >mail/sshd/authorized_keys &&
	{ push audit --json >notjson.json || :; } &&
	grep -F "certpull status answered with exit status 0 and no valid JSON: \\\"Permission denied, please try again\\\"" notjson.json
'

test_expect_success 'the node is fixed: the retry installs' '
	push --now >fixed.out &&
	grep "2 of 2 targets ok" fixed.out
'

test_expect_success 'the daemon logs the node'"'"'s own words; status sees it running' '
	pull_conf mail opendkm-nobody &&
	test_when_finished "pull_conf mail" &&
	make_cert ca e "DNS:www.test" >/dev/null && source_leaf ca e &&
	test_must_fail push --now --target mail >/dev/null &&
	DAEMON_NETNS=front daemon_start certpush-run "" "$CERTPUSH" -c "$TRASH/certpush.yaml" run &&
	test_when_finished "daemon_stop certpush-run" &&
	wait_until_ 30 grep -q "unknown user \"opendkm-nobody\" (nothing changed)" certpush-run.log &&
	cat certpush-run.log &&
	grep -E "mail +failed +serial [0-9]+ +- +[0-9.]+s  error: config: .*: services\[0\]\.files\[0\]\.owner: unknown user \"opendkm-nobody\" \(nothing changed\)$" certpush-run.log &&
	push status --json >daemon.json &&
	grep -F "\"daemon\":true" daemon.json &&
	push status >daemon.out &&
	! grep "no daemon" daemon.out &&
	daemon_stop certpush-run &&
	pull_conf mail && push --now >/dev/null
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

test_expect_success 'status without a daemon: nobody retries, and it says so' '
	pull_conf mail opendkm-nobody &&
	test_when_finished "pull_conf mail" &&
	test_must_fail push --now --target mail >/dev/null &&
	push status >nodaemon.out &&
	cat nodaemon.out &&
	grep -E "^mail +[0-9]+ +[0-9]+ +BEHIND +[0-9TZ:-]+ +none: no daemon +config: " nodaemon.out &&
	grep -Fx "no certpush run (the daemon) is running for $TRASH/state: 1 target behind will be retried only by the next certpush --now, or once the daemon is started" nodaemon.out &&
	push status --json >nodaemon.json &&
	grep -F "\"daemon\":false" nodaemon.json
'

test_expect_success 'certpull status: the last outcome as text, --json as JSON' '
	netns_exec mail "$CERTPULL" -c mail/certpull.yaml status >pstatus.out &&
	cat pstatus.out &&
	grep -E "^last install: failed at [0-9TZ:-]+, reload: " pstatus.out &&
	push --now --target mail >/dev/null &&
	netns_exec mail "$CERTPULL" -c mail/certpull.yaml status >pstatus.out &&
	grep -E "^last install: installed serial [0-9]+ at [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$" pstatus.out &&
	grep -Fx "  service web: reloaded (reload command)" pstatus.out &&
	netns_exec mail "$CERTPULL" -c mail/certpull.yaml status --json >pstatus.json &&
	grep -F ",\"last\":{\"node\":\"mail\"," pstatus.json
'

test_expect_success 'a failed reload, in certpull status' '
	pull_conf mail root /bin/false &&
	test_when_finished "pull_conf mail" &&
	make_cert ca d "DNS:www.test" >/dev/null && source_leaf ca d &&
	test_must_fail push --now --target mail >/dev/null &&
	netns_exec mail "$CERTPULL" -c mail/certpull.yaml status >pfail.out &&
	cat pfail.out &&
	grep -E "^last install: failed at [0-9TZ:-]+, reload: web: reload failed: /bin/false exited with status 1 \(previous files restored\)$" pfail.out &&
	grep "^  service web: rolled-back" pfail.out
'

test_expect_success 'audit --prometheus into a closed pipe: no error on stderr' '
	{ netns_exec front perl -e "pipe(my \$r, my \$w) or die; close \$r; open(STDOUT, \">&\", \$w) or die; exec @ARGV or die" \
		"$CERTPUSH" -c "$TRASH/certpush.yaml" audit --prometheus 2>pipe.err 7>&- 8>&- || :; } &&
	cat pipe.err &&
	! grep -i "broken pipe\|standard output" pipe.err
'

test_expect_success 'a changed host key: the offered fingerprint, and the command that accepts it' '
	cp keys/known_hosts keys/known_hosts.good &&
	test_when_finished "cp keys/known_hosts.good keys/known_hosts" &&
	ssh-keygen -q -t ed25519 -N "" -f other_host_key &&
	echo "$(netns_addr mail) $(cut -d" " -f1,2 other_host_key.pub)" >keys/known_hosts &&
	test_must_fail push --now --target mail >hk.out &&
	cat hk.out &&
	fpr=$(ssh-keygen -lf mail/sshd/ssh_host_ed25519_key.pub | cut -d" " -f2) &&
	addr=$(netns_addr mail) && kh=$TRASH/keys/known_hosts &&
	echo "HOST KEY MISMATCH for $addr port 22: it offers ed25519 key $fpr, not the key in known_hosts: possible man-in-the-middle attack; refusing to connect. If the node'"'"'s key was changed, compare with ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub on the node, then: ssh-keygen -R '"'"'$addr'"'"' -f $kh && ssh-keyscan -t ed25519 $addr >>$kh" >expect &&
	sed -n "s/^mail .*  error: //p" hk.out >actual &&
	test_cmp expect actual &&
	cmd=$(sed -n "s/.*, then: //p" actual) &&
	netns_exec front sh -c "$cmd" 7>&- 8>&- &&
	push --now --target mail >hk2.out &&
	grep "1 of 1 targets ok" hk2.out
'

test_expect_success 'check-config: the set-up in use passes on both sides' '
	push check-config &&
	netns_exec mail "$CERTPULL" -c mail/certpull.yaml check-config
'

test_expect_success 'certpush check-config: what is missing is a warning, what is unsafe a problem' '
	sed -e "s|$TRASH/keys/signing.key|$TRASH/keys/none.key|" \
		-e "s|known_hosts: $TRASH/keys/known_hosts|known_hosts: $TRASH/keys/empty_hosts|" \
		-e "s|$TRASH/src2/|$TRASH/src3/|g" certpush.yaml >cc.yaml &&
	: >keys/empty_hosts && chmod 0644 keys/empty_hosts &&
	sed -i "s|trusted_keys: .*|trusted_keys: [ed25519:S9RzNkYREG1hyBuPh22LwhMJaWSPstMK4zJJ54aNhDw=]|" front/certpull.yaml &&
	test_when_finished "pull_conf front" &&
	"$CERTPUSH" -c cc.yaml check-config >cc.out 2>cc.err &&
	cat >expect <<-EOF &&
	certpush: warning: signing_key $TRASH/keys/none.key: missing (certpush keygen creates it)
	certpush: warning: target front: $TRASH/front/certpull.yaml trusts the example key of the documentation (ed25519:S9RzNkYREG1hyBuPh22LwhMJaWSPstMK4zJJ54aNhDw=): remove it
	certpush: warning: target mail: known_hosts $TRASH/keys/empty_hosts: no entry for $(netns_addr mail): fetch the node${Q}s key (ssh-keyscan -p 22 -t ed25519 $(netns_addr mail)), compare its fingerprint with the node${Q}s own (ssh-keygen -lf), then append it; or: certpush add-node mail
	certpush: warning: certificate mx: $TRASH/src3/cert.pem: missing
	certpush: warning: certificate mx: $TRASH/src3/chain.pem: missing
	certpush: warning: certificate mx: $TRASH/src3/key.pem: missing
	certpush: cc.yaml: 6 warnings: the first push fails until what is missing exists
	EOF
	test_cmp expect cc.err &&
	grep "^cc.yaml: OK " cc.out &&
	chmod 0644 keys/id_ed25519 && test_when_finished "chmod 0600 keys/id_ed25519" &&
	test_must_fail "$CERTPUSH" -c cc.yaml check-config 2>cc2.err &&
	grep -Fx "certpush: target mail: identity $TRASH/keys/id_ed25519: mode 0644: a secret readable by group or others (chmod 600)" cc2.err &&
	grep -Fx "certpush: cc.yaml: 1 problem and 6 warnings with what it names" cc2.err
'

test_expect_success 'certpush check-config: a local node that does not trust the signing key' '
	sed -i "s|trusted_keys: .*|trusted_keys: [ed25519:S9RzNkYREG1hyBuPh22LwhMJaWSPstMK4zJJ54aNhDw=]|" front/certpull.yaml &&
	test_when_finished "pull_conf front" &&
	test_must_fail push check-config 2>trust.err &&
	cat trust.err &&
	grep -Fx "certpush: target front: $TRASH/front/certpull.yaml does not trust the signing key: add \"- $pub\" under trusted_keys" trust.err
'

test_expect_success 'certpull check-config: the example key, a missing directory and program' '
	pull_conf mail root /usr/sbin/no-such-reload &&
	test_when_finished "pull_conf mail" &&
	sed -i -e "s|trusted_keys: .*|trusted_keys: [ed25519:S9RzNkYREG1hyBuPh22LwhMJaWSPstMK4zJJ54aNhDw=]|" \
		-e "s|/mail/out/mx.pem|/mail/nodir/mx.pem|" mail/certpull.yaml &&
	test_must_fail "$CERTPULL" -c mail/certpull.yaml check-config 2>pcc.err &&
	cat >expect <<-EOF &&
	certpull: trusted_keys: only ed25519:S9RzNkYREG1hyBuPh22LwhMJaWSPstMK4zJJ54aNhDw=, the example key of the documentation: replace it with the line "certpush keygen" printed on the front
	certpull: warning: service web: $TRASH/mail/nodir/mx.pem: directory $TRASH/mail/nodir: missing
	certpull: warning: service web: reload program /usr/sbin/no-such-reload: missing
	certpull: mail/certpull.yaml: 1 problem and 2 warnings with what it names
	EOF
	test_cmp expect pcc.err
'

test_expect_success 'add-node: a new target, its key confirmed by fingerprint, the node'"'"'s side printed' '
	sed -e "s|known_hosts: $TRASH/keys/known_hosts|known_hosts: $TRASH/keys/new_hosts|" \
		-e "s|identity: $TRASH/keys/id_ed25519|identity: $TRASH/keys/new_id|" certpush.yaml >add.yaml &&
	fpr=$(ssh-keygen -lf mail/sshd/ssh_host_ed25519_key.pub | cut -d" " -f2) &&
	test_must_fail netns_exec front "$CERTPUSH" -c add.yaml add-node mail </dev/null >add0.out 2>add0.err 7>&- 8>&- &&
	grep -Fx "# $(netns_addr mail) port 22 offers the Ed25519 host key $fpr" add0.out &&
	grep -Fx "certpush: target mail: not confirmed: run this on a terminal, or pass --fingerprint $fpr once the node shows that fingerprint" add0.err &&
	test_path_is_missing keys/new_hosts &&
	test_must_fail netns_exec front "$CERTPUSH" -c add.yaml add-node --fingerprint SHA256:not-this-one mail >add1.out 2>add1.err 7>&- 8>&- &&
	grep -Fx "certpush: target mail: the key offered is $fpr, not SHA256:not-this-one as given: possible man-in-the-middle attack, or not the node${Q}s key; nothing written" add1.err &&
	test_path_is_missing keys/new_hosts &&
	netns_exec front "$CERTPUSH" -c add.yaml add-node --fingerprint "$fpr" mail >add.out 7>&- 8>&- &&
	cat add.out &&
	echo "$(netns_addr mail) $(cut -d" " -f1,2 mail/sshd/ssh_host_ed25519_key.pub)" >expect &&
	test_cmp expect keys/new_hosts &&
	test_file_mode keys/new_id 0600 &&
	grep -Fx "restrict,command=\"/usr/sbin/certpull serve\" $(cat keys/new_id.pub)" add.out &&
	grep -Fx "restrict,command=\"sudo -n /usr/sbin/certpull serve\" $(cat keys/new_id.pub)" add.out &&
	grep -Fx "certpush ALL=(root) NOPASSWD: /usr/sbin/certpull serve" add.out &&
	sed -n "/^node: mail$/,/^    reload:/p" add.out >starter.yaml &&
	cat >expect <<-EOF &&
	node: mail
	state_dir: /var/lib/certpull
	trusted_keys:
	  - $pub
	services:
	  - name: CHANGE-ME
	    files:
	      - { path: /CHANGE-ME/mx.pem, item: mx, format: haproxy, mode: "0600" }
	      - { path: /CHANGE-ME/www.pem, item: www, format: haproxy, mode: "0600" }
	    reload: [/bin/systemctl, reload, CHANGE-ME]
	EOF
	test_cmp expect starter.yaml &&
	netns_exec front "$CERTPUSH" -c add.yaml add-node --fingerprint "$fpr" mail >again.out 7>&- 8>&- &&
	grep -Fx "# $TRASH/keys/new_hosts already has a key for $(netns_addr mail): kept (a changed one is refused when pushing)" again.out &&
	test "$(wc -l <keys/new_hosts)" = 1
'

test_expect_success 'add-node: the printed lines work: the node takes the new key, the push goes through' '
	cp mail/sshd/authorized_keys old_keys &&
	test_when_finished "cp old_keys mail/sshd/authorized_keys" &&
	sed -n "s|^restrict,command=\"/usr/sbin/certpull serve\" |restrict,command=\"$CERTPULL -c $TRASH/mail/certpull.yaml serve\" |p" add.out >mail/sshd/authorized_keys &&
	make_cert ca a3 "DNS:www.test" >/dev/null && source_leaf ca a3 &&
	netns_exec front "$CERTPUSH" -c add.yaml --now --target mail >added.out 7>&- 8>&- &&
	cat added.out &&
	grep -E "^mail +installed +serial [0-9]+ +www=$(short_fpr a3) " added.out
'

test_done
