"""Counting and applying on Ray Data and Spark in local mode (2 CPUs,
127.0.0.1, no UI or usage stats), through `python/examples/engines.py`: the
artifact is byte-identical to `oovocab build` on the same files, and the ids
are the CLI's. Skipped when ray or pyspark is not installed."""

import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))
import engines  # noqa: E402

from test_oovocab import BIN, DAYS, cli  # noqa: E402

SPEC = '[[feature]]\nname = "item_id"\n\n[[feature]]\nname = "user_id"\n\n[[feature]]\nname = "tags"\nmin_count = 2\n\n[[feature]]\nname = "category"\n'


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """Three files with one schema (Spark and Ray read them as one table)
    and a `row` column to line the outputs up."""
    d = tmp_path_factory.mktemp("engines")
    schema = pa.schema([("row", pa.int64()), ("item_id", pa.string()), ("user_id", pa.int64()),
                        ("tags", pa.list_(pa.string())), ("category", pa.string())])
    files, row = [], 0
    for i, day in enumerate(DAYS[:3]):
        t = pq.read_table(day, columns=["item_id", "user_id", "tags", "category"])
        t = pa.table({
            "row": pa.array(range(row, row + t.num_rows), pa.int64()),
            "item_id": t.column("item_id").cast(pa.string()),
            "user_id": t.column("user_id"),
            "tags": t.column("tags").cast(pa.list_(pa.string())),
            "category": t.column("category").cast(pa.string()),
        }, schema=schema)
        row += t.num_rows
        path = d / f"part-{i}.parquet"
        pq.write_table(t, path, row_group_size=5000)
        files.append(str(path))
    spec = d / "spec.toml"
    spec.write_text(SPEC)
    built = d / "cli.oov"
    cli("build", "-q", "--spec", spec, "-o", built, *files)
    applied = d / "applied"
    cli("apply", "-q", "--vocab", built, "-o", applied, "--keep", "row", *files)
    want = pa.concat_tables(pq.read_table(applied / Path(f).name) for f in files).sort_by("row")
    return str(spec), files, built, want


def check(tmp_path, data, build, apply):
    spec, files, built, want = data
    out = tmp_path / "engine.oov"
    build(spec, files, str(out))
    assert out.read_bytes() == built.read_bytes()
    got = apply(str(built), files, ["row"]).sort_by("row")
    assert got.num_rows == want.num_rows
    for name in want.schema.names:
        assert got.column(name).to_pylist() == want.column(name).to_pylist(), name


def test_ray(tmp_path, data):
    pytest.importorskip("ray")
    ray = engines.local_ray()
    try:
        check(tmp_path, data, engines.build_with_ray, engines.apply_with_ray)
    finally:
        ray.shutdown()


def test_spark(tmp_path, data):
    pytest.importorskip("pyspark")
    spark = engines.local_spark()
    try:
        check(tmp_path, data,
              lambda *a: engines.build_with_spark(spark, *a),
              lambda *a: engines.apply_with_spark(spark, *a))
    finally:
        spark.stop()
