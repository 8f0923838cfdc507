//! One module per verb.

pub mod build;
pub mod inspect;
pub mod lookup;

use oovocab::{Key, escape_bytes};

/// A key as text: bytes with invalid UTF-8 as `\xNN`, integers in decimal.
pub fn key_text(key: Key<'_>) -> String {
    match key {
        Key::Bytes(b) => escape_bytes(b),
        Key::Int(v) => v.to_string(),
        Key::Uint(v) => v.to_string(),
    }
}

/// A key as JSON: a string for bytes, a number for integers.
pub fn key_json(key: Key<'_>) -> serde_json::Value {
    match key {
        Key::Bytes(b) => escape_bytes(b).into(),
        Key::Int(v) => v.into(),
        Key::Uint(v) => v.into(),
    }
}

/// `part / whole` as a percentage with one decimal.
pub fn percent(share: f64) -> String {
    format!("{:.1}%", share * 100.0)
}
