"""scikit-learn's estimator checks on every quantum estimator (tiny circuits, few epochs).

The checks fit on data sets of up to 300 samples and 10 features, so the kernels here use the
cheap angle-encoding feature map (one rotation per feature); the ZZ map is tested elsewhere.
No check is skipped or expected to fail.
"""

from sklearn.utils.estimator_checks import parametrize_with_checks

from hqml.circuit.templates import angle_encoding
from hqml.kernels import (
    QSVC,
    QSVR,
    FidelityKernel,
    ProjectedKernel,
    QuantumKernelRidge,
    VQClassifier,
    VQRegressor,
)

ESTIMATORS = [
    QSVC(FidelityKernel(angle_encoding)),
    QSVC(ProjectedKernel(angle_encoding, gamma=0.5), probability=True),
    QSVR(FidelityKernel(angle_encoding)),
    QuantumKernelRidge(FidelityKernel(angle_encoding), alpha=0.1),
    VQClassifier(n_layers=1, n_qubits=2, max_iter=20, learning_rate=0.3, diff_method="backprop"),
    VQRegressor(n_layers=1, n_qubits=2, max_iter=10, learning_rate=0.3, diff_method="backprop"),
]


@parametrize_with_checks(ESTIMATORS)
def test_sklearn_compatible(estimator, check):
    check(estimator)
