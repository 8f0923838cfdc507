"""Runs oovocab and its peers (DuckDB, Polars, pyarrow) on the same Parquet
files and writes the results table into docs/BENCHMARKS.md.

Called by run.sh (which makes the virtualenv and the data); see README.md
beside this file. Each measurement is a fresh process; its time is taken
in-process around the work (Python peers) or around the whole command
(oovocab, which has no interpreter to start), and its peak RSS from wait4.
Tools alternate within each round; the table reports the median of the rounds.
"""

import json
import os
import platform
import statistics
import subprocess
import sys
import time

COLUMNS = ["item_id", "publisher", "category", "user_id", "tags"]
SCALARS = ["item_id", "publisher", "category", "user_id"]


def files(data):
    return sorted(os.path.join(data, f) for f in os.listdir(data) if f.endswith(".parquet"))


# --- the work, run inside a child process -------------------------------

def work(task, tool, data, scratch):
    paths = files(data)
    if tool == "pyarrow":
        import pyarrow as pa
        import pyarrow.compute as pc
        import pyarrow.parquet as pq
    t0 = time.perf_counter()
    if task == "read":
        if tool == "pyarrow":
            pq.read_table(paths, columns=COLUMNS)
        elif tool == "polars":
            import polars as pl
            pl.read_parquet(paths, columns=COLUMNS)
    elif task == "count":
        if tool == "duckdb":
            import duckdb
            con = duckdb.connect()
            src = f"read_parquet({paths!r})"
            for c in SCALARS:
                con.execute(f"SELECT {c}, count(*) FROM {src} GROUP BY {c}").to_arrow_table()
            con.execute(f"SELECT t, count(*) FROM (SELECT unnest(tags) AS t FROM {src}) GROUP BY t").to_arrow_table()
        elif tool == "polars":
            import polars as pl
            lf = pl.scan_parquet(paths)
            for c in SCALARS:
                lf.group_by(c).len().collect(engine="streaming")
            lf.select(pl.col("tags").explode()).group_by("tags").len().collect(engine="streaming")
        elif tool == "pyarrow":
            t = pq.read_table(paths, columns=COLUMNS)
            for c in SCALARS:
                pc.value_counts(t.column(c))
            pc.value_counts(pc.list_flatten(t.column("tags")))
    elif task == "apply":
        out = os.path.join(scratch, f"{tool}.parquet")
        vocab = {c: os.path.join(scratch, f"vocab-{c}.parquet") for c in COLUMNS}
        if tool == "polars":
            import polars as pl
            lf = pl.scan_parquet(paths).select(COLUMNS)
            exprs = []
            for c in COLUMNS:
                v = pl.read_parquet(vocab[c])
                if c == "tags":
                    exprs.append(pl.col(c).list.eval(pl.element().replace_strict(v["value"], v["id"], default=-1)))
                else:
                    exprs.append(pl.col(c).cast(v["value"].dtype).replace_strict(v["value"], v["id"], default=-1))
            lf.with_columns(exprs).sink_parquet(out)
        elif tool == "pyarrow":
            t = pq.read_table(paths, columns=COLUMNS)
            cols = {}
            for c in COLUMNS:
                v = pq.read_table(vocab[c]).column("value").combine_chunks()
                if c == "tags":
                    lists = t.column(c).combine_chunks()
                    flat = pc.fill_null(pc.index_in(lists.flatten(), value_set=v), -1)
                    cols[c] = pa.ListArray.from_arrays(lists.offsets, flat, mask=lists.is_null())
                else:
                    col = t.column(c)
                    if pa.types.is_dictionary(col.type):
                        col = col.cast(col.type.value_type)
                    cols[c] = pc.fill_null(pc.index_in(col, value_set=v), -1)
            pq.write_table(pa.table(cols), out)
        elif tool == "duckdb":
            import duckdb
            con = duckdb.connect()
            src = f"read_parquet({paths!r})"
            for c in COLUMNS:
                con.execute(f"CREATE TEMP TABLE v_{c} AS SELECT * FROM read_parquet('{vocab[c]}')")
            con.execute(f"CREATE TEMP TABLE t AS SELECT row_number() OVER () AS rn, {', '.join(COLUMNS)} FROM {src}")
            joins = " ".join(f"LEFT JOIN v_{c} ON t.{c} = v_{c}.value" for c in SCALARS)
            ids = ", ".join(f"coalesce(v_{c}.id, -1) AS {c}" for c in SCALARS)
            con.execute(f"""
                COPY (
                  WITH tags AS (
                    SELECT rn, list(coalesce(v_tags.id, -1) ORDER BY pos) AS tags
                    FROM (SELECT rn, unnest(tags) AS tag, generate_subscripts(tags, 1) AS pos FROM t) u
                    LEFT JOIN v_tags ON u.tag = v_tags.value GROUP BY rn)
                  SELECT {ids}, tags.tags FROM t {joins} LEFT JOIN tags USING (rn) ORDER BY t.rn
                ) TO '{out}' (FORMAT parquet)""")
    return time.perf_counter() - t0


def child_main(task, tool, data, scratch):
    print(json.dumps({"seconds": work(task, tool, data, scratch)}))


# --- the driver ---------------------------------------------------------

def measure(cmd, inner):
    """Runs cmd; returns (seconds, peak RSS in MiB). The RSS comes from GNU
    time, which starts the command from a small process (a child forked from
    this interpreter would inherit its high-water mark)."""
    rss_file = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"oovocab-rss-{os.getpid()}")
    t0 = time.perf_counter()
    proc = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", rss_file, *cmd], capture_output=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{proc.stderr.decode()}")
    seconds = json.loads(proc.stdout.decode().strip().splitlines()[-1])["seconds"] if inner else wall
    with open(rss_file) as f:
        rss_kb = int(f.read().split()[-1])
    os.remove(rss_file)
    return seconds, rss_kb / 1024


def prepare_vocab(data, scratch):
    """The map task's vocabularies (values seen at least twice), per column."""
    import duckdb
    con = duckdb.connect()
    src = f"read_parquet({files(data)!r})"
    for c in COLUMNS:
        expr = f"(SELECT unnest(tags) AS value FROM {src})" if c == "tags" else f"(SELECT {c} AS value FROM {src})"
        con.execute(f"""COPY (SELECT value, (row_number() OVER (ORDER BY count(*) DESC, value) - 1)::INTEGER AS id
                     FROM {expr} WHERE value IS NOT NULL GROUP BY value HAVING count(*) >= 2)
                     TO '{os.path.join(scratch, f"vocab-{c}.parquet")}' (FORMAT parquet)""")


def main():
    data, scratch, oovocab, bare_read, rounds, threads, doc = sys.argv[2:9]
    rounds, py = int(rounds), sys.executable
    os.makedirs(scratch, exist_ok=True)
    # In a child, so that this driver stays small.
    subprocess.run([py, __file__, "vocab", data, scratch], check=True)
    spec = os.path.join(scratch, "bench.toml")
    with open(spec, "w") as f:
        f.write("[defaults]\nmin_count = 2\n" + "".join(f'\n[[feature]]\nname = "{c}"\n' for c in COLUMNS))
    vocab = os.path.join(scratch, "bench.oov")
    th = ["--threads", threads]
    tools = {
        "read": {
            "arrow-rs (bare_read)": ([bare_read, *th, "--columns", ",".join(COLUMNS), data], False),
            "polars": ([py, __file__, "child", "read", "polars", data, scratch], True),
            "pyarrow": ([py, __file__, "child", "read", "pyarrow", data, scratch], True),
        },
        "count": {
            "oovocab build": ([oovocab, "build", "-q", *th, "--spec", spec, "-o", vocab, data], False),
            "duckdb": ([py, __file__, "child", "count", "duckdb", data, scratch], True),
            "polars (streaming)": ([py, __file__, "child", "count", "polars", data, scratch], True),
            "pyarrow": ([py, __file__, "child", "count", "pyarrow", data, scratch], True),
        },
        "apply": {
            "oovocab apply": ([oovocab, "apply", "-q", *th, "--vocab", vocab, "-o", os.path.join(scratch, "ids"), data], False),
            "polars (replace_strict)": ([py, __file__, "child", "apply", "polars", data, scratch], True),
            "pyarrow (index_in)": ([py, __file__, "child", "apply", "pyarrow", data, scratch], True),
            "duckdb (join)": ([py, __file__, "child", "apply", "duckdb", data, scratch], True),
        },
    }
    # The vocabulary `apply` uses; also a warm-up of the page cache.
    measure(tools["count"]["oovocab build"][0], False)
    results = {task: {name: [] for name in t} for task, t in tools.items()}
    for r in range(rounds):
        for task, t in tools.items():
            names = list(t) if r % 2 == 0 else list(reversed(t))
            for name in names:
                cmd, inner = t[name]
                results[task][name].append(measure(cmd, inner))
                print(f"round {r + 1} {task:6} {name:26} {results[task][name][-1][0]:7.2f} s {results[task][name][-1][1]:8.0f} MiB", file=sys.stderr)
    write_table(doc, results, data, threads, rounds)


def cpu_model():
    """The CPU's model name (Linux), else what `platform` knows: the VMs
    this runs on change hosts between sessions."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def write_table(doc, results, data, threads, rounds):
    import duckdb, polars, pyarrow
    import pyarrow.parquet as pq
    rows = sum(pq.ParquetFile(f).metadata.num_rows for f in files(data))
    lines = [
        "<!-- peers:begin (written by benches/peers/run.sh; do not edit by hand) -->",
        f"Machine: {platform.machine()} ({cpu_model()}), {os.cpu_count()} CPUs, {platform.platform()}; "
        f"Python {platform.python_version()}, duckdb {duckdb.__version__}, polars {polars.__version__}, pyarrow {pyarrow.__version__}. "
        f"Data: {len(files(data))} files, {rows:,} rows (`cargo run --release --example gen_bench`). "
        f"oovocab and arrow-rs with `--threads {threads}`; median of {rounds} alternating rounds; "
        "time in-process for Python peers, whole process for oovocab and bare_read.",
        "",
    ]
    titles = {"read": "Bare read of the 5 columns (the floor)", "count": "Counting every distinct value of the 5 columns",
              "apply": "Mapping every value to its id and writing the 5 id columns to Parquet"}
    for task, by_tool in results.items():
        lines += [f"**{titles[task]}**", "", "| tool | median time | peak RSS |", "|---|---|---|"]
        for name, runs in by_tool.items():
            t = statistics.median(s for s, _ in runs)
            m = statistics.median(m for _, m in runs)
            lines.append(f"| {name} | {t:.2f} s | {m:,.0f} MiB |")
        lines.append("")
    # The target's ratio, round by round: `build` against the bare read of
    # the same round (a VM's speed drifts within minutes; a ratio of two
    # medians can pair runs from different minutes).
    builds, reads = results["count"]["oovocab build"], results["read"]["arrow-rs (bare_read)"]
    ratios = [b / r for (b, _), (r, _) in zip(builds, reads)]
    lines += [
        f"`oovocab build` over the bare arrow-rs read of the same round: median {statistics.median(ratios):.2f}x "
        f"(rounds: {', '.join(f'{x:.2f}x' for x in ratios)}).",
        "",
        "<!-- peers:end -->",
    ]
    replace_block(doc, "peers", "\n".join(lines))


def replace_block(doc, name, block):
    """Puts `block` (which carries its own markers) in place of the text
    between `<!-- NAME:begin` and `<!-- NAME:end -->` in doc, or at its end."""
    text = open(doc).read()
    end_marker = f"<!-- {name}:end -->"
    begin, end = text.find(f"<!-- {name}:begin"), text.find(end_marker)
    if begin >= 0 and end >= 0:
        text = text[:begin] + block + text[end + len(end_marker):]
    else:
        text += "\n" + block + "\n"
    open(doc, "w").write(text)
    print(block)


def scaling():
    """Build and apply time by rows and threads: peers.py scaling OOVOCAB ROUNDS DOC DATA..."""
    oovocab, rounds, doc, datasets = sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5:]
    scratch = os.environ.get("TMPDIR", "/tmp")
    spec = os.path.join(scratch, "oovocab-scaling.toml")
    with open(spec, "w") as f:
        f.write("[defaults]\nmin_count = 2\n" + "".join(f'\n[[feature]]\nname = "{c}"\n' for c in COLUMNS))
    import pyarrow.parquet as pq
    lines = ["<!-- scaling:begin (written by benches/peers/scaling.sh; do not edit by hand) -->",
             f"Median of {rounds} runs, whole process, peak RSS from GNU time. Same machine as above.", "",
             "| rows | threads | build | build RSS | apply | apply RSS |", "|---|---|---|---|---|---|"]
    for data in datasets:
        rows = sum(pq.ParquetFile(f).metadata.num_rows for f in files(data))
        vocab = os.path.join(scratch, "oovocab-scaling.oov")
        out = os.path.join(scratch, "oovocab-scaling-ids")
        for threads in ["1", "2"]:
            b, a = [], []
            for _ in range(rounds):
                b.append(measure([oovocab, "build", "-q", "--threads", threads, "--spec", spec, "-o", vocab, data], False))
                subprocess.run(["rm", "-rf", out], check=True)
                a.append(measure([oovocab, "apply", "-q", "--threads", threads, "--vocab", vocab, "-o", out, data], False))
            med = lambda xs, i: statistics.median(x[i] for x in xs)
            lines.append(f"| {rows:,} | {threads} | {med(b, 0):.2f} s | {med(b, 1):,.0f} MiB | {med(a, 0):.2f} s | {med(a, 1):,.0f} MiB |")
            print(lines[-1], file=sys.stderr)
    lines.append("<!-- scaling:end -->")
    replace_block(doc, "scaling", "\n".join(lines))


if __name__ == "__main__":
    if sys.argv[1] == "child":
        child_main(*sys.argv[2:6])
    elif sys.argv[1] == "vocab":
        prepare_vocab(*sys.argv[2:4])
    elif sys.argv[1] == "scaling":
        scaling()
    else:
        main()
