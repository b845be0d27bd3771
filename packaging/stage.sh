#!/bin/sh
# stage.sh DESTDIR UNITDIR: lay out, in DESTDIR, what the packages ship
# beyond "make install": the configuration, examples, certbot hook and
# systemd units.  Run from the top of the tree after
#   make install DESTDIR=DESTDIR PREFIX=/usr
# by debian/rules (UNITDIR /lib/systemd/system) and by certpush.spec
# (%{_unitdir}), so that the .deb and the .rpm hold the same files.
set -eu

if [ $# -ne 2 ]; then
	echo "usage: stage.sh DESTDIR UNITDIR" >&2
	exit 64
fi
dest=$1 unitdir=$2

# "make install" puts every example beside the real file names, for a
# hand installation.  A package installs one live example per program, as
# a conffile, and the rest as documentation.
rm -rf "$dest/etc/certpush" "$dest/etc/certpull"
install -d -m 0700 "$dest/etc/certpush" "$dest/etc/certpull"
install -m 0644 conf/certpush.yaml "$dest/etc/certpush/certpush.yaml"
# The mail server's example: the node with the most services, so every
# kind of file and command is there to adapt.
install -m 0644 conf/certpull-mail.yaml "$dest/etc/certpull/certpull.yaml"
install -d -m 0755 "$dest/usr/share/doc/certpull/examples"
install -m 0644 conf/certpull-*.yaml "$dest/usr/share/doc/certpull/examples/"
install -d -m 0755 "$dest/usr/share/doc/certpush/examples"
install -m 0644 conf/certpush-*.yaml "$dest/usr/share/doc/certpush/examples/"

install -d -m 0755 "$dest/etc/letsencrypt/renewal-hooks/deploy"
install -m 0755 packaging/certbot/certpush-deploy-hook \
	"$dest/etc/letsencrypt/renewal-hooks/deploy/certpush"

install -d -m 0755 "$dest$unitdir"
install -m 0644 packaging/systemd/certpush.service \
	packaging/systemd/certpull-fetch.service \
	packaging/systemd/certpull-fetch.timer "$dest$unitdir/"
