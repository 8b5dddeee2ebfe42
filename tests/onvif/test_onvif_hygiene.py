"""What the library would do to a daemon, neutralised: logging, proxies, $HOME cache, TLS, shared WSDLs."""

from __future__ import annotations

import asyncio
import json
import os
import ssl
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from camcheck.simulator.onvif import OnvifDeviceConfig, running_onvif_device
from onvif_helpers import PASSWORD, run_probe

pytestmark = pytest.mark.timeout(90)


def test_import_and_probe_leave_the_process_alone(tmp_path: Path) -> None:
    """In a fresh process: no root logging handler, proxy variables kept, nothing written to $HOME."""
    home = tmp_path / "home"
    home.mkdir()
    code = textwrap.dedent(
        """
        import asyncio, json, logging, os
        import camcheck.probe.onvif as o
        from camcheck.secrets import Secret
        from camcheck.simulator.onvif import OnvifDeviceConfig, running_onvif_device
        handlers_after_import = len(logging.getLogger().handlers)
        async def main():
            async with running_onvif_device(OnvifDeviceConfig(password="pw")) as dev:
                t = o.OnvifTarget("127.0.0.1", dev.port, "admin", Secret("pw"))
                obs = await o.probe_onvif(t, o.OnvifSettings(), asyncio.get_running_loop().time() + 10)
                return obs.findings
        findings = asyncio.run(main())
        print(json.dumps({"handlers": handlers_after_import, "findings": findings,
                          "http_proxy": os.environ.get("http_proxy"), "https_proxy": os.environ.get("https_proxy")}))
        """
    )
    env = dict(os.environ, HOME=str(home), http_proxy="http://proxy.invalid:3128", https_proxy="http://proxy.invalid:3128", no_proxy="")
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr[-2000:]
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["handlers"] == 0  # onvif.client's logging.basicConfig did not configure our root logger
    assert out["findings"] == []  # and the proxy variables were not used for the camera
    assert out["http_proxy"] == out["https_proxy"] == "http://proxy.invalid:3128"
    assert list(home.rglob("*")) == []  # no zeep/onvif cache under $HOME


@pytest.fixture(scope="module")
def self_signed(tmp_path_factory: pytest.TempPathFactory) -> ssl.SSLContext:
    d = tmp_path_factory.mktemp("tls")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-keyout", str(d / "key.pem"), "-out", str(d / "cert.pem")],
        check=True, capture_output=True, timeout=60,
    )
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(d / "cert.pem", d / "key.pem")
    return ctx


async def test_tls_verification_is_a_setting(self_signed: ssl.SSLContext) -> None:
    async with running_onvif_device(OnvifDeviceConfig(password=PASSWORD), ssl_context=self_signed) as dev:
        verified = await run_probe(dev.port, tls=True)
        unverified = await run_probe(dev.port, tls=True, tls_verify=False)
    assert verified.codes() == ["onvif_unreachable"] and "certificate" in verified.findings[0]["message"].lower()
    assert unverified.findings == [] and unverified.services["media2"].startswith("https://")


async def test_wsdls_are_parsed_once_for_many_concurrent_probes() -> None:
    from camcheck.probe import onvif_client

    before = dict(onvif_client._DOCS)
    async with running_onvif_device(OnvifDeviceConfig(password=PASSWORD)) as dev:
        results = await asyncio.gather(*(run_probe(dev.port) for _ in range(10)))
    assert all(r.findings == [] for r in results)
    assert {k: id(v) for k, v in onvif_client._DOCS.items()} == {k: id(v) for k, v in before.items()}  # same objects, no re-parse
    assert len(onvif_client._DOCS) == len(onvif_client.ZEEP_SERVICES)
