"""A recurrent decoder whose state lives on the stabiliser lattice (a convolutional GRU).

:class:`LatticeRecurrentDecoder` follows the recurrent core of AlphaQubit (Bausch et al.,
"Learning high-accuracy error decoding for quantum processors", Nature 635, 834, 2024): each
stabiliser gets its own embedding of its detection event and measured value every round, the
embeddings are added to a per-stabiliser decoder state, and the state is mixed with its lattice
neighbours by convolutions whose weights are shared across positions and rounds; the final
(data-qubit) round is embedded the same way and read out with the state. Departures: a
convolutional GRU (Shi et al., NeurIPS 2015; Ballas et al., ICLR 2016) in place of AlphaQubit's
syndrome transformer (attention plus convolutions), a dense read-out over the lattice instead of
its per-line pooling, and training from scratch on Stim's circuit-level noise (no pretraining,
no experimental fine-tuning, no soft readouts or leakage inputs).
"""

from __future__ import annotations

import torch
from torch import nn

from .codes import DetectorLayout
from .decoders import NeuralDecoder, _seeded_init


class LatticeRecurrentDecoder(NeuralDecoder):
    """A convolutional GRU over syndrome rounds on the (d + 1) x (d + 1) stabiliser lattice.

    Each syndrome round, every lattice cell embeds its detection event and its measured value
    (the running parity of its events, i.e. the measurement XOR its first round's) with weights
    shared across cells plus a learned per-cell vector (which stabiliser it is, AlphaQubit's
    stabiliser index embedding); a GRU whose gates are ``kernel x kernel`` convolutions over the
    lattice updates a ``channels``-deep state per cell. The final data-qubit round is embedded the
    same way, added to the state, passed through ``readout_depth`` convolutions and read out by a
    dense layer over the lattice.

    Args:
        layout: the experiment's :class:`DetectorLayout` (``SurfaceCodeMemory.layout``).
        channels: state depth per lattice cell.
        kernel: convolution size of the GRU gates (odd).
        readout_depth: convolutions on the final state before the dense read-out.
        hidden: width of the dense read-out layer.
        seed: seeds the initial weights.

    >>> from hqml.qec import SurfaceCodeMemory
    >>> exp = SurfaceCodeMemory(3, 0.01)
    >>> model = LatticeRecurrentDecoder(exp.layout, channels=8, seed=0)
    >>> model.decode(exp.sample(5, seed=1).detectors).shape
    (5,)
    """

    decode_batch_size = 256  # small lattices: one thread decodes fastest in small batches

    def __init__(
        self,
        layout: DetectorLayout,
        channels: int = 16,
        kernel: int = 3,
        readout_depth: int = 1,
        hidden: int = 64,
        seed: int = 0,
    ):
        super().__init__(layout)
        if channels < 1 or hidden < 1 or readout_depth < 0:
            raise ValueError("channels and hidden must be positive, readout_depth >= 0")
        if kernel < 1 or kernel % 2 == 0:
            raise ValueError(f"kernel must be odd and positive, got {kernel}")
        _, h, w = layout.shape
        self.channels = channels

        def build() -> None:
            c = channels
            # per-round input: (event, measurement) -> c channels, plus a per-cell embedding
            self.embed = nn.Linear(2, c, bias=False)
            self.cell = nn.Parameter(0.1 * torch.randn(c, h, w))
            self.final_embed = nn.Linear(1, c, bias=False)
            self.final_cell = nn.Parameter(0.1 * torch.randn(c, h, w))
            self.gates = nn.Conv2d(2 * c, 2 * c, kernel, padding=kernel // 2)
            self.candidate = nn.Conv2d(2 * c, c, kernel, padding=kernel // 2)
            self.readout = nn.Sequential(
                *[
                    m
                    for _ in range(readout_depth)
                    for m in (nn.Conv2d(c, c, kernel, padding=kernel // 2), nn.GELU())
                ]
            )
            self.head = nn.Sequential(
                nn.Flatten(), nn.Linear(c * h * w, hidden), nn.GELU(), nn.Linear(hidden, 1)
            )

        _seeded_init(seed, build)

    def round_inputs(self, lattice: torch.Tensor) -> torch.Tensor:
        """(B, T - 1, 2, H, W): each syndrome round's detection events and measured values (the
        running parity of the events, the measurement XOR its first round's)."""
        events = lattice[:, :-1]
        measured = torch.remainder(torch.cumsum(events, dim=1), 2.0)
        return torch.stack([events, measured], dim=2)

    def _embed(self, x: torch.Tensor, linear: nn.Linear, cell: torch.Tensor) -> torch.Tensor:
        # (B, k, H, W) -> (B, C, H, W): the same linear map at every cell, plus the cell's vector
        return torch.einsum("bkhw,ck->bchw", x, linear.weight) + cell

    def state(self, lattice: torch.Tensor) -> torch.Tensor:
        """(B, channels, H, W): the decoder state on the lattice after the last syndrome round."""
        rounds = self.round_inputs(lattice)
        c = self.channels
        h = lattice.new_zeros(lattice.shape[0], c, *lattice.shape[2:])
        for r in range(rounds.shape[1]):
            x = self._embed(rounds[:, r], self.embed, self.cell)
            z, g = torch.sigmoid(self.gates(torch.cat([x, h], dim=1))).split(c, dim=1)
            n = torch.tanh(self.candidate(torch.cat([x, g * h], dim=1)))
            h = (1 - z) * h + z * n
        return h

    def logits(self, lattice: torch.Tensor) -> torch.Tensor:
        final = lattice[:, -1:] * self._mask[-1]  # the data-qubit round
        h = self.state(lattice) + self._embed(final, self.final_embed, self.final_cell)
        return self.head(self.readout(h)).squeeze(-1)
