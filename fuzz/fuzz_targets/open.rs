//! `Vocabulary::from_bytes` on arbitrary bytes: an error or a vocabulary,
//! never a panic, never an out-of-bounds read; whatever opens answers
//! lookups and verifies.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Half of the inputs get a valid-looking header, so the fuzzer reaches
    // the manifest and sections past the magic check.
    let mut bytes = data.to_vec();
    if data.first().is_some_and(|b| b & 1 == 1) && bytes.len() >= 8 {
        bytes[..8].copy_from_slice(&oovocab::MAGIC);
    }
    if let Ok(vocab) = oovocab::Vocabulary::from_bytes(bytes) {
        let _ = vocab.verify();
        for f in vocab.features() {
            let _ = f.id("fuzz");
            let _ = f.id(7i64);
            for i in 0..f.len().min(64) as u32 {
                let _ = f.key(i);
                let _ = f.count(i);
            }
        }
    }
});
