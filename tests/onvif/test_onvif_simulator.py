"""The simulated ONVIF device: honest shapes (official schemas), authentication, clock, recording model."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import os

import aiohttp
import pytest
from lxml import etree

from camcheck.simulator.onvif import GapConfig, OnvifDeviceConfig, OnvifProfileConfig, OnvifRecordingConfig, running_onvif_device
from camcheck.simulator.onvif import schema_check
from camcheck.simulator.onvif.config import ONVIF_FAULTS
from camcheck.simulator.onvif.soap import envelope

pytestmark = pytest.mark.timeout(60)

ENV = '<?xml version="1.0"?><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope">{header}<s:Body>{body}</s:Body></s:Envelope>'
TDS = "http://www.onvif.org/ver10/device/wsdl"
TRT = "http://www.onvif.org/ver10/media/wsdl"
TRC = "http://www.onvif.org/ver10/recording/wsdl"
TSE = "http://www.onvif.org/ver10/search/wsdl"

# Every operation the simulator answers in the ver10 services, with a valid request body.
REQUESTS = [
    f'<GetSystemDateAndTime xmlns="{TDS}"/>',
    f'<GetDeviceInformation xmlns="{TDS}"/>',
    f'<GetServices xmlns="{TDS}"><IncludeCapability>false</IncludeCapability></GetServices>',
    f'<GetCapabilities xmlns="{TDS}"><Category>All</Category></GetCapabilities>',
    f'<GetProfiles xmlns="{TRT}"/>',
    f'<GetStreamUri xmlns="{TRT}"><ProfileToken>main</ProfileToken></GetStreamUri>',
    f'<GetSnapshotUri xmlns="{TRT}"><ProfileToken>main</ProfileToken></GetSnapshotUri>',
    f'<GetVideoEncoderConfigurations xmlns="{TRT}"/>',
    f'<GetVideoEncoderConfigurationOptions xmlns="{TRT}"/>',
    f'<GetRecordings xmlns="{TRC}"/>',
    f'<GetRecordingConfiguration xmlns="{TRC}"><RecordingToken>rec0</RecordingToken></GetRecordingConfiguration>',
    f'<GetRecordingJobs xmlns="{TRC}"/>',
    f'<GetRecordingJobState xmlns="{TRC}"><JobToken>job_rec0</JobToken></GetRecordingJobState>',
    f'<GetRecordingSummary xmlns="{TSE}"/>',
    f'<GetRecordingInformation xmlns="{TSE}"><RecordingToken>rec0</RecordingToken></GetRecordingInformation>',
    f'<GetMediaAttributes xmlns="{TSE}"><RecordingTokens>rec0</RecordingTokens><Time>2026-01-01T00:00:00Z</Time></GetMediaAttributes>',
    f'<FindRecordings xmlns="{TSE}"><Scope/><KeepAliveTime>PT10S</KeepAliveTime></FindRecordings>',
    f'<GetRecordingSearchResults xmlns="{TSE}"><SearchToken>search0</SearchToken></GetRecordingSearchResults>',
    f'<FindEvents xmlns="{TSE}"><StartPoint>{{start}}</StartPoint><Scope/><SearchFilter/><IncludeStartState>true</IncludeStartState><KeepAliveTime>PT10S</KeepAliveTime></FindEvents>',
    f'<GetEventSearchResults xmlns="{TSE}"><SearchToken>search1</SearchToken></GetEventSearchResults>',
    f'<EndSearch xmlns="{TSE}"><SearchToken>search1</SearchToken></EndSearch>',
]


def wsse_header(user: str, password: str, created: dt.datetime | None = None) -> str:
    nonce = os.urandom(16)
    created_s = (created or dt.datetime.now(dt.timezone.utc)).strftime("%Y-%m-%dT%H:%M:%SZ")
    digest = base64.b64encode(hashlib.sha1(nonce + created_s.encode() + password.encode()).digest()).decode()
    return (
        '<s:Header><Security xmlns="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd">'
        f"<UsernameToken><Username>{user}</Username>"
        f'<Password Type="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest">{digest}</Password>'
        f'<Nonce>{base64.b64encode(nonce).decode()}</Nonce>'
        f'<Created xmlns="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd">{created_s}</Created>'
        "</UsernameToken></Security></s:Header>"
    )


def test_schema_checker_rejects_a_wrong_shape() -> None:
    bad = envelope("<trc:GetRecordingJobStateResponse><trc:State><tt:State>Active</tt:State></trc:State></trc:GetRecordingJobStateResponse>")
    assert any("RecordingToken" in e for e in schema_check.validate_envelope(bad))
    bad_enum = envelope("<tse:GetEventSearchResultsResponse><tse:ResultList><tt:SearchState>Done</tt:SearchState></tse:ResultList></tse:GetEventSearchResultsResponse>")
    assert schema_check.validate_envelope(bad_enum)


@pytest.mark.parametrize("faults", [[], *[[f] for f in ONVIF_FAULTS]], ids=lambda f: "+".join(f) or "healthy")
async def test_every_reply_matches_the_official_schema(faults: list[str]) -> None:
    cfg = OnvifDeviceConfig(
        auth="none",
        faults=faults,
        profiles=[OnvifProfileConfig(), OnvifProfileConfig(token="sub", encoding="H265", width=640, height=360)],
        recordings=[OnvifRecordingConfig(), OnvifRecordingConfig(token="rec1", source_name="cam2", source_id="cam2", max_retention_days=14)],
    )
    start = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=24)).strftime("%Y-%m-%dT%H:%M:%SZ")
    async with running_onvif_device(cfg, validate=True) as dev, aiohttp.ClientSession() as s:
        for body in REQUESTS:
            async with s.post(dev.url, data=ENV.format(header="", body=body.replace("{start}", start))) as r:
                text = await r.read()
                assert r.status == 200, text[:300]
        assert dev.schema_errors == []
        assert len(dev.requests) == len(REQUESTS)


async def test_wsse_digest_is_checked_on_the_device_clock() -> None:
    cfg = OnvifDeviceConfig(username="admin", password="pw", clock_offset_s=3600)
    body = f'<GetDeviceInformation xmlns="{TDS}"/>'
    async with running_onvif_device(cfg) as dev, aiohttp.ClientSession() as s:
        # Pre-auth operation: no credentials needed.
        async with s.post(dev.url, data=ENV.format(header="", body=f'<GetSystemDateAndTime xmlns="{TDS}"/>')) as r:
            assert r.status == 200
        async with s.post(dev.url, data=ENV.format(header="", body=body)) as r:
            assert r.status == 400 and b"NotAuthorized" in await r.read()
        # Right password, our clock: the device (1 h ahead) finds the token stale.
        async with s.post(dev.url, data=ENV.format(header=wsse_header("admin", "pw"), body=body)) as r:
            assert r.status == 400
        created = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=3600)
        async with s.post(dev.url, data=ENV.format(header=wsse_header("admin", "pw", created), body=body)) as r:
            assert r.status == 200
        async with s.post(dev.url, data=ENV.format(header=wsse_header("admin", "wrong", created), body=body)) as r:
            assert r.status == 400


async def test_http_digest_device_challenges_and_accepts() -> None:
    cfg = OnvifDeviceConfig(username="admin", password="pw", auth="digest")
    body = ENV.format(header="", body=f'<GetDeviceInformation xmlns="{TDS}"/>')
    async with running_onvif_device(cfg) as dev:
        async with aiohttp.ClientSession() as s:
            async with s.post(dev.url, data=body) as r:
                assert r.status == 401 and r.headers["WWW-Authenticate"].startswith("Digest ")
        async with aiohttp.ClientSession() as s:
            async with s.post(dev.url, data=body, middlewares=(aiohttp.DigestAuthMiddleware("admin", "pw"),)) as r:
                assert r.status == 200 and b"SimCam-1" in await r.read()
        async with aiohttp.ClientSession() as s:
            async with s.post(dev.url, data=body, middlewares=(aiohttp.DigestAuthMiddleware("admin", "nope"),)) as r:
                assert r.status == 401


async def test_recording_model_follows_the_device_clock() -> None:
    cfg = OnvifDeviceConfig(
        auth="none",
        clock_offset_s=-7200,
        recordings=[OnvifRecordingConfig(retention_days=3, gaps=[GapConfig(start_ago_h=5, duration_h=1)])],
    )
    async with running_onvif_device(cfg) as dev:
        replies = dev.replies
        assert replies is not None
        now = replies.now()
        assert abs((dt.datetime.now(dt.timezone.utc) - now).total_seconds() - 7200) < 5
        iv = replies.data_intervals(cfg.recordings[0], now)
        assert len(iv) == 2
        assert abs((now - iv[0][0]).total_seconds() - 3 * 86400) < 1
        assert abs((iv[1][0] - iv[0][1]).total_seconds() - 3600) < 1


def test_bad_configs_are_refused_with_clear_errors() -> None:
    with pytest.raises(ValueError, match="unknown ONVIF fault"):
        OnvifDeviceConfig(faults=["no_such_fault"])
    with pytest.raises(ValueError, match="gap cannot end in the future"):
        GapConfig(start_ago_h=1, duration_h=2)
    with pytest.raises(ValueError, match="tokens must be unique"):
        OnvifDeviceConfig(profiles=[OnvifProfileConfig(), OnvifProfileConfig()])


async def test_malformed_request_gets_a_soap_fault() -> None:
    async with running_onvif_device(OnvifDeviceConfig(auth="none")) as dev, aiohttp.ClientSession() as s:
        async with s.post(dev.url, data=b"<not-soap") as r:
            assert r.status == 400
            env = etree.fromstring(await r.read())
            assert env.find(".//{http://www.w3.org/2003/05/soap-envelope}Fault") is not None
