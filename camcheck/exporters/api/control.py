"""What the REST API asks of the running daemon. The daemon implements this; the API never
reaches into the scheduler directly, so the API can be mounted (and tested) without it."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable


class CameraNotScheduled(LookupError):
    """The daemon does not know this camera (not loaded yet, disabled, or another node's)."""


@runtime_checkable
class DaemonControl(Protocol):
    async def check_now(self, camera_id: str) -> None:
        """Queue an immediate check of one camera (returns once queued, not when done)."""
        ...

    async def set_reference(self, camera_id: str, jpeg: bytes | None) -> None:
        """Set the camera's reference view to ``jpeg``; None = re-baseline from the latest snapshot.

        Raises ValueError with a human message when it cannot (e.g. no snapshot yet)."""
        ...


def status_counts(control: Any) -> dict[str, Any] | None:
    """The optional ``status_counts()`` of a control (live scheduler figures), or None."""
    fn = getattr(control, "status_counts", None)
    if fn is None:
        return None
    try:
        out = fn()
    except Exception:  # live figures are a nicety; never fail a summary for them
        return None
    return dict(out) if isinstance(out, dict) else None
