"""Decoders for surface-code memory experiments, all with one interface.

``decode(detectors) -> flips``: a (shots, n_detectors) bool array of detection events in, a
(shots,) bool array of predicted observable flips out, batched.

- :class:`ConvDecoder`: a 3D convolutional network over the detector lattice (time x space),
  after the local convolutional decoders of Meinerz, Park and Trebst (PRL 128, 080505, 2022) and
  Gicev, Hollenberg and Usman (Quantum 7, 1058, 2023). Departures: a fixed-size dense read-out
  instead of their translation-invariant stitching, and circuit-level data from Stim.
- :class:`RecurrentDecoder`: an LSTM over syndrome rounds with a separate read-out of the final
  data-qubit round, the design of Baireuther et al. (Quantum 2, 48, 2018) and Varbanov et al.
  (PRR 2025, arXiv:2307.03280). Departure: detection events rather than raw syndromes as input.
- ``LatticeRecurrentDecoder`` (in :mod:`hqml.qec.lattice`): a convolutional GRU whose state
  lives on the stabiliser lattice, after AlphaQubit's recurrent core (Bausch et al., Nature 2024).
- :class:`MatchingDecoder`: PyMatching on the detector error model Stim derives from the same
  circuit (the baseline practitioners use), optionally in correlated-matching mode.
- :class:`NoFlipDecoder`: predicts "no flip"; a model must beat it by far to be worth anything.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np
import torch
from torch import nn

from .codes import DetectorLayout, SurfaceCodeMemory


class NeuralDecoder(nn.Module):
    """Base class: lattice embedding, training (``fit``) and batched ``decode``.

    Subclasses define ``logits(lattice)`` on a (B, T, H, W) float lattice.
    """

    def __init__(self, layout: DetectorLayout):
        super().__init__()
        self.layout = layout
        self.register_buffer(
            "_index",
            torch.as_tensor(np.ravel_multi_index((layout.t, layout.i, layout.j), layout.shape)),
            persistent=False,
        )
        self.register_buffer("_mask", torch.as_tensor(layout.mask()), persistent=False)

    def lattice(self, detectors: torch.Tensor) -> torch.Tensor:
        """(B, n_detectors) events -> (B, T, H, W) float lattice on the module's device."""
        n = len(self.layout.t)
        if detectors.ndim != 2 or detectors.shape[1] != n:
            raise ValueError(
                f"expected detection events (shots, {n}) for this decoder's experiment, got "
                f"{tuple(detectors.shape)}; decode shots of the experiment it was built for"
            )
        x = detectors.to(device=self._mask.device, dtype=self._mask.dtype)
        out = x.new_zeros(x.shape[0], self._mask.numel())
        out[:, self._index] = x
        return out.view(x.shape[0], *self.layout.shape)

    def logits(self, lattice: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def forward(self, detectors: torch.Tensor) -> torch.Tensor:
        """Logit of an observable flip for each shot, (B,)."""
        return self.logits(self.lattice(detectors))

    def fit(
        self,
        detectors: np.ndarray,
        flips: np.ndarray,
        epochs: int = 5,
        batch_size: int = 1024,
        lr: float = 5e-3,
        seed: int = 0,
        progress: Callable[[int, float], None] | None = None,
    ) -> NeuralDecoder:
        """Train with Adam on binary cross-entropy, one-cycle learning rate; returns ``self``.

        Args:
            detectors: (shots, n_detectors) bool detection events.
            flips: (shots,) bool observable flips.
            epochs: passes over the data.
            batch_size: shots per step.
            lr: peak learning rate.
            seed: seeds the shuffling.
            progress: called as ``progress(step, loss)`` after every step.
        """
        det = torch.as_tensor(np.asarray(detectors), dtype=torch.bool)
        y = torch.as_tensor(np.asarray(flips), dtype=torch.float32).reshape(-1)
        if det.ndim != 2 or det.shape[1] != len(self.layout.t) or len(y) != len(det):
            raise ValueError(
                f"expected detectors (shots, {len(self.layout.t)}) and flips "
                f"(shots,), got {tuple(det.shape)} and {tuple(y.shape)}"
            )
        gen = torch.Generator().manual_seed(seed)
        steps_per_epoch = max(1, len(y) // batch_size)

        def batches() -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
            for _ in range(epochs):
                order = torch.randperm(len(y), generator=gen)
                for b in range(steps_per_epoch):
                    idx = order[b * batch_size : (b + 1) * batch_size]
                    yield det[idx], y[idx]

        return self.fit_stream(batches(), epochs * steps_per_epoch, lr=lr, progress=progress)

    def fit_stream(
        self,
        batches: Iterable[tuple[Any, Any]],
        steps: int,
        lr: float = 5e-3,
        progress: Callable[[int, float], None] | None = None,
    ) -> NeuralDecoder:
        """Train on ``steps`` batches drawn from ``batches`` (fresh shots each step, e.g. sampled
        by Stim as training goes); Adam, one-cycle learning rate peaking at ``lr``.

        Args:
            batches: yields ``(detectors, flips)``: (B, n_detectors) bool and (B,) bool.
            steps: optimiser steps (the one-cycle schedule spans them).
            lr: peak learning rate.
            progress: called as ``progress(step, loss)`` after every step.
        """
        if steps < 1:
            raise ValueError(f"steps must be positive, got {steps}")
        opt = torch.optim.Adam(self.parameters(), lr=lr)
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps)
        loss_fn = nn.BCEWithLogitsLoss()
        self.train()
        step = 0
        for det, flips in batches:
            det = torch.as_tensor(det, dtype=torch.bool)
            target = torch.as_tensor(flips, dtype=torch.float32).reshape(-1).to(self._mask.device)
            if len(target) != len(det):
                raise ValueError(f"got {len(det)} shots of detectors but {len(target)} flips")
            loss = loss_fn(self(det), target)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            step += 1
            if progress is not None:
                progress(step, loss.item())
            if step == steps:
                break
        self.eval()
        return self

    decode_batch_size = 8192  # shots per forward pass in decode (a subclass may prefer fewer)

    @torch.no_grad()
    def decode(self, detectors: np.ndarray, batch_size: int | None = None) -> np.ndarray:
        """Predicted observable flips, (shots,) bool."""
        batch_size = self.decode_batch_size if batch_size is None else batch_size
        det = torch.as_tensor(np.asarray(detectors), dtype=torch.bool)
        was_training = self.training
        self.eval()
        out = [self(det[s : s + batch_size]) > 0 for s in range(0, len(det), batch_size)]
        self.train(was_training)
        return torch.cat(out).cpu().numpy() if out else np.zeros(0, dtype=bool)


def _seeded_init(seed: int, build: Callable[[], None]) -> None:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        build()


class ConvDecoder(NeuralDecoder):
    """3D convolutions over (time, row, column) of the detector lattice, then a dense read-out.

    Args:
        layout: the experiment's :class:`DetectorLayout` (``SurfaceCodeMemory.layout``).
        channels: feature maps per convolution.
        depth: number of 3x3x3 convolutions (the receptive field grows by 2 per layer).
        hidden: width of the read-out layer.
        seed: seeds the initial weights.
    """

    def __init__(
        self,
        layout: DetectorLayout,
        channels: int = 8,
        depth: int = 2,
        hidden: int = 64,
        seed: int = 0,
    ):
        super().__init__(layout)

        def build() -> None:
            layers: list[nn.Module] = []
            c_in = 2  # events and the detector mask
            for _ in range(depth):
                layers += [nn.Conv3d(c_in, channels, 3, padding=1), nn.GELU()]
                c_in = channels
            self.body = nn.Sequential(*layers)
            cells = int(np.prod(layout.shape))
            self.head = nn.Sequential(
                nn.Flatten(), nn.Linear(channels * cells, hidden), nn.GELU(), nn.Linear(hidden, 1)
            )

        _seeded_init(seed, build)

    def logits(self, lattice: torch.Tensor) -> torch.Tensor:
        mask = self._mask.expand_as(lattice)
        x = torch.stack([lattice, mask], dim=1)
        return self.head(self.body(x)).squeeze(-1)


class RecurrentDecoder(NeuralDecoder):
    """An LSTM over syndrome rounds; the final (data-qubit) round is read out beside its state.

    Args:
        layout: the experiment's :class:`DetectorLayout`.
        hidden: LSTM state size.
        layers: stacked LSTM layers.
        measurements: feed each round's stabiliser measurements (relative to their first round,
            the running parity of the detection events) beside its detection events, as
            AlphaQubit does (Bausch et al., Nature 635, 834, 2024); it learns faster at d = 5.
        seed: seeds the initial weights.
    """

    def __init__(
        self,
        layout: DetectorLayout,
        hidden: int = 128,
        layers: int = 2,
        measurements: bool = False,
        seed: int = 0,
    ):
        super().__init__(layout)
        cells = layout.shape[1] * layout.shape[2]
        self.measurements = measurements

        def build() -> None:
            self.rnn = nn.LSTM(
                cells * (2 if measurements else 1), hidden, num_layers=layers, batch_first=True
            )
            self.head = nn.Sequential(
                nn.Linear(hidden + cells, hidden), nn.GELU(), nn.Linear(hidden, 1)
            )

        _seeded_init(seed, build)

    def round_inputs(self, lattice: torch.Tensor) -> torch.Tensor:
        """What the LSTM reads each syndrome round: (B, T - 1, H*W) detection events, then (with
        ``measurements``) as many measured stabiliser values, XOR their first round's."""
        events = lattice.flatten(2)[:, :-1]
        if not self.measurements:
            return events
        return torch.cat([events, torch.remainder(torch.cumsum(events, dim=1), 2.0)], dim=2)

    def logits(self, lattice: torch.Tensor) -> torch.Tensor:
        _, (h, _) = self.rnn(self.round_inputs(lattice))
        final = lattice.flatten(2)[:, -1]  # the data-qubit round
        return self.head(torch.cat([h[-1], final], dim=1)).squeeze(-1)


class MatchingDecoder:
    """PyMatching (minimum-weight perfect matching) on Stim's detector error model.

    Args:
        experiment: the experiment whose detector error model is matched.
        correlated: use PyMatching's correlated matching (PyMatching >= 2.3).
    """

    def __init__(self, experiment: SurfaceCodeMemory, correlated: bool = False):
        try:
            import pymatching
        except ImportError:
            raise ImportError("MatchingDecoder needs pymatching: pip install 'hqml[qec]'") from None
        self.correlated = correlated
        dem = experiment.detector_error_model()
        kwargs: dict[str, Any] = {"enable_correlations": True} if correlated else {}
        try:
            self.matching = pymatching.Matching.from_detector_error_model(dem, **kwargs)
        except TypeError:
            raise ValueError(
                "correlated matching needs pymatching >= 2.3; pip install -U pymatching"
            ) from None

    def decode(self, detectors: np.ndarray) -> np.ndarray:
        det = np.asarray(detectors, dtype=np.uint8)
        kwargs = {"enable_correlations": True} if self.correlated else {}
        return self.matching.decode_batch(det, **kwargs)[:, 0].astype(bool)


class NoFlipDecoder:
    """Always predicts no observable flip."""

    def decode(self, detectors: np.ndarray) -> np.ndarray:
        return np.zeros(len(detectors), dtype=bool)
