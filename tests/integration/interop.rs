use std::collections::BTreeMap;

use oovocab::{Key, KeyType, Spec, VocabularyBuilder};
use serde_json::Value;

use crate::util::*;

/// Every file of `fixtures/interop` (written by pyarrow, Polars and DuckDB;
/// see `fixtures/interop/make.py`) counts exactly as its `.expected.json`
/// says (distinct values, per-value counts, nulls), and `apply` on it gives
/// each value's id exactly as many times as the writer's library counted
/// the value (and the null id as many times as it counted nulls).
#[test]
fn every_writer_counts_and_applies_like_its_own_library() {
    let scratch = tempdir();
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
        let vocab_path = scratch.path().join("v.oov");
        let vocab = builder.save(&vocab_path).unwrap();
        let out = scratch.path().join("out");
        ok(oovocab(&[
            &"apply",
            &"--quiet",
            &"--vocab",
            &vocab_path,
            &"-o",
            &out,
            file,
        ]));
        let applied = out.join(file.file_name().unwrap());
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
            // The applied ids, value by value.
            let mut ids: BTreeMap<u32, u64> = BTreeMap::new();
            for id in applied_ids(&applied, column) {
                *ids.entry(id).or_default() += 1;
            }
            let null_id = f.null_id().unwrap();
            assert_eq!(
                ids.remove(&null_id).unwrap_or(0),
                truth["nulls"].as_u64().unwrap(),
                "{what}: null ids"
            );
            for (value, count) in counts {
                let id = match f.key_type() {
                    KeyType::Bytes => f.id(value.as_bytes()),
                    KeyType::Int => f.id(value.parse::<i64>().unwrap()),
                    KeyType::Uint => f.id(value.parse::<u64>().unwrap()),
                };
                assert_eq!(ids.remove(&id), count.as_u64(), "{what}: ids of {value:?}");
            }
            assert!(ids.is_empty(), "{what}: other ids {ids:?}");
        }
    }
}

/// Every id of `column` in an applied file (list columns flattened; a null
/// list has none).
fn applied_ids(path: &std::path::Path, column: &str) -> Vec<u32> {
    use arrow_array::Array;
    use arrow_array::cast::AsArray;
    use arrow_array::types::Int32Type;
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
        std::fs::File::open(path).unwrap(),
    )
    .unwrap()
    .build()
    .unwrap();
    let mut ids = Vec::new();
    for batch in reader {
        let batch = batch.unwrap();
        let col = batch.column_by_name(column).unwrap();
        let values = match col.data_type() {
            arrow_schema::DataType::List(_) => {
                let list = col.as_list::<i32>();
                let mut v = Vec::new();
                for i in 0..list.len() {
                    if list.is_valid(i) {
                        v.extend(
                            list.value(i)
                                .as_primitive::<Int32Type>()
                                .values()
                                .iter()
                                .map(|&x| x as u32),
                        );
                    }
                }
                v
            }
            _ => col
                .as_primitive::<Int32Type>()
                .values()
                .iter()
                .map(|&x| x as u32)
                .collect(),
        };
        ids.extend(values);
    }
    ids
}
