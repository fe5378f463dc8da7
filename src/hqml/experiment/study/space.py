"""The search space of a hyperparameter study: parsing, and validation before any trial runs.

A space maps dotted keys of an ``hqml run`` config (such as ``"training.learning_rate"``) to a
list (every value is tried: a grid) or to a one-key table naming a distribution:
``{choice = [...]}``, ``{uniform = [lo, hi]}``, ``{loguniform = [lo, hi]}``,
``{randint = [lo, hi]}`` (``hi`` excluded). :func:`check_space` sets every candidate value (the
bounds of a range) in the base config and parses it, so a bad key or value fails before the study
starts. Also here: the CLI's ``--set KEY=V1,V2`` grids, reading a study file's ``[search]``
table, and :func:`apply_overrides`, which builds each trial's config. :mod:`.search` runs studies.

>>> dims = parse_space({"training.learning_rate": [0.01, 0.1], "model.layers": {"choice": [1, 2]}})
>>> [(d.kind, d.values) for d in dims.values()]
[('grid', (0.01, 0.1)), ('choice', (1, 2))]
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import ConfigError, parse_config, read_toml, tomllib

KINDS = ("grid", "choice", "uniform", "loguniform", "randint")
_MANAGED = ("name", "output_dir", "tracking")  # set by the study for each trial


@dataclass(frozen=True)
class Dimension:
    """One searched key: ``kind`` is one of :data:`KINDS`; ``values`` the list or the bounds."""

    key: str
    kind: str
    values: tuple[Any, ...]

    def candidates(self) -> tuple[Any, ...]:
        """Values checked against the config before any trial runs (bounds for ranges)."""
        if self.kind == "randint":
            return (self.values[0], self.values[1] - 1)
        return self.values

    def to_tune(self, tune: Any) -> Any:
        if self.kind == "grid":
            return tune.grid_search(list(self.values))
        if self.kind == "choice":
            return tune.choice(list(self.values))
        return getattr(tune, self.kind)(*self.values)

    def describe(self) -> str:
        return f"{self.kind}{list(self.values)}"


def parse_space(spec: Mapping[str, Any]) -> dict[str, Dimension]:
    """A space from its TOML/dict form (see the module docstring).

    Raises:
        ConfigError: naming the key and what a valid entry looks like.
    """
    if not isinstance(spec, Mapping) or not spec:
        raise ConfigError(
            "search space: give at least one key, e.g."
            ' space = {"training.learning_rate" = [0.01, 0.05]}'
        )
    out: dict[str, Dimension] = {}
    for key, entry in spec.items():
        if key.split(".")[0] in _MANAGED:
            raise ConfigError(
                f"search space: {key!r} is set by the study for each trial; search other keys"
            )
        if isinstance(entry, list | tuple):
            kind, values = "grid", tuple(entry)
        elif isinstance(entry, Mapping) and len(entry) == 1:
            ((kind, raw),) = entry.items()
            values = tuple(raw) if isinstance(raw, list | tuple) else (raw,)
        else:
            kind, values = "?", ()
        if kind not in KINDS or not values:
            raise ConfigError(
                f"search space: {key!r} must be a list of values or a table"
                " {choice = [...]} / {uniform = [lo, hi]} / {loguniform = [lo, hi]}"
                f" / {{randint = [lo, hi]}}, got {entry!r}"
            )
        if kind in ("uniform", "loguniform", "randint"):
            if (
                len(values) != 2
                or not all(isinstance(v, int | float) for v in values)
                or not values[0] < values[1]
                or (kind == "loguniform" and values[0] <= 0)
            ):
                raise ConfigError(
                    f"search space: {key!r} {kind} needs [lo, hi] with"
                    f" {'0 < ' if kind == 'loguniform' else ''}lo < hi,"
                    f" got {list(values)}"
                )
            if kind == "randint" and not all(isinstance(v, int) for v in values):
                raise ConfigError(f"search space: {key!r} randint bounds must be integers")
        out[key] = Dimension(key, kind, values)
    return out


def parse_set_option(text: str) -> tuple[str, list[Any]]:
    """``"training.learning_rate=0.01,0.05"`` (CLI ``--set``) as a key and its grid values."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip() or not raw.strip():
        raise ConfigError(
            f"--set {text!r}: write KEY=V1,V2,... e.g. training.learning_rate=0.01,0.1"
        )
    values = []
    for item in raw.split(","):
        try:
            values.append(tomllib.loads(f"v = {item.strip()}")["v"])
        except tomllib.TOMLDecodeError:
            values.append(item.strip())  # a bare word: a string
    return key.strip(), values


def apply_overrides(data: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """A deep copy of a config dict with dotted-key ``overrides`` set."""
    out = copy.deepcopy(dict(data))
    for key, value in overrides.items():
        node = out
        *parents, leaf = key.split(".")
        for p in parents:
            node = node.setdefault(p, {})
            if not isinstance(node, dict):
                raise ConfigError(f"search space: {key!r} goes through {p!r}, which is a value")
        node[leaf] = value
    return out


def load_study(path: str | Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """A config file's data (without its ``[search]`` table) and that table (or ``{}``)."""
    data = read_toml(path)
    return data, data.pop("search", {})


def check_space(base: Mapping[str, Any], space: Mapping[str, Dimension]) -> None:
    """Validate every candidate value of every key against the config, before any trial."""
    parse_config(dict(base))
    for dim in space.values():
        for value in dim.candidates():
            try:
                parse_config(apply_overrides(base, {dim.key: value}))
            except ConfigError as e:
                raise ConfigError(f"search space {dim.key!r} = {value!r}: {e}") from None


__all__ = [
    "KINDS",
    "Dimension",
    "parse_space",
    "parse_set_option",
    "apply_overrides",
    "load_study",
    "check_space",
]
