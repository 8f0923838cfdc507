"""Counting on Ray Data and Spark, merging on the driver, and applying a
vocabulary on both: the functions the engine tests run, usable as they are.

    python examples/engines.py ray   SPEC.toml OUT.oov FILE.parquet...
    python examples/engines.py spark SPEC.toml OUT.oov FILE.parquet...

Each worker counts its share of the batches (``oovocab.count_batches``) and
ships the partial counts as bytes; the driver records the input files and
merges (``oovocab.build_from_partials``). The artifact is byte for byte the
one ``oovocab build SPEC.toml -o OUT.oov FILE...`` writes.
"""

from __future__ import annotations

import sys
from typing import Iterator, List, Sequence

import pyarrow as pa

import oovocab


def _merge_on_driver(spec: str, files: Sequence[str], blobs: List[bytes], output: str) -> oovocab.Vocabulary:
    partials = [oovocab.PartialCounts.from_bytes(b) for b in blobs]
    # The driver knows the files; the workers only saw batches.
    inputs = oovocab.count_batches(spec, [], inputs=files)
    return oovocab.build_from_partials(spec, [inputs, *partials], output)


def _partial_table(counts: oovocab.PartialCounts) -> pa.Table:
    return pa.table({"partial": pa.array([counts.to_bytes()], pa.binary())})


# --- Ray Data ---------------------------------------------------------------

def build_with_ray(spec: str, files: Sequence[str], output: str) -> oovocab.Vocabulary:
    """Counts `files` with Ray Data (one partial per block) and builds."""
    import ray

    def count(batch: pa.Table) -> pa.Table:
        return _partial_table(oovocab.count_batches(spec, batch))

    ds = ray.data.read_parquet(list(files))
    rows = ds.map_batches(count, batch_format="pyarrow", batch_size=None).take_all()
    return _merge_on_driver(spec, files, [r["partial"] for r in rows], output)


def apply_with_ray(vocab_path: str, files: Sequence[str], keep: Sequence[str] = ()) -> pa.Table:
    """Maps the features of `files` to ids with Ray Data (inference mode)."""
    import ray

    def transform(batch: pa.Table) -> pa.Table:
        # Opening maps the file: cheap enough per batch.
        vocab = oovocab.Vocabulary.open(vocab_path)
        return oovocab.Transformer(vocab, keep=list(keep)).transform(batch)

    ds = ray.data.read_parquet(list(files))
    refs = ds.map_batches(transform, batch_format="pyarrow").to_arrow_refs()
    return pa.concat_tables(ray.get(refs))


# --- Spark ------------------------------------------------------------------

def build_with_spark(spark, spec: str, files: Sequence[str], output: str) -> oovocab.Vocabulary:
    """Counts `files` with Spark (`mapInArrow`, one partial per partition)
    and builds on the driver."""

    def count(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        yield from _partial_table(oovocab.count_batches(spec, batches)).to_batches()

    df = spark.read.parquet(*files)
    rows = df.mapInArrow(count, "partial binary").collect()
    return _merge_on_driver(spec, files, [bytes(r.partial) for r in rows], output)


def apply_with_spark(spark, vocab_path: str, files: Sequence[str], keep: Sequence[str] = ()) -> pa.Table:
    """Maps the features of `files` to ids with Spark (`mapInArrow`)."""
    vocab = oovocab.Vocabulary.open(vocab_path)
    df = spark.read.parquet(*files)
    # The output schema, from the transformer itself (on an empty batch).
    empty = pa.RecordBatch.from_pylist([], schema=df.limit(0).toArrow().schema)
    schema = oovocab.Transformer(vocab, keep=list(keep)).transform(empty).schema
    from pyspark.sql.pandas.types import from_arrow_schema

    def transform(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        t = oovocab.Transformer(oovocab.Vocabulary.open(vocab_path), keep=list(keep))
        for batch in batches:
            yield t.transform(batch)

    return df.mapInArrow(transform, from_arrow_schema(schema)).toArrow()


def _importable_by_workers() -> None:
    """Workers unpickle the functions above by module: let them import it."""
    import os

    here = os.path.dirname(os.path.abspath(__file__))
    paths = os.environ.get("PYTHONPATH", "").split(os.pathsep)
    if here not in paths:
        os.environ["PYTHONPATH"] = os.pathsep.join([here, *filter(None, paths)])


def local_spark():
    """A local Spark session on 2 cores, bound to 127.0.0.1, no UI."""
    import os

    from pyspark.sql import SparkSession

    _importable_by_workers()
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    return (
        SparkSession.builder.master("local[2]")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .getOrCreate()
    )


def local_ray():
    """Ray on 2 CPUs of this machine, no dashboard, no usage stats."""
    import os

    import ray

    _importable_by_workers()
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, ignore_reinit_error=True)
    return ray


if __name__ == "__main__":
    engine, spec, output, *files = sys.argv[1:]
    if engine == "ray":
        local_ray()
        print(build_with_ray(spec, files, output))
    else:
        print(build_with_spark(local_spark(), spec, files, output))
