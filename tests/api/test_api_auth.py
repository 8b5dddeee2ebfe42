"""Token loading (env, file, systemd credential) and dashboard sessions, without a server."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from camcheck.exporters.api.auth import ApiAuthConfig, AuthConfigError, Authenticator

TOKEN_A = "aaaaaaaaaaaaaaaa-token-A"
TOKEN_B = "bbbbbbbbbbbbbbbb-token-B"


def _cfg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ApiAuthConfig:
    monkeypatch.setenv("T_A", TOKEN_A)
    (tmp_path / "b.token").write_text(TOKEN_B + "\n")
    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "api-c").write_text("cccccccccccccccc-token-C")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(creds))
    return ApiAuthConfig.model_validate({"tokens": [
        {"name": "ops", "role": "write", "token_env": "T_A"},
        {"name": "grafana", "role": "read", "token_file": str(tmp_path / "b.token")},
        {"name": "committee", "token_credential": "api-c"},
    ]})


def test_tokens_from_env_file_and_credential(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    auth = Authenticator.from_config(_cfg(tmp_path, monkeypatch))
    assert auth.check_token(TOKEN_A).name == "ops" and auth.check_token(TOKEN_A).role == "write"
    assert auth.check_token(TOKEN_B).role == "read"  # the file's trailing newline is not part of it
    assert auth.check_token("cccccccccccccccc-token-C").name == "committee"
    assert auth.check_token(TOKEN_A[:-1]) is None and auth.check_token("") is None


def test_token_config_errors_name_the_token_never_the_value(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValidationError, match="exactly one"):
        ApiAuthConfig.model_validate({"tokens": [{"name": "x", "token_env": "A", "token_file": "/f"}]})
    with pytest.raises(ValidationError, match="unique"):
        ApiAuthConfig.model_validate({"tokens": [{"name": "x", "token_env": "A"}, {"name": "x", "token_env": "B"}]})
    with pytest.raises(ValidationError):
        ApiAuthConfig.model_validate({"tokens": [{"name": "x", "role": "admin", "token_env": "A"}]})
    monkeypatch.delenv("NOT_SET_ANYWHERE", raising=False)
    cfg = ApiAuthConfig.model_validate({"tokens": [{"name": "ops", "token_env": "NOT_SET_ANYWHERE"}]})
    with pytest.raises(AuthConfigError, match="'ops'.*NOT_SET_ANYWHERE"):
        Authenticator.from_config(cfg)
    monkeypatch.setenv("SHORT", "tiny-secret")
    with pytest.raises(AuthConfigError) as exc:
        Authenticator.from_config(ApiAuthConfig.model_validate({"tokens": [{"name": "s", "token_env": "SHORT"}]}))
    assert "tiny-secret" not in str(exc.value) and "shorter than 16" in str(exc.value)
    monkeypatch.setenv("SAME1", TOKEN_A)
    monkeypatch.setenv("SAME2", TOKEN_A)
    with pytest.raises(AuthConfigError, match="same value"):
        Authenticator.from_config(ApiAuthConfig.model_validate(
            {"tokens": [{"name": "a", "token_env": "SAME1"}, {"name": "b", "token_env": "SAME2"}]}))
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    with pytest.raises(AuthConfigError, match="CREDENTIALS_DIRECTORY"):
        Authenticator.from_config(ApiAuthConfig.model_validate({"tokens": [{"name": "c", "token_credential": "x"}]}))


def test_sessions_are_signed_expire_and_die_with_their_token(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = _cfg(tmp_path, monkeypatch)
    auth = Authenticator.from_config(cfg)
    ops = auth.check_token(TOKEN_A)
    cookie = auth.issue_session(ops, now=1000.0)
    assert TOKEN_A not in cookie and TOKEN_A not in base64.urlsafe_b64decode(cookie.split(".")[0] + "==").decode()
    p = auth.check_session(cookie, now=1001.0)
    assert p is not None and p.name == "ops" and p.role == "write" and p.via == "session"
    assert auth.check_session(cookie, now=1000.0 + auth.session_seconds + 1) is None  # expired
    # tampering: claim the write role for the read token's session
    viewer = auth.issue_session(auth.check_token(TOKEN_B), now=1000.0)
    payload, sig = viewer.split(".")
    forged = base64.urlsafe_b64encode(json.dumps({"n": "grafana", "r": "write", "e": 10**10}).encode()).rstrip(b"=").decode()
    assert auth.check_session(f"{forged}.{sig}", now=1001.0) is None
    assert auth.check_session("garbage", now=1001.0) is None and auth.check_session("a.b", now=1001.0) is None
    # the token's value changes: its sessions end
    monkeypatch.setenv("T_A", "a-completely-new-token-value")
    assert Authenticator.from_config(cfg).check_session(cookie, now=1001.0) is None
