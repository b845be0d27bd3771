# certpush / certpull: plain GNU Make.  See README.md.

PREFIX	?= /usr
SBINDIR	?= $(PREFIX)/sbin
MANDIR	?= $(PREFIX)/share/man
SYSCONFDIR ?= /etc
DESTDIR	?=

CC	?= cc
# The version, written once: the first entry of packaging/debian/changelog
# (the rpm spec repeats it; tests/t0700 checks they agree).  "--version",
# "status --json" and the packages all show it.
VERSION	:= $(shell sed -n '1s/^[^(]*(\([^)]*\)).*/\1/p' packaging/debian/changelog 2>/dev/null)
ifeq ($(VERSION),)
$(error cannot read the version from packaging/debian/changelog)
endif
PKGS	:= openssl libssh2 yaml-0.1 libcurl libsodium
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
# Debian's libinotifytools0-dev ships no .pc file.  libcurl is not linked:
# common/curl_dl.c loads it when a mirror or an s3: upload needs it; nor is
# libssl: common/ssl_dl.h, for the TLS probes only.
PKG_LIBS := $(filter-out -lcurl -lssl,$(shell pkg-config --libs $(PKGS) 2>/dev/null)) \
	    -linotifytools -lpthread -ldl
# certpush's DNSSEC lookups (DANE, DKIM): libunbound is not linked either,
# certpush/unbound_dl.c loads it when dns.c first needs it.
DNS_LIBS :=

WARN	:= -std=gnu11 -D_GNU_SOURCE -DCP_VERSION='"$(VERSION)"' -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
	   -Wmissing-prototypes -Wformat=2 -Wno-format-nonliteral \
	   -Wno-format-truncation
HARDEN	:= -D_FORTIFY_SOURCE=2 -fstack-protector-strong -fPIE
CFLAGS	?= -O2 -g
ALL_CFLAGS := $(WARN) $(CFLAGS) -Icommon -Icertpush -Icertpull $(PKG_CFLAGS)
LDHARDEN := -pie -Wl,-z,relro,-z,now

# The sanitizer variant: unit tests under ASan + UBSan.
SAN_CFLAGS := $(WARN) -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
	      -fno-sanitize-recover=all -Icommon -Icertpush -Icertpull $(PKG_CFLAGS)

COMMON_SRC := $(wildcard common/*.c)
PUSH_SRC   := $(filter-out certpush/main.c,$(wildcard certpush/*.c))
PULL_SRC   := $(filter-out certpull/main.c,$(wildcard certpull/*.c))
UNIT_SRC   := $(wildcard tests/unit/test_*.c)
HEADERS	   := $(wildcard common/*.h certpush/*.h certpull/*.h)

B	:= build/release
S	:= build/san
obj	= $(patsubst %.c,$(1)/%.o,$(2))

.PHONY: all deps install check unit unit-san integration demo clean bench fuzz fuzz-run fuzz-short reliability

all: certpush/certpush certpull/certpull

deps:
	@sh packaging/install-deps.sh

$(B)/%.o: %.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(HARDEN) -c -o $@ $<

$(S)/%.o: %.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(SAN_CFLAGS) -c -o $@ $<

# The files that print CP_VERSION are rebuilt when it changes.
VERSION_SRC := certpush/main.c certpull/main.c certpush/push.c certpull/status.c
$(call obj,$(B),$(VERSION_SRC)) $(call obj,$(S),$(VERSION_SRC)): packaging/debian/changelog

$(B)/libcommon.a: $(call obj,$(B),$(COMMON_SRC))
	$(AR) rcs $@ $^
$(S)/libcommon.a: $(call obj,$(S),$(COMMON_SRC))
	$(AR) rcs $@ $^

certpush/certpush: $(call obj,$(B),certpush/main.c $(PUSH_SRC)) $(B)/libcommon.a
	$(CC) $(LDHARDEN) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(DNS_LIBS)

# certpull loads libssh2 and libsodium on first use (common/lib_dl.h).
certpull/certpull: $(call obj,$(B),certpull/main.c $(PULL_SRC)) $(B)/libcommon.a
	$(CC) $(LDHARDEN) $(LDFLAGS) -o $@ $^ $(filter-out -lssh2 -lsodium,$(PKG_LIBS))

# Each unit test links every module (but the mains) and cmocka.
# The unit tests run their own TLS servers: they link libssl.
UNIT_LIBS := $(PKG_LIBS) -lssl $(DNS_LIBS) -lcmocka
# Helpers the tests #include are prerequisites, kept off the link line.
UNIT_HELPERS := $(filter-out $(UNIT_SRC),$(wildcard tests/unit/*.c tests/unit/*.h))
$(B)/tests/%: tests/unit/%.c $(call obj,$(B),$(PUSH_SRC) $(PULL_SRC)) $(B)/libcommon.a $(UNIT_HELPERS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(HARDEN) $(LDHARDEN) -o $@ $(filter-out $(UNIT_HELPERS),$^) $(UNIT_LIBS)
$(S)/tests/%: tests/unit/%.c $(call obj,$(S),$(PUSH_SRC) $(PULL_SRC)) $(S)/libcommon.a $(UNIT_HELPERS)
	@mkdir -p $(dir $@)
	$(CC) $(SAN_CFLAGS) -o $@ $(filter-out $(UNIT_HELPERS),$^) $(UNIT_LIBS)

UNIT_BINS := $(patsubst tests/unit/%.c,%,$(UNIT_SRC))

unit: $(addprefix $(B)/tests/,$(UNIT_BINS))
	@set -e; for t in $^; do echo "== $$t"; $$t; done

unit-san: $(addprefix $(S)/tests/,$(UNIT_BINS))
	@set -e; for t in $^; do echo "== $$t (ASan+UBSan)"; \
	  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 $$t; done

# Libraries the integration tests preload under a program (tests/preload/).
PRELOADS := $(B)/tests/preload/slowrecv.so
$(B)/tests/preload/%.so: tests/preload/%.c
	@mkdir -p $(dir $@)
	$(CC) $(WARN) $(CFLAGS) -fPIC -shared -o $@ $< -ldl

integration: all $(PRELOADS)
	prove --timer tests/t*.sh

check: deps
	$(MAKE) all
	$(MAKE) unit
	$(MAKE) unit-san
	$(MAKE) fuzz-short
	$(MAKE) integration

demo: deps
	$(MAKE) all
	bash tests/demo.sh

install: all
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8 \
		$(DESTDIR)$(SYSCONFDIR)/certpush $(DESTDIR)$(SYSCONFDIR)/certpull
	install -m 0755 certpush/certpush certpull/certpull $(DESTDIR)$(SBINDIR)/
	install -m 0644 certpush/certpush.8 certpull/certpull.8 $(DESTDIR)$(MANDIR)/man8/
	install -m 0644 certpush/certpush.yaml.5 certpull/certpull.yaml.5 \
		common/certbundle.5 $(DESTDIR)$(MANDIR)/man5/
	install -m 0644 conf/certpush.yaml $(DESTDIR)$(SYSCONFDIR)/certpush/certpush.yaml.example
	install -m 0644 conf/certpush-acmetool.yaml \
		$(DESTDIR)$(SYSCONFDIR)/certpush/certpush-acmetool.yaml.example
	install -m 0644 conf/certpull-*.yaml $(DESTDIR)$(SYSCONFDIR)/certpull/

clean:
	rm -rf build certpush/certpush certpull/certpull

# libFuzzer harnesses (clang): a short bounded run in make check, longer in make fuzz.
F	:= build/fuzz
FUZZ_CFLAGS := $(filter-out -Wno-format-truncation,$(WARN)) -O1 -g -fsanitize=fuzzer-no-link,address,undefined \
	       -Icommon -Icertpush -Icertpull $(PKG_CFLAGS)
FUZZ_SECONDS ?= 300
$(F)/%.o: %.c $(HEADERS)
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -c -o $@ $<
$(F)/fuzz_%: tests/fuzz/fuzz_%.c $(call obj,$(F),$(COMMON_SRC) $(PUSH_SRC) $(PULL_SRC))
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $^ $(PKG_LIBS) $(DNS_LIBS)

FUZZERS := $(F)/fuzz_bundle $(F)/fuzz_config $(F)/fuzz_answer $(F)/fuzz_starttls $(F)/fuzz_dns
.SECONDARY:
fuzz-run: $(FUZZERS)
	@set -e; for f in bundle config answer starttls dns; do \
	  mkdir -p $(F)/corpus-$$f; \
	  echo "== fuzz_$$f for $(FUZZ_SECONDS) s"; \
	  $(F)/fuzz_$$f -max_total_time=$(FUZZ_SECONDS) -max_len=65536 -timeout=10 \
	    -print_final_stats=1 $(F)/corpus-$$f tests/fuzz/corpus/$$f 2>&1 | tail -n 12; \
	done
fuzz:
	$(MAKE) fuzz-run FUZZ_SECONDS=$(FUZZ_SECONDS)
fuzz-short:
	$(MAKE) fuzz-run FUZZ_SECONDS=20

include packaging/packaging.mk
include tests/bench/bench.mk
include tests/reliability.mk
