#!/usr/bin/env bash
# Compares commands (two builds of oovocab, or oovocab and the bare read) in
# alternating rounds: each round runs every command once, in the order given,
# each as a fresh process under GNU time. Prints, per command, the median,
# lowest and highest wall time, the median CPU time (user + system), system
# time, peak RSS and minor faults; and, for each command after the first, its
# wall time over the first's, round by round, with their median.
#
#   benches/peers/alternate.sh ROUNDS NAME=COMMAND [NAME=COMMAND ...]
#
# For example, `build` against the bare read of the same columns:
#
#   d=target/bench-data-20000000
#   benches/peers/alternate.sh 8 \
#     "read=target/release/examples/bare_read --threads 2 --columns item_id,publisher,category,user_id,tags $d" \
#     "build=target/release/oovocab build -q --spec bench.toml -o /tmp/bench.oov $d"
#
# where bench.toml has `[defaults] min_count = 2` and one `[[feature]]` per
# column. Alternating rounds, not runs in a row, because this kind of VM
# drifts by 10-20% within minutes; only ratios taken within a round mean much.
#
# Order matters: a process that starts right after one that freed hundreds
# of MB gets that memory warm, and fresh memory is much of what `build`
# costs on this VM. To compare two builds, put the same light command (the
# bare read) before each, so that neither follows the other:
#
#   benches/peers/alternate.sh 8 "old=..." "read=..." "new=..." "read2=..."
set -euo pipefail
if [ $# -lt 2 ]; then
  sed -n '2,20p' "$0" >&2
  exit 2
fi
rounds=$1
shift
scratch=$(mktemp -d "${TMPDIR:-/tmp}/oovocab-alternate.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
for _ in $(seq "$rounds"); do
  for spec in "$@"; do
    name=${spec%%=*}
    command=${spec#*=}
    /usr/bin/time -o "$scratch/time" -f "%e %U %S %M %R" bash -c "$command" >/dev/null 2>"$scratch/stderr" || {
      echo "$name failed:" >&2
      cat "$scratch/stderr" >&2
      exit 1
    }
    echo "$name $(tail -1 "$scratch/time")" >>"$scratch/rounds"
  done
done
python3 - "$scratch/rounds" <<'PY'
import collections, statistics, sys

runs = collections.OrderedDict()
for line in open(sys.argv[1]):
    name, wall, user, system, rss_kb, minor = line.split()
    runs.setdefault(name, []).append(
        (float(wall), float(user) + float(system), float(system), int(rss_kb) / 1024, int(minor))
    )
med = statistics.median
for name, r in runs.items():
    walls = [x[0] for x in r]
    print(
        f"{name:12s} wall median {med(walls):.3f} s (lowest {min(walls):.3f}, highest {max(walls):.3f}) | "
        f"CPU {med(x[1] for x in r):.3f} s, system {med(x[2] for x in r):.3f} s | "
        f"peak RSS {med(x[3] for x in r):.0f} MiB | minor faults {med(x[4] for x in r):.0f}"
    )
names = list(runs)
for name in names[1:]:
    ratios = [a[0] / b[0] for a, b in zip(runs[name], runs[names[0]])]
    print(
        f"{name:12s} / {names[0]} per round: median {med(ratios):.3f}x, "
        + " ".join(f"{x:.2f}" for x in ratios)
    )
PY
