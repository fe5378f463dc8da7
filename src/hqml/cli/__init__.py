"""The ``hqml`` command line."""
