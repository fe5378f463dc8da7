#!/usr/bin/env bash
# Build the side virtual environments the benchmark suite runs some peers from (TorchQuantum,
# PennyLane Catalyst, pennylane-qiskit, CUDA-Q).
#
# TorchQuantum 0.1.8 pins qiskit < 1.0, which cannot live beside hqml's qiskit >= 1.0, so it gets
# its own venv in benchmarks/.envs/torchquantum. To avoid a second multi-GB torch download, the
# side venv sees the main venv's site-packages through a .pth file placed *after* its own
# site-packages: its own qiskit 0.46 shadows the main one, while torch, numpy, scipy and
# matplotlib come from the main venv. Only the modules TorchQuantum imports at run time are
# installed (its metadata also demands tensorflow, pyscf, torchvision and doc tools, unused by
# the state-vector code the suite calls), hence --no-deps; benchmarks/tq_compat.py stands in
# for torchvision at import time.
#
# Usage: benchmarks/make_envs.sh [MAIN_VENV]   (default: .venv; called by `make bench-envs`)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
main_venv="${1:-$here/../.venv}"
main_py="$main_venv/bin/python"
if [ ! -x "$main_py" ]; then
    echo "make_envs.sh: no python at $main_py; run 'make setup' first or pass the venv path" >&2
    exit 1
fi
envs="$here/.envs"
tq="$envs/torchquantum"
mkdir -p "$envs"
printf '*\n' > "$envs/.gitignore"          # the side venvs are build outputs
rm -rf "$tq"
"$main_py" -m venv "$tq"
main_site="$("$main_py" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
tq_site="$("$tq/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
# "zz" sorts after the venv's own .pth files; the path is appended to sys.path after tq_site.
echo "$main_site" > "$tq_site/zz_hqml_main_venv.pth"
"$tq/bin/python" -m pip install --quiet --no-deps \
    "torchquantum==0.1.8" "qiskit>=0.45,<1.0" "rustworkx>=0.13" "stevedore>=3.0" "pbr" \
    "symengine>=0.9,<0.14" "dill>=0.3" "python-dateutil>=2.8" "sympy>=1.3" "mpmath" \
    "typing-extensions" "torchpack>=0.3" "opt-einsum" "pylatexenc>=2.10" "torchdiffeq>=0.2.3" \
    "multiprocess" "pathos" "ppft" "pox" "tqdm" "loguru" "toml" "pyyaml" "tensorpack" \
    "multimethod" "qiskit-aer>=0.13,<0.14"
# torchquantum.util imports qiskit_ibm_runtime at load time; its old releases fit qiskit < 1.0.
"$tq/bin/python" -m pip install --quiet "qiskit-ibm-runtime<0.21" "qiskit>=0.45,<1.0"
cd "$here/.." && "$tq/bin/python" -W ignore - <<'PY'
import qiskit, torch
from benchmarks.tq_compat import import_torchquantum
tq = import_torchquantum()
print(f"torchquantum {tq.__version__} ready (qiskit {qiskit.__version__}, torch {torch.__version__})")
PY

# PennyLane Catalyst 0.15 pins jax==0.7.1, while TensorCircuit-NG in the main venv needs jax 0.10:
# its own venv with Catalyst, its JAX and its compiler's Python modules (--no-deps, listed);
# PennyLane, Lightning, numpy, scipy and torch come from the main venv through the same .pth.
cat_env="$envs/catalyst"
rm -rf "$cat_env"
"$main_py" -m venv "$cat_env"
cat_site="$("$cat_env/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
echo "$main_site" > "$cat_site/zz_hqml_main_venv.pth"
"$cat_env/bin/python" -m pip install --quiet --no-deps "pennylane-catalyst==0.15.0" \
    "jax==0.7.1" "jaxlib==0.7.1" "diastatic-malt==2.15.3" "xdsl==0.59.0" "xdsl-jax==0.5.0" \
    "immutabledict<4.2.3" "ordered-set==4.1.0"
"$cat_env/bin/python" -c 'import catalyst, jax; print(f"catalyst {catalyst.__version__} ready (jax {jax.__version__})")'

# pennylane-qiskit 0.45 (W10's PennyLane peer on IBM fake devices) pins qiskit <= 2.3,
# qiskit-aer 0.17 and qiskit-ibm-runtime 0.45, older than hqml's: its own venv with those
# (--no-deps); PennyLane, torch, numpy and the Qiskit packages' other dependencies come from
# the main venv through the same .pth.
plq="$envs/pennylane-qiskit"
rm -rf "$plq"
"$main_py" -m venv "$plq"
plq_site="$("$plq/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
echo "$main_site" > "$plq_site/zz_hqml_main_venv.pth"
"$plq/bin/python" -m pip install --quiet --no-deps "pennylane-qiskit==0.45.0" "qiskit==2.3.0" \
    "qiskit-aer==0.17.2" "qiskit-ibm-runtime==0.45.1"
"$plq/bin/python" -W ignore -c 'import pennylane_qiskit, qiskit; print(f"pennylane-qiskit {pennylane_qiskit.__version__} ready (qiskit {qiskit.__version__})")'

# NVIDIA CUDA-Q 0.16 (`cudaq`): its wheels bring the CUDA runtime and ~2.5 GB of GPU libraries
# (cupy, cuStateVec, ...), and would pull the newest NumPy: its own venv, with the main venv's
# NumPy version pinned so that torch and hqml (from the main venv) see the NumPy they were
# tested with. The suite runs its CPU target qpp-cpu (hqml/bench/cudaq_peer.py).
cq_env="$envs/cudaq"
rm -rf "$cq_env"
"$main_py" -m venv "$cq_env"
cq_site="$("$cq_env/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
echo "$main_site" > "$cq_site/zz_hqml_main_venv.pth"
main_numpy="$("$main_py" -c 'import numpy; print(numpy.__version__)')"
"$cq_env/bin/python" -m pip install --quiet "cudaq==0.16.0.post1" "numpy==$main_numpy"
"$cq_env/bin/python" -W ignore -c 'import cudaq; cudaq.set_target("qpp-cpu"); print(f"cudaq {cudaq.__version__.split()[2]} ready (qpp-cpu)")'
