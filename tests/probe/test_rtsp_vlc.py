"""The probe against VLC's RTSP server, a server camcheck did not write (UDP only)."""

from __future__ import annotations

import pytest

from tests.peers import vlc
from tests.probe._probe_util import probe

pytestmark = [pytest.mark.peer, pytest.mark.timeout(120),
              pytest.mark.skipif(not vlc.available(), reason="VLC (vlc-bin) or ffmpeg not installed")]


@pytest.fixture(scope="module")
def vlc_url():  # noqa: ANN201
    with vlc.vlc_rtsp_server() as url:
        yield url


async def test_udp_stream_from_vlc_is_working(vlc_url: str) -> None:
    obs = await probe(vlc_url, transport="udp", window=2.0)
    assert obs.verdict == "working", obs.message
    st = obs.stream
    assert (st.codec, st.width, st.height) == ("h264", 640, 360)
    assert st.fps == pytest.approx(25, rel=0.1) and st.gop_s == pytest.approx(1.0, rel=0.2)


async def test_tcp_is_refused_by_vlc_with_461_and_reported_clearly(vlc_url: str) -> None:
    obs = await probe(vlc_url, transport="tcp", window=2.0)
    assert obs.failure == "rtsp_error" and obs.verdict == "broken"
    assert "461" in obs.message and "transport" in obs.message
