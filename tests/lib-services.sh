#!/bin/bash
# tests/lib-services.sh: run the real daemons (HAProxy, Postfix, Dovecot,
# OpenDKIM, sshd) for integration tests.  Source after lib.sh.
#
# Every instance lives in a directory DIR under $TRASH: its config, pid
# file, sockets and logs; nothing in /etc is read or written, apart from
# /run/sshd (see sshd_start).  NS is a node made by netns_create, or empty
# for the host's namespace (real ports there: avoid).  Each *_start waits
# (bounded) until its ports answer, registers its stop at exit, and on
# failure prints the log tail as TAP comments and returns 1.  Each *_reload
# returns once the daemon has acted on it; new connections may still see the
# old certificate for a moment (check with wait_for_fingerprint).
#
# These functions print on failure only; call them inside test bodies.

# svc_dir_ DIR: create DIR 0755, whatever the umask: the daemons' own users
# (postfix, dovecot, opendkim) must traverse it.
svc_dir_ () {
	mkdir -p "$1" && chmod 0755 "$1"
}

# svc_fail_ MSG LOG...: report a failed start with the last lines of each LOG.
svc_fail_ () {
	local msg=$1 log
	shift
	echo "# $msg" >&2
	for log in "$@"; do
		test -s "$log" || continue
		echo "# --- tail of $log" >&2
		tail -n 25 "$log" | sed 's/^/#   /' >&2
	done
	return 1
}

# svc_wait_ports_ NS TIMEOUT PORT...: wait for each port on the node's
# loopback (from inside its namespace: no bridge or address needed).
svc_wait_ports_ () {
	local ns=$1 timeout=$2 port
	shift 2
	for port in "$@"; do
		NETNS=$ns wait_for_port 127.0.0.1 "$port" "$timeout" || return 1
	done
}

svc_exec_ () {
	local ns=$1
	shift
	if test -n "$ns"; then
		netns_exec "$ns" "$@"
	else
		"$@"
	fi
}

# log_count_ FILE REGEX: how many lines of FILE match (0 if no file).
log_count_ () {
	local n
	n=$(grep -c -- "$2" "$1" 2>/dev/null)
	echo "${n:-0}"
}

log_count_gt_ () {
	test "$(log_count_ "$1" "$2")" -gt "$3"
}

# wait_log_count_ FILE REGEX N TIMEOUT: wait until more than N lines match.
wait_log_count_ () {
	wait_until_ "$4" log_count_gt_ "$1" "$2" "$3"
}

# ---------------------------------------------------------------------------
# HAProxy 2.6, master-worker, in the foreground of a daemon_start job.
#
# Facts: the master CLI's "reload" answers nothing in 2.6 and the master
# socket refuses connections for a moment while the master re-executes; a
# reload that fails (bad cert on disk) leaves the old worker serving, visible
# only as "[failed: N]" in "show proc".  API cert changes live in memory only.

# haproxy_start NS DIR CRT_PEM: TLS frontend on :443 (HAPROXY_PORT) with
# "crt CRT_PEM", answering every HTTP request 200 "ok"; admin socket
# DIR/admin.sock, master socket DIR/master.sock, log DIR/haproxy.log.
haproxy_start () {
	local ns=$1 dir=$2 crt=$3 port=${HAPROXY_PORT:-443}
	svc_dir_ "$dir" || return 1
	cat >"$dir/haproxy.cfg" <<EOF
global
	stats socket $dir/admin.sock mode 600 level admin expose-fd listeners
	log stderr format short local0 info
defaults
	mode http
	log global
	timeout connect 5s
	timeout client 10s
	timeout server 10s
frontend tls
	bind :$port ssl crt $crt
	http-request return status 200 content-type text/plain string ok
EOF
	haproxy -c -f "$dir/haproxy.cfg" >"$dir/haproxy.log" 2>&1 ||
		{ svc_fail_ "haproxy: bad config" "$dir/haproxy.log"; return 1; }
	DAEMON_NETNS=$ns DAEMON_LOG=$dir/haproxy.log daemon_start "haproxy:$dir" "$dir/haproxy.pid" \
		haproxy -W -db -S "$dir/master.sock,mode,600" -f "$dir/haproxy.cfg" &&
	svc_wait_ports_ "$ns" 10 "$port" &&
	wait_until_ 5 test -S "$dir/admin.sock" ||
		{ svc_fail_ "haproxy did not start" "$dir/haproxy.log"; return 1; }
}

# haproxy_master DIR CMD / haproxy_cli DIR CMD: one command to the master or
# admin socket; prints the answer.
haproxy_master () {
	echo "$2" | timeout 5 socat -t 5 - "UNIX-CONNECT:$1/master.sock"
}

haproxy_cli () {
	echo "$2" | timeout 5 socat -t 5 - "UNIX-CONNECT:$1/admin.sock"
}

# haproxy_reloads_ DIR: "RELOADS FAILED" of the master line of "show proc".
haproxy_reloads_ () {
	haproxy_master "$1" "show proc" 2>/dev/null |
		sed -n 's/^[0-9][0-9]* *master *\([0-9][0-9]*\) *\[failed: *\([0-9][0-9]*\)\].*/\1 \2/p'
}

# haproxy_has_new_worker_ DIR: "show proc" lists a worker of this generation
# (reload count 0); old ones are listed with their count.
haproxy_has_new_worker_ () {
	haproxy_master "$1" "show proc" 2>/dev/null | grep -q '^[0-9][0-9]* *worker *0 '
}

# haproxy_reload DIR: check the config (a broken one would fail silently),
# reload via the master socket, wait for the reload count to move and a new
# worker to be listed, and fail if HAProxy counted the reload as failed.
haproxy_reload () {
	local dir=$1 before after out
	if ! out=$(haproxy -c -f "$dir/haproxy.cfg" 2>&1); then
		printf 'haproxy_reload: config check failed:\n%s\n' "$out"
		return 1
	fi
	before=$(haproxy_reloads_ "$dir")
	test -n "$before" || { echo "haproxy_reload: master socket not answering"; return 1; }
	haproxy_master "$dir" reload >/dev/null 2>&1
	wait_until_ 10 eval 'after=$(haproxy_reloads_ "$dir") && test -n "$after" &&
		test "${after% *}" -gt "${before% *}"' ||
		{ echo "haproxy_reload: no reload seen"; return 1; }
	test "${after#* }" = "${before#* }" &&
	wait_until_ 10 haproxy_has_new_worker_ "$dir" && return 0
	echo "haproxy_reload: reload failed ($after)"
	haproxy_master "$dir" "show proc"
	return 1
}

# haproxy_set_cert DIR CRT_PATH PEM_FILE: runtime API swap of the cert
# loaded as CRT_PATH (exactly the crt path of the config) with PEM_FILE
# (key + chain).  Aborts the transaction on failure.  Memory only: write the
# file too if a later reload must keep it.
haproxy_set_cert () {
	local dir=$1 crt=$2 out
	out=$(printf 'set ssl cert %s <<\n%s\n\n' "$crt" "$(grep -v '^$' "$3")" |
		timeout 5 socat -t 5 - "UNIX-CONNECT:$dir/admin.sock") &&
	case $out in *"Transaction created"*|*"Transaction updated"*) ;; *) false ;; esac &&
	out=$(haproxy_cli "$dir" "commit ssl cert $crt") &&
	case $out in *Success*) ;; *) false ;; esac && return 0
	echo "haproxy_set_cert: $out"
	haproxy_cli "$dir" "abort ssl cert $crt" >/dev/null 2>&1
	return 1
}

haproxy_stop () {
	daemon_stop "haproxy:$1"
}

# ---------------------------------------------------------------------------
# Postfix 3.7 with its own config directory DIR/etc, queue DIR/queue, data
# DIR/data, log DIR/maillog.
#
# Facts: the data directory must be owned by postfix (master's lock file is
# created there as postfix); the queue directory root 0755 and "postfix
# start" creates the subdirectories (post-install create-missing).  No
# chroot: it would need copies of /etc files in the queue.  "postfix start"
# daemonizes the master (new session) after waiting for its start status;
# startup takes ~2 s, mostly the integrity checks.  Reload is a SIGHUP: the
# master logs "reload" when it acts on it.

postfix_main_cf_ () {
	cat <<EOF
compatibility_level = 3.6
queue_directory = $1/queue
data_directory = $1/data
myhostname = mail.test
mydomain = test
mydestination =
inet_interfaces = all
inet_protocols = ipv4
alias_maps =
alias_database =
maillog_file = $1/maillog
maillog_file_prefixes = $1
smtpd_tls_chain_files = $2
smtpd_tls_security_level = may
smtpd_tls_loglevel = 1
EOF
}

postfix_master_cf_ () {
	cat <<'EOF'
25        inet  n       -       n       -       -       smtpd
587       inet  n       -       n       -       -       smtpd
  -o smtpd_tls_security_level=encrypt
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOF
}

# postfix_start NS DIR CHAIN_FILE: STARTTLS on 25 (may) and 587 (encrypt)
# with smtpd_tls_chain_files = CHAIN_FILE (key, leaf, chain in one file).
postfix_start () {
	local ns=$1 dir=$2 chain=$3
	svc_dir_ "$dir/etc" && svc_dir_ "$dir/queue" &&
	install -d -o postfix -g postfix -m 0700 "$dir/data" || return 1
	postfix_main_cf_ "$dir" "$chain" >"$dir/etc/main.cf" &&
	postfix_master_cf_ >"$dir/etc/master.cf" || return 1
	at_exit "postfix_stop '$dir'"
	svc_exec_ "$ns" postfix -c "$dir/etc" start >"$dir/postfix.log" 2>&1 7>&- 8>&- &&
	svc_wait_ports_ "$ns" 10 25 587 ||
		{ svc_fail_ "postfix did not start" "$dir/postfix.log" "$dir/maillog"; return 1; }
}

# postfix_master_pid DIR: the running master's pid.
postfix_master_pid () {
	local pid
	pid=$(awk '{print $1; exit}' "$1/queue/pid/master.pid" 2>/dev/null) &&
	test -n "$pid" && pid_alive_ "$pid" && echo "$pid"
}

# postfix_reload DIR: reload and wait until the master logged it.
postfix_reload () {
	local dir=$1 n
	n=$(log_count_ "$dir/maillog" 'postfix/master\[.*\]: reload')
	postfix -c "$dir/etc" reload >>"$dir/postfix.log" 2>&1 7>&- 8>&- || return 1
	wait_log_count_ "$dir/maillog" 'postfix/master\[.*\]: reload' "$n" 10 && return 0
	svc_fail_ "postfix_reload: no reload logged" "$dir/maillog"
}

# postfix_stop DIR: "postfix stop" waits up to 5 s itself; make sure.
postfix_stop () {
	local pid
	pid=$(postfix_master_pid "$1") || return 0
	postfix -c "$1/etc" stop >>"$1/postfix.log" 2>&1
	stop_pid_ "$pid" 5
}

# ---------------------------------------------------------------------------
# Dovecot 2.3, config DIR/dovecot.conf, base_dir DIR/run, log DIR/dovecot.log.
#
# Facts: one-line blocks ("inet_listener imap { port = 143 }") are a syntax
# error; without ssl_dh DHE-only clients fail; state_dir and instance_name
# keep it off /var/lib/dovecot.  "doveadm reload" only sends SIGHUP: the
# master logs "SIGHUP received" when it acts on it.  Login processes are
# per connection, so the next connection after a reload gets the new cert.

# dovecot_start NS DIR CERT KEY: IMAP 143 (STARTTLS), IMAPS 993, POP3 110
# (STARTTLS), POP3S 995, ssl = required; one user "test" password
# "secret" (uid/gid 65534, mail under DIR/mail).
dovecot_start () {
	local ns=$1 dir=$2 cert=$3 key=$4
	svc_dir_ "$dir/run" && svc_dir_ "$dir/state" &&
	install -d -o 65534 -g 65534 -m 0700 "$dir/mail" || return 1
	echo "test:{PLAIN}secret:65534:65534::$dir/mail/test::" >"$dir/users"
	dovecot_conf_ "$dir" "$cert" "$key" >"$dir/dovecot.conf" || return 1
	dovecot -n -c "$dir/dovecot.conf" >"$dir/doveconf.out" 2>&1 ||
		{ svc_fail_ "dovecot: bad config" "$dir/doveconf.out"; return 1; }
	DAEMON_NETNS=$ns DAEMON_LOG=$dir/dovecot.log daemon_start "dovecot:$dir" "$dir/dovecot.pid" \
		dovecot -F -c "$dir/dovecot.conf" &&
	svc_wait_ports_ "$ns" 10 143 993 110 995 ||
		{ svc_fail_ "dovecot did not start" "$dir/dovecot.log"; return 1; }
}

dovecot_conf_ () {
	cat <<EOF
instance_name = $(basename "$1")-$$
base_dir = $1/run
state_dir = $1/state
log_path = $1/dovecot.log
protocols = imap pop3
listen = *
ssl = required
ssl_cert = <$2
ssl_key = <$3
ssl_dh = </usr/share/dovecot/dh.pem
auth_mechanisms = plain
passdb {
  driver = passwd-file
  args = $1/users
}
userdb {
  driver = passwd-file
  args = $1/users
}
mail_location = maildir:~/Maildir
first_valid_uid = 1
default_internal_user = dovecot
default_login_user = dovenull
service imap-login {
  inet_listener imap {
    port = 143
  }
  inet_listener imaps {
    port = 993
    ssl = yes
  }
}
service pop3-login {
  inet_listener pop3 {
    port = 110
  }
  inet_listener pop3s {
    port = 995
    ssl = yes
  }
}
EOF
}

# dovecot_reload DIR: reload and wait until the master acted on it.
dovecot_reload () {
	local dir=$1 n
	n=$(log_count_ "$dir/dovecot.log" 'SIGHUP received')
	doveadm -c "$dir/dovecot.conf" reload || return 1
	wait_log_count_ "$dir/dovecot.log" 'SIGHUP received' "$n" 10 && return 0
	svc_fail_ "dovecot_reload: no reload logged" "$dir/dovecot.log"
}

dovecot_stop () {
	daemon_stop "dovecot:$1"
}

# ---------------------------------------------------------------------------
# OpenDKIM, offline: "opendkim -t" signs or verifies one message and exits.
#
# Facts: RequireSafeKeys judges the key against the uid that runs opendkim:
# run as root, only a root-owned 0600 key passes (root:opendkim 0640 is
# refused because group opendkim has other members, opendkim:opendkim 0600
# because root is not the owner); every parent directory must be neither
# group- nor world-writable (sticky bit or not).  So we run it as the
# opendkim user with "UserID opendkim", as Debian's daemon reads keys from
# a KeyTable: opendkim:opendkim 0600 and root:opendkim 0640 pass, root 0600
# does not.  "opendkim -t" prints everything on stdout and exits 0 even when
# verification fails: read its words.  TestPublicKeys replaces DNS: lines
# "SELECTOR._domainkey.DOMAIN v=DKIM1; k=rsa; p=BASE64".

# opendkim_setup DIR KEYFILE SELECTOR DOMAIN: DIR/sign.conf signs as
# SELECTOR/DOMAIN with KEYFILE; DIR/verify.conf verifies against the public
# half of KEYFILE (read now, as root: call again after replacing the key).
opendkim_setup () {
	local dir=$1 key=$2 sel=$3 dom=$4 pub
	svc_dir_ "$dir" || return 1
	cat >"$dir/sign.conf" <<EOF
Mode s
Domain $dom
Selector $sel
KeyFile $key
Canonicalization relaxed/simple
RequireSafeKeys yes
Syslog no
UserID opendkim
EOF
	pub=$(openssl pkey -in "$key" -pubout -outform DER | base64 -w 0) || return 1
	echo "$sel._domainkey.$dom v=DKIM1; k=rsa; p=$pub" >"$dir/testkeys" &&
	printf '%s\n' 'Mode v' "TestPublicKeys $dir/testkeys" 'Syslog no' \
		'UserID opendkim' >"$dir/verify.conf"
}

# opendkim_run_ DIR CONF MESSAGE: run opendkim -t as the opendkim user on a
# copy of MESSAGE it can read.  Its output has CRLF line ends: dropped.
opendkim_run_ () {
	local dir=$1 conf=$2 msg
	msg=$dir/message.$$
	install -m 0644 "$3" "$msg" || return 1
	setpriv --reuid=opendkim --regid=opendkim --init-groups \
		opendkim -x "$dir/$conf" -t "$msg" 2>&1 | tr -d '\r'
	rm -f "$msg"
}

# opendkim_sign DIR MESSAGE: print the DKIM-Signature header field (with its
# continuation lines) OpenDKIM makes for MESSAGE; fail, showing why, if none.
opendkim_sign () {
	local out
	out=$(opendkim_run_ "$1" sign.conf "$2")
	case $out in
	*DKIM-Signature:*) printf '%s\n' "$out" |
		awk '/^DKIM-Signature:/ { p = 1; print; next } p && /^[ \t]/ { print; next } { p = 0 }' ;;
	*) echo "opendkim_sign: no signature: $out" >&2; return 1 ;;
	esac
}

# opendkim_verify DIR SIGNED_MESSAGE: succeed if OpenDKIM verifies the
# signature against DIR/testkeys; prints OpenDKIM's verdict.
opendkim_verify () {
	local out
	out=$(opendkim_run_ "$1" verify.conf "$2")
	printf '%s\n' "$out" | grep 'verification' || printf '%s\n' "$out"
	case $out in
	*"verification ("*") succeeded"*) return 0 ;;
	esac
	return 1
}

# ---------------------------------------------------------------------------
# OpenSSH sshd in the foreground (-D -e) of a daemon_start job.
#
# Facts: sshd needs its privilege separation directory /run/sshd (compiled
# in; Debian's init script creates it), so we create it if missing.
# StrictModes checks every directory from authorized_keys up to /, so DIR
# must not be under /tmp (see $TRASH).  The forced command runs through the
# account's shell, and bash started by sshd reads $HOME/.bashrc (root's runs
# a slow version manager here): "SetEnv HOME=DIR/home" (an empty directory)
# overrides HOME after sshd sets it from the passwd entry, so bash finds no
# .bashrc, without touching /etc/passwd or root's home.

# sshd_start NS DIR AUTHORIZED_KEYS_LINE...: port 22 (or $SSHD_PORT; more
# sshd_config lines in $SSHD_EXTRA, e.g. "Subsystem sftp internal-sftp"), host
# key DIR/ssh_host_ed25519_key, only public keys from DIR/authorized_keys,
# root only with forced commands ($SSHD_ROOT_LOGIN overrides: "no"), log DIR/sshd.log.
sshd_start () {
	local ns=$1 dir=$2 port=${SSHD_PORT:-22}
	shift 2
	svc_dir_ "$dir" && svc_dir_ "$dir/home" || return 1
	test -d /run/sshd || install -d -m 0755 /run/sshd || return 1
	test -f "$dir/ssh_host_ed25519_key" ||
		ssh-keygen -q -t ed25519 -N '' -C '' -f "$dir/ssh_host_ed25519_key" || return 1
	(umask 077 && printf '%s\n' "$@" >"$dir/authorized_keys") &&
	echo "$port" >"$dir/port" &&
	sshd_config_ "$dir" "$port" >"$dir/sshd_config" || return 1
	/usr/sbin/sshd -t -f "$dir/sshd_config" >"$dir/sshd.log" 2>&1 ||
		{ svc_fail_ "sshd: bad config" "$dir/sshd.log"; return 1; }
	DAEMON_NETNS=$ns DAEMON_LOG=$dir/sshd.log daemon_start "sshd:$dir" "$dir/sshd.pid" \
		/usr/sbin/sshd -D -e -f "$dir/sshd_config" &&
	svc_wait_ports_ "$ns" 10 "$port" ||
		{ svc_fail_ "sshd did not start" "$dir/sshd.log"; return 1; }
}

sshd_config_ () {
	cat <<EOF
Port $2
AddressFamily inet
HostKey $1/ssh_host_ed25519_key
PidFile none
AuthorizedKeysFile $1/authorized_keys
AuthenticationMethods publickey
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
PermitRootLogin ${SSHD_ROOT_LOGIN:-forced-commands-only}
StrictModes yes
PermitUserEnvironment no
PrintMotd no
PrintLastLog no
MaxStartups 100
LogLevel VERBOSE
SetEnv HOME=$1/home
${SSHD_EXTRA:-}
EOF
}

# sshd_known_hosts_line ADDR DIR: the known_hosts line for DIR's host key
# as seen at ADDR ("[ADDR]:PORT" when not on 22).
sshd_known_hosts_line () {
	local addr=$1 dir=$2 port
	port=$(cat "$dir/port") || return 1
	test "$port" = 22 || addr="[$addr]:$port"
	echo "$addr $(cut -d' ' -f1,2 "$dir/ssh_host_ed25519_key.pub")"
}

# ssh_run DIR IDENTITY ADDR [CMD...]: the OpenSSH client as a strict,
# non-interactive caller (as root, or $SSH_USER): only IDENTITY, host key checked against DIR's key,
# no user or system config.  Exit code is the remote command's (255: ssh).
ssh_run () {
	local dir=$1 id=$2 addr=$3
	shift 3
	sshd_known_hosts_line "$addr" "$dir" >"$dir/known_hosts.$addr" || return 255
	timeout 30 ssh -F /dev/null -i "$id" -p "$(cat "$dir/port")" \
		-o IdentitiesOnly=yes -o BatchMode=yes -o ConnectTimeout=5 \
		-o UserKnownHostsFile="$dir/known_hosts.$addr" -o GlobalKnownHostsFile=/dev/null \
		-o StrictHostKeyChecking=yes -o LogLevel=ERROR \
		"${SSH_USER:-root}@$addr" "$@"
}

sshd_stop () {
	daemon_stop "sshd:$1"
}

# pebble_start NS CA: the pebble ACME test server in node NS at
# https://localhost:14000/dir, taking every challenge as valid
# (PEBBLE_VA_ALWAYS_VALID: no client needs to be reachable), with
# pebble-challtestsrv as its DNS.  Its listener serves CA/localhost.*
# (make_cert CA localhost "DNS:localhost" first): clients trust CA/ca.crt.
# Pebble makes a new issuing root at each start.
pebble_start () {
	local ns=$1 ca=$TRASH/$2 dir=$TRASH/pebble
	mkdir -p "$dir" &&
	cat >"$dir/config.json" <<-EOF &&
	{ "pebble": { "listenAddress": "127.0.0.1:14000",
	  "managementListenAddress": "127.0.0.1:15000",
	  "certificate": "$ca/localhost.fullchain", "privateKey": "$ca/localhost.key",
	  "httpPort": 5002, "tlsPort": 5001, "ocspResponderURL": "",
	  "externalAccountBindingRequired": false } }
	EOF
	DAEMON_NETNS=$ns daemon_start challtestsrv "" pebble-challtestsrv \
		-dns01 127.0.0.1:8053 -http01 "" -https01 "" -tlsalpn01 "" \
		-management 127.0.0.1:8055 -defaultIPv4 127.0.0.1 &&
	DAEMON_NETNS=$ns daemon_start pebble "" env PEBBLE_VA_NOSLEEP=1 \
		PEBBLE_WFE_NONCEREJECT=0 PEBBLE_VA_ALWAYS_VALID=1 \
		pebble -config "$dir/config.json" -dnsserver 127.0.0.1:8053 &&
	svc_wait_ports_ "$ns" 20 14000 ||
		svc_fail_ "pebble did not start" "$TRASH/pebble.log" "$TRASH/challtestsrv.log"
}
