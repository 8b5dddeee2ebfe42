"""Webhooks: POST each transition to configured URLs, signed, retried from the durable outbox.

Each URL is its own outbox queue, delivered strictly in order: the next event goes only after the
previous one got a 2xx. Failures (connection errors, timeouts, any non-2xx) are retried with
exponential backoff and jitter, honouring ``Retry-After``; an event is abandoned only when the
outbox limit drops it (counted in ``camcheck_outbox_dropped_total``).

Request headers:

* ``X-Camcheck-Event-Id`` — the event id; receivers de-duplicate on it (delivery is at-least-once).
* ``X-Camcheck-Timestamp`` — UNIX seconds when this attempt was signed.
* ``X-Camcheck-Signature: sha256=<hex>`` — HMAC-SHA256 with the configured key over
  ``<timestamp>.<raw body>``. Binding the timestamp into the signature is what makes a replay
  detectable: a receiver rejects timestamps older than a few minutes (``verify_signature``).

The body is the JSON event (``events.event_to_dict``) or a ``string.Template`` over flat fields
(``$camera_id $name $site $parent_id $from_status $to_status $reason $reason_th $findings $at $at_iso
$event_id $status_label_th $status_label_en $label_<name> $info_<name> $measured_<name> $json``).
The URL itself may hold a token (chat tools do this), so it is never logged: the webhook's name is.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import random
import string
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import aiohttp

from camcheck.exporters.api.reason_words import reason_text
from camcheck.exporters.config import WebhookConfig
from camcheck.exporters.events import CameraView, TransitionEvent, event_to_dict
from camcheck.exporters.outbox import Outbox, OutboxMessage
from camcheck.secrets import Secret, mask_text

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Camcheck-Signature"
TIMESTAMP_HEADER = "X-Camcheck-Timestamp"
EVENT_ID_HEADER = "X-Camcheck-Event-Id"
_FIXED_VARS = frozenset(
    {"event_id", "camera_id", "name", "site", "parent_id", "from_status", "to_status", "reason", "reason_th",
     "findings",
     "at", "at_iso", "status_label_th", "status_label_en", "json"}
)
_PREFIX_VARS = ("label_", "info_", "measured_")


def sign(key: bytes, timestamp: str, body: bytes) -> str:
    return "sha256=" + hmac.new(key, timestamp.encode("ascii") + b"." + body, hashlib.sha256).hexdigest()


def verify_signature(key: bytes, headers: Any, body: bytes, *, max_age: float = 300.0, now: float | None = None) -> bool:
    """Receiver side: True if the signature matches and the timestamp is fresh (constant-time compare)."""
    ts = headers.get(TIMESTAMP_HEADER, "")
    sig = headers.get(SIGNATURE_HEADER, "")
    try:
        age = (time.time() if now is None else now) - int(ts)
    except ValueError:
        return False
    if abs(age) > max_age:
        return False
    return hmac.compare_digest(sign(key, ts, body), sig)


class _Vars(dict):
    """Template mapping: unknown label_/info_/measured_ names render empty instead of failing."""

    def __missing__(self, key: str) -> str:
        if key.startswith(_PREFIX_VARS):
            return ""
        raise KeyError(key)


def template_vars(event: TransitionEvent, escape_json: bool) -> dict[str, str]:
    v = event.view
    raw: dict[str, Any] = {
        "event_id": event.event_id,
        "camera_id": event.camera_id,
        "name": v.name or "",
        "site": v.topic_site,
        "parent_id": v.parent_id or "",
        "from_status": event.from_status,
        "to_status": event.to_status,
        "reason": event.reason,
        "reason_th": reason_text(event.reason, event.reason_data, "th") or "",
        "findings": ", ".join(event.findings),
        "at": f"{event.at:.3f}",
        "at_iso": datetime.fromtimestamp(event.at, timezone.utc).isoformat(timespec="seconds"),
        "status_label_th": v.registry_label_th or "",
        "status_label_en": v.registry_label_en or "",
    }
    raw.update({f"label_{k}": val for k, val in v.labels.items()})
    raw.update({f"info_{k}": val for k, val in v.info.items()})
    raw.update({f"measured_{k}": "" if val is None else val for k, val in v.measured.items()})
    out = _Vars()
    for k, val in raw.items():
        s = str(val)
        out[k] = json.dumps(s, ensure_ascii=False)[1:-1] if escape_json else s
    out["json"] = json.dumps(event_to_dict(event), ensure_ascii=False)
    return out


def _sample_event() -> TransitionEvent:
    view = CameraView("sample", "Sample camera", "nvr", "site", {"district": 'a "b"'}, "broken", 0.0, 'no "video"',
                      ("no_video",), {"fps": 0.0}, {"brand": "x"}, 0.0, None, 1.0)
    return TransitionEvent("0" * 32, "sample", 0.0, "working", "broken", 'no "video"\n', ("no_video",), view)


@dataclass
class _Target:
    config: WebhookConfig
    url: str
    key: bytes | None
    template: string.Template | None
    destination: str


class WebhookExporter:
    """Implements ``camcheck.exporters.events.Exporter`` for the configured webhooks."""

    def __init__(
        self,
        configs: list[WebhookConfig],
        outbox: Outbox,
        *,
        hmac_keys: dict[str, Secret] | None = None,
        flush_timeout: float = 3.0,
    ) -> None:
        self.outbox = outbox
        self.flush_timeout = flush_timeout
        self.targets: list[_Target] = []
        for cfg in configs:
            key = (hmac_keys or {}).get(cfg.name) or cfg.hmac_key.load()
            tpl = string.Template(cfg.template) if cfg.template is not None else None
            if tpl is not None:
                self._check_template(cfg, tpl)
            self.targets.append(
                _Target(cfg, cfg.resolve_url(), key.reveal().encode("utf-8") if key else None, tpl, f"webhook:{cfg.name}")
            )
        self._session: aiohttp.ClientSession | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._stop = asyncio.Event()
        self.errors = 0

    @staticmethod
    def _check_template(cfg: WebhookConfig, tpl: string.Template) -> None:
        if not tpl.is_valid():
            raise ValueError(f"webhook {cfg.name}: template has an invalid $ placeholder (write $$ for a literal $)")
        for ident in tpl.get_identifiers():
            if ident not in _FIXED_VARS and not ident.startswith(_PREFIX_VARS):
                raise ValueError(f"webhook {cfg.name}: unknown template variable ${ident}")
        if "json" in cfg.content_type and cfg.template_escape == "json":
            body = tpl.substitute(template_vars(_sample_event(), True))
            try:
                json.loads(body)
            except ValueError as exc:
                raise ValueError(f"webhook {cfg.name}: template does not produce valid JSON: {exc}") from None

    def render(self, target: _Target, event: TransitionEvent) -> bytes:
        if target.template is None:
            return json.dumps(event_to_dict(event), ensure_ascii=False, separators=(",", ":"), default=str).encode()
        esc = target.config.template_escape == "json"
        return target.template.substitute(template_vars(event, esc)).encode("utf-8")

    # -- Exporter interface ---------------------------------------------------------------------
    async def start(self) -> None:
        if self._session is not None:
            return
        self._stop.clear()
        self._session = aiohttp.ClientSession(headers={"User-Agent": "camcheck-webhook/1"})
        self._tasks = [asyncio.create_task(self._deliver(t), name=f"camcheck-{t.destination}") for t in self.targets]

    async def stop(self) -> None:
        if self._session is None:
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.flush_timeout
        while any(self.outbox.pending(t.destination) for t in self.targets) and loop.time() < deadline:
            if all(getattr(task, "_camcheck_failing", False) for task in self._tasks):
                break  # every endpoint is failing: no point waiting; the outbox keeps them
            await asyncio.sleep(0.02)
        self._stop.set()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        await self._session.close()
        self._session = None

    def publish_state(self, view: CameraView) -> None:  # webhooks carry transitions only
        return None

    def remove_camera(self, camera_id: str) -> None:
        return None

    def publish_transition(self, event: TransitionEvent) -> None:
        for t in self.targets:
            try:
                if t.config.statuses and event.to_status not in t.config.statuses:
                    continue
                self.outbox.put(t.destination, event.event_id, self.render(t, event), t.config.content_type)
            except Exception as exc:  # never raise into the daemon
                self.errors += 1
                log.error("webhook %s: cannot store event %s: %s", t.config.name, event.event_id, mask_text(repr(exc)))

    # -- delivery -------------------------------------------------------------------------------
    async def _deliver(self, t: _Target) -> None:
        task = asyncio.current_task()
        attempt = 0
        while not self._stop.is_set():
            batch = self.outbox.peek(t.destination, 1)
            if not batch:
                await self.outbox.wait(t.destination, timeout=1.0)
                continue
            msg = batch[0]
            ok, why, retry_after = await self._post(t, msg, attempt + 1)
            if ok:
                self.outbox.ack(msg)
                attempt = 0
                setattr(task, "_camcheck_failing", False)
                continue
            attempt += 1
            setattr(task, "_camcheck_failing", True)
            self.outbox.record_attempt(msg)
            cap = min(t.config.backoff_max, t.config.backoff_initial * 2 ** min(attempt - 1, 30))
            delay = cap / 2 + random.uniform(0, cap / 2)  # "equal jitter": spread out, never hammer
            if retry_after is not None:
                delay = min(max(delay, retry_after), t.config.backoff_max)
            log.warning(
                "webhook %s: event %s not delivered (%s); retry %d in %.1f s",
                t.config.name, msg.event_id, why, attempt, delay,
            )
            # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancel racing the event.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self._stop.wait()

    async def _post(self, t: _Target, msg: OutboxMessage, attempt: int) -> tuple[bool, str, float | None]:
        assert self._session is not None
        ts = str(int(time.time()))
        headers = {
            "Content-Type": msg.topic or t.config.content_type,
            EVENT_ID_HEADER: msg.event_id,
            TIMESTAMP_HEADER: ts,
            "X-Camcheck-Delivery-Attempt": str(attempt),
            **t.config.headers,
        }
        if t.key is not None:
            headers[SIGNATURE_HEADER] = sign(t.key, ts, msg.payload)
        try:
            async with self._session.post(
                t.url, data=msg.payload, headers=headers, timeout=aiohttp.ClientTimeout(total=t.config.timeout),
                allow_redirects=False,
            ) as resp:
                await resp.content.read(64 * 1024)  # drain a little so the connection can be reused
                if 200 <= resp.status < 300:
                    return True, "", None
                retry_after = None
                ra = resp.headers.get("Retry-After")
                if ra and ra.isdigit():
                    retry_after = float(ra)
                return False, f"HTTP {resp.status}", retry_after
        except asyncio.CancelledError:
            raise
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
            # The exception text can contain the URL (and a token in it): report the kind only.
            return False, type(exc).__name__, None
