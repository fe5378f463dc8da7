"""Circuit templates: data encodings and trainable ansatze, each returning a composable Circuit.

>>> from hqml.circuit.templates import zz_feature_map, hardware_efficient
>>> c = zz_feature_map(2, reps=1).compose(hardware_efficient(2, layers=1))
>>> sorted(c.inputs), sorted(c.weights)
(['x'], ['w'])
"""

from .ansatze import data_reuploading, hardware_efficient, strongly_entangling, tree_tensor_network
from .blocks import identity_blocks
from .encodings import angle_encoding, basis_encoding, iqp_encoding, zz_feature_map
from .state_prep import (
    amplitude_angles,
    amplitude_encoding,
    amplitude_encoding_angles,
    uniformly_controlled_rotation,
)

__all__ = [
    "angle_encoding",
    "basis_encoding",
    "iqp_encoding",
    "zz_feature_map",
    "amplitude_angles",
    "amplitude_encoding",
    "amplitude_encoding_angles",
    "uniformly_controlled_rotation",
    "hardware_efficient",
    "strongly_entangling",
    "data_reuploading",
    "tree_tensor_network",
    "identity_blocks",
]
