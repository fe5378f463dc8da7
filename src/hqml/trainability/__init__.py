"""Trainability diagnostics of parameterised circuits.

- :func:`gradient_variance`, :func:`variance_scan`, :func:`fit_decay`: barren plateaus (McClean
  et al. 2018), global vs local costs (Cerezo et al. 2021), exact or from shots;
- :func:`expressibility` (Sim et al. 2019) and :func:`entangling_capability` /
  :func:`meyer_wallach`;
- :func:`effective_dimension` (Abbas et al. 2021) from the Fisher information;
- initialisation: :func:`sample_parameters`, :func:`warm_start` (and the ``"small_angle"`` and
  ``"identity_block"`` initialisers of :mod:`hqml.nn.init`);
- the circuits of those papers: :func:`random_pqc`, :func:`alternating_layered`.

See docs/trainability.md.
"""

from .circuits import alternating_layered, random_pqc, weights_as_inputs
from .effective_dimension import effective_dimension, fisher_information
from .expressibility import (
    entangling_capability,
    expressibility,
    haar_fidelity_bins,
    meyer_wallach,
)
from .init import sample_parameters, warm_start
from .variance import (
    DecayFit,
    GradientVariance,
    VarianceScan,
    fit_decay,
    gradient_variance,
    local_cost,
    variance_scan,
)

__all__ = [
    "gradient_variance",
    "GradientVariance",
    "variance_scan",
    "VarianceScan",
    "fit_decay",
    "DecayFit",
    "local_cost",
    "expressibility",
    "haar_fidelity_bins",
    "meyer_wallach",
    "entangling_capability",
    "effective_dimension",
    "fisher_information",
    "sample_parameters",
    "warm_start",
    "random_pqc",
    "alternating_layered",
    "weights_as_inputs",
]
