"""A small neural network (plain torch) from local graph structure to QAOA max-cut angles.

:class:`AngleNetwork` is the nonlinear sibling of
:class:`~hqml.algorithms.qaoa_angles.AngleRegressor`: the same training data (QAOA-optimised
angles of small graphs, one dict ``{p: [gammas, betas]}`` per graph), the same ``fit`` /
``predict`` API, but an ensemble of two-hidden-layer tanh networks on
:func:`~hqml.algorithms.qaoa_features.structure_features` (degrees, short cycles, the light
cone's excess over a tree) instead of one linear map on six features. A linear map has to
trade the families off against each other (degree-2 rings against 3-regular graphs); the
network can bend.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from .qaoa_angles import Graph
from .qaoa_features import STRUCTURE_FEATURES, structure_features, warn_if_outside

# features whose training range predict() checks: mean degree, degree spread, triangles
_CHECKED = (0, 2, 3)


class AngleNetwork:
    """Ensemble of small MLPs from :func:`structure_features` to the ``2 p`` QAOA angles.

    One ensemble per depth ``p``; inputs and targets are standardised on the training graphs,
    each member is trained full-batch by Adam on the mean squared error of the angles, and the
    prediction is the members' mean. Deterministic for a given ``random_state`` (each depth's
    members are seeded from it and ``p`` alone).

    Args:
        hidden: width of the two hidden layers.
        weight_decay: Adam's L2 penalty on the weights (the regularisation).
        n_models: ensemble members (different initialisations).
        epochs: full-batch Adam steps per member.
        lr: Adam's learning rate.
        random_state: seed of the members' initialisations.

    >>> from hqml.algorithms.qaoa_angles import random_regular_graph
    >>> rng = np.random.default_rng(0)
    >>> graphs = [random_regular_graph(n, d, rng) for n in (8, 10) for d in (3, 4, 5)]
    >>> angles = [{1: np.array([0.6 / np.sqrt(g.degrees().mean()), -0.39])} for g in graphs]
    >>> model = AngleNetwork(n_models=1, epochs=300).fit(graphs, angles)
    >>> bool(np.allclose(model.predict(graphs[0], 1), angles[0][1], atol=2e-2))
    True
    """

    def __init__(
        self,
        hidden: int = 16,
        weight_decay: float = 1e-3,
        n_models: int = 3,
        epochs: int = 1500,
        lr: float = 1e-2,
        random_state: int = 0,
    ):
        self.hidden, self.weight_decay, self.n_models = hidden, weight_decay, n_models
        self.epochs, self.lr, self.random_state = epochs, lr, random_state

    def fit(self, graphs: Sequence[Graph], angles: Sequence[dict[int, np.ndarray]]) -> AngleNetwork:
        """Train one ensemble per depth ``p`` present in every ``angles`` entry."""
        if len(graphs) != len(angles) or not graphs:
            raise ValueError("give one angle dict per graph, and at least one graph")
        if self.n_models < 1 or self.hidden < 1 or self.epochs < 0:
            raise ValueError("n_models and hidden must be >= 1 and epochs >= 0")
        depths = set.intersection(*(set(a) for a in angles))
        if not depths:
            raise ValueError("no depth p is present in every graph's angles")
        X = np.array([structure_features(g) for g in graphs])
        # a feature constant on the training graphs is centred, not blown up by a zero spread
        std = X.std(axis=0)
        self.x_mean_, self.x_scale_ = X.mean(axis=0), np.where(std < 1e-6, 1.0, std + 1e-9)
        x = torch.as_tensor((X - self.x_mean_) / self.x_scale_)
        self.nets_, self.y_mean_, self.y_scale_ = {}, {}, {}
        for p in sorted(depths):
            Y = np.array([np.asarray(a[p], dtype=float) for a in angles])
            if Y.shape[1] != 2 * p:
                raise ValueError(f"angles for p={p} must hold 2p = {2 * p} values")
            self.y_mean_[p], self.y_scale_[p] = Y.mean(axis=0), Y.std(axis=0) + 1e-9
            y = torch.as_tensor((Y - self.y_mean_[p]) / self.y_scale_[p])
            # one generator per depth: a depth's networks do not depend on which others are fitted
            gen = torch.Generator().manual_seed(1000 * self.random_state + p)
            self.nets_[p] = [self._train(x, y, gen) for _ in range(self.n_models)]
        self.n_graphs_ = len(graphs)
        self.feature_range_ = (X.min(axis=0), X.max(axis=0))
        return self

    def _train(self, x: torch.Tensor, y: torch.Tensor, gen: torch.Generator) -> list:
        sizes = (x.shape[1], self.hidden, self.hidden, y.shape[1])
        params = []
        for fan_in, fan_out in zip(sizes[:-1], sizes[1:], strict=True):
            bound = 1 / np.sqrt(fan_in)  # torch.nn.Linear's default initialisation
            w = (torch.rand(fan_in, fan_out, generator=gen, dtype=torch.float64) * 2 - 1) * bound
            b = (torch.rand(fan_out, generator=gen, dtype=torch.float64) * 2 - 1) * bound
            params += [w.requires_grad_(), b.requires_grad_()]
        opt = torch.optim.Adam(params, lr=self.lr, weight_decay=self.weight_decay)
        for _ in range(self.epochs):
            opt.zero_grad()
            loss = ((_forward(params, x) - y) ** 2).mean()
            loss.backward()
            opt.step()
        return [t.detach() for t in params]

    def predict(self, graph: Graph, p: int) -> np.ndarray:
        """Predicted ``[gammas, betas]`` for ``graph`` at depth ``p``.

        Warns (:class:`AngleExtrapolationWarning`) when the graph's mean degree, degree spread
        or triangle density lies outside the training graphs' range.
        """
        if not hasattr(self, "nets_"):
            raise ValueError("call fit() before predict()")
        if p not in self.nets_:
            raise ValueError(f"the model was trained for p in {sorted(self.nets_)}, not p={p}")
        f = structure_features(graph)
        warn_if_outside(graph, f, self.feature_range_, STRUCTURE_FEATURES, _CHECKED)
        x = torch.as_tensor((f - self.x_mean_) / self.x_scale_)[None]
        with torch.no_grad():
            y = torch.stack([_forward(net, x)[0] for net in self.nets_[p]]).mean(dim=0)
        return y.numpy() * self.y_scale_[p] + self.y_mean_[p]


def _forward(params: list, x: torch.Tensor) -> torch.Tensor:
    w1, b1, w2, b2, w3, b3 = params
    return torch.tanh(torch.tanh(x @ w1 + b1) @ w2 + b2) @ w3 + b3
