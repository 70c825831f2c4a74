"""Benchmarks (not tests): how fast the product is, and whether it stays fast as data grows.

`python -m bench` (`make bench`) runs every benchmark and prints one table; see bench/README.md.
`python -m bench certificates` runs one benchmark module alone, with its own figures.
Nothing here is collected by pytest: the files are not named test_*.py and live outside tests/.
"""
