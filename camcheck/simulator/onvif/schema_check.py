"""Validate the simulator's SOAP replies against the official ONVIF schemas.

The schemas are the ONVIF ver10 WSDL/XSD files that onvif-zeep-async ships. The message
schemas live inside each WSDL's <types>; they are lifted out into standalone XSD files (with
their imports made absolute) and tied together by one small importing schema, so lxml can
validate any reply body element by its qualified name. Media2 (ver20) is not shipped with the
library, so its replies cannot be checked here.
"""

from __future__ import annotations

import functools
import tempfile
from pathlib import Path

from lxml import etree

XS = "http://www.w3.org/2001/XMLSchema"
WSDL = "http://schemas.xmlsoap.org/wsdl/"
# WSDLs whose embedded message schemas the simulator answers with.
SERVICE_WSDLS: tuple[str, ...] = ("devicemgmt.wsdl", "media.wsdl", "recording.wsdl", "search.wsdl")
# Namespaces the checker can validate (others, e.g. Media2, are reported as unchecked).
CHECKED_NAMESPACES: frozenset[str] = frozenset(
    {
        "http://www.onvif.org/ver10/device/wsdl",
        "http://www.onvif.org/ver10/media/wsdl",
        "http://www.onvif.org/ver10/recording/wsdl",
        "http://www.onvif.org/ver10/search/wsdl",
    }
)


def wsdl_dir() -> Path:
    import importlib.util

    spec = importlib.util.find_spec("onvif")
    if spec is None or spec.origin is None:
        raise RuntimeError("onvif-zeep-async is not installed; its WSDLs are needed")
    return Path(spec.origin).parent / "wsdl"


@functools.lru_cache(maxsize=1)
def _schema() -> etree.XMLSchema:
    src = wsdl_dir()
    out = Path(tempfile.mkdtemp(prefix="camcheck-onvif-xsd-"))
    imports: list[tuple[str, str]] = [("http://www.onvif.org/ver10/schema", (src / "onvif.xsd").as_uri())]
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    for name in SERVICE_WSDLS:
        doc = etree.parse(str(src / name), parser)
        schema = doc.find(f"{{{WSDL}}}types/{{{XS}}}schema")
        if schema is None:
            raise RuntimeError(f"{name} has no embedded schema")
        schema = etree.fromstring(etree.tostring(schema))  # detached copy keeps in-scope namespaces
        for imp in schema.iter(f"{{{XS}}}import", f"{{{XS}}}include"):
            loc = imp.get("schemaLocation")
            if loc and "://" not in loc:
                imp.set("schemaLocation", (src / loc).resolve().as_uri())
        target = out / (name.removesuffix(".wsdl") + ".xsd")
        target.write_bytes(etree.tostring(schema, xml_declaration=True, encoding="utf-8"))
        imports.append((schema.get("targetNamespace"), target.as_uri()))
    root = etree.Element(f"{{{XS}}}schema", nsmap={"xs": XS})
    for ns, loc in imports:
        etree.SubElement(root, f"{{{XS}}}import", namespace=ns, schemaLocation=loc)
    (out / "all.xsd").write_bytes(etree.tostring(root))
    return etree.XMLSchema(etree.parse(str(out / "all.xsd"), parser))


def validate_body_element(element: etree._Element) -> list[str]:
    """Errors of one SOAP body child against the official schema; [] when it is valid.

    Raises LookupError for a namespace the shipped schemas do not cover (Media2)."""
    ns = etree.QName(element).namespace
    if ns not in CHECKED_NAMESPACES:
        raise LookupError(f"no official schema available for namespace {ns}")
    schema = _schema()
    doc = etree.ElementTree(etree.fromstring(etree.tostring(element)))
    if schema.validate(doc):
        return []
    return [f"line {e.line}: {e.message}" for e in schema.error_log]


def validate_envelope(xml: bytes) -> list[str]:
    """Validate every body child of a SOAP 1.2 envelope (a Fault is validated as nothing)."""
    env = etree.fromstring(xml, etree.XMLParser(resolve_entities=False, no_network=True))
    body = env.find("{http://www.w3.org/2003/05/soap-envelope}Body")
    if body is None:
        return ["no SOAP 1.2 Body"]
    errors: list[str] = []
    for child in body:
        if etree.QName(child).localname == "Fault":
            continue
        errors.extend(validate_body_element(child))
    return errors
