"""The ONVIF probe: what the device says it is, how it is configured, whether it really records.

``probe_onvif(target, settings, deadline)`` talks to one device (camera or NVR) within an absolute
deadline (``loop.time()`` value) and never raises for the device's faults: every failure becomes a
finding in the returned ``OnvifObservation``. ``compare_stream_to_config`` sets what the stream
probe measured against what the encoder is configured to deliver.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from dataclasses import dataclass, field
from typing import Any, Callable
from urllib.parse import urlsplit, urlunsplit

import aiohttp
import zeep.exceptions
from lxml import etree

from camcheck.probe import onvif_media2
from camcheck.probe.onvif_client import (
    MEDIA2_NS,
    ClientConfig,
    ConnectionTrace,
    OnvifClient,
    OnvifReplyError,
    ReplyTooLarge,
    make_session,
    warm_wsdls,
)
from camcheck.probe.onvif_recording import (
    HistoryEvent,
    RecordingFacts,
    TrackFacts,
    analyse_recording,
    parse_duration_s,
)
from camcheck.secrets import Secret, mask_text, mask_url

log = logging.getLogger(__name__)

NS = {
    "devicemgmt": "http://www.onvif.org/ver10/device/wsdl",
    "media": "http://www.onvif.org/ver10/media/wsdl",
    "media2": MEDIA2_NS,
    "recording": "http://www.onvif.org/ver10/recording/wsdl",
    "search": "http://www.onvif.org/ver10/search/wsdl",
}

# Finding codes (stable JSON names). Severity: critical = the camera/recorder fails its purpose,
# warning = something registered or configured is not true, info = context.
ONVIF_FINDINGS: dict[str, str] = {
    "onvif_unreachable": "critical",
    "onvif_timeout": "critical",
    "onvif_auth_failed": "critical",
    "onvif_bad_reply": "warning",
    "clock_drift": "warning",
    "not_recording": "critical",
    "recording_gaps": "warning",
    "retention_short": "critical",
    "config_mismatch": "warning",
    "no_profile_g": "info",
}


@dataclass(frozen=True)
class OnvifTarget:
    host: str
    port: int = 80
    username: str | None = None
    password: Secret | None = None
    tls: bool = False  # https for SOAP
    tls_verify: bool = True
    required_retention_days: float | None = None  # registered/required days kept (None = not checked)
    recording_source: str | None = None  # NVR: only recordings whose token/source name/id equals this


@dataclass(frozen=True)
class OnvifSettings:
    max_reply_bytes: int = 4 * 1024 * 1024
    max_clock_offset_s: float = 10.0
    recording_stale_s: float = 300.0  # newest data older than this (camera clock) = not recording now
    min_gap_s: float = 60.0  # shorter holes are not reported
    history_hours: float = 24.0
    http_digest: bool = True  # answer an HTTP Digest challenge on SOAP calls
    want_recording: bool = True
    max_profiles: int = 32
    max_recordings: int = 64
    max_events: int = 5000
    retention_tolerance_h: float = 1.0  # recorders delete in blocks: this much short still counts as kept


@dataclass
class OnvifObservation:
    host: str
    port: int
    ok: bool = False  # the device answered and nothing critical was found
    message: str = ""
    device: dict[str, Any] | None = None
    clock: dict[str, Any] | None = None
    services: dict[str, str] = field(default_factory=dict)
    profiles: list[dict[str, Any]] = field(default_factory=list)
    max_resolution: dict[str, int] | None = None
    recording: dict[str, Any] | None = None
    findings: list[dict[str, Any]] = field(default_factory=list)
    started_at: float = 0.0
    duration: float = 0.0

    def add(self, code: str, message: str, **detail: Any) -> None:
        self.findings.append({"code": code, "severity": ONVIF_FINDINGS[code], "message": message, "detail": detail})

    def codes(self) -> list[str]:
        return [f["code"] for f in self.findings]

    def to_dict(self) -> dict[str, Any]:
        return {
            "host": self.host,
            "port": self.port,
            "ok": self.ok,
            "message": self.message,
            "device": self.device,
            "clock": self.clock,
            "services": self.services,
            "profiles": self.profiles,
            "max_resolution": self.max_resolution,
            "recording": self.recording,
            "findings": self.findings,
            "started_at": round(self.started_at, 3),
            "duration": round(self.duration, 3),
        }


class _Abort(Exception):
    """Stop the probe: a finding has been recorded that makes the rest pointless."""


# ------------------------------------------------------------------------------------ errors
def _short(exc: BaseException) -> str:
    text = mask_text(str(exc) or type(exc).__name__).replace("\n", " ")
    return text[:200] + ("…" if len(text) > 200 else "")


def _unwrap(exc: BaseException) -> BaseException:
    # onvif/zeep wrap causes; the innermost known type decides the finding.
    seen = 0
    while exc.__cause__ is not None and type(exc).__name__ == "ONVIFError" and seen < 5:
        exc, seen = exc.__cause__, seen + 1
    return exc


def is_auth_error(exc: BaseException) -> bool:
    exc = _unwrap(exc)
    if isinstance(exc, zeep.exceptions.TransportError):
        return exc.status_code in (401, 403)
    if isinstance(exc, zeep.exceptions.Fault):
        words = " ".join([str(exc.message or ""), str(exc.code or "")] + [str(s) for s in (exc.subcodes or [])]).lower()
        return any(w in words for w in ("notauthorized", "not authorized", "failedauthentication", "unauthorized", "authority failure", "sender not authorized"))
    return False


def classify(exc: BaseException) -> tuple[str, str]:
    """Map any exception from talking to a device to (finding code, human text)."""
    exc = _unwrap(exc)
    if isinstance(exc, (TimeoutError, asyncio.TimeoutError)):
        return "onvif_timeout", "no complete answer before the deadline"
    if is_auth_error(exc):
        return "onvif_auth_failed", "the device refused the credentials"
    if isinstance(exc, ReplyTooLarge):
        return "onvif_bad_reply", f"reply refused: {_short(exc)}"
    if isinstance(exc, OnvifReplyError):
        return "onvif_bad_reply", f"unusable reply: {_short(exc)}"
    if isinstance(exc, aiohttp.ClientPayloadError):
        return "onvif_bad_reply", f"truncated reply: {_short(exc)}"
    if isinstance(exc, zeep.exceptions.Fault):
        return "onvif_bad_reply", f"device answered with a SOAP fault: {_short(exc)}"
    if isinstance(exc, zeep.exceptions.TransportError):
        return "onvif_bad_reply", f"HTTP {exc.status_code} from the device"
    if isinstance(exc, (zeep.exceptions.XMLSyntaxError, zeep.exceptions.DTDForbidden, zeep.exceptions.EntitiesForbidden, etree.XMLSyntaxError)):
        return "onvif_bad_reply", f"unusable XML: {_short(exc)}"
    if isinstance(exc, zeep.exceptions.Error):
        return "onvif_bad_reply", f"unusable reply: {_short(exc)}"
    if isinstance(exc, aiohttp.ClientResponseError):
        return "onvif_bad_reply", f"bad HTTP answer: {_short(exc)}"
    if isinstance(exc, (aiohttp.ClientError, OSError)):
        return "onvif_unreachable", f"cannot reach the ONVIF service: {_short(exc)}"
    # AttributeError/TypeError/ValueError here come from replies missing what the schema promises.
    return "onvif_bad_reply", f"unexpected reply shape ({type(exc).__name__}: {_short(exc)})"


def _req(value: Any, what: str) -> Any:
    """A field the probe relies on: missing/None (how zeep renders truncated replies) is an error."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise OnvifReplyError(f"reply lacks {what}")
    return value


def _get(obj: Any, *path: str) -> Any:
    for name in path:
        if obj is None:
            return None
        obj = obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)
    return obj


def _num(value: Any, kind: Callable[[Any], Any] = float) -> Any:
    if value is None:
        return None
    try:
        return kind(value)
    except (TypeError, ValueError):
        raise OnvifReplyError(f"not a number: {str(value)[:40]!r}") from None


def _aware(v: Any, what: str) -> dt.datetime | None:
    if v is None:
        return None
    if isinstance(v, str):
        v = dt.datetime.fromisoformat(v.replace("Z", "+00:00"))
    if not isinstance(v, dt.datetime):
        raise OnvifReplyError(f"{what} is not a date-time")
    return v if v.tzinfo else v.replace(tzinfo=dt.timezone.utc)


# ------------------------------------------------------------------------------------ probe
async def probe_onvif(target: OnvifTarget, settings: OnvifSettings, deadline: float) -> OnvifObservation:
    loop = asyncio.get_running_loop()
    obs = OnvifObservation(host=target.host, port=target.port, started_at=time.time())
    t0 = loop.time()
    cfg = ClientConfig(
        host=target.host,
        port=target.port,
        username=target.username,
        password=target.password.reveal() if target.password is not None else None,
        tls=target.tls,
        tls_verify=target.tls_verify,
        max_reply_bytes=settings.max_reply_bytes,
        http_digest=settings.http_digest,
    )
    trace = ConnectionTrace()
    try:
        async with asyncio.timeout_at(deadline):
            await warm_wsdls()
            session = make_session(cfg, trace)
            try:
                await _probe(OnvifClient(cfg, session, deadline), target, settings, obs)
            finally:
                await session.close()
    except _Abort:
        pass
    except TimeoutError:
        spent = loop.time() - t0
        if trace.connected:
            obs.add("onvif_timeout", f"no complete ONVIF answer within the deadline ({spent:.1f} s)", answers=trace.responses)
        else:
            obs.add("onvif_unreachable", f"no connection to the ONVIF service within the deadline ({spent:.1f} s)", reason="timeout")
    except Exception as exc:  # noqa: BLE001 - the probe never raises for a device fault
        code, text = classify(exc)
        obs.add(code, text)
    obs.duration = loop.time() - t0
    _summarise(obs)
    return obs


async def _probe(client: OnvifClient, target: OnvifTarget, settings: OnvifSettings, obs: OnvifObservation) -> None:
    camera_now = await _clock(client, settings, obs)
    await _services(client, obs)
    await _device_info(client, obs)
    await _step(obs, "profiles", _media(client, settings, obs))
    if settings.want_recording:
        await _step(obs, "recording", _recording(client, target, settings, obs, camera_now))


async def _step(obs: OnvifObservation, what: str, coro: Any) -> None:
    """Run one optional section; its failure is a finding, the probe goes on (timeouts still end it)."""
    try:
        await coro
    except (_Abort, TimeoutError, asyncio.CancelledError):
        raise
    except Exception as exc:  # noqa: BLE001
        code, text = classify(exc)
        if code in ("onvif_unreachable", "onvif_auth_failed"):
            obs.add(code, f"{what}: {text}")
            raise _Abort from None
        obs.add(code, f"{what}: {text}", section=what)


async def _call_maybe_auth(client: OnvifClient, service: str, op: str, **params: Any) -> tuple[Any, bool]:
    """Call a pre-authentication operation without credentials, retrying signed if refused.

    A device that (against ONVIF) demands credentials for GetSystemDateAndTime cannot tell us its
    clock first, so a drifted one would reject our WS-Security timestamp: its HTTP Date header,
    when present, gives the offset to sign with (onvif-zeep-async's adjust_time cannot do this)."""
    try:
        return await client.call(service, op, auth=False, **params), False
    except (zeep.exceptions.Fault, zeep.exceptions.TransportError) as exc:
        if not client.cfg.username or not (is_auth_error(exc) or isinstance(exc, zeep.exceptions.Fault)):
            raise
    if client.dt_diff is None:
        hint = client.http_date_offset()
        if hint is not None and abs(hint) > 2:
            client.dt_diff = dt.timedelta(seconds=hint)
            client.reset_auth()
    return await client.call(service, op, auth=True, **params), True


async def _clock(client: OnvifClient, settings: OnvifSettings, obs: OnvifObservation) -> Callable[[], dt.datetime]:
    loop = asyncio.get_running_loop()
    wall0, mono0 = time.time(), loop.time()
    try:
        reply, needed_auth = await _call_maybe_auth(client, "devicemgmt", "GetSystemDateAndTime")
    except Exception as exc:  # noqa: BLE001
        if isinstance(exc, TimeoutError):
            raise
        code, text = classify(exc)
        obs.add(code, f"GetSystemDateAndTime: {text}")
        raise _Abort from None
    rtt = loop.time() - mono0
    utc = _get(reply, "UTCDateTime")
    date, tm = _get(utc, "Date"), _get(utc, "Time")
    clock: dict[str, Any] = {
        "camera_utc": None,
        "offset_s": None,
        "round_trip_s": round(rtt, 4),
        "date_time_type": _get(reply, "DateTimeType"),
        "ntp": None if _get(reply, "DateTimeType") is None else _get(reply, "DateTimeType") == "NTP",
        "timezone": _get(reply, "TimeZone", "TZ"),
        "daylight_savings": _get(reply, "DaylightSavings"),
        "requires_auth": needed_auth,
    }
    obs.clock = clock
    offset = 0.0
    try:
        cam = dt.datetime(
            int(_req(_get(date, "Year"), "UTCDateTime/Date/Year")),
            int(_req(_get(date, "Month"), "UTCDateTime/Date/Month")),
            int(_req(_get(date, "Day"), "UTCDateTime/Date/Day")),
            int(_req(_get(tm, "Hour"), "UTCDateTime/Time/Hour")),
            int(_req(_get(tm, "Minute"), "UTCDateTime/Time/Minute")),
            int(_req(_get(tm, "Second"), "UTCDateTime/Time/Second")),
            tzinfo=dt.timezone.utc,
        )
    except (OnvifReplyError, TypeError, ValueError) as exc:
        obs.add("onvif_bad_reply", f"GetSystemDateAndTime: no usable UTC time ({_short(exc)})")
    else:
        # The device's second-resolution time was read about half a round trip before the reply.
        offset = cam.timestamp() - (wall0 + rtt / 2)
        clock["camera_utc"] = cam.isoformat().replace("+00:00", "Z")
        clock["offset_s"] = round(offset, 3)
        if abs(offset) > settings.max_clock_offset_s:
            obs.add(
                "clock_drift",
                f"camera clock is {offset:+.0f} s off (limit ±{settings.max_clock_offset_s:g} s); "
                f"{'NTP is configured but not working' if clock['ntp'] else 'time is set manually'}",
                offset_s=round(offset, 1),
                ntp=clock["ntp"],
            )
        # Sign WS-Security tokens on the device's clock, so a drifted camera still lets us in.
        client.dt_diff = dt.timedelta(seconds=offset)
        client.reset_auth()
    return lambda: dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=offset)


async def _services(client: OnvifClient, obs: OnvifObservation) -> None:
    xaddrs: dict[str, str] = {}
    try:
        reply, _ = await _call_maybe_auth(client, "devicemgmt", "GetServices", IncludeCapability=False)
        for svc in reply or []:
            ns, xaddr = _get(svc, "Namespace"), _get(svc, "XAddr")
            if isinstance(ns, str) and isinstance(xaddr, str) and xaddr.startswith(("http://", "https://")):
                xaddrs[ns.strip()] = xaddr.strip()
    except (TimeoutError, asyncio.CancelledError):
        raise
    except Exception as exc:  # noqa: BLE001 - older devices lack GetServices: fall back below
        if classify(exc)[0] == "onvif_unreachable":
            raise
    if not xaddrs:
        caps, _ = await _call_maybe_auth(client, "devicemgmt", "GetCapabilities", Category="All")
        for key, path in (("media", ("Media", "XAddr")), ("recording", ("Extension", "Recording", "XAddr")), ("search", ("Extension", "Search", "XAddr"))):
            x = _get(caps, *path)
            if isinstance(x, str) and x.startswith(("http://", "https://")):
                xaddrs[NS[key]] = x.strip()
    client.xaddrs = xaddrs
    obs.services = {name: mask_url(xaddrs[ns]) for name, ns in NS.items() if ns in xaddrs}


async def _device_info(client: OnvifClient, obs: OnvifObservation) -> None:
    try:
        r = await client.call("devicemgmt", "GetDeviceInformation")
    except (TimeoutError, asyncio.CancelledError):
        raise
    except Exception as exc:  # noqa: BLE001
        code, text = classify(exc)
        obs.add(code, f"GetDeviceInformation: {text}")
        if code in ("onvif_auth_failed", "onvif_unreachable"):
            raise _Abort from None
        return
    obs.device = {
        "manufacturer": _get(r, "Manufacturer"),
        "model": _get(r, "Model"),
        "firmware": _get(r, "FirmwareVersion"),
        "serial": _get(r, "SerialNumber"),
        "hardware_id": _get(r, "HardwareId"),
    }
    missing = [k for k in ("manufacturer", "model") if not obs.device[k]]
    if missing:
        obs.add("onvif_bad_reply", f"GetDeviceInformation lacks {', '.join(missing)}", section="device")


# ------------------------------------------------------------------------------------ media
def _gop_s(gov: Any, fps: Any) -> float | None:
    return round(gov / fps, 3) if gov and fps else None


async def _media(client: OnvifClient, settings: OnvifSettings, obs: OnvifObservation) -> None:
    media2 = client.xaddrs.get(MEDIA2_NS)
    if media2:
        try:
            await _media2(client, media2, settings, obs)
            if obs.profiles:
                return
        except (TimeoutError, asyncio.CancelledError):
            raise
        except Exception as exc:  # noqa: BLE001 - Media2 broken: Media1 may still answer
            code, text = classify(exc)
            if code == "onvif_auth_failed":
                raise
            obs.add(code, f"Media2: {text}", section="profiles")
    if NS["media"] in client.xaddrs:
        await _media1(client, settings, obs)


async def _media2(client: OnvifClient, xaddr: str, settings: OnvifSettings, obs: OnvifObservation) -> None:
    profiles = (await onvif_media2.get_profiles(client, xaddr))[: settings.max_profiles]
    for p in profiles:
        p["source"] = "media2"
        p["gop_s"] = _gop_s(p.get("gov_length"), p.get("fps_limit"))
        p["stream_uri"] = await _optional_uri(onvif_media2.get_uri(client, xaddr, "GetStreamUri", p["token"]))
        p["snapshot_uri"] = await _optional_uri(onvif_media2.get_uri(client, xaddr, "GetSnapshotUri", p["token"]))
    obs.profiles = profiles
    try:
        best = await onvif_media2.get_max_resolution(client, xaddr)
    except (TimeoutError, asyncio.CancelledError):
        raise
    except Exception:  # noqa: BLE001 - options are context, not essential
        best = None
    if best:
        obs.max_resolution = {"width": best[0], "height": best[1]}


async def _optional_uri(coro: Any) -> str | None:
    try:
        uri = await coro
    except (TimeoutError, asyncio.CancelledError):
        raise
    except Exception as exc:  # noqa: BLE001 - e.g. no snapshot support: not a fault of the camera
        if is_auth_error(exc):
            raise
        return None
    return mask_url(uri) if isinstance(uri, str) and uri.strip() else None


async def _media1(client: OnvifClient, settings: OnvifSettings, obs: OnvifObservation) -> None:
    profiles = await client.call("media", "GetProfiles")
    out = []
    for prof in list(profiles or [])[: settings.max_profiles]:
        token = _req(_get(prof, "token"), "Profile@token")
        vec = _get(prof, "VideoEncoderConfiguration")
        fps = _num(_get(vec, "RateControl", "FrameRateLimit"))
        gov = _num(_get(vec, "H264", "GovLength"), int) if _get(vec, "H264") is not None else None
        entry = {
            "token": token,
            "name": _get(prof, "Name"),
            "source": "media1",
            "encoding": _get(vec, "Encoding"),
            "width": _num(_get(vec, "Resolution", "Width"), int),
            "height": _num(_get(vec, "Resolution", "Height"), int),
            "fps_limit": fps,
            "bitrate_limit_kbps": _num(_get(vec, "RateControl", "BitrateLimit"), int),
            "gov_length": gov,
            "encoder_profile": _get(vec, "H264", "H264Profile"),
            "gop_s": _gop_s(gov, fps),
        }
        setup = {"Stream": "RTP-Unicast", "Transport": {"Protocol": "RTSP"}}
        entry["stream_uri"] = await _optional_uri(_uri1(client, "GetStreamUri", StreamSetup=setup, ProfileToken=token))
        entry["snapshot_uri"] = await _optional_uri(_uri1(client, "GetSnapshotUri", ProfileToken=token))
        out.append(entry)
    obs.profiles = out
    if out:
        try:
            opts = await client.call("media", "GetVideoEncoderConfigurationOptions", ProfileToken=out[0]["token"])
        except (TimeoutError, asyncio.CancelledError):
            raise
        except Exception:  # noqa: BLE001 - options are context, not essential
            return
        best: tuple[int, int] | None = None
        for codec in ("JPEG", "MPEG4", "H264"):
            for r in _get(opts, codec, "ResolutionsAvailable") or []:
                w, h = _get(r, "Width"), _get(r, "Height")
                if isinstance(w, int) and isinstance(h, int) and (best is None or w * h > best[0] * best[1]):
                    best = (w, h)
        if best:
            obs.max_resolution = {"width": best[0], "height": best[1]}


async def _uri1(client: OnvifClient, op: str, **params: Any) -> str | None:
    r = await client.call("media", op, **params)
    return _get(r, "Uri")


# ------------------------------------------------------------------------------------ recording
async def _recording(
    client: OnvifClient, target: OnvifTarget, settings: OnvifSettings, obs: OnvifObservation, camera_now: Callable[[], dt.datetime]
) -> None:
    has_rec, has_search = NS["recording"] in client.xaddrs, NS["search"] in client.xaddrs
    if not has_rec and not has_search:
        obs.recording = {"profile_g": False, "recordings": []}
        obs.add("no_profile_g", "the device offers no Recording/Search service: whether it records cannot be verified over ONVIF")
        return
    recs: dict[str, RecordingFacts] = {}
    if has_rec:
        for item in list(await client.call("recording", "GetRecordings") or [])[: settings.max_recordings]:
            token = _req(_get(item, "RecordingToken"), "RecordingToken")
            conf = _get(item, "Configuration")
            max_ret = parse_duration_s(_duration_text(_get(conf, "MaximumRetentionTime")))
            recs[token] = RecordingFacts(
                token=token,
                source_name=_get(conf, "Source", "Name"),
                source_id=_get(conf, "Source", "SourceId"),
                max_retention_days=None if max_ret is None else max_ret / 86400.0,
            )
        for job in list(await client.call("recording", "GetRecordingJobs") or [])[: settings.max_recordings * 4]:
            rtoken = _get(job, "JobConfiguration", "RecordingToken")
            jtoken = _get(job, "JobToken")
            if rtoken not in recs or not jtoken:
                continue
            try:
                state = _get(await client.call("recording", "GetRecordingJobState", JobToken=jtoken), "State")
            except zeep.exceptions.Fault as exc:
                if is_auth_error(exc):
                    raise
                state = None  # not implemented by some recorders: the configured mode is the best left
            state = state or _get(job, "JobConfiguration", "Mode")
            if state is None:
                raise OnvifReplyError("recording job has neither a state nor a mode")
            if recs[rtoken].job_state != "Active":  # any active job for the recording counts
                recs[rtoken].job_state = state
    elif has_search:
        recs = await _find_recordings(client, settings)
    if target.recording_source:
        want = target.recording_source
        recs = {k: v for k, v in recs.items() if want in (k, v.source_name, v.source_id)}
    events: dict[str, list[HistoryEvent]] = {k: [] for k in recs}
    if has_search and recs:
        for token, rec in recs.items():
            info = await client.call("search", "GetRecordingInformation", RecordingToken=token)
            rec.earliest = _aware(_get(info, "EarliestRecording"), "EarliestRecording")
            rec.latest = _aware(_get(info, "LatestRecording"), "LatestRecording")
            rec.status = _get(info, "RecordingStatus")
            rec.source_name = rec.source_name or _get(info, "Source", "Name")
            for tr in _get(info, "Track") or []:
                rec.tracks.append(TrackFacts(token=_get(tr, "TrackToken") or "", type=_get(tr, "TrackType")))
        await _media_attributes(client, recs, camera_now())
        await _history(client, settings, recs, events, camera_now())
    now = camera_now()
    for token, rec in recs.items():
        analyse_recording(rec, events[token], now, settings.recording_stale_s, settings.min_gap_s, settings.history_hours)
    obs.recording = {
        "profile_g": True,
        "camera_now": now.isoformat().replace("+00:00", "Z"),
        "required_retention_days": target.required_retention_days,
        "recordings": [r.to_dict() for r in recs.values()],
    }
    _recording_findings(obs, list(recs.values()), target, settings, has_search)


def _duration_text(v: Any) -> Any:
    # zeep renders xs:duration as timedelta or isodate.Duration; both become seconds here.
    if v is None or isinstance(v, (str, dt.timedelta)):
        return v
    years, months, tdelta = getattr(v, "years", 0), getattr(v, "months", 0), getattr(v, "tdelta", None)
    if tdelta is not None:
        return dt.timedelta(days=float(years) * 365 + float(months) * 30) + tdelta
    return str(v)


async def _find_recordings(client: OnvifClient, settings: OnvifSettings) -> dict[str, RecordingFacts]:
    token = await client.call("search", "FindRecordings", Scope={}, MaxMatches=settings.max_recordings, KeepAliveTime=dt.timedelta(seconds=10))
    _req(token, "FindRecordings SearchToken")
    recs: dict[str, RecordingFacts] = {}
    try:
        for _ in range(50):  # bounded polling; the deadline bounds it too
            res = await client.call("search", "GetRecordingSearchResults", SearchToken=token, MaxResults=settings.max_recordings, WaitTime=dt.timedelta(seconds=1))
            for info in _get(res, "RecordingInformation") or []:
                rt = _req(_get(info, "RecordingToken"), "RecordingInformation/RecordingToken")
                if len(recs) < settings.max_recordings:
                    recs[rt] = RecordingFacts(token=rt, source_name=_get(info, "Source", "Name"), source_id=_get(info, "Source", "SourceId"))
            if _req(_get(res, "SearchState"), "SearchState") == "Completed":
                break
    finally:
        await _end_search(client, token)
    return recs


async def _end_search(client: OnvifClient, token: str) -> None:
    try:
        await client.call("search", "EndSearch", SearchToken=token)
    except (TimeoutError, asyncio.CancelledError):
        raise
    except Exception:  # noqa: BLE001 - the search may already be over; nothing to fix
        pass


async def _media_attributes(client: OnvifClient, recs: dict[str, RecordingFacts], now: dt.datetime) -> None:
    try:
        attrs = await client.call("search", "GetMediaAttributes", RecordingTokens=list(recs), Time=now)
    except (TimeoutError, asyncio.CancelledError):
        raise
    except Exception as exc:  # noqa: BLE001 - optional: many recorders do not implement it
        if is_auth_error(exc):
            raise
        return
    for ma in attrs or []:
        rec = recs.get(_get(ma, "RecordingToken"))
        if rec is None:
            continue
        tracks = []
        for ta in _get(ma, "TrackAttributes") or []:
            va = _get(ta, "VideoAttributes")
            tracks.append(
                TrackFacts(
                    token=_get(ta, "TrackInformation", "TrackToken") or "",
                    type=_get(ta, "TrackInformation", "TrackType"),
                    encoding=_get(va, "Encoding"),
                    width=_num(_get(va, "Width"), int),
                    height=_num(_get(va, "Height"), int),
                    fps=_num(_get(va, "Framerate")),
                    bitrate_kbps=_num(_get(va, "Bitrate"), int),
                )
            )
        if tracks:
            rec.tracks = tracks


async def _history(
    client: OnvifClient, settings: OnvifSettings, recs: dict[str, RecordingFacts], events: dict[str, list[HistoryEvent]], now: dt.datetime
) -> None:
    """RecordingHistory/Track/State events (IsDataPresent) of the last ``history_hours``."""
    try:
        token = await client.call(
            "search",
            "FindEvents",
            StartPoint=now - dt.timedelta(hours=settings.history_hours),
            EndPoint=now,
            Scope={"IncludedRecordings": list(recs)},
            SearchFilter={},
            IncludeStartState=True,
            MaxMatches=settings.max_events,
            KeepAliveTime=dt.timedelta(seconds=10),
        )
    except (TimeoutError, asyncio.CancelledError):
        raise
    except Exception as exc:  # noqa: BLE001 - no event search: gaps cannot be seen, retention still can
        if is_auth_error(exc):
            raise
        return
    _req(token, "FindEvents SearchToken")
    seen = 0
    try:
        for _ in range(200):
            res = await client.call("search", "GetEventSearchResults", SearchToken=token, MinResults=1, MaxResults=500, WaitTime=dt.timedelta(seconds=1))
            for r in _get(res, "Result") or []:
                seen += 1
                ev = _history_event(r)
                if ev is not None and ev[0] in events:
                    events[ev[0]].append(ev[1])
            state = _req(_get(res, "SearchState"), "SearchState")
            if state == "Completed" or seen >= settings.max_events:
                break
    finally:
        await _end_search(client, token)


def _history_event(r: Any) -> tuple[str, HistoryEvent] | None:
    topic = _get(r, "Event", "Topic")
    topic_text = _get(topic, "_value_1") if not isinstance(topic, str) else topic
    if not isinstance(topic_text, str) or "RecordingHistory" not in topic_text:
        return None
    msg = _get(r, "Event", "Message", "_value_1")
    present = None
    if hasattr(msg, "iter"):  # left as XML (unknown message element)
        items = [(i.get("Name"), i.get("Value")) for i in msg.iter("{http://www.onvif.org/ver10/schema}SimpleItem")]
    else:  # zeep parsed tt:Message
        items = [(_get(i, "Name"), _get(i, "Value")) for i in (_get(msg, "Data", "SimpleItem") or [])]
    for name, value in items:
        if name in ("IsDataPresent", "IsRecording"):
            present = str(value or "").strip().lower() == "true"
    token, when = _get(r, "RecordingToken"), _aware(_get(r, "Time"), "Result/Time")
    if present is None or not token or when is None:
        return None
    return token, HistoryEvent(time=when, present=present, start_state=bool(_get(r, "StartStateEvent")))


def _recording_findings(obs: OnvifObservation, recs: list[RecordingFacts], target: OnvifTarget, settings: OnvifSettings, has_search: bool) -> None:
    if not recs:
        what = f" for source {target.recording_source!r}" if target.recording_source else ""
        obs.add("not_recording", f"the recorder lists no recordings{what}")
        return
    for r in recs:
        label = r.source_name or r.token
        if not r.active:
            why = []
            if r.job_state is not None and r.job_state != "Active":
                why.append(f"recording job is {r.job_state}")
            if r.latest_age_s is None:
                why.append("no recorded data reported")
            elif r.latest_age_s > settings.recording_stale_s:
                why.append(f"newest data is {r.latest_age_s / 3600:.1f} h old")
            obs.add("not_recording", f"{label}: not recording now ({'; '.join(why) or 'recording status ' + str(r.status)})", recording=r.token, job_state=r.job_state, latest_age_s=r.latest_age_s)
        closed = [g for g in r.gaps_24h if not g.open]
        if closed:
            total = sum(g.seconds for g in closed)
            obs.add(
                "recording_gaps",
                f"{label}: {len(closed)} gap(s) totalling {total / 3600:.1f} h in the last {settings.history_hours:g} h",
                recording=r.token,
                gaps=[g.to_dict() for g in closed],
                recorded_hours=round(r.recorded_hours_24h or 0.0, 2),
            )
        need = target.required_retention_days
        if need:
            short_actual = r.retention_days is not None and r.retention_days < need - settings.retention_tolerance_h / 24
            short_cfg = bool(r.max_retention_days) and r.max_retention_days < need  # type: ignore[operator]
            if short_actual or short_cfg or r.retention_days is None:
                parts = []
                if r.retention_days is None:
                    parts.append("no earliest recording reported")
                elif short_actual:
                    parts.append(f"keeps {r.retention_days:.1f} days")
                if short_cfg:
                    parts.append(f"configured maximum retention is {r.max_retention_days:.1f} days")
                obs.add("retention_short", f"{label}: {', '.join(parts)}; {need:g} days required", recording=r.token, retention_days=r.retention_days, max_retention_days=r.max_retention_days, required_days=need)


def _summarise(obs: OnvifObservation) -> None:
    critical = [f for f in obs.findings if f["severity"] == "critical"]
    # ok: the device told us who it is, and nothing critical was found.
    obs.ok = bool(obs.device and obs.device.get("manufacturer") and obs.device.get("model")) and not critical
    dev = obs.device or {}
    who = " ".join(x for x in (dev.get("manufacturer"), dev.get("model")) if x) or f"{obs.host}:{obs.port}"
    if not obs.findings:
        rec = obs.recording or {}
        n = len(rec.get("recordings") or [])
        obs.message = f"{who}: ONVIF answers, {len(obs.profiles)} profile(s), {n} recording(s) active, no findings"
    else:
        worst = critical or obs.findings
        obs.message = f"{who}: " + "; ".join(f["message"] for f in worst[:3]) + (f" (+{len(worst) - 3} more)" if len(worst) > 3 else "")


# ------------------------------------------------------------------------------------ stream vs encoder
def _norm_codec(c: Any) -> str | None:
    if not c:
        return None
    c = str(c).lower().replace(".", "").replace("-", "")
    return {"h264": "h264", "avc": "h264", "h265": "h265", "hevc": "h265", "jpeg": "jpeg", "mjpeg": "jpeg"}.get(c, c)


def compare_stream_to_config(stream: Any, profile: dict[str, Any], fps_tolerance: float = 0.2, gop_tolerance: float = 0.5) -> list[dict[str, Any]]:
    """Findings (``config_mismatch``, one per disagreeing property) between what the stream probe
    measured (a camcheck.probe.observation.StreamFacts) and an ONVIF profile dict from
    ``OnvifObservation.profiles``. Properties either side does not know are skipped.

    Frame rate and bitrate are limits: the stream may deliver less bitrate (VBR), but a frame rate
    far below or above the limit, or a bitrate well above it, is a mismatch."""
    out: list[dict[str, Any]] = []

    def add(prop: str, configured: Any, measured: Any, text: str) -> None:
        out.append(
            {
                "code": "config_mismatch",
                "severity": ONVIF_FINDINGS["config_mismatch"],
                "message": f"profile {profile.get('token')}: {text}",
                "detail": {"property": prop, "configured": configured, "measured": measured, "profile": profile.get("token")},
            }
        )

    w, h = getattr(stream, "width", None), getattr(stream, "height", None)
    if w and h and profile.get("width") and profile.get("height") and (w, h) != (profile["width"], profile["height"]):
        add("resolution", f"{profile['width']}x{profile['height']}", f"{w}x{h}", f"encoder configured {profile['width']}x{profile['height']}, stream delivers {w}x{h}")
    codec, conf_codec = _norm_codec(getattr(stream, "codec", None)), _norm_codec(profile.get("encoding"))
    if codec and conf_codec and codec != conf_codec:
        add("encoding", profile.get("encoding"), getattr(stream, "codec", None), f"encoder configured {profile.get('encoding')}, stream is {codec}")
    fps, limit = getattr(stream, "fps", None), profile.get("fps_limit")
    if fps and limit and abs(fps - limit) > fps_tolerance * limit:
        add("fps", limit, round(fps, 2), f"frame-rate limit {limit:g} fps, stream delivers {fps:.1f} fps")
    kbps, blimit = getattr(stream, "bitrate_kbps", None), profile.get("bitrate_limit_kbps")
    if kbps and blimit and kbps > blimit * 1.5:
        add("bitrate", blimit, round(kbps), f"bitrate limit {blimit} kbit/s, stream uses {kbps:.0f} kbit/s")
    gop, conf_gop = getattr(stream, "gop_s", None), profile.get("gop_s")
    if gop and conf_gop and abs(gop - conf_gop) > gop_tolerance * conf_gop:
        add("gop", conf_gop, round(gop, 2), f"GOP configured {conf_gop:g} s, stream keyframes every {gop:.1f} s")
    return out


def match_profile(stream_url: str, profiles: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The profile whose stream URI is the probed URL: first compared on host, port and path
    (credentials ignored, default port 554), then on path alone (devices behind NAT advertise
    their LAN address). None when no profile names it: then nothing should be compared."""

    def key(u: str) -> tuple[str, int, str]:
        p = urlsplit(u)
        return ((p.hostname or "").lower(), p.port or 554, p.path.rstrip("/") + ("?" + p.query if p.query else ""))

    try:
        want = key(stream_url)
    except ValueError:
        return None
    keyed: list[tuple[tuple[str, int, str], dict[str, Any]]] = []
    for p in profiles:
        try:
            if p.get("stream_uri"):
                keyed.append((key(p["stream_uri"]), p))
        except ValueError:
            continue
    for k, p in keyed:
        if k == want:
            return p
    by_path = [p for k, p in keyed if k[2] == want[2]]
    return by_path[0] if len(by_path) == 1 else None


# A found sub-stream smaller than this is not used: the picture analysis's thresholds were measured
# at 640x360 on both the simulator's and GStreamer's streams, smaller sizes on the simulator's only
# (tests/data/image-calibration.json); a camera's 352x288 or 320x240 third stream stays unchecked.
SUB_STREAM_MIN_PIXELS = 640 * 360
_VIDEO_ENCODINGS = frozenset({"H264", "H265", "HEVC"})


def sub_stream_url(main_url: str, profiles: list[dict[str, Any]]) -> str | None:
    """The camera's cheaper stream, to check liveness between main-stream checks, when only the
    main stream is registered: among the profiles of the device that serves `main_url` (see
    match_profile), the smallest H.264/H.265 one of at least SUB_STREAM_MIN_PIXELS that is smaller
    than the main stream. Its path (and query) on the main URL's host and port: devices behind NAT
    advertise their LAN address, and a camera serves all its streams on one RTSP port. None when
    there is no such profile."""
    main = match_profile(main_url, profiles)
    if main is None:
        return None

    def pixels(p: dict[str, Any]) -> int:
        w, h = p.get("width"), p.get("height")
        return w * h if isinstance(w, int) and isinstance(h, int) and w > 0 and h > 0 else 0

    main_pixels = pixels(main)
    try:
        base = urlsplit(main_url)
        main_parts = urlsplit(main["stream_uri"])
    except ValueError:
        return None
    best: tuple[int, str] | None = None
    for p in profiles:
        uri = p.get("stream_uri")
        encoding = str(p.get("encoding") or "").upper().replace(".", "")
        if p is main or not uri or "***" in uri or encoding not in _VIDEO_ENCODINGS:
            continue  # (a URI that carried credentials arrives masked and cannot be rebuilt)
        px = pixels(p)
        if not SUB_STREAM_MIN_PIXELS <= px < main_pixels:
            continue
        try:
            parts = urlsplit(uri)
        except ValueError:
            continue
        if parts.scheme.lower() != "rtsp" or (parts.path, parts.query) == (main_parts.path, main_parts.query):
            continue
        if best is None or px < best[0]:
            best = (px, urlunsplit((base.scheme, base.netloc.rpartition("@")[2], parts.path, parts.query, "")))
    return best[1] if best else None


def pick_stream_uri(obs: OnvifObservation) -> str | None:
    """The stream to probe when only the ONVIF device is known: the largest-resolution profile's URI."""
    with_uri = [p for p in obs.profiles if p.get("stream_uri")]
    if not with_uri:
        return None
    return max(with_uri, key=lambda p: (p.get("width") or 0) * (p.get("height") or 0))["stream_uri"]


def config_findings(obs: OnvifObservation, stream_url: str, stream: Any) -> list[dict[str, Any]]:
    """What `camcheck probe URL --onvif HOST` adds: config_mismatch findings between the stream probe's
    StreamFacts and the ONVIF profile serving ``stream_url`` ([] if no profile serves it)."""
    profile = match_profile(stream_url, obs.profiles)
    return [] if profile is None else compare_stream_to_config(stream, profile)
