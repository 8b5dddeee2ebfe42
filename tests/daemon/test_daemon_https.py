"""The daemon's HTTP port over TLS (http.tls_cert_file, tls_key_file or tls_key_credential), spoken
to by curl (Debian's, a client camcheck did not write): the API, metrics and dashboard answer over
HTTPS only, the dashboard's session cookie is Secure, a renewed certificate is served after SIGHUP,
and a certificate that cannot be loaded is a configuration error naming the key."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import yaml

from camcheck.config.model import ConfigError, load_config
from camcheck.daemon.app import build_daemon
from camcheck.daemon.service import Daemon
from camcheck.registry.store import open_store
from tests.daemon.helpers import daemon_config_dict
from tests.peers.pki import make_pki

pytestmark = pytest.mark.timeout(120)
TOKEN = "https-test-token-3f9a"


def _curl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["curl", "-sS", "--max-time", "10", *args], capture_output=True, text=True, timeout=30)


async def _in_thread(*args: str) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(_curl, *args)  # the daemon answers on this event loop meanwhile


def _config(tmp_path: Path, pki: Path) -> Path:
    cfg = daemon_config_dict(f"sqlite:///{tmp_path / 'registry.db'}")
    cfg["http"].update({"tls_cert_file": str(tmp_path / "served.pem"), "tls_key_file": str(tmp_path / "served.key")})
    cfg["api"] = {"tokens": [{"name": "ops", "role": "write", "token_env": "CAMCHECK_HTTPS_TOKEN"}]}
    shutil.copy(pki / "cam.pem", tmp_path / "served.pem")
    shutil.copy(pki / "cam.key", tmp_path / "served.key")
    path = tmp_path / "camcheck.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


@contextlib.asynccontextmanager
async def _running(tmp_path: Path, config: Path) -> AsyncIterator[Daemon]:
    """The daemon on a fresh SQLite registry, once its HTTP port is open; stopped as SIGTERM does."""
    store = await open_store(f"sqlite:///{tmp_path / 'registry.db'}", migrate=True)
    await store.close()
    daemon = build_daemon(load_config(config), config_path=config)
    task = asyncio.create_task(daemon.run_forever())
    try:
        await asyncio.wait_for(daemon.started.wait(), 30)
        for _ in range(100):
            if daemon.http.port:
                break
            await asyncio.sleep(0.05)
        yield daemon
    finally:
        daemon._stop.set()  # noqa: SLF001 - what SIGTERM does
        await asyncio.wait_for(task, 60)


async def test_https_api_dashboard_and_certificate_renewal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAMCHECK_HTTPS_TOKEN", TOKEN)
    (tmp_path / "ca1").mkdir()
    first = make_pki(tmp_path / "ca1")
    path = _config(tmp_path, first)
    async with _running(tmp_path, path) as daemon:
        base = f"https://127.0.0.1:{daemon.http.port}"
        ok = await _in_thread("--cacert", str(first / "ca.pem"), f"{base}/healthz")
        assert ok.returncode == 0 and '"status": "ok"' in ok.stdout, ok.stderr
        api = await _in_thread("--cacert", str(first / "ca.pem"), "-H", f"Authorization: Bearer {TOKEN}",
                               f"{base}/api/v1/whoami")
        assert api.returncode == 0 and '"ops"' in api.stdout, api.stderr
        plain = await _in_thread(f"http://127.0.0.1:{daemon.http.port}/healthz")  # no plain HTTP on this port
        assert plain.returncode != 0 and '"status"' not in plain.stdout
        untrusted = await _in_thread(f"{base}/healthz")  # the system CAs do not know the test CA
        assert untrusted.returncode == 60, untrusted.stderr  # curl: peer certificate cannot be authenticated
        # the dashboard's session cookie never travels over plain HTTP
        login = await _in_thread("--cacert", str(first / "ca.pem"), "-i", "--data-urlencode", f"token={TOKEN}",
                                 f"{base}/ui/login")
        cookie = next(line for line in login.stdout.splitlines() if line.lower().startswith("set-cookie:")
                      and "camcheck_session" in line)
        assert "Secure" in cookie and "HttpOnly" in cookie

        # the certificate is renewed (another CA here, to tell them apart): served after SIGHUP
        (tmp_path / "ca2").mkdir()
        renewed = make_pki(tmp_path / "ca2")
        shutil.copy(renewed / "cam.pem", tmp_path / "served.pem")
        shutil.copy(renewed / "cam.key", tmp_path / "served.key")
        await daemon.reload()
        new = await _in_thread("--cacert", str(renewed / "ca.pem"), f"{base}/healthz")
        assert new.returncode == 0, new.stderr
        old = await _in_thread("--cacert", str(first / "ca.pem"), f"{base}/healthz")
        assert old.returncode == 60
        # a broken renewal keeps the certificate in use
        (tmp_path / "served.key").write_text("not a key")
        await daemon.reload()
        still = await _in_thread("--cacert", str(renewed / "ca.pem"), f"{base}/healthz")
        assert still.returncode == 0, still.stderr


def test_a_certificate_that_cannot_be_loaded_is_a_configuration_error(tmp_path: Path) -> None:
    pki = make_pki(tmp_path)
    cfg = daemon_config_dict(f"sqlite:///{tmp_path / 'r.db'}")
    cfg["http"].update({"tls_cert_file": str(pki / "cam.pem"), "tls_key_file": str(pki / "ca.key")})  # wrong key
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(cfg))
    with pytest.raises(ConfigError, match=r"http\.tls_cert_file: cannot load the certificate and key from .*cam\.pem"):
        build_daemon(load_config(path), config_path=path)
    cfg["http"] = {"bind": "127.0.0.1", "port": 0, "tls_key_file": str(pki / "cam.key")}
    path.write_text(yaml.safe_dump(cfg))
    with pytest.raises(ConfigError, match="tls_key_file needs tls_cert_file"):
        load_config(path)
    cfg["http"] = {"bind": "127.0.0.1", "port": 0, "tls_cert_file": str(tmp_path / "missing.pem")}
    path.write_text(yaml.safe_dump(cfg))
    with pytest.raises(ConfigError, match=r"http\.tls_cert_file: Value error, no such file"):
        load_config(path)


async def test_the_key_as_a_systemd_credential(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """http.tls_key_credential: the key read from $CREDENTIALS_DIRECTORY, as systemd's LoadCredential=
    lays it out (a directory readable by the service only); without it, a configuration error."""
    pki = make_pki(tmp_path)
    creds = tmp_path / "credentials"
    creds.mkdir(mode=0o700)
    shutil.copy(pki / "cam.key", creds / "https-key")
    (creds / "https-key").chmod(0o400)
    cfg = daemon_config_dict(f"sqlite:///{tmp_path / 'registry.db'}")
    cfg["http"].update({"tls_cert_file": str(pki / "cam.pem"), "tls_key_credential": "https-key"})
    path = tmp_path / "camcheck.yaml"
    path.write_text(yaml.safe_dump(cfg))

    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    check = subprocess.run([sys.executable, "-m", "camcheck", "run", "--config", str(path), "--check-config"],
                           capture_output=True, text=True, timeout=60)
    assert check.returncode == 2 and "http.tls_key_credential: CREDENTIALS_DIRECTORY is not set" in check.stderr

    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(creds))
    async with _running(tmp_path, path) as daemon:
        ok = await _in_thread("--cacert", str(pki / "ca.pem"), f"https://127.0.0.1:{daemon.http.port}/healthz")
        assert ok.returncode == 0 and '"status": "ok"' in ok.stdout, ok.stderr

    cfg["http"]["tls_key_file"] = str(pki / "cam.key")
    path.write_text(yaml.safe_dump(cfg))
    with pytest.raises(ConfigError, match="give only one of tls_key_file, tls_key_credential"):
        load_config(path)
