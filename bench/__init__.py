"""Benchmarks (not tests): `python -m bench` (or `make bench`) runs each module of BENCHMARKS and prints figures."""
