#!/usr/bin/env bash
# Installs what is missing, builds FlexDesk and opens it. With no account configured it
# opens the Demo account (an in-process FlexFactor sandbox with a seeded history).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
(cd ui && npm run --silent build)
cargo build -p flexdesk-app
exec ./target/debug/flexdesk-app "$@"
