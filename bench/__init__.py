"""Tocsin's benchmarks: ``python -m bench [WORKLOAD ...]`` (see bench/README.md)."""
