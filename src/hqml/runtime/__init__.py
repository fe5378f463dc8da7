"""Runtime: executors (process pool, Ray), the durable job service and its client.

Heavy parts load lazily: ``hqml.runtime.executors``, ``hqml.runtime.app`` (needs fastapi,
sqlalchemy), ``hqml.runtime.client`` (needs httpx); ``pip install 'hqml[runtime]'``.
"""
