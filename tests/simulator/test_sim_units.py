"""Fleet description, RTP packetisation, RTCP and authentication of the simulator, piece by piece."""

from __future__ import annotations

import base64
import hashlib
import io
import random
import struct
from contextlib import redirect_stdout
from pathlib import Path

import pytest

from camcheck.cli import main as cli_main
from camcheck.simulator import auth
from camcheck.simulator.fleet import FAULTS, FleetError, load_fleet, parse_fleet, quick_fleet
from camcheck.simulator.rtp import (
    packetize_au,
    packetize_h264,
    packetize_h265,
    parse_rtcp,
    parse_sender_report,
    rtcp_sender_report,
)
from camcheck.secrets import Secret

ROOT = Path(__file__).resolve().parents[2]


# --- fleet ---------------------------------------------------------------------------------------

def test_yaml_with_defaults_and_fault_forms(tmp_path) -> None:
    f = tmp_path / "fleet.yaml"
    f.write_text(
        "port: 9554\n"
        "defaults:\n  credentials: {username: admin, password: pw1, auth: basic}\n  max_sessions: 2\n"
        "cameras:\n"
        "  - {id: a, fault: frozen}\n"
        "  - {id: b, max_sessions: 6, fault: {fault: stall_after, after_s: 3}, onvif: {profile: S}}\n"
        "  - {id: c, credentials: {username: u, password: p, auth: digest}, port: 9600, start: live}\n"
    )
    cfg = load_fleet(f)
    a, b, c = cfg.cameras
    assert cfg.port == 9554 and cfg.onvif_port_base is None
    assert (a.fault.fault, a.max_sessions, a.auth) == ("frozen", 2, "basic")
    assert (b.fault.fault, b.fault.after_s, b.max_sessions, b.onvif) == ("stall_after", 3, 6, {"profile": "S"})
    assert (c.auth, c.port, c.start) == ("digest", 9600, "live")
    assert isinstance(a.credentials.password, Secret) and "pw1" not in repr(cfg)
    # round trip through YAML (for the child process of fleet_process) keeps the passwords
    again = parse_fleet(__import__("yaml").safe_load(cfg.to_yaml()))
    assert again.cameras[0].credentials.password.reveal() == "pw1"


@pytest.mark.parametrize(
    "data,needle",
    [
        ({"cameras": [{"id": "a", "fault": "melting"}]}, "cameras.0.fault.fault"),
        ({"cameras": [{"id": "a"}, {"id": "a"}]}, "appears twice"),
        ({"cameras": [{"id": "a b"}]}, "must match"),
        ({"cameras": [{"id": "a", "scene": "moon"}]}, "unknown scene"),
        ({"cameras": [{"id": "a", "main": {"width": 641}}]}, "cameras.0.main.width"),
        ({"cameras": [{"id": "a", "bogus": 1}]}, "cameras.0.bogus"),
        ({"cameras": []}, "non-empty"),
        ([1, 2], "mapping"),
    ],
)
def test_bad_fleets_are_reported_clearly(data, needle) -> None:
    with pytest.raises(FleetError, match=needle.replace(".", r"\.")):
        parse_fleet(data, "fleet.yaml")


def test_bad_yaml_and_missing_file(tmp_path) -> None:
    with pytest.raises(FleetError, match="cannot read"):
        load_fleet(tmp_path / "nope.yaml")
    (tmp_path / "x.yaml").write_text("cameras: [\n")
    with pytest.raises(FleetError, match="not valid YAML"):
        load_fleet(tmp_path / "x.yaml")


def test_quick_fleet_mixed_covers_every_fault() -> None:
    cfg = quick_fleet(200, "mixed", "mixed")
    faults = {c.fault.fault for c in cfg.cameras}
    assert faults == set(FAULTS) - {"sub_down"}  # a fault of one stream: see MIXED_FAULTS
    assert {c.main.codec for c in cfg.cameras} == {"h264", "h265"}
    assert sum(c.fault.fault == "healthy" for c in cfg.cameras) == 180
    with pytest.raises(FleetError):
        quick_fleet(0)
    with pytest.raises(FleetError, match="--faults"):
        quick_fleet(3, "melting")


def test_demo_fleet_file_is_valid() -> None:
    cfg = load_fleet(ROOT / "config" / "demo-fleet.yaml")
    assert len(cfg.cameras) >= 8 and any(c.port for c in cfg.cameras)


def test_help_documents_every_profile_and_the_yaml() -> None:
    out = io.StringIO()
    with redirect_stdout(out):
        assert cli_main(["simulate", "--help"]) == 0
    text = out.getvalue()
    for name in FAULTS:
        assert f"\n  {name} " in text, name
    for key in ("cameras:", "max_sessions:", "credentials:", "clock_drift_s:", "fault:"):
        assert key in text


def test_cli_rejects_bad_flags() -> None:
    assert cli_main(["simulate", "--cameras", "0"]) == 3
    assert cli_main(["simulate", "--faults", "melting"]) == 3


# --- RTP -----------------------------------------------------------------------------------------

def _h264_reassemble(payloads: list[bytes]) -> list[bytes]:
    nals, cur = [], None
    for p in payloads:
        t = p[0] & 0x1F
        if t == 28:
            if p[1] & 0x80:
                cur = bytearray([(p[0] & 0xE0) | (p[1] & 0x1F)])
            cur += p[2:]
            if p[1] & 0x40:
                nals.append(bytes(cur))
                cur = None
        else:
            nals.append(p)
    return nals


def _h265_reassemble(payloads: list[bytes]) -> list[bytes]:
    nals, cur = [], None
    for p in payloads:
        t = (p[0] >> 1) & 0x3F
        if t == 49:
            fu = p[2]
            if fu & 0x80:
                cur = bytearray([(p[0] & 0x81) | ((fu & 0x3F) << 1), p[1]])
            cur += p[3:]
            if fu & 0x40:
                nals.append(bytes(cur))
                cur = None
        else:
            nals.append(p)
    return nals


def test_h264_single_and_fu_a_round_trip() -> None:
    rng = random.Random(1)
    nals = [bytes([0x67]) + rng.randbytes(20), bytes([0x68]) + rng.randbytes(4), bytes([0x65]) + rng.randbytes(5000)]
    payloads = packetize_au(nals, "h264", mtu=1400)
    assert all(len(p) <= 1400 for p in payloads)
    assert payloads[0] == nals[0] and payloads[1] == nals[1]  # small NALs: single NAL unit packets
    fu = payloads[2:]
    assert len(fu) == 4 and all(p[0] == (0x65 & 0xE0) | 28 for p in fu)
    assert fu[0][1] & 0x80 and not fu[0][1] & 0x40 and fu[-1][1] & 0x40 and not any(p[1] & 0xC0 for p in fu[1:-1])
    assert _h264_reassemble(payloads) == nals


def test_h265_single_and_fu_round_trip() -> None:
    rng = random.Random(2)
    idr = bytes([19 << 1, 1]) + rng.randbytes(4000)  # IDR_W_RADL, TID 1
    vps = bytes([32 << 1, 1]) + rng.randbytes(20)
    payloads = packetize_h265(vps) + packetize_h265(idr, 1000)
    assert payloads[0] == vps
    fu = payloads[1:]
    assert all((p[0] >> 1) & 0x3F == 49 and p[1] == 1 for p in fu)
    assert fu[0][2] == 0x80 | 19 and fu[-1][2] == 0x40 | 19
    assert _h265_reassemble(payloads) == [vps, idr]
    assert len(packetize_h264(b"\x65" + b"x" * 100)) == 1


def test_rtcp_sender_report_round_trip() -> None:
    pkt = rtcp_sender_report(0x1234ABCD, 1_700_000_000.25, 0xFFFFFFF0, 10, 12345, "cam@sim")
    parts = parse_rtcp(pkt)
    assert [t for t, _ in parts] == [200, 202]
    sr = parse_sender_report(parts[0][1])
    assert (sr.ssrc, sr.rtp_timestamp, sr.packet_count, sr.octet_count) == (0x1234ABCD, 0xFFFFFFF0, 10, 12345)
    assert abs(sr.ntp_time - 1_700_000_000.25) < 1e-6
    assert len(parts[1][1]) % 4 == 0 and b"cam@sim" in parts[1][1]
    assert struct.unpack(">I", parts[1][1][4:8])[0] == 0x1234ABCD


# --- authentication ------------------------------------------------------------------------------

def test_digest_matches_rfc2617_computation() -> None:
    nonce = auth.make_nonce()
    ha1 = hashlib.md5(b"admin:realm x:pw").hexdigest()
    ha2 = hashlib.md5(b"DESCRIBE:rtsp://h/cam/a/main").hexdigest()
    good = hashlib.md5(f"{ha1}:{nonce}:{ha2}".encode()).hexdigest()
    hdr = f'Digest username="admin", realm="realm x", nonce="{nonce}", uri="rtsp://h/cam/a/main", response="{good}"'
    assert auth.check(hdr, "digest", "realm x", "admin", Secret("pw"), "DESCRIBE") == "ok"
    assert auth.check(hdr, "digest", "realm x", "admin", Secret("pw"), "SETUP") == "fail"  # method is hashed
    assert auth.check(hdr, "digest", "realm x", "admin", Secret("other"), "DESCRIBE") == "fail"
    # qop=auth variant (RFC 2617 3.2.2.1)
    resp = hashlib.md5(f"{ha1}:{nonce}:00000001:abc:auth:{ha2}".encode()).hexdigest()
    hdr_q = (f'Digest username="admin", realm="realm x", nonce="{nonce}", uri="rtsp://h/cam/a/main", '
             f'qop=auth, nc=00000001, cnonce="abc", response="{resp}"')
    assert auth.check(hdr_q, "digest", "realm x", "admin", Secret("pw"), "DESCRIBE") == "ok"
    # an old nonce of ours is stale (client should retry), a forged one fails
    old = auth.make_nonce(now=0)
    r_old = hashlib.md5(f"{ha1}:{old}:{ha2}".encode()).hexdigest()
    hdr_old = f'Digest username="admin", realm="realm x", nonce="{old}", uri="rtsp://h/cam/a/main", response="{r_old}"'
    assert auth.check(hdr_old, "digest", "realm x", "admin", Secret("pw"), "DESCRIBE") == "stale"
    forged = "0" * 40
    r_f = hashlib.md5(f"{ha1}:{forged}:{ha2}".encode()).hexdigest()
    hdr_f = f'Digest username="admin", realm="realm x", nonce="{forged}", uri="rtsp://h/cam/a/main", response="{r_f}"'
    assert auth.check(hdr_f, "digest", "realm x", "admin", Secret("pw"), "DESCRIBE") == "fail"
    assert 'stale=TRUE' in auth.challenge("digest", "r", stale=True)


def test_basic() -> None:
    good = "Basic " + base64.b64encode(b"admin:pw").decode()
    assert auth.check(good, "basic", "r", "admin", Secret("pw"), "DESCRIBE") == "ok"
    assert auth.check("Basic " + base64.b64encode(b"admin:no").decode(), "basic", "r", "admin", Secret("pw"), "X") == "fail"
    assert auth.check("Basic !!!", "basic", "r", "admin", Secret("pw"), "X") == "fail"
    assert auth.check(None, "basic", "r", "admin", Secret("pw"), "X") == "fail"
