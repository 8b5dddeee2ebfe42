"""Alembic migrations of the registry, shipped inside the package (run by camcheck.registry.migrate)."""
