# make bench: benchmarks of certpush/certpull against what operators use
# today (tests/bench/README.md).  Included at the end of the Makefile.
#
#   make bench          every scenario, full size (about 8 minutes; root)
#   make bench-smoke    every scenario at tiny sizes (about 30 s)
#   make bench BENCH_ONLY="fanout audit" BENCH_REPS=5
#
# Knobs (environment or make variables) are listed in tests/bench/run.sh.

BENCHTOOL := $(B)/tests/bench/benchtool

.PHONY: bench-smoke bench-tool

$(BENCHTOOL): $(B)/tests/bench/benchtool.o $(B)/libcommon.a
	@mkdir -p $(dir $@)
	$(CC) $(LDHARDEN) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

bench-tool: $(BENCHTOOL)

bench: all $(BENCHTOOL)
	BENCHTOOL=$(abspath $(BENCHTOOL)) bash tests/bench/run.sh

bench-smoke: all $(BENCHTOOL)
	BENCHTOOL=$(abspath $(BENCHTOOL)) bash tests/bench/run.sh --smoke
