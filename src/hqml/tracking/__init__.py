"""Experiment tracking: run files always, MLflow (``pip install 'hqml[tracking]'``) when asked."""

from .logger import DEFAULT_TRACKING_URI, RunLogger, tracking_uri_for

__all__ = ["RunLogger", "DEFAULT_TRACKING_URI", "tracking_uri_for"]
