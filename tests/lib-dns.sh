# tests/lib-dns.sh: a DNSSEC-signed test zone, served by nsd (authoritative)
# in node "ns" and resolved by a validating unbound in node "resolver", each
# in its own network namespace.  Sourced by the scripts that need real DNS
# (DANE TLSA and DKIM TXT checks):
#
#	dns_start example.test &&
#	dns_publish "_25._tcp.mail IN TLSA 3 1 1 $hash" &&
#	certpush's dns: { resolver: [$DNS_RESOLVER], trust_anchor: $DNS_ANCHOR }
#
# Facts (../shared/SERVICES.md): ".test" is a built-in static zone of unbound
# (every name NXDOMAIN): unbound.conf says local-zone: "test." nodefault.
# nsd-control reload returns before the reload: we poll the SOA serial.
# After a change, unbound's caches are flushed (a cached NXDOMAIN, or an
# NSEC proof aggressive-nsec reuses, would hide the new record).
#
# dns_add_unsigned adds an unsigned zone to the running nsd and unbound
# (nsd-control addzone with nsd.conf's pattern "unsigned", unbound-control
# stub_add): with no trust anchor over it, unbound answers it insecure
# (NOERROR, no AD flag; no domain-insecure: setting is needed).
#
# Files: $DNS_DIR (under $TRASH/dns): records (the zone's records besides
# SOA and NS, edited by dns_publish and dns_unpublish), ZONE (the zone made
# from them), ZONE.signed (what nsd serves), the keys, nsd.conf, unbound.conf;
# per unsigned zone U: U.records and U.zone.

DNS_ZONE=
DNS_DIR=
DNS_SERIAL=1
DNS_NS=
DNS_RESOLVER=
DNS_ANCHOR=

# dns_zone_text_ ZONE SERIAL RECORDS: the zone: SOA (with SERIAL), NS, then
# the records in file RECORDS; every TTL is $DNS_TTL (default 30 s).
dns_zone_text_ () {
	printf '$ORIGIN %s.\n$TTL %s\n' "$1" "${DNS_TTL:-30}"
	printf '@ IN SOA ns.%s. hostmaster.%s. %s 30 30 3600 5\n' "$1" "$1" "$2"
	printf '@ IN NS ns.%s.\nns IN A %s\n' "$1" "$DNS_NS"
	cat "$3"
}

# dns_sign_: write and sign the zone (NSEC, the keys of dns_start).
dns_sign_ () {
	dns_zone_text_ "$DNS_ZONE" "$DNS_SERIAL" "$DNS_DIR/records" >"$DNS_DIR/$DNS_ZONE" &&
	(cd "$DNS_DIR" && ldns-signzone -o "$DNS_ZONE" -f "$DNS_ZONE.signed" "$DNS_ZONE" \
		"$(cat zsk)" "$(cat ksk)") ||
		{ echo "dns_sign_: ldns-signzone failed"; return 1; }
}

# dns_soa_serial_ [ZONE]: the serial nsd serves now for ZONE (the signed
# zone by default).
dns_soa_serial_ () {
	netns_exec resolver dig +short +time=1 +tries=1 @"$DNS_NS" "${1:-$DNS_ZONE}" SOA 2>/dev/null |
		awk '{ print $3 }'
}

# dns_flush: make unbound forget what it knows of the zone.
dns_flush () {
	local what
	for what in "flush_zone $DNS_ZONE" flush_bogus flush_negative flush_infra\ all; do
		netns_exec resolver unbound-control -c "$DNS_DIR/unbound.conf" $what >/dev/null ||
			{ echo "dns_flush: unbound-control $what failed"; return 1; }
	done
}

# dns_reload_: bump the serial, re-sign, have nsd load it (waiting until it
# serves the new serial), flush unbound.
dns_reload_ () {
	DNS_SERIAL=$((DNS_SERIAL + 1))
	dns_sign_ &&
	netns_exec ns nsd-control -c "$DNS_DIR/nsd.conf" reload "$DNS_ZONE" >/dev/null &&
	wait_until_ 10 eval 'test "$(dns_soa_serial_)" = "$DNS_SERIAL"' ||
		{ echo "dns_reload_: nsd does not serve serial $DNS_SERIAL"; return 1; }
	dns_flush
}

# dns_publish LINE...: add each record line (relative or absolute owner
# names, as in a zone file) and make it live.
dns_publish () {
	printf '%s\n' "$@" >>"$DNS_DIR/records" &&
	dns_reload_
}

# dns_unpublish REGEX: remove the record lines matching REGEX (grep -E), and
# make that live.
dns_unpublish () {
	grep -vE "$1" "$DNS_DIR/records" >"$DNS_DIR/records.new"
	mv "$DNS_DIR/records.new" "$DNS_DIR/records" &&
	dns_reload_
}

# dns_break_signature OWNER TYPE: damage the RRSIG over OWNER's TYPE RRset in
# the signed zone nsd serves (the record stays), so validators find it bogus.
dns_break_signature () {
	local owner=$1 type=$2
	DNS_SERIAL=$((DNS_SERIAL + 1))
	dns_sign_ &&
	awk -v o="$owner" -v t="$type" '
		$1 == o && $4 == "RRSIG" && $5 == t && !done {
			sig = $NF
			c = substr(sig, 10, 1)
			$NF = substr(sig, 1, 9) (c == "A" ? "B" : "A") substr(sig, 11)
			done = 1
		}
		{ print }
		END { if (!done) exit 1 }' "$DNS_DIR/$DNS_ZONE.signed" >"$DNS_DIR/broken" ||
		{ echo "dns_break_signature: no RRSIG over $owner $type"; return 1; }
	mv "$DNS_DIR/broken" "$DNS_DIR/$DNS_ZONE.signed" &&
	netns_exec ns nsd-control -c "$DNS_DIR/nsd.conf" reload "$DNS_ZONE" >/dev/null &&
	wait_until_ 10 eval 'test "$(dns_soa_serial_)" = "$DNS_SERIAL"' &&
	dns_flush
}

# dns_dig NAME TYPE: what the validating resolver answers (dig +dnssec),
# from node "resolver".
dns_dig () {
	netns_exec resolver dig +dnssec +time=2 +tries=1 @"$DNS_RESOLVER" "$1" "$2"
}

# dns_add_unsigned ZONE RECORD...: a second zone, NOT signed, with these
# record lines, served by the same nsd (nsd-control addzone) and resolved by
# the same unbound (unbound-control stub_add).  No trust anchor covers it
# (only $DNS_ZONE's DS is one), so validators answer it insecure: data, no
# AD flag, no SERVFAIL.  Its records are fixed at creation.
dns_add_unsigned () {
	local zone=$1
	shift
	printf '%s\n' "$@" >"$DNS_DIR/$zone.records" &&
	dns_zone_text_ "$zone" 1 "$DNS_DIR/$zone.records" >"$DNS_DIR/$zone.zone" &&
	netns_exec ns nsd-control -c "$DNS_DIR/nsd.conf" addzone "$zone" unsigned >/dev/null &&
	wait_until_ 10 eval 'test "$(dns_soa_serial_ "$zone")" = 1' ||
		{ echo "dns_add_unsigned: nsd does not serve $zone"; cat "$DNS_DIR/nsd.log"; return 1; }
	netns_exec resolver unbound-control -c "$DNS_DIR/unbound.conf" stub_add "$zone" \
		"$DNS_NS" >/dev/null ||
		{ echo "dns_add_unsigned: unbound-control stub_add $zone failed"; return 1; }
	DNS_ZONE=$zone dns_flush
}

dns_nsd_conf_ () {
	cat <<EOF
server:
  ip-address: $DNS_NS
  port: 53
  username: ""
  chroot: ""
  database: ""
  zonesdir: "$DNS_DIR"
  zonelistfile: "$DNS_DIR/zone.list"
  xfrdfile: "$DNS_DIR/xfrd.state"
  xfrdir: "$DNS_DIR"
  pidfile: "$DNS_DIR/nsd.pid"
  logfile: "$DNS_DIR/nsd.log"
  verbosity: 1
remote-control:
  control-enable: yes
  control-interface: "$DNS_DIR/nsd.ctl"
zone:
  name: $DNS_ZONE
  zonefile: "$DNS_DIR/$DNS_ZONE.signed"
pattern:
  name: unsigned
  zonefile: "$DNS_DIR/%s.zone"
EOF
}

dns_unbound_conf_ () {
	cat <<EOF
server:
  interface: $DNS_RESOLVER
  port: 53
  access-control: $NETNS_SUBNET.0/24 allow
  do-daemonize: no
  username: ""
  chroot: ""
  directory: "$DNS_DIR"
  pidfile: "$DNS_DIR/unbound.pid"
  use-syslog: no
  logfile: ""
  verbosity: 1
  val-log-level: 2
  do-ip6: no
  module-config: "validator iterator"
  trust-anchor-file: "$DNS_ANCHOR"
  local-zone: "test." nodefault
  qname-minimisation: no
stub-zone:
  name: "$DNS_ZONE"
  stub-addr: $DNS_NS
remote-control:
  control-enable: yes
  control-interface: "$DNS_DIR/unbound.ctl"
  control-use-cert: no
EOF
}

# dns_start ZONE: nodes "ns" and "resolver", the zone's keys (ECDSA P-256;
# the KSK's DS is $DNS_ANCHOR, the trust anchor for resolvers), the signed
# zone (empty but for SOA, NS), nsd and unbound running, the zone resolved
# securely.  Sets DNS_NS and DNS_RESOLVER (the servers' addresses).
dns_start () {
	DNS_ZONE=$1
	DNS_DIR=$TRASH/dns
	mkdir -p "$DNS_DIR" && : >"$DNS_DIR/records" &&
	netns_create ns && netns_create resolver &&
	DNS_NS=$(netns_addr ns) && DNS_RESOLVER=$(netns_addr resolver) || return 1
	(cd "$DNS_DIR" &&
	 ldns-keygen -a ECDSAP256SHA256 "$DNS_ZONE" >zsk &&
	 ldns-keygen -k -a ECDSAP256SHA256 "$DNS_ZONE" >ksk) ||
		{ echo "dns_start: ldns-keygen failed"; return 1; }
	DNS_ANCHOR=$DNS_DIR/$(cat "$DNS_DIR/ksk").ds
	dns_sign_ && dns_nsd_conf_ >"$DNS_DIR/nsd.conf" &&
	dns_unbound_conf_ >"$DNS_DIR/unbound.conf" || return 1
	DAEMON_NETNS=ns daemon_start nsd "" nsd -d -c "$DNS_DIR/nsd.conf" &&
	DAEMON_NETNS=resolver daemon_start unbound "" unbound -d -c "$DNS_DIR/unbound.conf" ||
		return 1
	wait_until_ 10 eval 'test "$(dns_soa_serial_)" = "$DNS_SERIAL"' ||
		{ echo "dns_start: nsd does not answer"; cat "$DNS_DIR/nsd.log"; return 1; }
	wait_until_ 10 eval 'dns_dig "$DNS_ZONE" SOA | grep -q "flags:.* ad"' ||
		{ echo "dns_start: unbound does not validate $DNS_ZONE"; dns_dig "$DNS_ZONE" SOA;
		  cat "$TRASH/unbound.log"; return 1; }
}
