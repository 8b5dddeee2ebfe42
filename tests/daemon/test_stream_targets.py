"""Which stream a check reads (daemon.targets.choose_stream): URLs the probe cannot read are passed
over, so a registry row with a web page or MJPEG URL never makes a working camera broken."""

from __future__ import annotations

import pytest

from camcheck.daemon.targets import TargetError, checkable, choose_stream, main_in_place_of_sub
from camcheck.registry.models import StoredCamera


def cam(main: str | None, sub: str | None) -> StoredCamera:
    return StoredCamera(id="c", main_stream_url=main, sub_stream_url=sub)


def test_checkable_schemes() -> None:
    assert checkable("rtsp://h/a") and checkable("RTSPS://h:322/a")
    assert not any(checkable(u) for u in (None, "", "http://h/", "https://h/mjpg", "rtmp://h/live", "h/a",
                                          "rtsp://[::1/a"))


def test_the_readable_stream_is_chosen() -> None:
    both = cam("rtsp://h/main", "rtsps://h/sub")
    assert choose_stream(both, want_main=True) == ("rtsp://h/main", "main")
    assert choose_stream(both, want_main=False) == ("rtsps://h/sub", "sub")
    web_main = cam("http://h/index.html", "rtsp://h/sub")  # the web page registered as the main stream
    assert choose_stream(web_main, want_main=True) == ("rtsp://h/sub", "sub")
    assert choose_stream(cam("rtsp://h/main", "https://h/mjpg"), want_main=False) == ("rtsp://h/main", "main")
    assert choose_stream(cam("http://h/", None), want_main=False, sub="rtsp://h/onvif-sub") == ("rtsp://h/onvif-sub", "sub")


def test_nothing_readable_leaves_the_camera_unverified_and_says_why() -> None:
    with pytest.raises(TargetError, match=r"cannot be checked \(http://, rtmp://; camcheck reads rtsp:// and rtsps://\)"):
        choose_stream(cam("http://h/", "rtmp://h/live"), want_main=True)
    with pytest.raises(TargetError, match="no stream URL"):
        choose_stream(cam(None, None), want_main=True)


def test_the_main_stream_stands_in_for_a_failed_sub_stream_unless_the_address_is_dead() -> None:
    sub, main = "rtsp://cam7/Streaming/Channels/102", "rtsp://cam7:554/Streaming/Channels/101"
    assert not main_in_place_of_sub(sub, main, None)  # the sub-stream delivered
    for failure in ("not_found", "no_frames", "stalled", "auth_failed", "rtsp_error", "decode_failed"):
        assert main_in_place_of_sub(sub, main, failure), failure
    # the address both are served from does not answer: the main stream would fail the same way
    for failure in ("dns", "unreachable", "refused", "timeout_connect"):
        assert not main_in_place_of_sub(sub, main, failure), failure
        assert main_in_place_of_sub("rtsp://cam7:8554/sub", main, failure), failure  # another port
        assert main_in_place_of_sub("rtsp://nvr/ch7/sub", main, failure), failure  # another host
    assert not main_in_place_of_sub("rtsps://cam7/sub", "rtsps://cam7:322/main", "refused")  # rtsps' port
    assert main_in_place_of_sub("rtsps://cam7/sub", main, "refused")  # 322 is not 554
    assert not main_in_place_of_sub(main, main, "not_found")  # one URL registered as both
    assert not main_in_place_of_sub(sub, None, "not_found") and not main_in_place_of_sub(sub, "http://cam7/", "stalled")
