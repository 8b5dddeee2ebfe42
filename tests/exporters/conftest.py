from exporter_peers import broker_factory, prefix  # noqa: F401  (fixtures for this directory)
