"""The Python package against the CLI on the committed fixtures: the same
artifact, the same ids, the same training-mode injection; partial counts
merge to the same vocabulary in any order; bad input raises OovocabError.

Needs the release binary (``cargo build --release``); ``OOVOCAB_BIN``
overrides its path.
"""

import os
import random
import subprocess
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import oovocab

ROOT = Path(__file__).resolve().parents[2]
BIN = os.environ.get("OOVOCAB_BIN", str(ROOT / "target" / "release" / "oovocab"))
SPEC = ROOT / "fixtures" / "clicks.toml"
DAYS = sorted((ROOT / "fixtures" / "clicks").glob("*.parquet"))
FEATURES = ["item_id", "publisher", "category", "user_id", "tag"]
COLUMNS = {"item_id": "item_id", "publisher": "publisher", "category": "category", "user_id": "user_id", "tag": "tags"}


def cli(*args):
    return subprocess.run([BIN, *map(str, args)], check=True, capture_output=True, text=True, cwd=ROOT).stdout


@pytest.fixture(scope="module")
def vocab_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("v") / "cli.oov"
    cli("build", "-q", "--spec", SPEC, "-o", path, *DAYS)
    return path


def test_build_matches_the_cli_byte_for_byte(vocab_path, tmp_path):
    out = tmp_path / "py.oov"
    vocab = oovocab.build(SPEC, DAYS, out, threads=2)
    assert vocab.features == FEATURES
    assert out.read_bytes() == vocab_path.read_bytes()


def test_id_and_ids_match_cli_lookup(vocab_path):
    vocab = oovocab.Vocabulary.open(vocab_path)
    item = vocab.feature("item_id")
    values = ["item-0", "item-1", "item-17", "never-seen", ""]
    expected = {}
    for line in cli("lookup", vocab_path, "--feature", "item_id", *values).splitlines():
        value, id_ = line.rsplit("\t", 1)
        expected[value] = int(id_)
    assert [item.id(v) for v in values] == [expected[v] for v in values]
    assert item.ids(pa.array(values)).to_pylist() == [expected[v] for v in values]
    # A dictionary array, a chunked array, numpy and bytes give the same ids.
    assert item.ids(pa.array(values).dictionary_encode()).to_pylist() == [expected[v] for v in values]
    chunked = item.ids(pa.chunked_array([values[:2], values[2:]]))
    assert isinstance(chunked, pa.ChunkedArray) and chunked.to_pylist() == [expected[v] for v in values]
    assert item.id(b"item-0") == expected["item-0"]
    assert item.id(None) == item.layout["null_id"]
    user = vocab.feature("user_id")
    ints = np.array([0, 1, 5, -1, 10**12], dtype=np.int64)
    lines = cli("lookup", vocab_path, "--feature", "user_id", *ints).splitlines()
    got = user.ids(ints)
    assert isinstance(got, np.ndarray)
    assert got.tolist() == [int(line.rsplit("\t", 1)[1]) for line in lines]
    assert item.ids(pa.array(values), id_type="int64").type == pa.int64()
    # numpy strings in, numpy ids out; a Python list too.
    strings = item.ids(np.array(values))
    assert isinstance(strings, np.ndarray) and strings.tolist() == [expected[v] for v in values]
    assert item.ids([values[0], None]).to_pylist() == [expected[values[0]], item.layout["null_id"]]


@pytest.mark.parametrize("train", [False, True])
def test_transform_matches_cli_apply(vocab_path, tmp_path, train):
    extra = ["--train", "--seed", "7", "--epoch", "2", "--oov-rate", "0.25"] if train else []
    out = tmp_path / "applied"
    cli("apply", "-q", "--vocab", vocab_path, "-o", out, "--keep", "clicked", *extra, *DAYS)
    vocab = oovocab.Vocabulary.open(vocab_path)
    t = oovocab.Transformer(vocab, keep=["clicked"])
    kwargs = dict(mode="train", seed=7, epoch=2, oov_rate=0.25) if train else {}
    row = 0
    for day in DAYS:
        table = pq.read_table(day)
        got = t.transform(table, start_row=row, **kwargs)
        row += table.num_rows
        want = pq.read_table(out / day.name)
        assert got.schema.names == want.schema.names
        for name in want.schema.names:
            assert got.column(name).to_pylist() == want.column(name).to_pylist(), (day.name, name)
    # Streaming batch by batch gives the same as a whole table.
    table = pq.read_table(DAYS[0])
    streamed = pa.Table.from_batches(list(t.transform_stream(table.to_batches(max_chunksize=777), **kwargs)))
    assert streamed.equals(t.transform(table, **kwargs))


def test_partial_counts_merge_to_the_same_vocabulary_in_any_order(tmp_path):
    batches = [b for day in DAYS for b in pq.read_table(day).to_batches(max_chunksize=3000)]
    whole = oovocab.count_batches(SPEC, batches)
    reference = oovocab.build_from_partials(SPEC, [whole], tmp_path / "whole.oov")
    rng = random.Random(11)
    for trial in range(3):
        shuffled = batches[:]
        rng.shuffle(shuffled)
        cuts = sorted(rng.sample(range(1, len(shuffled)), 4))
        groups = [shuffled[a:b] for a, b in zip([0, *cuts], [*cuts, len(shuffled)])]
        partials = [oovocab.PartialCounts.from_bytes(oovocab.count_batches(SPEC, g).to_bytes()) for g in groups]
        rng.shuffle(partials)
        merged = oovocab.merge(partials[:2])
        out = tmp_path / f"merged-{trial}.oov"
        oovocab.build_from_partials(SPEC, [merged, *partials[2:]], out)
        assert out.read_bytes() == (tmp_path / "whole.oov").read_bytes()
    assert whole.rows == sum(b.num_rows for b in batches)
    # The same keys and ids as the CLI's build on the files.
    cli_path = tmp_path / "cli.oov"
    cli("build", "-q", "--spec", SPEC, "-o", cli_path, *DAYS)
    cli_vocab = oovocab.Vocabulary.open(cli_path)
    for day in DAYS:
        table = pq.read_table(day)
        for name in FEATURES:
            column = table.column(COLUMNS[name])
            assert reference.feature(name).ids(column).equals(cli_vocab.feature(name).ids(column)), name


def test_errors_are_oovocab_errors_naming_the_place(tmp_path):
    with pytest.raises(oovocab.OovocabError, match="no-such.oov"):
        oovocab.Vocabulary.open(tmp_path / "no-such.oov")
    partial = oovocab.count_batches(SPEC, pq.read_table(DAYS[0]))
    data = bytearray(partial.to_bytes())
    data[len(data) // 2] ^= 1
    with pytest.raises(oovocab.OovocabError, match="checksum"):
        oovocab.PartialCounts.from_bytes(bytes(data))
    other = oovocab.count_batches(oovocab.Spec.from_toml('[[feature]]\nname = "item_id"\n'), pq.read_table(DAYS[0]))
    with pytest.raises(oovocab.OovocabError, match="cannot merge"):
        oovocab.build_from_partials(SPEC, [partial, other], tmp_path / "x.oov")
    assert not (tmp_path / "x.oov").exists()
    bad_spec = tmp_path / "bad.toml"
    bad_spec.write_text('[[feature]]\nname = "item_id"\nmin_cont = 2\n')
    with pytest.raises(oovocab.OovocabError, match="bad.toml:3"):
        oovocab.build(bad_spec, DAYS, tmp_path / "y.oov")
    with pytest.raises(oovocab.OovocabError, match="clicks.toml: not an oovocab artifact"):
        oovocab.Vocabulary.open(SPEC)
    vocab = oovocab.build(SPEC, DAYS[:1], tmp_path / "z.oov")
    with pytest.raises(oovocab.OovocabError, match="no_such_column|no column"):
        oovocab.Transformer(vocab).transform(pa.table({"x": [1]}))


def test_polars_and_duckdb_results_cross_without_pyarrow_conversion(vocab_path):
    pl = pytest.importorskip("polars")
    vocab = oovocab.Vocabulary.open(vocab_path)
    item = vocab.feature("item_id")
    series = pl.Series(["item-0", "new", None])
    assert item.ids(series).to_pylist() == [item.id("item-0"), item.id("new"), item.id(None)]
    frame = pl.read_parquet(DAYS[0])
    got = oovocab.Transformer(vocab).transform(frame)
    assert got.column("item_id").to_pylist() == item.ids(pq.read_table(DAYS[0]).column("item_id")).to_pylist()


def test_the_torch_style_dataset_hides_other_values_each_epoch(vocab_path):
    import sys

    sys.path.insert(0, str(ROOT / "python" / "examples"))
    from torch_dataset import OovocabParquetDataset, oov_share

    ds = OovocabParquetDataset(str(vocab_path), [str(d) for d in DAYS], seed=5, batch_size=3000)
    epochs = []
    for epoch in range(2):
        ds.set_epoch(epoch)
        epochs.append(np.concatenate([b["item_id"] for b in ds]))
    ds.set_epoch(0)
    again = np.concatenate([b["item_id"] for b in ds])
    assert (again == epochs[0]).all(), "an epoch is reproducible"
    assert (epochs[0] != epochs[1]).any(), "another epoch hides other values"
    # The same ids as the CLI's training mode for that epoch.
    t = oovocab.Transformer(oovocab.Vocabulary.open(vocab_path))
    row, want = 0, []
    for day in DAYS:
        table = pq.read_table(day)
        want.append(t.transform(table, mode="train", seed=5, epoch=0, start_row=row).column("item_id").to_numpy())
        row += table.num_rows
    assert (np.concatenate(want) == epochs[0]).all()
    ds.set_epoch(1)
    assert 0.0 < oov_share(ds, "item_id") < 1.0


def test_duckdb_results_cross_by_the_arrow_stream(vocab_path):
    duckdb = pytest.importorskip("duckdb")
    vocab = oovocab.Vocabulary.open(vocab_path)
    t = oovocab.Transformer(vocab)
    relation = duckdb.sql(f"SELECT * FROM read_parquet('{DAYS[1]}')")
    got = t.transform(relation)
    want = t.transform(pq.read_table(DAYS[1]))
    for name in FEATURES:
        assert got.column(name).to_pylist() == want.column(name).to_pylist(), name
    partial = oovocab.count_batches(SPEC, duckdb.sql(f"SELECT * FROM read_parquet('{DAYS[1]}')"))
    assert partial.rows == want.num_rows
