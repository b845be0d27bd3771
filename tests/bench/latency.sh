#!/bin/bash
# Scenario 2, renewal to served: from the moment a certbot-style renewal
# has swapped the last of the four links of live/NAME to the moment every
# target's HAProxy serves the new certificate in a TLS handshake, with
# "certpush run" watching the lineage (quiet_period 1).  The quiet period
# is subtracted: what remains is detection, build, delivery, install
# (HAProxy runtime API) and certpull's own check of the endpoint.
#
# Each target is a namespace with sshd (forced command "certpull serve")
# and HAProxy on 443.  benchtool served polls every endpoint every
# BENCH_POLL_MS (default 20) ms: that is the resolution.
#
# Knobs: BENCH_LATENCY_N (default "4 16"), BENCH_RENEWALS (default 20).
set --
. "$(dirname "$0")/../lib.sh"
. "$SRC/tests/lib-services.sh"
. "$SRC/tests/bench/lib-bench.sh"

bench_begin latency "renewal (certbot link swap) to served by every target"
bench_need /usr/sbin/sshd haproxy socat openssl
if test -n "$BENCH_SMOKE"; then
	LAT_N=${BENCH_LATENCY_N:-2}
	RENEWALS=${BENCH_RENEWALS:-2}
else
	LAT_N=${BENCH_LATENCY_N:-4 16}
	RENEWALS=${BENCH_RENEWALS:-20}
fi
QUIET=1
POLL_MS=${BENCH_POLL_MS:-20}
NAME=www.bench.test
LE=$TRASH/le
nmax=0
for n in $LAT_N; do
	test "$n" -gt "$nmax" && nmax=$n
done

# node_up I: namespace nodeI with HAProxy serving the old certificate,
# sshd whose key forces certpull serve, and certpull.yaml (runtime API).
node_up () {
	local d=$TRASH/node$1
	netns_create "node$1" "$1" >/dev/null && mkdir -p "$d" &&
	install -m 0600 ca/old.pem "$d/site.pem" &&
	haproxy_start "node$1" "$d/haproxy" "$d/site.pem" &&
	{
		pull_conf_head "node$1" "$d/state" &&
		pull_haproxy_service "$d/site.pem" "$d/haproxy" "sni=$NAME"
	} >"$d/certpull.yaml" &&
	serve_sshd "node$1" "$d/sshd" "$d/certpull.yaml"
}

# version_files K: archive version K of the lineage from leaf vK.
version_files () {
	local a=$LE/archive/$NAME
	cp "ca/v$1.crt" "$a/cert$1.pem" && cp "ca/v$1.chain" "$a/chain$1.pem" &&
	cp "ca/v$1.fullchain" "$a/fullchain$1.pem" &&
	install -m 0600 "ca/v$1.key" "$a/privkey$1.pem"
}

# swap_links K: what certbot does last: each link deleted, then created.
swap_links () {
	local f
	for f in cert chain fullchain privkey; do
		rm -f "$LE/live/$NAME/$f.pem" &&
		ln -s "../../archive/$NAME/$f$1.pem" "$LE/live/$NAME/$f.pem" || return 1
	done
}

pushes () {
	local c
	c=$(grep -c "targets ok" "$1" 2>/dev/null)
	echo "${c:-0}"
}

pushes_gt () {
	test "$(pushes "$1")" -gt "$2"
}

push_conf () {
	local n=$1 i
	cat <<-EOF
	signing_key: $TRASH/keys/signing.key
	state_dir: $TRASH/state-$n
	quiet_period: $QUIET
	concurrency: $n
	certificates:
	  - name: www
	    lineage: $LE/live/$NAME
	    names: [$NAME]
	targets:
	EOF
	for ((i = 1; i <= n; i++)); do
		cat <<-EOF
		  - name: node$i
		    host: $(netns_addr "node$i")
		    identity: $TRASH/keys/id_ed25519
		    known_hosts: $TRASH/keys/known_hosts
		    items: [www]
		EOF
	done
}

make_ca ca >/dev/null && mkdir -p -m 0700 keys &&
push_keys --ssh && bench_pub=$pub &&
make_cert ca old "DNS:$NAME" ec >/dev/null || bench_fail "setup: keys"
total=$((RENEWALS * $(echo $LAT_N | wc -w) + 1))
for ((k = 1; k <= total; k++)); do
	make_cert ca "v$k" "DNS:$NAME" ec >/dev/null || bench_fail "setup: certificate $k"
done
mkdir -p -m 0700 "$LE" && mkdir -p -m 0700 "$LE/live" "$LE/archive" &&
mkdir -p "$LE/live/$NAME" "$LE/archive/$NAME" &&
version_files 1 && swap_links 1 || bench_fail "setup: lineage"
for ((i = 1; i <= nmax; i++)); do
	node_up "$i" || bench_fail "setup: node$i"
done

printf 'quiet_period %s s subtracted; poll every %s ms; %s renewals per N\n' \
	"$QUIET" "$POLL_MS" "$RENEWALS"
printf '%4s %9s %9s %9s %11s %8s\n' N p50_s p95_s max_s first_p50_s failed
version=1
for n in $LAT_N; do
	push_conf "$n" >"push-lat-$n.yaml"
	log=$TRASH/run-$n.log
	DAEMON_LOG=$log daemon_start "run-$n" "" "$CERTPUSH" -c "$TRASH/push-lat-$n.yaml" run
	# The daemon's first push brings every target to the current version.
	wait_until_ 60 pushes_gt "$log" 0 || bench_fail "N=$n: no first push: $(tail -n 5 "$log")"
	eps=()
	for ((i = 1; i <= n; i++)); do
		eps+=("$(netns_addr "node$i"):443")
	done
	"$BENCHTOOL" served -t 30 "$(cert_fingerprint "ca/v$version.crt")" "${eps[@]}" \
		>/dev/null || bench_fail "N=$n: targets do not serve version $version"
	all=() first=() failed=0
	for ((r = 1; r <= RENEWALS; r++)); do
		version=$((version + 1))
		before=$(pushes "$log")
		version_files "$version" || bench_fail "renewal $version"
		sleep 0.1
		swap_links "$version" || bench_fail "renewal $version"
		t0=$(date +%s%N)
		if ! "$BENCHTOOL" served -i "$POLL_MS" -t 30 \
			"$(cert_fingerprint "ca/v$version.crt")" "${eps[@]}" >served.out; then
			failed=$((failed + 1))
			continue
		fi
		read -r lo hi <<-EOF
		$(awk '{ print $2 }' served.out | sort -n | sed -n '1p;$p' | tr '\n' ' ')
		EOF
		all+=("$(calc "($hi - $t0) / 1e9 - $QUIET")")
		first+=("$(calc "($lo - $t0) / 1e9 - $QUIET")")
		# Let the daemon finish (certpull's own checks, state) before the next.
		wait_until_ 30 pushes_gt "$log" "$before" || bench_fail "N=$n: push not logged"
		grep "targets ok" "$log" | tail -n 1 | grep -q ", 0 failed" || failed=$((failed + 1))
		sleep 0.3
	done
	daemon_stop "run-$n"
	p50=$(percentile 50 "${all[@]}") p95=$(percentile 95 "${all[@]}")
	mx=$(percentile 100 "${all[@]}") f50=$(percentile 50 "${first[@]}")
	printf '%4s %9.3f %9.3f %9.3f %11.3f %8s\n' "$n" "$p50" "$p95" "$mx" "$f50" "$failed"
	bench_result "N=$n" p50_s "$p50" s
	bench_result "N=$n" p95_s "$p95" s
	bench_result "N=$n" max_s "$mx" s
	bench_result "N=$n" first_target_p50_s "$f50" s
	bench_result "N=$n" renewals "${#all[@]}" count
	bench_result "N=$n" failed "$failed" count
done
bench_done
