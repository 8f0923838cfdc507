use crate::util::*;

fn built() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempdir();
    let out = build_clicks(dir.path(), "clicks.oov", &[], &[fixture("clicks")]);
    (dir, out)
}

fn inspect_fails_with(path: &std::path::Path, needle: &str) {
    let o = oovocab(&[&"inspect", &path]);
    assert_eq!(o.status.code(), Some(1), "stderr: {}", stderr(&o));
    let e = stderr(&o);
    assert!(
        e.contains(&path.display().to_string()) && e.contains(needle),
        "{e}"
    );
    assert!(!e.contains("panicked"), "{e}");
}

#[test]
fn truncated_flipped_empty_and_foreign_files_are_clean_errors() {
    let (dir, good) = built();
    let bytes = std::fs::read(&good).unwrap();
    let p = dir.path().join("bad.oov");
    std::fs::write(&p, &bytes[..bytes.len() / 2]).unwrap();
    inspect_fails_with(&p, "truncated");
    let mut flipped = bytes.clone();
    let at = flipped.len() - 100;
    flipped[at] ^= 0x10;
    std::fs::write(&p, &flipped).unwrap();
    inspect_fails_with(&p, "checksum mismatch");
    std::fs::write(&p, b"").unwrap();
    inspect_fails_with(&p, "0 bytes");
    std::fs::write(&p, b"PAR1 this is not a vocabulary at all, just bytes").unwrap();
    inspect_fails_with(&p, "not an oovocab artifact");
    let mut future = bytes.clone();
    future[8] = 9;
    std::fs::write(&p, &future).unwrap();
    inspect_fails_with(&p, "format version 9");
    let o = oovocab(&[&"inspect", &dir.path().join("missing.oov")]);
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn every_truncation_and_single_byte_change_is_an_error_not_a_panic() {
    let (_dir, good) = built();
    let bytes = std::fs::read(&good).unwrap();
    for len in (0..bytes.len()).step_by(97).chain([bytes.len() - 1]) {
        assert!(
            oovocab::Vocabulary::from_bytes(bytes[..len].to_vec()).is_err(),
            "prefix of {len} bytes"
        );
    }
    for at in (0..bytes.len()).step_by(61) {
        let mut b = bytes.clone();
        b[at] = b[at].wrapping_add(1);
        assert!(
            oovocab::Vocabulary::from_bytes(b).is_err(),
            "byte {at} changed"
        );
    }
    let v = oovocab::Vocabulary::from_bytes(bytes).unwrap();
    v.verify().unwrap();
}

mod hostile {
    use crate::util::mutation;
    use proptest::prelude::*;

    fn artifact() -> Vec<u8> {
        let spec = oovocab::Spec::from_toml_str(
            "[[feature]]\nname = \"s\"\noov_buckets = 3\n\n[[feature]]\nname = \"n\"\n",
        )
        .unwrap();
        let mut b = oovocab::VocabularyBuilder::new(spec);
        let s: Vec<String> = (0..300).map(|i| format!("key-{}", i % 97)).collect();
        let n: Vec<i64> = (0..300).map(|i| (i % 41) - 20).collect();
        let batch = arrow_array::RecordBatch::try_from_iter([
            (
                "s",
                std::sync::Arc::new(arrow_array::StringArray::from(s)) as arrow_array::ArrayRef,
            ),
            (
                "n",
                std::sync::Arc::new(arrow_array::Int64Array::from(n)) as arrow_array::ArrayRef,
            ),
        ])
        .unwrap();
        b.add_batch(&batch).unwrap();
        b.into_bytes().unwrap()
    }

    /// Everything a service might do with an opened vocabulary.
    fn exercise(v: oovocab::Vocabulary) {
        for f in v.features() {
            let _ = (f.size(), f.len(), f.stats(), f.null_id());
            for k in ["key-1", "key-50", "nope", ""] {
                // Even a hostile file that opens gives ids inside its layout.
                assert!(f.id(k) < f.size());
            }
            for k in [-20i64, 0, 7, 1 << 40] {
                assert!(f.id(k) < f.size());
            }
            let _ = f.iter().take(1000).count();
            let _ = f.ids(&arrow_array::StringArray::from(vec!["key-2", "x"]));
            let _ = f.ids(&arrow_array::Int64Array::from(vec![1, 2]));
        }
        let _ = v.verify();
        let _ = v.spec();
        // Training mode hides every known value: reads every key it meets.
        let batch = arrow_array::RecordBatch::try_from_iter([
            (
                "s",
                std::sync::Arc::new(arrow_array::StringArray::from(vec!["key-1", "key-2", "zz"]))
                    as arrow_array::ArrayRef,
            ),
            (
                "n",
                std::sync::Arc::new(arrow_array::Int64Array::from(vec![1, 2, 99]))
                    as arrow_array::ArrayRef,
            ),
        ])
        .unwrap();
        let vocab = std::sync::Arc::new(v);
        let t = oovocab::Transformer::new(vocab)
            .with_mode(oovocab::Mode::Train { seed: 1, epoch: 2 })
            .with_oov_rate(1.0)
            .unwrap();
        let _ = t.transform(&batch);
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        /// Bit flips, overwritten words (huge lengths and offsets among
        /// them) and truncation anywhere in the body, with the length and
        /// checksum recomputed: opening gives an error or a vocabulary whose
        /// every use is safe (about a quarter of the cases open). Never a
        /// panic, a hang or an out-of-bounds read.
        #[test]
        fn resealed_mutations_never_panic(edit in mutation()) {
            let mut bytes = artifact();
            edit.apply(&mut bytes);
            if let Ok(v) = oovocab::Vocabulary::from_bytes(bytes) {
                exercise(v);
            }
        }
    }
}
