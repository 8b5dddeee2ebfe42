"""Fixtures for the ONVIF tests (helpers live in onvif_helpers.py: conftest names clash across dirs)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # onvif_helpers, onvif_hostile, onvif_ipycam_server


@pytest.fixture(scope="session", autouse=True)
def _warm_wsdls() -> None:
    """Parse the WSDLs once for the whole session, as the daemon does at start-up."""
    from camcheck.probe.onvif_client import warm_wsdls

    asyncio.run(warm_wsdls())
