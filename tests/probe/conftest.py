"""Live peers for the RTSP probe tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.peers import gst
from tests.probe._probe_util import (
    GST_H,
    GST_W,
    PASSWORD,
    USER,
    _h264,
    _h265,
    _mjpeg_launch,
    _no_frames_launch,
    _stall_launch,
)

# a ball moving over a mid-grey picture with a clock (the default ball is on black: a black picture)
MOVING_SOURCE = "videotestsrc is-live=true pattern=ball background-color=0xff806040 ! timeoverlay"
FROZEN_SOURCE = ('videotestsrc is-live=true pattern=smpte100 ! timeoverlay '
                 'font-desc="Sans 10" valignment=top halignment=left ypad=2 xpad=4')


@pytest.fixture(scope="session")
def gst_open() -> Iterator[gst.GstServer]:
    if not gst.available():
        pytest.skip("GStreamer RTSP server (python3-gi) not installed")
    mounts = [
        {"path": "/h264", "launch": _h264(), "protocols": "any"},
        {"path": "/h265", "launch": _h265(), "protocols": "any"},
        {"path": "/tcponly", "launch": _h264(), "protocols": "tcp"},
        {"path": "/stall", "launch": _stall_launch(), "protocols": "any"},
        {"path": "/noframes", "launch": _no_frames_launch(), "protocols": "any"},
        {"path": "/mjpeg", "launch": _mjpeg_launch(), "protocols": "any"},
        # picture faults shown by a server we did not write
        {"path": "/black", "launch": _h264(source="videotestsrc is-live=true pattern=black"), "protocols": "any"},
        {"path": "/white", "launch": _h264(source="videotestsrc is-live=true pattern=white"), "protocols": "any"},
        # a still picture with a ticking OSD clock: what a frozen camera looks like
        {"path": "/frozen", "launch": _h264(source=FROZEN_SOURCE), "protocols": "any"},
        # B-frames (frames arrive in decoding order): a moving picture and a frozen one
        {"path": "/bframes", "launch": gst.h264_launch(MOVING_SOURCE, width=GST_W, height=GST_H, gop=25, bframes=2),
         "protocols": "any"},
        {"path": "/frozen-bframes", "launch": gst.h264_launch(FROZEN_SOURCE, width=GST_W, height=GST_H, gop=25,
                                                              bframes=2), "protocols": "any"},
        # ... with a "smart codec" GOP: a keyframe every 8 s
        {"path": "/frozen-long-gop", "launch": gst.h264_launch(FROZEN_SOURCE, width=GST_W, height=GST_H, gop=200),
         "protocols": "any"},
    ]
    with gst.gst_rtsp_server(mounts) as server:
        yield server


def _auth_server(digest: bool) -> Iterator[gst.GstServer]:
    if not gst.available():
        pytest.skip("GStreamer RTSP server (python3-gi) not installed")
    mounts = [{"path": "/secure", "launch": _h264(), "protocols": "any",
               "auth": {"user": USER, "password": PASSWORD, "digest": digest}}]
    with gst.gst_rtsp_server(mounts) as server:
        yield server


@pytest.fixture(scope="session")
def gst_digest() -> Iterator[gst.GstServer]:
    yield from _auth_server(True)


@pytest.fixture(scope="session")
def gst_basic() -> Iterator[gst.GstServer]:
    yield from _auth_server(False)


