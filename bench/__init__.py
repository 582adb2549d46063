"""Micro-benchmarks. Not part of the test suite: run `python -m bench` (all) or `python -m bench.bench_classify`."""
