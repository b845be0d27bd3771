#!/bin/bash
test_description='Debian and RPM packages

make deb and make rpm build from a copy of the tree into this script'\''s
scratch folder.  The .debs are checked (file list, owners, modes,
conffiles, lintian), then installed on this machine with dpkg -i (root, a
throwaway CI machine), checked in place (check-config names what the untouched
examples lack, no unit is enabled, systemd-analyze verify), reinstalled
over an edited configuration, removed (state kept) and purged (state
gone).  The .rpms are checked with rpm -qp and rpmlint.  Nothing is
installed when the packages are already on the machine.'
. "$(dirname "$0")/lib.sh"

for cmd in make dpkg-buildpackage dh dpkg-deb lintian rpmbuild rpm; do
	test_have_prereq "CMD:$cmd" || skip_all "missing $cmd (make deps installs it)"
done

VERSION=$(sed -n '1s/^[^(]*(\([^)]*\)).*/\1/p' "$SRC/packaging/debian/changelog")
ARCH=$(dpkg --print-architecture)
DEB_PUSH=$TRASH/dist/certpush_${VERSION}_$ARCH.deb
DEB_PULL=$TRASH/dist/certpull_${VERSION}_$ARCH.deb
UNITDIR=/lib/systemd/system
UNITS="certpush.service certpull-fetch.service certpull-fetch.timer"

# The unit tests are make check's business: nocheck keeps this script about
# packaging (and fast).
pkg_make () {
	DEB_BUILD_OPTIONS=nocheck make -C "$SRC" --no-print-directory \
		PKG_TMP="$TRASH/pkg" DIST="$TRASH/dist" RPMBUILD_OPTS=--nocheck "$@"
}

# with_examples PREFIX FILE: replace the line "@EXAMPLES@" of FILE with one
# line PREFIX + name for each example PROGRAM's package ships, where
# PREFIX ends in .../doc/PROGRAM/examples/: conf/PROGRAM-*.yaml.
with_examples () {
	local f program=${1%/examples/}
	program=${program##*/}
	for f in "$SRC"/conf/"$program"-*.yaml; do
		echo "$1${f##*/}"
	done >"$TRASH/.lib/examples" &&
	sed -i -e "/^@EXAMPLES@\$/{r $TRASH/.lib/examples" -e "d}" "$2"
}

# deb_list DEB: "mode owner path" of every entry, sorted by path.
deb_list () {
	dpkg-deb -c "$1" >"$TRASH/.lib/deb-c" &&
	awk '{ print $1, $2, $6 }' "$TRASH/.lib/deb-c" | sort -k3
}

# rpm_list RPM: "mode owner flags path" of every file (build-id links,
# which depend on the build, left out).
rpm_list () {
	rpm -qp --qf '[%{FILEMODES:perms} %{FILEUSERNAME}:%{FILEGROUPNAME} %{FILEFLAGS:fflags} %{FILENAMES}\n]' \
		"$1" >"$TRASH/.lib/rpm-q" &&
	grep -v '/\.build-id' "$TRASH/.lib/rpm-q"
}

test_expect_success 'the spec and the Debian changelog have one version' '
	echo "$VERSION" >expect &&
	sed -n "s/^Version:[[:space:]]*//p" "$SRC/packaging/rpm/certpush.spec" >actual &&
	test_cmp expect actual
'

test_expect_success 'make deb builds certpush and certpull' '
	pkg_make deb &&
	test_path_is_file "$DEB_PUSH" &&
	test_path_is_file "$DEB_PULL"
'
test -f "$DEB_PUSH" && test -f "$DEB_PULL" && test_set_prereq DEBS

test_expect_success DEBS 'certpush.deb: files, owners and modes' '
	cat >expect <<-\EOF &&
	drwxr-xr-x root/root ./
	drwxr-xr-x root/root ./etc/
	drwx------ root/root ./etc/certpush/
	-rw-r--r-- root/root ./etc/certpush/certpush.yaml
	drwxr-xr-x root/root ./etc/letsencrypt/
	drwxr-xr-x root/root ./etc/letsencrypt/renewal-hooks/
	drwxr-xr-x root/root ./etc/letsencrypt/renewal-hooks/deploy/
	-rwxr-xr-x root/root ./etc/letsencrypt/renewal-hooks/deploy/certpush
	drwxr-xr-x root/root ./lib/
	drwxr-xr-x root/root ./lib/systemd/
	drwxr-xr-x root/root ./lib/systemd/system/
	-rw-r--r-- root/root ./lib/systemd/system/certpush.service
	drwxr-xr-x root/root ./usr/
	drwxr-xr-x root/root ./usr/sbin/
	-rwxr-xr-x root/root ./usr/sbin/certpush
	drwxr-xr-x root/root ./usr/share/
	drwxr-xr-x root/root ./usr/share/doc/
	drwxr-xr-x root/root ./usr/share/doc/certpush/
	-rw-r--r-- root/root ./usr/share/doc/certpush/README.md.gz
	-rw-r--r-- root/root ./usr/share/doc/certpush/changelog.gz
	-rw-r--r-- root/root ./usr/share/doc/certpush/copyright
	drwxr-xr-x root/root ./usr/share/doc/certpush/examples/
	@EXAMPLES@
	drwxr-xr-x root/root ./usr/share/lintian/
	drwxr-xr-x root/root ./usr/share/lintian/overrides/
	-rw-r--r-- root/root ./usr/share/lintian/overrides/certpush
	drwxr-xr-x root/root ./usr/share/man/
	drwxr-xr-x root/root ./usr/share/man/man5/
	-rw-r--r-- root/root ./usr/share/man/man5/certpush.yaml.5.gz
	drwxr-xr-x root/root ./usr/share/man/man8/
	-rw-r--r-- root/root ./usr/share/man/man8/certpush.8.gz
	EOF
	with_examples "-rw-r--r-- root/root ./usr/share/doc/certpush/examples/" expect &&
	deb_list "$DEB_PUSH" >actual &&
	test_cmp expect actual
'

test_expect_success DEBS 'certpull.deb: files, owners and modes' '
	cat >expect <<-\EOF &&
	drwxr-xr-x root/root ./
	drwxr-xr-x root/root ./etc/
	drwx------ root/root ./etc/certpull/
	-rw-r--r-- root/root ./etc/certpull/certpull.yaml
	drwxr-xr-x root/root ./lib/
	drwxr-xr-x root/root ./lib/systemd/
	drwxr-xr-x root/root ./lib/systemd/system/
	-rw-r--r-- root/root ./lib/systemd/system/certpull-fetch.service
	-rw-r--r-- root/root ./lib/systemd/system/certpull-fetch.timer
	drwxr-xr-x root/root ./usr/
	drwxr-xr-x root/root ./usr/sbin/
	-rwxr-xr-x root/root ./usr/sbin/certpull
	drwxr-xr-x root/root ./usr/share/
	drwxr-xr-x root/root ./usr/share/doc/
	drwxr-xr-x root/root ./usr/share/doc/certpull/
	-rw-r--r-- root/root ./usr/share/doc/certpull/README.md.gz
	-rw-r--r-- root/root ./usr/share/doc/certpull/changelog.gz
	-rw-r--r-- root/root ./usr/share/doc/certpull/copyright
	drwxr-xr-x root/root ./usr/share/doc/certpull/examples/
	@EXAMPLES@
	drwxr-xr-x root/root ./usr/share/lintian/
	drwxr-xr-x root/root ./usr/share/lintian/overrides/
	-rw-r--r-- root/root ./usr/share/lintian/overrides/certpull
	drwxr-xr-x root/root ./usr/share/man/
	drwxr-xr-x root/root ./usr/share/man/man5/
	-rw-r--r-- root/root ./usr/share/man/man5/certbundle.5.gz
	-rw-r--r-- root/root ./usr/share/man/man5/certpull.yaml.5.gz
	drwxr-xr-x root/root ./usr/share/man/man8/
	-rw-r--r-- root/root ./usr/share/man/man8/certpull.8.gz
	EOF
	with_examples "-rw-r--r-- root/root ./usr/share/doc/certpull/examples/" expect &&
	deb_list "$DEB_PULL" >actual &&
	test_cmp expect actual
'

test_expect_success DEBS 'conffiles: the configurations and the certbot hook' '
	printf "%s\n" /etc/certpush/certpush.yaml \
		/etc/letsencrypt/renewal-hooks/deploy/certpush >expect &&
	dpkg-deb -I "$DEB_PUSH" conffiles >actual &&
	test_cmp expect actual &&
	echo /etc/certpull/certpull.yaml >expect &&
	dpkg-deb -I "$DEB_PULL" conffiles >actual &&
	test_cmp expect actual
'

test_expect_success DEBS 'the live examples are conf/certpush.yaml and conf/certpull-mail.yaml' '
	mkdir -p x-push x-pull &&
	dpkg-deb -x "$DEB_PUSH" x-push &&
	dpkg-deb -x "$DEB_PULL" x-pull &&
	test_cmp "$SRC/conf/certpush.yaml" x-push/etc/certpush/certpush.yaml &&
	test_cmp "$SRC/conf/certpull-mail.yaml" x-pull/etc/certpull/certpull.yaml &&
	for f in "$SRC"/conf/certpull-*.yaml; do
		test_cmp "$f" "x-pull/usr/share/doc/certpull/examples/${f##*/}" || return 1
	done &&
	for f in "$SRC"/conf/certpush-*.yaml; do
		test_cmp "$f" "x-push/usr/share/doc/certpush/examples/${f##*/}" || return 1
	done
'

test_expect_success DEBS 'maintainer scripts: no unit enabled or started on install' '
	for deb in "$DEB_PUSH" "$DEB_PULL"; do
		rm -rf ctrl && mkdir ctrl &&
		dpkg-deb -e "$deb" ctrl &&
		cat ctrl/p* >scripts &&
		test_must_fail grep -E "(deb-systemd-invoke|systemctl).* (start|restart|enable)( |$)" scripts &&
		grep "was-enabled" scripts &&
		grep "try-restart" ctrl/postinst &&
		grep "deb-systemd-invoke stop" ctrl/prerm &&
		grep "rm -rf /var/lib/certpu" ctrl/postrm || return 1
	done
'

# libunbound, libcurl and libsodium are loaded with dlopen, and by
# certpull libssh2: dpkg-shlibdeps does not see them, the control file
# names them (certpull needs no libunbound).  libssl, loaded with dlopen
# too, is in libssl3 with the linked libcrypto.
test_expect_success DEBS 'Depends: the libraries loaded with dlopen too' '
	dpkg-deb -f "$DEB_PUSH" Depends >dep-push &&
	dpkg-deb -f "$DEB_PULL" Depends >dep-pull &&
	cat dep-push dep-pull &&
	grep "libunbound8" dep-push && grep "libcurl4" dep-push &&
	grep "libsodium23" dep-push &&
	grep "libssl3\|libssl3t64" dep-push && grep "libinotifytools0" dep-push &&
	grep "libcurl4" dep-pull && test_must_fail grep "libunbound" dep-pull &&
	grep "libssl3\|libssl3t64" dep-pull &&
	grep "libssh2-1" dep-pull && grep "libsodium23" dep-pull
'

test_expect_success DEBS 'lintian: no error, no warning (overrides justified in packaging/debian)' '
	lintian --fail-on error,warning "$DEB_PUSH" "$DEB_PULL" >lintian.out 2>&1 ||
		{ cat lintian.out; false; } &&
	lintian --show-overrides "$DEB_PUSH" "$DEB_PULL" 2>&1
'

# The deploy hook, from the tree, with a stub in place of certpush: the
# arguments it passes, and what certbot sees on failure.
test_expect_success 'certbot hook: passes the lineage as one argument' '
	cat >stub <<-\EOF &&
	#!/bin/sh
	printf "<%s>\n" "$@" >"$TRASH/stub.args"
	exit "${STUB_RC:-0}"
	EOF
	chmod 0755 stub &&
	sed "s|^certpush=.*|certpush=$TRASH/stub|" \
		"$SRC/packaging/certbot/certpush-deploy-hook" >hook &&
	chmod 0755 hook &&
	RENEWED_LINEAGE="/etc/letsencrypt/live/a b" sh ./hook >out 2>err &&
	printf "%s\n" "<--now>" "<--lineage>" "</etc/letsencrypt/live/a b>" >expect &&
	test_cmp expect stub.args &&
	test_must_fail test -s err &&
	env -u RENEWED_LINEAGE sh ./hook &&
	echo "<--now>" >expect &&
	test_cmp expect stub.args
'

test_expect_success 'certbot hook: a failed push is reported and fails the hook' '
	test_expect_code 3 env STUB_RC=3 RENEWED_LINEAGE=/etc/letsencrypt/live/x \
		sh ./hook >out 2>err &&
	grep "certpush deploy hook: FAILED to push /etc/letsencrypt/live/x (certpush exit status 3)" err
'

test_expect_success 'certbot hook: does nothing once certpush is removed' '
	sed "s|^certpush=.*|certpush=$TRASH/no-such-certpush|" \
		"$SRC/packaging/certbot/certpush-deploy-hook" >hook-gone &&
	sh ./hook-gone >out 2>&1 &&
	test_must_fail test -s out
'

# Installing on this machine: only when neither package nor any of its
# paths is there, so that nothing of the machine's own is touched (and the
# purge at the end removes only what this script installed).
pkg_absent_ () {
	local p
	for p in certpush certpull; do
		dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null | grep -qv '^not-installed$' &&
			return 1
	done
	for p in /usr/sbin/certpush /usr/sbin/certpull /etc/certpush /etc/certpull \
		/var/lib/certpush /var/lib/certpull /etc/letsencrypt/renewal-hooks/deploy/certpush \
		$UNITDIR/certpush.service $UNITDIR/certpull-fetch.service $UNITDIR/certpull-fetch.timer; do
		test ! -e "$p" || return 1
	done
	return 0
}
if test_have_prereq ROOT,DEBS && pkg_absent_; then
	test_set_prereq INSTALL
else
	say "not installing the .debs: that needs root, the built .debs, and a" \
		"machine where certpush and certpull are not installed at all"
fi

# Idempotent: also run at exit, should a test stop half-way.
purge_packages_ () {
	dpkg -P certpush certpull >/dev/null 2>&1
	rm -f /etc/certpush/signing.key
	rmdir /etc/certpush 2>/dev/null
	return 0
}

test_expect_success INSTALL 'dpkg -i installs both packages' '
	at_exit purge_packages_ &&
	dpkg -i "$DEB_PUSH" "$DEB_PULL" >dpkg.out 2>&1 ||
		{ cat dpkg.out; false; } &&
	test_set_prereq INSTALLED
'

test_expect_success INSTALLED 'installed: programs run, modes and owners' '
	/usr/sbin/certpush --help >out &&
	grep "^usage: certpush" out &&
	/usr/sbin/certpull --help >out &&
	grep "^usage: certpull" out &&
	/usr/sbin/certpush --version >out &&
	test "$(cat out)" = "certpush $VERSION" &&
	/usr/sbin/certpull --version >out &&
	test "$(cat out)" = "certpull $VERSION" &&
	for d in /etc/certpush /etc/certpull /var/lib/certpush /var/lib/certpull; do
		test_file_mode $d 0700 && test_file_owner $d root:root || return 1
	done &&
	test_file_mode /etc/certpush/certpush.yaml 0644 &&
	test_file_mode /etc/certpull/certpull.yaml 0644 &&
	test_file_mode /etc/letsencrypt/renewal-hooks/deploy/certpush 0755
'

# The untouched examples are valid YAML for the programs, and check-config
# says what they still lack: the signing key, the identities, the real
# trusted key.
test_expect_success INSTALLED 'installed: check-config names what the untouched examples lack' '
	/usr/sbin/certpush -c /etc/certpush/certpush.yaml check-config 2>push.err &&
	cat push.err &&
	grep -Fx "certpush: warning: signing_key /etc/certpush/signing.key: missing (certpush keygen creates it)" push.err &&
	grep "^certpush: /etc/certpush/certpush.yaml: [0-9]* warnings: the first push fails until what is missing exists" push.err &&
	! grep ":[0-9]*:[0-9]*: " push.err &&
	if getent passwd opendkim >/dev/null && getent group opendkim >/dev/null; then
		conf=/etc/certpull/certpull.yaml
	else
		say "no opendkim user here: the mail example names it; checking the front example" &&
		conf=/usr/share/doc/certpull/examples/certpull-front.yaml
	fi &&
	test_must_fail /usr/sbin/certpull -c $conf check-config 2>pull.err &&
	cat pull.err &&
	grep -F "certpull: trusted_keys: only ed25519:S9RzNkYREG1hyBuPh22LwhMJaWSPstMK4zJJ54aNhDw=, the example key of the documentation" pull.err &&
	! grep ":[0-9]*:[0-9]*: " pull.err
'

# systemctl is-enabled reads the unit files: no running systemd needed.
test_expect_success INSTALLED,CMD:systemctl 'installed: no unit is enabled' '
	cat >expect <<-\EOF &&
	certpush.service disabled
	certpull-fetch.service static
	certpull-fetch.timer disabled
	EOF
	for u in $UNITS; do
		echo "$u $(systemctl is-enabled $u 2>&1)" || return 1
	done >actual &&
	test_cmp expect actual &&
	test_must_fail ls /etc/systemd/system/*.wants/certp*
'

test_expect_success INSTALLED 'installed: the hook fails visibly without a signing key' '
	test_expect_code 0 env RENEWED_LINEAGE=/etc/letsencrypt/live/not-in-the-config \
		/etc/letsencrypt/renewal-hooks/deploy/certpush >out 2>err &&
	test_must_fail test -s err &&
	test_must_fail env RENEWED_LINEAGE=/etc/letsencrypt/live/mail.example.com \
		/etc/letsencrypt/renewal-hooks/deploy/certpush >out 2>err &&
	grep "signing.key" err &&
	grep "certpush deploy hook: FAILED" err
'

test_expect_success INSTALLED,CMD:systemd-analyze 'installed: systemd-analyze verify the units' '
	man_opt= &&
	if ! command -v man >/dev/null; then
		say "no man here: not checking the units'\'' Documentation= pages" &&
		man_opt=--man=no
	fi &&
	systemd-analyze verify $man_opt $UNITDIR/certpush.service \
		$UNITDIR/certpull-fetch.service $UNITDIR/certpull-fetch.timer >verify.out 2>&1 ||
		{ cat verify.out; false; } &&
	test_must_fail test -s verify.out
'

# A guard against losing the sandbox by accident: the exposure scores were
# 5.5 (certpush) and 6.1 (certpull-fetch, loose on purpose) when written.
test_expect_success INSTALLED,CMD:systemd-analyze 'installed: the services stay sandboxed' '
	systemd-analyze security --offline=true --threshold=60 \
		$UNITDIR/certpush.service >sec.out 2>&1 ||
		{ tail -n 3 sec.out; false; } &&
	systemd-analyze security --offline=true --threshold=65 \
		$UNITDIR/certpull-fetch.service >sec.out 2>&1 ||
		{ tail -n 3 sec.out; false; }
'

test_expect_success INSTALLED 'reinstalling keeps an edited configuration' '
	echo "# edited by the operator" >>/etc/certpush/certpush.yaml &&
	cp /etc/certpush/certpush.yaml expect &&
	dpkg -i "$DEB_PUSH" >dpkg.out 2>&1 ||
		{ cat dpkg.out; false; } &&
	test_cmp expect /etc/certpush/certpush.yaml
'

test_expect_success INSTALLED 'dpkg -r keeps state and configuration' '
	: >/var/lib/certpush/serial &&
	dpkg -r certpush certpull >dpkg.out 2>&1 ||
		{ cat dpkg.out; false; } &&
	test_path_is_missing /usr/sbin/certpush &&
	test_path_is_missing /usr/sbin/certpull &&
	test_path_is_missing $UNITDIR/certpush.service &&
	test_path_is_file /var/lib/certpush/serial &&
	test_path_is_dir /var/lib/certpull &&
	test_path_is_file /etc/certpush/certpush.yaml &&
	test_path_is_file /etc/certpull/certpull.yaml &&
	/etc/letsencrypt/renewal-hooks/deploy/certpush >out 2>&1 &&
	test_must_fail test -s out
'

test_expect_success INSTALLED 'dpkg -P removes state and examples, keeps the operator keys' '
	echo not-a-key >/etc/certpush/signing.key &&
	dpkg -P certpush certpull >dpkg.out 2>&1 ||
		{ cat dpkg.out; false; } &&
	test_path_is_missing /var/lib/certpush &&
	test_path_is_missing /var/lib/certpull &&
	test_path_is_missing /etc/certpull &&
	test_path_is_missing /etc/certpush/certpush.yaml &&
	test_path_is_missing /etc/letsencrypt/renewal-hooks/deploy/certpush &&
	test_path_is_file /etc/certpush/signing.key &&
	purge_packages_ &&
	test_path_is_missing /etc/certpush
'

test_expect_success 'make rpm builds certpush and certpull' '
	pkg_make rpm &&
	test_path_is_file "$TRASH/dist/certpush-$VERSION-1.$(uname -m).rpm" &&
	test_path_is_file "$TRASH/dist/certpull-$VERSION-1.$(uname -m).rpm"
'
RPM_PUSH=$TRASH/dist/certpush-$VERSION-1.$(uname -m).rpm
RPM_PULL=$TRASH/dist/certpull-$VERSION-1.$(uname -m).rpm
test -f "$RPM_PUSH" && test -f "$RPM_PULL" && test_set_prereq RPMS

# "cn": %config(noreplace); "d": documentation.  The man pages are
# compressed by brp-compress (on Debian too: see packaging.mk).
test_expect_success RPMS 'certpush.rpm: files, owners, modes, config files' '
	cat >expect <<-\EOF &&
	drwx------ root:root  /etc/certpush
	-rw-r--r-- root:root cn /etc/certpush/certpush.yaml
	-rwxr-xr-x root:root cn /etc/letsencrypt/renewal-hooks/deploy/certpush
	-rw-r--r-- root:root  /usr/lib/systemd/system/certpush.service
	-rwxr-xr-x root:root  /usr/sbin/certpush
	-rw-r--r-- root:root d /usr/share/doc/certpush/README.md
	drwxr-xr-x root:root  /usr/share/doc/certpush/examples
	@EXAMPLES@
	-rw-r--r-- root:root d /usr/share/man/man5/certpush.yaml.5.gz
	-rw-r--r-- root:root d /usr/share/man/man8/certpush.8.gz
	drwx------ root:root  /var/lib/certpush
	EOF
	with_examples "-rw-r--r-- root:root d /usr/share/doc/certpush/examples/" expect &&
	rpm_list "$RPM_PUSH" >actual &&
	test_cmp expect actual
'

test_expect_success RPMS 'certpull.rpm: files, owners, modes, config files' '
	cat >expect <<-\EOF &&
	drwx------ root:root  /etc/certpull
	-rw-r--r-- root:root cn /etc/certpull/certpull.yaml
	-rw-r--r-- root:root  /usr/lib/systemd/system/certpull-fetch.service
	-rw-r--r-- root:root  /usr/lib/systemd/system/certpull-fetch.timer
	-rwxr-xr-x root:root  /usr/sbin/certpull
	-rw-r--r-- root:root d /usr/share/doc/certpull/README.md
	drwxr-xr-x root:root  /usr/share/doc/certpull/examples
	@EXAMPLES@
	-rw-r--r-- root:root d /usr/share/man/man5/certbundle.5.gz
	-rw-r--r-- root:root d /usr/share/man/man5/certpull.yaml.5.gz
	-rw-r--r-- root:root d /usr/share/man/man8/certpull.8.gz
	drwx------ root:root  /var/lib/certpull
	EOF
	with_examples "-rw-r--r-- root:root d /usr/share/doc/certpull/examples/" expect &&
	rpm_list "$RPM_PULL" >actual &&
	test_cmp expect actual
'

test_expect_success RPMS 'rpm scriptlets: stop on erase, try-restart on upgrade, never enable' '
	for r in "$RPM_PUSH" "$RPM_PULL"; do
		rpm -qp --scripts "$r" >scripts &&
		grep "^preuninstall scriptlet" scripts &&
		grep "disable --now" scripts &&
		grep "^postuninstall scriptlet" scripts &&
		grep "try-restart" scripts &&
		test_must_fail grep -E "^postinstall|systemctl( --[a-z-]+)* (enable|start|preset)" scripts ||
		return 1
	done
'

test_expect_success RPMS 'rpm requirements: the libraries, nothing from Debian' '
	rpm -qpR "$RPM_PUSH" >req &&
	grep "^libssl.so.3" req &&
	grep "^libssh2.so.1" req &&
	grep "^libyaml-0.so.2" req &&
	grep "^libinotifytools.so.0" req &&
	# Loaded with dlopen: named by the spec, not found by the automatic scan.
	grep "^libunbound.so.8" req && grep "^libcurl.so.4" req &&
	grep "^libsodium.so.23" req &&
	rpm -qpR "$RPM_PULL" >req-pull &&
	grep "^libcurl.so.4" req-pull &&
	grep "^libssh2.so.1" req-pull && grep "^libsodium.so.23" req-pull &&
	grep "^libssl.so.3" req-pull &&
	test_must_fail grep "^libunbound" req-pull &&
	test_must_fail grep -i "debian\|^lib[a-z0-9-]*-dev" req
'

# rpmlint is in Debian 12 (package rpmlint, installed by make deps).  The
# filters, with their reasons, are in packaging/rpm/rpmlint.toml.  What
# remains on a Debian build host is the "unstripped-binary" warning:
# Debian's brp-strip strips only debug sections, RHEL's find-debuginfo
# strips the symbol table too.
if test_have_prereq RPMS,CMD:rpmlint; then
	test_expect_success 'rpmlint: no error' '
		rpmlint -c "$SRC/packaging/rpm/rpmlint.toml" "$RPM_PUSH" "$RPM_PULL" \
			"$SRC/packaging/rpm/certpush.spec" >rpmlint.out 2>&1 ||
			{ cat rpmlint.out; false; } &&
		cat rpmlint.out &&
		grep " 0 errors," rpmlint.out
	'
else
	test_skip 'rpmlint: no error' "rpmlint not installed (Debian 12 has it: apt-get install rpmlint)"
fi

test_done
