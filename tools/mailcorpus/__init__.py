"""Deterministic synthetic mail corpus for Sluice's tests and benchmarks.

`tools/corpus` is the command line; `generate()` in generator.py is the library entry
the traffic generator and tests use. Python 3 standard library only.
"""
