"""Helpers for the RTSP probe tests (fixtures are in conftest.py)."""

from __future__ import annotations

import asyncio
import threading

import pytest

from camcheck.probe import rtsp as rtsp_module
from camcheck.probe.observation import Observation, RtspSettings, RtspTarget
from camcheck.probe.rtsp import probe_rtsp
from camcheck.secrets import split_credentials
from tests.peers import gst

# Camera-like H.264/H.265 sources for the GStreamer peer (small: tests must stay cheap on 2 cores).
GST_W, GST_H = 320, 240
USER, PASSWORD = "viewer", "pa55-W0rd:x"  # distinctive, so a leak is easy to grep for


def _h264(**kw) -> str:
    return gst.h264_launch(width=GST_W, height=GST_H, gop=25, **kw)


def _h265(**kw) -> str:
    return gst.h265_launch(width=GST_W, height=GST_H, gop=25, **kw)


def _stall_launch() -> str:
    # 30 frames then EOS: gst-rtsp-server sends RTCP BYE and goes silent.
    return _h264(source="videotestsrc is-live=true pattern=ball num-buffers=30")


def _no_frames_launch() -> str:
    # Caps flow (so the SDP is complete) but every encoded buffer is dropped before the payloader.
    return _h264().replace("! video/x-h264,profile=baseline", "! video/x-h264,profile=baseline ! identity drop-probability=1.0")


def _mjpeg_launch() -> str:
    return (f"( videotestsrc is-live=true ! video/x-raw,format=I420,width={GST_W},height={GST_H},framerate=25/1 "
            "! jpegenc ! rtpjpegpay name=pay0 pt=26 )")


async def probe(url: str, *, transport: str = "tcp", timeout: float = 8.0, window: float = 1.0,
                user: str | None = None, password=None, want_snapshot: bool = False,
                keyframe_wait: float | None = None, **target_kw) -> Observation:
    """Probe ``url`` (credentials may be inside it) with a deadline ``timeout`` seconds from now."""
    bare, u, p = split_credentials(url)
    target = RtspTarget(url=bare, username=user or u, password=password or p, transport=transport, **target_kw)
    settings = RtspSettings(window=window, want_snapshot=want_snapshot, keyframe_wait=keyframe_wait)
    deadline = asyncio.get_running_loop().time() + timeout
    return await probe_rtsp(target, settings, deadline)


def assert_failure(obs: Observation, failure: str) -> None:
    assert obs.failure == failure, (obs.failure, obs.message)
    assert obs.verdict == "broken"
    assert failure in obs.findings
    assert obs.message


def first_pass_threads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The ids of the threads the probe's first picture passes run on, from now on (in the list)."""
    ran_on: list[int] = []
    real = rtsp_module.first_pass

    def spy(*args):  # noqa: ANN002, ANN202
        ran_on.append(threading.get_ident())
        return real(*args)

    monkeypatch.setattr(rtsp_module, "first_pass", spy)
    return ran_on
