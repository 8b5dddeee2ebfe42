"""Media2 (ONVIF ver20 media service) by hand: H.265 encoders are visible only here.

onvif-zeep-async ships no Media2 WSDL, so the few requests camcheck needs are built and their
replies read directly, following the ONVIF Media2 service specification (tr2 namespace, with
tt:VideoEncoder2Configuration in the replies).
"""

from __future__ import annotations

from typing import Any

from lxml import etree

from camcheck.probe.onvif_client import OnvifClient, OnvifReplyError

TR2 = "http://www.onvif.org/ver20/media/wsdl"
TT = "http://www.onvif.org/ver10/schema"


def _el(tag: str, *children: etree._Element, text: str | None = None) -> etree._Element:
    e = etree.Element(f"{{{TR2}}}{tag}", nsmap={"tr2": TR2})
    if text is not None:
        e.text = text
    for c in children:
        e.append(c)
    return e


def _local(el: etree._Element, name: str) -> list[etree._Element]:
    return [c for c in el if isinstance(c.tag, str) and etree.QName(c).localname == name]


def _text(el: etree._Element | None, *path: str) -> str | None:
    cur = el
    for name in path:
        if cur is None:
            return None
        found = _local(cur, name)
        cur = found[0] if found else None
    return None if cur is None or cur.text is None else cur.text.strip()


def _num(value: str | None, kind: type = float) -> Any:
    if value is None or value == "":
        return None
    try:
        return kind(float(value)) if kind is int else kind(value)
    except ValueError:
        raise OnvifReplyError(f"not a number: {value[:40]!r}") from None


def parse_encoder2(vec: etree._Element) -> dict[str, Any]:
    rc = _local(vec, "RateControl")
    return {
        "encoding": _text(vec, "Encoding"),
        "width": _num(_text(vec, "Resolution", "Width"), int),
        "height": _num(_text(vec, "Resolution", "Height"), int),
        "fps_limit": _num(_text(rc[0], "FrameRateLimit")) if rc else None,
        "bitrate_limit_kbps": _num(_text(rc[0], "BitrateLimit"), int) if rc else None,
        "gov_length": _num(vec.get("GovLength"), int),
        "encoder_profile": vec.get("Profile"),
    }


async def get_profiles(client: OnvifClient, xaddr: str) -> list[dict[str, Any]]:
    reply = await client.raw_call(xaddr, _el("GetProfiles", _el("Type", text="All")))
    out = []
    for prof in _local(reply, "Profiles"):
        token = prof.get("token")
        if not token:
            raise OnvifReplyError("Media2 profile without token")
        confs = _local(prof, "Configurations")
        vec = _local(confs[0], "VideoEncoder") if confs else []
        entry: dict[str, Any] = {"token": token, "name": _text(prof, "Name")}
        entry.update(parse_encoder2(vec[0]) if vec else {"encoding": None})
        out.append(entry)
    return out


async def get_uri(client: OnvifClient, xaddr: str, op: str, token: str) -> str | None:
    parts = [_el("Protocol", text="RTSP")] if op == "GetStreamUri" else []
    reply = await client.raw_call(xaddr, _el(op, *parts, _el("ProfileToken", text=token)))
    return _text(reply, "Uri")


async def get_max_resolution(client: OnvifClient, xaddr: str) -> tuple[int, int] | None:
    reply = await client.raw_call(xaddr, _el("GetVideoEncoderConfigurationOptions"))
    best: tuple[int, int] | None = None
    for opt in _local(reply, "Options"):
        for r in _local(opt, "ResolutionsAvailable"):
            w, h = _num(_text(r, "Width"), int), _num(_text(r, "Height"), int)
            if w and h and (best is None or w * h > best[0] * best[1]):
                best = (w, h)
    return best
