# tests/lib-nodes.sh: the set-up every push test shares: keys, certpush.yaml
# and certpull.yaml blocks, and a node's sshd that forces "certpull serve".
# Sourced by lib.sh.  A new service's test is a few lines on top of these:
#
#	push_keys --ssh &&
#	{ pull_conf_head mail "$TRASH/mail/state" &&
#	  pull_files_service "$TRASH/mail/site.pem" www haproxy 0600; } >mail/certpull.yaml &&
#	serve_sshd mail "$TRASH/mail/sshd" "$TRASH/mail/certpull.yaml" &&
#	{ push_conf_head && push_target_ssh mail "$(netns_addr mail)" 22 20 www; } >certpush.yaml
#
# Conventions: the signing key is keys/signing.key (its public half in $pub),
# certpush logs in with keys/id_ed25519 and trusts keys/known_hosts, its
# sources are src/cert.pem, src/chain.pem and src/key.pem (source_leaf in
# lib-certs.sh puts a leaf there), its state is state/: all under $TRASH.

# push ARGS...: certpush on node "front" with $TRASH/certpush.yaml.  A script
# that runs certpush otherwise defines its own push after sourcing lib.sh.
push () {
	netns_exec front "$CERTPUSH" -c "$TRASH/certpush.yaml" "$@" 7>&- 8>&-
}

# pull NODE ARGS...: certpull on node NODE with $TRASH/NODE/certpull.yaml.
pull () {
	local node=$1
	shift
	netns_exec "$node" "$CERTPULL" -c "$TRASH/$node/certpull.yaml" "$@" 7>&- 8>&-
}

# push_keys [--ssh]: the signing key, its public half in $pub; with --ssh,
# the SSH key certpush logs in with too.  keys/ must exist (mode 0700).
push_keys () {
	"$CERTPUSH" keygen -o "$TRASH/keys/signing.key" >"$TRASH/keygen.out" &&
	pub=$(sed -n "s/^- //p" "$TRASH/keygen.out") &&
	test -n "$pub" || { echo "push_keys: no public key from certpush keygen"; return 1; }
	test "${1:-}" != --ssh ||
		ssh-keygen -q -t ed25519 -N "" -C certpush -f "$TRASH/keys/id_ed25519"
}

# push_conf_head [--cert NAME] [--names LIST] [--also NAME DIR]...
#   [--dkim KEY SELECTOR DOMAIN] [LINE...]: certpush.yaml up to "targets:":
# the key, the state, each LINE (top-level settings such as "concurrency:
# 16"), one certificate NAME (default www) from src/ (LIST: its "names"),
# each --also certificate from DIR (as source_leaf CA LEAF DIR fills it),
# and with --dkim one DKIM key "dkim".  Targets follow: push_target_local,
# push_target_ssh.
push_conf_head () {
	local cert=www names= dkim=() also=()
	while :; do
		case ${1:-} in
		--cert) cert=$2; shift 2 ;;
		--names) names=$2; shift 2 ;;
		--also) also+=("$2" "$3"); shift 3 ;;
		--dkim) dkim=("$2" "$3" "$4"); shift 4 ;;
		*) break ;;
		esac
	done
	cat <<-EOF
	signing_key: $TRASH/keys/signing.key
	state_dir: $TRASH/state
	EOF
	test $# = 0 || printf '%s\n' "$@"
	cat <<-EOF
	certificates:
	  - name: $cert
	    cert: $TRASH/src/cert.pem
	    chain: $TRASH/src/chain.pem
	    key: $TRASH/src/key.pem
	EOF
	test -z "$names" || echo "    names: [$names]"
	set -- "${also[@]}"
	while test $# -ge 2; do
		printf '  - name: %s\n    cert: %s/cert.pem\n    chain: %s/chain.pem\n    key: %s/key.pem\n' \
			"$1" "$2" "$2" "$2"
		shift 2
	done
	test ${#dkim[@]} = 0 || cat <<-EOF
	dkim:
	  - name: dkim
	    key: ${dkim[0]}
	    selector: ${dkim[1]}
	    domain: ${dkim[2]}
	EOF
	echo "targets:"
}

# push_target_local NAME ITEMS [CERTPULL_CONFIG [LINE...]]: a local target;
# with CERTPULL_CONFIG, run $CERTPULL with that configuration.  ITEMS: "www,
# dkim".  Each LINE (such as "endpoints:") is added to it.
push_target_local () {
	local line
	printf '  - name: %s\n    type: local\n' "$1"
	test -z "${3:-}" || printf '    certpull: %s\n    certpull_config: %s\n' "$CERTPULL" "$3"
	printf '    items: [%s]\n' "$2"
	shift 3 2>/dev/null || shift $#
	for line in "$@"; do
		printf '    %s\n' "$line"
	done
}

# push_target_ssh NAME HOST PORT TIMEOUT ITEMS [LINE...]: an ssh target
# reached with keys/id_ed25519 and keys/known_hosts; each LINE (such as
# "user: certpull") is added to it.
push_target_ssh () {
	local line
	printf '  - name: %s\n    host: %s\n    port: %s\n' "$1" "$2" "$3"
	printf '    identity: %s\n    known_hosts: %s\n' "$TRASH/keys/id_ed25519" "$TRASH/keys/known_hosts"
	printf '    timeout: %s\n    items: [%s]\n' "$4" "$5"
	shift 5
	for line in "$@"; do
		printf '    %s\n' "$line"
	done
}

# pull_conf_head NODE STATE_DIR [LINE...]: certpull.yaml up to "services:"
# for NODE, trusting $pub; each LINE (such as "grace: 10") is a top-level
# setting.  Services follow: pull_*_service.
pull_conf_head () {
	printf 'node: %s\nstate_dir: %s\ntrusted_keys: [%s]\n' "$1" "$2" "$pub"
	shift 2
	test $# = 0 || printf '%s\n' "$@"
	echo "services:"
}

# pull_files_service FILE ITEM FORMAT MODE [NAME [LINE...]]: a service NAME
# (default files) with one file and no reload; each LINE (such as "reload:
# [/bin/true]") is added to the service.
pull_files_service () {
	local line
	printf '  - name: %s\n    files:\n' "${5:-files}"
	printf '      - { path: %s, item: %s, format: %s, mode: "%s" }\n' "$1" "$2" "$3" "$4"
	shift 5 2>/dev/null || shift $#
	for line in "$@"; do
		printf '    %s\n' "$line"
	done
}

# pull_haproxy_service FILE HAPROXY_DIR [check] [reload] [sni=NAME]
#   [name=NAME] [item=ITEM] [LINE...]: HAProxy (haproxy_start's HAPROXY_DIR)
# serving FILE (item www unless ITEM) on 127.0.0.1:443, told by its runtime
# API; "check" adds haproxy -c, "reload" a USR2 to the running master, sni=
# the name probed.  Other arguments are added to the service as lines,
# before its endpoints.
pull_haproxy_service () {
	local file=$1 dir=$2 name=haproxy item=www sni= check= reload= lines=() arg
	shift 2
	for arg in "$@"; do
		case $arg in
		check) check=t ;;
		reload) reload=t ;;
		sni=*) sni=${arg#sni=} ;;
		name=*) name=${arg#name=} ;;
		item=*) item=${arg#item=} ;;
		*) lines+=("$arg") ;;
		esac
	done
	printf '  - name: %s\n    files:\n' "$name"
	printf '      - { path: %s, item: %s, format: haproxy, mode: "0600" }\n' "$file" "$item"
	for arg in "${lines[@]}"; do
		printf '    %s\n' "$arg"
	done
	test -z "$check" ||
		printf '    check: [/usr/sbin/haproxy, -c, -q, -f, %s/haproxy.cfg]\n' "$dir"
	printf '    haproxy_socket: %s/admin.sock\n' "$dir"
	test -z "$reload" ||
		printf '    reload: [/bin/kill, -USR2, "%s"]\n' "$(cat "$dir/haproxy.pid")"
	printf '    endpoints:\n      - { address: 127.0.0.1, port: 443%s }\n' "${sni:+, sni: $sni}"
}

# pull_mail_services CERTS_DIR NODE_DIR [sni=NAME]: Postfix (postfix.pem) and
# Dovecot (dovecot.crt, dovecot.key) as postfix_start and dovecot_start run
# them from NODE_DIR/postfix and NODE_DIR/dovecot, their files in CERTS_DIR,
# every listener probed (sni= for the POP3S one).
pull_mail_services () {
	local certs=$1 dir=$2 sni=${3:-}
	sni=${sni#sni=}
	cat <<-EOF
	  - name: postfix
	    files:
	      - { path: $certs/postfix.pem, item: www, format: key+chain, mode: "0600" }
	    reload: [/usr/sbin/postfix, -c, $dir/postfix/etc, reload]
	    endpoints:
	      - { address: 127.0.0.1, port: 25, starttls: smtp }
	      - { address: 127.0.0.1, port: 587, starttls: smtp }
	  - name: dovecot
	    files:
	      - { path: $certs/dovecot.crt, item: www, format: fullchain, mode: "0644" }
	      - { path: $certs/dovecot.key, item: www, format: key, mode: "0600" }
	    reload: [/usr/bin/doveadm, -c, $dir/dovecot/dovecot.conf, reload]
	    endpoints:
	      - { address: 127.0.0.1, port: 993 }
	      - { address: 127.0.0.1, port: 995${sni:+, sni: $sni} }
	      - { address: 127.0.0.1, port: 143, starttls: imap }
	      - { address: 127.0.0.1, port: 110, starttls: pop3 }
	EOF
}

# mail_start NODE LEAF CERTS_DIR DIR: Postfix and Dovecot in node NODE (run
# from DIR/postfix and DIR/dovecot) serving leaf LEAF of the test CA ca/ from
# CERTS_DIR/postfix.pem, dovecot.crt and dovecot.key: the node that
# pull_mail_services CERTS_DIR DIR configures.
mail_start () {
	local node=$1 leaf=$TRASH/ca/$2 certs=$3 dir=$4
	mkdir -p "$certs" &&
	install -m 0600 "$leaf.pem" "$certs/postfix.pem" &&
	install -m 0644 "$leaf.fullchain" "$certs/dovecot.crt" &&
	install -m 0600 "$leaf.key" "$certs/dovecot.key" &&
	postfix_start "$node" "$dir/postfix" "$certs/postfix.pem" &&
	dovecot_start "$node" "$dir/dovecot" "$certs/dovecot.crt" "$certs/dovecot.key"
}

# serve_sshd NODE DIR CONFIG [CMD]: sshd in node NODE (port $SSHD_PORT or 22,
# its files in DIR) whose one authorized key, keys/id_ed25519, is forced to
# run "certpull -c CONFIG serve" (or CMD); its host key goes into
# keys/known_hosts unless already there.
serve_sshd () {
	local line
	sshd_start "$1" "$2" \
		"restrict,command=\"${4:-$CERTPULL -c $3 serve}\" $(cat "$TRASH/keys/id_ed25519.pub")" &&
	line=$(sshd_known_hosts_line "$(netns_addr "$1")" "$2") || return 1
	grep -qxF "$line" "$TRASH/keys/known_hosts" 2>/dev/null ||
		echo "$line" >>"$TRASH/keys/known_hosts"
}

# pushes: how many pushes the watch daemon (certpush run, its log in
# $TRASH/certpush-run.log as daemon_start writes it) has logged: one line
# "N of M targets ok" each, once every target answered.
pushes () {
	log_count_ "$TRASH/certpush-run.log" "targets ok"
}

# pushes_become N: the daemon has pushed N times in all, and no more after
# a further quiet moment.  The moment only gives an extra push the chance to
# show: a loaded machine can miss one, never fail a correct daemon.
pushes_become () {
	wait_until_ 20 eval "test \"\$(pushes)\" -ge $1" &&
	sleep 2 &&
	test "$(pushes)" = "$1" && return 0
	echo "expected $1 pushes, saw $(pushes)"
	return 1
}
