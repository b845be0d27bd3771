#!/bin/bash
test_description='STARTTLS endpoints against the real daemons

One node per daemon, each in its own network namespace: pg (PostgreSQL,
starttls postgres), mail (Dovecot: sieve and lmtp), chat (Prosody: xmpp and
xmpp-server), ldap (slapd: ldap), ftp (vsftpd: ftp), sql (MariaDB:
mysql), web (nginx: plain TLS) and mx (Exim: smtp).  The certpull.yaml
of pg, chat, ldap, sql, web and mx is made from its conf/certpull-*.yaml
example: only the paths, the key, the state folder,
grace and the commands are replaced; files, owners, modes and endpoints
are the example'\''s.  For each node: certpull installs a new leaf and its
live check over the protocol passes; openssl s_client -starttls and
check_ssl_cert see the new leaf; an install the daemon cannot use (a key
it cannot read, or a key of another certificate) is rolled back and the
old leaf is served again.  Finally certpush audit reports the leaf each
endpoint serves.'
. "$(dirname "$0")/lib.sh"
. "$SRC/tests/lib-services.sh"
. "$SRC/tests/lib-daemons.sh"

test_have_prereq ROOT || skip_all "needs root"
test_have_prereq NETNS || skip_all "cannot create network namespaces"
test_have_prereq BUILT || skip_all "build certpush and certpull first"
for cmd in openssl jq setpriv dovecot doveadm prosody prosodyctl slapd slapadd \
	ldapmodify vsftpd mariadbd mariadb mariadb-install-db nginx; do
	test_have_prereq "CMD:$cmd" || skip_all "missing $cmd"
done
postgres_bin >/dev/null || skip_all "missing PostgreSQL"
CHECK_SSL_CERT=/usr/lib/nagios/plugins/check_ssl_cert
test -x "$CHECK_SSL_CERT" || skip_all "missing check_ssl_cert (monitoring-plugins-contrib)"

NAMES=DNS:db.example.com,DNS:xmpp.example.com,DNS:ldap.example.com,DNS:mail.example.com
NAMES=$NAMES,DNS:www.example.com
NODES="pg mail chat ldap ftp sql web"
# Exim, unpacked by packaging/install-deps.sh (it conflicts with postfix).
if test -x "$EXIM" && getent passwd Debian-exim >/dev/null; then
	test_set_prereq EXIM
	NODES="$NODES mx"
fi

# The endpoints of each node: PORT/PROTOCOL[/SNI], as in its certpull.yaml.
declare -A EPS=(
	[pg]="5432/postgres"
	[mail]="4190/sieve 24/lmtp"
	[chat]="5222/xmpp/xmpp.example.com 5269/xmpp-server/xmpp.example.com"
	[ldap]="389/ldap"
	[ftp]="21/ftp"
	[sql]="3306/mysql"
	[web]="443/none/www.example.com"
	[mx]="25/smtp/mail.example.com 587/smtp/mail.example.com"
)

# pull NODE [-c CONF] ARGS...: certpull inside NODE (its live checks go to
# the daemon's 127.0.0.1), with NODE/certpull.yaml unless -c is given.
pull () {
	local node=$1 conf=$TRASH/$1/certpull.yaml
	shift
	if test "$1" = -c; then
		conf=$TRASH/$node/$2
		shift 2
	fi
	netns_exec "$node" "$CERTPULL" -c "$conf" "$@" 7>&- 8>&-
}

# bundle NODE LEAF: a bundle of leaf LEAF for NODE (leaf x stays the
# "other" certificate); prints its path.
bundle () {
	source_leaf ca "$2" &&
	"$CERTPUSH" -c certpush.yaml bundle --target "$1" -o "$TRASH/b-$1-$2" >/dev/null &&
	echo "$TRASH/b-$1-$2"
}

# ep_fields EP: "PORT PROTOCOL SNI" of PORT/PROTOCOL[/SNI].
ep_fields () {
	local IFS=/
	set -- $1
	echo "$1 $2 ${3:-}"
}

# served NODE EP: the fingerprint openssl s_client (-starttls) sees there.
served () {
	local port proto sni
	read -r port proto sni <<<"$(ep_fields "$2")"
	if test "$proto" = none; then
		tls_fingerprint --netns "$1" 127.0.0.1 "$port" $sni
	else
		tls_fingerprint --netns "$1" --starttls "$proto" 127.0.0.1 "$port" $sni
	fi
}

# serves_now NODE LEAF: every endpoint of NODE serves LEAF.
serves_now () {
	local fp ep
	fp=$(cert_fingerprint "ca/$2.crt") || return 1
	for ep in ${EPS[$1]}; do
		test "$(served "$1" "$ep")" = "$fp" || return 1
	done
}

serves () {
	wait_until_ 10 serves_now "$1" "$2" && return 0
	echo "$1 does not serve $2 everywhere:"
	for ep in ${EPS[$1]}; do
		echo "  $ep: $(served "$1" "$ep")"
	done
	return 1
}

# check_ssl_cert_sees NODE LEAF: Debian's monitoring plugin, over each
# protocol it knows (not lmtp), finds leaf LEAF, valid for the name and
# chained to the test CA.
check_ssl_cert_sees () {
	local sha1 ep port proto sni host
	# --fingerprint is a regular expression matched against the whole of
	# what openssl prints ("sha1 Fingerprint=AB:CD:..." with OpenSSL 3).
	sha1=$(openssl x509 -noout -fingerprint -sha1 -in "ca/$2.crt" | sed 's/^.*=//')
	for ep in ${EPS[$1]}; do
		read -r port proto sni <<<"$(ep_fields "$ep")"
		test "$proto" != lmtp || continue
		test "$proto" != none || proto=https
		host=${sni:-db.example.com}
		netns_exec "$1" "$CHECK_SSL_CERT" -H 127.0.0.1 -p "$port" -P "$proto" \
			--sni "$host" -m "$host" --xmpphost "$host" --rootcert-file "$TRASH/ca/ca.crt" \
			--fingerprint ".*Fingerprint=$sha1" --ignore-ocsp --ignore-sct --ignore-maximum-validity \
			-t 20 </dev/null 7>&- 8>&- >"cssl.$1.$port" 2>&1 ||
			{ cat "cssl.$1.$port"; return 1; }
		grep "^SSL_CERT OK" "cssl.$1.$port" || { cat "cssl.$1.$port"; return 1; }
	done
}

# from_example EXAMPLE NODE RELOAD [CHECK]: NODE/certpull.yaml from
# conf/EXAMPLE: file paths moved under NODE/tls/, and the node name, state
# folder, trusted key, grace ($GRACE, 5 s), reload and check commands of
# the test.
from_example () {
	local ex=$SRC/conf/$1 node=$2
	sed -e "s|^node: .*|node: $node|" \
	    -e "s|^state_dir: .*|state_dir: $TRASH/$node/state|" \
	    -e "s|^  - ed25519:.*|  - $pub|" \
	    -e "s|^grace: .*|grace: ${GRACE:-5}|" \
	    -e "s|^\(      - path: \)/.*/\([^/]*\)\$|\1$TRASH/$node/tls/\2|" \
	    -e "s|^    reload: .*|    reload: $3|" \
	    -e "s|^    check: .*|    check: ${4:-}|" \
	    "$ex" >"$node/certpull.yaml" &&
	# Only those lines differ from the example.
	! diff "$ex" "$node/certpull.yaml" | grep '^>' |
		grep -Ev '^> (node|state_dir|grace|  - ed25519|      - path|    reload|    check):'
}

# tls_paths NODE: the certificate and key paths of NODE's certpull.yaml.
tls_paths () {
	sed -n -e 's/^      - path: //p' -e 's/^      - {path: \([^,]*\),.*/\1/p' "$1/certpull.yaml"
}

# place NODE LEAF OWNER:GROUP MODE: the first files, as the example wants
# them (certificate root 0644), before the daemon starts.
place () {
	local crt key
	{ read -r crt && read -r key; } <<<"$(tls_paths "$1")"
	install -d -m 0755 "$1/tls" &&
	install -m 0644 "ca/$2.fullchain" "$crt" &&
	install -o "${3%:*}" -g "${3#*:}" -m "$4" "ca/$2.key" "$key"
}

# installed_is NODE LEAF: the node's files hold LEAF (and its key).
installed_is () {
	local crt key
	{ read -r crt && read -r key; } <<<"$(tls_paths "$1")"
	cmp "ca/$2.fullchain" "$crt" &&
	test "$(openssl pkey -in "$key" -pubout)" = "$(openssl pkey -in "ca/$2.key" -pubout)"
}

test_expect_success 'setup: CA, leaves, signing key, certpush.yaml' '
	mkdir -m 0700 keys state src &&
	make_ca ca &&
	for leaf in a b c x; do
		make_cert ca $leaf "$NAMES" || return 1
	done &&
	fp_b=$(cert_fingerprint ca/b.crt) &&
	mkdir -m 0700 src2 && source_leaf ca x src2 &&
	push_keys &&
	for node in $NODES; do
		netns_create $node && mkdir $node || return 1
	done &&
	{
		cat <<-EOF &&
		signing_key: $TRASH/keys/signing.key
		state_dir: $TRASH/state
		ca_file: $TRASH/ca/ca.crt
		certificates:
		EOF
		for item in db xmpp ldap mail www; do
			printf "  - {name: %s, cert: %s, chain: %s, key: %s, names: [%s.example.com]}\n" \
				$item "$TRASH/src/cert.pem" "$TRASH/src/chain.pem" \
				"$TRASH/src/key.pem" $item
		done &&
		printf "  - {name: other, cert: %s, chain: %s, key: %s}\n" \
			"$TRASH/src2/cert.pem" "$TRASH/src2/chain.pem" "$TRASH/src2/key.pem" &&
		echo "targets:" &&
		for t in pg:db mail:mail,other chat:xmpp ldap:ldap ftp:mail,other sql:db \
			web:www,other mx:mail,other; do
			case " $NODES " in *" ${t%%:*} "*) ;; *) continue ;; esac
			node=${t%%:*} &&
			push_target_local $node "${t#*:}" "$TRASH/$node/certpull.yaml" endpoints: &&
			for ep in ${EPS[$node]}; do
				read -r port proto sni <<<"$(ep_fields "$ep")" &&
				printf "      - {address: %s, port: %s, starttls: %s%s}\n" \
					"$(netns_addr $node)" $port $proto "${sni:+, sni: $sni}" || return 1
			done || return 1
		done
	} >certpush.yaml &&
	"$CERTPUSH" -c certpush.yaml check-config
'

test_expect_success 'setup: certpull.yaml of pg, chat, ldap, sql, web from conf/ examples' '
	pgbin=$(postgres_bin) &&
	from_example certpull-postgres.yaml pg "[/usr/bin/setpriv, --reuid=postgres, \
--regid=postgres, --init-groups, $pgbin/pg_ctl, reload, -s, -D, $TRASH/pg/postgres/data]" &&
	from_example certpull-prosody.yaml chat "[/usr/bin/prosodyctl, --config, \
$TRASH/chat/prosody/prosody.cfg.lua, reload]" "[/usr/bin/prosodyctl, --config, \
$TRASH/chat/prosody/prosody.cfg.lua, check, config]" &&
	from_example certpull-slapd.yaml ldap "[/usr/bin/ldapmodify, -Q, -Y, EXTERNAL, -H, \
\"$(slapd_ldapi "$TRASH/ldap/slapd")\", -f, $TRASH/ldap/slapd/reload.ldif]" &&
	from_example certpull-mariadb.yaml sql "[/usr/bin/mariadb, --no-defaults, -S, \
$TRASH/sql/mariadb/run/mysqld.sock, -u, root, -e, \"FLUSH SSL\"]" &&
	nginx_argv="/usr/sbin/nginx, -p, $TRASH/web/nginx/, -c, $TRASH/web/nginx/nginx.conf" &&
	from_example certpull-nginx.yaml web "[$nginx_argv, -s, reload]" "[$nginx_argv, -t, -q]" &&
	if test_have_prereq EXIM; then
		# Exim reloads changed files a few seconds after it sees them.
		GRACE=15 from_example certpull-exim.yaml mx "" \
			"[$EXIM, -C, $TRASH/mx/exim/exim.conf, -bV]" &&
		pull mx check-config
	fi &&
	for node in pg chat ldap sql web; do
		pull $node check-config || return 1
	done
'

# mail and ftp have no example of their own: KEYITEM picks the item of the
# key file (x: another certificate's key, which the daemon cannot pair).
inline_conf () {
	local node=$1 svc=$2 reload=$3 keyitem=${4:-mail}
	pull_conf_head $node "$TRASH/$node/state" "grace: 5" &&
	cat <<-EOF
	  - name: $svc
	    files:
	      - {path: $TRASH/$node/tls/mail.example.com.crt, item: mail, format: fullchain, mode: "0644"}
	      - {path: $TRASH/$node/tls/mail.example.com.key, item: $keyitem, format: key, mode: "0600"}
	    reload: $reload
	    endpoints:
	EOF
	for ep in ${EPS[$node]}; do
		echo "      - {address: 127.0.0.1, port: ${ep%%/*}, starttls: ${ep#*/}, item: mail}"
	done
}

test_expect_success 'setup: certpull.yaml of mail (Dovecot) and ftp (vsftpd)' '
	dovecot_reload="[/usr/bin/doveadm, -c, $TRASH/mail/dovecot/dovecot.conf, reload]" &&
	inline_conf mail dovecot "$dovecot_reload" >mail/certpull.yaml &&
	inline_conf mail dovecot "$dovecot_reload" other >mail/broken.yaml &&
	inline_conf ftp vsftpd "[$TRASH/ftp/vsftpd/restart]" >ftp/certpull.yaml &&
	inline_conf ftp vsftpd "[$TRASH/ftp/vsftpd/restart]" other >ftp/broken.yaml &&
	pull mail check-config && pull ftp check-config
'

test_expect_success 'setup: the daemons, serving leaf a' '
	place pg a postgres:postgres 0600 &&
	place chat a root:prosody 0640 &&
	place ldap a root:openldap 0640 &&
	place sql a root:mysql 0640 &&
	place mail a root:root 0600 &&
	place ftp a root:root 0600 &&
	place web a root:root 0600 &&
	{ ! test_have_prereq EXIM || place mx a root:Debian-exim 0640; } &&
	postgres_start pg "$TRASH/pg/postgres" $(tls_paths pg) &&
	dovecot_mail_start mail "$TRASH/mail/dovecot" $(tls_paths mail) &&
	prosody_start chat "$TRASH/chat/prosody" xmpp.example.com $(tls_paths chat) &&
	slapd_start ldap "$TRASH/ldap/slapd" $(tls_paths ldap) &&
	vsftpd_start ftp "$TRASH/ftp/vsftpd" $(tls_paths ftp) &&
	mariadb_start sql "$TRASH/sql/mariadb" $(tls_paths sql) &&
	# MariaDB refuses a client from an address no account names before
	# TLS (error 1130): the audit from the host needs one, locked.
	mariadb_sql "$TRASH/sql/mariadb" "CREATE USER certpush@'\''%'\'' ACCOUNT LOCK" &&
	mariadb_sql "$TRASH/sql/mariadb" "CREATE USER session@'\''%'\'' IDENTIFIED BY '\''secret'\''" &&
	nginx_start web "$TRASH/web/nginx" $(tls_paths web) &&
	{ ! test_have_prereq EXIM || exim_start mx "$TRASH/mx/exim" $(tls_paths mx); } &&
	for node in $NODES; do
		serves $node a || return 1
	done
'

# install_ok NODE: certpull installs leaf b; its live check over the
# protocol passed; openssl and check_ssl_cert see b.
install_ok () {
	local node=$1 b
	b=$(bundle "$node" b) &&
	pull "$node" install "$b" >"$node/install.out" &&
	cat "$node/install.out" &&
	grep "installed serial" "$node/install.out" &&
	jq -e --arg fp "$fp_b" '.result == "installed" and
		([.served[] | select(.ok and .fingerprint == $fp)] | length) ==
		(.served | length) and (.served | length) > 0' "$node/state/last-outcome.json" &&
	installed_is "$node" b && serves "$node" b && check_ssl_cert_sees "$node" b
}

# install_broken NODE CONF: installing leaf c with CONF fails and is
# rolled back: the files and the served leaf are b again.
install_broken () {
	local node=$1 c
	c=$(bundle "$node" c) &&
	test_expect_code 1 pull "$node" -c "$2" install "$c" >"$node/broken.out" 2>&1
	local rc=$?
	cat "$node/broken.out"
	test $rc = 0 &&
	jq -e '.result == "failed"' "$node/state/last-outcome.json" &&
	installed_is "$node" b && serves "$node" b
}

# session_start NODE FILE CMD...: a client CMD in NODE that reads
# statements from the fifo FILE.in (held open on fd 5) and writes to
# FILE.out: a session that stays open across an install.
session_start () {
	local node=$1 f=$2
	shift 2
	mkfifo "$f.in" || return 1
	netns_exec "$node" "$@" <"$f.in" >"$f.out" 2>&1 7>&- 8>&- &
	session_pid=$!
	exec 5>"$f.in"
}

session_say () {
	printf '%s\n' "$1" >&5
}

# session_end: end of input; the client exits (bounded wait).
session_end () {
	exec 5>&-
	wait_until_ 10 eval '! pid_alive_ $session_pid' || return 1
	wait "$session_pid"
}

# same_session FILE: two answers, from one session (same id), over TLS.
same_session () {
	cat "$1"
	test "$(grep -c '^session' "$1")" = 2 &&
	test "$(grep '^session' "$1" | sort -u | wc -l)" = 1 &&
	grep -q '^session[[:space:]][0-9]*[[:space:]]*[A-Za-z0-9_-]' "$1"
}

# broken_example NODE SED: NODE/broken.yaml, its certpull.yaml edited.
broken_example () {
	sed -e "$2" "$1/certpull.yaml" >"$1/broken.yaml" &&
	! cmp -s "$1/certpull.yaml" "$1/broken.yaml"
}

PG_SESSION="SELECT 'session', pg_backend_pid(), ssl FROM pg_stat_ssl
	WHERE pid = pg_backend_pid() AND ssl;"

test_expect_success 'postgres: certpull installs, PostgreSQL serves the new leaf' '
	test_when_finished "exec 5>&-" &&
	session_start pg pg/session "$pgbin/psql" -X -A -t -F " " -v ON_ERROR_STOP=1 \
		"host=127.0.0.1 user=postgres dbname=postgres sslmode=require" &&
	session_say "$PG_SESSION" &&
	wait_until_ 10 grep -q "^session" pg/session.out &&
	install_ok pg &&
	session_say "$PG_SESSION" &&
	session_end
'

test_expect_success 'postgres: the TLS session opened before the reload is still up' '
	same_session pg/session.out
'

test_expect_success 'postgres: a key PostgreSQL refuses (postgres 0640) is rolled back' '
	broken_example pg "s|mode: \"0600\"|mode: \"0640\"|" &&
	install_broken pg broken.yaml &&
	grep "live-check\|serves" pg/broken.out &&
	test_file_mode "$(tls_paths pg | sed -n 2p)" 0600
'

test_expect_success 'sieve, lmtp: certpull installs, Dovecot serves the new leaf' '
	install_ok mail
'

test_expect_success 'sieve, lmtp: a key of another certificate is rolled back' '
	install_broken mail broken.yaml
'

test_expect_success 'xmpp, xmpp-server: certpull installs, Prosody serves the new leaf' '
	install_ok chat
'

test_expect_success 'xmpp: a key Prosody cannot read (root:root 0640) is rolled back' '
	broken_example chat "s|group: prosody|group: root|" &&
	install_broken chat broken.yaml &&
	test_file_owner "$(tls_paths chat | sed -n 2p)" root:prosody
'

test_expect_success 'ldap: certpull installs, slapd serves the new leaf' '
	install_ok ldap
'

test_expect_success 'ldap: a key slapd cannot read fails the modify, rolled back' '
	broken_example ldap "s|group: openldap|group: root|" &&
	install_broken ldap broken.yaml &&
	grep "reload" ldap/broken.out
'

test_expect_success 'ftp: certpull installs, vsftpd (restarted) serves the new leaf' '
	install_ok ftp
'

test_expect_success 'ftp: a key of another certificate is rolled back' '
	install_broken ftp broken.yaml
'

SQL_SESSION="SELECT 'session', CONNECTION_ID(), VARIABLE_VALUE FROM
	information_schema.SESSION_STATUS WHERE VARIABLE_NAME = 'Ssl_cipher';"

# sql_session_open: the session is connected (after its TLS handshake).
sql_session_open () {
	test "$(mariadb_sql "$TRASH/sql/mariadb" "SELECT COUNT(*) FROM
		information_schema.PROCESSLIST WHERE USER = 'session'" -N -B)" = 1
}

test_expect_success 'mysql: certpull installs, MariaDB serves the new leaf' '
	test_when_finished "exec 5>&-" &&
	session_start sql sql/session mariadb --no-defaults -h 127.0.0.1 -u session \
		-psecret --ssl --skip-reconnect -N -B &&
	session_say "$SQL_SESSION" &&
	wait_until_ 10 sql_session_open &&
	install_ok sql &&
	session_say "$SQL_SESSION" &&
	session_end
'

test_expect_success 'mysql: the TLS session opened before FLUSH SSL is still up' '
	same_session sql/session.out
'

test_expect_success 'mysql: a key MariaDB cannot read fails FLUSH SSL, rolled back' '
	broken_example sql "s|group: mysql|group: root|" &&
	install_broken sql broken.yaml &&
	grep "reload" sql/broken.out
'

test_expect_success 'nginx: certpull installs, nginx serves the new leaf' '
	install_ok web
'

test_expect_success 'nginx: a key of another certificate fails nginx -t, rolled back' '
	broken_example web "/- path: .*\.key\$/,/mode:/s|item: www|item: other|" &&
	install_broken web broken.yaml &&
	grep "check" web/broken.out
'

test_expect_success EXIM 'exim: certpull installs, Exim serves the new leaf (no reload)' '
	install_ok mx &&
	grep "exim: updated" mx/install.out
'

test_expect_success EXIM 'exim: a key of another certificate is rolled back' '
	broken_example mx "/- path: .*\.key\$/,/mode:/s|item: mail|item: other|" &&
	install_broken mx broken.yaml
'

test_expect_success 'certpush audit reports the leaf each endpoint serves' '
	source_leaf ca b &&
	"$CERTPUSH" -c certpush.yaml audit --json >audit.json
	jq . audit.json >/dev/null &&
	for node in $NODES; do
		for ep in ${EPS[$node]}; do
			read -r port proto sni <<<"$(ep_fields "$ep")" &&
			where="$node/$(netns_addr $node):$port${sni:+/$sni}" &&
			jq -e --arg w "$where" --arg fp "$fp_b" --arg p "$proto" \
				".lines[] | select(.where == \$w) | .sha256 == \$fp and
				.starttls == \$p and .reachable and (.mismatch | not) and
				.chain == \"verified\"" audit.json ||
				{ echo "audit line $where:"; jq ".lines[] | select(.where == \"$where\")" audit.json; return 1; }
		done || return 1
	done
'

test_done
