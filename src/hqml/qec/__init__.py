"""Machine learning for quantum error correction: neural decoders for surface codes on Stim data.

>>> from hqml.qec import SurfaceCodeMemory, ConvDecoder, MatchingDecoder
"""

from .codes import (
    DetectorLayout,
    SurfaceCodeMemory,
    Syndromes,
    logical_error_per_round,
)
from .decoders import (
    ConvDecoder,
    MatchingDecoder,
    NeuralDecoder,
    NoFlipDecoder,
    RecurrentDecoder,
)
from .lattice import LatticeRecurrentDecoder
from .registry import DECODERS

__all__ = [
    "DECODERS",
    "ConvDecoder",
    "DetectorLayout",
    "LatticeRecurrentDecoder",
    "MatchingDecoder",
    "NeuralDecoder",
    "NoFlipDecoder",
    "RecurrentDecoder",
    "SurfaceCodeMemory",
    "Syndromes",
    "logical_error_per_round",
]
