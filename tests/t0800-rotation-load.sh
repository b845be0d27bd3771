#!/bin/bash
test_description='zero-downtime rotation under load: four nodes, continuous handshakes

Four nodes in namespaces: front (HAProxy; certpush runs here and installs
locally), mail (Postfix on 25 and 587, Dovecot on 993, 995, 143 and 110,
an OpenDKIM key) and two backups (HAProxy), the last three over SSH.
Client processes on the host run TLS handshakes without pause against
every endpoint (HTTPS, SMTP STARTTLS, IMAPS, POP3S, IMAP and POP3
STARTTLS) while certpush --now rotates the certificate and the DKIM key.
Every handshake must succeed (a completed TLS handshake also proves the
server holds the key of the certificate it sent) and present one of the
leaves rotated through.

Scale: RELIABILITY=1 rotates 20 times with two clients per endpoint
(default: 3 rotations, one client per endpoint).'
. "$(dirname "$0")/lib.sh"
. "$SRC/tests/lib-services.sh"

test_have_prereq ROOT || skip_all "needs root"
test_have_prereq NETNS || skip_all "cannot create network namespaces"
test_have_prereq BUILT || skip_all "build certpush and certpull first"
for cmd in haproxy postfix dovecot doveadm opendkim /usr/sbin/sshd ssh-keygen socat openssl \
	setpriv base64 sha256sum; do
	test_have_prereq "CMD:$cmd" || skip_all "missing $cmd"
done

if test -n "${RELIABILITY:-}"; then
	ROTATIONS=20 CLIENTS=2
else
	ROTATIONS=3 CLIENTS=1
fi
MAX_HANDSHAKES=20000	# per client: a bound, never reached in practice
PAUSE=2			# seconds of load on each leaf between rotations

figure () {
	echo "# FIGURE $*" >&7
}

# use_leaf N: leaf N and DKIM key N become the sources.
use_leaf () {
	source_leaf ca "l$1" &&
	install -m 0600 "dkim/d$1.key" src/dkim.key
}

# der_sha256 FILE: SHA-256 of the DER of the first certificate in FILE,
# as sha256sum prints it: how handshakes are matched to leaves below.
der_sha256 () {
	openssl x509 -in "$1" -outform DER | sha256sum | cut -d" " -f1
}

# pull_conf NODE: HAProxy on front and the backups, mail's three services.
pull_conf () {
	local node=$1 dir=$TRASH/$1
	pull_conf_head $node "$dir/state" "grace: 15" &&
	case $node in
	mail)
		pull_mail_services "$dir/certs" "$dir" &&
		cat <<-EOF ;;
		  - name: opendkim
		    files:
		      - { path: $dir/dkim/keys/sel.private, item: dkim, format: dkim,
		          owner: opendkim, group: opendkim, mode: "0600" }
		EOF
	*) pull_haproxy_service "$dir/certs/site.pem" "$dir/haproxy" reload sni=www.test ;;
	esac
}

test_expect_success "setup: CA, $((ROTATIONS + 1)) leaves and DKIM keys, four nodes" '
	mkdir -m 0700 keys src state dkim &&
	make_ca ca &&
	for ((i = 0; i <= ROTATIONS; i++)); do
		make_cert ca l$i "DNS:www.test,DNS:mail.test" ec &&
		der_sha256 ca/l$i.crt >>leaves.sha256 &&
		openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 \
			-out dkim/d$i.key 2>/dev/null || return 1
	done &&
	test "$(sort -u leaves.sha256 | wc -l)" = $((ROTATIONS + 1)) &&
	push_keys --ssh &&
	netns_create front 1 && netns_create mail 2 &&
	netns_create backup1 3 && netns_create backup2 4 &&
	for node in front backup1 backup2; do
		mkdir -p $node/certs && install -m 0600 ca/l0.pem $node/certs/site.pem &&
		haproxy_start $node "$TRASH/$node/haproxy" "$TRASH/$node/certs/site.pem" || return 1
	done &&
	install -d -o opendkim -g opendkim -m 0700 mail/dkim mail/dkim/keys &&
	install -o opendkim -g opendkim -m 0600 dkim/d0.key mail/dkim/keys/sel.private &&
	mail_start mail l0 "$TRASH/mail/certs" "$TRASH/mail"
'

test_expect_success 'setup: sshd on mail and the backups, configurations, leaf 0 everywhere' '
	for node in front mail backup1 backup2; do
		pull_conf $node >$node/certpull.yaml || return 1
		test $node = front ||
			serve_sshd $node "$TRASH/$node/sshd" "$TRASH/$node/certpull.yaml" || return 1
	done &&
	{
		push_conf_head --dkim "$TRASH/src/dkim.key" sel mail.test &&
		push_target_local front www "$TRASH/front/certpull.yaml" &&
		push_target_ssh mail "$(netns_addr mail)" 22 60 "www, dkim" &&
		push_target_ssh backup1 "$(netns_addr backup1)" 22 60 www &&
		push_target_ssh backup2 "$(netns_addr backup2)" 22 60 www
	} >certpush.yaml &&
	push check-config &&
	use_leaf 0 && push --now >out && cat out &&
	grep "4 of 4 targets ok" out
'

# The endpoints, as openssl s_client arguments.
endpoints () {
	local node
	for node in front backup1 backup2; do
		echo "-connect $(netns_addr $node):443 -servername www.test"
	done
	echo "-connect $(netns_addr mail):25 -starttls smtp"
	echo "-connect $(netns_addr mail):587 -starttls smtp"
	echo "-connect $(netns_addr mail):993"
	echo "-connect $(netns_addr mail):995"
	echo "-connect $(netns_addr mail):143 -starttls imap"
	echo "-connect $(netns_addr mail):110 -starttls pop3"
}

# hammer OUT ARGS...: handshakes until the stop file appears (at most
# MAX_HANDSHAKES); one line per handshake in OUT: the exit status of
# s_client and the base64 of the leaf it received (empty if none); a failed
# one's last lines of stderr go to OUT.errors.  30 s per handshake: a slow
# one on a loaded machine is not a failure (exit 124 when it is that slow);
# one that a reload breaks fails at once.
hammer () {
	local out=$1 i rc pem
	shift
	for ((i = 0; i < MAX_HANDSHAKES; i++)); do
		test -e stop && break
		pem=$(timeout 30 openssl s_client "$@" </dev/null 2>"$out.stderr")
		rc=$?
		test $rc = 0 || tail -n 3 "$out.stderr" | sed "s/^/handshake $i exit $rc: /" >>"$out.errors"
		case $pem in
		*"-----BEGIN CERTIFICATE-----"*)
			pem=${pem#*-----BEGIN CERTIFICATE-----}
			pem=${pem%%-----END CERTIFICATE-----*}
			pem=${pem//$'\n'/} ;;
		*) pem= ;;
		esac
		echo "$rc ${pem:--}"
	done >"$out"
}

# analyze: over hs/*.log, set TOTAL, FAILED, MISMATCHED (handshakes whose
# leaf is not one rotated through), LEAVES (distinct leaves seen) and BACK
# (times a client saw an older leaf after a newer one).
analyze () {
	local b64 sum idx f n
	cat hs/*.log >all.log
	TOTAL=$(wc -l <all.log)
	FAILED=$(awk '$1 != 0 || $2 == "-"' all.log | wc -l)
	MISMATCHED=0 LEAVES=0 BACK=0
	awk '$2 != "-" { print $2 }' all.log | sort -u >seen.b64
	while read -r b64; do
		sum=$(echo "$b64" | base64 -d | sha256sum | cut -d" " -f1)
		idx=$(grep -nx "$sum" leaves.sha256 | cut -d: -f1)
		if test -n "$idx"; then
			LEAVES=$((LEAVES + 1))
		else
			idx=0
			MISMATCHED=$((MISMATCHED + $(grep -c " $b64\$" all.log)))
			echo "a leaf not rotated through: $sum"
		fi
		echo "$b64 $idx"
	done <seen.b64 >seen.idx
	for f in hs/*.log; do
		n=$(awk 'NR == FNR { idx[$1] = $2; next }
			$2 != "-" { i = idx[$2]; if (i < last) n++; last = i }
			END { print n + 0 }' seen.idx "$f")
		BACK=$((BACK + n))
	done
}

# counts: how many handshakes each client has logged, in the order of hs/*.log.
counts () {
	local f
	for f in hs/*.log; do
		wc -l <"$f"
	done | tr "\n" " "
}

# every_client_past COUNTS: each client has logged more than in COUNTS.  The
# pause after a rotation is load, not a clock the test relies on: this wait
# is what makes each client see every leaf at least once.
every_client_past () {
	local was=($1) now=($(counts)) i
	for i in "${!was[@]}"; do
		test "${now[i]:-0}" -gt "${was[i]}" || return 1
	done
}

test_expect_success "$ROTATIONS rotations under continuous handshakes: none fails, each presents a rotated leaf" '
	rm -f stop && mkdir hs && pids= && n=0 &&
	while read -r ep; do
		for ((c = 0; c < CLIENTS; c++)); do
			n=$((n + 1)) && : >hs/$n.log &&
			{ hammer hs/$n.log $ep 7>&- 8>&- & } &&
			pids="$pids $!" && echo "$n $ep" >>hs/endpoints
		done
	done < <(endpoints) &&
	at_exit "touch \"$TRASH/stop\"" &&
	c0=$(counts) && sleep $PAUSE && start=$(date +%s) &&
	wait_until_ 60 every_client_past "$c0" ||
		{ echo "a client made no handshake"; touch stop; wait $pids; return 1; }
	for ((i = 1; i <= ROTATIONS; i++)); do
		use_leaf $i && push --now >push.out 2>&1 &&
		grep "4 of 4 targets ok" push.out ||
			{ cat push.out; touch stop; wait $pids; return 1; }
		c0=$(counts) && sleep $PAUSE &&
		wait_until_ 60 every_client_past "$c0" ||
			{ echo "a client stalled after rotation $i"; touch stop; wait $pids; return 1; }
	done &&
	secs=$(($(date +%s) - start)) &&
	touch stop && wait $pids &&
	analyze &&
	for f in hs/*.log; do
		c=${f#hs/} && c=${c%.log} &&
		say "client $c ($(sed -n "s/^$c //p" hs/endpoints)): $(wc -l <$f) handshakes," \
			"$(awk "\$1 != 0 || \$2 == \"-\"" $f | wc -l) failed" \
			"$(awk "\$1 != 0 || \$2 == \"-\" { print \"(exit \" \$1 \")\" }" $f | sort | uniq -c | tr -s " ")"
	done &&
	{ cat hs/*.errors 2>/dev/null | head -n 30 || :; } &&
	figure "rotation: rotations=$ROTATIONS endpoints=9 clients=$n handshakes=$TOTAL" \
		"failed=$FAILED mismatched=$MISMATCHED leaves-seen=$LEAVES older-leaf-after-newer=$BACK" \
		"seconds=$secs" &&
	test "$FAILED" = 0 && test "$MISMATCHED" = 0 &&
	test "$TOTAL" -ge $((n * ROTATIONS)) && test "$LEAVES" -ge 2
'

test_expect_success 'every node ends on the last leaf; OpenDKIM signs with the last key' '
	fp=$(cert_fingerprint ca/l$ROTATIONS.crt) &&
	for node in front backup1 backup2; do
		wait_for_fingerprint "$fp" 10 --netns $node 127.0.0.1 443 www.test || return 1
	done &&
	wait_for_fingerprint "$fp" 10 --netns mail --starttls smtp 127.0.0.1 25 &&
	wait_for_fingerprint "$fp" 10 --netns mail 127.0.0.1 993 &&
	test "$(openssl pkey -in mail/dkim/keys/sel.private -pubout)" = \
		"$(openssl pkey -in dkim/d$ROTATIONS.key -pubout)" &&
	opendkim_setup "$TRASH/odk" "$TRASH/mail/dkim/keys/sel.private" sel mail.test &&
	printf "From: a@mail.test\nTo: b@mail.test\nSubject: t\n\nbody\n" >msg &&
	opendkim_sign "$TRASH/odk" msg >sig &&
	{ cat sig && cat msg; } >signed &&
	opendkim_verify "$TRASH/odk" signed
'

test_done
