"""A picture that has not changed at all for hours: the freeze that single checks can miss.

One check tells a frozen picture from a live still scene by re-quantisation and skipped frames
(camcheck.probe.image); an encoder that keeps refining a frozen picture and re-codes its keyframes
at another quality looks live by both signs. What no live camera facing a public place does is keep
*exactly* the same light for a day: the sun moves, lamps switch, people and cars come and go. Each
stream check's picture signature (K1's luma averaged on a coarse grid, OSD bands cut off:
image.picture_signature_change) is compared with the first of the current run; a change of any cell
beyond UNCHANGED_MAX_CHANGE starts a new run. A run that spans the policy's `unchanged_after_s` with
at least `unchanged_min_checks` checks is the finding ``unchanged``. Runs are part of the camera's
state (status.CameraState.pictures, one per stream role), so they outlive a restart.

Calibration (bench/calibrate_image.py, `signature_change` in tests/data/image-calibration.json):
the same picture re-coded across keyframes drifts 0.06-0.96 levels (frozen simulator and
GStreamer streams, 320x180-1280x720, H.264 and H.265); live still scenes with sensor noise
0.37-1.71; anything that moved, or a lighting change, 3 and more (simulator night noise 3-8.7,
moving scenes 20-105). A live view in which nothing at all changes for the horizon is flagged too
(the simulator's `static` camera: its light never changes): hence a day as the horizon, in which
the sun, the lamps, people or cars change any public view. The finding makes a camera broken by
default, like frozen: "verified working" means a live, changing picture (policy.broken_findings).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from camcheck.probe.image import picture_signature_change

UNCHANGED_MAX_CHANGE = 3.0  # grid-cell mean levels; 3x the largest re-coding drift measured

Signature = list[list[float]]  # grid rows of cell mean levels, as the camera state stores them


class PictureRun(BaseModel):
    """Checks in a row whose pictures stayed within UNCHANGED_MAX_CHANGE of the run's first."""

    model_config = ConfigDict(frozen=True, extra="ignore", allow_inf_nan=False)  # stored: see status._Model

    signature: Signature
    since: float  # UNIX time of the run's first check
    last: float  # of its latest check
    checks: int = Field(ge=1)


def stored_signature(grid: np.ndarray | Sequence[Sequence[float]]) -> Signature:
    """A signature as the camera state keeps it (0.01 level: far below the bound)."""
    return np.round(np.asarray(grid, dtype=np.float64), 2).tolist()


def track(run: PictureRun | None, signature: Signature | None, at: float, *, horizon_s: float,
          max_change: float = UNCHANGED_MAX_CHANGE) -> PictureRun | None:
    """The run after a check at `at` whose picture signature is `signature` (None: no picture this
    time, e.g. a failed check; the run goes on). A new run starts on a changed picture, a picture of
    another size, or after half a horizon without a picture (no proof it stayed the same)."""
    if signature is None:
        return run
    if run is not None and at - run.last <= horizon_s / 2:
        d = picture_signature_change(np.asarray(run.signature), np.asarray(signature))
        if d is not None and d <= max_change:
            return run.model_copy(update={"last": at, "checks": run.checks + 1})
    return PictureRun(signature=signature, since=at, last=at, checks=1)


def unchanged_for(run: PictureRun | None, *, horizon_s: float, min_checks: int) -> float | None:
    """Seconds the picture has stayed the same when that is a finding (the run spans the horizon
    over at least `min_checks` checks), else None."""
    if run is None or run.checks < min_checks or run.last - run.since < horizon_s:
        return None
    return run.last - run.since


def longest_run(pictures: Mapping[str, PictureRun]) -> PictureRun | None:
    """The run of the camera's streams (by role) that has stayed the same the longest, None if none."""
    return max(pictures.values(), key=lambda r: (r.last - r.since, r.checks), default=None)
