"""RTSP/RTP/RTCP behaviour of the simulator, checked byte by byte with a strict client of our own.

(Clients we did not write are in test_sim_peers.py.)
"""

from __future__ import annotations

import asyncio
import base64
import json
import socket
import struct
import time
from urllib.parse import urlsplit

import aiohttp
import pytest
from sim_fleet_fixture import PASSWORD, sim_fleet_dict
from sim_rtspclient import ProtocolError, RtspClient, parse_sdp, rtp_fields

from camcheck.simulator.rtp import parse_rtcp, parse_sender_report
from camcheck.simulator.testing import running_fleet

pytestmark = pytest.mark.timeout(60)

H264_TYPES = {"sps": 7, "pps": 8, "idr": 5}


def port_of(fleet, cam: str) -> int:
    return int(urlsplit(fleet.url(cam)).port)


async def client(fleet, cam: str, user: str | None = "admin") -> RtspClient:
    return await RtspClient("127.0.0.1", port_of(fleet, cam), user, PASSWORD).connect()


async def collect_rtp(c: RtspClient, seconds: float, channel: int = 0) -> list[bytes]:
    out = []
    end = time.monotonic() + seconds
    while (left := end - time.monotonic()) > 0:
        try:
            ch, data = await c.next_interleaved(left)
        except asyncio.TimeoutError:
            break
        if ch == channel:
            out.append(data)
    return out


def nal_types(pkts: list[bytes]) -> list[int]:
    """H.264 NAL unit types in packet order (FU-A start fragments report the fragmented type)."""
    out = []
    for p in pkts:
        payload = p[12:]
        t = payload[0] & 0x1F
        if t == 28:
            if payload[1] & 0x80:
                out.append(payload[1] & 0x1F)
        else:
            out.append(t)
    return out


async def test_describe_sdp_and_digest_challenge() -> None:
    async with running_fleet(sim_fleet_dict()) as fleet:
        url = fleet.url("h264")
        c = await client(fleet, "h264", user=None)
        opt = await c.request("OPTIONS", url)
        assert opt.status == 200 and "DESCRIBE" in opt.header("public") and "GET_PARAMETER" in opt.header("public")
        d = await c.request("DESCRIBE", url, {"Accept": "application/sdp"})
        assert d.status == 401
        www = d.header("www-authenticate")
        assert www.startswith("Digest ") and 'realm="' in www and 'nonce="' in www
        await c.close()

        c = await client(fleet, "h264")
        d = await c.request("DESCRIBE", url, {"Accept": "application/sdp"})
        assert d.status == 200, d
        assert d.header("content-type") == "application/sdp"
        assert d.header("content-base") == url + "/"
        sdp = parse_sdp(d.body)
        assert sdp["v"] == ["0"] and sdp["o"][0].startswith("- ") and sdp["s"] and sdp["c"] and sdp["t"] == ["0 0"]
        assert sdp["m"] == ["video 0 RTP/AVP 96"]
        attrs = sdp["a"]
        assert "rtpmap:96 H264/90000" in attrs
        fmtp = next(a for a in attrs if a.startswith("fmtp:96 "))
        assert "packetization-mode=1" in fmtp and "sprop-parameter-sets=" in fmtp
        sps_b64 = fmtp.split("sprop-parameter-sets=")[1].split(",")[0]
        assert base64.b64decode(sps_b64)[0] & 0x1F == 7
        assert "framerate:25" in attrs and "control:trackID=0" in attrs
        await c.close()

        c = await client(fleet, "h265")
        d = await c.request("DESCRIBE", fleet.url("h265", "sub"))
        attrs = parse_sdp(d.body)["a"]
        assert "rtpmap:96 H265/90000" in attrs and "framerate:15" in attrs
        fmtp = next(a for a in attrs if a.startswith("fmtp:96 "))
        assert "sprop-vps=" in fmtp and "sprop-sps=" in fmtp and "sprop-pps=" in fmtp
        await c.close()


async def test_basic_auth_and_wrong_password() -> None:
    async with running_fleet(sim_fleet_dict()) as fleet:
        c = await RtspClient("127.0.0.1", fleet.rtsp_port, "viewer", PASSWORD).connect()
        d = await c.request("DESCRIBE", fleet.url("basic"))
        assert d.status == 200
        await c.close()
        c = await RtspClient("127.0.0.1", fleet.rtsp_port, "viewer", "wrong").connect()
        d = await c.request("DESCRIBE", fleet.url("basic"))
        assert d.status == 401 and d.header("www-authenticate").startswith("Basic realm=")
        await c.close()
        c = await RtspClient("127.0.0.1", fleet.rtsp_port, "admin", PASSWORD).connect()
        d = await c.request("DESCRIBE", fleet.url("authfail"))
        assert d.status == 401  # auth_fail refuses even the right password
        await c.close()


async def test_status_codes_404_454_461_459_505() -> None:
    async with running_fleet(sim_fleet_dict()) as fleet:
        c = await client(fleet, "h264")
        base = f"rtsp://127.0.0.1:{fleet.rtsp_port}"
        assert (await c.request("DESCRIBE", base + "/cam/nosuch/main")).status == 404
        assert (await c.request("DESCRIBE", base + "/cam/h264/third")).status == 404
        assert (await c.request("DESCRIBE", fleet.url("notfound"))).status == 404
        url = fleet.url("h264")
        await c.request("DESCRIBE", url)
        r = await c.request("SETUP", url + "/trackID=0", {"Transport": "RTP/AVP;multicast;port=5000-5001"})
        assert r.status == 461
        r = await c.request("SETUP", url + "/trackID=0", {"Transport": "RTP/SAVP;unicast;client_port=5000-5001"})
        assert r.status == 461
        r = await c.request("PLAY", url, {"Session": "DEADBEEF"})
        assert r.status == 454
        r = await c.request("GET_PARAMETER", url, {"Session": "DEADBEEF"})
        assert r.status == 454
        r = await c.request("SETUP", url + "/trackID=0", {"Transport": "RTP/AVP/TCP;unicast;interleaved=0-1"})
        sid = r.header("session").split(";")[0]
        assert r.header("session").endswith(";timeout=60")
        r = await c.request("PLAY", fleet.url("h265"), {"Session": sid})
        assert r.status == 459  # a session of another camera (after that camera's own 401/Digest round)
        r = await c.request("PLAY", url, {"Session": sid})
        assert r.status == 200
        r = await c.request("SETUP", url + "/trackID=0", {"Transport": "RTP/AVP/TCP;unicast;interleaved=0-1", "Session": sid})
        assert r.status == 455
        r = await c.request("ANNOUNCE", url)
        assert r.status == 405
        await c.send_raw(b"OPTIONS * RTSP/2.0\r\nCSeq: 99\r\n\r\n")
        # drain RTP until the 505 arrives
        item = await asyncio.wait_for(c.responses.get(), 5)
        assert item.status == 505 and item.header("cseq") == "99"
        await c.close()


async def test_tcp_rtp_timestamps_markers_and_keyframe_start() -> None:
    async with running_fleet(sim_fleet_dict()) as fleet:
        c = await client(fleet, "h264")
        url = fleet.url("h264")  # 640x360 @ 25 fps, GOP 25
        sid, setup, play = await c.play_tcp(url)
        assert "interleaved=0-1" in setup.header("transport") and "ssrc=" in setup.header("transport")
        info = play.header("rtp-info")
        assert info.startswith(f"url={url}/trackID=0;seq=")
        seq0 = int(info.split("seq=")[1].split(";")[0])
        rtptime0 = int(info.split("rtptime=")[1])
        pkts = await collect_rtp(c, 2.5)
        assert len(pkts) > 50
        fields = [rtp_fields(p) for p in pkts]
        assert fields[0][2] == seq0 and fields[0][3] == rtptime0
        assert all(f[1] == 96 for f in fields)
        assert len({f[4] for f in fields}) == 1
        for a, b in zip(fields, fields[1:]):
            assert b[2] == (a[2] + 1) & 0xFFFF, "sequence numbers must be consecutive over TCP"
            if a[3] != b[3]:
                assert a[0], "the last packet of an access unit carries the marker bit"
                assert (b[3] - a[3]) & 0xFFFFFFFF == 3600, "25 fps = 3600 ticks of the 90 kHz clock"
            else:
                assert not a[0], "marker only on the last packet of an access unit"
        # start: keyframe -> the first AU is SPS, PPS, IDR (large IDRs arrive as FU-A fragments)
        types = nal_types(pkts[:3])
        assert types[:3] == [7, 8, 5]
        assert 28 in {p[12] & 0x1F for p in pkts}, "640x360 IDR frames need FU-A fragmentation"
        await c.close()


async def test_live_start_joins_mid_gop() -> None:
    async with running_fleet(sim_fleet_dict()) as fleet:
        await asyncio.sleep(0.5)
        c = await client(fleet, "live")
        _, _, play = await c.play_tcp(fleet.url("live"))
        pkts = await collect_rtp(c, 1.2)
        first_types = nal_types(pkts[:1])
        # joins at the next live frame: a keyframe only if we happened to join on one (1 in 25)
        all_types = nal_types(pkts)
        if first_types[0] != 7:
            assert 1 in all_types[:3]
        assert 5 in all_types or all_types.count(1) >= 20
        await c.close()


async def test_rtcp_sender_report_carries_drifted_wall_clock() -> None:
    async with running_fleet(sim_fleet_dict()) as fleet:
        for cam, drift in (("drift", 3600), ("h264", 0)):
            c = await client(fleet, cam)
            _, setup, _ = await c.play_tcp(fleet.url(cam, "sub"))
            ssrc = int(setup.header("transport").split("ssrc=")[1].split(";")[0], 16)
            srs = []
            end = time.monotonic() + 4
            while not srs and time.monotonic() < end:
                ch, data = await c.next_interleaved(3)
                if ch == 1:
                    srs = [p for t, p in parse_rtcp(data) if t == 200]
                    assert any(t == 202 for t, _ in parse_rtcp(data)), "compound RTCP must carry SDES"
            assert srs, "no RTCP sender report within 4 s"
            sr = parse_sender_report(srs[0])
            assert sr.ssrc == ssrc and sr.packet_count > 0 and sr.octet_count > 0
            assert abs(sr.ntp_time - (time.time() + drift)) < 2.0
            await c.close()


async def test_keepalive_and_two_sessions_on_one_connection() -> None:
    async with running_fleet(sim_fleet_dict()) as fleet:
        c = await client(fleet, "h264")
        sid1, s1, _ = await c.play_tcp(fleet.url("h264", "main"), "0-1")
        sid2, s2, _ = await c.play_tcp(fleet.url("h264", "sub"), "0-1")  # asks for a pair already in use
        assert sid1 != sid2
        assert "interleaved=2-3" in s2.header("transport")
        r = await c.request("GET_PARAMETER", fleet.url("h264"), {"Session": sid1})
        assert r.status == 200 and r.header("session").startswith(sid1)
        r = await c.request("OPTIONS", fleet.url("h264"), {"Session": sid2})
        assert r.status == 200
        chans = {ch for ch, _ in [await c.next_interleaved() for _ in range(60)]}
        assert {0, 2} <= chans
        assert len(fleet.server.cameras["h264"].sessions) == 2
        r = await c.request("TEARDOWN", fleet.url("h264", "main"), {"Session": sid1})
        assert r.status == 200
        assert len(fleet.server.cameras["h264"].sessions) == 1
        await c.close()
        await asyncio.sleep(0.3)
        assert len(fleet.server.cameras["h264"].sessions) == 0, "closing the connection frees TCP sessions"


async def test_session_limit_and_slot_freed() -> None:
    async with running_fleet(sim_fleet_dict()) as fleet:
        clients = [await client(fleet, "limit2") for _ in range(3)]
        await clients[0].play_tcp(fleet.url("limit2"))
        await clients[1].play_tcp(fleet.url("limit2", "sub"))
        with pytest.raises(ProtocolError, match="SETUP 453"):
            await clients[2].play_tcp(fleet.url("limit2"))
        await clients[0].close()
        await asyncio.sleep(0.3)
        await clients[2].play_tcp(fleet.url("limit2"))  # the freed slot is usable again
        c = await client(fleet, "limit503")
        await c.play_tcp(fleet.url("limit503"))
        c2 = await client(fleet, "limit503")
        with pytest.raises(ProtocolError, match="SETUP 503"):
            await c2.play_tcp(fleet.url("limit503"))
        for x in clients[1:] + [c, c2]:
            await x.close()


async def test_udp_session_expires_without_keepalive() -> None:
    cfg = sim_fleet_dict(session_timeout_s=1.5)
    async with running_fleet(cfg) as fleet:
        loop = asyncio.get_running_loop()
        rtp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        rtp.bind(("127.0.0.1", 0))
        rtp.setblocking(False)
        port = rtp.getsockname()[1]
        c = await client(fleet, "h264")
        url = fleet.url("h264", "sub")
        await c.request("DESCRIBE", url)
        r = await c.request("SETUP", url + "/trackID=0", {"Transport": f"RTP/AVP;unicast;client_port={port}-{port + 1}"})
        assert r.status == 200 and "server_port=" in r.header("transport")
        sid = r.header("session").split(";")[0]
        assert (await c.request("PLAY", url, {"Session": sid})).status == 200
        data = await asyncio.wait_for(loop.sock_recv(rtp, 2048), 3)
        assert rtp_fields(data)[1] == 96
        await c.close()  # client vanishes: no TEARDOWN, no keep-alive, no RTCP
        assert sid in fleet.server.sessions
        await asyncio.sleep(3.0)
        assert sid not in fleet.server.sessions
        assert len(fleet.server.cameras["h264"].sessions) == 0
        rtp.close()


async def test_udp_packet_loss_drops_a_share() -> None:
    async with running_fleet(sim_fleet_dict()) as fleet:
        loop = asyncio.get_running_loop()
        counts = {}
        for cam in ("h264", "lossy"):
            rtp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            rtp.bind(("127.0.0.1", 0))
            rtp.setblocking(False)
            port = rtp.getsockname()[1]
            c = await client(fleet, cam)
            url = fleet.url(cam, "main")
            await c.request("DESCRIBE", url)
            r = await c.request("SETUP", url + "/trackID=0", {"Transport": f"RTP/AVP;unicast;client_port={port}-{port + 1}"})
            sid = r.header("session").split(";")[0]
            await c.request("PLAY", url, {"Session": sid})
            seqs = []
            end = time.monotonic() + 2.0
            while (left := end - time.monotonic()) > 0:
                try:
                    seqs.append(rtp_fields(await asyncio.wait_for(loop.sock_recv(rtp, 2048), left))[2])
                except asyncio.TimeoutError:
                    break
            span = (seqs[-1] - seqs[0]) % 65536 + 1
            counts[cam] = len(seqs) / span
            await c.close()
            rtp.close()
        assert counts["h264"] > 0.99
        assert 0.3 < counts["lossy"] < 0.7  # 50 % configured


async def test_stall_after_and_no_frames() -> None:
    async with running_fleet(sim_fleet_dict()) as fleet:
        c = await client(fleet, "stall")
        t0 = time.monotonic()
        await c.play_tcp(fleet.url("stall", "sub"))
        last = t0
        while True:
            try:
                ch, _ = await c.next_interleaved(1.5)
            except asyncio.TimeoutError:
                break
            if ch == 0:
                last = time.monotonic()
        assert 1.5 < last - t0 < 3.0  # after_s = 2
        r = await c.request("GET_PARAMETER", fleet.url("stall", "sub"), {"Session": next(iter(fleet.server.sessions))})
        assert r.status == 200  # the connection stays up and answers
        await c.close()

        c = await client(fleet, "noframes")
        _, _, play = await c.play_tcp(fleet.url("noframes"))
        assert play.status == 200
        with pytest.raises(asyncio.TimeoutError):
            await c.next_interleaved(1.5)
        await c.close()


async def test_garbage_blackhole_offline_slow() -> None:
    async with running_fleet(sim_fleet_dict()) as fleet:
        c = await client(fleet, "garbage")
        with pytest.raises((ProtocolError, asyncio.TimeoutError)):
            await c.request("OPTIONS", fleet.url("garbage"), timeout=2)
        await c.close()

        c = await client(fleet, "blackhole")
        with pytest.raises(asyncio.TimeoutError):
            await c.request("OPTIONS", fleet.url("blackhole"), timeout=1.5)
        assert c.closed_reason is None  # still connected, just silent
        await c.close()

        # shared port: the connection is reset before any byte, like a closed port
        c = await client(fleet, "offline")
        with pytest.raises(ProtocolError):
            await c.request("OPTIONS", fleet.url("offline"), timeout=3)
        assert c.closed_reason in ("ConnectionResetError", "IncompleteReadError")
        await c.close()

        # own port: really closed
        port = port_of(fleet, "offport")
        assert port != fleet.rtsp_port
        with pytest.raises(ConnectionRefusedError):
            await asyncio.open_connection("127.0.0.1", port)

        c = await client(fleet, "slow")
        t0 = time.monotonic()
        r = await c.request("OPTIONS", fleet.url("slow"))
        assert r.status == 200 and time.monotonic() - t0 >= 1.4
        await c.close()


async def test_control_endpoint_changes_faults_while_running() -> None:
    async with running_fleet(sim_fleet_dict()) as fleet:
        async with aiohttp.ClientSession() as http:
            async with http.get(fleet.control_url + "/cameras") as r:
                cams = await r.json()
            assert {c["id"] for c in cams} == set(fleet.camera_ids)
            assert all(PASSWORD not in json.dumps(c) for c in cams), "passwords never leave the simulator"
            async with http.put(fleet.control_url + "/cameras/h264/fault", json={"fault": "not_found"}) as r:
                assert r.status == 200 and (await r.json())["fault"]["fault"] == "not_found"
            c = await client(fleet, "h264")
            assert (await c.request("DESCRIBE", fleet.url("h264"))).status == 404
            async with http.put(fleet.control_url + "/cameras/h264/fault", json={"fault": "sub_down"}) as r:
                assert r.status == 200
            # the sub-stream answers 404; the main stream plays
            assert (await c.request("DESCRIBE", fleet.url("h264", "sub"))).status == 404
            assert (await c.request("DESCRIBE", fleet.url("h264", "main"))).status == 200
            async with http.put(fleet.control_url + "/cameras/h264/fault", json={"fault": "nonsense"}) as r:
                assert r.status == 400 and "fault" in (await r.json())["error"]
            async with http.put(fleet.control_url + "/cameras/nosuch/fault", json={"fault": "healthy"}) as r:
                assert r.status == 404
            async with http.put(fleet.control_url + "/cameras/h264/fault", data=b"{") as r:
                assert r.status == 400
            async with http.put(fleet.control_url + "/cameras/h264/fault", json={"fault": "healthy"}) as r:
                assert r.status == 200
            assert (await c.request("DESCRIBE", fleet.url("h264"))).status == 200
            await c.close()

            # own-port camera: offline closes the port, healthy opens it again
            port = port_of(fleet, "offport")
            await fleet.set_fault("offport", "healthy")
            _, w = await asyncio.open_connection("127.0.0.1", port)
            w.close()
            await fleet.set_fault("offport", "offline")
            with pytest.raises(ConnectionRefusedError):
                await asyncio.open_connection("127.0.0.1", port)


async def test_fault_change_keeps_rtp_continuous() -> None:
    """A playing client whose camera freezes keeps one SSRC and consecutive seq numbers and timestamps."""
    async with running_fleet(sim_fleet_dict()) as fleet:
        c = await client(fleet, "h264")
        await c.play_tcp(fleet.url("h264", "sub"))
        before = await collect_rtp(c, 0.7)
        await fleet.set_fault("h264", "frozen")
        after = await collect_rtp(c, 3.0)
        fields = [rtp_fields(p) for p in before + after]
        assert len({f[4] for f in fields}) == 1
        for a, b in zip(fields, fields[1:]):
            assert b[2] == (a[2] + 1) & 0xFFFF
            if a[3] != b[3]:
                assert (b[3] - a[3]) & 0xFFFFFFFF == 6000  # 15 fps
        assert fleet.server.cameras["h264"].sessions and next(iter(fleet.server.cameras["h264"].sessions)).patched
        await c.close()


async def test_malformed_requests_get_400() -> None:
    async with running_fleet(sim_fleet_dict()) as fleet:
        c = await client(fleet, "h264")
        await c.send_raw(b"OPTIONS rtsp://x/cam/h264/main RTSP/1.0\r\nno colon here\r\nCSeq: 5\r\n\r\n")
        item = await asyncio.wait_for(c.responses.get(), 5)
        assert item.status == 400
        await c.close()
        c = await client(fleet, "h264")
        await c.send_raw(b"OPTIONS rtsp://x/cam/h264/main RTSP/1.0\r\n\r\n")  # no CSeq
        item = await asyncio.wait_for(c.responses.get(), 5)
        assert item.status == 400
        await c.close()



def test_cli_prints_masked_table_and_serves(tmp_path) -> None:
    """`camcheck simulate --config` in a child process: the start-up table masks passwords; set_fault works."""
    from camcheck.simulator.testing import fleet_process

    cfg = sim_fleet_dict()
    cfg["cameras"] = [c for c in cfg["cameras"] if c["id"] in ("h264", "basic", "offport")]
    out = tmp_path / "stdout.txt"
    with open(out, "wb") as f, fleet_process(cfg, stdout=f, extra_args=["--table-rows", "0"]) as fleet:
        text = out.read_text()
        assert PASSWORD not in text
        assert f"rtsp://admin:***@127.0.0.1:{fleet.rtsp_port}/cam/h264/main" in text
        assert "viewer:***@" in text and "offline" in text
        assert fleet.url("offport") != fleet.url("h264").replace("h264", "offport")  # its own port
        state = fleet.set_fault("offport", "healthy")
        assert state["fault"]["fault"] == "healthy"
        with socket.create_connection(("127.0.0.1", port_of(fleet, "offport")), timeout=5):
            pass
        with pytest.raises(ValueError, match="400"):
            fleet.set_fault("h264", "stall_after", after_s=-1)


def _udp_pair() -> tuple[socket.socket, socket.socket]:
    for _ in range(50):
        a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        a.bind(("127.0.0.1", 0))
        port = a.getsockname()[1]
        if port % 2 == 0 and port < 65535:
            b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                b.bind(("127.0.0.1", port + 1))
            except OSError:
                b.close()
            else:
                a.setblocking(False)
                b.setblocking(False)
                return a, b
        a.close()
    raise RuntimeError("no even/odd UDP port pair")


async def test_udp_rtcp_sender_reports_and_receiver_reports_keep_alive() -> None:
    async with running_fleet(sim_fleet_dict(session_timeout_s=1.5)) as fleet:
        loop = asyncio.get_running_loop()
        rtp, rtcp = _udp_pair()
        port = rtp.getsockname()[1]
        c = await client(fleet, "h264")
        url = fleet.url("h264", "sub")
        await c.request("DESCRIBE", url)
        r = await c.request("SETUP", url + "/trackID=0", {"Transport": f"RTP/AVP;unicast;client_port={port}-{port + 1}"})
        transport = r.header("transport")
        server_rtcp = int(transport.split("server_port=")[1].split(";")[0].split("-")[1])
        sid = r.header("session").split(";")[0]
        await c.request("PLAY", url, {"Session": sid})
        await c.close()  # from now on only RTCP keeps the session alive
        sr = None
        end = time.monotonic() + 4.0
        while time.monotonic() < end:
            # a minimal receiver report (RC=0) from the client's RTCP port, as real clients send
            rtcp.sendto(struct.pack(">BBHI", 0x80, 201, 1, 0x1234), ("127.0.0.1", server_rtcp))
            try:
                data = await asyncio.wait_for(loop.sock_recv(rtcp, 2048), 0.5)
                sr = sr or next((p for t, p in parse_rtcp(data) if t == 200), None)
            except asyncio.TimeoutError:
                pass
        assert sr is not None, "no RTCP sender report over UDP"
        assert sid in fleet.server.sessions, "RTCP receiver reports must keep a UDP session alive"
        await asyncio.sleep(3.0)  # now silent: the session expires
        assert sid not in fleet.server.sessions
        rtp.close()
        rtcp.close()
