# Debian and RPM packages: "make deb", "make rpm".  Included by the top
# Makefile.  Both build in a copy of the tree under build/pkg (the working
# tree as it is, see packaging/copy-tree.sh) and put the packages in dist/.
#
#   make deb    dpkg-buildpackage -b with packaging/debian as debian/
#               (DEB_BUILD_OPTIONS=nocheck skips the unit tests)
#   make rpm    rpmbuild -bb --nodeps of packaging/rpm/certpush.spec
#               (RPMBUILD_OPTS=--nocheck skips the unit tests)

PKG_VERSION := $(VERSION)
# Both may be set on the command line (tests/t0700 builds in its scratch
# folder): make deb PKG_TMP=/tmp/x DIST=/tmp/y
PKG_TMP	?= build/pkg
DIST	?= dist
RPMBUILD_OPTS ?=

.PHONY: deb rpm

# The sub-builds run their own make: the caller's jobserver must not leak
# into them (dpkg-buildpackage closes its file descriptors).
PKG_ENV	:= env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL

deb:
	@command -v dpkg-buildpackage >/dev/null && command -v dh >/dev/null || \
	  { echo "make deb: needs dpkg-dev and debhelper (make deps)" >&2; exit 1; }
	rm -rf $(PKG_TMP)/deb
	sh packaging/copy-tree.sh $(PKG_TMP)/deb/certpush-$(PKG_VERSION)
	cp -R packaging/debian $(PKG_TMP)/deb/certpush-$(PKG_VERSION)/debian
	cd $(PKG_TMP)/deb/certpush-$(PKG_VERSION) && \
	  $(PKG_ENV) dpkg-buildpackage --no-sign -b -Jauto >../build.log 2>&1 || \
	  { tail -n 40 ../build.log >&2; \
	    echo "make deb: dpkg-buildpackage failed, log: $(PKG_TMP)/deb/build.log" >&2; exit 1; }
	mkdir -p $(DIST)
	rm -f $(DIST)/*.deb
	cp $(PKG_TMP)/deb/*.deb $(DIST)/
	@ls -1 $(DIST)/*.deb

# On a Debian host: no debuginfo subpackage (no find-debuginfo), and
# brp-compress run by bash, since it uses "read -d" and Debian's /bin/sh
# is dash (the man pages would stay uncompressed).
RPM_DEBIAN_DEFS := --define "debug_package %{nil}" \
	--define "__brp_compress bash %{_rpmconfigdir}/brp-compress %{?_prefix}"
RPM_DEFS := --define "_topdir $(abspath $(PKG_TMP))/rpm" \
	$(if $(wildcard /etc/debian_version),$(RPM_DEBIAN_DEFS))

rpm:
	@command -v rpmbuild >/dev/null || \
	  { echo "make rpm: needs rpmbuild (Debian package rpm; make deps)" >&2; exit 1; }
	rm -rf $(PKG_TMP)/rpm
	mkdir -p $(PKG_TMP)/rpm/SOURCES
	sh packaging/copy-tree.sh $(PKG_TMP)/rpm/certpush-$(PKG_VERSION)
	tar -C $(PKG_TMP)/rpm -czf $(PKG_TMP)/rpm/SOURCES/certpush-$(PKG_VERSION).tar.gz \
	  certpush-$(PKG_VERSION)
	$(PKG_ENV) rpmbuild -bb --nodeps $(RPMBUILD_OPTS) $(RPM_DEFS) \
	  packaging/rpm/certpush.spec >$(PKG_TMP)/rpm/build.log 2>&1 || \
	  { tail -n 40 $(PKG_TMP)/rpm/build.log >&2; \
	    echo "make rpm: rpmbuild failed, log: $(PKG_TMP)/rpm/build.log" >&2; exit 1; }
	mkdir -p $(DIST)
	rm -f $(DIST)/*.rpm
	cp $(PKG_TMP)/rpm/RPMS/*/*.rpm $(DIST)/
	@ls -1 $(DIST)/*.rpm
