"""Hyperparameter search over ``hqml run`` configs (``hqml study``): search spaces, trials on
Ray Tune (or in-process), results and the best config. It reads and runs run configs, so it
lives beside them; MLflow logging stays in :mod:`hqml.tracking`."""
