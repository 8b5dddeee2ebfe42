#!/usr/bin/python3
"""A GStreamer RTSP server (Debian's gst-rtsp-server) serving the mounts described in a JSON file.

Run with Debian's /usr/bin/python3 (the gi bindings live there, not in the venv):
    /usr/bin/python3 tests/peers/gst_rtsp_server.py CONFIG.json

CONFIG: {"port": 8554, "mounts": [{"path": "/live", "launch": "( videotestsrc ... ! rtph264pay name=pay0 pt=96 )",
          "protocols": "tcp"|"udp"|"any", "shared": false,
          "auth": {"user": "u", "password": "p", "digest": true}}],
         "tls_pem": "/path/cert-and-key.pem"}
A server with any "auth" mount requires credentials on every mount (see main()). With "tls_pem"
the server speaks RTSP over TLS only (rtsps://), with that certificate chain and key.
Prints "READY <port>" on stdout once listening. Binds 127.0.0.1 only.
"""
import json
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtsp", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import Gio, GLib, Gst, GstRtsp, GstRtspServer  # noqa: E402

PROTOCOLS = {
    "tcp": GstRtsp.RTSPLowerTrans.TCP,
    "udp": GstRtsp.RTSPLowerTrans.UDP,
    "any": GstRtsp.RTSPLowerTrans.TCP | GstRtsp.RTSPLowerTrans.UDP,
}


def main() -> None:
    cfg = json.load(open(sys.argv[1]))
    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(str(cfg.get("port", 0)))
    mounts = server.get_mount_points()
    # gst-rtsp-server answers 404 (not 401) to a client that holds a default token without the
    # mount's permission, so clients never retry with credentials. Hence: a server with any
    # authenticated mount authenticates every mount; run a second server for open mounts.
    auth = None
    tls = cfg.get("tls_pem")
    open_server = not any(m.get("auth") for m in cfg["mounts"])
    if tls or not open_server:
        auth = GstRtspServer.RTSPAuth()
        server.set_auth(auth)
    if tls:
        # TLS lives on the RTSPAuth object. An open server's mounts let an anonymous default token
        # in (with authenticated mounts that token would earn the 404 above instead of a 401).
        auth.set_tls_certificate(Gio.TlsCertificate.new_from_pem(open(tls).read(), -1))
        if open_server:
            auth.set_default_token(_token("anonymous"))
    use_digest = use_basic = False
    for m in cfg["mounts"]:
        factory = GstRtspServer.RTSPMediaFactory()
        factory.set_launch(m["launch"])
        factory.set_shared(bool(m.get("shared", False)))
        factory.set_protocols(PROTOCOLS[m.get("protocols", "tcp")])
        a = m.get("auth")
        role = a["user"] if a else ("anonymous" if tls and open_server else None)
        if a:
            if a.get("digest", True):
                use_digest = True
                auth.add_digest(a["user"], a["password"], _token(a["user"]))
            else:
                use_basic = True
                auth.add_basic(GstRtspServer.RTSPAuth.make_basic(a["user"], a["password"]), _token(a["user"]))
        if role is not None:
            permissions = GstRtspServer.RTSPPermissions()
            permissions.add_permission_for_role(role, "media.factory.access", True)
            permissions.add_permission_for_role(role, "media.factory.construct", True)
            factory.set_permissions(permissions)
        mounts.add_factory(m["path"], factory)
    if auth is not None and (use_digest or use_basic):
        # Server-wide: one challenge for all mounts (the binding takes a single enum value).
        auth.set_supported_methods(GstRtsp.RTSPAuthMethod.DIGEST if use_digest else GstRtsp.RTSPAuthMethod.BASIC)
        if use_digest and use_basic:
            print("WARNING: basic and digest mounts on one server: only digest is offered", file=sys.stderr)
    if server.attach(None) == 0:
        print("FAILED to attach", flush=True)
        sys.exit(1)
    print(f"READY {server.get_bound_port()}", flush=True)
    GLib.MainLoop().run()


def _token(user: str):
    token = GstRtspServer.RTSPToken()
    token.set_string("media.factory.role", user)
    return token


if __name__ == "__main__":
    main()
