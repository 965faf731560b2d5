"""Reproducible performance runs of Union Hall (not timed tests): `make benchmark`.

See benchmarks/README.md for what each run measures and the figures measured so far.
"""
