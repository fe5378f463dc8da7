"""The Python code blocks of README.md and docs/*.md run, so the docs cannot rot.

Each file's blocks run in order in one namespace (later blocks use earlier names, as a reader
pasting them would), in a scratch directory. A block marked ``<!-- no-test: REASON -->`` on the
line before its fence is not run (a server, Ray, minutes of work); the test lists the reasons.
"""

from __future__ import annotations

import pytest

from docs.docs_blocks import ROOT, blocks, doc_files

pytestmark = pytest.mark.slow  # servers, Ray, subprocesses: `make test-fast` skips these

FILES = [p for p in doc_files() if blocks(p)]


def test_docs_have_code_blocks_and_reasons_for_skips():
    assert {p.name for p in FILES} >= {"README.md", "kernels.md", "noise.md", "optimize.md"}
    for p in FILES:
        for b in blocks(p):
            assert b.skip is None or len(b.skip) > 10, f"{p.name}:{b.line}: give a reason"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_code_blocks_run(path, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # files the examples write stay out of the checkout
    namespace: dict = {"__name__": "__docs__"}
    ran = 0
    for block in blocks(path):
        if block.skip:
            continue
        code = compile(block.code, f"{path.relative_to(ROOT)}:{block.line}", "exec")
        exec(code, namespace)  # a failure names the file and line of the block
        ran += 1
    if not ran:
        pytest.skip(
            f"every block of {path.name} needs a service: "
            + "; ".join(b.skip for b in blocks(path) if b.skip)
        )
