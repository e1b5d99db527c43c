#!/usr/bin/env bash
# Makes sure the Postgres and NATS (JetStream) that the tests use are reachable.
# Uses DATABASE_URL-free checks against 127.0.0.1:5432 and :4222 (override with PGHOST/PGPORT, NATS_PORT).
# Starts the machine's own servers when they are installed but stopped; never stops anything.
set -euo pipefail
PGHOST=${PGHOST:-127.0.0.1}; PGPORT=${PGPORT:-5432}; NATS_PORT=${NATS_PORT:-4222}

port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }
wait_port() { for _ in $(seq 1 60); do port_open "$1" "$2" && return 0; sleep 0.5; done; return 1; }

if ! port_open "$PGHOST" "$PGPORT"; then
  if command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
    echo "Postgres is not answering on $PGHOST:$PGPORT; starting the local cluster…"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  fi
  wait_port "$PGHOST" "$PGPORT" || { echo "Postgres is not reachable on $PGHOST:$PGPORT. Install PostgreSQL (apt-get install postgresql) or point TEST_DATABASE_URL at one." >&2; exit 1; }
fi
echo "Postgres: up on $PGHOST:$PGPORT"

if ! port_open 127.0.0.1 "$NATS_PORT"; then
  if [ -x /usr/sbin/nats-server ]; then
    echo "NATS is not answering on 127.0.0.1:$NATS_PORT; starting nats-server with JetStream…"
    mkdir -p /var/lib/nats-server 2>/dev/null || true
    start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- -a 127.0.0.1 -p "$NATS_PORT" -js -sd /var/lib/nats-server -l /var/log/nats-server.log
  fi
  wait_port 127.0.0.1 "$NATS_PORT" || { echo "NATS is not reachable on 127.0.0.1:$NATS_PORT. Install it (apt-get install nats-server) or point TEST_NATS_URL at one." >&2; exit 1; }
fi
echo "NATS: up on 127.0.0.1:$NATS_PORT"

# The operator console's browser test drives Debian's Chromium (playwright-core, no bundled browser).
CHROMIUM=${CHROMIUM_PATH:-/usr/bin/chromium}
if [ ! -x "$CHROMIUM" ]; then
  if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    echo "Chromium is missing; installing Debian's chromium for the browser test…"
    apt-get install -y -qq chromium >/dev/null 2>&1 || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq chromium >/dev/null 2>&1; } || true
  fi
  [ -x "$CHROMIUM" ] || { echo "Chromium is not installed at $CHROMIUM. Install it (apt-get install chromium) or set CHROMIUM_PATH." >&2; exit 1; }
fi
echo "Chromium: $CHROMIUM"

# Chinese product names in the console's screenshots need a CJK font (WenQuanYi Zen Hei, which the
# console's font stack names); without one the test still runs, the glyphs are boxes.
if ! fc-list 2>/dev/null | grep -qi "wenquanyi\|wqy"; then
  if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    echo "No CJK font; installing fonts-wqy-zenhei for the console's screenshots…"
    apt-get install -y -qq fonts-wqy-zenhei >/dev/null 2>&1 || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq fonts-wqy-zenhei >/dev/null 2>&1; } || true
  fi
  fc-list 2>/dev/null | grep -qi "wenquanyi\|wqy" || echo "No CJK font (apt-get install fonts-wqy-zenhei): Chinese names in console screenshots show as boxes." >&2
fi

# The alert rules and the Prometheus config in deploy/observability are checked by promtool
# (`promtool check config`, `promtool test rules`), from Debian's prometheus package. Only the
# binary is used: the package's own Prometheus service is stopped and disabled again if apt
# started it (nothing else of the machine is touched).
PROMTOOL=${PROMTOOL:-$(command -v promtool || echo /usr/bin/promtool)}
if [ ! -x "$PROMTOOL" ]; then
  if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    echo "promtool is missing; installing Debian's prometheus package for the alert-rule tests…"
    # policy-rc.d 101: apt does not start the package's Prometheus server (only promtool is wanted)
    had_policy=0; [ -e /usr/sbin/policy-rc.d ] && had_policy=1
    if [ "$had_policy" = 0 ]; then printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null 2>&1 ||
      { apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null 2>&1; } || true
    [ "$had_policy" = 1 ] || rm -f /usr/sbin/policy-rc.d
    PROMTOOL=/usr/bin/promtool
  fi
  [ -x "$PROMTOOL" ] || { echo "promtool is not installed. Install it (apt-get install prometheus) or set PROMTOOL to its path." >&2; exit 1; }
fi
echo "promtool: $PROMTOOL"

# The compose layers (deploy/compose*.yaml) are merged and checked by Compose itself
# (`config --quiet`): the Docker CLI's compose plugin when it has one, else Debian's docker-compose.
if ! docker compose version >/dev/null 2>&1 && ! command -v "${DOCKER_COMPOSE:-docker-compose}" >/dev/null; then
  if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    echo "Compose is missing; installing Debian's docker-compose for the compose-layer test…"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker-compose >/dev/null 2>&1 ||
      { apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker-compose >/dev/null 2>&1; } || true
  fi
  command -v "${DOCKER_COMPOSE:-docker-compose}" >/dev/null || { echo "Compose is not installed. Install it (apt-get install docker-compose, or the Docker CLI's compose plugin) or set DOCKER_COMPOSE to its path." >&2; exit 1; }
fi
echo "compose: $( (docker compose version 2>/dev/null || "${DOCKER_COMPOSE:-docker-compose}" version) | head -1)"
