#!/usr/bin/env bash
# Debian packages the test suite talks to: Python tinyrpc and its transports' libraries as real
# peers, and Chromium for the browser test. Safe to run again; installs only what is missing.
set -euo pipefail
packages=(
  python3-tinyrpc python3-zmq python3-gevent python3-gevent-websocket python3-werkzeug
  python3-requests python3-websocket python3-pika python3-msgpack chromium
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "all system packages present"
  exit 0
fi
echo "installing: ${missing[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
