"""Probes: one async function per protocol, shape (target, settings, deadline) -> observation.

Probes talk only to the camera. They never touch the database, never decide a camera's registry
status (that is the verdict's job across checks) and never raise for a camera's fault: every
failure is a value in the returned observation.
"""
