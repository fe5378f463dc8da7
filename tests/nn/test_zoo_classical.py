"""The CNN baseline of the zoo: the study's architecture (conv SAME, 2x2 max-pool VALID, conv,
pool, dense 2 c1 + ReLU, one logit; no activation after the convolutions) recomputed here with
torch's functional ops from the fitted weights, training on bars and stripes, refusals."""

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from hqml.datasets import load_benchmark
from hqml.nn import zoo


def same(x, k):
    """Flax's SAME padding: k - 1 zeros, the odd one after (k=2: none before, one after)."""
    return F.pad(x, ((k - 1) // 2, k // 2, (k - 1) // 2, k // 2))


def reference_logits(params, images):
    k = params["conv1.weight"].shape[-1]
    x = F.conv2d(same(images, k), params["conv1.weight"], params["conv1.bias"])
    x = F.max_pool2d(x, 2)
    x = F.conv2d(same(x, k), params["conv2.weight"], params["conv2.bias"])
    x = F.max_pool2d(x, 2).flatten(1)
    x = torch.relu(x @ params["fc1.weight"].T + params["fc1.bias"])
    return (x @ params["fc2.weight"].T + params["fc2.bias"])[:, 0]


@pytest.mark.parametrize("side, kernel", [(4, 3), (5, 2), (8, 5)])
def test_architecture_is_the_studys(side, kernel):
    rng = np.random.default_rng(side)
    x = rng.normal(size=(20, side * side))
    y = np.arange(20) % 2
    m = zoo.ConvolutionalNeuralNetwork(kernel_shape=kernel, output_channels=(3, 5), max_steps=2)
    m.set_params(convergence_interval=None).fit(x, y)
    assert m.params_["fc1.weight"].shape == (10, 5 * (side // 4) ** 2)  # VALID pools: floor
    images = torch.as_tensor(m.scaler_.transform(x[:4])).reshape(4, 1, side, side)
    ref = reference_logits(m.params_, images).numpy()
    np.testing.assert_allclose(m.decision_function(x[:4]), ref, atol=1e-12)
    np.testing.assert_allclose(m.predict_proba(x[:4])[:, 1], 1 / (1 + np.exp(-ref)), atol=1e-12)


def test_learns_bars_and_stripes():
    ds = load_benchmark("bars_and_stripes", 4)
    x, xt = ds.x_train.reshape(len(ds.x_train), -1), ds.x_test.reshape(len(ds.x_test), -1)
    m = zoo.ConvolutionalNeuralNetwork(output_channels=(8, 16), learning_rate=0.01)
    m.set_params(max_steps=150, convergence_interval=None).fit(x, ds.y_train)
    assert m.score(xt, ds.y_test) >= 0.9


@pytest.mark.parametrize("n_features, message", [(10, "square number"), (9, "at least 4x4")])
def test_bad_images_are_refused_in_one_line(n_features, message):
    x = np.random.default_rng(0).normal(size=(10, n_features))
    with pytest.raises(ValueError, match=message) as err:
        zoo.ConvolutionalNeuralNetwork(max_steps=1).fit(x, np.arange(10) % 2)
    assert len(str(err.value).splitlines()) == 1
