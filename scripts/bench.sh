#!/usr/bin/env bash
# Lithair's benchmark: builds the release server and the benchmark, then measures /health,
# POST per durability mode, GET by id (and the same with wrk, if installed), and a restart on a
# 1,000,000-event log. Prints a table; writes target/bench/results.json.
#
#   scripts/bench.sh [--seconds 5] [--connections 100] [--restart-events 1000000] [--no-wrk]
#
# Client and server share this machine's cores: ratios measured in the same run are what count.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if ! command -v wrk >/dev/null; then
    echo "wrk is not installed: measuring with the harness's load generator only" >&2
    echo "(on Debian: apt-get install wrk)" >&2
fi
cargo build --release -p lithair-server --bin lithair-server -p lithair-bench --bin lithair-bench
LITHAIR_SERVER_BIN="$PWD/target/release/lithair-server" exec target/release/lithair-bench "$@"
