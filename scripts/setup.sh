#!/usr/bin/env bash
# Installs what FlexDesk needs on Debian 12 (run as root), skipping what is already there.
# Idempotent: safe to run before every `run` or `test`.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  build-essential pkg-config file libwebkit2gtk-4.1-dev libssl-dev libxdo-dev
  libayatana-appindicator3-dev librsvg2-dev libsoup-3.0-dev libgtk-3-dev libjavascriptcoregtk-4.1-dev
  libdbus-1-dev libfontconfig-dev libfreetype-dev
  xvfb xauth webkit2gtk-driver imagemagick gnome-keyring dbus dbus-x11 libsecret-tools keyutils
  x11-utils xdotool fonts-dejavu-core at-spi2-core
  openssh-server openssh-client
)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing Debian packages: ${missing[*]}" >&2
    echo "setup: run as root (or: sudo apt-get install ${missing[*]})" >&2
    exit 1
  fi
  echo "setup: installing ${#missing[@]} Debian packages"
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v tauri-driver >/dev/null 2>&1; then
  echo "setup: installing tauri-driver 2.x"
  cargo install tauri-driver --locked --version '^2' >/dev/null
fi

if [ -f ui/package.json ]; then
  if [ ! -d ui/node_modules ] || [ ui/package.json -nt ui/node_modules/.package-lock.json ]; then
    echo "setup: npm install (ui)"
    (cd ui && npm install --no-audit --no-fund --loglevel=error)
  fi
fi
