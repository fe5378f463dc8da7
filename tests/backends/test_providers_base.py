"""The provider-backend base without any SDK: a toy device (exact values from hqml's own
statevector, binomial shot noise) that counts what it is sent. Capability checks, budgets and
typed errors must act before ``submit`` is called; every call is recorded."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import hqml
from hqml import accounting
from hqml.backends.base import Expval, Task
from hqml.backends.providers import (
    CredentialsMissing,
    DeviceOffline,
    JobFailed,
    ProviderBackend,
    ProviderCapabilities,
    QueueFull,
    Submission,
    UnsupportedRequest,
)


class ToyDevice(ProviderBackend):
    """Three qubits, shots only, no ``iswap``; packs all tasks of a call into one job."""

    provider = "toy"
    capabilities = ProviderCapabilities(
        max_qubits=3, shots_only=True, measurements=frozenset({"expval"}), max_shots=10_000,
        native_gates=frozenset({"ry", "rz", "cx"}),
    )  # fmt: skip

    def __init__(self, raise_with: Exception | None = None, **options):
        super().__init__("qpu1", **options)
        self.sent: list[int] = []  # rows per submitted call
        self.raise_with = raise_with

    def check_gates(self, task):
        for op in task.circuit.ops:
            if op.gate.name == "iswap":
                raise UnsupportedRequest(f"{self.name} cannot run gate 'iswap'")

    def plan(self, tasks, shots):
        return 1, [int(t.theta.shape[0]) * len(t.measurement.observables) for t in tasks]

    def submit(self, tasks, shots, seed):
        if self.raise_with is not None:
            raise self.raise_with
        self.sent.append(sum(int(t.theta.shape[0]) for t in tasks))
        gen = torch.Generator().manual_seed(seed or 0)
        outs = []
        for t, s in zip(tasks, shots, strict=True):
            exact = hqml.get_backend("statevector").execute([t])[0].double()
            p1 = ((1 - exact) / 2).clamp(0, 1)  # +-1 outcomes (Pauli words)
            outs.append(1 - 2 * torch.binomial(torch.full_like(p1, s), p1, generator=gen) / s)
        return Submission(outs, job_ids=("job-1",))


def circuit(n: int = 2) -> hqml.Circuit:
    c = hqml.Circuit(n)
    w = c.weight("w", (n,))
    for i in range(n):
        c.ry(w[i], i)
    c.cnot(0, 1)
    return c


W = torch.tensor([0.3, -1.1], dtype=torch.float64)


def test_values_gradients_and_the_record():
    dev = ToyDevice(shots=10_000, seed=5)
    w = W.clone().requires_grad_(True)
    with accounting.track() as run:
        v = hqml.expval(circuit(), [hqml.Z(0), hqml.Z(1)], weights={"w": w}, backend=dev)
        v.sum().backward()
    exact_w = W.clone().requires_grad_(True)
    ref = hqml.expval(circuit(), [hqml.Z(0), hqml.Z(1)], weights={"w": exact_w})
    ref.sum().backward()
    se = np.sqrt(1 / 10_000)
    assert torch.all((v - ref).abs() < 4 * se)
    # grad = sum over 2 observables of (f+ - f-) / 2: variance <= 4 * (1/4) / shots = se**2
    assert torch.all((w.grad - exact_w.grad).abs() < 4 * se)
    # one job for the values, one for every shifted circuit of the gradient (2 per weight)
    assert dev.sent == [1, 4]
    t = run.totals()
    assert (t["calls"], t["jobs"], t["circuits"], t["shots"]) == (2, 2, 2 + 8, 10 * 10_000)
    assert dev.ledger.totals() == t
    assert run.calls[0].job_ids == ("job-1",)


@pytest.mark.parametrize(
    "make, kwargs, message",
    [
        (lambda: circuit(4), {"shots": 100}, "at most 3 qubits; the circuit has 4"),
        (circuit, {}, "shots only and cannot return exact values; pass shots=N"),
        (circuit, {"shots": 20_000}, "at most 10000 shots per circuit; got 20000"),
        (lambda: circuit().iswap(0, 1), {"shots": 10}, "cannot run gate 'iswap'"),
    ],
)
def test_refusals_come_before_anything_is_sent(make, kwargs, message):
    dev = ToyDevice()
    with pytest.raises(ValueError, match=message):  # UnsupportedRequest is a ValueError
        hqml.expval(make(), hqml.Z(0), weights={"w": torch.zeros(2)}, backend=dev, **kwargs)
    assert dev.sent == [] and dev.ledger.calls == []


def test_the_backend_checks_width_itself():
    task = Task(circuit(4), torch.zeros(1, 4), Expval((hqml.Z(0),)), shots=10)
    with pytest.raises(UnsupportedRequest, match="has 3 qubits; the circuit needs 4"):
        ToyDevice().execute([task])


def test_probs_and_noise_models_are_refused_in_one_line():
    dev = ToyDevice(shots=10)
    task = Task(circuit(), torch.zeros(1, 2), Expval((hqml.Z(0),)), options={"noise_model": 1})
    with pytest.raises(UnsupportedRequest, match="device's own noise; drop noise_model="):
        dev.execute([task])
    with pytest.raises(UnsupportedRequest, match="cannot return probs.*shots=N"):
        hqml.probs(circuit(), weights={"w": torch.zeros(2)}, backend=dev)
    assert dev.sent == []


def test_budgets_refuse_before_the_call_that_would_exceed_them():
    dev = ToyDevice(shots=1000, budget={"shots": 2500})
    x = {"w": torch.zeros(2)}
    hqml.expval(circuit(), [hqml.Z(0), hqml.Z(1)], weights=x, backend=dev)  # 2000 shots
    with pytest.raises(accounting.BudgetExceeded, match="would use 2000 shots with 2000 of 2500"):
        hqml.expval(circuit(), [hqml.Z(0), hqml.Z(1)], weights=x, backend=dev)
    assert dev.sent == [1] and dev.ledger.totals()["shots"] == 2000
    # a run's budget (jobs) applies to every backend inside it
    with accounting.track(budget=accounting.Budget(jobs=1)) as run:
        hqml.expval(circuit(), hqml.Z(0), weights=x, backend=ToyDevice(shots=10))
        with pytest.raises(accounting.BudgetExceeded, match="jobs"):
            hqml.expval(circuit(), hqml.Z(0), weights=x, backend=ToyDevice(shots=10))
    assert run.totals()["jobs"] == 1
    with pytest.raises(ValueError, match="unknown budget keys"):
        ToyDevice(budget={"dollars": 3})


def test_money_is_priced_from_the_table_and_refused_before_sending():
    prices = accounting.PriceTable({"toy:*": {"per_task": 0.3, "per_shot": 0.01}})
    dev = ToyDevice(shots=100, prices=prices, budget=accounting.Budget(money=2.0))
    x = {"w": torch.zeros(2)}
    hqml.expval(circuit(), hqml.Z(0), weights=x, backend=dev)  # 0.30 + 100 * 0.01
    assert dev.ledger.totals()["cost"] == pytest.approx(1.3)
    with pytest.raises(accounting.BudgetExceeded, match="money"):
        hqml.expval(circuit(), hqml.Z(0), weights=x, backend=dev)
    assert len(dev.sent) == 1
    assert (
        accounting.PriceTable()
        .price("braket:arn:aws:braket:us-east-1::device/qpu/ionq/Aria-1")
        .per_shot
        == 0.03
    )
    assert "no price known" in accounting.PriceTable().price("acme:qpu").source


def test_a_money_budget_refuses_a_device_without_a_known_price():
    """A device no price pattern matches would be priced at zero, so a money budget could never
    stop it: its calls are refused before sending until its price is given."""
    x = {"w": torch.zeros(2)}
    dev = ToyDevice(shots=100, budget={"money": 5.0})  # "toy:qpu1": no default price
    with pytest.raises(accounting.BudgetExceeded, match="no price known for 'toy:qpu1'") as e:
        hqml.expval(circuit(), hqml.Z(0), weights=x, backend=dev)
    assert "\n" not in str(e.value) and dev.sent == [] and dev.ledger.calls == []
    with accounting.track(budget={"money": 5.0}), pytest.raises(accounting.BudgetExceeded):
        hqml.expval(circuit(), hqml.Z(0), weights=x, backend=ToyDevice(shots=100))
    # without a money budget the call runs; with the price given, the budget applies
    with accounting.track(budget={"shots": 1000}) as run:
        hqml.expval(circuit(), hqml.Z(0), weights=x, backend=ToyDevice(shots=100))
    assert run.totals()["cost"] == 0 and not run.calls[0].priced
    priced = ToyDevice(shots=100, budget={"money": 5.0},
                       prices=accounting.PriceTable({"toy:*": {"per_shot": 0.01}}))  # fmt: skip
    hqml.expval(circuit(), hqml.Z(0), weights=x, backend=priced)
    assert priced.ledger.totals()["cost"] == pytest.approx(1.0) and priced.ledger.calls[0].priced
    # a block's prices price the backends given none; a backend's own prices come first
    with accounting.track(prices={"toy:*": {"per_task": 2.0}}, budget={"money": 5.0}) as run:
        hqml.expval(circuit(), hqml.Z(0), weights=x, backend=ToyDevice(shots=100))
        with accounting.track() as inner:  # an inner block without prices: the outer ones
            hqml.expval(circuit(), hqml.Z(0), weights=x, backend=ToyDevice(shots=100))
        hqml.expval(circuit(), hqml.Z(0), weights=x, backend=priced)
        with pytest.raises(accounting.BudgetExceeded, match="would use \\$2 money"):
            hqml.expval(circuit(), hqml.Z(0), weights=x, backend=ToyDevice(shots=100))
    assert [c.cost for c in run.calls] == pytest.approx([2.0, 2.0, 1.0])
    assert inner.totals()["cost"] == pytest.approx(2.0)
    table = accounting.PriceTable()
    assert table.price("pennylane:default.qubit").known
    assert table.price("pennylane:lightning.qubit").known
    # a PennyLane plugin device (a remote QPU, say) is not assumed free
    assert not table.price("pennylane:qiskit.remote").known


SIM = "braket:arn:aws:braket:::device/quantum-simulator/amazon/"


def test_braket_managed_simulators_are_billed_per_minute_with_a_3_s_minimum_per_task():
    table = accounting.PriceTable()
    for name, per_minute in (("sv1", 0.075), ("dm1", 0.075), ("tn1", 0.275)):
        p = table.price(SIM + name)
        assert p.known and p.per_second * 60 == pytest.approx(per_minute)
        # two tasks of 1 s each are billed 3 s each; 10 s in all is billed as 10 s
        assert table.estimate(SIM + name, 2, 2000, seconds=2.0) == pytest.approx(per_minute / 10)
        assert table.estimate(SIM + name, 2, 2000, seconds=10.0) == pytest.approx(per_minute / 6)
    assert accounting.PRICES_DATE  # the list prices' date


def test_a_money_budget_needs_a_run_time_estimate_for_a_device_billed_by_time():
    """A managed simulator's run time is known only after it ran: a money budget refuses its
    calls before sending unless the price estimates it; the recorded cost is the time taken."""
    x = {"w": torch.zeros(2)}
    sv1 = {"toy:*": {"per_second": 0.075 / 60, "min_seconds_per_task": 3.0}}
    dev = ToyDevice(shots=100, budget={"money": 5.0}, prices=accounting.PriceTable(sv1))
    with pytest.raises(accounting.BudgetExceeded, match="billed by its run time") as e:
        hqml.expval(circuit(), hqml.Z(0), weights=x, backend=dev)
    assert "\n" not in str(e.value) and dev.sent == []
    estimated = {"toy:*": {**sv1["toy:*"], "seconds_per_task": 60.0}}
    dev = ToyDevice(shots=100, budget={"money": 0.1}, prices=accounting.PriceTable(estimated))
    hqml.expval(circuit(), hqml.Z(0), weights=x, backend=dev)  # one task, ran well under 3 s
    assert dev.ledger.totals()["cost"] == pytest.approx(3 * 0.075 / 60)
    dev2 = ToyDevice(shots=100, budget={"money": 0.05}, prices=accounting.PriceTable(estimated))
    with pytest.raises(accounting.BudgetExceeded, match="money"):  # 60 s estimated: $0.075
        hqml.expval(circuit(), hqml.Z(0), weights=x, backend=dev2)
    with accounting.track() as run:  # no budget: the call runs and is priced
        hqml.expval(circuit(), hqml.Z(0), weights=x, backend=ToyDevice(
            shots=100, prices=accounting.PriceTable(sv1)))  # fmt: skip
    assert run.totals()["cost"] == pytest.approx(3 * 0.075 / 60) and run.calls[0].priced


@pytest.mark.parametrize(
    "exc, cls",
    [
        (RuntimeError("Job quota exceeded: the queue is full, retry later"), QueueFull),
        (ConnectionError("device qpu1 is OFFLINE for maintenance"), DeviceOffline),
        (PermissionError("401 Unauthorized: invalid token"), CredentialsMissing),
        (RuntimeError("circuit 3 failed: measurement error"), JobFailed),
    ],
)
def test_provider_errors_become_typed_errors_with_the_providers_message(exc, cls):
    dev = ToyDevice(raise_with=exc, shots=10)
    with pytest.raises(cls) as info:
        hqml.expval(circuit(), hqml.Z(0), weights={"w": torch.zeros(2)}, backend=dev)
    assert str(exc) in str(info.value) and info.value.provider_message.endswith(str(exc))
    assert info.value.backend == "toy:qpu1" and dev.ledger.calls == []


def test_fallback_runs_when_the_device_is_offline():
    dev = ToyDevice(
        raise_with=RuntimeError("backend is offline"),
        shots=10,
        fallback=hqml.get_backend("statevector"),
    )
    with pytest.warns(RuntimeWarning, match="device offline.*fallback backend 'statevector'"):
        v = hqml.expval(circuit(), hqml.Z(0), weights={"w": W})
        got = hqml.expval(circuit(), hqml.Z(0), weights={"w": W}, backend=dev)
    assert torch.allclose(got, v)
    failing = ToyDevice(
        raise_with=RuntimeError("job failed"), shots=10, fallback=hqml.get_backend("statevector")
    )
    with pytest.raises(JobFailed):  # a failed job is not retried elsewhere
        hqml.expval(circuit(), hqml.Z(0), weights={"w": W}, backend=failing)


def test_format_totals_is_one_line():
    led = accounting.Ledger()
    led.record(accounting.ProviderCall("toy:qpu1", 2, 10, 1000, cost=0.5, run_s=1.25))
    line = accounting.format_totals(led.totals())
    assert line == "2 jobs, 10 circuits, 1000 shots, $0.50 estimated, 0.0 s queued, 1.2 s run"
    assert led.to_dict()["by_backend"]["toy:qpu1"]["shots"] == 1000
