"""The probe against Debian's GStreamer RTSP server (a server camcheck did not write)."""

from __future__ import annotations

import json
import logging

import pytest

from camcheck.secrets import Secret
from tests.probe._probe_util import GST_H, GST_W, PASSWORD, USER, assert_failure, probe

pytestmark = [pytest.mark.peer, pytest.mark.timeout(60)]


@pytest.mark.parametrize("codec", ["h264", "h265"])
@pytest.mark.parametrize("transport", ["tcp", "udp"])
async def test_healthy_stream_facts(gst_open, codec, transport):
    obs = await probe(gst_open.url(f"/{codec}"), transport=transport, window=1.0, want_snapshot=True)
    assert obs.failure is None, obs.message
    st = obs.stream
    assert st.codec == codec
    assert (st.width, st.height) == (GST_W, GST_H)
    assert st.fps == pytest.approx(25, rel=0.05)
    assert st.fps_declared == pytest.approx(25)  # from the SPS VUI timing (no a=framerate from GStreamer)
    assert st.gop_s == pytest.approx(1.0, rel=0.05)  # key-int-max=25 at 25 fps: two keyframes seen
    assert st.packet_loss == 0
    assert st.bitrate_kbps and st.bitrate_kbps > 10
    assert st.keyframe_bytes and st.keyframe_bytes > 100
    assert st.transport == transport
    t = obs.timings
    assert 0 < t.connect <= t.describe <= t.setup <= t.play
    # over UDP the first packet may overtake the PLAY reply
    assert t.setup <= t.first_packet <= t.first_frame
    assert obs.image["brightness"] is not None
    assert obs.snapshot_jpeg and obs.snapshot_jpeg[:2] == b"\xff\xd8"
    assert not {"low_fps", "packet_loss", "resolution_mismatch"} & set(obs.findings)


async def test_expectations_give_findings(gst_open):
    obs = await probe(gst_open.url("/h264"), window=1.0, expected_width=1920, expected_height=1080,
                      expected_fps=50)
    assert obs.failure is None, obs.message
    assert "resolution_mismatch" in obs.findings
    assert "low_fps" in obs.findings
    assert obs.verdict in ("degraded", "broken")
    assert "320x240 delivered, 1920x1080 expected" in obs.message


async def test_matching_expectations_give_no_stream_findings(gst_open):
    obs = await probe(gst_open.url("/h264"), window=1.0, expected_width=GST_W, expected_height=GST_H,
                      expected_fps=25)
    assert not {"low_fps", "resolution_mismatch"} & set(obs.findings)


async def test_not_found(gst_open):
    obs = await probe(gst_open.url("/no/such/stream"))
    assert_failure(obs, "not_found")
    assert obs.timings.connect is not None and obs.timings.describe is None


async def test_stall_after_frames(gst_open):
    obs = await probe(gst_open.url("/stall"), window=2.0)
    assert_failure(obs, "stalled")
    assert obs.stream.frames and obs.stream.frames >= 10  # frames came first
    assert obs.stream.fps == pytest.approx(25, rel=0.1)


async def test_no_frames_costs_its_deadline(gst_open):
    obs = await probe(gst_open.url("/noframes"), timeout=3.0)
    assert_failure(obs, "no_frames")
    assert obs.timings.play is not None and obs.timings.first_packet is None
    assert obs.stream.fps is None and obs.stream.width == GST_W  # SPS from the SDP; no measured fps
    assert obs.duration <= 3.0 + 0.5  # bounded by the deadline, not a stuck read


async def test_mjpeg_is_no_video_track(gst_open):
    obs = await probe(gst_open.url("/mjpeg"))
    assert_failure(obs, "no_video_track")
    assert "MJPEG" in obs.message and "H.264" in obs.message


async def test_unsupported_transport_is_rtsp_error(gst_open):
    obs = await probe(gst_open.url("/tcponly"), transport="udp")
    assert_failure(obs, "rtsp_error")
    assert "461" in obs.message


@pytest.mark.parametrize("transport", ["tcp", "udp"])
async def test_digest_auth_ok(gst_digest, transport):
    obs = await probe(gst_digest.url("/secure"), transport=transport, window=1.0, user=USER, password=Secret(PASSWORD))
    assert obs.failure is None, obs.message
    assert obs.stream.fps == pytest.approx(25, rel=0.05)


async def test_basic_auth_ok(gst_basic):
    obs = await probe(gst_basic.url("/secure"), window=1.0, user=USER, password=Secret(PASSWORD))
    assert obs.failure is None, obs.message


@pytest.mark.parametrize("server", ["gst_digest", "gst_basic"])
async def test_wrong_password_is_auth_failed_and_never_leaks(server, request, caplog):
    srv = request.getfixturevalue(server)
    caplog.set_level(logging.DEBUG)
    wrong = "Wr0ng-S3cret-Value"
    obs = await probe(srv.url("/secure", USER, wrong))
    assert_failure(obs, "auth_failed")
    assert USER in obs.message
    dump = json.dumps(obs.to_dict()) + repr(obs) + caplog.text
    assert wrong not in dump


async def test_missing_credentials_is_auth_failed(gst_digest):
    obs = await probe(gst_digest.url("/secure"))
    assert_failure(obs, "auth_failed")
    assert "none were given" in obs.message


async def test_long_gop_frozen_camera_is_judged_once_the_probe_waits_for_a_second_keyframe(gst_open):
    # One keyframe every 8 s: the default wait (4 s) sees only one, which cannot tell frozen from a
    # still scene, and says so; waiting longer gives the second keyframe and the verdict.
    url = gst_open.url("/frozen-long-gop")
    short = await probe(url, window=1.5)
    assert short.failure is None, short.message
    st = short.stream
    assert st.gop_s is None and st.gop_min_s is not None and 3.0 <= st.gop_min_s < 8, st  # read in batches
    assert "frozen" not in short.findings and short.image["change"] is None
    assert "frozen not judged" in short.message
    long = await probe(url, window=1.5, keyframe_wait=10.0, timeout=16.0)
    assert long.failure is None, long.message
    assert "frozen" in long.findings, (long.findings, long.image)
    assert long.stream.gop_s == pytest.approx(8.0, rel=0.05) and long.stream.gop_min_s is None
    assert long.stream.fps == pytest.approx(25, rel=0.05)


async def test_b_frames_in_decoding_order_are_read_and_judged(gst_open):
    live = await probe(gst_open.url("/bframes"), window=1.5)
    assert live.verdict == "working", (live.findings, live.message, live.image)
    assert live.stream.gop_s == pytest.approx(1.0, rel=0.05)
    # Counted on the RTP clock up to the last B-frame: the last frame read may be a P-frame whose
    # B-frames have not come yet (counted to it, 24.06 was measured for 25).
    assert live.stream.fps == pytest.approx(25, rel=0.01)
    frozen = await probe(gst_open.url("/frozen-bframes"), window=1.5)
    assert "frozen" in frozen.findings, (frozen.findings, frozen.image)


@pytest.mark.parametrize("path,finding", [("/black", "black"), ("/white", "overexposed"), ("/frozen", "frozen")])
async def test_picture_faults(gst_open, path, finding):
    obs = await probe(gst_open.url(path), window=1.5)
    assert obs.failure is None, obs.message
    assert finding in obs.findings, (obs.findings, obs.image)
