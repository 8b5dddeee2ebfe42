"""camcheck: verify that CCTV cameras actually work, not just that they answer a ping."""

__version__ = "0.1.0"
