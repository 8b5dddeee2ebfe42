"""Servers and clients camcheck did not write, driven for tests and benchmarks."""
