"""The results file of a scale study: one JSON line per finished point, keyed by the point.

A point's line is appended (and flushed to disk) as soon as it finishes, so a study killed at
any moment keeps every finished point; a restarted study reads the keys and runs only the
points that are missing. A line cut short by the kill is ignored (its point runs again).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from .config import point_key


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
        return point_key(point) in self.records

    def add(self, record: dict[str, Any]) -> None:
        key = point_key(record["point"])
        if key in self.records:
            raise RuntimeError(f"point {key} is already in {self.path}")
        record = {"key": key, **record}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps(record, default=str) + "\n")
            f.flush()
            os.fsync(f.fileno())
        self.records[key] = record


__all__ = ["PointStore"]
