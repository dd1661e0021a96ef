#!/usr/bin/env bash
# The whole test suite, from a fresh Debian 12 machine: installs what is missing, builds,
# then runs UI checks, lints, unit + integration tests, the real-keychain tests and the
# end-to-end tests through the real window (Xvfb + tauri-driver + WebKitWebDriver).
set -euo pipefail
cd "$(dirname "$0")/.."

# A one-off build (CI's clean clone) gains nothing from rustc's incremental caches, and they
# were the largest part of the target directory. (A developer's own setting wins.)
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"

# The builds below (lints, debug tests, app, release .deb) need disk: from a clean clone the
# target directory peaked at 11 GiB (2026-12-07, CARGO_INCREMENTAL=0, measured with `du`
# every 20 s). Running out shows up as a linker "Bus error" or "No space left on device"
# half-way through, so say it up front (with some margin), before anything is installed.
NEED_GIB=14
free_gib=$(df -Pk . 2>/dev/null | awk 'NR==2 {print int($4 / 1048576)}') || free_gib=""
if [ ! -d "${CARGO_TARGET_DIR:-target}" ] && [ -n "$free_gib" ] && [ "$free_gib" -lt "$NEED_GIB" ]; then
  echo "warning: ${free_gib} GiB free here; a build from a clean checkout needs about ${NEED_GIB} GiB." >&2
  echo "warning: free disk space (old target/ directories, large files in /tmp) if the build fails." >&2
fi

bash scripts/setup.sh

step() { printf '\n== %s\n' "$*"; }

step "UI: type check, unit tests, build"
(cd ui && npm run --silent check && npm run --silent test && npm run --silent build)

step "Rust: format and lints"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings

step "Core crates stay Tauri-free"
for manifest in crates/*/Cargo.toml; do
  pkg=$(sed -n 's/^name = "\(.*\)"/\1/p' "$manifest" | head -1)
  if cargo tree -p "$pkg" -e normal --prefix none 2>/dev/null | grep -q '^tauri v'; then
    echo "crate $pkg depends on tauri: core logic must stay Tauri-free" >&2
    exit 1
  fi
done
echo "ok: no crate under crates/ depends on tauri"

step "Generated TypeScript bindings are current"
cargo run --quiet -p flexdesk-cli -- gen-bindings --check

step "Unit and integration tests (no display needed)"
cargo build -p flexdesk-cli   # the CLI tests and the relay chaos test run the real binary
env -u DISPLAY cargo nextest run --workspace --no-fail-fast

step "Build the desktop app"
cargo build -p flexdesk-app

step "Build the release .deb (installed and started by e2e_installed_deb)"
TAURI_APP_PATH=src-tauri ui/node_modules/.bin/tauri build --bundles deb

step "Keychain (Secret Service) and end-to-end tests (Xvfb + WebDriver)"
mkdir -p artifacts/e2e
keyring_home=$(mktemp -d)
export XDG_DATA_HOME="$keyring_home"
dbus-run-session -- bash -c '
  printf %s "flexdesk-test" | gnome-keyring-daemon --unlock --components=secrets >/dev/null
  exec xvfb-run -a -s "-screen 0 1280x800x24" \
    cargo nextest run -p flexdesk-tests --run-ignored only --test-threads 1 --no-fail-fast
'
rm -rf "$keyring_home"
echo
echo "All tests passed. Screenshots: artifacts/e2e/"
