"""Why a camera's status changed, as data: a code and its arguments.

The verdict states each reason once as a `Reason`; `english()` gives the sentence kept in
`status_reason` (logs, API, MQTT, webhooks); the dashboard and the committee's report render the
same reason in Thai from its data (camcheck.exporters.api.reason_words), so a Thai reader gets the
counts, dates and causes in Thai instead of an English sentence.

Arguments are JSON values only (stored with the camera and the transition):
- `keys`: failure and finding codes; `unchanged`: {since, span_s, checks} of the run of identical
  pictures when `keys` holds "unchanged"; `said`: the latest bad check's own words (English: they
  quote the camera), or None; for `degraded`, what the checks said of its findings (a dead
  sub-stream's failure), or None.
- times are UNIX seconds; durations seconds.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

# code -> the argument names it carries (the Thai renderer is tested against this list)
CODES: dict[str, tuple[str, ...]] = {
    "broken_recorder": ("n", "keys", "said"),
    "broken_stream": ("n", "since", "keys", "said"),
    "broken_picture": ("n", "since", "keys"),
    "degraded": ("again", "keys", "said"),
    "working_first": (),
    "working_again": ("n",),
    "working_cleared": (),
    "maintenance": ("window", "scope", "target", "why", "owner", "until"),
    "maintenance_end_failing": ("window", "keys", "said"),
    "maintenance_end_unchecked": ("window",),
    "maintenance_end": ("window", "status"),
    "flap_stable": ("stable_s", "status"),
    "flapping": ("changes", "window_s", "from_status", "to_status", "stable_s"),
    "status": ("status",),
    # a parent device's (recorder, switch, site) incident: grouping.py
    # behind: what its children are ("cameras", "devices" or "both"); cameras: behind the failing ones
    # address: the parent's registered address, answers: whether it answered when the incident was told
    "parent_down": ("parent", "failing", "total", "window_s", "behind", "cameras", "address", "answers"),
    "parent_recovered": ("parent", "still_failing"),
}

FAILURE_WORDS = {
    "dns": "camera name does not resolve",
    "unreachable": "camera unreachable",
    "refused": "connection refused",
    "timeout_connect": "connection timed out",
    "timeout_response": "camera stopped answering",
    "auth_failed": "login rejected",
    "not_found": "stream path not found",
    "session_limit": "camera refuses more sessions",
    "rtsp_error": "RTSP error",
    "no_video_track": "no video track",
    "no_frames": "no frames delivered",
    "stalled": "stream stalled",
    "decode_failed": "pictures cannot be decoded",
    "protocol_error": "protocol error",
    "unchanged": "picture has not changed at all for the configured hours (possibly frozen)",
    "sub_stream_down": "the sub-stream (live view) delivers nothing; the recorded stream plays",
}


class Reason(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", allow_inf_nan=False)  # stored: see status._Model

    code: str
    args: dict[str, Any] = Field(default_factory=dict)


def fmt_time(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def fmt_span(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 60:.0f} min" if seconds >= 120 else f"{seconds:.0f} s"


def _what(a: dict[str, Any]) -> str:
    return ", ".join(_one(k, a.get("unchanged")) for k in a.get("keys", [])) or "no details"


def _one(key: str, run: dict[str, Any] | None) -> str:
    if key != "unchanged" or not run:
        return FAILURE_WORDS.get(key, key.replace("_", " "))
    # The committee's first question is "since when": the run's first check answers it.
    return (f"picture has not changed at all since {fmt_time(run['since'])} "
            f"({fmt_span(run['span_s'])} over {run['checks']} checks; possibly frozen)")


def _said(a: dict[str, Any]) -> str:
    return f" ({a['said']})" if a.get("said") else ""


def _address(a: dict[str, Any]) -> str:
    if not a.get("address") or a.get("answers") is None:
        return ""
    if a["answers"]:
        return f" Its address {a['address']} answers: the device is on; look behind it."
    return f" Its address {a['address']} does not answer either: its power or the network to it."


def english(r: Reason) -> str:
    """The reason as one English sentence (what `status_reason` holds)."""
    a = r.args
    match r.code:
        case "broken_recorder":
            return f"Recorder check failed {a['n']} times in a row: {_what(a)}{_said(a)}."
        case "broken_stream":
            return (f"No usable stream in {a['n']} consecutive checks since {fmt_time(a['since'])}: "
                    f"{_what(a)}{_said(a)}.")
        case "broken_picture":
            return f"Picture unusable in {a['n']} consecutive checks since {fmt_time(a['since'])}: {_what(a)}."
        case "degraded":
            return f"{'Delivering again, but degraded' if a['again'] else 'Degraded'}: {_what(a)}{_said(a)}."
        case "working_first":
            return "First checks passed: live, usable pictures."
        case "working_again":
            return f"Working again: {a['n']} consecutive good checks."
        case "working_cleared":
            return "Findings cleared: live, usable pictures."
        case "maintenance":
            return (f"Under repair: maintenance window {a['window']} on {a['scope']} {a['target']} "
                    f"({a['why']}; owner {a['owner']}) until {fmt_time(a['until'])}.")
        case "maintenance_end_failing":
            return f"Maintenance window {a['window']} ended and the camera is still failing: {_what(a)}{_said(a)}."
        case "maintenance_end_unchecked":
            return f"Maintenance window {a['window']} ended; not checked since."
        case "maintenance_end":
            return f"Maintenance window {a['window']} ended; camera {a['status']}."
        case "flap_stable":
            return f"Stable for {a['stable_s'] / 60:g} min after flapping: {a['status']}."
        case "flapping":
            return (f"Flapping: {a['changes']} status changes within {a['window_s'] / 60:g} min "
                    f"(now {a['from_status']} -> {a['to_status']}); notifications paused until stable for "
                    f"{a['stable_s'] / 60:g} min.")
        case "parent_down":
            behind = a.get("behind", "cameras")  # absent in incidents kept before devices nested
            what = {"devices": "devices", "both": "devices and cameras"}.get(behind, "cameras")
            cams = f" ({a['cameras']} cameras)" if behind != "cameras" else ""
            return (f"Parent {a['parent']} suspected down: {a['failing']} of {a['total']} {what} behind it{cams} "
                    f"stopped delivering within {a['window_s'] / 60:g} min.{_address(a)}")
        case "parent_recovered":
            return f"Parent {a['parent']} recovered; still failing: {', '.join(a['still_failing']) or 'none'}."
        case _:
            return f"Status {a.get('status', r.code)}."
