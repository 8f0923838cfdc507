"""oovocab: vocabularies for recommender features, ready for values never seen.

The same library as the ``oovocab`` command line, from Python:

* ``Vocabulary.open(path)`` maps an artifact written by ``oovocab build``
  (or :func:`build`); ``vocab.feature(name).id(value)`` and ``.ids(array)``
  look values up, an unseen value getting its hashed OOV bucket.
* :class:`Transformer` maps the features of record batches and tables to
  ids, in inference or training mode (the same injection as ``oovocab apply
  --train``: Python and CLI outputs are identical id for id).
* :class:`PartialCounts`, :func:`count_batches`, :func:`merge` and
  :func:`build_from_partials` count on many workers (Spark, Ray) and merge
  into the artifact ``oovocab build`` writes on all of the data.

Arrays and batches cross into Rust through the Arrow C data interface
(pyarrow, Polars and DuckDB results all work) without copying, and the GIL
is released while oovocab works. Errors raise :class:`OovocabError` with the
message naming the file, column or spec line.
"""

from __future__ import annotations

import copy
import os
from typing import Any, Iterable, Iterator, Optional, Sequence, Union

import pyarrow as pa

from ._oovocab import (
    Feature,
    OovocabError,
    PartialCounts,
    Spec,
    Vocabulary,
)
from . import _oovocab

__all__ = [
    "Feature",
    "OovocabError",
    "PartialCounts",
    "Spec",
    "Transformer",
    "Vocabulary",
    "build",
    "build_from_partials",
    "count_batches",
    "merge",
]

SpecLike = Union[Spec, str, "os.PathLike[str]"]


def _spec(spec: SpecLike) -> Spec:
    return spec if isinstance(spec, Spec) else Spec.from_path(os.fspath(spec))


def _batches(data: Any) -> Iterator[pa.RecordBatch]:
    """Record batches from a batch, a table, an Arrow stream (Polars, DuckDB,
    a RecordBatchReader) or an iterable of any of those."""
    if isinstance(data, pa.RecordBatch):
        yield data
    elif isinstance(data, pa.Table):
        yield from data.to_batches()
    elif hasattr(data, "__arrow_c_stream__"):
        yield from pa.RecordBatchReader.from_stream(data)
    elif hasattr(data, "__arrow_c_array__"):
        yield pa.record_batch(data)
    else:
        for item in data:
            yield from _batches(item)


def _ids_of_any(feature: Feature, data: Any, id_type: str) -> Any:
    """``Feature.ids`` for inputs that are not one Arrow array: a chunked
    array or stream gives a chunked array, a numpy array a numpy array."""
    try:
        import numpy as np
    except ImportError:  # pragma: no cover - numpy comes with pyarrow
        np = None
    if np is not None and isinstance(data, np.ndarray):
        ids = feature.ids(pa.array(data), id_type)
        return ids.to_numpy(zero_copy_only=False)
    if isinstance(data, pa.ChunkedArray) or hasattr(data, "__arrow_c_stream__"):
        chunked = pa.chunked_array(data)
        kind = pa.int32() if id_type == "int32" else pa.int64()
        chunks = [feature.ids(c, id_type) for c in chunked.chunks]
        if not chunks:
            return pa.chunked_array([], type=kind)
        return pa.chunked_array(chunks)
    return feature.ids(pa.array(data), id_type)


class Transformer:
    """Maps the features of batches to ids (``oovocab apply`` in Python).

    ``features`` limits the features (default: all); ``keep`` names input
    columns copied unchanged after the id columns; ``id_type`` is ``"int32"``
    or ``"int64"``.
    """

    def __init__(
        self,
        vocab: Vocabulary,
        features: Optional[Sequence[str]] = None,
        keep: Optional[Sequence[str]] = None,
        id_type: str = "int32",
    ) -> None:
        self._inner = _oovocab.Transformer(
            vocab,
            None if features is None else list(features),
            None if keep is None else list(keep),
            id_type,
        )

    def transform(
        self,
        data: Any,
        mode: str = "infer",
        seed: int = 0,
        epoch: int = 0,
        start_row: int = 0,
        oov_rate: Optional[float] = None,
    ) -> Union[pa.RecordBatch, pa.Table]:
        """Transforms a ``RecordBatch`` (giving a ``RecordBatch``) or a table
        or anything ``pyarrow.table`` accepts (giving a ``Table``).

        In ``mode="train"`` each feature's ``train_oov_rate`` (or
        ``oov_rate`` for all) of known occurrences is replaced by its OOV
        bucket, reproducibly from ``seed``, ``epoch`` and the global row
        number (``start_row`` is the first row's).
        """
        if isinstance(data, pa.RecordBatch):
            return self._inner.transform_batch(data, mode, seed, epoch, start_row, oov_rate)
        table = data if isinstance(data, pa.Table) else pa.table(data)
        # An empty table still has a schema to transform.
        batches = table.to_batches() or [pa.RecordBatch.from_pylist([], schema=table.schema)]
        return pa.Table.from_batches(list(self.transform_stream(batches, mode, seed, epoch, start_row, oov_rate)))

    def transform_stream(
        self,
        data: Any,
        mode: str = "infer",
        seed: int = 0,
        epoch: int = 0,
        start_row: int = 0,
        oov_rate: Optional[float] = None,
    ) -> Iterator[pa.RecordBatch]:
        """Transforms a stream of batches (a ``RecordBatchReader``, a
        ``Dataset`` scanner, an iterable of batches), yielding as it goes."""
        row = start_row
        for batch in _batches(data):
            yield self._inner.transform_batch(batch, mode, seed, epoch, row, oov_rate)
            row += batch.num_rows


def build(
    spec: SpecLike,
    inputs: Sequence[Union[str, "os.PathLike[str]"]],
    output: Union[str, "os.PathLike[str]"],
    threads: Optional[int] = None,
) -> Vocabulary:
    """``oovocab build``: counts Parquet files (or directories of them),
    writes the artifact to ``output`` atomically and returns it opened."""
    return _oovocab.build(_spec(spec), [os.fspath(p) for p in inputs], os.fspath(output), threads)


def count_batches(
    spec: SpecLike,
    batches: Any,
    inputs: Sequence[Union[str, "os.PathLike[str]"]] = (),
) -> PartialCounts:
    """Counts the spec's features over batches (a batch, a table, a stream,
    or an iterable of them): one worker's partial counts.

    ``inputs`` records the files the batches came from (path as given, and
    size), as ``oovocab build`` records its inputs; with them, merged partials
    give ``build``'s artifact byte for byte.
    """
    counts = PartialCounts(_spec(spec))
    for path in inputs:
        counts.add_input(os.fspath(path))
    for batch in _batches(batches):
        counts.add_batch(batch)
    return counts


def merge(partials: Iterable[PartialCounts]) -> PartialCounts:
    """Adds partial counts (merging is associative and commutative)."""
    partials = list(partials)
    if not partials:
        raise OovocabError("merge needs at least one partial count")
    total = copy.copy(partials[0])
    for p in partials[1:]:
        total.merge(p)
    return total


def build_from_partials(
    spec: SpecLike,
    partials: Iterable[PartialCounts],
    output: Union[str, "os.PathLike[str]"],
    threads: Optional[int] = None,
) -> Vocabulary:
    """Builds the artifact from partial counts: byte for byte the artifact
    ``build`` writes on all of the counted data."""
    return _oovocab.build_from_partials(_spec(spec), list(partials), os.fspath(output), threads)
