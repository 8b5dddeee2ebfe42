"""The fleet the simulator's tests run against (kept out of conftest.py so tests can import it by a unique name).

Streams are small (640x360 and 320x180) and most cameras share clips (same specs and OSD text), so a
cold cache encodes about ten short clips once; later runs load them from the cache.
"""

from __future__ import annotations

from typing import Any

PASSWORD = "s3cret-pw"
M264 = {"codec": "h264", "width": 640, "height": 360, "fps": 25, "gop": 25, "bitrate_kbps": 512}
S264 = {"codec": "h264", "width": 320, "height": 180, "fps": 15, "gop": 30, "bitrate_kbps": 256}
M265 = {**M264, "codec": "h265"}
S265 = {**S264, "codec": "h265"}


def _cam(cid: str, fault: Any = "healthy", **kw: Any) -> dict[str, Any]:
    return {"id": cid, "fault": fault, **kw}


def sim_fleet_dict(**overrides: Any) -> dict[str, Any]:
    """The fleet the simulator tests run against (a dict in the YAML shape)."""
    return {
        "session_timeout_s": 60,
        "defaults": {
            "main": M264, "sub": S264, "osd_text": "CAMCHECK TEST",
            "credentials": {"username": "admin", "password": PASSWORD, "auth": "digest"},
        },
        "cameras": [
            _cam("h264"),
            _cam("h265", main=M265, sub=S265),
            _cam("basic", credentials={"username": "viewer", "password": PASSWORD, "auth": "basic"}),
            _cam("open", credentials={"username": "x", "password": "", "auth": "none"}),
            _cam("live", start="live"),
            _cam("frozen", "frozen", main=S264),
            _cam("limit2", {"fault": "session_limit", "limit": 2}),
            _cam("limit503", {"fault": "session_limit", "limit": 1, "status": 503}),
            _cam("stall", {"fault": "stall_after", "after_s": 2}),
            _cam("lowfps", {"fault": "low_fps", "fps": 5}, main=S264),
            _cam("wrongres", "wrong_resolution", main={**M264, "fps": 15, "gop": 30, "bitrate_kbps": 256}),
            _cam("noframes", "no_frames"),
            _cam("notfound", "not_found"),
            _cam("authfail", "auth_fail"),
            _cam("garbage", "garbage"),
            _cam("blackhole", "blackhole"),
            _cam("offline", "offline"),
            _cam("offport", "offline", port=0),
            _cam("slow", {"fault": "slow", "delay_s": 1.5}),
            _cam("lossy", {"fault": "packet_loss", "percent": 50}),
            _cam("drift", clock_drift_s=3600),
        ],
        **overrides,
    }


