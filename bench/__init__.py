"""Benchmarks of the portal against bare baselines (``make bench``; see bench/README.md)."""
