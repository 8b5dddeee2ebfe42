"""A hostile endpoint: huge, endless, truncated and entity-laden replies cost at most the deadline and
a bounded amount of memory, and each yields a clear finding."""

from __future__ import annotations

import pytest

from onvif_hostile import hostile_endpoint
from onvif_helpers import run_probe

pytestmark = pytest.mark.timeout(60)

DEADLINE_S = 2.0
SLACK_S = 1.5  # scheduling on a shared 2-core machine; the bound, not a speed goal
MAX_RSS_GROWTH_KB = 48 * 1024  # the reply cap is 4 MiB; a 300 MB reply must not come near this


def _kb(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(field)


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # resets VmHWM (peak RSS) for this process
        return True
    except OSError:
        return False


@pytest.mark.parametrize(
    ("mode", "code", "words"),
    [
        ("huge_stream", "onvif_bad_reply", "exceeds the"),
        ("huge_declared", "onvif_bad_reply", "exceeds the"),
        ("slow_drip", "onvif_timeout", "deadline"),
        ("blackhole", "onvif_timeout", "deadline"),
        ("truncated_body", "onvif_bad_reply", "truncated"),
        ("truncated_xml", "onvif_bad_reply", "malformed XML"),
        ("billion_laughs", "onvif_bad_reply", "DTD"),
        ("external_entity", "onvif_bad_reply", "DTD"),
        ("missing_fields", "onvif_bad_reply", "no usable UTC time"),
    ],
)
async def test_hostile_reply_is_bounded_and_named(mode: str, code: str, words: str) -> None:
    async with hostile_endpoint(mode) as port:
        rss_before = _kb("VmRSS")
        peak_ok = _reset_peak()
        obs = await run_probe(port, timeout=DEADLINE_S)
        peak = _kb("VmHWM") if peak_ok else _kb("VmRSS")
    assert obs.duration <= DEADLINE_S + SLACK_S
    assert peak - rss_before < MAX_RSS_GROWTH_KB, f"RSS grew {peak - rss_before} kB"
    assert obs.codes()[0] == code, obs.findings
    assert words in obs.findings[0]["message"]
    assert not obs.ok
    assert "root:" not in str(obs.to_dict())  # the external entity was never resolved


async def test_huge_reply_with_a_larger_cap_is_still_capped() -> None:
    from camcheck.probe.onvif import OnvifSettings

    async with hostile_endpoint("huge_stream") as port:
        obs = await run_probe(port, timeout=DEADLINE_S, settings=OnvifSettings(max_reply_bytes=16 * 1024 * 1024))
    assert "16777216-byte cap" in obs.findings[0]["message"]
