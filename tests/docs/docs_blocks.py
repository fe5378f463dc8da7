"""Extract the Python code blocks of the README and docs/*.md, in order, per file.

A block preceded (on the line before its fence) by ``<!-- no-test: REASON -->`` is not run; the
reason says why (a server, a GPU, minutes of work). Blocks of one file run in one namespace, in
order, as a reader would paste them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FENCE = re.compile(r"^```python\s*$(.*?)^```\s*$", re.M | re.S)
SKIP = re.compile(r"<!--\s*no-test:\s*(.*?)\s*-->\s*$")


@dataclass
class Block:
    path: Path
    line: int
    code: str
    skip: str | None


def blocks(path: Path) -> list[Block]:
    text = path.read_text(encoding="utf-8")
    out = []
    for m in FENCE.finditer(text):
        before = text[: m.start()].rstrip("\n").splitlines()
        skip = SKIP.search(before[-1]) if before else None
        out.append(
            Block(
                path, text[: m.start()].count("\n") + 1, m.group(1), skip.group(1) if skip else None
            )
        )
    return out


def doc_files() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
