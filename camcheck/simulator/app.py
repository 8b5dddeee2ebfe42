"""A whole running simulator: RTSP server + control endpoint, and the table of what it serves."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from camcheck.secrets import mask_url
from camcheck.simulator.control import ControlServer
from camcheck.simulator.faults import delivered_spec
from camcheck.simulator.fleet import FleetConfig
from camcheck.simulator.media import ClipSpec
from camcheck.simulator.server import STREAMS, RtspServer

CONTROL_HOST = "127.0.0.1"  # the control endpoint never leaves loopback


class Simulator:
    def __init__(self, config: FleetConfig, cache_dir: str | Path | None = None) -> None:
        self.config = config
        self.rtsp = RtspServer(config, cache_dir)
        self.control: ControlServer | None = None
        self.onvif = None  # OnvifServers when the fleet sets onvif_port_base

    async def start(self, progress: Callable[[int, int, ClipSpec], None] | None = None) -> None:
        await self.rtsp.prepare(progress)
        await self.rtsp.start()
        try:
            from camcheck.simulator.onvif.fleet_glue import start_fleet_onvif

            self.onvif = await start_fleet_onvif(
                self.config, rtsp_host=self.rtsp.host, rtsp_port=self.rtsp.port,
                discovery_port=self.config.discovery_port,
            )
            if self.config.control_port is not None:
                self.control = ControlServer(self.rtsp, CONTROL_HOST, self.config.control_port, self.onvif_devices)
                await self.control.start()
        except BaseException:
            if self.onvif is not None:
                await self.onvif.close()
            await self.rtsp.stop()
            raise

    async def stop(self) -> None:
        if self.control is not None:
            await self.control.stop()
        if self.onvif is not None:
            await self.onvif.close()
        await self.rtsp.stop()

    @property
    def onvif_devices(self) -> dict[str, object]:
        """Camera id -> its simulated ONVIF device (devices are named after their camera)."""
        if self.onvif is None:
            return {}
        return {d.config.name: d for d in self.onvif.devices}

    @property
    def control_url(self) -> str | None:
        return self.control.url if self.control else None

    def table(self, limit: int | None = None) -> str:
        """One line per camera: id, masked URLs, codec/resolution/fps of main and sub, fault."""
        rows = [("ID", "MAIN URL", "SUB URL", "MAIN", "SUB", "AUTH", "FAULT")]
        cams = list(self.rtsp.cameras.values())
        for cam in cams[:limit] if limit else cams:
            cells = []
            for s in STREAMS:
                spec = cam.cfg.stream(s)
                cells.append(f"{spec.codec} {spec.width}x{spec.height}@{spec.fps:g}")
            fault = cam.fault.fault
            if fault in ("low_fps", "wrong_resolution"):
                w, h, f = delivered_spec(cam.cfg.main, cam.fault)
                fault += f" (sends {w}x{h}@{f:g})"
            rows.append((
                cam.cfg.id,
                mask_url(self.rtsp.url(cam.cfg.id, "main", credentials=True)),
                mask_url(self.rtsp.url(cam.cfg.id, "sub", credentials=True)),
                cells[0], cells[1], cam.cfg.auth, fault,
            ))
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
        if limit and len(cams) > limit:
            lines.append(f"... and {len(cams) - limit} more cameras (GET {self.control_url}/cameras lists all)")
        return "\n".join(lines)
