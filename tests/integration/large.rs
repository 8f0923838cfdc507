use std::sync::Arc;

use arrow_array::{ArrayRef, Int64Array, RecordBatch};
use oovocab::{Spec, Vocabulary, VocabularyBuilder};

use crate::util::*;

const KEYS: i64 = 3_000_000;

/// Key k is seen twice when k % 3 == 0, else once.
fn builder() -> VocabularyBuilder {
    let spec = Spec::from_toml_str("[[feature]]\nname = \"u\"\n").unwrap();
    let mut b = VocabularyBuilder::new(spec);
    let values: Vec<i64> = (0..KEYS).chain((0..KEYS).step_by(3)).collect();
    let column = Arc::new(Int64Array::from(values)) as ArrayRef;
    b.add_batch(&RecordBatch::try_from_iter([("u", column)]).unwrap())
        .unwrap();
    b
}

/// 3M keys: the count table's partitions and the artifact's buffers are
/// mappings, and `save` and `build` move the count table's pages into the
/// artifact's buffers. The file is byte for byte what `into_bytes` (plain
/// zeroed vectors) makes, and every key has its id, saved, reopened and
/// built in memory.
#[test]
fn a_vocabulary_of_millions_of_keys_saves_as_it_serializes() {
    let dir = tempdir();
    let path = dir.path().join("large.oov");
    let saved = builder().save(&path).unwrap();
    let in_memory = builder().into_bytes().unwrap();
    assert!(
        std::fs::read(&path).unwrap() == in_memory,
        "save and into_bytes differ"
    );
    let reopened = Vocabulary::open(&path).unwrap();
    let built = builder().build().unwrap();
    let twice = (KEYS + 2) / 3;
    for v in [&saved, &reopened, &built] {
        let f = v.feature("u").unwrap();
        let first = f.layout().first_vocab_id();
        for k in (0..KEYS).step_by(7) {
            // Count 2 first, then count 1; each by key.
            let rank = if k % 3 == 0 {
                k / 3
            } else {
                twice + k - k / 3 - 1
            };
            assert_eq!(f.get(k), Some(first + rank as u32), "key {k}");
        }
        assert_eq!(f.get(KEYS), None);
    }
}
