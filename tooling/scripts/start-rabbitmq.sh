#!/usr/bin/env bash
# RabbitMQ for the broker tests: on this kind of machine it runs before the session starts; when
# nothing listens on 127.0.0.1:5672 (it stopped, or a machine without it), start it, installing
# Debian's rabbitmq-server first if it is missing. Safe to run again.
set -euo pipefail
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/5672") 2>/dev/null; }
if port_open; then
  echo "RabbitMQ already listens on 127.0.0.1:5672"
  exit 0
fi
if ! command -v rabbitmq-server >/dev/null; then
  echo "installing rabbitmq-server"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends rabbitmq-server >/dev/null
fi
rabbitmq-server -detached
for _ in $(seq 1 120); do
  if port_open; then
    echo "started RabbitMQ on 127.0.0.1:5672"
    exit 0
  fi
  sleep 0.5
done
echo "RabbitMQ did not start within 60 s" >&2
exit 1
