"""Does `Feature.ids` copy its input? Peak RSS around one call on a large
array, against the sizes of the input and of the output.

    target/py-venv/bin/python benches/python/nocopy.py [N]

(any venv with `pip install ./python`). Prints one Markdown table row per
input kind; the rows in docs/BENCHMARKS.md come from this script.
"""

import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa

import oovocab


def rss_mib() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(n: int) -> None:
    spec = oovocab.Spec.from_toml('[[feature]]\nname = "u"\n[[feature]]\nname = "s"\n')
    keys = np.arange(0, 1_000_000, dtype=np.int64)
    counts = oovocab.PartialCounts(spec)
    counts.add_batch(pa.record_batch({"u": keys, "s": pa.array([f"k{i}" for i in range(1_000_000)])}))
    with tempfile.TemporaryDirectory() as d:
        vocab = oovocab.build_from_partials(spec, [counts], str(Path(d) / "v.oov"))
        rng = np.random.default_rng(1)
        ints = pa.array(rng.integers(0, 2_000_000, n, dtype=np.int64))
        strings = pa.array(np.char.add("k", rng.integers(0, 2_000_000, n // 4).astype(str)).astype(object))
        print("| input | input size | output size | RSS before | RSS after | peak | time |")
        print("|---|---|---|---|---|---|---|")
        for name, feature, array in [("int64 (pyarrow)", "u", ints), ("string (pyarrow)", "s", strings)]:
            before = rss_mib()
            t = time.perf_counter()
            ids = vocab.feature(feature).ids(array)
            elapsed = time.perf_counter() - t
            after = rss_mib()
            print(
                f"| {name}, {len(array):,} values | {array.nbytes / 2**20:,.0f} MiB | {ids.nbytes / 2**20:,.0f} MiB"
                f" | {before:,.0f} MiB | {after:,.0f} MiB | {peak_mib():,.0f} MiB | {elapsed:.2f} s |"
            )
            del ids


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 50_000_000)
