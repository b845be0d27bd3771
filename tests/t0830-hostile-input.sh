#!/bin/bash
test_description='hostile bundles through the real certpull verify, install and receive

The committed corpus (tests/corpus, made by tests/corpus/make-corpus.sh
and listed in tests/corpus/MANIFEST with the check that must reject each
file), two cases too big to commit, every byte flip and every truncation
of a small valid bundle, every byte flip re-signed with the trusted key
(so that it reaches the parsers behind the signature), the fuzzers'"'"'
seed corpus, and the expiry limits under faketime.  Nothing hostile may
be accepted, nothing may crash (exit over 128, or 126/127), and a refused
install changes nothing.'
. "$(dirname "$0")/lib.sh"
. "$SRC/tests/lib-services.sh"

test_have_prereq BUILT || skip_all "build certpush and certpull first"
for cmd in openssl perl xxd; do
	test_have_prereq "CMD:$cmd" || skip_all "missing $cmd"
done

CORPUS=$SRC/tests/corpus

figure () {
	echo "# FIGURE $*" >&7
}

pull () {
	"$CERTPULL" -c "$TRASH/certpull.yaml" "$@" 7>&- 8>&-
}

# verdict FILE: run certpull verify; print "accept", the check word, or
# "crash:CODE" / "exit:CODE" for anything but a clean accept or refusal.
verdict () {
	local out rc
	out=$(pull verify "$1" 2>&1)
	rc=$?
	case $rc in
	0) echo accept ;;
	1) echo "$out" | sed -n 's/^.*: rejected (\([a-z]*\)): .*$/\1/p' | head -n 1 ;;
	126|127) echo "crash:$rc" ;;
	*) test $rc -gt 128 && echo "crash:$rc" || echo "exit:$rc" ;;
	esac
}

# state_sum: what a refused install must leave alone.
state_sum () {
	cat out/www.pem out/dkim.key pullstate/installed | sha256sum
	stat -c '%n %a %U:%G %s' out/www.pem out/dkim.key pullstate/installed
}

test_expect_success 'setup: a node trusting the corpus key, the control installed' '
	test -s "$CORPUS/MANIFEST" && test -s "$CORPUS/trusted.pub" &&
	mkdir -m 0700 pullstate out &&
	cat >certpull.yaml <<-EOF &&
	node: mail
	state_dir: $TRASH/pullstate
	trusted_keys: [$(cat "$CORPUS/trusted.pub")]
	services:
	  - name: files
	    files:
	      - { path: $TRASH/out/www.pem, item: www, format: haproxy, mode: "0600" }
	      - { path: $TRASH/out/dkim.key, item: dkim, format: dkim, mode: "0600" }
	EOF
	pull check-config &&
	pull install "$CORPUS/valid.bundle" >install.out &&
	grep "installed serial" install.out &&
	"$SRC/tests/corpus/make-corpus.sh" key "$TRASH/corpus.key" &&
	test "ed25519:$(openssl pkey -in corpus.key -pubout -outform DER | tail -c 32 | base64)" = \
		"$(cat "$CORPUS/trusted.pub")" &&
	grep -v "^#" "$CORPUS/MANIFEST" >manifest &&
	for f in "$CORPUS"/*.bundle; do
		grep -q "^${f##*/} " manifest || { echo "$f is not in the MANIFEST"; return 1; }
	done &&
	while read -r f check what; do
		test -f "$CORPUS/$f" || { echo "MANIFEST names a missing $f"; return 1; }
	done <manifest
'

test_expect_success 'setup: the cases too big to commit (over 256 KiB, over 1 MiB)' '
	mkdir big &&
	perl "$SRC/tests/corpus/craft.pl" big corpus.key "$CORPUS/valid.bundle" big &&
	head -c $((1024 * 1024 + 1)) /dev/zero >big/zero-1m-plus1.bundle &&
	echo "zero-1m-plus1.bundle size 1 MiB + 1 of zeros" >>big/MANIFEST.big &&
	cat big/MANIFEST.big
'

# check_case DIR FILE CHECK: verify, install and receive FILE; each must give
# CHECK (or accept the control), the install must change nothing.
check_case () {
	local dir=$1 f=$2 want=$3 got rc before
	got=$(verdict "$dir/$f")
	if test "$want" = accept; then CONTROLS=$((CONTROLS + 1)); else CASES=$((CASES + 1)); fi
	case $got in
	crash:*) CRASHES=$((CRASHES + 1)); echo "$f: verify crashed ($got)"; return 1 ;;
	accept) test "$want" = accept || { ACCEPTED=$((ACCEPTED + 1)); echo "$f: ACCEPTED"; return 1; } ;;
	esac
	test "$got" = "$want" || { echo "$f: verify says \"$got\", expected \"$want\""; return 1; }
	test "$want" != accept || return 0
	before=$(state_sum)
	pull install "$dir/$f" >install.out 2>&1
	rc=$?
	case $rc in
	1) grep -q "failed at verify:$want: " install.out ||
		{ echo "$f: install: $(cat install.out)"; return 1; } ;;
	0|2) ACCEPTED=$((ACCEPTED + 1)); echo "$f: install ACCEPTED it"; return 1 ;;
	*) CRASHES=$((CRASHES + 1)); echo "$f: install exit $rc"; return 1 ;;
	esac
	"$CERTPULL" -c "$TRASH/certpull.yaml" receive <"$dir/$f" >receive.out 2>/dev/null 7>&- 8>&-
	rc=$?
	case $rc in
	1) grep -q "\"result\":\"failed\".*\"step\":\"verify:$want\"" receive.out ||
		{ echo "$f: receive: $(cat receive.out)"; return 1; } ;;
	0|2) ACCEPTED=$((ACCEPTED + 1)); echo "$f: receive ACCEPTED it"; return 1 ;;
	*) CRASHES=$((CRASHES + 1)); echo "$f: receive exit $rc"; return 1 ;;
	esac
	test "$(state_sum)" = "$before" || { echo "$f: a refused install changed the node"; return 1; }
}

test_expect_success 'the corpus: each case refused by its check, by verify, install and receive' '
	CASES=0 CONTROLS=0 ACCEPTED=0 CRASHES=0 BAD=0 &&
	while read -r f check what; do
		test "$f" != valid-next.bundle || continue
		check_case "$CORPUS" "$f" "$check" || BAD=$((BAD + 1))
	done <manifest &&
	while read -r f check what; do
		check_case big "$f" "$check" || BAD=$((BAD + 1))
	done <big/MANIFEST.big &&
	rm -f out/*.certpull-new &&
	test -z "$(ls -A out | grep -v "^www.pem$\|^dkim.key$")" &&
	figure "hostile-corpus: cases=$CASES accepted=$ACCEPTED crashes=$CRASHES wrong-verdict=$BAD" \
		"controls-accepted=$CONTROLS" &&
	test $ACCEPTED = 0 && test $CRASHES = 0 && test $BAD = 0
'

test_expect_success 'the next control (same content, next serial) is still accepted' '
	test "$(verdict "$CORPUS/valid-next.bundle")" = accept &&
	test_expect_code 2 pull install "$CORPUS/valid-next.bundle" >install.out &&
	grep "unchanged, serial" install.out &&
	test "$(verdict "$CORPUS/valid.bundle")" = serial
'

# flips_and_cuts FILE: every byte flipped (XOR 0xff), and every truncation.
flips_and_cuts () {
	local f=$1 n i hex
	n=$(stat -c %s "$f")
	hex=$(xxd -p "$f" | tr -d "\n")
	mkdir -p mut
	for ((i = 0; i < n; i++)); do
		printf "%s%02x%s" "${hex:0:2*i}" $((0x${hex:2*i:2} ^ 0xff)) "${hex:2*i+2}" |
			xxd -r -p >mut/flip-$i.bundle
		head -c $i "$f" >mut/cut-$i.bundle
	done
}

test_expect_success 'every byte flip and every truncation of a small valid bundle is refused' '
	test "$(verdict "$CORPUS/small.bundle")" = accept &&
	flips_and_cuts "$CORPUS/small.bundle" &&
	CASES=0 ACCEPTED=0 CRASHES=0 &&
	for f in mut/*.bundle; do
		v=$(verdict "$f") && CASES=$((CASES + 1)) &&
		case $v in
		accept) ACCEPTED=$((ACCEPTED + 1)); echo "$f accepted" ;;
		crash:*|exit:*|"") CRASHES=$((CRASHES + 1)); echo "$f: $v" ;;
		esac || return 1
	done &&
	figure "hostile-flips-and-cuts: cases=$CASES accepted=$ACCEPTED crashes=$CRASHES" &&
	test $CASES = $((2 * $(stat -c %s "$CORPUS/small.bundle"))) &&
	test $ACCEPTED = 0 && test $CRASHES = 0
'

# Behind a valid signature a changed byte is refused unless it only changes
# a value any signer may choose: serial, times, the item name.
test_expect_success 'every body byte flipped and re-signed: no crash; accepted only where legitimate' '
	mkdir resigned &&
	perl "$SRC/tests/corpus/craft.pl" resign-flips "$CORPUS/small.bundle" corpus.key resigned &&
	perl "$SRC/tests/corpus/craft.pl" fields "$CORPUS/small.bundle" >fields &&
	CASES=0 ACCEPTED=0 CRASHES=0 BAD=0 &&
	for f in resigned/*.bundle; do
		off=${f##*flip-} && off=$((10#${off%.bundle})) &&
		field=$(awk -v o=$off "o >= \$1 && o < \$1 + \$2 { print \$3 }" fields) &&
		v=$(verdict "$f") && CASES=$((CASES + 1)) &&
		case $v in
		accept) ACCEPTED=$((ACCEPTED + 1))
			case $field in
			serial|created|expires|entry*.item) ;;
			*) BAD=$((BAD + 1)); echo "flip at $off ($field) accepted" ;;
			esac ;;
		crash:*|exit:*|"") CRASHES=$((CRASHES + 1)); echo "flip at $off ($field): $v" ;;
		esac || return 1
	done &&
	figure "hostile-resigned-flips: cases=$CASES accepted-legitimately=$ACCEPTED" \
		"accepted-wrongly=$BAD crashes=$CRASHES" &&
	test $BAD = 0 && test $CRASHES = 0 && test $CASES -gt 100
'

test_expect_success 'the fuzzers'"'"' seed bundles: no crash' '
	CASES=0 CRASHES=0 &&
	for f in "$SRC"/tests/fuzz/corpus/bundle/*; do
		v=$(verdict "$f") && CASES=$((CASES + 1)) &&
		case $v in
		crash:*|exit:*|"") CRASHES=$((CRASHES + 1)); echo "$f: $v" ;;
		esac || return 1
	done &&
	test $CASES -gt 0 && test $CRASHES = 0
'

test_expect_success CMD:script 'a passphrase-protected key never waits for a terminal' '
	timeout 20 script -qec "$CERTPULL -c $TRASH/certpull.yaml verify $CORPUS/key-encrypted.bundle" \
		/dev/null </dev/null >tty.out 2>&1
	rc=$? &&
	cat tty.out &&
	test $rc = 1 &&
	! grep -i "pass phrase" tty.out &&
	grep "rejected (pem)" tty.out
'

# ---------------------------------------------------------------------------
# Expiry limits, with the clock frozen by faketime.

# at T CMD...: run CMD with the clock frozen at T (seconds since the epoch).
# faketime -f with an absolute date stops the clock; without -f the clock
# starts at T and runs, so a slow start under load crossed the second tested.
# The monotonic clock stays real, so deadlines still run out.
at () {
	local t=$1
	shift
	TZ=UTC faketime --exclude-monotonic -f "$(date -u -d "@$t" "+%Y-%m-%d %H:%M:%S")" "$@"
}

# verify_at T FILE: the verdict of certpull verify at time T.
verify_at () {
	local out rc
	out=$(at "$1" "$CERTPULL" -c "$TRASH/expiry.yaml" verify "$2" 2>&1)
	rc=$?
	case $rc in
	0) echo accept ;;
	1) echo "$out" | sed -n 's/^.*: rejected (\([a-z]*\)): .*$/\1/p' ;;
	*) echo "exit:$rc" ;;
	esac
}

bundle_field () {
	perl "$SRC/tests/corpus/craft.pl" show "$1" | tr " " "\n" | sed -n "/^$2$/{n;p;}"
}

test_expect_success CMD:faketime 'setup: a leaf valid for 10 days, bundles of 1 and 30 days' '
	make_ca ca &&
	make_cert ca leaf "DNS:mail.test" ec 10d &&
	mkdir -m 0700 src state keys expstate &&
	source_leaf ca leaf &&
	push_keys &&
	for days in 1 30; do
		{
			push_conf_head "bundle_days: $days" &&
			push_target_local mail www
		} >push$days.yaml &&
		"$CERTPUSH" -c push$days.yaml bundle --target mail -o b$days.bundle || return 1
	done &&
	{
		pull_conf_head mail "$TRASH/expstate" &&
		pull_files_service "$TRASH/out/expiry.pem" www haproxy 0600
	} >expiry.yaml &&
	NOT_BEFORE=$(for f in ca/leaf.crt ca/leaf.chain; do
		date -u -d "$(openssl x509 -in $f -noout -startdate | cut -d= -f2)" +%s; done | sort -n | tail -n 1) &&
	NOT_AFTER=$(date -u -d "$(openssl x509 -in ca/leaf.crt -noout -enddate | cut -d= -f2)" +%s) &&
	EXP1=$(bundle_field b1.bundle expires) && EXP30=$(bundle_field b30.bundle expires) &&
	say "notBefore $NOT_BEFORE notAfter $NOT_AFTER; bundle expiry $EXP1 (1 day), $EXP30 (30 days)" &&
	test "$EXP30" = "$NOT_AFTER" && test "$EXP1" -lt "$NOT_AFTER"
'

test_expect_success CMD:faketime 'a bundle is valid until its expiry second, refused one second later' '
	test "$(verify_at $((EXP1 - 3600)) b1.bundle)" = accept &&
	test "$(verify_at $EXP1 b1.bundle)" = accept &&
	test "$(verify_at $((EXP1 + 1)) b1.bundle)" = expired &&
	test "$(verify_at $((EXP1 + 86400 * 365)) b1.bundle)" = expired
'

test_expect_success CMD:faketime 'a bundle never outlives its certificate: refused after notAfter' '
	test "$(verify_at $((NOT_AFTER - 1)) b30.bundle)" = accept &&
	test "$(verify_at $((NOT_AFTER + 1)) b30.bundle)" = expired &&
	v=$(verify_at $NOT_AFTER b30.bundle) &&
	say "at notAfter itself: $v" &&
	case $v in accept|expired|certtime) ;; *) false ;; esac
'

test_expect_success CMD:faketime 'a chain not valid yet is refused (certtime), valid from its latest notBefore' '
	test "$(verify_at $((NOT_BEFORE - 1)) b1.bundle)" = certtime &&
	test "$(verify_at $NOT_BEFORE b1.bundle)" = accept &&
	test "$(verify_at $((NOT_BEFORE - 86400 * 30)) b1.bundle)" = certtime
'

test_expect_success CMD:faketime 'install follows the same clock: refused one second after expiry' '
	at $((EXP1 + 1)) "$CERTPULL" -c "$TRASH/expiry.yaml" install b1.bundle >out.txt 2>&1
	rc=$? && cat out.txt &&
	test $rc = 1 && grep "failed at verify:expired" out.txt &&
	test_path_is_missing out/expiry.pem &&
	at $((EXP1 - 60)) "$CERTPULL" -c "$TRASH/expiry.yaml" install b1.bundle >out.txt 2>&1 &&
	grep "installed serial" out.txt && test_path_is_file out/expiry.pem
'

test_done
