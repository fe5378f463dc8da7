"""What calls to quantum providers cost: jobs, circuits, shots, time and money, with budgets.

Every provider backend (``hqml.backends.providers``) records each call it makes: a
:class:`ProviderCall`. A :class:`Ledger` collects calls and their totals; :func:`track` opens one
for a block of code (a run), and a ledger's :class:`Budget` is checked *before* a call is sent,
so a call that would exceed it is refused and nothing is spent::

    >>> from hqml import accounting
    >>> with accounting.track(budget=accounting.Budget(shots=1000)) as ledger:
    ...     pass                      # provider calls in here are recorded (and priced)
    >>> ledger.totals()["jobs"]
    0

Costs are estimates from a :class:`PriceTable`: per task, per shot and per second of device time,
by provider and device name (shell patterns). The defaults are the providers' public list prices
as of :data:`PRICES_DATE`; pass your own to a backend (``prices=``) or to :func:`track` (for
every backend inside the block that was given none; ``hqml run``'s ``[prices]``). A device no
pattern matches has no known price: its calls cost zero in the totals, and a money budget
refuses them before sending (it could not be checked).
"""

from __future__ import annotations

import fnmatch
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import asdict, dataclass, field
from typing import Any

PRICES_DATE = "2025-06-01"


@dataclass(frozen=True)
class Price:
    """A device's list price (USD): per task (job), per shot, per second of device time.

    ``seconds_per_shot`` (and ``seconds_per_task``) estimate device time before a call for
    devices billed by time. ``min_seconds_per_task``: a task is billed at least this long
    (Braket's managed simulators: 3 s); such a device's time is known only once its tasks ran,
    so its recorded cost uses the measured run time, and a money budget is checked before
    sending only when ``seconds_per_task`` gives an estimate. ``known``: false for a device no
    pattern matches (priced at zero, so a money budget cannot be checked against it and
    refuses its calls).
    """

    per_task: float = 0.0
    per_shot: float = 0.0
    per_second: float = 0.0
    seconds_per_shot: float = 0.0
    source: str = ""
    known: bool = True
    min_seconds_per_task: float = 0.0
    seconds_per_task: float | None = None

    def unchecked(self, backend: str) -> str:
        """Why a money budget cannot be checked before a call to ``backend``; "" when it can."""
        if not self.known:
            return f"no price known for {backend!r}"
        if self.min_seconds_per_task and self.seconds_per_task is None:
            return (
                f"{backend!r} is billed by its run time (at least"
                f" {self.min_seconds_per_task:g} s per task), unknown before it runs; give an"
                " estimate (seconds_per_task)"
            )
        return ""


# Public list prices on PRICES_DATE (Amazon Braket pricing page; IBM Quantum Pay-As-You-Go, $96
# per minute of QPU time, estimated here at ~1 ms of device time per shot). Local simulators and
# IBM's fake devices run on this machine: free. First matching pattern wins.
DEFAULT_PRICES: dict[str, Price] = {
    "qiskit:aer_simulator*": Price(source="local simulator"),
    "qiskit:fake_*": Price(source="local simulator (IBM fake device)"),
    "qiskit:ibm_*": Price(per_second=1.60, seconds_per_shot=1e-3, source="IBM PAYG $96/min"),
    "braket:braket_*": Price(source="Braket local simulator"),
    # managed simulators: per minute of run time, billed in 1 ms steps, at least 3 s per task
    "braket:*device/quantum-simulator/amazon/sv1": Price(
        per_second=0.075 / 60, min_seconds_per_task=3.0, source="Braket SV1 $0.075/min"
    ),
    "braket:*device/quantum-simulator/amazon/dm1": Price(
        per_second=0.075 / 60, min_seconds_per_task=3.0, source="Braket DM1 $0.075/min"
    ),
    "braket:*device/quantum-simulator/amazon/tn1": Price(
        per_second=0.275 / 60, min_seconds_per_task=3.0, source="Braket TN1 $0.275/min"
    ),
    "braket:*device/qpu/ionq/forte*": Price(0.30, 0.08, source="Braket: IonQ Forte"),
    "braket:*device/qpu/ionq/*": Price(0.30, 0.03, source="Braket: IonQ Aria"),
    "braket:*device/qpu/iqm/*": Price(0.30, 0.00145, source="Braket: IQM"),
    "braket:*device/qpu/rigetti/*": Price(0.30, 0.0009, source="Braket: Rigetti"),
    "braket:*device/qpu/quera/*": Price(0.30, 0.01, source="Braket: QuEra Aquila"),
    # PennyLane's own simulators and hqml's device run here; plugin devices (remote ones
    # included) are unknown unless priced
    "pennylane:default.*": Price(source="PennyLane simulator on this machine"),
    "pennylane:lightning.*": Price(source="PennyLane Lightning simulator on this machine"),
    "pennylane:hqml.*": Price(source="hqml's PennyLane device on this machine"),
}


class PriceTable:
    """Prices by ``"<provider>:<device>"`` pattern; ``overrides`` come before the defaults."""

    def __init__(
        self,
        overrides: Mapping[str, Price | Mapping[str, float]] | None = None,
        date: str = PRICES_DATE,
    ):
        table: dict[str, Price] = {}
        for pattern, price in (overrides or {}).items():
            table[pattern] = price if isinstance(price, Price) else Price(**dict(price))
        self.table = {**table, **{k: v for k, v in DEFAULT_PRICES.items() if k not in table}}
        self.date = date

    def price(self, backend: str) -> Price:
        """The first matching price; unknown devices are priced at zero with ``known=False``
        (``source`` says so)."""
        for pattern, price in self.table.items():
            if fnmatch.fnmatchcase(backend, pattern):
                return price
        return Price(source=f"no price known for {backend!r}", known=False)

    def estimate(self, backend: str, jobs: int, shots: int, seconds: float | None = None) -> float:
        """Estimated cost in USD of ``jobs`` jobs with ``shots`` shots in all, taking
        ``seconds`` of device time (default: estimated from the price's ``seconds_per_shot``
        and ``seconds_per_task``), each task billed at least ``min_seconds_per_task``."""
        p = self.price(backend)
        if seconds is None:
            seconds = shots * p.seconds_per_shot + jobs * (p.seconds_per_task or 0.0)
        seconds = max(seconds, jobs * p.min_seconds_per_task)
        return jobs * p.per_task + shots * p.per_shot + seconds * p.per_second


@dataclass(frozen=True)
class Budget:
    """Limits a ledger refuses to exceed (``None``: no limit); ``money`` in USD."""

    shots: int | None = None
    jobs: int | None = None
    money: float | None = None

    @classmethod
    def coerce(cls, value: Budget | Mapping[str, Any] | None) -> Budget | None:
        if value is None or isinstance(value, Budget):
            return value
        unknown = set(value) - {"shots", "jobs", "money"}
        if unknown:
            raise ValueError(f"unknown budget keys {sorted(unknown)}; use shots, jobs or money")
        return cls(**dict(value))


class BudgetExceeded(RuntimeError):
    """A provider call was refused before it was sent: it would exceed a budget."""


@dataclass(frozen=True)
class ProviderCall:
    """One call to a provider: its jobs, the circuits they ran, shots, times and cost."""

    backend: str
    jobs: int
    circuits: int
    shots: int
    cost: float = 0.0
    queue_s: float = 0.0
    run_s: float = 0.0
    job_ids: tuple[str, ...] = ()
    at: float = field(default_factory=time.time)
    priced: bool = True  # False: no price known for the device (its cost is not estimated)
    unchecked: str = ""  # why a money budget cannot be checked before this (planned) call


_TOTALS = ("calls", "jobs", "circuits", "shots", "cost", "queue_s", "run_s")


class Ledger:
    """Recorded provider calls, their totals and an optional budget."""

    def __init__(
        self,
        budget: Budget | Mapping[str, Any] | None = None,
        prices: PriceTable | None = None,
    ):
        self.budget = Budget.coerce(budget)
        self.prices = prices
        self.calls: list[ProviderCall] = []

    def totals(self) -> dict[str, float]:
        """``calls, jobs, circuits, shots, cost, queue_s, run_s`` summed over the calls."""
        out: dict[str, float] = dict.fromkeys(_TOTALS, 0)
        out["calls"] = len(self.calls)
        for c in self.calls:
            for k in _TOTALS[1:]:
                out[k] += getattr(c, k)
        return out

    def by_backend(self) -> dict[str, dict[str, float]]:
        out: dict[str, Ledger] = {}
        for c in self.calls:
            out.setdefault(c.backend, Ledger()).calls.append(c)
        return {k: v.totals() for k, v in out.items()}

    def check(self, call: ProviderCall) -> None:
        """Raise :class:`BudgetExceeded` when ``call`` (planned, not sent) would exceed the
        budget."""
        if self.budget is None:
            return
        if self.budget.money is not None and (call.unchecked or not call.priced):
            why = call.unchecked or f"no price known for {call.backend!r}"
            raise BudgetExceeded(
                f"budget money cannot be checked before sending: {why}; give its price"
                f" (prices=hqml.accounting.PriceTable("
                f"{{{call.backend!r}: {{'per_task': ..., 'per_shot': ...}}}})) or drop the"
                " money budget"
            )
        t = self.totals()
        for what, key, planned, limit in (
            ("shots", "shots", call.shots, self.budget.shots),
            ("jobs", "jobs", call.jobs, self.budget.jobs),
            ("money", "cost", call.cost, self.budget.money),
        ):
            if limit is not None and t[key] + planned > limit + 1e-12:
                fmt = (lambda v: f"${v:.4g}") if what == "money" else (lambda v: f"{int(v)}")
                raise BudgetExceeded(
                    f"budget exceeded before sending: {call.backend} would use {fmt(planned)}"
                    f" {what} with {fmt(t[key])} of {fmt(limit)} spent; raise budget {what}= or"
                    " use fewer shots/rows"
                )

    def record(self, call: ProviderCall) -> None:
        self.calls.append(call)

    def to_dict(self) -> dict[str, Any]:
        return {
            "totals": self.totals(),
            "by_backend": self.by_backend(),
            "calls": [asdict(c) for c in self.calls],
        }


_ACTIVE: ContextVar[tuple[Ledger, ...]] = ContextVar("hqml_ledgers", default=())


@contextmanager
def track(
    budget: Budget | Mapping[str, Any] | None = None,
    prices: PriceTable | Mapping[str, Price | Mapping[str, float]] | None = None,
) -> Iterator[Ledger]:
    """Record every provider call made inside the block in a new :class:`Ledger` (nested blocks
    record in each open ledger), refusing calls that would exceed ``budget``. ``prices`` (a
    :class:`PriceTable` or its overrides) price the calls of backends given no ``prices=``."""
    if prices is not None and not isinstance(prices, PriceTable):
        prices = PriceTable(prices)
    ledger = Ledger(budget, prices)
    token = _ACTIVE.set(_ACTIVE.get() + (ledger,))
    try:
        yield ledger
    finally:
        _ACTIVE.reset(token)


def active_ledgers() -> tuple[Ledger, ...]:
    """The ledgers of the enclosing :func:`track` blocks, outermost first."""
    return _ACTIVE.get()


def active_prices() -> PriceTable:
    """The prices of the innermost enclosing :func:`track` block that gives some, else the
    defaults."""
    for ledger in reversed(_ACTIVE.get()):
        if ledger.prices is not None:
            return ledger.prices
    return PriceTable()


def check(call: ProviderCall, *extra: Ledger) -> None:
    """Check a planned call against ``extra`` ledgers and every open one (before sending)."""
    for ledger in (*extra, *_ACTIVE.get()):
        ledger.check(call)


def record(call: ProviderCall, *extra: Ledger) -> None:
    """Record a call that was made in ``extra`` ledgers and every open one."""
    for ledger in (*extra, *_ACTIVE.get()):
        ledger.record(call)


def format_totals(totals: Mapping[str, float]) -> str:
    """One line, e.g. ``2 jobs, 40 circuits, 40000 shots, $0.00, 0.3 s run``."""
    cost = totals.get("cost", 0.0)
    money = f"${cost:.2f}" if cost >= 0.01 or cost == 0 else f"${cost:.2g}"
    return (
        f"{int(totals['jobs'])} jobs, {int(totals['circuits'])} circuits,"
        f" {int(totals['shots'])} shots, {money} estimated,"
        f" {totals['queue_s']:.1f} s queued, {totals['run_s']:.1f} s run"
    )


__all__ = [
    "PRICES_DATE",
    "DEFAULT_PRICES",
    "Budget",
    "BudgetExceeded",
    "Ledger",
    "Price",
    "PriceTable",
    "ProviderCall",
    "active_ledgers",
    "active_prices",
    "check",
    "format_totals",
    "record",
    "track",
]
