"""Pure tensor kernels: batched statevector simulation, measurement, adjoint sweeps."""
