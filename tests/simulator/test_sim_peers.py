"""The simulator played by clients we did not write: ffprobe/ffmpeg, PyAV, OpenCV and VLC.

They must see what a camera would show them: codec, resolution and frame rate over TCP and UDP with
Digest auth, a frozen picture that only changes in the OSD, the (limit+1)-th client refused, a stream
that stalls, a camera that delivers fewer frames or another resolution than it claims.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from camcheck.simulator.osd import osd_boxes

pytestmark = [pytest.mark.peer, pytest.mark.timeout(120)]


def ffprobe(url: str, transport: str = "tcp", timeout: float = 20) -> tuple[int, dict, str]:
    cmd = ["ffprobe", "-v", "error", "-rtsp_transport", transport, "-timeout", "5000000",
           "-show_entries", "stream=codec_name,width,height,avg_frame_rate,r_frame_rate", "-of", "json", url]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    return p.returncode, (json.loads(p.stdout) if p.stdout.strip() else {}), p.stderr


@pytest.mark.parametrize("cam,codec", [("h264", "h264"), ("h265", "hevc")])
@pytest.mark.parametrize("transport", ["tcp", "udp"])
def test_ffprobe_codec_resolution_fps_with_digest(peer_fleet, cam, codec, transport) -> None:
    for stream, (w, h, fps) in (("main", (640, 360, "25/1")), ("sub", (320, 180, "15/1"))):
        rc, out, err = ffprobe(peer_fleet.url(cam, stream, credentials=True), transport)
        assert rc == 0, err
        s = out["streams"][0]
        assert (s["codec_name"], s["width"], s["height"], s["r_frame_rate"]) == (codec, w, h, fps)


def test_ffprobe_basic_auth_and_refusals(peer_fleet) -> None:
    rc, out, _ = ffprobe(peer_fleet.url("basic", "sub", credentials=True))
    assert rc == 0 and out["streams"][0]["width"] == 320
    rc, _, err = ffprobe(peer_fleet.url("h264", "sub"))  # no credentials
    assert rc != 0 and "401" in err
    rc, _, err = ffprobe(peer_fleet.url("authfail", "sub", credentials=True))
    assert rc != 0 and "401" in err
    rc, _, err = ffprobe(peer_fleet.url("notfound", "sub", credentials=True))
    assert rc != 0 and "404" in err
    rc, _, err = ffprobe(peer_fleet.url("offline", "sub", credentials=True))
    assert rc != 0
    rc, _, err = ffprobe(peer_fleet.url("offport", "sub", credentials=True))
    assert rc != 0 and "refused" in err.lower()


def decode_frames(url: str, seconds: float, transport: str = "tcp", max_frames: int = 400):
    """(frames as BGR arrays, pts seconds, codec name, timed_out) from PyAV.

    pts lists only frames that carry one (ffmpeg leaves the first RTP frame without a pts).
    """
    frames, pts = [], []
    timed_out = False
    with av.open(url, options={"rtsp_transport": transport}, timeout=(10, 4)) as c:
        st = c.streams.video[0]
        name = st.codec_context.name
        t0 = time.monotonic()
        try:
            for f in c.decode(st):
                frames.append(f.to_ndarray(format="bgr24"))
                if f.pts is not None:
                    pts.append(float(f.pts * st.time_base))
                if time.monotonic() - t0 > seconds or len(frames) >= max_frames:
                    break
        except av.error.ExitError:  # read timeout: the stream went silent
            timed_out = True
    return frames, pts, name, timed_out


@pytest.mark.parametrize("cam,codec,transport", [("h264", "h264", "udp"), ("h265", "hevc", "tcp")])
def test_pyav_decodes_resolution_and_frame_rate(peer_fleet, cam, codec, transport) -> None:
    frames, pts, name, _ = decode_frames(peer_fleet.url(cam, "main", credentials=True), 2.5, transport)
    assert name == codec
    assert len(frames) >= 40
    assert {f.shape for f in frames} == {(360, 640, 3)}
    rate = (len(pts) - 1) / (pts[-1] - pts[0])
    assert abs(rate - 25) < 0.5
    # a live camera: successive pictures differ (motion and sensor noise)
    assert np.mean(np.abs(frames[-1].astype(int) - frames[-2].astype(int))) > 0.5


def _outside_osd(img: np.ndarray, boxes) -> np.ndarray:
    mask = np.ones(img.shape[:2], bool)
    for x0, y0, x1, y1 in boxes:  # widen to macroblocks: the encoder smears OSD edges a little
        mask[max(0, y0 - 16) : y1 + 16, max(0, x0 - 16) : x1 + 16] = False
    return img[mask]


def _median_change_outside_osd(frames, boxes) -> float:
    """Median over successive frame pairs of the mean absolute pixel change outside the OSD."""
    return float(np.median([
        np.mean(_outside_osd(np.abs(a.astype(np.int16) - b.astype(np.int16)), boxes)) for a, b in zip(frames, frames[1:])
    ]))


def test_frozen_changes_only_in_the_osd(peer_fleet) -> None:
    frames, _, _, _ = decode_frames(peer_fleet.url("frozen", "sub", credentials=True), 2.5)
    ref_frames, _, _, _ = decode_frames(peer_fleet.url("h264", "sub", credentials=True), 2.5)
    boxes = osd_boxes(320, 180, "CAMCHECK TEST")
    a, b = frames[5], frames[-1]  # more than a second apart: the OSD clock ticked
    assert np.abs(a.astype(int) - b.astype(int)).max() > 60, "the OSD clock must keep changing"
    frozen = _median_change_outside_osd(frames, boxes)
    live = _median_change_outside_osd(ref_frames, boxes)
    print(f"median change outside the OSD per frame: frozen {frozen:.2f}, healthy {live:.2f}")
    assert frozen < 1.0, f"frozen picture changed outside the OSD: {frozen:.2f}"
    assert live > 3 * max(frozen, 0.3), "a healthy camera's picture keeps changing"


def test_opencv_reads_frames(peer_fleet, monkeypatch) -> None:
    monkeypatch.setenv("OPENCV_FFMPEG_CAPTURE_OPTIONS", "rtsp_transport;tcp")
    for cam, size in (("h264", (180, 320)), ("h265", (180, 320)), ("wrongres", (90, 160))):
        cap = cv2.VideoCapture(peer_fleet.url(cam, "sub", credentials=True), cv2.CAP_FFMPEG)
        try:
            assert cap.isOpened()
            ok, frame = cap.read()
            assert ok and frame.shape[:2] == size
            assert abs(cap.get(cv2.CAP_PROP_FPS) - 15) < 0.5
        finally:
            cap.release()


def test_session_limit_refuses_the_extra_client(peer_fleet) -> None:
    url = peer_fleet.url("limit2", "sub", credentials=True)
    holders = [av.open(url, options={"rtsp_transport": "tcp"}, timeout=(10, 4)) for _ in range(2)]
    try:
        for h in holders:
            next(h.decode(video=0))
        rc, _, err = ffprobe(url)
        assert rc != 0 and "453" in err
    finally:
        for h in holders:
            h.close()
    time.sleep(0.5)
    rc, _, err = ffprobe(url)
    assert rc == 0, err  # TEARDOWN/close freed the slots


def test_stall_after_stops_delivering(peer_fleet) -> None:
    frames, pts, _, timed_out = decode_frames(peer_fleet.url("stall", "sub", credentials=True), 12)
    # after_s = 2 at 15 fps: ~30 live frames plus up to one GOP (30) sent at once on PLAY, then silence
    assert timed_out, "decoding must end by PyAV's read timeout: the camera went silent"
    assert 20 <= len(frames) <= 66
    assert pts[-1] - pts[0] < 4.5


def test_low_fps_delivers_fewer_frames_than_declared(peer_fleet) -> None:
    # (the SDP still says a=framerate:15: see test_sim_protocol)
    _, pts, _, _ = decode_frames(peer_fleet.url("lowfps", "main", credentials=True), 3)
    rate = (len(pts) - 1) / (pts[-1] - pts[0])
    assert abs(rate - 5) < 0.5  # what it really sends


def test_wrong_resolution(peer_fleet) -> None:
    rc, out, err = ffprobe(peer_fleet.url("wrongres", "main", credentials=True))
    assert rc == 0, err
    s = out["streams"][0]
    assert (s["width"], s["height"]) == (320, 180)  # configured 640x360


def test_ffmpeg_counts_frames_of_a_healthy_stream(peer_fleet) -> None:
    url = peer_fleet.url("h264", "sub", credentials=True)
    p = subprocess.run(["ffmpeg", "-v", "error", "-rtsp_transport", "tcp", "-i", url, "-t", "3", "-map", "0:v",
                        "-f", "framemd5", "-"], capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    n = sum(1 for line in p.stdout.splitlines() if line and not line.startswith("#"))
    assert 40 <= n <= 50  # 3 s at 15 fps (+ rounding)


def _recorded_stream(path: Path) -> dict:
    """ffprobe's codec, size and decoded frame count of the first stream of a recording."""
    q = subprocess.run(["ffprobe", "-v", "error", "-count_frames", "-show_entries",
                        "stream=codec_name,width,height,nb_read_frames", "-of", "json", str(path)],
                       capture_output=True, text=True, timeout=30)
    return json.loads(q.stdout)["streams"][0]


def _gst(pipeline: str, timeout: float = 40) -> subprocess.CompletedProcess:
    return subprocess.run(["gst-launch-1.0", "-q", *pipeline.split()], capture_output=True, text=True, timeout=timeout)


def _rtspsrc_pause_race_only(stderr: str) -> bool:
    """rtspsrc (GStreamer 1.22) at EOS sends PAUSE and CLOSE at once; CLOSE flushes the connection
    under the PAUSE being sent ("connection flush busy PAUSE" in its debug log), which then fails
    with "Could not send message. (Received end-of-file)" and gst-launch exits 1 about a recording
    that is complete. Seen in ~1 of 4 runs, client-side only (GST_DEBUG=rtspsrc:5). Any other error
    still fails the test, and the recording is checked below either way."""
    blocks = ["ERROR:" + b for b in stderr.split("ERROR:")[1:]]
    return bool(blocks) and any("gst_rtspsrc_pause" in b for b in blocks) and all(
        "Could not send message. (Received end-of-file)" in b for b in blocks)


@pytest.mark.skipif(shutil.which("gst-launch-1.0") is None, reason="GStreamer not installed")
@pytest.mark.parametrize("cam,codec,transport", [("h264", "h264", "tcp"), ("h265", "hevc", "udp"), ("h264", "h264", "udp")])
def test_gstreamer_rtspsrc_records_the_stream(peer_fleet, cam, codec, transport, tmp_path) -> None:
    """GStreamer's rtspsrc: another RTSP/RTP stack (Digest auth from the URL), depayloads 40 frames."""
    out = tmp_path / "rec.mkv"
    depay = "rtph264depay ! h264parse" if codec == "h264" else "rtph265depay ! h265parse"
    p = _gst(f"rtspsrc location={peer_fleet.url(cam, 'main', credentials=True)} protocols={transport} latency=0 "
             f"! {depay} ! identity eos-after=40 ! matroskamux ! filesink location={out}")
    assert p.returncode == 0 or _rtspsrc_pause_race_only(p.stderr), p.stderr
    s = _recorded_stream(out)
    assert (s["codec_name"], s["width"], s["height"]) == (codec, 640, 360)
    assert int(s["nb_read_frames"]) >= 10


def _vlc_has_rtsp_client() -> bool:
    plugins = Path("/usr/lib/x86_64-linux-gnu/vlc/plugins")
    return shutil.which("cvlc") is not None and any(plugins.glob("**/liblive555_plugin.so"))


def _vlc(url: str, out: Path, extra: list[str], seconds: int = 4) -> subprocess.CompletedProcess:
    cmd = ["runuser", "-u", "nobody", "--", "cvlc", "-q", "--no-audio", *extra, url,
           f"--sout=#std{{access=file,mux=ts,dst={out}}}", f"--run-time={seconds}", "vlc://quit"]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 25)


@pytest.mark.skipif(
    not _vlc_has_rtsp_client(),
    reason="VLC has no RTSP client here (Debian builds VLC with --disable-live555; its SAT>IP and Real "
    "RTSP modules only speak to those servers)",
)
@pytest.mark.parametrize("cam,codec,extra", [("h264", "h264", ["--rtsp-tcp"]), ("h265", "hevc", [])])
def test_vlc_records_the_stream(peer_fleet, cam, codec, extra) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        os.chmod(tmp, 0o777)
        out = Path(tmp) / "rec.ts"
        _vlc(peer_fleet.url(cam, "sub", credentials=True), out, extra)
        assert out.exists() and out.stat().st_size > 10_000, "VLC recorded nothing"
        s = _recorded_stream(out)
        assert (s["codec_name"], s["width"], s["height"]) == (codec, 320, 180)
        assert int(s["nb_read_frames"]) >= 15
