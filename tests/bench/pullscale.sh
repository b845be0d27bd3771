#!/bin/bash
# Scenario 6, pull at scale: N simulated nodes, each a real "certpull
# fetch" with its own certpull.yaml, state and files, in namespace
# "pnodes", polling one nginx mirror of the front's outbox in namespace
# "pmirror".  Per N:
#   - front: "certpush --now" publishing the renewal for N nodes (each
#     target an SSH address that refuses at once: the front only builds,
#     signs and writes the outbox), its wall time and CPU; one run per 250
#     nodes (a certpush.yaml holds at most 256 targets);
#   - publish to last installed: from the start of the publish (certpush,
#     then the outbox copied to the mirror's folder) until the last node has
#     installed, every node fetching once, BENCH_PULL_PAR at a time;
#   - a round of 304 polls (nothing changed): mirror requests per second
#     sustained, CPU and wall of one poll per node;
#   - one node polling alone BENCH_PULL_POLLS times: wall of a 304 poll.
# Every install is checked (the leaf of every node's file), every 304
# counted in nginx's log.
#
# Knobs: BENCH_PULL_N (default "100 1000"), BENCH_PULL_PAR (parallel
# fetches, default 8), BENCH_PULL_POLLS (default 20).
set --
. "$(dirname "$0")/../lib.sh"
. "$SRC/tests/lib-services.sh"
. "$SRC/tests/lib-http.sh"
. "$SRC/tests/bench/lib-bench.sh"

bench_begin pullscale "N nodes fetching from one HTTPS mirror"
bench_need nginx openssl xargs
id nobody >/dev/null 2>&1 && getent group nogroup >/dev/null ||
	bench_skip "needs the account nobody and the group nogroup"
if test -n "$BENCH_SMOKE"; then
	PULL_N=${BENCH_PULL_N:-3}
	POLLS=${BENCH_PULL_POLLS:-2}
else
	PULL_N=${BENCH_PULL_N:-100 1000}
	POLLS=${BENCH_PULL_POLLS:-20}
fi
PAR=${BENCH_PULL_PAR:-8}

# push_conf FROM TO: a certpush.yaml publishing to targets nFROM to nTO,
# which refuse at once, with its own state folder.  A certpush.yaml holds
# at most 256 targets: N nodes take ceil(N / PER_CONF) of them, run one
# after the other (as that many fronts would, at once).
PER_CONF=250
push_conf () {
	local i
	push_conf_head "outbox: $TRASH/outbox" "concurrency: 64" |
		sed "s|^state_dir: .*|state_dir: $TRASH/state-$1|" &&
	for ((i = $1; i <= $2; i++)); do
		push_target_ssh "n$i" 127.0.0.1 9 5 www || return 1
	done
}

# front N: every configuration of the first N nodes publishes (certpush
# --now), measured as one (M_WALL, M_CPU).
front () {
	local k args=()
	for ((k = 1; k <= $1; k += PER_CONF)); do
		args+=("$CERTPUSH" -c "push-$k.yaml" --now ";")
	done
	bench_measure m-front bash -c 'while test $# -gt 0; do "$1" "$2" "$3" "$4" >>front.log 2>&1
		shift 5; done; :' front "${args[@]}"
}

# node_conf I: node I's certpull.yaml: fetch from the mirror, one file.
node_conf () {
	mkdir -p "n/$1" && {
		pull_conf_head "n$1" "$TRASH/n/$1/state" fetch: "  timeout: 10" \
			"  urls:" "    - \"https://$M/{node}.bundle\"" "  ca_file: $TRASH/ca/ca.crt" &&
		pull_files_service "$TRASH/n/$1/site.pem" www haproxy 0600
	} >"n/$1/certpull.yaml"
}

# publish: the outbox to the mirror's folder (as a mirror's sync would:
# copied beside it, readable by nginx, each renamed into place), in three
# processes whatever N.
publish () {
	rm -rf www/.stage && mkdir www/.stage &&
	cp -p outbox/*.bundle www/.stage/ && chmod 0644 www/.stage/*.bundle &&
	mv -f -t www www/.stage/*.bundle
}

# round N: every node fetches once, PAR at a time, from namespace pnodes,
# measured (M_WALL, M_CPU: every certpull's CPU).  certpull exits 2 on a
# 304, and xargs then 123: success is checked from the files and nginx's
# log instead.
round () {
	seq 1 "$1" >nodes.txt &&
	bench_measure "$2" ip netns exec "$(netns_name pnodes)" xargs -a nodes.txt \
		-P "$PAR" -I{} "$CERTPULL" -c "$TRASH/n/{}/certpull.yaml" fetch >/dev/null 2>&1
	:
}

# installed N LEAF: how many of the first N nodes hold LEAF in their file.
installed () {
	local want
	want=$(openssl x509 -in "ca/$2.crt")
	for ((i = 1; i <= $1; i++)); do
		echo "n/$i/site.pem"
	done | xargs awk -v want="$want" '
		FNR == 1 { cert = ""; inside = 0 }
		/^-----BEGIN CERTIFICATE-----$/ && cert == "" { inside = 1 }
		inside { cert = cert (cert == "" ? "" : "\n") $0 }
		/^-----END CERTIFICATE-----$/ && inside { inside = 0; if (cert == want) n++ }
		END { print n + 0 }' 2>/dev/null
}

bench_keys || bench_fail "setup: keys"
: >keys/known_hosts && mkdir -p outbox www n || bench_fail "setup: folders"
netns_create pmirror 1 && netns_create pnodes 2 || bench_fail "setup: namespaces"
M=$(netns_addr pmirror)
make_cert ca mirror "IP:$M" >/dev/null &&
mirror_start pmirror "$TRASH/mirror" "$TRASH/www" "$TRASH/ca/mirror.fullchain" \
	"$TRASH/ca/mirror.key" || bench_fail "setup: nginx"

printf '%6s %9s %12s %14s %10s %11s %9s %11s %12s %12s\n' N front_s front_cpu_s \
	front_cpu_ms/n publish_s last_inst_s inst_ok "req/s(304)" "poll_cpu_ms" "poll_wall_ms"
made=0
for N in $PULL_N; do
	for ((i = made + 1; i <= N; i++)); do
		node_conf "$i" || bench_fail "setup: node $i"
	done
	made=$((N > made ? N : made))
	for ((k = 1; k <= N; k += PER_CONF)); do
		push_conf "$k" "$((k + PER_CONF - 1 < N ? k + PER_CONF - 1 : N))" >"push-$k.yaml" &&
		"$CERTPUSH" -c "push-$k.yaml" check-config >check.out 2>&1 ||
			bench_fail "check-config: $(tail -n 3 check.out)"
	done
	# Two renewals: the first fills every node, the second is measured.
	for leaf in "a$N" "b$N"; do
		bench_new_leaf "$leaf" || bench_fail "setup: leaf"
		t0=$(date +%s%N)
		: >front.log && front "$N"
		test "$(ls outbox | grep -c '\.bundle$')" -ge "$N" ||
			bench_fail "the outbox lacks bundles: $(tail -n 3 front.log)"
		front_wall=$M_WALL front_cpu=$M_CPU
		publish || bench_fail "publish"
		t1=$(date +%s%N)
		round "$N" m-round
		t2=$(date +%s%N)
		ok=$(installed "$N" "$leaf")
	done
	test "$ok" = "$N" || bench_fail "N=$N: $ok of $N nodes installed the renewal;" \
		"node 1: $(ip netns exec "$(netns_name pnodes)" "$CERTPULL" -c n/1/certpull.yaml \
		fetch 2>&1 | tail -n 3); front: $(tail -n 3 front.log)"
	publish_s=$(calc "($t1 - $t0) / 1e9") last_s=$(calc "($t2 - $t0) / 1e9")
	# A round of 304s: nothing changed since the last fetch of every node.
	n304=$(awk '$3 == 304 { n++ } END { print n + 0 }' mirror/access.log)
	round "$N" m-poll
	poll_wall=$M_WALL poll_cpu=$M_CPU
	sleep 0.5	# nginx writes each log line after its answer
	got=$(($(awk '$3 == 304 { n++ } END { print n + 0 }' mirror/access.log) - n304))
	test "$got" = "$N" || bench_fail "N=$N: $got of $N polls answered 304"
	# One node alone, POLLS times in a row: the wall time of one 304 poll.
	bench_measure m-one ip netns exec "$(netns_name pnodes)" bash -c 'for ((k = 0; k < $1; k++)); do
		"$2" -c "$3" fetch >/dev/null 2>&1; test $? = 2 || exit 1; done' \
		one "$POLLS" "$CERTPULL" "$TRASH/n/1/certpull.yaml" ||
		bench_fail "N=$N: a lone poll was not a 304"
	one_wall=$(calc "$M_WALL * 1000 / $POLLS")
	rps=$(calc "$N / $poll_wall")
	printf '%6d %9.3f %12.3f %14.3f %10.3f %11.3f %9s %11.1f %12.2f %12.2f\n' "$N" \
		"$front_wall" "$front_cpu" "$(calc "$front_cpu * 1000 / $N")" "$publish_s" "$last_s" \
		"$ok/$N" "$rps" "$(calc "$poll_cpu * 1000 / $N")" "$one_wall"
	bench_result "N=$N" front_wall_s "$front_wall" s
	bench_result "N=$N" front_cpu_s "$front_cpu" s
	bench_result "N=$N" front_cpu_per_node_ms "$(calc "$front_cpu * 1000 / $N")" ms
	bench_result "N=$N" publish_s "$publish_s" s
	bench_result "N=$N" publish_to_last_installed_s "$last_s" s
	bench_result "N=$N" installed "$ok" count
	bench_result "N=$N" mirror_req_per_s "$rps" req/s
	bench_result "N=$N" poll_304_cpu_ms "$(calc "$poll_cpu * 1000 / $N")" ms
	bench_result "N=$N" poll_304_wall_ms "$one_wall" ms
done
echo "(front: certpush --now for N targets, outbox only; last_inst: publish start to the"
echo " last node installed, every node fetching once, $PAR at a time; req/s, poll_cpu: a"
echo " round of N 304 polls, $PAR at a time, CPU of all the certpulls / N; poll_wall: one"
echo " node alone, $POLLS polls in a row)"
bench_done
