import numpy as np
import pytest
import torch

# tests run many tiny circuits: one thread avoids oversubscription on small shared machines
torch.set_num_threads(1)


@pytest.fixture
def rng():
    return np.random.default_rng(1234)
