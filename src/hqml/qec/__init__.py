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
    DECODERS,
    ConvDecoder,
    MatchingDecoder,
    NeuralDecoder,
    NoFlipDecoder,
    RecurrentDecoder,
)

__all__ = [
    "DECODERS",
    "ConvDecoder",
    "DetectorLayout",
    "MatchingDecoder",
    "NeuralDecoder",
    "NoFlipDecoder",
    "RecurrentDecoder",
    "SurfaceCodeMemory",
    "Syndromes",
    "logical_error_per_round",
]
