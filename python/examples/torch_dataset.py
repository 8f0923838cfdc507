"""A PyTorch-style dataset that streams Parquet through the Transformer in
training mode, one epoch at a time.

    python examples/torch_dataset.py VOCAB.oov FILE.parquet... [--epochs 3]

Each epoch hides another reproducible share of known values behind their
OOV bucket (the epoch number is part of the injection hash), so over the
epochs the OOV embedding learns from the whole population, and a rerun of an
epoch sees exactly the same ids. The package itself does not depend on
torch: with torch installed this class is a `torch.utils.data.IterableDataset`,
without it a plain iterable that yields dicts of numpy arrays.
"""

from __future__ import annotations

import argparse
from typing import Dict, Iterator, List, Optional, Sequence

import numpy as np
import pyarrow.parquet as pq

import oovocab

try:  # pragma: no cover - depends on the environment
    from torch.utils.data import IterableDataset as _Base
except ImportError:  # pragma: no cover
    _Base = object


class OovocabParquetDataset(_Base):
    """Batches of ids from Parquet files, in training mode.

    Call :meth:`set_epoch` before each epoch (as with a
    ``DistributedSampler``); rows are numbered across the files in order,
    so the hidden values do not depend on batch sizes or workers.
    """

    def __init__(
        self,
        vocab_path: str,
        files: Sequence[str],
        seed: int = 0,
        batch_size: int = 4096,
        features: Optional[List[str]] = None,
    ) -> None:
        super().__init__()
        self.vocab_path = vocab_path
        self.files = list(files)
        self.seed = seed
        self.batch_size = batch_size
        self.features = features
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self) -> Iterator[Dict[str, np.ndarray]]:
        vocab = oovocab.Vocabulary.open(self.vocab_path)
        t = oovocab.Transformer(vocab, features=self.features)
        row = 0
        for path in self.files:
            f = pq.ParquetFile(path)
            batches = f.iter_batches(batch_size=self.batch_size)
            for batch in t.transform_stream(batches, mode="train", seed=self.seed, epoch=self.epoch, start_row=row):
                yield {name: _numpy(batch.column(name)) for name in batch.schema.names}
            row += f.metadata.num_rows


def _numpy(column) -> np.ndarray:
    """Scalar id columns as numpy; list columns as flat ids (a real model
    would also keep the offsets for an EmbeddingBag)."""
    import pyarrow as pa

    if pa.types.is_list(column.type):
        return column.flatten().to_numpy()
    return column.to_numpy()


def oov_share(dataset: OovocabParquetDataset, feature: str) -> float:
    """The share of one epoch's ids of `feature` that are OOV buckets."""
    layout = oovocab.Vocabulary.open(dataset.vocab_path).feature(feature).layout
    first, n = layout["oov_first_id"], layout["oov_buckets"]
    ids = np.concatenate([b[feature] for b in dataset])
    return float(np.mean((ids >= first) & (ids < first + n)))


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("vocab")
    p.add_argument("files", nargs="+")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    ds = OovocabParquetDataset(a.vocab, a.files, seed=a.seed)
    name = oovocab.Vocabulary.open(a.vocab).features[0]
    for epoch in range(a.epochs):
        ds.set_epoch(epoch)
        print(f"epoch {epoch}: {oov_share(ds, name):.2%} of {name} ids are OOV buckets")
