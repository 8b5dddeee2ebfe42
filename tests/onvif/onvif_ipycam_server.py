"""Serve ipycam's ONVIF HTTP handler on 127.0.0.1 only (its own start() would bind 0.0.0.0).

Run as a child process (so faketime can give the "camera" a wrong clock):
    python ipycam_server.py USER PASSWORD   -> prints the port, serves until stdin closes.
"""

import socketserver
import sys
import threading

from ipycam import CameraConfig, IPCamera
from ipycam.http import IPCameraHTTPHandler


class Handler(IPCameraHTTPHandler):
    pass


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True


def main() -> None:
    user, password = sys.argv[1], sys.argv[2]
    srv = Server(("127.0.0.1", 0), Handler)
    port = srv.server_address[1]
    # "256k"-style bitrates crash ipycam's GetProfiles (known bug): give plain kbit/s numbers.
    Handler.camera = IPCamera(
        CameraConfig(local_ip="127.0.0.1", onvif_port=port, username=user, password=password, main_bitrate="4096", sub_bitrate="512")
    )
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    print(port, flush=True)
    sys.stdin.read()  # parent closes stdin to stop us
    srv.shutdown()
    srv.server_close()


if __name__ == "__main__":
    main()
