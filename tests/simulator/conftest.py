"""Fixtures for the simulator's tests (the fleet itself: sim_fleet_fixture.py)."""

from __future__ import annotations

from typing import Iterator

import pytest
from sim_fleet_fixture import sim_fleet_dict

from camcheck.simulator.testing import ProcessFleetHandle, fleet_process


@pytest.fixture(scope="session")
def peer_fleet() -> Iterator[ProcessFleetHandle]:
    """The test fleet in a child process (blocking clients such as OpenCV cannot starve it)."""
    with fleet_process(sim_fleet_dict()) as fleet:
        yield fleet
