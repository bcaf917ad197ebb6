# Developer shortcuts. PYTHON defaults to the project venv when there is one.
PYTHON ?= $(shell [ -x .venv/bin/python ] && echo .venv/bin/python || echo python3)
BENCH_ARGS ?=

.PHONY: bench bench-quick bench-deps

## Benchmark losscli against its peers (1M and 10M rows); results in benchmarks/results/.
## One command from a clean clone: installs losscli and the peers first.
bench: bench-deps
	$(PYTHON) -m benchmarks $(BENCH_ARGS)

## The harness on tiny data (seconds): checks it works, times nothing meaningful.
bench-quick:
	$(PYTHON) -m benchmarks --quick $(BENCH_ARGS)

## Install losscli with the peers (DuckDB, polars, pandas, scikit-learn); torch if wanted:
## `pip install torch` (the harness skips it when it is missing).
bench-deps:
	$(PYTHON) -m pip install --quiet -e ".[bench]"
