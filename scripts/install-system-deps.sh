#!/usr/bin/env bash
# Installs the Debian packages camcheck's tests use as real peers. Idempotent and quick when all are present.
set -euo pipefail
PKGS=(
  ffmpeg                                   
  python3-gi gir1.2-gst-rtsp-server-1.0    
  gstreamer1.0-rtsp gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good
  gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly gstreamer1.0-libav
  gstreamer1.0-x                           # Pango overlays (timeoverlay: the ticking clock of the GStreamer frozen peer)
  vlc-bin vlc-plugin-base                  
  faketime                                 
  prometheus                               # promtool + a real server for the exporter tests
  chromium chromium-driver                 # dashboard browser tests, report printed to A4 PDF
  libreoffice-calc-nogui poppler-utils     # the audit report opens in LibreOffice; PDF pages rendered to PNG
  fonts-thai-tlwg                          # a Thai font for LibreOffice/Chromium when they render reports
)
missing=()
for p in "${PKGS[@]}"; do
  [[ "$p" == \#* ]] && continue
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
