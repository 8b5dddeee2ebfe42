"""Reading an ONVIF device address from the command line or the registry (no heavy imports)."""

from __future__ import annotations


def parse_host_port(text: str, default_port: int = 80) -> tuple[str, int]:
    """HOST, HOST:PORT, [IPv6]:PORT or a bare IPv6 address; ValueError with a clear message."""
    text = text.strip()
    if not text:
        raise ValueError("empty host")
    if text.startswith("["):
        host, sep, rest = text[1:].partition("]")
        if not sep:
            raise ValueError(f"unclosed '[' in {text!r}")
        if rest and not rest.startswith(":"):
            raise ValueError(f"unexpected {rest!r} after ']' in {text!r}")
        port_text = rest[1:]
    elif text.count(":") == 1:
        host, port_text = text.split(":")
    else:
        host, port_text = text, ""
    if "/" in host or "@" in host or not host:
        raise ValueError(f"{text!r} is not HOST[:PORT] (no scheme, path or credentials)")
    if port_text:
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise ValueError(f"port {port_text!r} is not 1..65535")
        return host, int(port_text)
    return host, default_port
