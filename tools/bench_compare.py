"""Compare hqml's median times between benchmark JSON files of two trees: ``python
tools/bench_compare.py BEFORE_DIR AFTER_DIR``; with several runs per tree, each case's time is
the minimum of its medians (the least disturbed run on a shared machine)."""

from __future__ import annotations

import glob
import json
import sys


def load(folder: str) -> dict:
    best: dict = {}
    for path in sorted(glob.glob(f"{folder}/*.json")):
        for r in json.load(open(path))["results"]:
            if r["framework"] != "hqml" or r["status"] != "ok":
                continue
            key = (r["workload"], r["label"], r.get("info", ""))
            best[key] = min(best.get(key, float("inf")), r["median_s"])
    return best


def main() -> None:
    before, after = load(sys.argv[1]), load(sys.argv[2])
    print(f"{'workload':8} {'case':24} {'before':>10} {'after':>10} {'after/before':>12}")
    for key in sorted(before):
        if key in after:
            b, a = before[key], after[key]
            print(f"{key[0]:8} {key[1]:24} {b * 1e3:9.3f}m {a * 1e3:9.3f}m {a / b:12.3f}")


if __name__ == "__main__":
    main()
