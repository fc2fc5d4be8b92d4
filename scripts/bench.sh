#!/usr/bin/env bash
# Lithair's benchmark (docs/performance.md): builds the release server and the benchmark, then
# measures in one run, on loopback: GET /health and POST per durability mode with wrk at 50
# connections (and with the harness's load generator), GET by id, latency at 1 and 100 connections,
# this machine's fdatasync, Redis (appendfsync always/everysec) and etcd if installed, a restart
# on a 1,000,000-event log; then the cluster: a 3-node fsync cluster's POSTs against the single
# server's and a 3-member etcd cluster's PUTs, leader-kill failover (both), leader changes under
# 60 s of load, and a node joining a 1,000,000-event cluster. Prints the table with its goals;
# writes target/bench/results.json.
#
#   scripts/bench.sh [--before REV] [--seconds 5] [--tail-seconds 10] [--connections 50]
#                    [--runs 1] [--restart-events 1000000] [--no-wrk] [--no-peers]
#                    [--no-cluster | --only-cluster] [--failover-kills 20]
#                    [--steady-seconds 60] [--join-events 1000000]
#
# --only-cluster: the cluster's figures and the single server's fsync POSTs only (~4 minutes);
# --failover-kills, --steady-seconds and --join-events 0 skip that figure.
# --before REV: then measures the single server of git revision REV (built in target/bench/) the
# same way, right after, without peers or cluster, into target/bench/results-before.json: the
# same run's before and after, table beside table.
# Client and server share this machine's cores: ratios measured in the same run are what count.
# The peers and wrk, on Debian: apt-get install wrk redis-server redis-tools etcd-server
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

before=""
args=()
while (($#)); do
    if [[ $1 == --before ]]; then
        before=${2:?--before needs a git revision}
        shift 2
    else
        args+=("$1")
        shift
    fi
done

cargo build --release -p lithair-server --bin lithair-server -p lithair-bench --bin lithair-bench
if [[ -n $before ]]; then
    # Built first, so that no build runs between the two measurements.
    source=target/bench/before-src
    rm -rf "$source" && mkdir -p "$source"
    git archive "$before" | tar -x -C "$source"
    CARGO_TARGET_DIR="$PWD/target/bench/before-target" \
        cargo build --release --manifest-path "$source/Cargo.toml" -p lithair-server --bin lithair-server
fi
LITHAIR_SERVER_BIN="$PWD/target/release/lithair-server" target/release/lithair-bench "${args[@]}"
if [[ -n $before ]]; then
    echo
    echo "=== the same, with the single server of $before ($(git rev-parse --short "$before")) ==="
    LITHAIR_SERVER_BIN="$PWD/target/bench/before-target/release/lithair-server" \
        target/release/lithair-bench "${args[@]}" --no-cluster --no-peers \
        --results target/bench/results-before.json
fi
