"""The results file of a scale study: one JSON line per finished point, keyed by the point.

A point's line is appended (and flushed to disk) as soon as it finishes, so a study killed at
any moment keeps every finished point; a restarted study reads the keys and runs only the
points that are missing. A line cut short by the kill is ignored (its point runs again), and
so is a point that failed (it runs again on the next call; the later line wins).

Every line carries the point's **setup**: its whole run config (less the output folder and the
tracking settings) and the study's measurement settings. A study resumed with a different
setup (the config was edited between calls) is refused, naming what changed: its finished
points would otherwise be reported as results of the new config.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ..config import ConfigError, RunConfig
from .config import point_key

# [scale] settings that change what a point measures (the others: which points, how many at
# once, and the thresholds, which are computed from the records at report time)
MEASURED_BY = (
    "baseline",
    "baseline_shape",
    "grad_samples",
    "init_models",
    "watts_per_core",
    "threads_per_worker",
)


def point_setup(run: dict[str, Any], settings: dict[str, Any]) -> dict[str, Any]:
    """What a point's result depends on: its run config (less output_dir and tracking) and the
    measurement settings of the study."""
    run = {k: v for k, v in run.items() if k not in ("output_dir", "tracking")}
    return json.loads(
        json.dumps({"run": run, "measure": {k: settings[k] for k in MEASURED_BY}}, default=str)
    )


def _changed(old: Any, new: Any, key: str = "") -> list[str]:
    if isinstance(old, dict) and isinstance(new, dict):
        out: list[str] = []
        for k in sorted(set(old) | set(new), key=str):
            out += _changed(old.get(k), new.get(k), f"{key}.{k}" if key else str(k))
        return out
    return [] if old == new else [f"{key} ({json.dumps(old)} -> {json.dumps(new)})"]


def _without_new_defaults(old: Any, new: Any, default: Any) -> Any:
    """``new`` less the keys ``old`` lacks whose value is ``default``'s (fields added since)."""
    if not (isinstance(old, dict) and isinstance(new, dict)):
        return new
    default = default if isinstance(default, dict) else {}
    return {
        k: _without_new_defaults(old.get(k), v, default.get(k))
        for k, v in new.items()
        if k in old or k not in default or v != default[k]
    }


class PointStore:
    def __init__(self, path: Path):
        self.path = Path(path)
        self.records: dict[str, dict[str, Any]] = {}
        if self.path.exists():
            text = self.path.read_text(encoding="utf-8")
            if text and not text.endswith("\n"):  # cut off the line a kill left unfinished
                text = text[: text.rfind("\n") + 1]
                self.path.write_text(text, encoding="utf-8")
            for line in text.splitlines():
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError:
                    continue  # the last line of a killed study
                if isinstance(rec, dict) and "key" in rec:
                    self.records[rec["key"]] = rec

    def __contains__(self, point: dict[str, Any]) -> bool:
        """Whether the point has finished (a failed point has not: it runs again)."""
        rec = self.records.get(point_key(point))
        return rec is not None and rec.get("status") == "ok"

    def check_setup(self, point: dict[str, Any], setup: dict[str, Any]) -> None:
        """Refuse (``ConfigError``) a finished point recorded with another setup. A run-config
        field that a later hqml added, at its default (e.g. ``training.device = "cpu"``), is no
        change: the point was made the way that default runs."""
        rec = self.records.get(point_key(point))
        if rec is None or rec.get("status") != "ok" or rec.get("setup") == setup:
            return
        if "setup" in rec:
            defaults = {"run": json.loads(json.dumps(RunConfig().model_dump(), default=str))}
            if rec["setup"] == _without_new_defaults(rec["setup"], setup, defaults):
                return
        what = (
            "was recorded without its setup (an older hqml)"
            if "setup" not in rec
            else "was made with another config: " + "; ".join(_changed(rec["setup"], setup)[:3])
        )
        raise ConfigError(
            f"scale: point {point_key(point)} in {self.path} {what}; restore the config, or give"
            " the study a new name (or delete the file) to start over"
        )

    def add(self, record: dict[str, Any]) -> None:
        key = point_key(record["point"])
        if record["point"] in self:
            raise RuntimeError(f"point {key} is already in {self.path}")
        record = {"key": key, **record}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps(record, default=str) + "\n")
            f.flush()
            os.fsync(f.fileno())
        self.records[key] = record


__all__ = ["PointStore", "point_setup", "MEASURED_BY"]
