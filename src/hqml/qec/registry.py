"""The neural decoders ``hqml qec bench --decoder <name>`` can train, by name."""

from __future__ import annotations

from .decoders import ConvDecoder, NeuralDecoder, RecurrentDecoder
from .lattice import LatticeRecurrentDecoder

DECODERS: dict[str, type[NeuralDecoder]] = {
    "conv": ConvDecoder,
    "recurrent": RecurrentDecoder,
    "lattice": LatticeRecurrentDecoder,
}
