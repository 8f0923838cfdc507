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
