use std::collections::BTreeMap;

use oovocab::{Key, KeyType, Spec, VocabularyBuilder};
use serde_json::Value;

use crate::util::*;

/// Every file of `fixtures/interop` (written by pyarrow, Polars and DuckDB;
/// see `fixtures/interop/make.py`) counts exactly as its `.expected.json`
/// says: distinct values, per-value counts, nulls.
#[test]
fn every_writer_counts_like_its_own_library() {
    let dir = fixture("interop");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "parquet"))
        .collect();
    files.sort();
    assert!(files.len() >= 12, "the corpus is there");
    for file in &files {
        let expected: BTreeMap<String, Value> = serde_json::from_str(
            &std::fs::read_to_string(file.with_extension("expected.json")).unwrap(),
        )
        .unwrap();
        let spec_text: String = expected
            .keys()
            .map(|c| format!("[[feature]]\nname = \"{c}\"\n"))
            .collect();
        let mut builder =
            VocabularyBuilder::new(Spec::from_toml_str(&spec_text).unwrap()).threads(2);
        builder
            .add_paths(&[file])
            .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let vocab = builder.build().unwrap();
        for (column, truth) in &expected {
            let f = vocab.feature(column).unwrap();
            let counts = truth["counts"].as_object().unwrap();
            let what = format!("{} column {column}", file.display());
            assert_eq!(
                f.stats().null_count,
                truth["nulls"].as_u64().unwrap(),
                "{what}: nulls"
            );
            assert_eq!(
                f.stats().distinct_count,
                counts.len() as u64,
                "{what}: distinct"
            );
            assert_eq!(
                f.stats().total_count,
                counts.values().map(|v| v.as_u64().unwrap()).sum::<u64>(),
                "{what}: total"
            );
            for (value, count) in counts {
                let index = match f.key_type() {
                    KeyType::Bytes => f.index_of(Key::Bytes(value.as_bytes())),
                    KeyType::Int => f.index_of(Key::Int(value.parse().unwrap())),
                    KeyType::Uint => f.index_of(Key::Uint(value.parse().unwrap())),
                };
                let index = index.unwrap_or_else(|| panic!("{what}: {value:?} missing"));
                assert_eq!(f.count(index), count.as_u64(), "{what}: {value:?}");
            }
        }
    }
}

/// `apply` reads every file of the corpus too.
#[test]
fn every_writer_applies() {
    let dir = tempdir();
    let spec = write_spec(
        dir.path(),
        "[[feature]]\nname = \"s\"\n\n[[feature]]\nname = \"l\"\n",
    );
    let vocab = dir.path().join("v.oov");
    let inputs = fixture("interop/pyarrow-none.parquet");
    ok(oovocab(&[
        &"build", &"--spec", &spec, &"-o", &vocab, &"--quiet", &inputs,
    ]));
    for name in [
        "pyarrow-snappy",
        "pyarrow-gzip",
        "pyarrow-brotli",
        "pyarrow-zstd",
        "pyarrow-lz4",
        "pyarrow-v2-plain",
        "pyarrow-zero-rows",
        "polars-zstd",
        "polars-lz4",
        "duckdb",
    ] {
        let out = dir.path().join(format!("out-{name}"));
        ok(oovocab(&[
            &"apply",
            &"--vocab",
            &vocab,
            &"-o",
            &out,
            &"--quiet",
            &fixture(&format!("interop/{name}.parquet")),
        ]));
        assert!(out.join(format!("{name}.parquet")).exists());
    }
}
