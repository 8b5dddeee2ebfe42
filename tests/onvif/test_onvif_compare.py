"""config_mismatch: the encoder configuration (ONVIF) against what a real client measures on the stream.

End to end: the RTSP fleet simulator serves the stream, the ONVIF simulator (started the way the
fleet starts it, from the camera's YAML) describes it, ffprobe (a client we did not write) measures
it, and compare_stream_to_config sets one against the other.
"""

from __future__ import annotations

import asyncio
import json

import pytest

from camcheck.probe.observation import StreamFacts
from camcheck.probe.onvif import compare_stream_to_config, match_profile
from camcheck.simulator.onvif.fleet_glue import start_fleet_onvif
from camcheck.simulator.testing import running_fleet
from onvif_helpers import run_probe

pytestmark = pytest.mark.timeout(120)

STREAM = {"codec": "h264", "width": 320, "height": 180, "fps": 15, "gop": 30, "bitrate_kbps": 256}


def fleet_dict(onvif_port_base: int = 0) -> dict:
    creds = {"username": "admin", "password": "sim-pass", "auth": "digest"}
    return {
        "onvif_port_base": onvif_port_base,
        "control_port": None,
        "cameras": [
            {"id": "honest", "main": STREAM, "sub": STREAM, "credentials": creds, "osd_text": "cmp"},
            {"id": "liar", "main": STREAM, "sub": STREAM, "credentials": creds, "osd_text": "cmp", "onvif": {"faults": ["config_lies"]}},
        ],
    }


async def ffprobe_stream(url: str) -> StreamFacts:
    proc = await asyncio.create_subprocess_exec(
        "ffprobe", "-v", "error", "-rtsp_transport", "tcp", "-select_streams", "v:0",
        "-show_entries", "stream=codec_name,width,height,avg_frame_rate,r_frame_rate", "-of", "json", url,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0, err.decode()[-500:]
    s = json.loads(out)["streams"][0]
    num, den = (s.get("avg_frame_rate") if s.get("avg_frame_rate") not in (None, "0/0") else s["r_frame_rate"]).split("/")
    return StreamFacts(codec=s["codec_name"], width=s["width"], height=s["height"], fps=float(num) / float(den))


async def test_stream_measured_by_ffprobe_against_onvif_encoder_config() -> None:
    async with running_fleet(fleet_dict()) as fleet:
        servers = await start_fleet_onvif(fleet.config, rtsp_host=fleet.host, rtsp_port=fleet.rtsp_port, discovery_port=None, validate=True)
        assert servers is not None
        try:
            results = {}
            for cam in ("honest", "liar"):
                dev = servers.by_name(cam)
                obs = await run_probe(dev.port)
                assert obs.device is not None, obs.findings
                url = fleet.url(cam, "main")
                profile = match_profile(url, obs.profiles)
                assert profile is not None and profile["token"] == "main"
                facts = await ffprobe_stream(fleet.url(cam, "main", credentials=True))
                assert (facts.width, facts.height) == (320, 180)
                results[cam] = compare_stream_to_config(facts, profile)
            assert all(d.schema_errors == [] for d in servers.devices)
        finally:
            await servers.close()
    assert results["honest"] == []
    props = sorted(f["detail"]["property"] for f in results["liar"])
    assert props == ["encoding", "fps", "resolution"], results["liar"]
    assert all(f["code"] == "config_mismatch" for f in results["liar"])


def test_compare_tolerances_and_unknowns() -> None:
    profile = {"token": "p", "encoding": "H264", "width": 1920, "height": 1080, "fps_limit": 25.0, "bitrate_limit_kbps": 4096, "gop_s": 2.0}
    same = StreamFacts(codec="h264", width=1920, height=1080, fps=24.2, bitrate_kbps=3900, gop_s=2.0)
    assert compare_stream_to_config(same, profile) == []
    assert compare_stream_to_config(StreamFacts(), profile) == []  # nothing measured: nothing claimed
    low = StreamFacts(codec="h264", width=1920, height=1080, fps=6.0, bitrate_kbps=9000, gop_s=8.0)
    assert sorted(f["detail"]["property"] for f in compare_stream_to_config(low, profile)) == ["bitrate", "fps", "gop"]
    assert match_profile("rtsp://user:pw@127.0.0.1/x", [{"stream_uri": "rtsp://127.0.0.1:554/x", "token": "a"}])["token"] == "a"
    assert match_profile("rtsp://127.0.0.1/y", [{"stream_uri": "rtsp://127.0.0.1:554/x"}]) is None


def test_config_findings_uses_the_profile_serving_the_url() -> None:
    from camcheck.probe.onvif import OnvifObservation, config_findings

    obs = OnvifObservation(host="h", port=80, profiles=[
        {"token": "main", "stream_uri": "rtsp://10.0.0.5/cam/main", "width": 1920, "height": 1080},
        {"token": "sub", "stream_uri": "rtsp://10.0.0.5/cam/sub", "width": 640, "height": 360},
    ])
    measured = StreamFacts(width=640, height=360)
    # Behind NAT: host differs, path identifies the profile.
    assert config_findings(obs, "rtsp://203.0.113.9:554/cam/sub", measured) == []
    (f,) = config_findings(obs, "rtsp://203.0.113.9:554/cam/main", measured)
    assert f["detail"] == {"property": "resolution", "configured": "1920x1080", "measured": "640x360", "profile": "main"}
    assert config_findings(obs, "rtsp://203.0.113.9/other", measured) == []


def _profile(token: str, uri: str, width: int, height: int, encoding: str = "H264") -> dict:
    return {"token": token, "stream_uri": uri, "width": width, "height": height, "encoding": encoding}


def test_sub_stream_url_is_the_smallest_usable_sibling_of_the_main_stream() -> None:
    from camcheck.probe.onvif import sub_stream_url

    lan = "rtsp://192.168.1.64:554/Streaming/Channels/"
    hik = [_profile("p1", lan + "101", 1920, 1080), _profile("p2", lan + "102", 640, 360),
           _profile("p3", lan + "103", 352, 288)]  # a third stream too small for the picture analysis
    # Registered as seen through NAT (another host and port), with credentials: the sub-stream keeps
    # the registered host and port, and no credentials (they come from the registry's credentials_ref).
    assert sub_stream_url("rtsp://admin:pw@203.0.113.5:8554/Streaming/Channels/101", hik) == \
        "rtsp://203.0.113.5:8554/Streaming/Channels/102"
    assert sub_stream_url(lan + "101", list(reversed(hik))) == lan + "102"
    # Dahua: one path, the stream in the query.
    dahua = "rtsp://10.0.1.5:554/cam/realmonitor?channel=1&subtype="
    profiles = [_profile("m", dahua + "0", 2688, 1520, "H265"), _profile("s", dahua + "1", 704, 576, "H.264")]
    assert sub_stream_url(dahua + "0", profiles) == dahua + "1"
    # Nothing usable: a main stream no profile serves, an MJPEG sub-stream, a sub-stream as large as the
    # main, a URI that carried credentials (masked: it cannot be rebuilt), sizes unknown.
    assert sub_stream_url("rtsp://192.168.1.64/other", hik) is None
    assert sub_stream_url(lan + "101", [hik[0], _profile("j", lan + "102", 640, 480, "JPEG")]) is None
    assert sub_stream_url(lan + "101", [hik[0], _profile("x", lan + "104", 1920, 1080)]) is None
    assert sub_stream_url(lan + "101", [hik[0], _profile("c", "rtsp://admin:***@192.168.1.64/102", 640, 360)]) is None
    assert sub_stream_url(lan + "101", [{**hik[0], "width": None}, hik[1]]) is None
    # Two profiles on the same stream as the main: not a sub-stream.
    assert sub_stream_url(lan + "101", [hik[0], _profile("dup", lan + "101", 640, 360)]) is None
