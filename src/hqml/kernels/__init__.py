"""Quantum kernels and scikit-learn estimators.

Kernels map samples to quantum states with a feature-map circuit and compare them:
:class:`FidelityKernel` (state overlaps) and :class:`ProjectedKernel` (one-qubit reduced
states). :func:`train_kernel` fits a feature map's weights to the labels. The estimators
(:class:`QSVC`, :class:`QSVR`, :class:`QuantumKernelRidge`, :class:`VQClassifier`,
:class:`VQRegressor`) follow scikit-learn's conventions.
"""

from .bandwidth import KernelConcentrationWarning, check_concentration, select_bandwidth
from .base import QuantumKernel, resolve_feature_map
from .fidelity import FidelityKernel, compute_uncompute
from .projected import ProjectedKernel
from .svm import QSVC, QSVR, QuantumKernelRidge
from .trainable import AlignmentTraining, train_kernel
from .utils import (
    ConcentrationPoint,
    KernelCheck,
    check_kernel_matrix,
    concentration_rate,
    is_valid_kernel,
    kernel_concentration,
    kernel_target_alignment,
)
from .variational import VQClassifier, VQRegressor, reuploading_circuit

__all__ = [
    "QuantumKernel",
    "FidelityKernel",
    "select_bandwidth",
    "check_concentration",
    "KernelConcentrationWarning",
    "ProjectedKernel",
    "resolve_feature_map",
    "compute_uncompute",
    "train_kernel",
    "AlignmentTraining",
    "kernel_target_alignment",
    "check_kernel_matrix",
    "is_valid_kernel",
    "KernelCheck",
    "kernel_concentration",
    "concentration_rate",
    "ConcentrationPoint",
    "QSVC",
    "QSVR",
    "QuantumKernelRidge",
    "VQClassifier",
    "VQRegressor",
    "reuploading_circuit",
]
