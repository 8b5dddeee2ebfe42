"""ONVIF probe figures: WSDL warm-up shared vs per camera, and N concurrent probes, beside the
library's own ONVIFCamera path as the baseline. Each variant runs in a fresh process (cold caches).

    .venv/bin/python bench/onvif_bench.py [--cameras 50]

Prints one line per variant: seconds of wall time and the process's peak RSS.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time


async def _devices(n: int):
    from camcheck.simulator.onvif import OnvifDeviceConfig, start_onvif_servers

    cfgs = [(OnvifDeviceConfig(name=f"cam{i}", password="pw"), 0) for i in range(n)]
    return await start_onvif_servers(cfgs, discovery_port=None)


async def variant_library(n: int) -> dict:
    """onvif-zeep-async as documented: ONVIFCamera + update_xaddrs + device info + media profiles."""
    import logging

    logging.getLogger().addHandler(logging.NullHandler())
    from onvif import ONVIFCamera

    servers = await _devices(n)
    try:
        t0 = time.perf_counter()

        async def one(port: int) -> None:
            cam = ONVIFCamera("127.0.0.1", port, "admin", "pw")
            try:
                await cam.update_xaddrs()
                dm = await cam.create_devicemgmt_service()
                await dm.GetDeviceInformation()
                media = await cam.create_media_service()
                await media.GetProfiles()
            finally:
                await cam.close()

        await asyncio.gather(*(one(d.port) for d in servers.devices))
        return {"seconds": time.perf_counter() - t0}
    finally:
        await servers.close()


async def variant_camcheck(n: int, warm_first: bool) -> dict:
    from camcheck.probe.onvif import OnvifSettings, OnvifTarget, probe_onvif
    from camcheck.probe.onvif_client import warm_wsdls
    from camcheck.secrets import Secret

    servers = await _devices(n)
    try:
        warm = await warm_wsdls() if warm_first else None
        loop = asyncio.get_running_loop()
        t0 = time.perf_counter()
        deadline = loop.time() + 120
        obs = await asyncio.gather(
            *(probe_onvif(OnvifTarget("127.0.0.1", d.port, "admin", Secret("pw")), OnvifSettings(), deadline) for d in servers.devices)
        )
        bad = [o.message for o in obs if o.findings]
        return {"seconds": time.perf_counter() - t0, "warmup_s": warm, "with_findings": len(bad)}
    finally:
        await servers.close()


async def _loop_lag_during(coro) -> tuple[object, float]:
    """Run coro while a 10 ms ticker measures the worst event-loop stall."""
    loop = asyncio.get_running_loop()
    worst = 0.0
    done = False

    async def ticker() -> None:
        nonlocal worst
        while not done:
            t = loop.time()
            await asyncio.sleep(0.01)
            worst = max(worst, loop.time() - t - 0.01)

    tick = asyncio.create_task(ticker())
    try:
        result = await coro
    finally:
        done = True
        await tick
    return result, worst


async def variant_huge(which: str) -> dict:
    """A device streaming a ~400 MB reply: camcheck's capped transport vs the library's read."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "onvif"))
    from onvif_hostile import hostile_endpoint

    async with hostile_endpoint("huge_stream") as port:
        t0 = time.perf_counter()
        if which == "camcheck":
            from camcheck.probe.onvif import OnvifSettings, OnvifTarget, probe_onvif
            from camcheck.probe.onvif_client import warm_wsdls
            from camcheck.secrets import Secret

            await warm_wsdls()
            t0 = time.perf_counter()
            loop = asyncio.get_running_loop()
            obs, lag = await _loop_lag_during(
                probe_onvif(OnvifTarget("127.0.0.1", port, "admin", Secret("x")), OnvifSettings(), loop.time() + 30)
            )
            outcome = obs.codes()
        else:
            import logging

            logging.getLogger().addHandler(logging.NullHandler())
            from onvif import ONVIFCamera

            cam = ONVIFCamera("127.0.0.1", port, "admin", "x")

            async def go() -> str:
                try:
                    await cam.update_xaddrs()
                    return "no error"
                except Exception as exc:  # noqa: BLE001 - whatever the library raises is the figure
                    return type(exc).__name__
                finally:
                    await cam.close()

            outcome, lag = await _loop_lag_during(asyncio.wait_for(go(), 120))
        return {"seconds": time.perf_counter() - t0, "max_loop_stall_s": round(lag, 3), "outcome": outcome}


def child(name: str, n: int) -> None:
    fn = {
        "huge_reply_camcheck": lambda: variant_huge("camcheck"),
        "huge_reply_library": lambda: variant_huge("library"),
        "library_cold": lambda: variant_library(n),
        "camcheck_cold": lambda: variant_camcheck(n, False),
        "camcheck_warmed": lambda: variant_camcheck(n, True),
    }[name]
    out = asyncio.run(fn())
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(out))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cameras", type=int, default=50)
    ap.add_argument("--child")
    args = ap.parse_args()
    if args.child:
        child(args.child, args.cameras)
        return
    with tempfile.TemporaryDirectory() as home:  # the library writes a cache under $HOME
        env = dict(os.environ, HOME=home)
        for name in ("library_cold", "camcheck_cold", "camcheck_warmed", "huge_reply_library", "huge_reply_camcheck"):
            r = subprocess.run([sys.executable, __file__, "--child", name, "--cameras", str(args.cameras)], env=env, capture_output=True, text=True, timeout=600)
            line = r.stdout.strip().splitlines()[-1] if r.stdout.strip() else r.stderr[-500:]
            print(f"{name:16} {args.cameras} cameras: {line}")


if __name__ == "__main__":
    main()
