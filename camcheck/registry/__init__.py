"""The camera registry: survey fields, camcheck's verified state, history and evidence.

SQLAlchemy Core on SQLite (embedded default) or PostgreSQL (large and multi-node deployments),
Alembic migrations packaged in ``camcheck/registry/migrations``. Start at :mod:`camcheck.registry.store`.
"""
