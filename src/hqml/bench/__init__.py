"""hqml's benchmark suite against peer frameworks: workloads ``w*.py``, the harness around them.

Run it with ``hqml bench`` (or ``python -m hqml.bench``); see docs/benchmarks.md. Results go to
``benchmarks/results/`` inside an hqml checkout, else to ``./bench-results``.
"""
