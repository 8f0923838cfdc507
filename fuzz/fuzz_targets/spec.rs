//! `Spec::from_toml_str` on arbitrary text: a spec or an error naming a
//! line, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(spec) = oovocab::Spec::from_toml_str(text) {
        // A valid spec has named features.
        assert!(spec.features().iter().all(|f| !f.name.is_empty()));
    }
});
