"""hqml's benchmark suite against peer frameworks: workloads ``w*.py``, the harness around them.

Run it with ``hqml bench`` (or ``python -m benchmarks``); see docs/benchmarks.md.
"""
