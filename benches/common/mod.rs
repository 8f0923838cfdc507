//! Seeded generators shared by the benches.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch, StringArray};
use oovocab::{Spec, Vocabulary, VocabularyBuilder};

#[path = "../../examples/common/mod.rs"]
mod generators;
pub use generators::Rng;

pub fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

pub fn clicks_spec() -> Spec {
    Spec::from_path(fixtures().join("clicks.toml")).unwrap()
}

/// `n` distinct keys `key-<i>` (each counted once), one feature `k`.
pub fn vocabulary_of(n: usize) -> Vocabulary {
    builder_of(n).build().unwrap()
}

/// As [`vocabulary_of`], saved to `path`.
pub fn save_vocabulary_of(n: usize, path: &std::path::Path) {
    builder_of(n).save(path).unwrap();
}

fn builder_of(n: usize) -> VocabularyBuilder {
    let spec = Spec::from_toml_str("[[feature]]\nname = \"k\"\noov_buckets = 8\n").unwrap();
    let mut b = VocabularyBuilder::new(spec);
    let chunk = 1 << 20;
    for start in (0..n).step_by(chunk) {
        let keys: Vec<String> = (start..(start + chunk).min(n)).map(key).collect();
        let batch =
            RecordBatch::try_from_iter([("k", Arc::new(StringArray::from(keys)) as ArrayRef)])
                .unwrap();
        b.add_batch(&batch).unwrap();
    }
    b
}

pub fn key(i: usize) -> String {
    format!("key-{i}")
}
