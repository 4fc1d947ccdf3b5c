#!/usr/bin/env bash
# Make sure a headless Chromium and its WebDriver are installed, for the tests that open
# rendered reports in a real browser (tests/browser.py).
#
#   scripts/install_chromium.sh     install Debian's chromium, chromium-driver and
#                                   fonts-dejavu-core if any is missing; a fast no-op
#                                   (no apt, no root needed) when all are there
#
# Only Debian's packages: nothing is downloaded from anywhere else (no browser or driver
# builds of their own, no selenium-manager). The binaries end up at $CHROMIUM_BIN and
# $CHROMEDRIVER_BIN (/usr/bin/chromium and /usr/bin/chromedriver).
# Quiet on success; on failure one line on stderr and a non-zero exit code. apt's output
# goes to $CHROMIUM_STATE_DIR/apt.log (default /run/tcsummary-chromium).
set -euo pipefail

STATE_DIR="${CHROMIUM_STATE_DIR:-/run/tcsummary-chromium}"
CHROMIUM_BIN=/usr/bin/chromium
CHROMEDRIVER_BIN=/usr/bin/chromedriver
FONT=/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf
PKGS=(chromium chromium-driver fonts-dejavu-core)

die() {
  echo "install_chromium: $*" >&2
  exit 1
}

installed() {
  [ -x "$CHROMIUM_BIN" ] && [ -x "$CHROMEDRIVER_BIN" ] && [ -f "$FONT" ]
}

# Serialise concurrent calls (pytest-xdist workers): apt holds its own lock, but a second
# caller should wait for the first install instead of failing on that lock.
lock() {
  mkdir -p "$STATE_DIR" || die "cannot create $STATE_DIR"
  exec 9>"$STATE_DIR/lock"
  flock -w 600 9 || die "another install_chromium.sh holds $STATE_DIR/lock"
}

main() {
  [ "$#" = 0 ] || {
    echo "usage: $0" >&2
    exit 2
  }
  installed && return 0
  [ "$(id -u)" = 0 ] || die "chromium/chromium-driver are not installed and installing them needs root"
  command -v apt-get >/dev/null 2>&1 ||
    die "chromium/chromium-driver are not installed and apt-get is not available to install them"
  lock
  installed && return 0
  local log="$STATE_DIR/apt.log"
  export DEBIAN_FRONTEND=noninteractive
  # A failed update (offline, a mirror down) may still leave lists that the install can use.
  {
    apt-get update -qq || true
    apt-get install -y -qq --no-install-recommends "${PKGS[@]}"
  } >"$log" 2>&1 || die "apt-get install ${PKGS[*]} failed: $(grep -m1 -E '^(E|W):' "$log" || tail -n1 "$log")"
  installed || die "apt-get installed ${PKGS[*]} but $CHROMIUM_BIN or $CHROMEDRIVER_BIN is missing"
}

main "$@"
