"""The RTSP stream probe: one session, one deadline, facts from RTP headers, pictures from keyframes.

``probe_rtsp(target, settings, deadline)`` connects, DESCRIBEs, SETUPs the video track (TCP
interleaved or UDP), PLAYs, then reads RTP for ``settings.window`` seconds counting packets, bytes,
sequence gaps, frame timestamps and keyframes from the headers alone. It copies only the access
units it may decode: the first keyframe K1 (with its parameter sets), up to
``image.MOTION_PROOF_FRAMES`` frames right after it (reading may end once
``image.FRAMES_AFTER_KEYFRAME`` are in), and the LAST keyframe K2 of the window. Pictures come in two
passes (``camcheck.probe.pictures``; on worker threads, or on the probe's thread for pictures of
sub-stream size, see ``pictures.INLINE_MAX_PIXELS``): K1 is decoded and measured and the frames
after it are decoded one by one until one proves motion against K1 (``image.MotionProof``), on a
worker as soon as K1 and the frames after it are in, while reading goes on, on the probe's thread
once reading is over and TEARDOWN sent (its reply comes in meanwhile); then K2 (when it came at
least ``image.MIN_KEY_GAP`` after K1) is decoded only if none did: K2 only serves the frozen test,
which motion rules out. A moving scene then costs K1 and a few cheap P-frames instead of two
keyframes, and its measures carry no ``change``/``noise``/``key_gap``. (Reading still waits for K2:
it also gives ``gop_s``, the measured keyframe interval.)

Window rules (the issue leaves these to us):
- The window starts at the first RTP packet, not at PLAY (a camera may take a moment to start).
- Reading ends when the window is over AND the first keyframe and its follow-up frames are in AND
  either a second keyframe arrived or ``settings.keyframe_wait`` seconds (default max(2 x window,
  4 s): one GOP of a typical camera) have passed since the first keyframe. A GOP longer than that
  gives a check without a second keyframe: frozen cannot be judged then, and ``stream.gop_min_s``
  says how long the GOP is at least (the daemon then waits longer in its next checks).
- Never beyond ``deadline - teardown grace - decode reserve``: the deadline wins over everything.
- Silence longer than max(1.5 s, 3 frame intervals) after packets arrived = ``stalled``; so does the
  camera closing the connection or sending RTCP BYE before the window is satisfied.

Timings are seconds from the start of the check; ``first_frame`` is when the first complete
keyframe had arrived (the first picture that can be shown), ``first_packet`` the first RTP packet.

The check never raises for a camera's fault and ends by its deadline: a teardown grace (at most
0.5 s) and a decode reserve (at most 0.75 s) are kept inside it. TEARDOWN is always sent when a
session exists (without waiting for the reply if the probe is cancelled). Worker threads only ever
decode a few bounded access units, so none outlives a check by more than that work.
"""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import Future
from typing import Any

from camcheck.probe.depacketize import AccessUnit, BitstreamError, RtpCollector, SpsInfo, find_sps, parse_sps
from camcheck.probe.image import (
    DEFAULT_THRESHOLDS,
    FRAMES_AFTER_KEYFRAME,
    MIN_KEY_GAP,
    MOTION_PROOF_FRAMES,
    empty_frames,
)
from camcheck.probe.observation import Observation, RtspSettings, RtspTarget, Transport, default_keyframe_wait, verdict_for
from camcheck.probe.pictures import FirstPass, PictureJob, Unit, first_pass, run_pass, runs_inline, second_pass
from camcheck.probe.rtsp_client import ProbeFailure, RtspClient, is_tls_url, status_failure, tls_context
from camcheck.probe.sdp import SdpError, SessionDescription, parse_sdp
from camcheck.secrets import mask_text, mask_url, split_credentials

log = logging.getLogger(__name__)

# Tolerances for stream findings.
LOW_FPS_RATIO = 0.8  # measured fps below 80 % of the claimed/declared fps -> low_fps
PACKET_LOSS_LIMIT = 0.01  # more than 1 % of RTP packets missing -> packet_loss
STALL_MIN_S = 1.5  # silence after packets that counts as a stall (at least this, or 3 frame intervals)
TEARDOWN_GRACE_MAX = 0.5  # time kept inside the deadline to send TEARDOWN and hear the reply
DECODE_RESERVE_MAX = 0.75  # time kept inside the deadline to decode and analyse
# TCP: from the PLAY reply on, the socket is read in batches (one event-loop wake-up per batch instead of
# one per frame: on a small VM each wake-up of an idle thread costs 65-300 us of CPU, as much as
# parsing 20-100 packets).
# A batch lasts as long as a quarter of the kernel's receive buffer takes to fill at the stream's
# measured rate (the camera never has to stop sending: no frames dropped, no fps misread), within
# these bounds; BATCH_START_S until the rate is known (0.1 s of packets or of media). Arrival times, hence
# `first_frame`, have the batch's resolution. A batch that would run past the window's end ends
# there instead: the reader looks at the stream then anyway, so both share one wake-up.
BATCH_START_S = 0.1
BATCH_MIN_S = 0.05
BATCH_MAX_S = 1.0
BATCH_BUFFER_SHARE = 0.25
RATE_KNOWN_S = 0.1
ALIVE_GAP_S = 0.5  # a stream whose last packet is older than this (or 3 frame intervals) is not "flowing"
STALL_RECHECK_S = 0.05  # on suspected silence, service the socket for this long before deciding


class _Run:
    def __init__(self, target: RtspTarget, settings: RtspSettings, deadline: float) -> None:
        self.loop = asyncio.get_running_loop()
        self.target = target
        self.settings = settings
        self.window = max(0.1, settings.window)  # seconds of stream the check reads at least
        self.deadline = deadline
        self.t0 = self.loop.time()
        budget = max(0.0, deadline - self.t0)
        self.grace = min(TEARDOWN_GRACE_MAX, 0.1 * budget)
        self.decode_reserve = min(DECODE_RESERVE_MAX, 0.1 * budget)
        self.obs = Observation(url=mask_url(target.url), verdict="broken", started_at=time.time())
        # rtsps: RTP travels inside the TLS connection, whatever transport the fleet is set to
        # (over UDP it would travel unencrypted; SRTP is not supported).
        self.transport: Transport = "tcp" if is_tls_url(target.url) else target.transport
        self.obs.stream.transport = self.transport
        self.failure: str | None = None
        self.message = ""
        self.phase = "connect"
        self.client: RtspClient | None = None
        self.sdp: SessionDescription | None = None
        self.collector: RtpCollector | None = None
        self.sps: SpsInfo | None = None
        self._sps_nal = b""  # the SPS `sps` was read from
        self._batching = False  # TCP reads in batches (see BATCH_START_S)
        self._batch_len = BATCH_START_S
        self._wake: asyncio.Future[None] | None = None
        self._ended = False  # connection closed / RTCP BYE while streaming
        self._first_pass: Future[FirstPass] | None = None
        # While the reader waits for the window's end with K1 and its follow-up in, nothing the
        # stream reports but its end can change what it does: no wake-up for a keyframe then.
        self._quiet = False

    # ---- helpers ----

    def rel(self) -> float:
        return round(self.loop.time() - self.t0, 4)

    def fail(self, failure: str, message: str) -> None:
        if self.failure is None:
            self.failure = failure
            self.message = mask_text(message)

    def notify(self) -> None:
        if not self._quiet:
            self._wake_reader()

    def _wake_reader(self) -> None:
        w = self._wake
        if w is not None and not w.done():
            w.set_result(None)

    def _stream_ended(self) -> None:
        self._ended = True
        self._quiet = False
        self.notify()

    def on_rtcp(self, data: Any, now: float) -> None:
        # Compound RTCP: walk the packets looking for BYE (203), the sender's "stream is over".
        n = len(data)
        i = 0
        while i + 4 <= n:
            if data[i + 1] == 203:
                self._stream_ended()
                return
            i += 4 * (((data[i + 2] << 8) | data[i + 3]) + 1)

    # ---- the check ----

    async def run(self) -> None:
        try:
            async with asyncio.timeout_at(self.deadline - self.grace):
                await self._steps()
        except TimeoutError:
            self._timed_out()
        except ProbeFailure as f:
            self.fail(f.failure, f.message)
        finally:
            if self._first_pass is not None:  # a check that failed after K1 never awaits it
                self._first_pass.add_done_callback(_consume)
            await self._finish_session()

    async def _steps(self) -> None:
        target, s = self.target, self.settings
        url, username, password = target.url, target.username, target.password
        try:
            bare, url_user, url_password = split_credentials(url)
        except ValueError:
            raise ProbeFailure("rtsp_error", f"not a valid URL: {mask_url(url)}") from None
        if url_user is not None or url_password is not None:
            # The contract says credentials travel beside the URL; accept them inside it anyway.
            url, username, password = bare, username or url_user, password or url_password
        try:
            tls = tls_context(s.tls_verify, s.tls_ca_file) if is_tls_url(url) else None
            client = self.client = RtspClient(url, username, password, s.user_agent, tls=tls)
        except (ValueError, OSError) as exc:  # OSError: an unreadable CA file
            raise ProbeFailure("rtsp_error", f"cannot check this URL: {exc}") from None
        self.url = url
        client.on_close = self._stream_ended
        await client.connect()
        self.obs.timings.connect = self.rel()

        self.phase = "describe"
        resp = await client.describe()
        if resp.status != 200:
            raise status_failure("DESCRIBE", url, resp)
        self.obs.timings.describe = self.rel()
        ctype = (resp.header("content-type") or "application/sdp").split(";")[0].strip().lower()
        if ctype != "application/sdp" or not resp.body:
            raise ProbeFailure("protocol_error", f"DESCRIBE returned {ctype or 'nothing'} instead of an SDP")
        base = resp.header("content-base") or resp.header("content-location") or url
        base = _strip_userinfo(base)
        try:
            sdp = self.sdp = parse_sdp(resp.body.decode("utf-8", "replace"), base)
        except SdpError as exc:
            raise ProbeFailure("no_video_track", str(exc)) from None
        track = sdp.video
        st = self.obs.stream
        st.codec = track.codec
        st.fps_declared = track.framerate
        sps_nal = find_sps(track.codec, track.parameter_sets)
        if sps_nal:
            self._use_sps(sps_nal)

        self.phase = "setup"
        collector = self.collector = RtpCollector(
            track.codec, track.payload_type, track.clock_rate, MOTION_PROOF_FRAMES, notify=self.notify,
            window_s=self.window, frames_needed=FRAMES_AFTER_KEYFRAME)
        await client.setup(track.control_url, self.transport, collector.feed, self.on_rtcp,
                           collector.feed_interleaved)
        self.obs.timings.setup = self.rel()

        self.phase = "play"
        await client.play(sdp.aggregate_url)
        self.obs.timings.play = self.rel()
        self._batch_reads()  # from the first packets on (the PLAY reply is in)

        self.phase = "stream"
        await self._read_stream()
        self.phase = "decode"
        # Free the camera's session now, before the pictures: its reply comes in while we decode
        # (on this VM a reply waited for is a sleep and a wake-up of ~200 us of CPU).
        client.detach_media()
        client.batch_reads(0)
        teardown = client.start_teardown(sdp.aggregate_url)
        try:
            await self._decode()
        finally:
            if teardown is not None and not teardown.done():
                try:
                    async with asyncio.timeout_at(min(self.deadline, self.loop.time() + self.grace)):
                        await asyncio.shield(teardown)
                except (TimeoutError, ProbeFailure):
                    pass

    def _use_sps(self, nal: bytes) -> None:
        if self.sps is not None and nal == self._sps_nal:
            return  # the camera repeats in-band the SPS its SDP gave: already read
        try:
            info = parse_sps(self.obs.stream.codec or "h264", nal)
        except (BitstreamError, IndexError) as exc:
            log.debug("%s: unreadable SPS (%s)", self.obs.url, exc)
            return
        self.sps, self._sps_nal = info, nal
        self.obs.stream.width, self.obs.stream.height = info.width, info.height
        if self.obs.stream.fps_declared is None and info.fps:
            self.obs.stream.fps_declared = round(info.fps, 3)

    async def _read_stream(self) -> None:
        col = self.collector
        assert col is not None
        loop = self.loop
        window = self.window
        second_key_wait = self.settings.keyframe_wait or default_keyframe_wait(window)
        hard_end = self.deadline - self.grace - self.decode_reserve
        stalled = False
        stall_suspected = False
        while True:
            now = loop.time()
            if col.first_arrival is not None and self.obs.timings.first_packet is None:
                self.obs.timings.first_packet = round(col.first_arrival - self.t0, 4)
            if col.first_key is not None and self.obs.timings.first_frame is None:
                self.obs.timings.first_frame = round((col.first_key_arrival or now) - self.t0, 4)
            if col.first_arrival is not None and not stall_suspected:
                self._batch_reads()
            if self._ended:
                stalled = col.packets > 0
                break
            if now >= hard_end:
                break
            if col.first_arrival is None:
                next_check = hard_end
            else:
                fps_hint = col.fps or self.obs.stream.fps_declared or 0
                stall_after = self._stall_after()
                last = col.last_arrival or now
                if now - last >= stall_after:
                    if not stall_suspected:
                        # Before blaming the camera, read whatever the kernel holds: on a busy host
                        # this loop may have woken before the socket was serviced (or reads are
                        # batched), which must not pass for silence.
                        stall_suspected = True
                        if self.client is not None:
                            self._batching = False
                            self.client.batch_reads(0)
                        await asyncio.sleep(STALL_RECHECK_S)
                        continue
                    stalled = True
                    break
                stall_suspected = False
                window_end = col.first_arrival + window
                # Batched reads refresh `last` without waking this loop; each batch looks for
                # silence itself (_batch_size) and wakes it then: no wake-up here for an old `last`.
                checks = [hard_end] if self._batching else [hard_end, last + stall_after]
                if now < window_end:
                    checks.append(window_end)
                elif col.first_key is not None and col.following_done:
                    give_up = (col.first_key_arrival or now) + second_key_wait
                    if col.last_key is not None or now >= give_up:
                        # Done, if the stream is still flowing; a silence at the end of the window
                        # is watched until it is either a gap or a stall.
                        if now - last <= max(ALIVE_GAP_S, 3 / fps_hint if fps_hint else 0.0):
                            break
                        if self._batching and self.client is not None:
                            # Batched reads may simply not have taken the latest packets yet.
                            self._batching = False
                            self.client.batch_reads(0)
                            checks.append(now + STALL_RECHECK_S)
                        else:
                            checks.append(now + 0.1)
                    else:
                        checks.append(give_up)
                next_check = min(checks)
                self._quiet = now < window_end and col.first_key is not None and col.following_done
            if self._first_pass is None and col.following_complete and not self._first_pass_inline():
                # Every frame kept for the motion proof is in (the check still waits for K2): a
                # worker thread decodes them meanwhile. Not sooner, even once the window is over:
                # joined mid-GOP, K1 comes at the window's end, and a proof from its first 2 frames
                # fails where 8 succeed, costing K2's decode. A pass on this thread waits for the
                # end of reading (_decode): after TEARDOWN, whose reply then arrives while it runs.
                self._start_first_pass()
            wake = self._wake = loop.create_future()
            handle = loop.call_at(next_check, _set_done, wake)
            try:
                await wake
            finally:
                handle.cancel()
                self._wake = None
                self._quiet = False
        col.close(loop.time())
        self._stream_facts()
        if col.packets == 0:
            why = "the camera closed the connection" if self._ended else f"nothing arrived in {self.rel():.1f} s"
            hint = " (UDP may be blocked on the way; try --transport tcp)" if self.transport == "udp" else ""
            raise ProbeFailure("no_frames", f"PLAY succeeded but no video packet came: {why}{hint}")
        if stalled:
            cause = "then the camera ended the stream" if self._ended else "then silence"
            msg = (f"video stopped: {col.frames} frames in the first "
                   f"{(col.last_arrival or 0) - (col.first_arrival or 0):.1f} s, {cause}")
            if col.first_key is None:
                raise ProbeFailure("stalled", msg)
            self.fail("stalled", msg)  # still decode what came, for the evidence
        if col.first_key is None:
            damaged = f" ({col.corrupt_keyframes} damaged by packet loss)" if col.corrupt_keyframes else ""
            # Undamaged frames and no keyframe: maybe only a keyframe interval longer than the check.
            hint = "" if damaged or not self.obs.stream.gop_min_s else (
                f" (a camera sending a keyframe less often than every {self.obs.stream.gop_min_s:.0f} s "
                "needs a longer timeout)")
            raise ProbeFailure("decode_failed", f"{col.frames} frames arrived but no complete keyframe{damaged} "
                                                f"within {self.rel():.1f} s; no picture can be decoded{hint}")

    def _batch_reads(self) -> None:
        """Read the TCP connection in batches sized for the stream's rate (see BATCH_START_S)."""
        if self.transport == "tcp" and self.client is not None and not self._batching:
            self._batching = True
            self.client.batch_reads(self._batch_len, self._batch_size)

    def _stall_after(self) -> float:
        """Silence after packets that counts as a stall: STALL_MIN_S, or 3 frame intervals."""
        col = self.collector
        fps_hint = (col.fps if col is not None else None) or self.obs.stream.fps_declared or 0
        return max(STALL_MIN_S, 3 / fps_hint) if fps_hint else STALL_MIN_S * 2

    def _batch_size(self) -> float:
        """The next batch's length (asked by the client after every batch): sized anew each time,
        as Linux grows the receive buffer of a fast stream during the first second or so. The
        reader sleeps through batches; when one shows packets have stopped, it is woken here."""
        col, client = self.collector, self.client
        if col is not None and col.first_arrival is not None and col.last_arrival is not None and (
                self.loop.time() - col.last_arrival >= self._stall_after()):
            self._wake_reader()
        if col is not None and client is not None and col.first_arrival is not None:
            # Known after RATE_KNOWN_S of arrivals, or of media at once: a camera with a GOP cache
            # sends the GOP so far in one burst.
            media_s = (col.last_frame_ts - col.first_frame_ts) / col.clock_rate if (
                col.first_frame_ts is not None and col.last_frame_ts is not None) else 0.0
            if self.loop.time() - col.first_arrival >= RATE_KNOWN_S or media_s >= RATE_KNOWN_S:
                # Bytes per second of media time: a camera's start-up burst (the GOP so far) does
                # not inflate it as bytes per second of arrival would.
                kbps = col.bitrate_kbps()
                if kbps:
                    rate = kbps * 125  # bytes/s
                    wanted = int(BATCH_MAX_S * rate / BATCH_BUFFER_SHARE)  # for the longest batch
                    budget = BATCH_BUFFER_SHARE * (client.receive_buffer(grow_to=wanted) or 0)
                    self._batch_len = min(BATCH_MAX_S, max(BATCH_MIN_S, budget / rate))
            to_window_end = col.first_arrival + self.window - self.loop.time()
            if 0 < to_window_end < self._batch_len:
                return to_window_end
        return self._batch_len

    def _stream_facts(self) -> None:
        col = self.collector
        assert col is not None
        st = self.obs.stream
        st.packets = col.packets
        st.frames = col.frames
        key = col.last_key or col.first_key
        if key is not None:
            st.keyframe_bytes = key.size
            sps = col.sps_for(key)
            if sps:
                self._use_sps(sps)
        col.declared_fps = st.fps_declared
        fps = col.fps
        st.fps = round(fps, 3) if fps else None
        gop = col.gop_s
        st.gop_s = round(gop, 3) if gop else None
        gop_min = col.gop_min_s
        st.gop_min_s = round(gop_min, 3) if gop_min else None
        br = col.bitrate_kbps()
        st.bitrate_kbps = round(br, 1) if br else None
        loss = col.packet_loss
        st.packet_loss = round(loss, 5) if loss is not None else None

    def _units(self) -> tuple[Unit, list[Unit]]:
        """K1 (with parameter sets) and the frames captured after it so far, as decoder input."""
        col, sdp = self.collector, self.sdp
        assert col is not None and sdp is not None and col.first_key is not None
        return self._keyframe_unit(col.first_key), [(au.annexb(), au.timestamp, False) for au in col.following]

    def _keyframe_unit(self, au: AccessUnit) -> Unit:
        col, sdp = self.collector, self.sdp
        assert col is not None and sdp is not None
        # parameter sets first when the AU does not carry them
        return au.annexb(col.parameter_sets_for(au, sdp.video.parameter_sets)), au.timestamp, True

    def _picture_job(self) -> PictureJob:
        col = self.collector
        assert col is not None
        s = self.settings
        return PictureJob(col.codec, col.clock_rate, s.want_snapshot, s.snapshot_max_width,
                          self.target.reference_image, self.obs.url)

    def _start_first_pass(self) -> None:
        """Decode and measure K1 (and prove motion from the frames after it): on a worker thread
        while reading goes on, or here and now for pictures of sub-stream size (pictures.run_pass)."""
        assert self.collector is not None and self.collector.first_key is not None
        k1, after = self._units()
        self._first_pass = run_pass(self._pixels(self.collector.first_key), first_pass, self._picture_job(),
                                    [k1, *after])

    def _first_pass_inline(self) -> bool:
        """Whether the first pass would run on this thread (pictures.run_pass)."""
        col = self.collector
        return col is not None and col.first_key is not None and runs_inline(self._pixels(col.first_key))

    def _pixels(self, au: AccessUnit) -> int | None:
        """The size of the picture ``au`` decodes to (None: unknown), for ``run_pass``: from the SPS
        it carries (what the decoder will use, even if the SDP announced another size), else the
        in-band or SDP one."""
        col = self.collector
        assert col is not None
        nal = col.sps_for(au)
        info = self.sps
        if nal is not None and nal != self._sps_nal:
            try:
                info = parse_sps(col.codec, nal)
            except (BitstreamError, IndexError):
                return None
        return info.width * info.height if info is not None else None

    async def _decode(self) -> None:
        """Finish the pictures: the first pass (K1 and the frames after it; on a worker it is usually
        done while reading, on this thread it runs now), then K2 (when it came at least
        image.MIN_KEY_GAP after K1) only if the first pass did not prove motion: K2 serves the frozen
        test alone, and motion rules frozen out."""
        col = self.collector
        assert col is not None and col.first_key is not None
        if self._first_pass is None:
            self._start_first_pass()
        assert self._first_pass is not None
        fp = self._first_pass
        first = fp.result() if fp.done() else await asyncio.wrap_future(fp)
        k1, k2 = col.first_key, col.last_key
        st = self.obs.stream
        width, height = (first.width, first.height) if first.width and first.height else (st.width, st.height)
        empty = empty_frames(col.inter_sizes, width * height if width and height else None)
        if first.moving or k2 is None or (k2.timestamp - k1.timestamp) / col.clock_rate < MIN_KEY_GAP:
            result = second_pass(self._picture_job(), first, None, empty)  # no decoding: measures and findings
        else:
            fut = run_pass(self._pixels(k2), second_pass, self._picture_job(), first, self._keyframe_unit(k2), empty)
            result = fut.result() if fut.done() else await asyncio.wrap_future(fut)
        analysis = result.analysis
        if analysis is None:
            detail = f": {result.errors[0]}" if result.errors else ""
            raise ProbeFailure("decode_failed", f"the keyframe ({col.first_key.size} bytes) did not decode{detail}")
        if result.width and result.height and (st.width, st.height) != (result.width, result.height):
            if st.width is not None:
                log.info("%s: SPS says %sx%s, decoder gives %dx%d; reporting the decoded size",
                         self.obs.url, st.width, st.height, result.width, result.height)
            st.width, st.height = result.width, result.height
        self.obs.snapshot_jpeg = result.snapshot_jpeg
        self.obs.signature = analysis.signature
        self.obs.image = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in analysis.measures.items()}
        self.image_findings = list(analysis.findings)

    def _timed_out(self) -> None:
        col = self.collector
        waited = f"{self.loop.time() - self.t0:.1f} s"
        host = self.client.host if self.client else "?"
        if self.phase == "connect" and self.client is not None and self.client.tls_pending:
            self.fail("timeout_response", f"the camera accepted the connection but did not complete the TLS "
                                          f"handshake within {waited}")
        elif self.phase == "connect":
            self.fail("timeout_connect", f"no TCP connection to {host} within {waited}")
        elif self.phase in ("describe", "setup", "play"):
            self.fail("timeout_response",
                      f"the camera accepted the connection but did not answer {self.phase.upper()} within {waited}")
        elif self.phase == "stream":
            if col is None or col.packets == 0:
                self.fail("no_frames", f"PLAY succeeded but no video packet came in {waited}")
            else:
                self.fail("stalled", f"video stopped after {col.frames} frames")
        else:
            self.fail("decode_failed", f"decoding did not finish before the deadline ({waited}); host overloaded?")

    async def _finish_session(self) -> None:
        client = self.client
        if client is None:
            return
        try:
            if client.session and self.sdp is not None and not client.closed:
                client.detach_media()
                remaining = self.deadline - self.loop.time()
                if remaining > 0:
                    try:
                        async with asyncio.timeout_at(self.deadline):
                            await client.teardown(self.sdp.aggregate_url)
                    except TimeoutError:
                        pass
                else:
                    client.send_teardown_nowait(self.sdp.aggregate_url)
        finally:
            client.close()

    def cancelled(self) -> None:
        """Cancellation: TEARDOWN without waiting, close everything."""
        client = self.client
        if client is not None:
            if self.sdp is not None:
                client.send_teardown_nowait(self.sdp.aggregate_url)
            client.close()

    # ---- the verdict ----

    def observation(self) -> Observation:
        obs = self.obs
        st = obs.stream
        findings: list[str] = []
        if self.failure is not None:
            findings.append(self.failure)
        findings += [f for f in getattr(self, "image_findings", []) if f not in findings]
        notes: list[str] = []
        claimed = self.target.expected_fps or st.fps_declared
        if st.fps is not None and claimed and st.fps < LOW_FPS_RATIO * claimed:
            findings.append("low_fps")
            notes.append(f"{st.fps:.1f} fps measured, {claimed:g} expected")
        if st.packet_loss is not None and st.packet_loss > PACKET_LOSS_LIMIT:
            findings.append("packet_loss")
            notes.append(f"{st.packet_loss * 100:.1f} % of RTP packets lost")
        ew, eh = self.target.expected_width, self.target.expected_height
        if st.width is not None and st.height is not None and (ew or eh):
            if (ew and ew != st.width) or (eh and eh != st.height):
                findings.append("resolution_mismatch")
                notes.append(f"{st.width}x{st.height} delivered, {ew or '?'}x{eh or '?'} expected")
        obs.failure = self.failure
        obs.findings = findings
        obs.verdict = verdict_for(self.failure, findings)
        obs.duration = round(self.loop.time() - self.t0, 4)
        if self.failure is not None:
            obs.message = self.message
        else:
            obs.message = _summary(obs, findings, notes)
        return obs


def _summary(obs: Observation, findings: list[str], notes: list[str]) -> str:
    st = obs.stream
    parts = [f"{(st.codec or '?').upper()} {st.width}x{st.height}" if st.width else (st.codec or "?").upper()]
    if st.fps is not None:
        parts.append(f"{st.fps:.1f} fps")
    if st.gop_s is not None:
        parts.append(f"keyframe every {st.gop_s:.1f} s")
    elif st.gop_min_s is not None:
        part = f"one keyframe in {st.gop_min_s:.1f} s"
        motion = (obs.image or {}).get("motion")
        if motion is None or motion <= DEFAULT_THRESHOLDS.frozen_max_motion:
            # Frozen is judged between two keyframes: a still picture may be frozen or live.
            part += " (frozen not judged: wait longer for a second keyframe)"
        parts.append(part)
    if st.bitrate_kbps is not None:
        parts.append(f"{st.bitrate_kbps:.0f} kbit/s")
    text = ", ".join(parts)
    if not findings:
        return f"live video: {text}"
    detail = "; ".join(notes)
    return f"{', '.join(findings)}: {text}" + (f" ({detail})" if detail else "")


def _strip_userinfo(url: str) -> str:
    try:
        return split_credentials(url)[0]
    except ValueError:
        return url


def _consume(fut: Future[FirstPass]) -> None:
    if not fut.cancelled() and fut.exception() is not None:
        log.debug("first picture pass of an ended check failed: %s", fut.exception())


def _set_done(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)


async def probe_rtsp(target: RtspTarget, settings: RtspSettings, deadline: float) -> Observation:
    """Check one RTSP stream; ``deadline`` is an absolute ``loop.time()``. Never raises for a
    camera's fault: every outcome is an Observation (verdict, failure, facts, findings)."""
    run = _Run(target, settings, deadline)
    try:
        await run.run()
    except asyncio.CancelledError:
        run.cancelled()
        raise
    except Exception as exc:  # a bug must not take the daemon down; say what happened, masked
        log.exception("probe of %s failed unexpectedly", run.obs.url)
        run.fail("protocol_error", f"internal error while checking: {mask_text(str(exc))}")
        if run.client is not None:
            run.client.close()
    return run.observation()
