"""Simulated IP cameras: pictures, encoded streams, RTSP/ONVIF servers for testing camcheck."""
