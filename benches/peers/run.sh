#!/usr/bin/env bash
# Runs oovocab beside DuckDB, Polars and pyarrow on the benchmark dataset and
# writes the table into docs/BENCHMARKS.md. One command from a clean checkout:
#
#   benches/peers/run.sh [ROWS] [ROUNDS] [THREADS]      # defaults: 20000000 3 2
#
# Makes its own virtualenv under target/peers-venv (pinned versions), the
# dataset under target/bench-data-ROWS (once), and builds oovocab in release.
set -euo pipefail
cd "$(dirname "$0")/../.."
rows=${1:-20000000}
rounds=${2:-3}
threads=${3:-2}
venv=target/peers-venv
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet duckdb==2.0.0 polars==2.1.0 pyarrow==26.0.1
fi
cargo build --release --quiet --bin oovocab --example gen_bench --example bare_read
data=target/bench-data-$rows
if [ ! -f "$data/part-4.parquet" ]; then
  target/release/examples/gen_bench --rows "$rows" --files 5 --out "$data"
fi
scratch=$(mktemp -d "${TMPDIR:-/tmp}/oovocab-peers.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
"$venv/bin/python" benches/peers/peers.py run "$data" "$scratch" target/release/oovocab \
  target/release/examples/bare_read "$rounds" "$threads" docs/BENCHMARKS.md
