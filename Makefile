# Developer shortcuts. PYTHON defaults to the project venv when there is one.
PYTHON ?= $(shell [ -x .venv/bin/python ] && echo .venv/bin/python || echo python3)
BENCH_ARGS ?=

.PHONY: bench bench-quick bench-deps

## Benchmark losscli against its peers (1M and 10M rows); results in benchmarks/results/.
bench:
	$(PYTHON) -m benchmarks $(BENCH_ARGS)

## The harness on tiny data (seconds): checks it works, times nothing meaningful.
bench-quick:
	$(PYTHON) -m benchmarks --quick $(BENCH_ARGS)

## Install the peers (DuckDB, polars, pandas, scikit-learn); torch separately if wanted.
bench-deps:
	$(PYTHON) -m pip install -e ".[bench]"
