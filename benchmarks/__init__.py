"""The losscli benchmark: ``python -m benchmarks`` (see ``python -m benchmarks --help``).

Times losscli and its peers (DuckDB, polars, pandas + scikit-learn, numpy, torch) as whole
processes on deterministic data generated into ``benchmarks/.cache/``, and writes
``benchmarks/results/latest.md`` and ``latest.json``.
"""
