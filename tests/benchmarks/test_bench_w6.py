"""W6 (noisy simulation) like-for-like comparisons: hqml's forward-only run agrees with its full
step's forward values, and the report sets forward-only peers against it."""

from __future__ import annotations

import io

import numpy as np
import pytest
from rich.console import Console

from hqml.bench.registry import HQML_FORWARD as FORWARD_REFERENCE
from hqml.bench.registry import compare
from hqml.bench.report import print_report, summary_rows
from hqml.bench.worker import run_one


def test_hqml_forward_agrees_with_the_full_step_and_has_no_gradient():
    from hqml.bench.w6_noise import WORKLOAD, make_data

    case = next(c for c in WORKLOAD.quick_cases if not c.get("trajectories"))
    full = WORKLOAD.impl("hqml").setup(case, make_data(case))
    reference = full.values(full.step())
    fwd, values = run_one("W6", FORWARD_REFERENCE, case, repeats=1, reference=reference)
    assert fwd["status"] == "ok", fwd
    assert fwd["outputs"] == ["expval", "loss"] and "grad_w" not in values
    np.testing.assert_allclose(values["expval"], reference["expval"], atol=1e-6)
    assert not compare(values, {**reference, "expval": -reference["expval"]}, ("expval",))[0]
    traj = next(c for c in WORKLOAD.quick_cases if c.get("trajectories"))
    skipped, _ = run_one("W6", FORWARD_REFERENCE, traj, repeats=1)
    assert skipped["status"] == "skipped" and "forward only" in skipped["detail"]


def _doc() -> dict:
    def res(fw, t, outputs=None):
        r = {"workload": "W6", "framework": fw, "label": "n=8", "status": "ok", "median_s": t}
        r.update(first_call_s=t, peak_mb=1.0)
        return r if outputs is None else {**r, "outputs": outputs}

    return {
        "workloads": {"W6": {"title": "t", "cases": ["n=8"], "size_key": "n"}},
        "results": [
            res("hqml", 0.4),
            res(FORWARD_REFERENCE, 0.1, ["expval", "loss"]),
            res("aer", 0.2, ["expval", "loss"]),  # forward only: 2x behind the full step
            res("pennylane", 2.0),  # forward + gradient
        ],
    }


def test_forward_only_peers_are_set_against_hqml_forward_and_keep_the_full_step_ratio():
    (row,) = summary_rows(_doc(), "W6")
    assert FORWARD_REFERENCE not in row["peers"]  # hqml's own run is not a peer
    aer, pl = row["peers"]["aer"], row["peers"]["pennylane"]
    # aer computes the forward values only: against hqml's forward (0.1 / 0.2), full step kept
    assert aer["against"] == FORWARD_REFERENCE and aer["like_for_like"]
    assert aer["ratio"] == pytest.approx(0.5) and aer["ratio_full"] == pytest.approx(2.0)
    assert pl["against"] == "hqml" and pl["ratio"] == pytest.approx(0.2)
    assert "ratio_full" not in pl and row["hqml_forward_s"] == pytest.approx(0.1)
    # the peer hqml leads least, like for like: aer 0.2 / 0.1 = 2x (pennylane: 2.0 / 0.4 = 5x)
    assert row["fastest_peer"] == "aer" and row["speedup_vs_fastest"] == pytest.approx(2.0)
    assert row["like_for_like"]
    buf = io.StringIO()
    print_report({**_doc(), "machine": {}}, Console(file=buf, width=250))
    text = buf.getvalue()
    assert "0.50 forward; full step 2.00" in text
    assert FORWARD_REFERENCE not in text.split("\n")[3]  # not a peer column


def test_without_a_forward_run_a_partial_peer_is_marked_not_like_for_like():
    doc = _doc()
    doc["results"] = [r for r in doc["results"] if r["framework"] != FORWARD_REFERENCE]
    (row,) = summary_rows(doc, "W6")
    aer = row["peers"]["aer"]
    assert aer["against"] == "hqml" and not aer["like_for_like"] and "hqml_forward_s" not in row
    assert aer["ratio"] == pytest.approx(2.0)  # hqml's full step against aer's forward
    assert row["fastest_peer"] == "aer" and not row["like_for_like"]
