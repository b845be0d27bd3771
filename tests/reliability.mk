# tests/reliability.mk: the reliability and security suite at full scale.
# Included by the Makefile.
#
#   make reliability
#
# runs tests/t08*.sh with RELIABILITY=1 (20 rotations under load, 200
# kills of certpull and 100 of certpush, 60 runs under I/O faults, 5
# estate break/repair cycles, 10 pushes to hostile targets, 40 watched
# installs), then prints the "# FIGURE" lines of every script as one
# table.  make check runs the same scripts with short counts.  The full
# log is kept in $(RELIABILITY_LOG); TEST_SEED=N repeats the random
# choices of a run (each script prints its "# seed N"; RELIABILITY_SEED,
# the older name, still works).

RELIABILITY_LOG ?= build/reliability.log

.PHONY: reliability

reliability: all
	@mkdir -p $(dir $(RELIABILITY_LOG))
	@{ RELIABILITY=1 prove -v tests/t08*.sh; echo $$? >$(RELIABILITY_LOG).rc; } 2>&1 | \
	  tee $(RELIABILITY_LOG)
	@echo
	@echo "Reliability and security figures (RELIABILITY=1, $$(date -u +%Y-%m-%d), $$(nproc) CPUs):"
	@echo
	@echo "| check | figures |"
	@echo "|-------|---------|"
	@sed -n 's/^# FIGURE \([^:]*\): \(.*\)$$/| \1 | \2 |/p' $(RELIABILITY_LOG)
	@rc=$$(cat $(RELIABILITY_LOG).rc); rm -f $(RELIABILITY_LOG).rc; exit $$rc
