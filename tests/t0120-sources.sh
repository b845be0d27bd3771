#!/bin/bash
test_description='certpush bundles only sources that root (or their named owner) put there

A DKIM key directory owned by the opendkim service user, as Debian
ships /etc/dkimkeys.  That user replaces the key with a symbolic link to
certpush'"'"'s signing key (then certpush, as root, would bundle the signing
key to every node as a DKIM key).  certpush --now and check-config must
refuse the item, and no node gets it.  Also: certbot'"'"'s live/ -> archive/
links are followed, a link leaving archive/ is not, follow_symlinks still
refuses the signing key, and a directory others may write is refused.
Local targets only: no daemon, no namespace.'
. "$(dirname "$0")/lib.sh"

test_have_prereq ROOT || skip_all "needs root"
test_have_prereq BUILT || skip_all "build certpush and certpull first"
for cmd in openssl setpriv; do
	test_have_prereq "CMD:$cmd" || skip_all "missing $cmd"
done
id opendkim >/dev/null 2>&1 || skip_all "no opendkim user (apt-get install opendkim)"

push () {
	"$CERTPUSH" -c "$TRASH/certpush.yaml" "$@"
}

# as_opendkim CMD...: CMD as the service user, as an attacker who has it.
as_opendkim () {
	setpriv --reuid=opendkim --regid=opendkim --clear-groups "$@"
}

# pubkey FILE: the public key of the private key in FILE.
pubkey () {
	openssl pkey -in "$1" -pubout
}

# node_has_dkim FILE: the node's installed DKIM key is that of FILE.
node_has_dkim () {
	pubkey node/dkim.private >node.pub && pubkey "$1" >want.pub &&
	test_cmp want.pub node.pub
}

test_expect_success 'setup: CA, certbot-like lineage, opendkim-owned DKIM key' '
	make_ca ca && make_cert ca a "DNS:www.test" &&
	mkdir -m 0700 keys state node &&
	push_keys &&
	mkdir -p le/live/www.test le/archive/www.test &&
	cp ca/a.crt le/archive/www.test/cert1.pem &&
	cp ca/a.chain le/archive/www.test/chain1.pem &&
	cp ca/a.fullchain le/archive/www.test/fullchain1.pem &&
	install -m 0600 ca/a.key le/archive/www.test/privkey1.pem &&
	for f in cert chain fullchain privkey; do
		ln -s ../../archive/www.test/${f}1.pem le/live/www.test/$f.pem || return 1
	done &&
	install -d -o opendkim -g opendkim -m 0700 dkimkeys &&
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out dkim.key 2>/dev/null &&
	install -o opendkim -g opendkim -m 0600 dkim.key dkimkeys/mail.private &&
	{ pull_conf_head node "$TRASH/node/state" && cat; } >node/certpull.yaml <<-EOF &&
	  - name: files
	    files:
	      - { path: $TRASH/node/www.pem, item: www, format: fullchain, mode: "0644" }
	      - { path: $TRASH/node/dkim.private, item: dkim, format: dkim, mode: "0600" }
	EOF
	cat >certpush.yaml <<-EOF &&
	signing_key: $TRASH/keys/signing.key
	state_dir: $TRASH/state
	certificates:
	  - name: www
	    lineage: $TRASH/le/live/www.test
	dkim:
	  - name: dkim
	    key: $TRASH/dkimkeys/mail.private
	    owner: opendkim
	    selector: mail
	    domain: www.test
	targets:
	EOF
	push_target_local node "www, dkim" "$TRASH/node/certpull.yaml" >>certpush.yaml
'

test_expect_success 'the opendkim-owned key and the certbot links are read' '
	push check-config &&
	push --now >out &&
	cat out &&
	node_has_dkim dkim.key &&
	test_cmp ca/a.fullchain node/www.pem
'

test_expect_success 'without owner: opendkim, that key is refused' '
	test_when_finished "cp certpush.yaml.good certpush.yaml" &&
	cp certpush.yaml certpush.yaml.good &&
	sed -i "/owner: opendkim/d" certpush.yaml &&
	test_must_fail push check-config 2>err &&
	cat err &&
	grep "dkim dkim: .*/dkimkeys: directory is owned by uid [0-9]* (opendkim), not by root" err
'

test_expect_success 'an unknown owner fails check-config' '
	test_when_finished "cp certpush.yaml.good certpush.yaml" &&
	cp certpush.yaml certpush.yaml.good &&
	sed -i "s/owner: opendkim/owner: no-such-user-here/" certpush.yaml &&
	test_must_fail push check-config 2>err &&
	grep "unknown user \"no-such-user-here\"" err
'

test_expect_success 'the attack: the DKIM key becomes a link to the signing key' '
	as_opendkim ln -sfn "$TRASH/keys/signing.key" dkimkeys/mail.private &&
	test -L dkimkeys/mail.private &&
	test_must_fail push check-config 2>err &&
	cat err &&
	grep "dkim dkim: $TRASH/dkimkeys/mail.private: is a symbolic link to $TRASH/keys/signing.key: refusing to follow it" err &&
	test_expect_code 1 push --now >out 2>&1 &&
	cat out &&
	grep "is a symbolic link to $TRASH/keys/signing.key" out &&
	node_has_dkim dkim.key &&
	! node_has_dkim keys/signing.key
'

test_expect_success 'the audit flags the source as a push would' '
	test_expect_code 2 push audit >audit.out &&
	cat audit.out &&
	grep "is a symbolic link to $TRASH/keys/signing.key: refusing to follow it" audit.out
'

test_expect_success 'follow_symlinks: true still refuses the signing key' '
	test_when_finished "cp certpush.yaml.good certpush.yaml" &&
	cp certpush.yaml certpush.yaml.good &&
	sed -i "s/owner: opendkim/owner: opendkim\n    follow_symlinks: true/" certpush.yaml &&
	test_expect_code 1 push --now >out 2>&1 &&
	cat out &&
	grep "keys/signing.key: is certpush'"'"'s signing key: refusing to bundle it (reached from $TRASH/dkimkeys/mail.private)" out &&
	node_has_dkim dkim.key
'

test_expect_success 'a hard link to the signing key is refused as well' '
	test_when_finished "rm -f dkimkeys/mail.private &&
		install -o opendkim -g opendkim -m 0600 dkim.key dkimkeys/mail.private" &&
	rm dkimkeys/mail.private &&
	ln keys/signing.key dkimkeys/mail.private &&
	test_expect_code 1 push --now >out 2>&1 &&
	cat out &&
	grep "dkimkeys/mail.private: is certpush'"'"'s signing key: refusing to bundle it" out &&
	node_has_dkim dkim.key
'

test_expect_success 'a live/ link leaving its archive/ lineage is refused' '
	test_when_finished "ln -sfn ../../archive/www.test/privkey1.pem le/live/www.test/privkey.pem" &&
	mkdir le/archive/other && install -m 0600 ca/a.key le/archive/other/privkey1.pem &&
	ln -sfn ../../archive/other/privkey1.pem le/live/www.test/privkey.pem &&
	test_must_fail push check-config 2>err &&
	grep "certificate www: .*live/www.test/privkey.pem: is a symbolic link to ../../archive/other/privkey1.pem: refusing" err
'

test_expect_success 'a directory others may write is refused' '
	test_when_finished "chmod 0755 le/archive" &&
	chmod 0777 le/archive &&
	test_expect_code 1 push --now >out 2>&1 &&
	grep "le/archive: directory is writable by others (mode 0777)" out
'

test_expect_success 'back to safe sources: the push goes through' '
	push check-config &&
	push --now >out &&
	node_has_dkim dkim.key
'

test_done
