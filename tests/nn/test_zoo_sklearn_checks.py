"""scikit-learn's estimator checks on every model of the zoo (tiny settings: few steps, few
layers), with the checks each one cannot pass listed with the reason (expected failures)."""

import pytest
from sklearn.utils.estimator_checks import estimator_checks_generator

from hqml.kernels import zoo as kz
from hqml.nn import zoo

# about 200 s on a loaded 2-core machine: slow (make test runs it)
pytestmark = pytest.mark.slow

FEW = dict(max_steps=100, convergence_interval=None, learning_rate=0.1)

ESTIMATORS = {
    "IQPKernelClassifier": kz.IQPKernelClassifier(repeats=1),
    "ProjectedQuantumKernel": kz.ProjectedQuantumKernel(trotter_steps=1),
    "SeparableKernelClassifier": kz.SeparableKernelClassifier(),
    "QuantumKitchenSinks": zoo.QuantumKitchenSinks(n_episodes=60),
    "IQPVariationalClassifier": zoo.IQPVariationalClassifier(n_layers=1, **FEW),
    "DataReuploadingClassifier": zoo.DataReuploadingClassifier(n_layers=1, **FEW),
    "DataReuploadingClassifierNoCost": zoo.DataReuploadingClassifierNoCost(n_layers=1, **FEW),
    "DataReuploadingClassifierNoScaling": zoo.DataReuploadingClassifierNoScaling(n_layers=1, **FEW),
    "DataReuploadingClassifierNoTrainableEmbedding": (
        zoo.DataReuploadingClassifierNoTrainableEmbedding(n_layers=1, **FEW)
    ),
    "DataReuploadingClassifierSeparable": zoo.DataReuploadingClassifierSeparable(n_layers=1, **FEW),
    "DressedQuantumCircuitClassifierSeparable": zoo.DressedQuantumCircuitClassifierSeparable(
        n_layers=1, **FEW
    ),
    "DressedQuantumCircuitClassifier": zoo.DressedQuantumCircuitClassifier(n_layers=1, **FEW),
    "CircuitCentricClassifier": zoo.CircuitCentricClassifier(n_layers=1, n_input_copies=1, **FEW),
    "SeparableVariationalClassifier": zoo.SeparableVariationalClassifier(**FEW),
    "TreeTensorClassifier": zoo.TreeTensorClassifier(**FEW),
    "QuantumBoltzmannMachine": zoo.QuantumBoltzmannMachine(**FEW),
    "QuantumMetricLearner": zoo.QuantumMetricLearner(n_layers=1, **{**FEW, "max_steps": 40}),
    "QuantumBoltzmannMachineSeparable": zoo.QuantumBoltzmannMachineSeparable(**FEW),
}

# Two models are expected to fail one check (below, with the reason). The study's variational
# models are binary classifiers: they declare the tag multi_class=False, and scikit-learn then
# checks that they refuse multi-class targets.
_POOR = (
    "the model normalises its input (amplitude encoding): on the checks' two-feature blobs only"
    " the direction of x is left; it reaches 0.81 training accuracy in the check's 100 steps"
    " (0.80-0.85 after 400 steps, across seeds), under the check's 0.83 threshold"
)
EXPECTED_FAILURES: dict[str, dict[str, str]] = {
    "CircuitCentricClassifier": {"check_classifiers_train": _POOR},
    "TreeTensorClassifier": {
        "check_classifiers_train": (
            "two features are amplitude-encoded on one qubit (only the direction of x is left)"
            " and read out after one RY: 0.81-0.83 training accuracy in the check's 100 steps"
            " (seeds 0-2), not above the check's 0.83 threshold"
        )
    },
}


# Checks not run, with the reason (scikit-learn's own check of 10 object-dtype features would
# take minutes for one model; the same code path runs in check_estimators_dtypes at 5 features).
SKIPPED: dict[str, dict[str, str]] = {
    "QuantumBoltzmannMachine": {
        "check_dtype_object": (
            "its 10 features are 10 qubits: a dense 1024 x 1024 Gibbs state per sample and step,"
            " minutes for the check's 100 training steps"
        )
    },
}


def _check_id(check):
    kwargs = ",".join(f"{k}={v}" for k, v in sorted(check.keywords.items()))
    return check.func.__name__ + (f"({kwargs})" if kwargs else "")


def _cases():
    for label, est in ESTIMATORS.items():
        expected = EXPECTED_FAILURES.get(label)
        for item in estimator_checks_generator(
            est, legacy=True, mark="xfail", expected_failed_checks=expected, xfail_strict=True
        ):
            # an expected failure comes as a pytest.param carrying its xfail mark
            (estimator, check), marks = item[:2] if hasattr(item, "marks") else (item, ())
            reason = SKIPPED.get(label, {}).get(check.func.__name__)
            if reason:
                marks = [pytest.mark.skip(reason=reason)]
            yield pytest.param(estimator, check, id=f"{label}-{_check_id(check)}", marks=marks)


CASES = list(_cases())


@pytest.mark.parametrize("estimator, check", CASES)
def test_sklearn_compatible(estimator, check):
    check(estimator)
