"""Type stubs of the extension module (the public API is re-exported by
``oovocab``; see its docstrings)."""

import os
from typing import Any, Dict, List, Optional, Union

class OovocabError(Exception):
    """Bad input, a corrupt file or a spec error; the message names the
    file and place."""

class Spec:
    """A parsed spec (the TOML of ``oovocab build --spec``)."""

    @staticmethod
    def from_path(path: Union[str, os.PathLike[str]]) -> "Spec": ...
    @staticmethod
    def from_toml(text: str) -> "Spec": ...
    @property
    def features(self) -> List[str]: ...

class Vocabulary:
    """An artifact, memory-mapped; share it between threads freely."""

    @staticmethod
    def open(path: Union[str, os.PathLike[str]]) -> "Vocabulary": ...
    @property
    def features(self) -> List[str]: ...
    def feature(self, name: str) -> "Feature": ...
    @property
    def rows_scanned(self) -> int: ...
    @property
    def path(self) -> str: ...

class Feature:
    """One feature: its layout and lookups."""

    @property
    def name(self) -> str: ...
    @property
    def column(self) -> str:
        """The input column the feature reads."""
    @property
    def size(self) -> int:
        """The embedding table's row count (every id is below it)."""
    @property
    def key_type(self) -> str: ...
    @property
    def layout(self) -> Dict[str, Optional[int]]:
        """padding_id, null_id, oov_first_id, oov_buckets, first_vocab_id,
        vocab_size, size."""
    def __len__(self) -> int: ...
    def id(self, value: Union[str, bytes, int, None]) -> int:
        """The id of one value; an unseen value gets its OOV bucket."""
    def ids(self, array: Any, id_type: str = "int32") -> Any:
        """The ids of an Arrow array (pyarrow, Polars, anything with
        ``__arrow_c_array__``: no copy), a chunked array or stream (a
        chunked array out), or a numpy array (numpy out)."""

class Transformer:
    def __init__(
        self,
        vocab: Vocabulary,
        features: Optional[List[str]] = None,
        keep: Optional[List[str]] = None,
        id_type: str = "int32",
    ) -> None: ...
    def transform_batch(
        self,
        batch: Any,
        mode: str = "infer",
        seed: int = 0,
        epoch: int = 0,
        start_row: int = 0,
        oov_rate: Optional[float] = None,
    ) -> Any: ...

class PartialCounts:
    """Exact counts of a spec's features; they merge."""

    def __init__(self, spec: Spec) -> None: ...
    def add_batch(self, batch: Any) -> None: ...
    def add_input(self, path: Union[str, os.PathLike[str]]) -> None:
        """Records an input file (path as given, size), as a scan would."""
    @property
    def inputs(self) -> List[tuple[str, int]]: ...
    def merge(self, other: "PartialCounts") -> None: ...
    def to_bytes(self) -> bytes:
        """The ``.oovc`` format (versioned, checksummed)."""
    @staticmethod
    def from_bytes(data: bytes) -> "PartialCounts": ...
    @property
    def rows(self) -> int: ...
    def __copy__(self) -> "PartialCounts": ...

def build(
    spec: Spec,
    inputs: List[str],
    output: str,
    threads: Optional[int] = None,
) -> Vocabulary: ...
def build_from_partials(
    spec: Spec,
    partials: List[PartialCounts],
    output: str,
    threads: Optional[int] = None,
) -> Vocabulary: ...
