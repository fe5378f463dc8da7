"""Alembic migrations of the job service database (run by ``hqml.runtime.store.migrate``)."""
