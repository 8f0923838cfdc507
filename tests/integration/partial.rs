use proptest::prelude::*;

use crate::util::*;

fn count(
    dir: &std::path::Path,
    name: &str,
    threads: &str,
    inputs: &[std::path::PathBuf],
) -> std::path::PathBuf {
    let out = dir.join(name);
    let spec = fixture("clicks.toml");
    let mut args: Vec<&dyn AsRef<std::ffi::OsStr>> = vec![
        &"count",
        &"-q",
        &"--threads",
        &threads,
        &"--spec",
        &spec,
        &"-o",
        &out,
    ];
    inputs.iter().for_each(|i| args.push(i));
    ok(oovocab(&args));
    out
}

fn merge(out: &std::path::Path, partials: &[&std::path::PathBuf]) -> std::process::Output {
    let spec = fixture("clicks.toml");
    let mut args: Vec<&dyn AsRef<std::ffi::OsStr>> =
        vec![&"merge", &"-q", &"--spec", &spec, &"-o", &out];
    partials.iter().for_each(|p| args.push(p));
    oovocab(&args)
}

#[test]
fn count_then_merge_equals_build_in_any_grouping_and_order() {
    let dir = tempdir();
    let built = build_clicks(dir.path(), "built.oov", &[], &[fixture("clicks")]);
    let days: Vec<_> = clicks_files();
    let p: Vec<_> = days
        .iter()
        .enumerate()
        .map(|(i, d)| {
            count(
                dir.path(),
                &format!("day-{i}.oovc"),
                if i % 2 == 0 { "1" } else { "2" },
                std::slice::from_ref(d),
            )
        })
        .collect();
    let first_two = count(dir.path(), "first-two.oovc", "2", &days[..2]);
    for (name, partials) in [
        ("a.oov", vec![&p[0], &p[1], &p[2], &p[3]]),
        ("b.oov", vec![&p[3], &p[1], &p[0], &p[2]]),
        ("c.oov", vec![&p[2], &first_two, &p[3]]),
    ] {
        let out = dir.path().join(name);
        ok(merge(&out, &partials));
        assert_same_bytes(&out, &built);
    }
    // Counting the same rows twice gives the same partial file.
    let again = count(dir.path(), "first-two-again.oovc", "1", &days[..2]);
    assert_same_bytes(&again, &first_two);
}

#[test]
fn corrupt_foreign_and_mismatched_partials_are_errors_naming_the_file() {
    let dir = tempdir();
    let good = count(
        dir.path(),
        "good.oovc",
        "2",
        &[fixture("clicks/day-1.parquet")],
    );
    let bytes = std::fs::read(&good).unwrap();
    let flipped = dir.path().join("flipped.oovc");
    let mut b = bytes.clone();
    let at = b.len() / 2;
    b[at] ^= 1;
    std::fs::write(&flipped, b).unwrap();
    let truncated = dir.path().join("truncated.oovc");
    std::fs::write(&truncated, &bytes[..bytes.len() - 9]).unwrap();
    let vocab = build_clicks(dir.path(), "v.oov", &[], &[fixture("clicks/day-1.parquet")]);
    let other_spec = write_spec(dir.path(), "[[feature]]\nname = \"item_id\"\n");
    let other = dir.path().join("other.oovc");
    ok(oovocab(&[
        &"count",
        &"--spec",
        &other_spec,
        &"-o",
        &other,
        &fixture("clicks/day-1.parquet"),
    ]));
    for (partial, needle) in [
        (&flipped, "checksum mismatch"),
        (&truncated, "truncated"),
        (&vocab, "not an oovocab partial-counts file"),
        (&other, "count with the same spec"),
    ] {
        let out = dir.path().join("merged.oov");
        let o = merge(&out, &[&good, partial]);
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
        let e = stderr(&o);
        assert!(
            e.contains(&*partial.file_name().unwrap().to_string_lossy()) && e.contains(needle),
            "{e}"
        );
        assert!(!out.exists());
    }
}

fn partial_bytes() -> Vec<u8> {
    let spec =
        oovocab::Spec::from_toml_str("[[feature]]\nname = \"s\"\n[[feature]]\nname = \"n\"\n")
            .unwrap();
    let mut c = oovocab::Counts::new(&spec);
    let s: Vec<String> = (0..200).map(|i| format!("k{}", i % 37)).collect();
    let n: Vec<i64> = (0..200).map(|i| i % 23 - 5).collect();
    c.add_batch(
        &arrow_array::RecordBatch::try_from_iter([
            (
                "s",
                std::sync::Arc::new(arrow_array::StringArray::from(s)) as arrow_array::ArrayRef,
            ),
            (
                "n",
                std::sync::Arc::new(arrow_array::Int64Array::from(n)) as arrow_array::ArrayRef,
            ),
        ])
        .unwrap(),
    )
    .unwrap();
    c.to_bytes()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Bit flips, huge words and truncation, resealed so the checksum
    /// passes: reading gives an error or counts that build without a panic.
    #[test]
    fn hostile_partials_never_panic(edit in mutation()) {
        let mut bytes = partial_bytes();
        edit.apply(&mut bytes);
        if let Ok(counts) = oovocab::Counts::from_bytes(&bytes) {
            let spec = oovocab::Spec::from_toml_str("[[feature]]\nname = \"s\"\n[[feature]]\nname = \"n\"\n").unwrap();
            let mut b = oovocab::VocabularyBuilder::new(spec);
            if b.add_counts(counts).is_ok() {
                let _ = b.into_bytes();
            }
        }
    }
}
