from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from camcheck.config.model import ConfigError, load_config, parse_config
from camcheck.daemon.app import build_daemon
from camcheck.daemon.service import Daemon
from camcheck.exporters.config import parse_exporters_config
from camcheck.secrets import Secret


def test_defaults_use_embedded_sqlite(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STATE_DIRECTORY", str(tmp_path))
    monkeypatch.delenv("CAMCHECK_DB_URL", raising=False)
    from camcheck.registry.db import default_db_url

    cfg = load_config(None)
    assert cfg.database.url is None  # the registry's default applies
    assert default_db_url() == f"sqlite+aiosqlite:///{tmp_path / 'camcheck.db'}"
    assert cfg.schedule.interval == 300
    assert cfg.http.bind == "127.0.0.1"


def test_errors_name_every_bad_key(tmp_path: Path) -> None:
    p = tmp_path / "c.yaml"
    p.write_text("schedule:\n  interval: -5\n  intervall: 3\nprobe:\n  transport: http\n", encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        load_config(p)
    text = str(e.value)
    assert "schedule.interval:" in text and "greater than 0" in text
    assert "schedule.intervall: unknown key" in text
    assert "probe.transport:" in text


def test_yaml_syntax_error_names_line(tmp_path: Path) -> None:
    p = tmp_path / "c.yaml"
    p.write_text("schedule:\n  interval: [1,\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"line \d+, column \d+"):
        load_config(p)


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "nope.yaml")


def test_credentials_from_env_file_and_systemd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "pw").write_text("from-file\n", encoding="utf-8")
    (tmp_path / "creds").mkdir()
    (tmp_path / "creds" / "cam-pw").write_text("from-systemd", encoding="utf-8")
    monkeypatch.setenv("CAM_PW", "from-env")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path / "creds"))
    cfg = parse_config(
        {
            "credentials": {
                "a": {"username": "admin", "password_env": "CAM_PW"},
                "b": {"username": "admin", "password_file": str(tmp_path / "pw")},
                "c": {"username": "admin", "password_credential": "cam-pw"},
            }
        }
    )
    got = {k: v.password() for k, v in cfg.credentials.items()}
    assert {k: v.reveal() for k, v in got.items() if isinstance(v, Secret)} == {
        "a": "from-env",
        "b": "from-file",
        "c": "from-systemd",
    }
    assert "from-env" not in repr(cfg.credentials["a"].password())


def test_two_password_sources_rejected() -> None:
    with pytest.raises(ConfigError, match="only one of"):
        parse_config({"credentials": {"a": {"username": "u", "password_env": "X", "password_file": "/x"}}})


def test_example_config_is_valid() -> None:
    example = Path(__file__).parents[2] / "config" / "camcheck.example.yaml"
    cfg = load_config(example)
    modules = parse_exporters_config(cfg.exporters).prometheus.probe_modules
    assert modules["rtsp_default"].credential in cfg.credentials
    # the status section and its per-tag entries build their policies
    assert Daemon._policy(cfg).unchanged_after_s == 86400  # noqa: SLF001
    assert Daemon._tag_policies(cfg)["still-view"].unchanged_after_s == 0  # noqa: SLF001


def test_status_by_tag_entries_are_validated_and_the_first_listed_tag_wins() -> None:
    base = {"status": {"unchanged_after_s": 7200}}
    tagged = parse_config({"status": {**base["status"], "by_tag": {
        "still-view": {"unchanged_after_s": 0}, "lobby": {"unchanged_min_checks": 50}}}})
    policies = Daemon._tag_policies(tagged)  # noqa: SLF001
    assert policies["still-view"].unchanged_after_s == 0
    assert (policies["lobby"].unchanged_after_s, policies["lobby"].unchanged_min_checks) == (7200, 50)
    assert "by_tag" not in Daemon._policy(tagged).model_dump()  # noqa: SLF001
    d = build_daemon(tagged, role="worker")  # (a worker: no HTTP server to start)
    assert d.policy_for(SimpleNamespace(tags=["lobby", "still-view"])) is d.tag_policies["still-view"]  # listed first
    assert d.policy_for(SimpleNamespace(tags=["lobby"])) is d.tag_policies["lobby"]
    assert d.policy_for(SimpleNamespace(tags=[])) is d.policy and d.policy.unchanged_after_s == 7200
    for bad, where in (({"x": {"unchanged_after_s": -1}}, "status.by_tag.x"),
                       ({"x": {"no_such_key": 1}}, "status.by_tag.x"),
                       (["still-view"], "status.by_tag must map")):
        with pytest.raises(ValueError, match=where):
            Daemon._tag_policies(parse_config({"status": {"by_tag": bad}}))  # noqa: SLF001
    # `camcheck run --check-config` and start-up name the key
    with pytest.raises(ConfigError, match=r"status\.by_tag\.x\.unchanged_after_s: Input should be greater"):
        build_daemon(parse_config({"status": {"by_tag": {"x": {"unchanged_after_s": -1}}}}), role="worker")
    with pytest.raises(ConfigError, match=r"status\.by_tag must map"):
        build_daemon(parse_config({"status": {"by_tag": ["still-view"]}}), role="worker")


def test_rtsps_settings(tmp_path: Path) -> None:
    """probe.tls_verify / tls_ca_file become the probe's TLS settings; a missing CA file is named."""
    assert parse_config({}).probe.rtsp_tls() == {"tls_verify": False, "tls_ca_file": None}
    assert parse_config({"probe": {"tls_verify": True}}).probe.rtsp_tls() == {"tls_verify": True, "tls_ca_file": None}
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    assert parse_config({"probe": {"tls_ca_file": str(ca)}}).probe.rtsp_tls() == {"tls_verify": True,
                                                                               "tls_ca_file": str(ca)}
    with pytest.raises(ConfigError, match=r"probe\.tls_ca_file: Value error, no such file: .*nope\.pem"):
        parse_config({"probe": {"tls_ca_file": str(tmp_path / "nope.pem")}})
