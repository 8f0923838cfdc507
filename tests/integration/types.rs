use std::path::PathBuf;
use std::sync::Arc;

use arrow_array::builder::{LargeListBuilder, LargeStringBuilder, ListBuilder, StringBuilder};
use arrow_array::types::Int32Type;
use arrow_array::*;
use parquet::basic::{BrotliLevel, Compression, GzipLevel, ZstdLevel};
use serde_json::Value;

use crate::util::*;

/// A deterministic stream of values with repeats, nulls, unicode, empty
/// strings and 1.5 KB keys.
fn text(i: usize) -> Option<String> {
    match i % 97 {
        0 => None,
        1 => Some(String::new()),
        2 => Some(format!("ключ-{}-ü", i % 5)),
        3 => Some("x".repeat(1536) + &(i % 3).to_string()),
        _ => Some(format!("v{}", (i * 7919) % 211 % (1 + i % 50))),
    }
}

fn int(i: usize) -> Option<i64> {
    (i % 89 != 0).then(|| ((i * 31) % 120) as i64 - 60)
}

fn uint(i: usize) -> Option<u64> {
    (i % 83 != 0).then(|| {
        if i % 3 == 0 {
            u64::MAX - (i % 7) as u64
        } else {
            (1u64 << 63) + (i % 11) as u64
        }
    })
}

fn list(i: usize) -> Option<Vec<Option<String>>> {
    (i % 41 != 0).then(|| {
        (0..i % 4)
            .map(|j| (j + i % 13 != 5).then(|| format!("tag{}", (i + j) % 17)))
            .collect()
    })
}

/// Writes 6 files, each with its own string type, integer width,
/// compression and row-group size.
pub fn write_all_types(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for file in 0..6usize {
        let rows: Vec<usize> = (file * 1500..(file + 1) * 1500).collect();
        let strings: Vec<Option<String>> = rows.iter().map(|&i| text(i)).collect();
        let s: ArrayRef = match file {
            0 => Arc::new(StringArray::from(strings)),
            1 => Arc::new(LargeStringArray::from(strings)),
            2 => Arc::new(StringViewArray::from(strings)),
            3 => Arc::new(
                strings
                    .iter()
                    .map(|s| s.as_deref())
                    .collect::<DictionaryArray<Int32Type>>(),
            ),
            4 => Arc::new(LargeBinaryArray::from(
                strings
                    .iter()
                    .map(|s| s.as_deref().map(str::as_bytes))
                    .collect::<Vec<_>>(),
            )),
            _ => Arc::new(BinaryViewArray::from(
                strings
                    .iter()
                    .map(|s| s.as_deref().map(str::as_bytes))
                    .collect::<Vec<_>>(),
            )),
        };
        let ints: Vec<Option<i64>> = rows.iter().map(|&i| int(i)).collect();
        let i: ArrayRef = match file {
            0 => Arc::new(Int8Array::from(
                ints.iter().map(|v| v.map(|v| v as i8)).collect::<Vec<_>>(),
            )),
            1 => Arc::new(Int16Array::from(
                ints.iter().map(|v| v.map(|v| v as i16)).collect::<Vec<_>>(),
            )),
            2 => Arc::new(Int32Array::from(
                ints.iter().map(|v| v.map(|v| v as i32)).collect::<Vec<_>>(),
            )),
            3 => Arc::new(Int64Array::from(ints.clone())),
            // Unsigned narrow widths mix with signed ones: shift into range.
            4 => Arc::new(UInt8Array::from(
                ints.iter()
                    .map(|v| v.map(|v| (v + 60) as u8))
                    .collect::<Vec<_>>(),
            )),
            _ => Arc::new(UInt32Array::from(
                ints.iter()
                    .map(|v| v.map(|v| (v + 60) as u32))
                    .collect::<Vec<_>>(),
            )),
        };
        let u: ArrayRef = Arc::new(UInt64Array::from(
            rows.iter().map(|&i| uint(i)).collect::<Vec<_>>(),
        ));
        let l: ArrayRef = if file % 2 == 0 {
            let mut b = ListBuilder::new(StringBuilder::new());
            for &r in &rows {
                b.append_option(list(r));
            }
            Arc::new(b.finish())
        } else {
            let mut b = LargeListBuilder::new(LargeStringBuilder::new());
            for &r in &rows {
                b.append_option(list(r));
            }
            Arc::new(b.finish())
        };
        let batch = RecordBatch::try_from_iter([("s", s), ("i", i), ("u", u), ("l", l)]).unwrap();
        let (compression, row_group) = match file {
            0 => (Compression::SNAPPY, 1500),
            1 => (Compression::ZSTD(ZstdLevel::default()), 400),
            2 => (Compression::GZIP(GzipLevel::default()), 700),
            3 => (Compression::LZ4_RAW, 1000),
            4 => (Compression::BROTLI(BrotliLevel::default()), 1500),
            _ => (Compression::UNCOMPRESSED, 256),
        };
        let path = dir.join(format!("part-{file}.parquet"));
        write_parquet(&path, &[batch], compression, row_group);
        files.push(path);
    }
    files
}

#[test]
fn every_column_type_counts_like_an_independent_group_by() {
    let dir = tempdir();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    let files = write_all_types(&data);
    let spec = write_spec(
        dir.path(),
        "[defaults]\nmin_count = 2\noov_buckets = 3\n\n[[feature]]\nname = \"s\"\n\n[[feature]]\nname = \"i\"\nmin_count = 1\n\n[[feature]]\nname = \"u\"\npadding = false\n\n[[feature]]\nname = \"l\"\nnulls = \"oov\"\n",
    );
    let out = dir.path().join("v.oov");
    ok(oovocab(&[
        &"build",
        &"--spec",
        &spec,
        &"-o",
        &out,
        &"--threads",
        &"2",
        &data,
    ]));
    let doc: Value = serde_json::from_str(&ok(oovocab(&[
        &"inspect", &out, &"--json", &"--top", &"100000",
    ])))
    .unwrap();
    let vocab = oovocab::Vocabulary::open(&out).unwrap();
    for (idx, name, min_count, key_type) in [
        (0, "s", 2, "bytes"),
        (1, "i", 1, "int"),
        (2, "u", 2, "uint"),
        (3, "l", 2, "bytes"),
    ] {
        let f = &doc["features"][idx];
        let numeric = key_type != "bytes";
        let (counts, nulls) = group_by(&files, name);
        let expected = expected_order(&counts, min_count, numeric);
        assert_eq!(f["key_type"], key_type, "{name}");
        assert_eq!(f["total_count"], counts.values().sum::<u64>(), "{name}");
        assert_eq!(f["distinct_count"], counts.len(), "{name}");
        assert_eq!(f["null_count"], nulls, "{name}");
        assert_eq!(f["vocab_size"], expected.len(), "{name}");
        let first = f["first_vocab_id"].as_u64().unwrap();
        assert_eq!(f["size"], first + expected.len() as u64);
        let top = f["top"].as_array().unwrap();
        let feature = vocab.feature(name).unwrap();
        for (j, ((value, count), t)) in expected.iter().zip(top).enumerate() {
            let shown = match &t["value"] {
                Value::String(s) => s.clone(),
                n => n.to_string(),
            };
            assert_eq!(
                (&shown, t["count"].as_u64().unwrap()),
                (value, *count),
                "{name} #{j}"
            );
            let id = first as u32 + j as u32;
            assert_eq!(t["id"], id);
            let looked_up = match key_type {
                "bytes" => feature.id(value.as_str()),
                "int" => feature.id(value.parse::<i64>().unwrap()),
                _ => feature.id(value.parse::<u64>().unwrap()),
            };
            assert_eq!(looked_up, id, "{name} {value}");
        }
    }
    let u = &doc["features"][2];
    assert_eq!(
        (
            u["padding_id"].clone(),
            u["null_id"].clone(),
            u["oov_first_id"].clone()
        ),
        (Value::Null, Value::from(0), Value::from(1))
    );
    let l = &doc["features"][3];
    assert_eq!(
        (
            l["null_id"].clone(),
            l["oov_first_id"].clone(),
            l["first_vocab_id"].clone()
        ),
        (Value::Null, Value::from(1), Value::from(4))
    );
}

#[test]
fn signed_and_uint64_across_files_is_an_error_naming_both() {
    let dir = tempdir();
    let a = dir.path().join("a.parquet");
    let b = dir.path().join("b.parquet");
    let batch = |arr: ArrayRef| RecordBatch::try_from_iter([("x", arr)]).unwrap();
    write_parquet(
        &a,
        &[batch(Arc::new(Int64Array::from(vec![1, 2])))],
        Compression::UNCOMPRESSED,
        10,
    );
    write_parquet(
        &b,
        &[batch(Arc::new(UInt64Array::from(vec![1, 2])))],
        Compression::UNCOMPRESSED,
        10,
    );
    let spec = write_spec(dir.path(), "[[feature]]\nname = \"x\"\n");
    let out = dir.path().join("v.oov");
    let o = oovocab(&[&"build", &"--spec", &spec, &"-o", &out, &a, &b]);
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(
        e.contains("a.parquet") && e.contains("b.parquet") && e.contains("UInt64"),
        "{e}"
    );
    assert!(!out.exists());
}

#[test]
fn unsupported_column_type_is_an_error_naming_file_and_column() {
    let dir = tempdir();
    let a = dir.path().join("a.parquet");
    let batch =
        RecordBatch::try_from_iter([("x", Arc::new(Float64Array::from(vec![1.0])) as ArrayRef)])
            .unwrap();
    write_parquet(&a, &[batch], Compression::UNCOMPRESSED, 10);
    let spec = write_spec(dir.path(), "[[feature]]\nname = \"x\"\n");
    let o = oovocab(&[
        &"build",
        &"--spec",
        &spec,
        &"-o",
        &dir.path().join("v.oov"),
        &a,
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("a.parquet: column \"x\" has type Float64"),
        "{}",
        stderr(&o)
    );
}

/// A column of Arrow type `Null` (pyarrow types an all-null column so) has
/// no key type of its own: it counts as nulls, fits any feature, and maps to
/// the null id.
#[test]
fn an_all_null_typed_column_counts_as_nulls_and_maps_to_the_null_id() {
    let dir = tempdir();
    let a = dir.path().join("a.parquet");
    let b = dir.path().join("b.parquet");
    let batch =
        |arr: ArrayRef| RecordBatch::try_from_iter_with_nullable([("x", arr, true)]).unwrap();
    write_parquet(
        &a,
        &[batch(Arc::new(NullArray::new(5)))],
        Compression::UNCOMPRESSED,
        10,
    );
    write_parquet(
        &b,
        &[batch(Arc::new(StringArray::from(vec![
            Some("p"),
            None,
            Some("p"),
        ])))],
        Compression::SNAPPY,
        10,
    );
    let spec = write_spec(dir.path(), "[[feature]]\nname = \"x\"\n");
    let vocab = dir.path().join("v.oov");
    ok(oovocab(&[
        &"build", &"--spec", &spec, &"-o", &vocab, &"--quiet", &a, &b,
    ]));
    let v = oovocab::Vocabulary::open(&vocab).unwrap();
    let x = v.feature("x").unwrap();
    assert_eq!(
        (
            x.key_type(),
            x.stats().null_count,
            x.stats().total_count,
            x.len()
        ),
        (oovocab::KeyType::Bytes, 6, 2, 1)
    );
    let out = dir.path().join("out");
    ok(oovocab(&[
        &"apply", &"--vocab", &vocab, &"-o", &out, &"--quiet", &a,
    ]));
    let r = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
        std::fs::File::open(out.join("a.parquet")).unwrap(),
    )
    .unwrap()
    .build()
    .unwrap();
    let ids: Vec<i32> = r
        .flat_map(|b| {
            b.unwrap()
                .column(0)
                .as_any()
                .downcast_ref::<Int32Array>()
                .unwrap()
                .values()
                .to_vec()
        })
        .collect();
    assert_eq!(ids, vec![x.null_id().unwrap() as i32; 5]);
}
