#!/usr/bin/env bash
# The README's two quick-start commands land here:
#   npm start  -> install from the lock file, build, run the whole product locally
#   npm test   -> install from the lock file, bring up Postgres/NATS, run every test
set -euo pipefail
cd "$(dirname "$0")/.."
PNPM_VERSION=$(node -p "require('./package.json').packageManager.split('@')[1]")

pnpm_cmd() {
  if command -v pnpm >/dev/null 2>&1 && [ "$(pnpm --version 2>/dev/null)" = "$PNPM_VERSION" ]; then pnpm "$@";
  else npx --yes "pnpm@$PNPM_VERSION" "$@"; fi
}

install() {
  echo "== installing dependencies from pnpm-lock.yaml (pnpm $PNPM_VERSION)"
  pnpm_cmd install --frozen-lockfile --reporter=append-only 2>&1 | tail -n 3
}

case "${1:-}" in
  start)
    install
    echo "== building"
    pnpm_cmd run build >/dev/null
    shift; exec node scripts/start.mjs "$@" ;;
  test)
    install
    bash scripts/ensure-services.sh
    shift; pnpm_cmd run test:all "$@" ;;
  *) echo "usage: scripts/dev.sh start|test" >&2; exit 2 ;;
esac
