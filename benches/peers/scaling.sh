#!/usr/bin/env bash
# Build and apply time at 1M / 5M / 20M rows and 1 vs 2 threads; writes the
# table into docs/BENCHMARKS.md.
#
#   benches/peers/scaling.sh [ROUNDS]      # default 3
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=${1:-3}
venv=target/peers-venv
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet duckdb==2.0.0 polars==2.1.0 pyarrow==26.0.1
fi
cargo build --release --quiet --bin oovocab --example gen_bench
sets=()
for rows in 1000000 5000000 20000000; do
  data=target/bench-data-$rows
  if [ ! -f "$data/part-4.parquet" ]; then
    target/release/examples/gen_bench --rows "$rows" --files 5 --out "$data"
  fi
  sets+=("$data")
done
"$venv/bin/python" benches/peers/peers.py scaling target/release/oovocab "$rounds" docs/BENCHMARKS.md "${sets[@]}"
