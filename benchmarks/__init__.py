"""hfsearch's benchmarks: run them as `python -m benchmarks.NAME`; results go in BENCHMARKS.md."""
