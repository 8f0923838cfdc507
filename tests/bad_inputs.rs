//! The bad-input matrix: each case runs the real binary, which must exit 1
//! with a message naming the file (and the column, row group or spec line
//! where one applies), never panic, and leave nothing in the output folder:
//! no file under the final name, no temporary file. Inputs that look odd
//! but are valid (a 10 MB value, bytes that are not UTF-8) must work.

// The one `unsafe` here is a test-only global allocator that counts bytes
// and forwards every call to the system allocator.
#![allow(unsafe_code)]

#[allow(dead_code)]
#[path = "integration/util.rs"]
mod util;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{
    ArrayRef, BinaryArray, Float64Array, Int64Array, RecordBatch, StringArray, UInt64Array,
};
use parquet::basic::Compression;
use parquet::file::reader::{FileReader, SerializedFileReader};

use util::*;

/// Counts the bytes each thread allocates, so that a test can bound what
/// opening a hostile artifact allocates (other tests' threads do not count).
struct CountingAllocator;

thread_local! {
    static ALLOCATED: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

fn note_allocation(bytes: usize) {
    let _ = ALLOCATED.try_with(|a| a.set(a.get() + bytes));
}

fn allocated_so_far() -> usize {
    ALLOCATED.with(|a| a.get())
}

// SAFETY: every call forwards to the system allocator unchanged.
unsafe impl std::alloc::GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        note_allocation(layout.size());
        unsafe { std::alloc::System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: std::alloc::Layout) {
        unsafe { std::alloc::System.dealloc(ptr, layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: std::alloc::Layout) -> *mut u8 {
        note_allocation(layout.size());
        unsafe { std::alloc::System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: std::alloc::Layout, new_size: usize) -> *mut u8 {
        note_allocation(new_size.saturating_sub(layout.size()));
        unsafe { std::alloc::System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

const ITEM_SPEC: &str = "[[feature]]\nname = \"item_id\"\n";

/// Runs `build` (and `apply` with a good vocabulary, when `apply`) on
/// `inputs` with `spec_text`, and checks the failure.
fn assert_fails(case: &str, spec_text: &str, inputs: &[PathBuf], needles: &[&str], apply: bool) {
    let dir = tempdir();
    let spec = write_spec(dir.path(), spec_text);
    let out_dir = dir.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();
    let out = out_dir.join("v.oov");
    let mut args: Vec<&dyn AsRef<std::ffi::OsStr>> = vec![&"build", &"--spec", &spec, &"-o", &out];
    inputs.iter().for_each(|i| args.push(i));
    check(case, "build", oovocab(&args), needles, &out_dir);
    if apply {
        let vocab = build_clicks(
            dir.path(),
            "good.oov",
            &[],
            &[fixture("clicks/day-1.parquet")],
        );
        let applied = dir.path().join("applied");
        let mut args: Vec<&dyn AsRef<std::ffi::OsStr>> =
            vec![&"apply", &"--vocab", &vocab, &"-o", &applied];
        inputs.iter().for_each(|i| args.push(i));
        std::fs::create_dir(&applied).unwrap();
        check(case, "apply", oovocab(&args), needles, &applied);
    }
}

fn check(case: &str, verb: &str, o: std::process::Output, needles: &[&str], out_dir: &Path) {
    let e = stderr(&o);
    eprintln!("{case} ({verb}): {}", e.trim_end());
    assert_eq!(o.status.code(), Some(1), "{case} ({verb}): {e}");
    assert!(!e.contains("panicked"), "{case} ({verb}): {e}");
    for n in needles {
        assert!(e.contains(n), "{case} ({verb}): no {n:?} in {e}");
    }
    let left: Vec<_> = std::fs::read_dir(out_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(left.is_empty(), "{case} ({verb}): left {left:?}");
}

fn batch(columns: Vec<(&str, ArrayRef)>) -> RecordBatch {
    RecordBatch::try_from_iter(columns).unwrap()
}

fn name_of(p: &Path) -> String {
    p.file_name().unwrap().to_string_lossy().into_owned()
}

#[test]
fn unreadable_parquet_is_an_error_naming_the_file_and_row_group() {
    let dir = tempdir();
    let day = std::fs::read(fixture("clicks/day-1.parquet")).unwrap();

    let truncated = dir.path().join("truncated.parquet");
    std::fs::write(&truncated, &day[..day.len() / 2]).unwrap();
    assert_fails(
        "truncated",
        ITEM_SPEC,
        std::slice::from_ref(&truncated),
        &["truncated.parquet"],
        true,
    );

    let noise = dir.path().join("noise.parquet");
    let mut x = 0x2545_f491_4f6c_dd1du64;
    let bytes: Vec<u8> = (0..50_000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    std::fs::write(&noise, bytes).unwrap();
    assert_fails(
        "random bytes",
        ITEM_SPEC,
        &[noise],
        &["noise.parquet"],
        true,
    );

    // A valid footer, a corrupt page: the writer stored page checksums
    // (CRC32), so the reader notices. Flip the last byte of column `s` in
    // row group 1.
    let crc = fixture("interop/pyarrow-crc.parquet");
    let reader = SerializedFileReader::new(std::fs::File::open(&crc).unwrap()).unwrap();
    let chunk = reader.metadata().row_group(1).column(0);
    assert_eq!(chunk.column_path().string(), "s");
    let (start, len) = chunk.byte_range();
    let mut bytes = std::fs::read(&crc).unwrap();
    bytes[(start + len - 1) as usize] ^= 0x40;
    let corrupt = dir.path().join("corrupt-page.parquet");
    std::fs::write(&corrupt, bytes).unwrap();
    assert_fails(
        "corrupt page",
        "[[feature]]\nname = \"s\"\n",
        &[corrupt],
        &["corrupt-page.parquet", "row group 1"],
        false,
    );

    // An unreadable file (for root, who reads anything: a dangling link).
    let locked = dir.path().join("locked.parquet");
    std::fs::write(&locked, &day).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
    if std::fs::File::open(&locked).is_ok() {
        std::fs::remove_file(&locked).unwrap();
        std::os::unix::fs::symlink(dir.path().join("gone.parquet"), &locked).unwrap();
    }
    assert_fails(
        "unreadable",
        ITEM_SPEC,
        &[locked],
        &["locked.parquet"],
        true,
    );
}

#[test]
fn columns_that_do_not_fit_are_errors_naming_file_and_column() {
    let dir = tempdir();
    assert_fails(
        "missing column",
        "[[feature]]\nname = \"item\"\ncolumn = \"nope\"\n",
        &[fixture("clicks/day-2.parquet")],
        &["day-2.parquet", "\"nope\""],
        false,
    );

    let floats = dir.path().join("floats.parquet");
    let b = batch(vec![(
        "price",
        Arc::new(Float64Array::from(vec![1.5, 2.5])) as _,
    )]);
    write_parquet(&floats, &[b], Compression::SNAPPY, 10);
    assert_fails(
        "wrong type",
        "[[feature]]\nname = \"price\"\n",
        &[floats],
        &["floats.parquet", "\"price\"", "Float64"],
        false,
    );

    let signed = dir.path().join("signed.parquet");
    let unsigned = dir.path().join("unsigned.parquet");
    write_parquet(
        &signed,
        &[batch(vec![(
            "u",
            Arc::new(Int64Array::from(vec![1, 2])) as _,
        )])],
        Compression::SNAPPY,
        10,
    );
    write_parquet(
        &unsigned,
        &[batch(vec![(
            "u",
            Arc::new(UInt64Array::from(vec![1, u64::MAX])) as _,
        )])],
        Compression::SNAPPY,
        10,
    );
    assert_fails(
        "signed and UInt64",
        "[[feature]]\nname = \"u\"\n",
        &[signed, unsigned],
        &["signed.parquet", "unsigned.parquet", "\"u\""],
        false,
    );

    let empty = dir.path().join("empty-dir");
    std::fs::create_dir(&empty).unwrap();
    std::fs::write(empty.join("notes.txt"), "not parquet").unwrap();
    assert_fails(
        "no parquet",
        ITEM_SPEC,
        &[empty],
        &["empty-dir", "no *.parquet files"],
        true,
    );
}

#[test]
fn spec_errors_name_the_spec_line() {
    for (case, text, needle) in [
        (
            "bad toml",
            "[[feature]\nname = \"item_id\"\n",
            "spec.toml:1",
        ),
        (
            "unknown key",
            "[[feature]]\nname = \"item_id\"\nmin_cont = 2\n",
            "spec.toml:3",
        ),
        (
            "zero buckets",
            "[[feature]]\nname = \"item_id\"\noov_buckets = 0\n",
            "spec.toml:3",
        ),
        (
            "rate 1.5",
            "[defaults]\ntrain_oov_rate = 1.5\n[[feature]]\nname = \"item_id\"\n",
            "spec.toml:2",
        ),
        (
            "duplicate names",
            "[[feature]]\nname = \"item_id\"\n[[feature]]\nname = \"item_id\"\n",
            "spec.toml:4",
        ),
    ] {
        assert_fails(
            case,
            text,
            &[fixture("clicks/day-1.parquet")],
            &[needle],
            false,
        );
    }
}

/// Builds `file` with `spec_text` through the binary, applies the result to
/// it, and returns (the vocabulary, the applied ids of `column`).
fn build_and_apply(
    dir: &Path,
    spec_text: &str,
    file: &Path,
    column: &str,
) -> (oovocab::Vocabulary, Vec<i32>) {
    let spec = write_spec(dir, spec_text);
    let vocab = dir.join("v.oov");
    ok(oovocab(&[&"build", &"--spec", &spec, &"-o", &vocab, &file]));
    let out = dir.join("out");
    ok(oovocab(&[&"apply", &"--vocab", &vocab, &"-o", &out, &file]));
    let applied = std::fs::File::open(out.join(name_of(file))).unwrap();
    let mut ids = Vec::new();
    for b in parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(applied)
        .unwrap()
        .build()
        .unwrap()
    {
        let b = b.unwrap();
        let col = b.column_by_name(column).unwrap();
        let col = arrow_cast::cast(col, &arrow_schema::DataType::Int32).unwrap();
        ids.extend(
            arrow_array::cast::AsArray::as_primitive::<arrow_array::types::Int32Type>(&col)
                .values()
                .iter(),
        );
    }
    (oovocab::Vocabulary::open(&vocab).unwrap(), ids)
}

/// The count of a known key.
fn count_of(f: &oovocab::Feature<'_>, key: &[u8]) -> u64 {
    let index = f.index_of(oovocab::Key::Bytes(key)).expect("a known key");
    f.count(index).unwrap()
}

#[test]
fn a_10_mb_value_and_non_utf8_bytes_are_ordinary_keys() {
    let dir = tempdir();
    let big = "v".repeat(10 << 20);
    let file = dir.path().join("big.parquet");
    let values = StringArray::from(vec![big.as_str(), "a", big.as_str(), "a", "b"]);
    write_parquet(
        &file,
        &[batch(vec![("s", Arc::new(values) as _)])],
        Compression::SNAPPY,
        2,
    );
    let (vocab, ids) = build_and_apply(
        dir.path(),
        "[[feature]]\nname = \"s\"\nmin_count = 2\n",
        &file,
        "s",
    );
    let f = vocab.feature("s").unwrap();
    assert_eq!(count_of(&f, big.as_bytes()), 2);
    let big_id = f.id(big.as_bytes()) as i32;
    let a = f.id("a") as i32;
    assert_eq!(ids, vec![big_id, a, big_id, a, f.id("b") as i32]);
    assert_eq!(f.id("b"), f.oov_id("b"));

    let dir = tempdir();
    let file = dir.path().join("bytes.parquet");
    let raw: Vec<&[u8]> = vec![b"\xff\xfe", b"\xc3\x28", b"\xff\xfe", b"ok", b"\xc3\x28"];
    write_parquet(
        &file,
        &[batch(vec![("b", Arc::new(BinaryArray::from(raw)) as _)])],
        Compression::SNAPPY,
        10,
    );
    let (vocab, ids) = build_and_apply(
        dir.path(),
        "[[feature]]\nname = \"b\"\nmin_count = 2\n",
        &file,
        "b",
    );
    let f = vocab.feature("b").unwrap();
    assert_eq!(
        (count_of(&f, b"\xff\xfe"), count_of(&f, b"\xc3\x28")),
        (2, 2)
    );
    let (x, y) = (f.id(&b"\xff\xfe"[..]) as i32, f.id(&b"\xc3\x28"[..]) as i32);
    assert_ne!(x, y);
    assert_eq!(ids, vec![x, y, x, f.oov_id(&b"ok"[..]) as i32, y]);
}

#[test]
fn three_hundred_features_in_one_file_build_and_apply() {
    let dir = tempdir();
    let file = dir.path().join("wide.parquet");
    let columns: Vec<(String, ArrayRef)> = (0..300)
        .map(|c| {
            let values: Vec<i64> = (0..50).map(|r| (r * (c + 1)) % 7).collect();
            (
                format!("f{c}"),
                Arc::new(Int64Array::from(values)) as ArrayRef,
            )
        })
        .collect();
    let batch = RecordBatch::try_from_iter(columns).unwrap();
    write_parquet(&file, &[batch], Compression::SNAPPY, 20);
    let spec: String = (0..300)
        .map(|c| format!("[[feature]]\nname = \"f{c}\"\n"))
        .collect();
    let (vocab, ids) = build_and_apply(dir.path(), &spec, &file, "f299");
    assert_eq!(vocab.features().len(), 300);
    let f = vocab.feature("f299").unwrap();
    let expected: Vec<i32> = (0..50).map(|r| f.id((r * 300) % 7) as i32).collect();
    assert_eq!(ids, expected);
}

/// Every 8-byte word of an artifact set to a huge value (a length, an
/// offset, a count), resealed so that the checksum passes: opening and
/// using it allocates at most a small multiple of the file size, whatever
/// the file claims.
#[test]
fn a_hostile_artifact_cannot_make_open_allocate_more_than_the_file() {
    let spec =
        oovocab::Spec::from_toml_str("[[feature]]\nname = \"s\"\n[[feature]]\nname = \"n\"\n")
            .unwrap();
    let mut b = oovocab::VocabularyBuilder::new(spec);
    let s: Vec<String> = (0..2000).map(|i| format!("key-{}", i % 700)).collect();
    let n: Vec<i64> = (0..2000).map(|i| i % 300).collect();
    b.add_batch(&batch(vec![
        ("s", Arc::new(StringArray::from(s)) as _),
        ("n", Arc::new(Int64Array::from(n)) as _),
    ]))
    .unwrap();
    let good = b.into_bytes().unwrap();
    let bound = 4 * good.len() + (1 << 20);
    let mut opened = 0;
    for word in (32..good.len() - 8).step_by(8) {
        for value in [u64::MAX, 1 << 40, u64::from(u32::MAX), 0] {
            let mut bytes = good.clone();
            bytes[word..word + 8].copy_from_slice(&value.to_le_bytes());
            reseal(&mut bytes);
            let before = allocated_so_far();
            if let Ok(v) = oovocab::Vocabulary::from_bytes(bytes) {
                opened += 1;
                for f in v.features() {
                    let _ = (f.id("key-1"), f.id(5i64), f.iter().take(100).count());
                }
                let _ = v.verify();
            }
            let used = allocated_so_far() - before;
            assert!(
                used <= bound,
                "word {word} = {value}: {used} bytes allocated for a {}-byte file",
                good.len()
            );
        }
    }
    assert!(opened > 0, "some mutations (e.g. of counts) still open");
}

/// Ids are int32 (README, Limits): a layout that would need more is an
/// error at build time naming the feature, never a wrap or a silent widening.
/// (A vocabulary of 2^31 keys cannot be built in a test; huge OOV buckets
/// take the same path.)
#[test]
fn a_vocabulary_beyond_int32_ids_is_an_error_naming_the_feature() {
    assert_fails(
        "ids beyond int32",
        "[[feature]]\nname = \"item_id\"\noov_buckets = 2147483640\n",
        &[fixture("clicks/day-1.parquet")],
        &["feature \"item_id\"", "int32", "max_size"],
        false,
    );
}
