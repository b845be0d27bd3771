#!/bin/sh
# Install what the build, the tests and the demo need from Debian's packages.
# As root: installs only the missing packages. Otherwise: prints the command.
set -eu

BUILD="build-essential pkg-config libssl-dev libssh2-1-dev libcurl4-openssl-dev libyaml-dev
       libinotifytools0-dev libcmocka-dev libunbound-dev"
TEST="openssl iproute2 perl clang libclang-rt-dev haproxy postfix dovecot-imapd
      dovecot-pop3d opendkim opendkim-tools openssh-server openssh-client certbot
      pebble acmetool dehydrated lego uacme inotify-tools socat faketime
      ssl-cert-check pssh rsync procps
      iputils-ping strace e2fsprogs sudo
      fiu-utils prometheus nsd ldnsutils unbound bind9-dnsutils"
# The other TLS daemons of tests/t0400-protocols.sh, and check_ssl_cert
# (which needs host).
TEST_DAEMONS="postgresql dovecot-managesieved dovecot-lmtpd prosody slapd
      ldap-utils vsftpd mariadb-server mariadb-client monitoring-plugins-contrib
      bind9-host nginx-light"
PKG="debhelper dpkg-dev rpm lintian systemd rpmlint"

want=$(echo $BUILD $TEST $TEST_DAEMONS $PKG)
missing=""
for p in $want; do
	st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[ "$st" = installed ] || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "missing packages; as root run:" >&2
	echo "  apt-get install -y$missing" >&2
	exit 1
fi
# Postfix asks a debconf question; answer it so the install never blocks.
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
# slapd would otherwise build a directory for the host's domain: the tests
# build their own cn=config and never use the system's.
echo "slapd slapd/no_configuration boolean true" | debconf-set-selections
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y --no-install-recommends $missing >/tmp/certpush-deps.log 2>&1; then
	apt-get update -qq >/dev/null 2>&1 || true
	apt-get install -y --no-install-recommends $missing >/tmp/certpush-deps.log 2>&1 || {
		tail -n 20 /tmp/certpush-deps.log >&2
		echo "make deps: apt-get install failed (full log: /tmp/certpush-deps.log)" >&2
		exit 1
	}
fi
echo "installed:$missing"
