#!/bin/bash
test_description='freshness timestamps: hostile mirrors that freeze, withhold or replay

certpush (freshness: 60) writes node1.timestamp beside node1.bundle in its
outbox at each push, and the watch daemon re-signs it every period.  Node
"node1" fetches from nginx on node "mirror" (require_timestamp: true),
where each folder plays one mirror: good follows the outbox, frozen stopped
at bundle a, withheld serves bundle a with the timestamp of b, replay
serves a and its old timestamp after node1 saw the one of b, forged
serves a damaged timestamp, bare no timestamp at all, hostile/304 answers
304 to any conditional request (as s3rver does on a date alone): its
timestamp names a newer bundle, so certpull asks again without conditions.  Each is reported
with its word (stale, inconsistent, replayed, invalid) and the next
mirror is used; certpull status and audit show the worst of the last
fetch, and a clean fetch puts them back to fresh.  The frozen mirror is
seen from a node whose clock is an hour ahead (faketime), as it will be
once its timestamp has expired.'
. "$(dirname "$0")/lib.sh"
. "$SRC/tests/lib-services.sh"
. "$SRC/tests/lib-http.sh"

test_have_prereq ROOT || skip_all "needs root"
test_have_prereq NETNS || skip_all "cannot create network namespaces"
test_have_prereq BUILT || skip_all "build certpush and certpull first"
for cmd in nginx openssl faketime; do
	test_have_prereq "CMD:$cmd" || skip_all "missing $cmd"
done
id nobody >/dev/null 2>&1 && getent group nogroup >/dev/null ||
	skip_all "needs the account nobody and the group nogroup"

# front ARGS...: certpush with certpush.yaml (its one target, node1, is a
# local certpull installing into sink/: only the outbox matters here).
front () {
	"$CERTPUSH" -c "$TRASH/certpush.yaml" "$@" 7>&- 8>&-
}

# push_leaf NAME: leaf NAME of ca to the sources and pushed; the outbox
# files are kept as outbox-NAME.bundle and outbox-NAME.timestamp, the
# serial in $serial_NAME.
push_leaf () {
	local serial
	source_leaf ca "$1" && front --now >"push-$1.out" &&
	cp outbox/node1.bundle "outbox-$1.bundle" &&
	cp outbox/node1.timestamp "outbox-$1.timestamp" &&
	serial=$(sed -n "s/^node1 .* serial \([0-9]*\) .*/\1/p" "push-$1.out") &&
	test -n "$serial" && eval "serial_$1=$serial"
}

# publish DIR BUNDLE [TIMESTAMP]: the mirror folder DIR serves those files
# (as kept by push_leaf) as node1.bundle and node1.timestamp.
publish () {
	mkdir -p "www/$1" && rm -f "www/$1/node1.timestamp" &&
	install -m 0644 "$2" "www/$1/node1.bundle" &&
	if test -n "${3:-}"; then
		install -m 0644 "$3" "www/$1/node1.timestamp"
	fi
}

# fetch_from "DIR..." [LINE...]: node1's certpull.yaml fetching from those
# mirror folders in order, with a timestamp required unless a LINE says
# otherwise.
fetch_from () {
	local d lines=(fetch: "  timeout: 5" "  ca_file: $TRASH/ca/ca.crt" "  urls:")
	for d in $1; do
		lines+=("    - \"https://$M/$d/{node}.bundle\"")
	done
	shift
	test $# -gt 0 || set -- "require_timestamp: true"
	for d in "$@"; do
		lines+=("  $d")
	done
	{
		pull_conf_head node1 "$TRASH/node1/state" "${lines[@]}" &&
		pull_files_service "$TRASH/node1/site.pem" www haproxy 0600
	} >node1/certpull.yaml
}

# fresh_state: the freshness state in certpull status --json.
fresh_state () {
	pull node1 status --json >status.json &&
	sed -n 's/.*"freshness":{"state":"\([a-z]*\)".*/\1/p' status.json
}

# audit_line: certpull audit's freshness line (the audit's exit status is
# in $audit_rc).
audit_line () {
	audit_rc=0
	pull node1 audit --ca-file "$TRASH/ca/ca.crt" >audit.out || audit_rc=$?
	cat audit.out &&
	grep " freshness " audit.out
}

test_expect_success 'setup: CA, keys, the front with freshness: 60, the mirror, node1' '
	make_ca ca &&
	mkdir -m 0700 keys src state && mkdir node1 sink www &&
	for leaf in a b; do
		make_cert ca $leaf "DNS:www.test" >/dev/null || return 1
	done &&
	push_keys &&
	{
		pull_conf_head node1 "$TRASH/sink/state" &&
		pull_files_service "$TRASH/sink/site.pem" www haproxy 0600
	} >sink/certpull.yaml &&
	{
		push_conf_head "outbox: $TRASH/outbox" "freshness: 60" &&
		push_target_local node1 www "$TRASH/sink/certpull.yaml"
	} >certpush.yaml &&
	front check-config &&
	netns_create mirror 1 && netns_create node1 2 &&
	M=$(netns_addr mirror) &&
	make_cert ca mirror "IP:$M" >/dev/null &&
	mirror_start mirror "$TRASH/mirror" "$TRASH/www" "$TRASH/ca/mirror.fullchain" \
		"$TRASH/ca/mirror.key" &&
	fetch_from good &&
	pull node1 check-config
'

test_expect_success 'each push writes the timestamp beside the bundle, with its mode' '
	push_leaf a &&
	test_path_is_file outbox/node1.timestamp &&
	test "$(stat -c %a.%U.%G outbox/node1.timestamp)" = "$(stat -c %a.%U.%G outbox/node1.bundle)" &&
	test "$(stat -c %s outbox/node1.timestamp)" -lt 300 &&
	t_a=$(date +%s)
'

test_expect_success 'a good mirror: installed, status and audit say fresh' '
	publish good outbox-a.bundle outbox-a.timestamp &&
	pull node1 fetch >out 2>err &&
	cat out err &&
	grep "installed serial $serial_a" out &&
	! grep "fetch: mirror" err &&
	test "$(fresh_state)" = fresh &&
	pull node1 status >status.out && cat status.out &&
	grep "^freshness: fresh (https://$M/good/node1.bundle at .*: timestamp valid until .*, serial $serial_a)" status.out &&
	audit_line && test "$audit_rc" = 0 &&
	grep "^OK .* freshness .*fresh" audit.out
'

test_expect_success 'hostile/304 serves a: node1 gets it once, unconditionally' '
	publish hostile/304 outbox-a.bundle outbox-a.timestamp &&
	fetch_from "hostile/304" &&
	test_expect_code 2 pull node1 fetch >out 2>err &&
	cat out err &&
	grep "unchanged, serial $serial_a" out &&
	wait_until_ 5 eval "test \"\$(mirror_log_count mirror /hostile/304/node1.bundle 200)\" = 1"
'

test_expect_success 'bare: no timestamp is stale when one is required, unchecked otherwise' '
	publish bare outbox-a.bundle &&
	fetch_from "bare good" &&
	test_expect_code 2 pull node1 fetch >out 2>err &&
	cat out err &&
	grep "mirror https://$M/bare/node1.bundle: stale: no timestamp at https://$M/bare/node1.timestamp: HTTP 404" err &&
	test "$(fresh_state)" = stale &&
	fetch_from bare "require_timestamp: false" &&
	test_expect_code 2 pull node1 fetch >out 2>err &&
	cat out err &&
	test "$(fresh_state)" = unchecked
'

test_expect_success 'b is pushed in a later second; the frozen and withheld mirrors are set up' '
	wait_until_ 5 eval "test \$(date +%s) -gt $t_a" &&
	push_leaf b &&
	publish frozen outbox-a.bundle outbox-a.timestamp &&
	publish withheld outbox-a.bundle outbox-b.timestamp &&
	publish good outbox-b.bundle outbox-b.timestamp
'

test_expect_success 'withheld: the timestamp names b, the mirror serves a: inconsistent, the good one used' '
	fetch_from "withheld good" &&
	pull node1 fetch >out 2>err &&
	cat out err &&
	grep "mirror https://$M/withheld/node1.bundle: inconsistent: the timestamp names serial $serial_b, the mirror serves serial $serial_a: an update withheld" err &&
	grep "installed serial $serial_b" out &&
	test "$(cert_fingerprint node1/site.pem)" = "$(cert_fingerprint ca/b.crt)" &&
	test "$(fresh_state)" = inconsistent &&
	audit_line && test "$audit_rc" = 2 &&
	grep "^CRITICAL .* freshness .*inconsistent" audit.out
'

test_expect_success 'hostile/304, a mirror that answers 304 to any condition: asked again without, b installed' '
	publish hostile/304 outbox-b.bundle outbox-b.timestamp &&
	fetch_from "hostile/304" &&
	test_expect_code 2 pull node1 fetch >out 2>err &&
	cat out err &&
	! grep "fetch: mirror" err &&
	grep "unchanged, serial $serial_b" out &&
	wait_until_ 5 eval "test \"\$(mirror_log_count mirror /hostile/304/node1.bundle 304)\" = 1" &&
	test "$(mirror_log_count mirror /hostile/304/node1.bundle 200)" = 2 &&
	test "$(fresh_state)" = fresh
'

test_expect_success 'replay: a and its timestamp, older than the one of b already seen: replayed' '
	fetch_from "frozen good" &&
	test_expect_code 2 pull node1 fetch >out 2>err &&
	cat out err &&
	grep "mirror https://$M/frozen/node1.bundle: replayed: timestamp made .*, older than the one of .* already seen (serial $serial_b)" err &&
	test "$(fresh_state)" = replayed
'

test_expect_success 'forged: a damaged timestamp is invalid' '
	cp outbox-b.timestamp forged.timestamp &&
	printf "\\377" | dd of=forged.timestamp bs=1 seek=40 conv=notrunc 2>/dev/null &&
	publish forged outbox-b.bundle forged.timestamp &&
	fetch_from "forged good" &&
	test_expect_code 2 pull node1 fetch >out 2>err &&
	cat out err &&
	grep "mirror https://$M/forged/node1.bundle: invalid: https://$M/forged/node1.timestamp: timestamp: bad signature" err &&
	test "$(fresh_state)" = invalid
'

test_expect_success 'an hour later with no newer timestamp: expired, stale (a frozen mirror)' '
	fetch_from "good" &&
	test_expect_code 1 netns_exec node1 faketime -f +1h "$CERTPULL" -c "$TRASH/node1/certpull.yaml" fetch >out 2>err 7>&- 8>&- &&
	cat out err &&
	grep "mirror https://$M/good/node1.bundle: stale: timestamp expired at .* (serial $serial_b): the mirror no longer follows the front" err &&
	test "$(fresh_state)" = stale
'

test_expect_success 'a clean fetch: fresh again in status and audit' '
	fetch_from good &&
	test_expect_code 2 pull node1 fetch >out 2>err &&
	cat out err &&
	test "$(fresh_state)" = fresh &&
	audit_line && test "$audit_rc" = 0
'

# made FILE: when the timestamp FILE was made, as certpull verify reads it.
made () {
	pull node1 verify "$1" | sed -n "s/.*: valid: timestamp for node node1, serial $serial_b, made \([^,]*\), .*/\1/p"
}

test_expect_success 'certpull verify reads a timestamp; a damaged one is rejected' '
	pull node1 verify outbox/node1.timestamp >out && cat out &&
	grep "outbox/node1.timestamp: valid: timestamp for node node1, serial $serial_b, made .*, expires .*, signed by key" out &&
	test_expect_code 1 pull node1 verify forged.timestamp >out && cat out &&
	grep "forged.timestamp: rejected (timestamp): timestamp: bad signature" out
'

test_expect_success 'certpush run re-signs the timestamp of the same bundle every period' '
	sed "s/^freshness: 60$/freshness: 1/" certpush.yaml >certpush-1s.yaml &&
	first=$(made outbox/node1.timestamp) && test -n "$first" &&
	DAEMON_LOG=$TRASH/run.log daemon_start certpush-run "" \
		"$CERTPUSH" -c "$TRASH/certpush-1s.yaml" run &&
	{
		wait_until_ 20 eval "test \"\$(made outbox/node1.timestamp)\" \\> \"$first\"" &&
		second=$(made outbox/node1.timestamp) &&
		wait_until_ 20 eval "test \"\$(made outbox/node1.timestamp)\" \\> \"$second\"" ||
		{ cat run.log; pull node1 verify outbox/node1.timestamp; false; }
	} &&
	daemon_stop certpush-run &&
	cmp outbox/node1.bundle outbox-b.bundle
'

test_done
