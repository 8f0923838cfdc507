use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use arrow_array::cast::AsArray;
use arrow_array::{Array, RecordBatch};
use arrow_schema::DataType;
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixture(rel: &str) -> PathBuf {
    root().join("fixtures").join(rel)
}

/// Runs the real binary with a clean environment.
pub fn oovocab(args: &[&dyn AsRef<std::ffi::OsStr>]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_oovocab"))
        .args(args.iter().map(|a| a.as_ref()))
        .env_clear()
        .current_dir(root())
        .output()
        .expect("the binary runs")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Asserts success and returns stdout.
pub fn ok(o: Output) -> String {
    assert!(
        o.status.success(),
        "exit {:?}\nstderr: {}",
        o.status.code(),
        stderr(&o)
    );
    stdout(&o)
}

/// Writes `batches` to a Parquet file.
pub fn write_parquet(
    path: &Path,
    batches: &[RecordBatch],
    compression: Compression,
    row_group: usize,
) {
    let props = WriterProperties::builder()
        .set_compression(compression)
        .set_max_row_group_row_count(Some(row_group))
        .build();
    write_parquet_with(path, batches, props);
}

/// Writes `batches` to a Parquet file at `path` with the writer settings
/// `props`.
pub fn write_parquet_with(path: &Path, batches: &[RecordBatch], props: WriterProperties) {
    let mut w = ArrowWriter::try_new(
        File::create(path).unwrap(),
        batches[0].schema(),
        Some(props),
    )
    .unwrap();
    for b in batches {
        w.write(b).unwrap();
    }
    w.close().unwrap();
}

/// The independent count: every value cast to text by arrow's cast kernel
/// (or printed as a decimal integer), grouped in a std HashMap. Returns
/// (counts by value, null count).
pub fn group_by(files: &[PathBuf], column: &str) -> (HashMap<String, u64>, u64) {
    let mut counts = HashMap::new();
    let mut nulls = 0;
    for f in files {
        let reader = ParquetRecordBatchReaderBuilder::try_new(File::open(f).unwrap())
            .unwrap()
            .build()
            .unwrap();
        for batch in reader {
            let batch = batch.unwrap();
            let col = batch.column_by_name(column).unwrap();
            let values: Vec<std::sync::Arc<dyn Array>> = match col.data_type() {
                DataType::List(_) => {
                    let l = col.as_list::<i32>();
                    (0..l.len())
                        .filter(|&i| l.is_valid(i))
                        .map(|i| l.value(i))
                        .collect()
                }
                DataType::LargeList(_) => {
                    let l = col.as_list::<i64>();
                    (0..l.len())
                        .filter(|&i| l.is_valid(i))
                        .map(|i| l.value(i))
                        .collect()
                }
                _ => vec![col.clone()],
            };
            for v in values {
                let text = arrow_cast::cast(&v, &DataType::Utf8).unwrap();
                let text = text.as_string::<i32>();
                for i in 0..text.len() {
                    if text.is_null(i) {
                        nulls += 1;
                    } else {
                        *counts.entry(text.value(i).to_string()).or_insert(0) += 1;
                    }
                }
            }
        }
    }
    (counts, nulls)
}

/// Sorted the vocabulary way: count desc, then key asc (bytewise for
/// strings, numerically when `numeric`).
pub fn expected_order(
    counts: &HashMap<String, u64>,
    min_count: u64,
    numeric: bool,
) -> Vec<(String, u64)> {
    let mut v: Vec<(String, u64)> = counts
        .iter()
        .filter(|(_, n)| **n >= min_count)
        .map(|(k, n)| (k.clone(), *n))
        .collect();
    v.sort_by(|a, b| {
        b.1.cmp(&a.1).then_with(|| {
            if numeric {
                a.0.parse::<i128>()
                    .unwrap()
                    .cmp(&b.0.parse::<i128>().unwrap())
            } else {
                a.0.as_bytes().cmp(b.0.as_bytes())
            }
        })
    });
    v
}

pub fn clicks_files() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(fixture("clicks"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v
}

pub fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

/// Asserts two files are byte-identical, reporting the first difference
/// rather than both contents.
pub fn assert_same_bytes(a: &Path, b: &Path) {
    let (x, y) = (std::fs::read(a).unwrap(), std::fs::read(b).unwrap());
    let first = x.iter().zip(&y).position(|(p, q)| p != q);
    assert!(
        x.len() == y.len() && first.is_none(),
        "{} ({} bytes) and {} ({} bytes) differ, first at byte {:?}",
        a.display(),
        x.len(),
        b.display(),
        y.len(),
        first
    );
}

/// Builds `fixtures/clicks.toml` into `dir/name` through the binary.
pub fn build_clicks(
    dir: &std::path::Path,
    name: &str,
    extra: &[&str],
    inputs: &[PathBuf],
) -> PathBuf {
    let out = dir.join(name);
    let mut args: Vec<&dyn AsRef<std::ffi::OsStr>> = vec![
        &"build",
        &"--spec",
        &"fixtures/clicks.toml",
        &"-o",
        &out,
        &"--quiet",
    ];
    for e in extra {
        args.push(e);
    }
    for i in inputs {
        args.push(i);
    }
    ok(oovocab(&args));
    out
}

/// Writes a spec file `spec.toml` in `dir`.
pub fn write_spec(dir: &Path, text: &str) -> PathBuf {
    let spec = dir.join("spec.toml");
    std::fs::write(&spec, text).unwrap();
    spec
}

/// Rewrites an artifact header's body length and checksum so that a mutated
/// body passes them, as a hostile file would.
pub fn reseal(bytes: &mut [u8]) {
    if bytes.len() >= 32 {
        let sum = xxhash_rust::xxh3::xxh3_64(&bytes[32..]);
        bytes[24..32].copy_from_slice(&sum.to_le_bytes());
        let len = (bytes.len() - 32) as u64;
        bytes[16..24].copy_from_slice(&len.to_le_bytes());
    }
}

/// A hostile edit of a framed oovocab file (an artifact or partial counts):
/// bit flips, words set to huge lengths or offsets, truncation, all in the
/// body, with the header resealed so that the checksum passes.
#[derive(Debug, Clone)]
pub struct Mutation {
    flips: Vec<(proptest::sample::Index, u8)>,
    words: Vec<(proptest::sample::Index, u64)>,
    cut: Option<proptest::sample::Index>,
}

/// Any [`Mutation`].
pub fn mutation() -> impl proptest::strategy::Strategy<Value = Mutation> {
    use proptest::prelude::*;
    let huge = prop::sample::select(vec![0u64, 1, 7, u32::MAX as u64, u64::MAX, 1 << 40]);
    (
        prop::collection::vec((any::<prop::sample::Index>(), 0u8..8), 0..6),
        prop::collection::vec((any::<prop::sample::Index>(), huge), 0..3),
        prop::option::of(any::<prop::sample::Index>()),
    )
        .prop_map(|(flips, words, cut)| Mutation { flips, words, cut })
}

impl Mutation {
    /// Edits `bytes` (a whole file) and reseals it.
    pub fn apply(&self, bytes: &mut Vec<u8>) {
        let body = bytes.len() - 32;
        for (at, bit) in &self.flips {
            bytes[32 + at.index(body)] ^= 1 << bit;
        }
        for (at, value) in &self.words {
            let i = 32 + at.index(body.saturating_sub(8)) / 8 * 8;
            bytes[i..i + 8].copy_from_slice(&value.to_le_bytes());
        }
        if let Some(c) = &self.cut {
            bytes.truncate(32 + c.index(body));
        }
        reseal(bytes);
    }
}
