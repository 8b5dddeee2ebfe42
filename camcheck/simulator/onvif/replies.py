"""The simulated device's SOAP answers, in the shapes of the ONVIF WSDL/XSD.

Device, Media1, Recording and Search replies are validated against the official schemas in the
tests (schema_check.py). Media2 (ver20) is written by hand from the ONVIF Media2 service
specification, because its WSDL is not shipped with the client library.
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass, field

from lxml import etree

from camcheck.simulator.onvif.config import EffectiveDevice, OnvifProfileConfig, OnvifRecordingConfig
from camcheck.simulator.onvif.soap import TDS, TR2, TRC, TRT, TSE, a, duration, iso, parse_iso, t


class OnvifFault(Exception):
    """Answer with a SOAP fault (subcode like ``ter:InvalidArgVal``)."""

    def __init__(self, subcode: str, reason: str) -> None:
        super().__init__(reason)
        self.subcode = subcode
        self.reason = reason


def _child_text(el: etree._Element, *path: str) -> str | None:
    cur: etree._Element | None = el
    for name in path:
        if cur is None:
            return None
        cur = next((c for c in cur if isinstance(c.tag, str) and etree.QName(c).localname == name), None)
    return None if cur is None or cur.text is None else cur.text.strip()


def _children_text(el: etree._Element, name: str) -> list[str]:
    return [c.text.strip() for c in el if isinstance(c.tag, str) and etree.QName(c).localname == name and c.text]


@dataclass
class _Search:
    kind: str  # "events" | "recordings"
    results: list[str]
    served: bool = False


@dataclass
class Replies:
    """All answers of one device. ``base_url`` is http://host:port of the device."""

    dev: EffectiveDevice
    base_url: str
    _searches: dict[str, _Search] = field(default_factory=dict)
    _ids: itertools.count = field(default_factory=itertools.count)

    # ---------------------------------------------------------------- clock and recording model
    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=self.dev.config.clock_offset_s)

    def data_intervals(self, rec: OnvifRecordingConfig, now: dt.datetime) -> list[tuple[dt.datetime, dt.datetime]]:
        """Stretches of stored data, oldest first, on the device's clock."""
        start = now - dt.timedelta(days=rec.retention_days)
        end = now - dt.timedelta(seconds=rec.latest_lag_s)
        if end <= start:
            return []
        cuts = sorted(
            (now - dt.timedelta(hours=g.start_ago_h), now - dt.timedelta(hours=g.start_ago_h - g.duration_h)) for g in rec.gaps
        )
        out: list[tuple[dt.datetime, dt.datetime]] = []
        cur = start
        for g0, g1 in cuts:
            if g1 <= cur or g0 >= end:
                continue
            if g0 > cur:
                out.append((cur, g0))
            cur = max(cur, g1)
        if cur < end:
            out.append((cur, end))
        return out

    def _rec(self, token: str | None) -> OnvifRecordingConfig:
        for rec in self.dev.config.recordings:
            if rec.token == token:
                return rec
        raise OnvifFault("ter:InvalidArgVal", f"no such recording {token!r}")

    def _profile(self, token: str | None) -> OnvifProfileConfig:
        for p in self.dev.reported:
            if p.token == token:
                return p
        raise OnvifFault("ter:InvalidArgVal", f"no such profile {token!r}")

    # ---------------------------------------------------------------- device management
    def GetSystemDateAndTime(self, req: etree._Element) -> str:
        cfg = self.dev.config
        now = self.now()
        local = now + dt.timedelta(hours=7) if cfg.timezone == "ICT-7" else now

        def dtx(v: dt.datetime) -> str:
            return (
                f"<tt:Time><tt:Hour>{v.hour}</tt:Hour><tt:Minute>{v.minute}</tt:Minute><tt:Second>{v.second}</tt:Second></tt:Time>"
                f"<tt:Date><tt:Year>{v.year}</tt:Year><tt:Month>{v.month}</tt:Month><tt:Day>{v.day}</tt:Day></tt:Date>"
            )

        return (
            "<tds:GetSystemDateAndTimeResponse><tds:SystemDateAndTime>"
            f"<tt:DateTimeType>{'NTP' if cfg.ntp else 'Manual'}</tt:DateTimeType><tt:DaylightSavings>false</tt:DaylightSavings>"
            f"<tt:TimeZone><tt:TZ>{t(cfg.timezone)}</tt:TZ></tt:TimeZone>"
            f"<tt:UTCDateTime>{dtx(now)}</tt:UTCDateTime><tt:LocalDateTime>{dtx(local)}</tt:LocalDateTime>"
            "</tds:SystemDateAndTime></tds:GetSystemDateAndTimeResponse>"
        )

    def GetDeviceInformation(self, req: etree._Element) -> str:
        c = self.dev.config
        return (
            f"<tds:GetDeviceInformationResponse><tds:Manufacturer>{t(c.manufacturer)}</tds:Manufacturer>"
            f"<tds:Model>{t(c.model)}</tds:Model><tds:FirmwareVersion>{t(c.firmware)}</tds:FirmwareVersion>"
            f"<tds:SerialNumber>{t(c.serial)}</tds:SerialNumber><tds:HardwareId>{t(c.hardware_id)}</tds:HardwareId>"
            "</tds:GetDeviceInformationResponse>"
        )

    def _services(self) -> list[tuple[str, str, int, int]]:
        out = [(TDS, "device_service", 2, 60), (TRT, "media_service", 2, 60)]
        if self.dev.config.media2:
            out.append((TR2, "media2_service", 2, 60))
        if self.dev.config.profile_g:
            out += [(TRC, "recording_service", 2, 60), (TSE, "search_service", 2, 60)]
        return out

    def GetServices(self, req: etree._Element) -> str:
        items = "".join(
            f"<tds:Service><tds:Namespace>{ns}</tds:Namespace><tds:XAddr>{self.base_url}/onvif/{path}</tds:XAddr>"
            f"<tds:Version><tt:Major>{major}</tt:Major><tt:Minor>{minor}</tt:Minor></tds:Version></tds:Service>"
            for ns, path, major, minor in self._services()
        )
        return f"<tds:GetServicesResponse>{items}</tds:GetServicesResponse>"

    def GetCapabilities(self, req: etree._Element) -> str:
        ext = ""
        if self.dev.config.profile_g:
            ext = (
                "<tt:Extension>"
                f"<tt:Recording><tt:XAddr>{self.base_url}/onvif/recording_service</tt:XAddr><tt:ReceiverSource>false</tt:ReceiverSource>"
                "<tt:MediaProfileSource>true</tt:MediaProfileSource><tt:DynamicRecordings>false</tt:DynamicRecordings>"
                "<tt:DynamicTracks>false</tt:DynamicTracks><tt:MaxStringLength>64</tt:MaxStringLength></tt:Recording>"
                f"<tt:Search><tt:XAddr>{self.base_url}/onvif/search_service</tt:XAddr><tt:MetadataSearch>false</tt:MetadataSearch></tt:Search>"
                "</tt:Extension>"
            )
        return (
            "<tds:GetCapabilitiesResponse><tds:Capabilities>"
            f"<tt:Media><tt:XAddr>{self.base_url}/onvif/media_service</tt:XAddr><tt:StreamingCapabilities>"
            "<tt:RTPMulticast>false</tt:RTPMulticast><tt:RTP_TCP>true</tt:RTP_TCP><tt:RTP_RTSP_TCP>true</tt:RTP_RTSP_TCP>"
            f"</tt:StreamingCapabilities></tt:Media>{ext}"
            "</tds:Capabilities></tds:GetCapabilitiesResponse>"
        )

    # ---------------------------------------------------------------- media 1
    def _max_res(self) -> tuple[int, int]:
        c = self.dev.config
        if c.max_width and c.max_height:
            return c.max_width, c.max_height
        best = max(self.dev.reported, key=lambda p: p.width * p.height)
        return best.width, best.height

    def _vec1(self, p: OnvifProfileConfig, tag: str) -> str:
        return (
            f"<{tag} token={a('vec_' + p.token)}><tt:Name>{t(p.name)}</tt:Name><tt:UseCount>1</tt:UseCount>"
            f"<tt:Encoding>{p.encoding}</tt:Encoding>"
            f"<tt:Resolution><tt:Width>{p.width}</tt:Width><tt:Height>{p.height}</tt:Height></tt:Resolution>"
            "<tt:Quality>5</tt:Quality>"
            f"<tt:RateControl><tt:FrameRateLimit>{int(round(p.fps))}</tt:FrameRateLimit><tt:EncodingInterval>1</tt:EncodingInterval>"
            f"<tt:BitrateLimit>{p.bitrate_kbps}</tt:BitrateLimit></tt:RateControl>"
            + (f"<tt:H264><tt:GovLength>{p.gov_length}</tt:GovLength><tt:H264Profile>Main</tt:H264Profile></tt:H264>" if p.encoding == "H264" else "")
            + "<tt:Multicast><tt:Address><tt:Type>IPv4</tt:Type><tt:IPv4Address>0.0.0.0</tt:IPv4Address></tt:Address>"
            "<tt:Port>0</tt:Port><tt:TTL>1</tt:TTL><tt:AutoStart>false</tt:AutoStart></tt:Multicast>"
            f"<tt:SessionTimeout>PT60S</tt:SessionTimeout></{tag}>"
        )

    def _media1_ok(self, p: OnvifProfileConfig) -> bool:
        # Media1's encoding enumeration has no H.265: such encoders are visible only over Media2.
        return p.encoding in ("H264", "JPEG")

    def _vsc(self, tag: str) -> str:
        w, h = self._max_res()
        return (
            f'<{tag} token="vsc0"><tt:Name>VideoSource</tt:Name><tt:UseCount>{len(self.dev.reported)}</tt:UseCount>'
            f'<tt:SourceToken>vs0</tt:SourceToken><tt:Bounds x="0" y="0" width="{w}" height="{h}"/></{tag}>'
        )

    def _trt_GetProfiles(self, req: etree._Element) -> str:
        out = []
        for p in self.dev.reported:
            vec = self._vec1(p, "tt:VideoEncoderConfiguration") if self._media1_ok(p) else ""
            out.append(
                f'<trt:Profiles token={a(p.token)} fixed="true"><tt:Name>{t(p.name)}</tt:Name>'
                f"{self._vsc('tt:VideoSourceConfiguration')}{vec}</trt:Profiles>"
            )
        return f"<trt:GetProfilesResponse>{''.join(out)}</trt:GetProfilesResponse>"

    def _media_uri(self, uri: str) -> str:
        return (
            f"<tt:Uri>{t(uri)}</tt:Uri><tt:InvalidAfterConnect>false</tt:InvalidAfterConnect>"
            "<tt:InvalidAfterReboot>false</tt:InvalidAfterReboot><tt:Timeout>PT0S</tt:Timeout>"
        )

    def _snapshot(self, p: OnvifProfileConfig) -> str:
        return p.snapshot_uri or f"{self.base_url}/onvif/snapshot/{p.token}.jpg"

    def _trt_GetStreamUri(self, req: etree._Element) -> str:
        p = self._profile(_child_text(req, "ProfileToken"))
        return f"<trt:GetStreamUriResponse><trt:MediaUri>{self._media_uri(p.stream_uri)}</trt:MediaUri></trt:GetStreamUriResponse>"

    def _trt_GetSnapshotUri(self, req: etree._Element) -> str:
        p = self._profile(_child_text(req, "ProfileToken"))
        return f"<trt:GetSnapshotUriResponse><trt:MediaUri>{self._media_uri(self._snapshot(p))}</trt:MediaUri></trt:GetSnapshotUriResponse>"

    def _trt_GetVideoEncoderConfigurations(self, req: etree._Element) -> str:
        items = "".join(self._vec1(p, "trt:Configurations") for p in self.dev.reported if self._media1_ok(p))
        return f"<trt:GetVideoEncoderConfigurationsResponse>{items}</trt:GetVideoEncoderConfigurationsResponse>"

    def _resolutions(self) -> list[tuple[int, int]]:
        w, h = self._max_res()
        res = {(w, h)} | {(p.width, p.height) for p in self.dev.reported}
        return sorted(res, key=lambda r: -r[0] * r[1])

    def _trt_GetVideoEncoderConfigurationOptions(self, req: etree._Element) -> str:
        res = "".join(f"<tt:ResolutionsAvailable><tt:Width>{w}</tt:Width><tt:Height>{h}</tt:Height></tt:ResolutionsAvailable>" for w, h in self._resolutions())
        return (
            "<trt:GetVideoEncoderConfigurationOptionsResponse><trt:Options>"
            "<tt:QualityRange><tt:Min>1</tt:Min><tt:Max>10</tt:Max></tt:QualityRange>"
            f"<tt:H264>{res}<tt:GovLengthRange><tt:Min>1</tt:Min><tt:Max>250</tt:Max></tt:GovLengthRange>"
            "<tt:FrameRateRange><tt:Min>1</tt:Min><tt:Max>30</tt:Max></tt:FrameRateRange>"
            "<tt:EncodingIntervalRange><tt:Min>1</tt:Min><tt:Max>1</tt:Max></tt:EncodingIntervalRange>"
            "<tt:H264ProfilesSupported>Main</tt:H264ProfilesSupported></tt:H264>"
            "</trt:Options></trt:GetVideoEncoderConfigurationOptionsResponse>"
        )

    # ---------------------------------------------------------------- media 2 (by hand, ONVIF Media2 spec)
    def _vec2(self, p: OnvifProfileConfig, tag: str) -> str:
        profile = "Main"
        return (
            f'<{tag} token={a("vec_" + p.token)} GovLength="{p.gov_length}" Profile="{profile}">'
            f"<tt:Name>{t(p.name)}</tt:Name><tt:UseCount>1</tt:UseCount><tt:Encoding>{p.encoding}</tt:Encoding>"
            f"<tt:Resolution><tt:Width>{p.width}</tt:Width><tt:Height>{p.height}</tt:Height></tt:Resolution>"
            f'<tt:RateControl ConstantBitRate="false"><tt:FrameRateLimit>{p.fps:g}</tt:FrameRateLimit>'
            f"<tt:BitrateLimit>{p.bitrate_kbps}</tt:BitrateLimit></tt:RateControl>"
            f"<tt:Quality>5</tt:Quality></{tag}>"
        )

    def _tr2_GetProfiles(self, req: etree._Element) -> str:
        want = _child_text(req, "Token")
        out = []
        for p in self.dev.reported:
            if want and p.token != want:
                continue
            out.append(
                f'<tr2:Profiles token={a(p.token)} fixed="true"><tr2:Name>{t(p.name)}</tr2:Name><tr2:Configurations>'
                f"{self._vsc('tr2:VideoSource')}{self._vec2(p, 'tr2:VideoEncoder')}</tr2:Configurations></tr2:Profiles>"
            )
        return f"<tr2:GetProfilesResponse>{''.join(out)}</tr2:GetProfilesResponse>"

    def _tr2_GetStreamUri(self, req: etree._Element) -> str:
        p = self._profile(_child_text(req, "ProfileToken"))
        return f"<tr2:GetStreamUriResponse><tr2:Uri>{t(p.stream_uri)}</tr2:Uri></tr2:GetStreamUriResponse>"

    def _tr2_GetSnapshotUri(self, req: etree._Element) -> str:
        p = self._profile(_child_text(req, "ProfileToken"))
        return f"<tr2:GetSnapshotUriResponse><tr2:Uri>{t(self._snapshot(p))}</tr2:Uri></tr2:GetSnapshotUriResponse>"

    def _tr2_GetVideoEncoderConfigurations(self, req: etree._Element) -> str:
        items = "".join(self._vec2(p, "tr2:Configurations") for p in self.dev.reported)
        return f"<tr2:GetVideoEncoderConfigurationsResponse>{items}</tr2:GetVideoEncoderConfigurationsResponse>"

    def _tr2_GetVideoEncoderConfigurationOptions(self, req: etree._Element) -> str:
        res = "".join(f"<tt:ResolutionsAvailable><tt:Width>{w}</tt:Width><tt:Height>{h}</tt:Height></tt:ResolutionsAvailable>" for w, h in self._resolutions())
        opts = "".join(
            f'<tr2:Options GovLengthRange="1 250" FrameRatesSupported="30 25 15 10 5 1" ProfilesSupported="Main">'
            f"<tt:Encoding>{enc}</tt:Encoding><tt:QualityRange><tt:Min>1</tt:Min><tt:Max>10</tt:Max></tt:QualityRange>"
            f"{res}<tt:BitrateRange><tt:Min>64</tt:Min><tt:Max>16384</tt:Max></tt:BitrateRange></tr2:Options>"
            for enc in ("H264", "H265")
        )
        return f"<tr2:GetVideoEncoderConfigurationOptionsResponse>{opts}</tr2:GetVideoEncoderConfigurationOptionsResponse>"

    # ---------------------------------------------------------------- recording (Profile G)
    def _source(self, rec: OnvifRecordingConfig) -> str:
        return (
            f"<tt:SourceId>{t(self.base_url + '/source/' + rec.source_id)}</tt:SourceId><tt:Name>{t(rec.source_name)}</tt:Name>"
            f"<tt:Location>simulated</tt:Location><tt:Description>{t(rec.source_name)}</tt:Description>"
            f"<tt:Address>{t(self.base_url + '/source/' + rec.source_id)}</tt:Address>"
        )

    def _rec_config(self, rec: OnvifRecordingConfig, tag: str) -> str:
        return (
            f"<{tag}><tt:Source>{self._source(rec)}</tt:Source><tt:Content>{t(rec.source_name)} recording</tt:Content>"
            f"<tt:MaximumRetentionTime>{duration(rec.max_retention_days * 86400)}</tt:MaximumRetentionTime></{tag}>"
        )

    def GetRecordings(self, req: etree._Element) -> str:
        items = "".join(
            f"<trc:RecordingItem><tt:RecordingToken>{t(r.token)}</tt:RecordingToken>{self._rec_config(r, 'tt:Configuration')}"
            f"<tt:Tracks><tt:Track><tt:TrackToken>VIDEO001</tt:TrackToken><tt:Configuration><tt:TrackType>Video</tt:TrackType>"
            f"<tt:Description>video</tt:Description></tt:Configuration></tt:Track></tt:Tracks></trc:RecordingItem>"
            for r in self.dev.config.recordings
        )
        return f"<trc:GetRecordingsResponse>{items}</trc:GetRecordingsResponse>"

    def GetRecordingConfiguration(self, req: etree._Element) -> str:
        rec = self._rec(_child_text(req, "RecordingToken"))
        return f"<trc:GetRecordingConfigurationResponse>{self._rec_config(rec, 'trc:RecordingConfiguration')}</trc:GetRecordingConfigurationResponse>"

    def _job_config(self, rec: OnvifRecordingConfig, tag: str) -> str:
        return (
            f"<{tag}><tt:RecordingToken>{t(rec.token)}</tt:RecordingToken><tt:Mode>{'Active' if rec.job_active else 'Idle'}</tt:Mode>"
            f"<tt:Priority>1</tt:Priority></{tag}>"
        )

    def GetRecordingJobs(self, req: etree._Element) -> str:
        items = "".join(
            f"<trc:JobItem><tt:JobToken>job_{t(r.token)}</tt:JobToken>{self._job_config(r, 'tt:JobConfiguration')}</trc:JobItem>"
            for r in self.dev.config.recordings
        )
        return f"<trc:GetRecordingJobsResponse>{items}</trc:GetRecordingJobsResponse>"

    def GetRecordingJobState(self, req: etree._Element) -> str:
        job = _child_text(req, "JobToken") or ""
        rec = self._rec(job.removeprefix("job_"))
        return (
            f"<trc:GetRecordingJobStateResponse><trc:State><tt:RecordingToken>{t(rec.token)}</tt:RecordingToken>"
            f"<tt:State>{'Active' if rec.job_active else 'Idle'}</tt:State></trc:State></trc:GetRecordingJobStateResponse>"
        )

    # ---------------------------------------------------------------- search (Profile G)
    def _rec_info(self, rec: OnvifRecordingConfig, tag: str, now: dt.datetime) -> str:
        iv = self.data_intervals(rec, now)
        times = f"<tt:EarliestRecording>{iso(iv[0][0])}</tt:EarliestRecording><tt:LatestRecording>{iso(iv[-1][1])}</tt:LatestRecording>" if iv else ""
        track = (
            f"<tt:Track><tt:TrackToken>VIDEO001</tt:TrackToken><tt:TrackType>Video</tt:TrackType><tt:Description>video</tt:Description>"
            f"<tt:DataFrom>{iso(iv[0][0])}</tt:DataFrom><tt:DataTo>{iso(iv[-1][1])}</tt:DataTo></tt:Track>"
            if iv
            else ""
        )
        return (
            f"<{tag}><tt:RecordingToken>{t(rec.token)}</tt:RecordingToken><tt:Source>{self._source(rec)}</tt:Source>{times}"
            f"<tt:Content>{t(rec.source_name)} recording</tt:Content>{track}"
            f"<tt:RecordingStatus>{'Recording' if rec.job_active else 'Stopped'}</tt:RecordingStatus></{tag}>"
        )

    def GetRecordingSummary(self, req: etree._Element) -> str:
        now = self.now()
        ivs = [iv for r in self.dev.config.recordings for iv in self.data_intervals(r, now)]
        start = min((i[0] for i in ivs), default=now)
        end = max((i[1] for i in ivs), default=now)
        return (
            f"<tse:GetRecordingSummaryResponse><tse:Summary><tt:DataFrom>{iso(start)}</tt:DataFrom><tt:DataUntil>{iso(end)}</tt:DataUntil>"
            f"<tt:NumberRecordings>{len(self.dev.config.recordings)}</tt:NumberRecordings></tse:Summary></tse:GetRecordingSummaryResponse>"
        )

    def GetRecordingInformation(self, req: etree._Element) -> str:
        rec = self._rec(_child_text(req, "RecordingToken"))
        return f"<tse:GetRecordingInformationResponse>{self._rec_info(rec, 'tse:RecordingInformation', self.now())}</tse:GetRecordingInformationResponse>"

    def GetMediaAttributes(self, req: etree._Element) -> str:
        now = self.now()
        out = []
        for token in _children_text(req, "RecordingTokens"):
            rec = self._rec(token)
            iv = self.data_intervals(rec, now)
            if not iv:
                continue
            out.append(
                f"<tse:MediaAttributes><tt:RecordingToken>{t(rec.token)}</tt:RecordingToken><tt:TrackAttributes>"
                f"<tt:TrackInformation><tt:TrackToken>VIDEO001</tt:TrackToken><tt:TrackType>Video</tt:TrackType>"
                f"<tt:Description>video</tt:Description><tt:DataFrom>{iso(iv[0][0])}</tt:DataFrom><tt:DataTo>{iso(iv[-1][1])}</tt:DataTo>"
                f"</tt:TrackInformation><tt:VideoAttributes><tt:Bitrate>{rec.bitrate_kbps}</tt:Bitrate><tt:Width>{rec.width}</tt:Width>"
                f"<tt:Height>{rec.height}</tt:Height><tt:Encoding>{'H264' if rec.encoding == 'H265' else rec.encoding}</tt:Encoding>"
                f"<tt:Framerate>{rec.fps:g}</tt:Framerate></tt:VideoAttributes></tt:TrackAttributes>"
                f"<tt:From>{iso(iv[0][0])}</tt:From><tt:Until>{iso(iv[-1][1])}</tt:Until></tse:MediaAttributes>"
            )
        return f"<tse:GetMediaAttributesResponse>{''.join(out)}</tse:GetMediaAttributesResponse>"

    def _new_search(self, kind: str, results: list[str]) -> str:
        token = f"search{next(self._ids)}"
        self._searches[token] = _Search(kind, results)
        while len(self._searches) > 64:  # bounded: abandoned searches expire
            self._searches.pop(next(iter(self._searches)))
        return token

    def FindRecordings(self, req: etree._Element) -> str:
        now = self.now()
        wanted = set(_children_text(req.find(f"{{{TSE}}}Scope"), "IncludedRecordings")) if req.find(f"{{{TSE}}}Scope") is not None else set()
        infos = [self._rec_info(r, "tt:RecordingInformation", now) for r in self.dev.config.recordings if not wanted or r.token in wanted]
        return f"<tse:FindRecordingsResponse><tse:SearchToken>{self._new_search('recordings', infos)}</tse:SearchToken></tse:FindRecordingsResponse>"

    def FindEvents(self, req: etree._Element) -> str:
        now = self.now()
        start_text, end_text = _child_text(req, "StartPoint"), _child_text(req, "EndPoint")
        if not start_text:
            raise OnvifFault("ter:InvalidArgVal", "StartPoint is required")
        try:
            start = parse_iso(start_text)
            end = parse_iso(end_text) if end_text else now
        except ValueError:
            raise OnvifFault("ter:InvalidArgVal", "StartPoint/EndPoint are not xs:dateTime") from None
        include_start = (_child_text(req, "IncludeStartState") or "false").lower() == "true"
        scope = req.find(f"{{{TSE}}}Scope")
        wanted = set(_children_text(scope, "IncludedRecordings")) if scope is not None else set()
        lo, hi = min(start, end), max(start, end)
        events: list[tuple[dt.datetime, str]] = []
        for rec in self.dev.config.recordings:
            if wanted and rec.token not in wanted:
                continue
            ivs = self.data_intervals(rec, now)
            if include_start:
                present = any(a0 <= lo < a1 for a0, a1 in ivs)
                events.append((lo, self._history_event(rec, lo, present, True)))
            for i, (a0, a1) in enumerate(ivs):
                if lo < a0 <= hi:
                    events.append((a0, self._history_event(rec, a0, True, False)))
                if lo < a1 <= hi and (i < len(ivs) - 1 or not rec.job_active):  # live edge: no end event
                    events.append((a1, self._history_event(rec, a1, False, False)))
        events.sort(key=lambda e: e[0], reverse=end < start)  # EndPoint before StartPoint = backwards search
        return f"<tse:FindEventsResponse><tse:SearchToken>{self._new_search('events', [e for _, e in events])}</tse:SearchToken></tse:FindEventsResponse>"

    def _history_event(self, rec: OnvifRecordingConfig, when: dt.datetime, present: bool, start_state: bool) -> str:
        return (
            f"<tt:Result><tt:RecordingToken>{t(rec.token)}</tt:RecordingToken><tt:TrackToken>VIDEO001</tt:TrackToken>"
            f"<tt:Time>{iso(when)}</tt:Time><tt:Event>"
            '<wsnt:Topic Dialect="http://www.onvif.org/ver10/tev/topicExpression/ConcreteSet">tns1:RecordingHistory/Track/State</wsnt:Topic>'
            f'<wsnt:Message><tt:Message UtcTime="{iso(when)}" PropertyOperation="{"Initialized" if start_state else "Changed"}">'
            f'<tt:Source><tt:SimpleItem Name="RecordingToken" Value={a(rec.token)}/><tt:SimpleItem Name="Track" Value="VIDEO001"/></tt:Source>'
            f'<tt:Data><tt:SimpleItem Name="IsDataPresent" Value="{"true" if present else "false"}"/></tt:Data>'
            f"</tt:Message></wsnt:Message></tt:Event><tt:StartStateEvent>{'true' if start_state else 'false'}</tt:StartStateEvent></tt:Result>"
        )

    def _results(self, req: etree._Element, kind: str) -> tuple[_Search, list[str]]:
        token = _child_text(req, "SearchToken")
        search = self._searches.get(token or "")
        if search is None or search.kind != kind:
            raise OnvifFault("ter:InvalidArgVal", f"unknown search token {token!r}")
        max_results = int(_child_text(req, "MaxResults") or 1000)
        chunk, search.results = search.results[:max_results], search.results[max_results:]
        return search, chunk

    def GetEventSearchResults(self, req: etree._Element) -> str:
        search, chunk = self._results(req, "events")
        state = "Completed" if not search.results else "Searching"
        return f"<tse:GetEventSearchResultsResponse><tse:ResultList><tt:SearchState>{state}</tt:SearchState>{''.join(chunk)}</tse:ResultList></tse:GetEventSearchResultsResponse>"

    def GetRecordingSearchResults(self, req: etree._Element) -> str:
        search, chunk = self._results(req, "recordings")
        state = "Completed" if not search.results else "Searching"
        return f"<tse:GetRecordingSearchResultsResponse><tse:ResultList><tt:SearchState>{state}</tt:SearchState>{''.join(chunk)}</tse:ResultList></tse:GetRecordingSearchResultsResponse>"

    def EndSearch(self, req: etree._Element) -> str:
        self._searches.pop(_child_text(req, "SearchToken") or "", None)
        return f"<tse:EndSearchResponse><tse:Endpoint>{iso(self.now())}</tse:Endpoint></tse:EndSearchResponse>"

    # ---------------------------------------------------------------- dispatch
    def handler(self, ns: str, op: str):
        """The method answering operation ``op`` of service namespace ``ns`` (None: not offered)."""
        cfg = self.dev.config
        if ns == TDS and op in ("GetSystemDateAndTime", "GetDeviceInformation", "GetServices", "GetCapabilities"):
            return getattr(self, op)
        if ns == TRT:
            return getattr(self, f"_trt_{op}", None)
        if ns == TR2 and cfg.media2:
            return getattr(self, f"_tr2_{op}", None)
        if ns == TRC and cfg.profile_g and op in ("GetRecordings", "GetRecordingConfiguration", "GetRecordingJobs", "GetRecordingJobState"):
            return getattr(self, op)
        if ns == TSE and cfg.profile_g and op in (
            "GetRecordingSummary", "GetRecordingInformation", "GetMediaAttributes", "FindRecordings",
            "GetRecordingSearchResults", "FindEvents", "GetEventSearchResults", "EndSearch",
        ):
            return getattr(self, op)
        return None


# Operations ONVIF lets anyone call before authenticating (access class PRE_AUTH).
PRE_AUTH: frozenset[tuple[str, str]] = frozenset(
    {(TDS, "GetSystemDateAndTime"), (TDS, "GetServices"), (TDS, "GetCapabilities")}
)
