#!/usr/bin/env bash
# NATS for the transport-nats tests: installs Debian's nats-server when missing (the reconnect
# tests start servers of their own with it) and starts one on 127.0.0.1:${NATS_PORT:-4222}, with
# JetStream, when nothing listens there. Safe to run again.
set -euo pipefail
port="${NATS_PORT:-4222}"
log="${TMPDIR:-/tmp}/tinyrpc-nats-server-$port.log"
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; }
if ! command -v nats-server >/dev/null && [ ! -x /usr/sbin/nats-server ]; then
  echo "installing nats-server"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends nats-server >/dev/null
fi
if port_open; then
  echo "NATS already listens on 127.0.0.1:$port"
  exit 0
fi
server=$(command -v nats-server || echo /usr/sbin/nats-server)
store="${TMPDIR:-/tmp}/tinyrpc-nats-jetstream-$port"
mkdir -p "$store"
nohup "$server" -a 127.0.0.1 -p "$port" -js -sd "$store" >"$log" 2>&1 &
for _ in $(seq 1 50); do
  if port_open; then
    echo "started nats-server on 127.0.0.1:$port (pid $!)"
    exit 0
  fi
  sleep 0.1
done
echo "nats-server did not start; its log:" >&2
cat "$log" >&2
exit 1
