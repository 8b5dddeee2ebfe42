"""HTTP control endpoint of the simulator (loopback by default), JSON in and out.

    GET  /health                    {"status": "ok", "rtsp_port": 8554, "cameras": 200}
    GET  /stats                     sessions, frames sent/dropped, channel lateness
    GET  /cameras                   every camera: id, name, fault, sessions, masked URLs, streams
    GET  /cameras/<id>              one camera
    PUT  /cameras/<id>/fault        body {"fault": "stall_after", "after_s": 3} -> the camera afterwards
    GET  /cameras/<id>/onvif        the camera's ONVIF device: {"port": 8081, "faults": [...]} (404 without ONVIF)
    PUT  /cameras/<id>/onvif        body {"faults": ["not_recording"]} -> the device afterwards ([] = healthy)

Bad input gets 400 with {"error": ...}; an unknown camera 404.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web
from pydantic import ValidationError

from camcheck.simulator.fleet import FaultSpec
from camcheck.simulator.server import RtspServer

SERVER_KEY = web.AppKey("rtsp_server", RtspServer)
ONVIF_KEY = web.AppKey("onvif_devices", dict)


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


async def _health(request: web.Request) -> web.Response:
    srv = request.app[SERVER_KEY]
    return web.json_response({"status": "ok", "rtsp_port": srv.port, "cameras": len(srv.cameras)})


async def _stats(request: web.Request) -> web.Response:
    return web.json_response(request.app[SERVER_KEY].stats())


async def _cameras(request: web.Request) -> web.Response:
    srv = request.app[SERVER_KEY]
    return web.json_response([srv.camera_info(cid) for cid in srv.cameras])


async def _camera(request: web.Request) -> web.Response:
    srv = request.app[SERVER_KEY]
    cid = request.match_info["id"]
    if cid not in srv.cameras:
        return _error(404, f"no camera {cid!r}")
    return web.json_response(srv.camera_info(cid))


async def _set_fault(request: web.Request) -> web.Response:
    srv = request.app[SERVER_KEY]
    cid = request.match_info["id"]
    if cid not in srv.cameras:
        return _error(404, f"no camera {cid!r}")
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return _error(400, "body must be JSON, e.g. {\"fault\": \"stall_after\", \"after_s\": 3}")
    try:
        fault = FaultSpec.model_validate(body)
    except ValidationError as exc:
        msgs = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in exc.errors())
        return _error(400, msgs)
    await srv.set_fault(cid, fault)
    return web.json_response(srv.camera_info(cid))


def _onvif_info(dev: Any) -> dict[str, Any]:
    return {"host": dev.host, "port": dev.port, "faults": list(dev.config.faults)}


async def _onvif(request: web.Request) -> web.Response:
    dev = request.app[ONVIF_KEY].get(request.match_info["id"])
    if dev is None:
        return _error(404, f"camera {request.match_info['id']!r} has no ONVIF device")
    if request.method == "GET":
        return web.json_response(_onvif_info(dev))
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return _error(400, 'body must be JSON, e.g. {"faults": ["not_recording"]}')
    faults = body.get("faults") if isinstance(body, dict) else None
    if not isinstance(faults, list) or not all(isinstance(f, str) for f in faults):
        return _error(400, "faults must be a list of ONVIF fault names")
    try:
        dev.set_faults(faults)
    except (ValidationError, ValueError) as exc:
        return _error(400, str(exc).splitlines()[0])
    return web.json_response(_onvif_info(dev))


def make_app(server: RtspServer, onvif_devices: dict[str, Any] | None = None) -> web.Application:
    app = web.Application()
    app[SERVER_KEY] = server
    app[ONVIF_KEY] = onvif_devices or {}
    app.router.add_get("/health", _health)
    app.router.add_get("/stats", _stats)
    app.router.add_get("/cameras", _cameras)
    app.router.add_get("/cameras/{id}", _camera)
    app.router.add_put("/cameras/{id}/fault", _set_fault)
    app.router.add_get("/cameras/{id}/onvif", _onvif)
    app.router.add_put("/cameras/{id}/onvif", _onvif)
    return app


class ControlServer:
    """The control endpoint bound next to an RtspServer; ``port`` is known after ``start``."""

    def __init__(self, server: RtspServer, host: str, port: int, onvif_devices: dict[str, Any] | None = None) -> None:
        self.server = server
        self.onvif_devices = onvif_devices
        self.host = host
        self.port = port
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        self._runner = web.AppRunner(make_app(self.server, self.onvif_devices), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        if self.port == 0:
            sock = site._server.sockets[0]  # type: ignore[union-attr]  # aiohttp exposes no public getter
            self.port = sock.getsockname()[1]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"
