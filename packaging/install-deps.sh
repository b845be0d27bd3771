#!/bin/sh
# Install what the build, the tests and the demo need from Debian's packages.
# As root: installs only the missing packages. Otherwise: prints the command.
set -eu

BUILD="build-essential pkg-config libssl-dev libssh2-1-dev libcurl4-openssl-dev libyaml-dev
       libinotifytools0-dev libcmocka-dev libunbound-dev libsodium-dev"
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
      bind9-host nginx-light libidn12"
# tests/t0230-mirror.sh: nginx above serves the mirrors; the S3 bucket is
# s3rver, which the test installs itself with npm when npm is there (it
# skips the S3 part otherwise), behind a proxy checking SigV4 with botocore.
TEST_S3="python3-botocore"
PKG="debhelper dpkg-dev rpm lintian systemd rpmlint"

want=$(echo $BUILD $TEST $TEST_DAEMONS $TEST_S3 $PKG)

# Exim's daemon package conflicts with postfix: tests/t0400-protocols.sh
# runs it unpacked from its .deb (dependencies: libidn12 above, the rest is
# there already) under EXIM_ROOT, as the user Debian-exim the binary looks
# up.  Without it, t0400 skips Exim only.
EXIM_ROOT=/var/cache/certpush-tests/exim4
exim_unpacked () {
	[ -x "$EXIM_ROOT/usr/sbin/exim4" ] && getent passwd Debian-exim >/dev/null && return 0
	if [ "$(id -u)" -ne 0 ]; then
		echo "note: as root, make deps unpacks exim4 for the tests" >&2
		return 0
	fi
	getent passwd Debian-exim >/dev/null ||
		useradd --system --user-group --no-create-home --home-dir /nonexistent \
			--shell /usr/sbin/nologin Debian-exim || return 1
	tmp=$(mktemp -d) || return 1
	if (cd "$tmp" && apt-get download exim4-daemon-light >/dev/null 2>&1) &&
	    mkdir -p "$EXIM_ROOT" && dpkg-deb -x "$tmp"/exim4-daemon-light_*.deb "$EXIM_ROOT"; then
		rm -rf "$tmp"
		echo "unpacked exim4-daemon-light into $EXIM_ROOT"
		return 0
	fi
	rm -rf "$tmp"
	echo "note: could not unpack exim4-daemon-light; t0400 skips Exim" >&2
	return 0
}
missing=""
for p in $want; do
	st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[ "$st" = installed ] || missing="$missing $p"
done
if [ -z "$missing" ]; then
	exim_unpacked
	exit 0
fi

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
exim_unpacked
