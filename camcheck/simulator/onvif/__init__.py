"""Simulated ONVIF devices (cameras and NVRs) for tests and demos: see server.py and config.py."""

from camcheck.simulator.onvif.config import (
    ONVIF_FAULTS,
    GapConfig,
    OnvifDeviceConfig,
    OnvifProfileConfig,
    OnvifRecordingConfig,
)
from camcheck.simulator.onvif.server import OnvifServers, SimulatedOnvifDevice, running_onvif_device, start_onvif_servers

__all__ = [
    "ONVIF_FAULTS",
    "GapConfig",
    "OnvifDeviceConfig",
    "OnvifProfileConfig",
    "OnvifRecordingConfig",
    "OnvifServers",
    "SimulatedOnvifDevice",
    "running_onvif_device",
    "start_onvif_servers",
]
