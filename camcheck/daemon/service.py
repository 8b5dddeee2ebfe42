"""`camcheck run`: check every registered camera on schedule and keep its status true.

Moving parts, each a small loop on one event loop:

* claim    — take due cameras' leases from the registry (shared with other nodes) into the scheduler;
* scheduler — runs checks under per-camera, per-parent and global limits (collectors.scheduler);
* check    — probe (stream, and ONVIF on its slower interval) -> verdict -> one fenced commit ->
             exporters;
* heartbeat — node liveness and lease renewal; a node killed with -9 loses its leases after ttl;
* caches   — maintenance windows, parent incidents, camera views for /metrics, refreshed on a timer;
* replay   — transitions committed but not yet handed to the exporters (crash in between) are
             published again with the same event id.

With ``schedule.workers`` > 1 the primary also runs worker processes (camcheck.daemon.workers):
``role="worker"`` daemons claim, check and commit only (no HTTP, exporters, incidents, pruning or
replay); the primary publishes their transitions within a couple of seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import signal
import socket
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from camcheck.collectors.scheduler import Job, Limits, Scheduler
from camcheck.config.model import Config, ConfigError, load_config
from camcheck.daemon.checks import (
    CheckResult,
    evidence_copy,
    keyframe_wait_s,
    run_onvif_check,
    run_stream_check,
    snapshot_evidence,
    transition_record,
)
from camcheck.daemon.targets import (
    Credentials,
    StreamRole,
    TargetError,
    choose_stream,
    main_in_place_of_sub,
    resolve_credentials,
)
from camcheck.daemon.views import camera_view, state_findings
from camcheck.daemon.workers import WorkerPool
from camcheck.exporters.events import CameraView, Exporter, OpenIncident, TransitionEvent
from camcheck.probe.observation import Observation, RtspSettings
from camcheck.probe.onvif import OnvifObservation, match_profile, sub_stream_url
from camcheck.probe.onvif_client import warm_wsdls
from camcheck.probe.rtsp_client import tls_context
from camcheck.probe.tcp import TcpSettings, probe_tcp
from camcheck.registry import incidents as incident_history
from camcheck.registry.leases import CheckCommit, Lease, LeaseLost, Leases
from camcheck.registry.models import EvidenceKind, EvidenceRecord, StoredCamera, now_utc
from camcheck.registry.schema import cameras, check_results, leases as leases_table, parents
from camcheck.registry.store import Store, open_store
from camcheck.secrets import mask_text, mask_url
from camcheck.systemd import notify, watchdog_interval
from camcheck.verdict import (
    CameraState,
    DeviceChild,
    GroupEvaluation,
    GroupPolicy,
    MaintenanceInfo,
    MaintenanceWindow,
    ParentIncident,
    Status,
    StatusPolicy,
    active_window,
    evaluate_group,
    new_state,
    suppress,
)
from camcheck.verdict.claims import MAIN_STREAM_FINDINGS
from camcheck.verdict.grouping import GRACE_S, covers
from camcheck.verdict.reasons import english
from camcheck.verdict.unchanged import longest_run

log = logging.getLogger("camcheck.daemon")


def _current(incident: ParentIncident) -> bool:
    """Open, or closed so recently that its cameras' recoveries are still its own (grouping.covers)."""
    return incident.open or (incident.ended_at is not None and time.time() - incident.ended_at <= GRACE_S)

REFERENCE_CACHE = 512
# A run's picture is kept at its 3rd check, not its 2nd: moving views seldom stay within the
# unchanged bound over 3 checks, so a live camera seldom pays the picture's write (6 simulator views,
# moving, garden and night, checked every 3.5 s: runs reached 2 checks at 30 of 252 checks, 3 at 4).
RUN_PICTURE_CHECK = 3
WORKER_REPLAY_EVERY_S = 1.5  # how soon the primary publishes a transition a worker committed
WORKER_CHECKS_BATCH = 5000  # the workers' checks counted per round at most (the rest: next round)
WORKER_STOP_TIMEOUT_S = 150.0  # a worker drains its checks in flight (up to 120 s) before exiting


ADDRESS_PROBE_S = 3.0  # a parent's address asked before its incident is told (bounded by probe.timeout too)
MAX_UPSTREAM_HOPS = 8  # a recorder, its switch, its site, ...: deeper chains are not registered
MAX_DEVICES_JUDGED = 256  # parents judged in one tree at most (a site's recorders; bounds a misregistered chain)


@dataclass
class _Judged:
    """One parent as its judgement left it: its incident (open or just closed), who tells it, the
    device it is behind, and every camera behind it (nested devices' too) with its latest check."""

    incident: ParentIncident | None
    told: str | None
    upstream: str | None
    cameras: dict[str, float | None]

    def as_child(self, sample: int) -> DeviceChild:
        """As its upstream device counts it: looked at when `sample` of its cameras (or all, if fewer)
        were checked since. A few cameras delivering say a recorder is up; checking all of a site's
        cameras whenever one recorder fails would not scale."""
        checks = sorted((c if c is not None else 0.0 for c in self.cameras.values()), reverse=True)
        k = min(sample, len(checks))
        return DeviceChild(incident=self.incident, cameras=len(checks), checked_at=checks[k - 1] or None if k else None)

    def to_probe(self, since: float, sample: int) -> list[str]:
        """The cameras to check now for its upstream's judgement: enough of those not checked since
        `since`, the least recently checked first, to make `sample` checked since."""
        fresh = sum(1 for at in self.cameras.values() if (at or 0.0) >= since)
        stale = sorted((at or 0.0, cid) for cid, at in self.cameras.items() if (at or 0.0) < since)
        return [cid for _, cid in stale[: max(0, sample - fresh)]]


@dataclass
class _Tree:
    """A parent and what is behind it as read from the registry for one judgement."""

    rows: dict[str, tuple[Any, str | None, str | None]] = field(default_factory=dict)  # id -> incident, told, upstream
    below: dict[str, list[str]] = field(default_factory=dict)  # id -> the devices behind it
    cameras: dict[str, list[tuple[str, str | None]]] = field(default_factory=dict)  # id -> (camera, state JSON)


@dataclass
class DaemonStats:
    checks: int = 0
    transitions: int = 0
    lease_lost: int = 0
    errors: int = 0
    claim_lag_s: float = 0.0  # how overdue the most overdue unclaimed camera is


class Daemon:
    def __init__(
        self,
        config: Config,
        *,
        config_path: Path | None = None,
        exporters: Sequence[Exporter] = (),
        lease_ttl: float = 60.0,
        role: str = "primary",
        worker_args: Sequence[str] = (),
    ) -> None:
        if role not in ("primary", "worker"):
            raise ValueError(f"role must be 'primary' or 'worker', not {role!r}")
        self.config = config
        self.config_path = config_path
        self.role = role
        self.worker_args = list(worker_args)  # --db override, passed on to the workers
        workers = config.schedule.workers
        if role == "primary" and workers > 1 and config_path is None:
            # A worker is `camcheck run --config FILE`: with no file there is nothing to start it from.
            log.warning("schedule.workers is %d but there is no configuration file to start worker processes "
                        "from: running as a single process", workers)
            workers = 1
        self.workers = workers  # processes sharing max_in_flight and per_parent on this machine
        self.pool: WorkerPool | None = None
        self.exporters = list(exporters)
        self.lease_ttl = lease_ttl
        self.node_id = config.node_id
        self.policy = self._policy(config)
        self.tag_policies = self._tag_policies(config)
        self.group_policy = GroupPolicy(**config.status.get("grouping", {})) if isinstance(config.status.get("grouping"), dict) else GroupPolicy()
        self.stats = DaemonStats()
        self.views: dict[str, CameraView] = {}
        self.store: Store | None = None
        self.leases: Leases | None = None
        self.scheduler = Scheduler(self._run_job, self._limits(config, self.workers))
        self._held: dict[str, Lease] = {}
        self._reclaimed: dict[str, Lease] = {}  # claimed again while the previous check was finishing
        self._parent_of: dict[str, str | None] = {}
        self._parent_chain: dict[str, list[str]] = {}
        self._upstream: dict[str, str] = {}  # parent device -> the device it is behind
        self._windows: list[MaintenanceWindow] = []
        self._active_windows: set[str] = set()
        self._window_targets: dict[str, str] = {}
        self._incidents: dict[str, ParentIncident] = {}
        self._parent_names: dict[str, str] = {}  # as the parents sheet gives them (refreshed with the topology)
        self._dirty_parents: set[str] = set()
        self._wake_groups = asyncio.Event()
        self._groups_lock = asyncio.Lock()
        # Covered changes announced after their incident closed (by the close, or by the commit that
        # landed after it): each once, whichever comes first. Ids only, the newest kept.
        self._told_after_close: OrderedDict[int, None] = OrderedDict()
        self._last_good_at: dict[str, float] = {}
        self._cannot_check: dict[str, str] = {}  # camera id -> why its stream cannot be checked (logged)
        self._sub_down: dict[str, str] = {}  # camera id -> why its registered sub-stream failed (logged)
        self._references: OrderedDict[str, bytes | None] = OrderedDict()
        self._snapshots: OrderedDict[str, bytes] = OrderedDict()  # latest picture per camera (bounded)
        self._durations: dict[str, float] = {}
        # (camera, stream role) -> (GOP, GOP at least) from that stream's last check, for the keyframe
        # wait of the next (in memory: after a restart the registry's measured GOP serves).
        self._gops: dict[tuple[str, str], tuple[float | None, float | None]] = {}
        # camera -> (its registered main URL, the sub-stream URL its ONVIF profiles list) for cameras
        # registered with a main stream only (in memory: each process asks ONVIF once, see _check_camera).
        self._subs: dict[str, tuple[str, str]] = {}
        self._subs_sought: set[str] = set()
        self._worker_checks_seen = 0  # check_results id up to which the workers' checks are counted
        self._stop = asyncio.Event()
        self._reload = asyncio.Event()
        self._wake_claim = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self.started = asyncio.Event()
        self.metrics = None  # CameraMetricsCollector, set by the app
        self.http = None
        self._services: list[tuple[Callable[[], Awaitable[None]], Callable[[], Awaitable[None]]]] = []

    def add_service(self, start: Callable[[], Awaitable[None]], stop: Callable[[], Awaitable[None]]) -> None:
        """Something started with the daemon and stopped after it drained (the HTTP server). Both
        are called then, not now: a daemon built only to validate the configuration starts nothing."""
        self._services.append((start, stop))

    # -- configuration ------------------------------------------------------------------------------
    @staticmethod
    def _policy(config: Config, tag: str | None = None) -> StatusPolicy:
        """The status section's policy, or with `tag` its status.by_tag entry laid over it."""
        raw = {k: v for k, v in config.status.items() if k not in ("grouping", "by_tag")}
        if tag is not None:
            raw.update(config.status["by_tag"][tag])
        # The schedule section is the single place for intervals.
        raw.update(
            interval_s=config.schedule.interval,
            onvif_interval_s=config.schedule.onvif_interval,
            max_check_interval_s=max(config.schedule.broken_max_interval, config.schedule.interval),
        )
        return StatusPolicy(**raw)

    @staticmethod
    def by_tag(config: Config) -> dict[str, dict[str, Any]]:
        """status.by_tag, checked for its shape: tag -> status settings."""
        by_tag = config.status.get("by_tag") or {}
        if not isinstance(by_tag, dict) or not all(isinstance(v, dict) for v in by_tag.values()):
            raise ValueError("status.by_tag must map each tag to status settings (e.g. still-view: {unchanged_after_s: 0})")
        return by_tag

    @classmethod
    def _tag_policies(cls, config: Config) -> dict[str, StatusPolicy]:
        """status.by_tag: cameras carrying a tag get that entry's settings over the status section's
        (a view where nothing ever happens: `unchanged_after_s: 0`), in the order the entries are listed."""
        out = {}
        for tag in cls.by_tag(config):
            try:
                out[tag] = cls._policy(config, tag)
            except ValueError as exc:
                raise ValueError(f"status.by_tag.{tag}: {exc}") from None
        return out

    def policy_for(self, cam: StoredCamera) -> StatusPolicy:
        """The status policy of `cam`: that of the first status.by_tag entry it carries a tag of."""
        return next((p for tag, p in self.tag_policies.items() if tag in cam.tags), self.policy)

    @staticmethod
    def _limits(config: Config, share: int = 1) -> Limits:
        # Worker processes split the machine's limits (per_parent at least 1 each).
        return Limits(max_in_flight=-(-config.schedule.max_in_flight // share),
                      per_parent=max(1, config.schedule.per_parent // share), jitter=0.0)

    # -- lifecycle ----------------------------------------------------------------------------------
    async def start(self) -> None:
        self.store = await open_store(self.config.database.url, migrate=True)
        await warm_wsdls()  # parse the ONVIF WSDLs once, not once per camera
        self.leases = Leases(self.store, self.node_id, ttl=self.lease_ttl)
        await self.leases.register(hostname=socket.gethostname(), pid=os.getpid(),
                                   capacity=self.scheduler.limits.max_in_flight)
        added = await self.leases.sync(spread=min(self.config.schedule.interval, 60.0))
        if self.role == "primary" and self.workers > 1:
            assert self.config_path is not None
            # After the migration and the lease rows: workers find a ready registry.
            self.pool = WorkerPool(self.config_path, self.node_id, self.workers, self.worker_args)
            self.pool.start()
        await self._refresh_topology()
        await self._refresh_maintenance()
        await self._refresh_views()
        for exporter in self.exporters:
            await exporter.start()
        for start, _ in self._services:
            await start()
        n = len(self.views)
        log.info("node %s: %d cameras in the registry (%d new), checking every %gs", self.node_id, n, added,
                 self.config.schedule.interval)
        self._tasks = [
            asyncio.create_task(self.scheduler.run(self._stop), name="scheduler"),
            asyncio.create_task(self._claim_loop(), name="claim"),
            asyncio.create_task(self._every(self.lease_ttl / 3, self._heartbeat), name="heartbeat"),
            asyncio.create_task(self._every(15.0, self._refresh_caches), name="caches"),
            asyncio.create_task(self._watchdog(), name="watchdog"),
        ]
        if self.role == "primary":
            self._tasks += [
                # at once when a camera behind a parent fails (its siblings' failures given a moment to
                # land), so the parent's incident opens before its cameras' own alarms would go out
                asyncio.create_task(self._every(10.0, self._refresh_groups, wake=self._wake_groups, settle=0.5),
                                    name="groups"),
                asyncio.create_task(self._every(30.0, self._replay_unnotified), name="replay"),
                asyncio.create_task(self._every(3600.0, self._prune), name="prune"),
            ]
        if self.pool is not None:
            # The workers' checks from now on are counted in /metrics (history is not this run's).
            self._worker_checks_seen = await self._last_check_id()
            self._tasks += [
                asyncio.create_task(self.pool.supervise(self._stop), name="workers"),
                asyncio.create_task(self._every(WORKER_REPLAY_EVERY_S, self._replay_workers), name="worker-replay"),
            ]
        notify("READY=1")
        notify(f"STATUS=checking {n} cameras")
        self.started.set()

    async def stop(self) -> None:
        """Stop claiming, let checks in flight finish and commit, give back unstarted leases."""
        notify("STOPPING=1")
        self._stop.set()
        if self.pool is not None:
            self.pool.begin_stop()  # they drain at the same time as this process
        sched = self._tasks[0] if self._tasks else None
        if sched is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(sched, timeout=120)
        for t in self._tasks[1:]:
            t.cancel()
        await asyncio.gather(*self._tasks[1:], return_exceptions=True)
        if self.leases is not None:
            for lease in [*self._held.values(), *self._reclaimed.values()]:
                with contextlib.suppress(Exception):
                    await self.leases.release(lease)
            self._held.clear()
            self._reclaimed.clear()
        if self.pool is not None:
            await self.pool.wait_stopped(WORKER_STOP_TIMEOUT_S)
            try:  # what they committed while draining
                await self._replay_workers()
            except Exception as exc:
                log.warning("publishing the workers' last transitions failed: %s", mask_text(str(exc)))
        for exporter in self.exporters:
            with contextlib.suppress(Exception):
                await exporter.stop()
        for _, stop in reversed(self._services):
            with contextlib.suppress(Exception):
                await stop()
        if self.store is not None:
            await self.store.close()
        log.info("node %s stopped", self.node_id)

    async def run_forever(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._stop.set)
        loop.add_signal_handler(signal.SIGHUP, self._reload.set)
        await self.start()
        try:
            while not self._stop.is_set():
                reload_wait = asyncio.ensure_future(self._reload.wait())
                stop_wait = asyncio.ensure_future(self._stop.wait())
                await asyncio.wait([reload_wait, stop_wait], return_when=asyncio.FIRST_COMPLETED)
                reload_wait.cancel()
                stop_wait.cancel()
                if self._reload.is_set() and not self._stop.is_set():
                    self._reload.clear()
                    await self.reload()
        finally:
            await self.stop()

    async def reload(self) -> None:
        """SIGHUP: re-read the configuration (kept as it was if invalid) and the registry."""
        notify("RELOADING=1")
        if self.config_path is not None:
            try:
                new = load_config(self.config_path)
                policy, tag_policies = self._policy(new), self._tag_policies(new)
                self.policy, self.tag_policies = policy, tag_policies
                # schedule.workers is fixed at start (changing it needs a restart).
                self.scheduler.limits = self._limits(new, self.workers)
                self.config = new
                tls_context.cache_clear()  # a renewed rtsps CA file (probe.tls_ca_file) is read again
                log.info("configuration reloaded from %s", self.config_path)
                if self.http is not None:
                    self.http.reload_tls(new.http)
            except (ConfigError, ValueError) as exc:
                log.error("configuration not reloaded, keeping the running one: %s", exc)
        if self.pool is not None:
            self.pool.signal_all(signal.SIGHUP)
        assert self.leases is not None
        added = await self.leases.sync(spread=min(self.config.schedule.interval, 60.0))
        await self._refresh_caches()
        log.info("registry reloaded: %d cameras, %d new", len(self.views), added)
        notify("READY=1")

    # -- claiming work ------------------------------------------------------------------------------
    async def _claim_loop(self) -> None:
        assert self.leases is not None
        while not self._stop.is_set():
            capacity = self.scheduler.limits.max_in_flight * 2 - len(self._held)
            try:
                got = await self.leases.claim(capacity, horizon=2.0)
            except Exception as exc:  # database away: keep going, nothing held is lost
                log.warning("claiming cameras failed (will retry): %s", mask_text(str(exc)))
                got = []
                await asyncio.sleep(2.0)
            for lease in got:
                if lease.camera_id in self._held:
                    # Its previous check committed (freeing the lease) but has not finished yet; that
                    # job's clean-up would drop this lease, leaving the camera held and never checked.
                    self._reclaimed[lease.camera_id] = lease
                    continue
                self._held[lease.camera_id] = lease
                self._schedule_lease(lease)
            self._wake_claim.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake_claim.wait(), timeout=1.0)

    def _schedule_lease(self, lease: Lease) -> None:
        now_wall, now_loop = time.time(), asyncio.get_running_loop().time()
        due_wall = lease.next_check_at.timestamp() if lease.next_check_at else now_wall
        self.scheduler.upsert(Job(
            camera_id=lease.camera_id,
            parent_id=self._parent_of.get(lease.camera_id),
            interval=self.config.schedule.interval,
            due=now_loop + max(0.0, due_wall - now_wall),
            priority=lease.priority > 0,
        ))

    async def _run_job(self, job: Job) -> None:
        lease = self._held.get(job.camera_id)
        try:
            if lease is not None:
                await self._check_camera(lease)
        except LeaseLost as exc:
            self.stats.lease_lost += 1
            log.warning("%s", exc)
        except Exception:
            self.stats.errors += 1
            log.exception("check of camera %s failed unexpectedly", job.camera_id)
            if lease is not None and self.leases is not None:
                with contextlib.suppress(Exception):
                    await self.leases.reschedule(job.camera_id, now_utc() + timedelta(seconds=self.config.schedule.interval), priority=0)
                    await self.leases.release(lease)
        finally:
            self.scheduler.remove(job.camera_id)  # one-shot: the next check comes from a new claim
            self._held.pop(job.camera_id, None)
            again = self._reclaimed.pop(job.camera_id, None)
            if again is not None:
                self._held[job.camera_id] = again
                # After the scheduler's end-of-run bookkeeping for this job, which would override it.
                asyncio.get_running_loop().call_soon(self._schedule_lease, again)
            self._wake_claim.set()

    # -- one camera ---------------------------------------------------------------------------------
    async def _check_camera(self, lease: Lease) -> None:
        assert self.store is not None and self.leases is not None
        cam = await self.store.get_camera(lease.camera_id)
        if cam is None or not cam.enabled:
            await self.leases.release(lease)
            return
        raw = await self.leases.load_state(cam.id)
        state = CameraState.from_json(raw) if raw else new_state(cam.id)
        try:
            creds = resolve_credentials(cam, self.config.credentials)
        except TargetError as exc:
            log.error("camera %s: %s; checking without credentials", cam.id, exc)
            creds = Credentials(None, None)
        now = time.time()
        maintenance = self._maintenance_for(cam.id, now)
        results: list[CheckResult] = []

        # Decided before the ONVIF check, whose result moves the state's last check time to now.
        main_due = self._main_due(state, now)
        onvif_next = state.next_checks.get("onvif")
        # A camera registered with its main stream only: ask ONVIF for a sub-stream at once (once per
        # process), not at the next ONVIF check, which may be an hour away after a restart.
        seek_sub = (cam.onvif_endpoint is not None and cam.main_stream_url is not None
                    and cam.sub_stream_url is None and cam.id not in self._subs_sought)
        if cam.onvif_endpoint and (onvif_next is None or onvif_next.at <= now or seek_sub):
            self._subs_sought.add(cam.id)
            r = await run_onvif_check(
                cam, state, creds, timeout=self.config.probe.timeout, policy=self.policy_for(cam),
                maintenance=maintenance, node_id=self.node_id,
            )
            results.append(r)
            state = r.evaluation.state
            if isinstance(r.observation, OnvifObservation):
                self._learn_sub(cam, r.observation)
                self._seed_gops(cam, r.observation)

        try:
            role_url = choose_stream(cam, want_main=main_due, sub=self.sub_stream(cam))
            self._cannot_check.pop(cam.id, None)
        except TargetError as exc:
            if self._cannot_check.get(cam.id) != str(exc):  # said once, not every cycle
                log.error("camera %s: %s", cam.id, exc)
                self._cannot_check[cam.id] = str(exc)
            role_url = None
        if role_url is not None:
            r = await self._stream_check(cam, state, creds, role_url, maintenance)
            if role_url[1] == "sub":
                r = await self._main_if_sub_failed(cam, state, creds, role_url[0], r, maintenance)
            results.append(r)
        if not results:
            await self.leases.reschedule(cam.id, now_utc() + timedelta(seconds=self.config.schedule.interval), priority=0)
            await self.leases.release(lease)
            return
        await self._commit(cam, lease, results)

    async def _stream_check(self, cam: StoredCamera, state: CameraState, creds: Credentials,
                            role_url: tuple[str, StreamRole], maintenance: MaintenanceInfo | None,
                            sub_down: Observation | None = None) -> CheckResult:
        pc = self.config.probe
        gop, wait = self.keyframe_plan(cam, role_url[1])
        settings = RtspSettings(
            window=pc.window, want_snapshot=True, snapshot_max_width=pc.snapshot_max_width, keyframe_wait=wait,
            **pc.rtsp_tls(),
        )
        r = await run_stream_check(
            cam, state, creds, role_url=role_url, settings=settings, transport=pc.transport, timeout=pc.timeout,
            policy=self.policy_for(cam), maintenance=maintenance,
            reference=await self._reference(cam.id),
            node_id=self.node_id, gop_s=gop, sub_down=sub_down,
        )
        obs = r.observation
        if isinstance(obs, Observation) and obs.failure in (None, "decode_failed"):
            # A read with no keyframe at all (decode_failed) says the GOP is longer than it, too.
            self._gops[(cam.id, role_url[1])] = (obs.stream.gop_s or gop, obs.stream.gop_min_s)
        return r

    async def _main_if_sub_failed(self, cam: StoredCamera, state: CameraState, creds: Credentials, sub_url: str,
                                  r: CheckResult, maintenance: MaintenanceInfo | None) -> CheckResult:
        """The sub-stream check `r`, or, when it failed, a check of the main stream in its place
        (the sub-stream's failure is not counted: the recorded stream decides whether the camera is
        broken). For a registered sub-stream that check carries `sub_stream_down` (degraded: the
        live view is lost) while the main stream plays; a sub-stream ONVIF gave is forgotten
        instead (our guess failed, not the camera) until the next ONVIF check offers it again."""
        obs = r.observation
        failure = obs.failure if isinstance(obs, Observation) else None
        if not main_in_place_of_sub(sub_url, cam.main_stream_url, failure):
            if failure is None and self._sub_down.pop(cam.id, None) is not None:
                log.info("camera %s: its sub-stream %s delivers again", cam.id, mask_url(sub_url))
            return r
        assert cam.main_stream_url is not None and isinstance(obs, Observation)
        registered = bool(cam.sub_stream_url)
        if not registered:
            log.warning("camera %s: the sub-stream its ONVIF lists (%s) failed (%s); checking the registered "
                        "main stream instead", cam.id, mask_url(sub_url), failure)
            self._subs.pop(cam.id, None)
        elif self._sub_down.get(cam.id) != failure:  # said once per cause, not every cycle
            log.warning("camera %s: its sub-stream %s failed (%s); checking the main stream in its place",
                        cam.id, mask_url(sub_url), failure)
            self._sub_down[cam.id] = str(failure)
        return await self._stream_check(cam, state, creds, (cam.main_stream_url, "main"), maintenance,
                                        sub_down=obs if registered else None)

    def keyframe_plan(self, cam: StoredCamera, role: str) -> tuple[float | None, float | None]:
        """(the GOP on record, how long to wait for a second keyframe: None = the probe's default)
        for a check of `cam`'s `role` stream, from what its last checks measured (or ONVIF said;
        after a restart, the registry's measured GOP)."""
        pc = self.config.probe
        gop, gop_min = self._gops.get((cam.id, role), (cam.measured.gop, None))
        return gop, keyframe_wait_s(pc.window, gop, gop_min, pc.max_keyframe_wait)

    def sub_stream(self, cam: StoredCamera) -> str | None:
        """The sub-stream URL ONVIF gave for a camera registered with its main stream only."""
        found = self._subs.get(cam.id)
        return found[1] if found is not None and found[0] == cam.main_stream_url and not cam.sub_stream_url else None

    def _learn_sub(self, cam: StoredCamera, obs: OnvifObservation) -> None:
        """Checks between main-stream checks go to the smaller stream ONVIF lists (onvif.sub_stream_url):
        a 640x360 picture costs about a tenth of a 1080p one to decode."""
        if cam.sub_stream_url or not cam.main_stream_url or not obs.profiles:
            return
        url = sub_stream_url(cam.main_stream_url, obs.profiles)
        if url is None:
            self._subs.pop(cam.id, None)
        elif self._subs.get(cam.id) != (cam.main_stream_url, url):
            self._subs[cam.id] = (cam.main_stream_url, url)
            log.info("camera %s: checking its sub-stream %s between main-stream checks (from ONVIF)",
                     cam.id, mask_url(url))

    def _seed_gops(self, cam: StoredCamera, obs: OnvifObservation) -> None:
        """The encoder's configured GOP (ONVIF GovLength / frame rate) for streams no check has
        measured yet: a long-GOP camera's first stream check then waits for its second keyframe."""
        for role, url in (("main", cam.main_stream_url), ("sub", cam.sub_stream_url or self.sub_stream(cam))):
            if not url or (cam.id, role) in self._gops:
                continue
            profile = match_profile(url, obs.profiles)
            if profile is not None and profile.get("gop_s"):
                self._gops[(cam.id, role)] = (float(profile["gop_s"]), None)

    def _main_due(self, state: CameraState, now: float) -> bool:
        """The main (recorded) stream once per claims interval, the cheap sub-stream otherwise; and
        the main stream for as long as a failure seen on it is being confirmed or is not yet cured
        (the sub-stream playing on says nothing of what is recorded)."""
        src = state.sources.get("stream")
        if src is None or src.last_main_at is None:
            return True  # a first check (or a state kept before the time of the main check was)
        if src.bad_stream == "main" and (src.consecutive_failures or src.broken):
            return True
        if any(t.source == "stream" and (not t.confirmed or t.absent) for k, t in state.findings.items()
               if k in MAIN_STREAM_FINDINGS):
            return True  # a claim the main stream contradicted (or stopped contradicting), confirmed there
        # Measured from the latest main-stream check itself: comparing which claims interval the
        # previous check and this one fall in missed every boundary that fell while a check ran, so
        # with checks as long as the gaps between them the main stream was never read again.
        return now - src.last_main_at >= self.config.schedule.onvif_interval

    async def _commit(self, cam: StoredCamera, lease: Lease, results: list[CheckResult]) -> None:
        assert self.leases is not None
        results = await self._cover_by_parent(cam, results)
        final = results[-1].evaluation
        state = final.state
        nxt = final.next_check
        now = time.time()
        # The earliest next check of any source drives the lease's due time.
        due = min((n.at for n in state.next_checks.values()), default=now + self.config.schedule.interval)
        if nxt is not None:
            due = min(due, nxt.at)
        priority = 1 if any(n.priority for n in state.next_checks.values()) else 0
        snapshot = next((r.snapshot for r in reversed(results) if r.snapshot), None)
        if snapshot:
            self._snapshots[cam.id] = snapshot
            self._snapshots.move_to_end(cam.id)
            while len(self._snapshots) > REFERENCE_CACHE:
                self._snapshots.popitem(last=False)
        committed: list[tuple[CheckResult, int | None]] = []
        for i, r in enumerate(results):
            last = i == len(results) - 1
            t = transition_record(r)
            evidence_items = []
            if t is not None and r.evaluation.transition is not None and r.evaluation.transition.capture_evidence:
                if snapshot:
                    evidence_items.append(snapshot_evidence(snapshot, EvidenceKind.AT_CHANGE, now))
                evidence_items.extend(await self._earlier_pictures(cam.id, r.evaluation.transition.findings,
                                                                   r.evaluation.state))
            last_good = None
            # The check's own verdict with what its history added: a picture that has not changed
            # for hours is no good picture, though the probe alone found it working.
            if (last and r.snapshot and r.check.verdict == "working"
                    and now - self._last_good_at.get(cam.id, 0.0) >= self.config.history.good_picture_every_s):
                last_good = snapshot_evidence(r.snapshot, EvidenceKind.LAST_GOOD, now)
            run_start = None
            if r.snapshot and self._picture_run_begins(cam, r):
                run_start = snapshot_evidence(r.snapshot, EvidenceKind.UNCHANGED_SINCE, now)
            st = r.evaluation.state
            stream_src = st.sources.get("stream")
            commit = CheckCommit(
                check=r.check,
                verdict_state=st.to_json(),
                status=st.status.value,
                status_since=datetime.fromtimestamp(st.since, tz=timezone.utc) if st.since else None,
                status_reason=st.reason or None,
                status_reason_data=st.reason_data.model_dump() if st.reason_data else None,
                findings=list(dict.fromkeys(state_findings(st))),
                consecutive_failures=stream_src.consecutive_failures if stream_src else 0,
                consecutive_successes=stream_src.consecutive_successes if stream_src else 0,
                next_check_at=datetime.fromtimestamp(due, tz=timezone.utc),
                priority=priority,
                transition=t,
                suppressed_by=r.evaluation.transition.suppressed_by if r.evaluation.transition else None,
                evidence=evidence_items,
                last_good=last_good,
                run_start=run_start,
                camera_facts=r.camera_facts,
            )
            saved = await self.leases.commit(lease, commit, release=last)
            if last_good is not None:
                self._last_good_at[cam.id] = now
            committed.append((r, saved.id if saved is not None else None))
            self.stats.checks += 1
        if snapshot and state.status == Status.working and not state.confirmed_findings():
            await self._auto_reference(cam.id, snapshot)
        self._durations[cam.id] = sum(r.check.duration_s or 0.0 for r in results)
        if self.metrics is not None:
            for r in results:
                self.metrics.observe_check(cam.id, r.check.duration_s or 0.0, r.check.verdict)
        if self.role == "worker":
            # No exporters here: the primary publishes these transitions (left unnotified for it).
            for r, _ in committed:
                tr = r.evaluation.transition
                if tr is not None:
                    self.stats.transitions += 1
                    log.info("camera %s: %s -> %s: %s", cam.id, tr.from_status.value, tr.to_status.value, tr.reason)
            return
        fresh = await self.store.get_camera(cam.id) if self.store else None
        view = camera_view(fresh or cam, state, label_keys=self._label_keys(),
                           last_check_duration=self._durations.get(cam.id))
        self.views[cam.id] = view
        for exporter in self.exporters:
            exporter.publish_state(view)
        for r, tid in committed:
            tr = r.evaluation.transition
            if tr is None:
                continue
            self.stats.transitions += 1
            log.info("camera %s: %s -> %s: %s", cam.id, tr.from_status.value, tr.to_status.value, tr.reason)
            if tid is not None and (tr.notify or await self._uncovered_since(tid, tr.suppressed_by, tr.camera_id,
                                                                              tr.from_status, tr.to_status, tr.at)):
                self._publish_transition(tid, view, tr.from_status.value, tr.reason, tr.at, tuple(tr.findings),
                                         reason_data=tr.reason_data.model_dump() if tr.reason_data else None)
        if cam.parent_id and (any(r.evaluation.transition for r in results) or (state.sources.get("stream") and state.sources["stream"].consecutive_failures)):
            self._dirty_parents.add(cam.parent_id)
            self._wake_groups.set()

    def _publish_transition(self, tid: int, view: CameraView, from_status: str, reason: str, at: float,
                            findings: tuple[str, ...], *, to_status: str | None = None, mark: bool = True,
                            reason_data: dict[str, Any] | None = None) -> None:
        event = TransitionEvent(
            event_id=f"camcheck-t{tid}", camera_id=view.camera_id, at=at, from_status=from_status,
            to_status=to_status or view.status, reason=reason, findings=findings, view=view, reason_data=reason_data,
        )
        for exporter in self.exporters:
            exporter.publish_transition(event)  # durable before it returns
        if mark and self.leases is not None:
            task = asyncio.create_task(self.leases.mark_notified([tid]))
            task.add_done_callback(lambda t: t.exception() and log.warning("marking transition notified failed"))

    def _label_keys(self) -> tuple[str, ...]:
        prom = self.config.exporters.get("prometheus") if isinstance(self.config.exporters, dict) else None
        labels = prom.get("labels") if isinstance(prom, dict) else None
        return tuple(labels) if labels is not None else ("district", "agency")

    # -- evidence -----------------------------------------------------------------------------------
    async def _reference(self, camera_id: str) -> bytes | None:
        if camera_id in self._references:
            self._references.move_to_end(camera_id)
            return self._references[camera_id]
        assert self.store is not None
        jpeg = await self.store.latest_jpeg(camera_id, EvidenceKind.REFERENCE)
        self._references[camera_id] = jpeg
        while len(self._references) > REFERENCE_CACHE:
            self._references.popitem(last=False)
        return jpeg

    def forget_reference(self, camera_id: str) -> None:
        self._references.pop(camera_id, None)

    def latest_snapshot(self, camera_id: str) -> bytes | None:
        return self._snapshots.get(camera_id)

    def wake_claims(self) -> None:
        self._wake_claim.set()

    async def _auto_reference(self, camera_id: str, jpeg: bytes) -> None:
        """A camera verified working with no findings gets its view recorded as the reference, so a
        later move or blocked view is detected (re-baseline through the API)."""
        if not self.config.probe.auto_reference or await self._reference(camera_id) is not None:
            return
        assert self.store is not None
        await self.store.add_evidence(camera_id, snapshot_evidence(jpeg, EvidenceKind.REFERENCE, time.time()))
        self._references[camera_id] = jpeg

    def _picture_run_begins(self, cam: StoredCamera, r: CheckResult) -> bool:
        """This check is the RUN_PICTURE_CHECK-th of a run of unchanged pictures (verdict.unchanged):
        its picture is kept as the run's first, the proof should the run last."""
        if not self.policy_for(cam).unchanged_after_s or r.check.stream is None:
            return False
        run = r.evaluation.state.pictures.get(r.check.stream)
        return (run is not None and run.checks == RUN_PICTURE_CHECK
                and run.last >= r.check.checked_at.timestamp())  # the run counted this check

    async def _earlier_pictures(self, camera_id: str, findings: Sequence[str],
                                state: CameraState) -> list[EvidenceRecord]:
        """The stored pictures a status change carries beside the one at the change, each with the
        time it was taken: the last good one; for `unchanged`, the first picture of the run (the
        same picture, hours earlier) and a good one only if taken before the run began (the good
        pictures kept during the run show the same unchanged view)."""
        assert self.store is not None
        run = longest_run(state.pictures) if "unchanged" in findings else None
        if run is None:
            good = await self.store.latest_evidence(camera_id, EvidenceKind.LAST_GOOD)
            return [evidence_copy(good, EvidenceKind.LAST_GOOD)] if good else []
        since = datetime.fromtimestamp(run.since, tz=timezone.utc)
        first = await self.store.first_evidence(camera_id, EvidenceKind.UNCHANGED_SINCE, since=since)
        before = await self.store.latest_evidence(camera_id, EvidenceKind.LAST_GOOD, before=since)
        return ([evidence_copy(first, EvidenceKind.UNCHANGED_SINCE)] if first else []) + (
            [evidence_copy(before, EvidenceKind.LAST_GOOD)] if before else [])

    # -- maintenance and parents ----------------------------------------------------------------------
    def _maintenance_for(self, camera_id: str, now: float) -> MaintenanceInfo | None:
        return active_window(camera_id, self._parent_chain.get(camera_id, []), self._windows, now)

    async def _refresh_maintenance(self) -> None:
        assert self.store is not None
        now = now_utc()
        windows = await self.store.list_maintenance(active_at=now)
        # Also windows about to start within a minute, so entry happens on time.
        soon = await self.store.list_maintenance(active_at=now + timedelta(seconds=60))
        seen: dict[str, MaintenanceWindow] = {}
        for w in [*windows, *soon]:
            seen[str(w.id)] = MaintenanceWindow(
                id=str(w.id), scope=w.scope.value, target_id=w.target_id, reason=w.reason, owner=w.owner,
                starts_at=w.starts_at.timestamp(), expires_at=w.expires_at.timestamp(),
                ended_at=w.ended_at.timestamp() if w.ended_at else None, ended_by=w.ended_by,
            )
        self._windows = list(seen.values())
        targets_now = {w.id: w.target_id for w in self._windows}
        active = {w.id for w in self._windows if w.is_active(time.time())}
        changed = active ^ self._active_windows
        self._active_windows = active
        known = {**self._window_targets, **targets_now}  # ended windows are no longer listed
        self._window_targets = targets_now
        if changed and self.leases is not None:
            # A window started or ended: check the cameras it covers now (entry/exit happen at once).
            targets = {known[w] for w in changed if w in known}
            affected = [cid for cid, chain in self._parent_chain.items() if cid in targets or targets & set(chain)]
            await self.leases.reschedule_many(affected, now_utc(), priority=1)
            self._wake_claim.set()

    async def _refresh_topology(self) -> None:
        assert self.store is not None
        async with self.store.engine.connect() as conn:
            cam_rows = (await conn.execute(sa.select(cameras.c.id, cameras.c.parent_id))).all()
            parent_rows = (await conn.execute(
                sa.select(parents.c.id, parents.c.parent_id, parents.c.incident, parents.c.name))).all()
        up = {pid: ppid for pid, ppid, _, _ in parent_rows}
        self._upstream = {pid: ppid for pid, ppid in up.items() if ppid}
        self._parent_names = {pid: name for pid, _, _, name in parent_rows if name}
        self._parent_of = {cid: pid for cid, pid in cam_rows}
        chains: dict[str, list[str]] = {}
        for cid, pid in cam_rows:
            chain: list[str] = []
            while pid and pid not in chain and len(chain) < 16:
                chain.append(pid)
                pid = up.get(pid)
            chains[cid] = chain
        self._parent_chain = chains
        incidents = {pid: ParentIncident.model_validate(inc) for pid, _, inc, _ in parent_rows if inc}
        self._incidents = {k: v for k, v in incidents.items() if _current(v)}

    async def _refresh_groups(self) -> None:
        """Parent incidents: evaluated for parents with failing children, persisted on the parent row;
        the node whose update opens (or closes) the incident is the one that announces it."""
        assert self.store is not None
        down = {pid for pid, inc in self._incidents.items() if inc.open}
        dirty = self._dirty_parents | down
        if self.group_policy.hold_s <= 0:
            # Nothing waits for its site: the site is judged while a recorder behind it is down (with
            # a wait, a recorder's incident that opens has its site judged at once, as it waits).
            dirty |= {up for pid in down if (up := self._upstream.get(pid))}
        self._dirty_parents = set()
        if self.pool is not None:
            # Cameras the workers check do not mark their parents dirty here: ask the registry.
            async with self.store.engine.connect() as conn:
                dirty |= set((await conn.execute(
                    sa.select(cameras.c.parent_id).distinct().where(
                        cameras.c.parent_id.is_not(None), cameras.c.enabled.is_(True),
                        cameras.c.consecutive_failures > 0)
                )).scalars().all())
        for pid in sorted(dirty):
            await self._judge_parent(pid)

    async def _judge_parent(self, pid: str, fresh: dict[str, CameraState] | None = None) -> ParentIncident | None:
        """Evaluate one parent now from its children's states (`fresh`: states not yet committed, over
        the registry's), open or close its incident; the parent's incident, open or recently closed."""
        assert self.store is not None and self.leases is not None
        async with self._groups_lock:  # one judgement at a time here: checks commit concurrently
            return await self._judge_parent_now(pid, fresh)

    async def _judge_parent_now(self, pid: str, fresh: dict[str, CameraState] | None) -> ParentIncident | None:
        judged = await self._judge_tree(pid, fresh, set(), await self._load_tree(pid))
        for _ in range(MAX_UPSTREAM_HOPS):
            if judged.told != "held" or judged.upstream is None:
                break
            # Its upstream device decides who tells it (judging it judges this one again, as its child);
            # that one's incident may wait for its own upstream in turn.
            judged = await self._judge_tree(judged.upstream, fresh, set(), await self._load_tree(judged.upstream))
        return self._incidents.get(pid)

    async def _load_tree(self, pid: str) -> _Tree:
        """The parent, the devices behind it (level by level) and their cameras, as the registry holds
        them now: one read per level and one for the cameras, not three per device."""
        assert self.store is not None
        cols = (parents.c.id, parents.c.incident, parents.c.incident_told, parents.c.parent_id)
        tree = _Tree()
        async with self.store.engine.connect() as conn:
            level = [pid]
            for row in (await conn.execute(sa.select(*cols).where(parents.c.id == pid))).all():
                tree.rows[row[0]] = (row[1], row[2], row[3])
            while level and len(tree.rows) < MAX_DEVICES_JUDGED:
                found = (await conn.execute(sa.select(*cols).where(parents.c.parent_id.in_(level)))).all()
                level = []
                for did, inc, told, up in found:
                    tree.below.setdefault(up, []).append(did)
                    if did not in tree.rows:
                        tree.rows[did] = (inc, told, up)
                        level.append(did)
            ids = list(tree.rows) or [pid]
            for cid, parent, js in (await conn.execute(sa.select(cameras.c.id, cameras.c.parent_id, cameras.c.verdict_state)
                                                      .where(cameras.c.parent_id.in_(ids), cameras.c.enabled.is_(True)))).all():
                tree.cameras.setdefault(parent, []).append((cid, js))
        return tree

    async def _judge_tree(self, pid: str, fresh: dict[str, CameraState] | None, seen: set[str], tree: _Tree) -> _Judged:
        """Judge one parent from its cameras and the devices behind it (each judged first, so a site
        sees its recorders' incidents as they stand now), open or close its incident, and settle who
        tells the incidents of the devices behind it that wait for it. `tree`: the registry's rows."""
        assert self.store is not None and self.leases is not None
        seen.add(pid)
        stored, told, upstream = tree.rows.get(pid, (None, None, None))
        below = tree.below.get(pid, [])
        children = {cid: (CameraState.from_json(js) if js else new_state(cid)) for cid, js in tree.cameras.get(pid, [])}
        children.update({cid: st for cid, st in (fresh or {}).items() if cid in children})
        # what its upstream counts of it: cameras in maintenance are left out, as in its own count
        looked = {cid: (s.last_check_at if (s := st.sources.get("stream")) is not None else None)
                  for cid, st in children.items() if st.status != Status.maintenance}
        nested: dict[str, _Judged] = {}
        for d in sorted(below):
            if d not in seen and len(seen) < MAX_DEVICES_JUDGED:
                nested[d] = await self._judge_tree(d, fresh, seen, tree)
        devices = {d: j.as_child(self.group_policy.min_children) for d, j in nested.items()}
        latest = ParentIncident.model_validate(stored) if stored else None
        current = latest if latest is not None and latest.open else None
        now = time.time()
        g = evaluate_group(pid, children, now, self.group_policy, current, devices)
        await self._probe(g, nested)
        incident = g.incident or latest
        if g.incident is not None and (g.opened or g.closed or g.incident != current):
            incident, told = await self._record_judgement(pid, g, current, told, held=upstream is not None, now=now)
        if told == "held" and incident is not None and incident.open and (
                upstream is None or now - (incident.held_since or now) > 2 * self.group_policy.hold_s):
            # Nobody left to decide (its upstream device was unregistered, or cannot be judged):
            # its own, rather than never told.
            incident, told = await self._release(incident)
        if incident is not None and _current(incident):
            self._incidents[pid] = incident
        else:
            self._incidents.pop(pid, None)
        for d, j in nested.items():
            if j.told == "held" and j.incident is not None and j.incident.open:
                await self._settle(j.incident, pid, g, now)
        for j in nested.values():
            looked.update(j.cameras)
        return _Judged(incident=incident, told=told, upstream=upstream, cameras=looked)

    async def _probe(self, g: GroupEvaluation, nested: dict[str, _Judged]) -> None:
        """Check at once the children the evaluation names (a device: its cameras not checked since)."""
        assert self.leases is not None
        due: list[str] = []
        for c in g.probe_children:
            if c in nested:
                due += nested[c].to_probe(g.probe_since or time.time(), self.group_policy.min_children)
            else:
                due.append(c)
        if due:
            await self.leases.reschedule_many(due, now_utc(), priority=1)
            self._wake_claim.set()

    async def _record_judgement(self, pid: str, g: GroupEvaluation, current: ParentIncident | None,
                                told: str | None, *, held: bool, now: float) -> tuple[ParentIncident | None, str | None]:
        """Store the parent's incident as judged and announce what is this node's to announce; the
        incident and its told state as this node knows them after (a lost race: as judged, until the
        next judgement reads the registry again)."""
        assert g.incident is not None
        name = self._parent_names.get(pid)
        if g.opened:
            # Behind an upstream device: held until that one is judged (a site's uplink is one incident).
            hold = held and self.group_policy.hold_s > 0
            inc = g.incident.model_copy(update={"held_since": now}) if hold else await self._with_address(g.incident)
            if not await self._save_incident(pid, None, inc, told="held" if hold else "told"):
                return g.incident, told
            if not hold:
                self._announce_incident(inc, opened=True, name=name)
            return inc, "held" if hold else "told"
        # Only while its told state is as read: a stale copy never undoes another node's cover.
        if not await self._save_incident(pid, current, g.incident, expect_told=told) or not g.closed:
            return g.incident, told
        if told in (None, "told"):  # announced as its own: so is its end (held or covered: nobody's)
            self._announce_incident(g.incident, opened=False, name=name)
        await self._announce_still_failing(g.incident)
        await self._tell_uncovered(g.incident)
        return g.incident, told

    async def _settle(self, inc: ParentIncident, upstream: str, g: GroupEvaluation, now: float) -> None:
        """A device's incident held for its upstream device's judgement `g`: covered by the upstream's
        open incident, still waiting while the upstream's other children are being checked (at most
        `hold_s`), or told as its own."""
        if g.incident is not None and g.incident.open:
            covered = inc.model_copy(update={"covered_by": upstream, "held_since": None})
            if await self._retell(inc.parent_id, "held", "covered", covered):
                self._incidents[inc.parent_id] = covered
                log.info("incident: parent %s is behind %s's incident", inc.parent_id, upstream)
            return
        if g.probe_children and now - (inc.held_since or now) < self.group_policy.hold_s:
            return
        await self._release(inc)

    async def _release(self, inc: ParentIncident) -> tuple[ParentIncident, str]:
        """A held incident told as its own (once: the registry arbitrates); it and its told state after."""
        own = await self._with_address(inc.model_copy(update={"held_since": None}))
        if not await self._retell(inc.parent_id, "held", "told", own):
            return inc, "held"  # another node or task moved it first: read again at the next judgement
        self._incidents[inc.parent_id] = own
        self._announce_incident(own, opened=True, name=self._parent_names.get(inc.parent_id))
        return own, "told"

    async def _tell_uncovered(self, inc: ParentIncident) -> None:
        """The upstream device is back but these devices behind it are not: their own incidents now,
        kept untold while the upstream's covered them, are announced (once: the registry arbitrates)."""
        assert self.store is not None
        if not inc.still_failing_at_end:
            return
        async with self.store.engine.connect() as conn:
            rows = (await conn.execute(sa.select(parents.c.id, parents.c.incident).where(
                parents.c.id.in_(inc.still_failing_at_end), parents.c.incident_told == "covered"))).all()
        for did, stored in rows:
            own = ParentIncident.model_validate(stored).model_copy(update={"covered_by": None})
            if own.open:
                own = await self._with_address(own)
            if own.open and await self._retell(did, "covered", "told", own):
                self._incidents[did] = own
                log.info("incident: parent %s still down after %s recovered", did, inc.parent_id)
                self._announce_incident(own, opened=True, name=self._parent_names.get(did))

    async def _retell(self, pid: str, was: str, told: str, incident: ParentIncident) -> bool:
        """Move an open incident's told state from `was` to `told`: True for the one caller that did."""
        assert self.store is not None
        stored = incident.model_dump(mode="json")
        async with self.store.engine.begin() as conn:
            r = await conn.execute(sa.update(parents).where(
                parents.c.id == pid, parents.c.status == "suspected_down", parents.c.incident_told == was,
            ).values(incident=stored, incident_told=told, status_reason=incident.reason))
            if r.rowcount == 1:
                await incident_history.record(conn, pid, stored)
        return r.rowcount == 1

    async def _with_address(self, inc: ParentIncident) -> ParentIncident:
        """The incident about to be told, with whether the parent's registered address answers (one
        TCP probe, bounded): a recorder that answers is on and the fault is behind it; one that does
        not is off or cut off. Told incidents only (a covered recorder's is its site's question)."""
        why = inc.reason_data
        if why is None or why.code != "parent_down" or why.args.get("address"):
            return inc
        host = await self._address_of(inc.parent_id)
        if not host:
            return inc
        loop = asyncio.get_running_loop()
        obs = await probe_tcp(host, TcpSettings(), loop.time() + min(ADDRESS_PROBE_S, self.config.probe.timeout))
        log.info("incident: parent %s at %s: %s", inc.parent_id, host, obs.message)
        why = why.model_copy(update={"args": {**why.args, "address": host, "answers": obs.answered}})
        return inc.model_copy(update={"reason_data": why, "reason": english(why)})

    async def _address_of(self, pid: str) -> str | None:
        assert self.store is not None
        async with self.store.engine.connect() as conn:
            return (await conn.execute(sa.select(parents.c.host).where(parents.c.id == pid))).scalar_one_or_none()

    async def _cover_by_parent(self, cam: StoredCamera, results: list[CheckResult]) -> list[CheckResult]:
        """A camera behind a parent whose check changes its status: the parent is judged first, with
        this check counted, so a change the parent's incident covers is kept but not announced (the
        incident opens as its cameras fail, not on the next timer, and never after their alarms)."""
        if not cam.parent_id or not any(r.evaluation.transition for r in results):
            return results
        if self.role != "primary":
            # A worker announces nothing: the primary judges the parent before it announces a worker's
            # change (_replay_workers). Marked here from the incident as read now, a change committed
            # just after the incident closed was covered and never announced by anyone.
            return results
        try:
            incident = await self._judge_parent(cam.parent_id, fresh={cam.id: results[-1].evaluation.state})
        except Exception as exc:  # noqa: BLE001 - the check's result must still be committed
            log.warning("camera %s: judging parent %s failed (%s); using the incident known here", cam.id,
                        cam.parent_id, mask_text(str(exc)))
            incident = self._incidents.get(cam.parent_id)
        return [replace(r, evaluation=suppress(r.evaluation, incident)) for r in results]

    async def _uncovered_since(self, tid: int, parent: str | None, camera_id: str, from_status: Status,
                               to_status: Status, at: float) -> bool:
        """A change marked as covered whose incident has closed since (another task or node judged
        the parent between the change's judgement and its commit), leaving it the camera's own: True
        once, for the caller to announce, unless this process's close announced it already. The
        registry's incident decides (one read per covered change: they come only with incidents)."""
        if parent is None:
            return False
        try:
            incident = await self._incident_now(parent)
        except Exception as exc:  # noqa: BLE001 - then the incident known here
            log.warning("parent %s: reading its incident failed (%s)", parent, mask_text(str(exc)))
            incident = self._incidents.get(parent)
        if covers(incident, camera_id, from_status, to_status, at):
            return False
        return self._first_after_close(tid)

    async def _incident_now(self, pid: str) -> ParentIncident | None:
        """The parent's incident as the registry holds it now (open, or closed within the grace)."""
        assert self.store is not None
        async with self.store.engine.connect() as conn:
            stored = (await conn.execute(sa.select(parents.c.incident).where(parents.c.id == pid))).scalar_one_or_none()
        incident = ParentIncident.model_validate(stored) if stored else None
        return incident if incident is not None and _current(incident) else None

    def _first_after_close(self, tid: int) -> bool:
        if tid in self._told_after_close:
            return False
        self._told_after_close[tid] = None
        while len(self._told_after_close) > 10_000:
            self._told_after_close.popitem(last=False)
        return True

    def open_incidents(self) -> list[OpenIncident]:
        """The parents' incidents open now, for /metrics (any thread: the dicts are copied in one step)."""
        names = dict(self._parent_names)
        return [OpenIncident(parent_id=pid, cameras=inc.cameras, since=inc.started_at, name=names.get(pid),
                             covered_by=inc.covered_by)
                for pid, inc in dict(self._incidents).items() if inc.open]

    async def _save_incident(self, parent_id: str, before: ParentIncident | None, after: ParentIncident, *,
                             told: str = "told", expect_told: str | None | object = ...) -> bool:
        """Store the parent's incident; True for the one caller whose update landed. Opening sets who
        tells it (`told`); `expect_told` (closing) requires the told state read when it was judged."""
        assert self.store is not None
        values: dict[str, Any] = {
            "incident": after.model_dump(mode="json"),
            "status": "suspected_down" if after.open else None,
            "status_since": datetime.fromtimestamp(after.started_at if after.open else (after.ended_at or time.time()), tz=timezone.utc),
            "status_reason": after.reason if after.open else None,
        }
        if before is None:
            # Another node may have opened the same incident first: only one announces it.
            cond = sa.or_(parents.c.incident.is_(None), parents.c.status.is_(None))
            values["incident_told"] = told
        else:
            # Only while it is still open in the registry: of two nodes (or checks) closing it, one
            # announces the end, and a stale update never reopens an incident another node closed.
            cond = parents.c.status == "suspected_down"
            if not after.open:  # cleared: a node older than 0006 opening the next one leaves it NULL (told)
                values["incident_told"] = None
            if expect_told is None:
                cond = sa.and_(cond, parents.c.incident_told.is_(None))
            elif isinstance(expect_told, str):  # its end is told as it was: not while that changes
                cond = sa.and_(cond, parents.c.incident_told == expect_told)
        async with self.store.engine.begin() as conn:
            r = await conn.execute(sa.update(parents).where(parents.c.id == parent_id, cond).values(**values))
            if r.rowcount == 1:  # its history, in the same transaction
                await incident_history.record(conn, parent_id, values["incident"])
        return r.rowcount == 1

    def _announce_incident(self, inc: ParentIncident, *, opened: bool, name: str | None = None) -> None:
        why = inc.reason_data if opened else inc.closing_reason()
        view = CameraView(
            camera_id=inc.parent_id, name=name or f"parent {inc.parent_id}", parent_id=None, site=inc.parent_id,
            labels={"kind": "parent"}, status="broken" if opened else "working",
            status_since=inc.started_at if opened else inc.ended_at, reason=english(why) if why else inc.reason,
            reason_data=why.model_dump() if why else None, findings=("parent_down",) if opened else (),
            measured={}, info={}, last_check_at=None, last_success_at=None, last_check_duration=None,
        )
        event = TransitionEvent(
            event_id=f"camcheck-incident-{inc.parent_id}-{int(inc.started_at)}-{'open' if opened else 'close'}",
            camera_id=inc.parent_id, at=time.time(), from_status="working" if opened else "broken",
            to_status=view.status, reason=view.reason or "", reason_data=view.reason_data, findings=view.findings,
            view=view,
        )
        log.warning("incident: %s", event.reason)
        for exporter in self.exporters:
            exporter.publish_transition(event)

    async def _announce_still_failing(self, inc: ParentIncident) -> None:
        """The parent is back but these cameras are not: their own problem now. Each one's change to
        broken, kept unannounced while the incident covered it, is announced (once, by its stable id)."""
        assert self.leases is not None
        for cid in inc.still_failing_at_end:
            t = await self.leases.covered_unannounced(cid, inc.parent_id)
            view = await self._fresh_view(cid)
            if t is None or t.id is None or view is None or view.status != t.to_state.value:
                continue  # changed again since: its current status is announced when it changes
            if not self._first_after_close(t.id):
                continue  # its commit, landing after the close, announced it already
            log.info("camera %s: still %s after parent %s recovered: %s", cid, t.to_state.value, inc.parent_id,
                     t.reason)
            self._publish_transition(t.id, view, t.from_state.value, t.reason or "", t.at.timestamp(),
                                     tuple(t.findings), to_status=t.to_state.value, reason_data=t.reason_data)

    # -- caches, heartbeat, replay, pruning ----------------------------------------------------------
    async def _refresh_caches(self) -> None:
        await self._refresh_topology()
        await self._refresh_maintenance()
        if self.role == "primary":  # views feed /metrics and the exporters, which workers do not have
            await self._refresh_views()

    async def _refresh_views(self) -> None:
        """Every camera's current view for /metrics (the whole registry, whichever node checked it)."""
        assert self.store is not None
        fresh: dict[str, CameraView] = {}
        states: dict[str, str | None] = {}
        async with self.store.engine.connect() as conn:
            for cid, js in (await conn.execute(sa.select(cameras.c.id, cameras.c.verdict_state))).all():
                states[cid] = js
            oldest = (await conn.execute(
                sa.select(sa.func.min(leases_table.c.next_check_at)).where(leases_table.c.owner_node.is_(None))
            )).scalar_one_or_none()
        if oldest is not None:
            if oldest.tzinfo is None:
                oldest = oldest.replace(tzinfo=timezone.utc)
            self.stats.claim_lag_s = max(0.0, time.time() - oldest.timestamp())
        keys = self._label_keys()
        async for cam in self.store.iter_cameras():
            js = states.get(cam.id)
            state = CameraState.from_json(js) if js else None
            fresh[cam.id] = camera_view(cam, state, label_keys=keys, last_check_duration=self._durations.get(cam.id))
        removed = set(self.views) - set(fresh)
        if self.pool is not None:
            # Cameras checked by the workers: their state reaches the exporters (MQTT) from here.
            for cid, view in fresh.items():
                if self.views.get(cid) != view:
                    for exporter in self.exporters:
                        exporter.publish_state(view)
        self.views = fresh
        for cid in removed:
            for exporter in self.exporters:
                exporter.remove_camera(cid)

    async def _heartbeat(self) -> None:
        assert self.leases is not None
        await self.leases.heartbeat()

    async def _replay_unnotified(self) -> None:
        assert self.leases is not None
        pending = await self.leases.unnotified(older_than=30.0)
        for t in pending:
            view = self.views.get(t.camera_id)
            if view is None or t.id is None:
                continue
            self._publish_transition(t.id, view, t.from_state.value, t.reason or "", t.at.timestamp(),
                                     tuple(t.findings), reason_data=t.reason_data)
        if pending:
            log.info("re-published %d transitions not confirmed as notified", len(pending))

    async def _replay_workers(self) -> None:
        """Publish the transitions the worker processes committed (they have no exporters): no age
        threshold, stable event ids, marked notified once handed to the exporters' outbox."""
        assert self.leases is not None and self.pool is not None
        pending = await self.leases.unnotified(older_than=0.0, node_ids=self.pool.node_ids)
        done: list[int] = []
        judged: dict[str, ParentIncident | None] = {}
        for t in pending:
            if t.id is None:
                continue
            parent = self._parent_of.get(t.camera_id)
            if parent is not None:
                # The worker may have committed it before the parent's incident opened: judged here,
                # before anything is announced, as the primary's own checks are.
                if parent not in judged:
                    judged[parent] = await self._judge_parent(parent)
                if covers(judged[parent], t.camera_id, Status(t.from_state.value), Status(t.to_state.value),
                          t.at.timestamp()):
                    await self.leases.mark_suppressed(t.id, parent)
                    if not await self._uncovered_since(t.id, parent, t.camera_id, Status(t.from_state.value),
                                                       Status(t.to_state.value), t.at.timestamp()):
                        continue
            view = await self._fresh_view(t.camera_id)
            if view is not None:  # a camera deleted since has nobody to be told about
                self._publish_transition(t.id, view, t.from_state.value, t.reason or "", t.at.timestamp(),
                                         tuple(t.findings), to_status=t.to_state.value, mark=False,
                                         reason_data=t.reason_data)
            done.append(t.id)
        await self.leases.mark_notified(done)
        await self._count_worker_checks()

    async def _last_check_id(self) -> int:
        assert self.store is not None
        async with self.store.engine.connect() as conn:
            return (await conn.execute(sa.select(sa.func.max(check_results.c.id)))).scalar_one_or_none() or 0

    async def _count_worker_checks(self) -> None:
        """Count the checks the worker processes committed as this process counts its own: in the
        check-duration histogram, and as their camera's last check duration (the sum of the camera's
        results read together: one check's results are committed within moments of each other).
        Read by id: on PostgreSQL a worker's row whose transaction commits after a later id was
        read goes uncounted (a histogram count; no status or notification depends on it)."""
        assert self.store is not None and self.pool is not None
        c = check_results.c
        async with self.store.engine.connect() as conn:
            rows = (await conn.execute(
                sa.select(c.id, c.camera_id, c.verdict, c.duration_s)
                .where(c.id > self._worker_checks_seen, c.node_id.in_(self.pool.node_ids))
                .order_by(c.id).limit(WORKER_CHECKS_BATCH)
            )).all()
        last: dict[str, float] = {}
        for row_id, camera_id, verdict, duration in rows:
            self._worker_checks_seen = row_id
            last[camera_id] = last.get(camera_id, 0.0) + (duration or 0.0)
            if self.metrics is not None:
                self.metrics.observe_check(camera_id, duration or 0.0, verdict)
        self._durations.update(last)

    async def _fresh_view(self, camera_id: str) -> CameraView | None:
        assert self.store is not None and self.leases is not None
        cam = await self.store.get_camera(camera_id)
        if cam is None:
            return None
        raw = await self.leases.load_state(camera_id)
        view = camera_view(cam, CameraState.from_json(raw) if raw else None, label_keys=self._label_keys(),
                           last_check_duration=self._durations.get(camera_id))
        self.views[camera_id] = view
        return view

    async def _prune(self) -> None:
        assert self.store is not None
        res = await self.store.prune(timedelta(days=self.config.history.checks_days))
        log.info("pruned history: %s", res)

    async def _every(self, seconds: float, fn, *, wake: asyncio.Event | None = None,  # noqa: ANN001
                     settle: float = 0.0) -> None:
        """`fn` every `seconds` (jittered), and `settle` seconds after `wake` is set."""
        while not self._stop.is_set():
            waits = [asyncio.ensure_future(e.wait()) for e in (self._stop, wake) if e is not None]
            _, pending = await asyncio.wait(waits, timeout=seconds * random.uniform(0.9, 1.1),
                                            return_when=asyncio.FIRST_COMPLETED)
            for f in pending:
                f.cancel()
            if self._stop.is_set():
                return
            if wake is not None and wake.is_set():
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), timeout=settle)
                wake.clear()  # what was set while settling is seen by this run
                if self._stop.is_set():
                    return
            try:
                await fn()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("%s failed (will retry): %s", getattr(fn, "__name__", fn), mask_text(str(exc)))

    async def _watchdog(self) -> None:
        interval = watchdog_interval()
        while not self._stop.is_set():
            snap = self.scheduler.snapshot()
            notify("WATCHDOG=1")
            notify(f"STATUS={len(self.views)} cameras, {snap.in_flight} checks in flight, lag {self.stats.claim_lag_s:.0f}s")
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._stop.wait(), timeout=interval or 10.0)
