#!/usr/bin/env bash
# Builds the release Debian package of the desktop app:
#   target/release/bundle/deb/FlexDesk_<version>_amd64.deb
# Install it with `sudo dpkg -i <that file>` (or `sudo apt install ./<that file>`, which also
# pulls missing libraries); remove it with `sudo dpkg -r flex-desk`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# The Tauri CLI finds the app through src-tauri/tauri.conf.json (a symlink to the root config).
TAURI_APP_PATH=src-tauri ui/node_modules/.bin/tauri build --bundles deb
ls -1t target/release/bundle/deb/*.deb | head -1
