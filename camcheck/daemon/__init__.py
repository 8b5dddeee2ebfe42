"""The daemon (`camcheck run`): registry -> collectors -> probes -> verdict -> exporters."""
