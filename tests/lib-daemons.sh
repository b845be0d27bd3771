#!/bin/bash
# tests/lib-daemons.sh: the other TLS daemons of a mail and web estate, for
# the STARTTLS protocols of certpull's and certpush's endpoints: PostgreSQL,
# Dovecot's ManageSieve and LMTP, Prosody, OpenLDAP slapd, vsftpd and
# MariaDB; and nginx and Exim for their service profiles.  Source after lib.sh and lib-services.sh, whose conventions hold
# here too: every instance lives in DIR under $TRASH, NS is a node made by
# netns_create, each *_start waits (bounded) for its ports and registers its
# stop at exit, prints the log tails on failure and returns 1; each *_reload
# returns once the daemon has acted on it.  Each listens on its standard
# port on every address of its namespace (one namespace each, so that an
# audit from elsewhere reaches it too); DIR holds its config, data, pid and
# logs.
#
# Facts measured on Debian 12 are in /work/shared/SERVICES.md ("More TLS
# services"); the ones a reader of this file needs are next to each daemon.

# dmn_as_ USER CMD...: run CMD as USER with its groups.  Daemons get the
# same through "setpriv ... CMD" in their argv: setpriv execs, so the pid
# daemon_start records stays the daemon's.
dmn_as_ () {
	local user=$1
	shift
	setpriv --reuid="$user" --regid="$user" --init-groups "$@"
}

# dmn_start_ NAME NS DIR LOG TIMEOUT PORTS CMD...: daemon_start CMD in NS
# with its output in LOG, then wait for each of the space-separated PORTS.
dmn_start_ () {
	local name=$1 ns=$2 dir=$3 log=$4 timeout=$5 ports=$6
	shift 6
	# shellcheck disable=SC2086 # PORTS is a list
	DAEMON_NETNS=$ns DAEMON_LOG=$log daemon_start "$name:$dir" "$dir/$name.pid" "$@" &&
	svc_wait_ports_ "$ns" "$timeout" $ports ||
		{ svc_fail_ "$name did not start" "$log"; return 1; }
}

# dmn_reload_signal_ NAME DIR LOG REGEX SIG: send SIG to the daemon and wait
# until one more line of LOG matches REGEX.
dmn_reload_signal_ () {
	local name=$1 dir=$2 log=$3 re=$4 sig=$5 n pid
	n=$(log_count_ "$log" "$re")
	pid=$(daemon_pid "$name:$dir") || { echo "${name}_reload: not running"; return 1; }
	kill "-$sig" "$pid" || return 1
	wait_log_count_ "$log" "$re" "$n" 10 && return 0
	svc_fail_ "${name}_reload: no reload logged" "$log"
}

# ---------------------------------------------------------------------------
# PostgreSQL 15, data DIR/data, sockets DIR/run, log DIR/postgres.log.
#
# Facts: initdb and postgres refuse root; the postmaster stays in the
# foreground.  SIGHUP (pg_ctl reload) re-reads ssl_cert_file and
# ssl_key_file and open sessions survive; a key it refuses (postgres 0600
# and root:postgres 0640 pass; 0640 owned by postgres or root:root 0600 do
# not) only logs "SSL configuration was not reloaded" and keeps the old
# certificate.  Dialogue: SSLRequest, one byte "S", then TLS.

postgres_bin () {
	local d
	for d in /usr/lib/postgresql/*/bin; do :; done
	test -x "$d/postgres" && echo "$d"
}

# postgres_start NS DIR CERT KEY: TLS on 5432 with CERT (fullchain) and KEY.
postgres_start () {
	local ns=$1 dir=$2 bin
	bin=$(postgres_bin) || { echo "postgres_start: no PostgreSQL"; return 1; }
	svc_dir_ "$dir" &&
	install -d -o postgres -g postgres -m 0700 "$dir/data" &&
	install -d -o postgres -g postgres -m 0755 "$dir/run" || return 1
	dmn_as_ postgres "$bin/initdb" -D "$dir/data" -U postgres --auth=trust --no-sync \
		-E UTF8 --no-instructions >"$dir/initdb.log" 2>&1 ||
		{ svc_fail_ "initdb failed" "$dir/initdb.log"; return 1; }
	cat >>"$dir/data/postgresql.conf" <<-EOF
	listen_addresses = '*'
	port = 5432
	unix_socket_directories = '$dir/run'
	ssl = on
	ssl_cert_file = '$3'
	ssl_key_file = '$4'
	fsync = off
	EOF
	dmn_start_ postgres "$ns" "$dir" "$dir/postgres.log" 15 5432 \
		setpriv --reuid=postgres --regid=postgres --init-groups \
		"$bin/postgres" -D "$dir/data"
}

postgres_reload () {
	dmn_reload_signal_ postgres "$1" "$1/postgres.log" 'received SIGHUP' HUP
}

postgres_stop () {
	daemon_stop "postgres:$1"
}

# ---------------------------------------------------------------------------
# Dovecot 2.3 with ManageSieve (4190) and LMTP (24) besides IMAP and POP3:
# lib-services.sh's instance, two more protocols and listeners.  Reload and
# stop are dovecot_reload and dovecot_stop.
#
# Facts: a mismatched pair reloads with rc 0, and every new handshake fails
# afterwards: only a check of the pair before the reload catches it.

# dovecot_mail_start NS DIR CERT KEY
dovecot_mail_start () {
	local ns=$1 dir=$2
	svc_dir_ "$dir/run" && svc_dir_ "$dir/state" &&
	install -d -o 65534 -g 65534 -m 0700 "$dir/mail" || return 1
	echo "test:{PLAIN}secret:65534:65534::$dir/mail/test::" >"$dir/users"
	{
		dovecot_conf_ "$dir" "$3" "$4" |
			sed 's/^protocols = .*/protocols = imap pop3 sieve lmtp/'
		printf '%s\n' 'service managesieve-login {' '  inet_listener sieve {' \
			'    port = 4190' '  }' '}' 'service lmtp {' '  inet_listener lmtp {' \
			'    port = 24' '  }' '}'
	} >"$dir/dovecot.conf" || return 1
	dovecot -n -c "$dir/dovecot.conf" >"$dir/doveconf.out" 2>&1 ||
		{ svc_fail_ "dovecot: bad config" "$dir/doveconf.out"; return 1; }
	DAEMON_NETNS=$ns DAEMON_LOG=$dir/dovecot.log daemon_start "dovecot:$dir" "$dir/dovecot.pid" \
		dovecot -F -c "$dir/dovecot.conf" &&
	svc_wait_ports_ "$ns" 10 143 4190 24 ||
		{ svc_fail_ "dovecot did not start" "$dir/dovecot.log"; return 1; }
}

# ---------------------------------------------------------------------------
# Prosody 0.12, XMPP client (5222) and server (5269) streams for the
# virtual host HOST; config DIR/prosody.cfg.lua, data DIR/data, log
# DIR/prosody.log.
#
# Facts: it refuses to run as root (mod_posix): started as prosody, which
# must read the key (root:prosody 0640).  SIGHUP re-reads the config and
# the certificates ("Reloading configuration file"); streams survive.  An
# unreadable key leaves TLS broken for new streams.

# prosody_start NS DIR HOST CERT KEY
prosody_start () {
	local ns=$1 dir=$2
	svc_dir_ "$dir" &&
	install -d -o prosody -g prosody -m 0750 "$dir/data" || return 1
	cat >"$dir/prosody.cfg.lua" <<-EOF
	pidfile = "$dir/data/prosody.pid"
	data_path = "$dir/data"
	log = { info = "$dir/prosody.log" }
	interfaces = { "*" }
	c2s_ports = { 5222 }
	s2s_ports = { 5269 }
	c2s_require_encryption = true
	s2s_require_encryption = true
	modules_enabled = { "tls", "dialback", "disco" }
	ssl = { certificate = "$4", key = "$5" }
	VirtualHost "$3"
	EOF
	touch "$dir/prosody.log" && chown prosody "$dir/prosody.log" &&
	dmn_start_ prosody "$ns" "$dir" "$dir/prosody.out" 10 "5222 5269" \
		setpriv --reuid=prosody --regid=prosody --init-groups \
		prosody -F --config "$dir/prosody.cfg.lua"
}

prosody_reload () {
	dmn_reload_signal_ prosody "$1" "$1/prosody.log" 'Reloading configuration file' HUP
}

prosody_stop () {
	daemon_stop "prosody:$1"
}

# ---------------------------------------------------------------------------
# OpenLDAP slapd 2.5 (GnuTLS), cn=config in DIR/slapd.d, LDAP on 389 with
# StartTLS, ldapi socket DIR/ldapi (root is the config's manager through
# it, as in Debian's default), log DIR/slapd.log.
#
# Facts: slapd reads the certificate files when olcTLSCertificateFile and
# olcTLSCertificateKeyFile are modified, not when the files change: the
# reload is an ldapmodify of both (same paths are fine); open sessions
# survive.  The key must be readable by openldap.  A failed modify keeps
# the attributes and leaves StartTLS broken until one succeeds.

# slapd_ldapi DIR: the ldapi:// URL of DIR's socket.
slapd_ldapi () {
	echo "ldapi://$(printf %s "$1/ldapi" | sed 's|/|%2F|g')"
}

# slapd_reload_ldif CERT KEY: the modify that makes slapd load the files.
slapd_reload_ldif () {
	printf '%s\n' 'dn: cn=config' 'changetype: modify' \
		'replace: olcTLSCertificateFile' "olcTLSCertificateFile: $1" '-' \
		'replace: olcTLSCertificateKeyFile' "olcTLSCertificateKeyFile: $2" '-'
}

# slapd_start NS DIR CERT KEY
slapd_start () {
	local ns=$1 dir=$2
	svc_dir_ "$dir" &&
	install -d -o openldap -g openldap -m 0750 "$dir/slapd.d" "$dir/run" || return 1
	cat >"$dir/config.ldif" <<-EOF
	dn: cn=config
	objectClass: olcGlobal
	cn: config
	olcPidFile: $dir/run/slapd.pid
	olcTLSCertificateFile: $3
	olcTLSCertificateKeyFile: $4

	dn: cn=schema,cn=config
	objectClass: olcSchemaConfig
	cn: schema

	include: file:///etc/ldap/schema/core.ldif

	dn: olcDatabase={0}config,cn=config
	objectClass: olcDatabaseConfig
	olcDatabase: {0}config
	olcAccess: {0}to * by dn.exact=gidNumber=0+uidNumber=0,cn=peercred,cn=external,cn=auth manage by * break
	EOF
	setpriv --reuid=openldap --regid=openldap --init-groups \
		slapadd -n0 -F "$dir/slapd.d" -l "$dir/config.ldif" >"$dir/slapadd.log" 2>&1 ||
		{ svc_fail_ "slapadd failed" "$dir/slapadd.log"; return 1; }
	slapd_reload_ldif "$3" "$4" >"$dir/reload.ldif" &&
	dmn_start_ slapd "$ns" "$dir" "$dir/slapd.log" 10 389 \
		slapd -d 0 -h "ldap:/// $(slapd_ldapi "$dir")" -F "$dir/slapd.d" \
		-u openldap -g openldap
}

# slapd_reload DIR: the modify of DIR/reload.ldif (the start's paths).
slapd_reload () {
	ldapmodify -Q -Y EXTERNAL -H "$(slapd_ldapi "$1")" -f "$1/reload.ldif" >/dev/null
}

slapd_stop () {
	daemon_stop "slapd:$1"
}

# ---------------------------------------------------------------------------
# vsftpd 3.0, FTP on 21 with AUTH TLS; config DIR/vsftpd.conf.
#
# Facts: certificates are read at start only, SIGHUP does not reload them:
# the "reload" is a restart, which ends open sessions.  root 0600 keys
# work (it reads them before dropping privileges).  It refuses to start
# without secure_chroot_dir, root-owned and not writable by others.

# vsftpd_start NS DIR CERT KEY: also writes DIR/restart, the test's
# "systemctl restart vsftpd": run in the namespace (certpull's reload is),
# it stops the running vsftpd and starts another one, detached, whose pid
# goes to the pid file vsftpd_stop reads.
vsftpd_start () {
	local ns=$1 dir=$2
	svc_dir_ "$dir" && install -d -m 0555 "$dir/empty" || return 1
	cat >"$dir/vsftpd.conf" <<-EOF
	listen=YES
	listen_ipv6=NO
	listen_port=21
	background=NO
	anonymous_enable=NO
	local_enable=YES
	ssl_enable=YES
	rsa_cert_file=$3
	rsa_private_key_file=$4
	secure_chroot_dir=$dir/empty
	seccomp_sandbox=NO
	xferlog_enable=NO
	EOF
	cat >"$dir/restart" <<-EOF
	#!/bin/bash
	# Stop (bounded wait), start detached, wait for the port (bounded;
	# vsftpd exits at once on a key that does not match its certificate).
	pid=\$(cat "$dir/vsftpd.pid")
	kill "\$pid" 2>/dev/null
	for ((i = 0; i < 50; i++)); do kill -0 "\$pid" 2>/dev/null || break; sleep 0.1; done
	setsid vsftpd "$dir/vsftpd.conf" </dev/null >>"$dir/vsftpd.log" 2>&1 &
	echo \$! >"$dir/vsftpd.pid"
	echo \$! >>"$TRASH/.lib/pids"
	for ((i = 0; i < 50; i++)); do
		timeout 1 bash -c 'exec 3<>/dev/tcp/127.0.0.1/21' 2>/dev/null && exit 0
		kill -0 "\$(cat "$dir/vsftpd.pid")" 2>/dev/null || break
		sleep 0.1
	done
	echo "vsftpd did not start again" >&2
	exit 1
	EOF
	chmod 0755 "$dir/restart" &&
	dmn_start_ vsftpd "$ns" "$dir" "$dir/vsftpd.log" 10 21 vsftpd "$dir/vsftpd.conf"
}

vsftpd_stop () {
	daemon_stop "vsftpd:$1"
}

# vsftpd_restart NS DIR
vsftpd_restart () {
	netns_exec "$1" "$2/restart" 7>&- 8>&-
}

# ---------------------------------------------------------------------------
# MariaDB 10.11, data DIR/data, socket DIR/run/mysqld.sock, port 3306, log
# DIR/mariadb.log.
#
# Facts: the server speaks first (handshake v10 with CLIENT_SSL), the
# client asks for TLS with an SSLRequest packet (36 bytes).  "FLUSH SSL" makes
# it load the files again; open sessions survive; a key it cannot use
# fails FLUSH SSL (rc 1) and keeps the old certificate.  The key must be
# readable by mysql.  root@localhost logs in through the socket as root.

# mariadb_start NS DIR CERT KEY
mariadb_start () {
	local ns=$1 dir=$2
	svc_dir_ "$dir" &&
	install -d -o mysql -g mysql -m 0750 "$dir/data" &&
	install -d -o mysql -g mysql -m 0755 "$dir/run" || return 1
	mariadb-install-db --no-defaults --datadir="$dir/data" --user=mysql \
		--skip-test-db >"$dir/install-db.log" 2>&1 ||
		{ svc_fail_ "mariadb-install-db failed" "$dir/install-db.log"; return 1; }
	dmn_start_ mariadb "$ns" "$dir" "$dir/mariadb.log" 20 3306 \
		mariadbd --no-defaults --datadir="$dir/data" --user=mysql \
		--socket="$dir/run/mysqld.sock" --pid-file="$dir/run/mysqld.pid" \
		--bind-address=0.0.0.0 --port=3306 --skip-log-bin \
		--innodb-buffer-pool-size=16M --ssl-cert="$3" --ssl-key="$4"
}

# mariadb_sql DIR SQL [OPTION...]: one statement as root over the socket.
mariadb_sql () {
	local dir=$1 sql=$2
	shift 2
	mariadb --no-defaults -S "$dir/run/mysqld.sock" -u root "$@" -e "$sql"
}

mariadb_reload () {
	mariadb_sql "$1" 'FLUSH SSL'
}

mariadb_stop () {
	daemon_stop "mariadb:$1"
}

# ---------------------------------------------------------------------------
# nginx 1.22, HTTPS on 443 for www.example.com; prefix DIR, config
# DIR/nginx.conf, log DIR/error.log (notice: it logs each signal).
#
# Facts: the master reads the key as root (root 0600 works).  "nginx -s
# reload" loads the whole config first and, with a broken pair, fails
# without signalling; a SIGHUP after "nginx -t" is the reload.  A reload
# closes idle keep-alive connections; requests in flight finish.

# nginx_start NS DIR CERT KEY
nginx_start () {
	local ns=$1 dir=$2
	svc_dir_ "$dir" && svc_dir_ "$dir/tmp" || return 1
	cat >"$dir/nginx.conf" <<-EOF
	pid $dir/nginx.pid;
	error_log $dir/error.log notice;
	worker_processes 1;
	events {
	}
	http {
	    access_log off;
	    client_body_temp_path $dir/tmp;
	    server {
	        listen 443 ssl;
	        server_name www.example.com;
	        ssl_certificate $3;
	        ssl_certificate_key $4;
	        return 200 "ok\n";
	    }
	}
	EOF
	nginx -p "$dir/" -c "$dir/nginx.conf" -t >"$dir/nginx-t.log" 2>&1 ||
		{ svc_fail_ "nginx: bad config" "$dir/nginx-t.log"; return 1; }
	dmn_start_ nginx "$ns" "$dir" "$dir/error.log" 10 443 \
		nginx -p "$dir/" -c "$dir/nginx.conf" -g "daemon off;"
}

nginx_reload () {
	nginx -p "$1/" -c "$1/nginx.conf" -t -q &&
	dmn_reload_signal_ nginx "$1" "$1/error.log" 'signal 1 (SIGHUP) received' HUP
}

nginx_stop () {
	daemon_stop "nginx:$1"
}

# ---------------------------------------------------------------------------
# Exim 4.96 (exim4-daemon-light), SMTP on 25 and 587 with STARTTLS; config
# DIR/exim.conf, spool DIR/spool, logs DIR/log/.
#
# Facts: Debian's exim4-daemon-light conflicts with postfix, which the other
# tests need, so packaging/install-deps.sh unpacks its .deb under $EXIM_ROOT
# instead of installing it, and creates the Debian-exim user (the binary
# looks it up before reading any config).  The daemon loads the
# certificate and key again when the files change: no reload is needed; a
# pair that does not match makes STARTTLS fail for new connections.

EXIM_ROOT=${EXIM_ROOT:-/var/cache/certpush-tests/exim4}
EXIM=$EXIM_ROOT/usr/sbin/exim4

# exim_start NS DIR CERT KEY
exim_start () {
	local ns=$1 dir=$2
	svc_dir_ "$dir" &&
	install -d -o Debian-exim -g Debian-exim -m 0750 "$dir/spool" "$dir/log" || return 1
	cat >"$dir/exim.conf" <<-EOF
	primary_hostname = mail.example.com
	spool_directory = $dir/spool
	log_file_path = $dir/log/%slog
	pid_file_path = $dir/exim.pid
	exim_user = Debian-exim
	exim_group = Debian-exim
	daemon_smtp_ports = 25 : 587
	tls_advertise_hosts = *
	tls_certificate = $3
	tls_privatekey = $4
	acl_smtp_rcpt = acl_check_rcpt
	begin acl
	acl_check_rcpt:
	  deny
	EOF
	"$EXIM" -C "$dir/exim.conf" -bV >"$dir/exim-bV.log" 2>&1 ||
		{ svc_fail_ "exim: bad config" "$dir/exim-bV.log"; return 1; }
	dmn_start_ exim "$ns" "$dir" "$dir/exim.out" 10 "25 587" \
		"$EXIM" -C "$dir/exim.conf" -bdf
}

exim_stop () {
	daemon_stop "exim:$1"
}
