#!/usr/bin/env bash
# Runs the whole test suite: unit and property tests, then the integration tests on SQLite and
# on PostgreSQL. Makes sure a local PostgreSQL is up first (installing it from Debian's packages
# if the machine has none), that the SMTP test server (aiosmtpd, from PyPI) and the IMAP one
# (Debian's dovecot) and headless Chromium are installed, and that Redis is up. With CI=true, an unreachable
# PostgreSQL or Redis fails the run instead of skipping what needs it.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/xdesk-target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

pg_up() { pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; }

ensure_postgres() {
  if [ -n "${XDESK_TEST_DATABASE_URL:-}" ]; then return 0; fi
  if ! command -v pg_isready >/dev/null 2>&1 || ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      echo "installing PostgreSQL from Debian's packages" >&2
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    fi
  fi
  if ! pg_up && command -v pg_ctlcluster >/dev/null 2>&1; then
    for v in $(ls /etc/postgresql 2>/dev/null); do
      pg_ctlcluster --skip-systemctl-redirect "$v" main start >/dev/null 2>&1 || true
    done
    for _ in $(seq 1 30); do pg_up && break; sleep 1; done
  fi
  if pg_up; then
    local url="postgres://postgres@127.0.0.1:5432/postgres"
    if ! psql "$url" -qAtc 'select 1' >/dev/null 2>&1; then
      # A fresh Debian install uses password auth on TCP: give the test role a known password.
      su postgres -c "psql -qc \"ALTER USER postgres PASSWORD 'postgres'\"" >/dev/null 2>&1 || true
      url="postgres://postgres:postgres@127.0.0.1:5432/postgres"
    fi
    if psql "$url" -qAtc 'select 1' >/dev/null 2>&1; then
      export XDESK_TEST_DATABASE_URL="$url"
      return 0
    fi
  fi
  return 1
}

# The email tests talk to a real SMTP server on loopback: aiosmtpd (scripts/smtp_capture.py);
# the status page's Atom feed is read by an outside parser, feedparser. Both from PyPI, into
# the cache beside the build.
ensure_aiosmtpd() {
  local dir="$HOME/.cache/xdesk-py"
  export PYTHONPATH="$dir${PYTHONPATH:+:$PYTHONPATH}"
  python3 -c 'import aiosmtpd, feedparser' 2>/dev/null && return 0
  echo "installing aiosmtpd and feedparser from PyPI into $dir" >&2
  python3 -m pip install --quiet --disable-pip-version-check --target "$dir" \
    'aiosmtpd==1.4.6' 'feedparser==6.0.11' >&2
}
ensure_aiosmtpd

# The IMAP tests run Debian's dovecot (each test its own instance on a free loopback port).
ensure_dovecot() {
  command -v dovecot >/dev/null 2>&1 && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing dovecot-imapd from Debian's packages" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dovecot-imapd >/dev/null 2>&1 ||
      { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dovecot-imapd >/dev/null; }
  fi
  command -v dovecot >/dev/null 2>&1 || { echo "dovecot is missing and could not be installed" >&2; exit 1; }
}
ensure_dovecot

# The two-node chat test relays live events through Redis on loopback.
redis_up() { redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; }
ensure_redis() {
  if [ -n "${XDESK_TEST_REDIS_URL:-}" ]; then return 0; fi
  if ! command -v redis-server >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing redis-server from Debian's packages" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null 2>&1 ||
      { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; }
  fi
  if ! redis_up && command -v redis-server >/dev/null 2>&1; then
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null
    for _ in $(seq 1 30); do redis_up && break; sleep 0.2; done
  fi
  if redis_up; then
    export XDESK_TEST_REDIS_URL="redis://127.0.0.1:6379"
  elif [ "${CI:-}" = "true" ]; then
    echo "Redis is not reachable on 127.0.0.1:6379; CI requires it" >&2
    exit 1
  fi
}
ensure_redis

# On-chain checks are tested against a real local EVM node: ganache, from the npm registry,
# installed beside the build (each test starts its own on a free loopback port).
ensure_ganache() {
  local dir="$HOME/.cache/xdesk-node"
  local bin="$dir/node_modules/.bin/ganache"
  if [ ! -x "$bin" ] && command -v npm >/dev/null 2>&1; then
    echo "installing ganache from the npm registry into $dir" >&2
    mkdir -p "$dir"
    (cd "$dir" && npm install --no-audit --no-fund --loglevel=error ganache@7.9.2 >&2)
  fi
  if [ -x "$bin" ]; then
    export XDESK_GANACHE="$bin"
  elif [ "${CI:-}" = "true" ]; then
    echo "ganache (npm) is missing and could not be installed" >&2
    exit 1
  fi
}
ensure_ganache

# The chat widget and the console are tested in a real headless Chromium, the console through
# chromedriver (WebDriver); a CJK font makes the Chinese screenshots legible. All from Debian.
ensure_chromium() {
  command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1 &&
    [ -e /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing chromium, chromium-driver and a CJK font from Debian's packages" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver fonts-wqy-microhei >/dev/null 2>&1 ||
      { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver fonts-wqy-microhei >/dev/null; }
  fi
  { command -v chromium && command -v chromedriver; } >/dev/null 2>&1 || [ "${CI:-}" != "true" ] ||
    { echo "chromium or chromedriver is missing and could not be installed" >&2; exit 1; }
}
ensure_chromium

# The enrolment QR code is read back by tools from outside xdesk: librsvg draws the SVG, zbar
# reads the code. Both from Debian.
ensure_qr_tools() {
  command -v rsvg-convert >/dev/null 2>&1 && command -v zbarimg >/dev/null 2>&1 && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing librsvg2-bin and zbar-tools from Debian's packages" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq librsvg2-bin zbar-tools >/dev/null 2>&1 ||
      { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq librsvg2-bin zbar-tools >/dev/null; }
  fi
  { command -v rsvg-convert && command -v zbarimg; } >/dev/null 2>&1 || [ "${CI:-}" != "true" ] ||
    { echo "rsvg-convert or zbarimg is missing and could not be installed" >&2; exit 1; }
}
ensure_qr_tools

if ensure_postgres; then
  echo "PostgreSQL tests: on (${XDESK_TEST_DATABASE_URL%%@*}@…)" >&2
elif [ "${CI:-}" = "true" ]; then
  echo "PostgreSQL is not reachable on 127.0.0.1:5432; CI requires it" >&2
  exit 1
else
  echo "PostgreSQL is not reachable: running the SQLite half only" >&2
fi

# Lints first (workspace lints deny unwrap and panic in library code): a warning fails the run.
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --workspace --locked "$@"
