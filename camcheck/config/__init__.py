"""The daemon's configuration: one YAML file, validated by pydantic, with errors that name the key."""

from camcheck.config.model import Config, ConfigError, load_config

__all__ = ["Config", "ConfigError", "load_config"]
