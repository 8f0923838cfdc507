//! Keys: the values a vocabulary maps to ids, and their three types.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The type of a feature's keys, fixed when the feature is built.
///
/// String and binary columns give `Bytes` keys (UTF-8 for strings); signed
/// integers and unsigned ones up to 32 bits give `Int` keys (as `i64`);
/// `UInt64` columns give `Uint` keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyType {
    /// Byte strings.
    Bytes,
    /// Signed 64-bit integers.
    Int,
    /// Unsigned 64-bit integers.
    Uint,
}

impl KeyType {
    /// The name used in the spec, the artifact and `inspect`.
    ///
    /// ```
    /// assert_eq!(oovocab::KeyType::Uint.name(), "uint");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            KeyType::Bytes => "bytes",
            KeyType::Int => "int",
            KeyType::Uint => "uint",
        }
    }
}

impl fmt::Display for KeyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One value to look up: bytes or an integer.
///
/// `From` conversions exist for `&str`, `&[u8]`, `&String`, `i64`, `i32` and
/// `u64`, so [`Feature::id`](crate::Feature::id) takes any of those.
///
/// ```
/// use oovocab::Key;
/// assert_eq!(Key::from("a"), Key::Bytes(b"a"));
/// assert_eq!(Key::from(-3i64), Key::Int(-3));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Key<'a> {
    /// A string or binary value.
    Bytes(&'a [u8]),
    /// A signed integer.
    Int(i64),
    /// An unsigned 64-bit integer.
    Uint(u64),
}

impl Key<'_> {
    /// The bytes that are hashed for this key: the bytes themselves, or the
    /// integer's 8 little-endian bytes.
    pub(crate) fn with_hash_bytes<R>(self, f: impl FnOnce(&[u8]) -> R) -> R {
        match self {
            Key::Bytes(b) => f(b),
            Key::Int(v) => f(&v.to_le_bytes()),
            Key::Uint(v) => f(&v.to_le_bytes()),
        }
    }
}

impl<'a> From<&'a str> for Key<'a> {
    fn from(v: &'a str) -> Self {
        Key::Bytes(v.as_bytes())
    }
}
impl<'a> From<&'a String> for Key<'a> {
    fn from(v: &'a String) -> Self {
        Key::Bytes(v.as_bytes())
    }
}
impl<'a> From<&'a [u8]> for Key<'a> {
    fn from(v: &'a [u8]) -> Self {
        Key::Bytes(v)
    }
}
impl<'a, const N: usize> From<&'a [u8; N]> for Key<'a> {
    fn from(v: &'a [u8; N]) -> Self {
        Key::Bytes(v)
    }
}
impl From<i64> for Key<'_> {
    fn from(v: i64) -> Self {
        Key::Int(v)
    }
}
impl From<i32> for Key<'_> {
    fn from(v: i32) -> Self {
        Key::Int(i64::from(v))
    }
}
impl From<u64> for Key<'_> {
    fn from(v: u64) -> Self {
        Key::Uint(v)
    }
}

/// Writes bytes as text: valid UTF-8 as it is, every invalid byte as `\xNN`.
///
/// ```
/// assert_eq!(oovocab::escape_bytes(b"caf\xc3\xa9\xff"), "café\\xff");
/// ```
pub fn escape_bytes(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        out.push_str(chunk.valid());
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

/// The first 16 bytes of `bytes`, zero-padded when it is shorter: the
/// form in which count tables store short keys and selection sorts them.
///
/// Copied with a few fixed-size loads (two overlapping ones cover any
/// length from 4 to 16) rather than a copy of the key's length, which is a
/// call to `memmove`: this runs once per value counted.
#[inline]
pub(crate) fn padded_prefix(bytes: &[u8]) -> [u8; 16] {
    if let Some(head) = bytes.first_chunk::<16>() {
        return *head;
    }
    let n = bytes.len();
    let word: u128 = match (bytes.first_chunk::<8>(), bytes.last_chunk::<8>()) {
        (Some(&head), Some(&tail)) => {
            u128::from(u64::from_le_bytes(head))
                | u128::from(u64::from_le_bytes(tail)) << (8 * (n - 8))
        }
        _ => match (bytes.first_chunk::<4>(), bytes.last_chunk::<4>()) {
            (Some(&head), Some(&tail)) => {
                u128::from(u32::from_le_bytes(head))
                    | u128::from(u32::from_le_bytes(tail)) << (8 * (n - 4))
            }
            // 0 to 3 bytes: the first, the middle and the last.
            _ => bytes.first().map_or(0, |&first| {
                u128::from(first)
                    | u128::from(bytes[n / 2]) << (8 * (n / 2))
                    | u128::from(bytes[n - 1]) << (8 * (n - 1))
            }),
        },
    };
    word.to_le_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_padded_prefix_is_the_first_16_bytes_then_zeros() {
        let bytes: Vec<u8> = (1..=40).collect();
        for n in 0..=bytes.len() {
            let mut expected = [0u8; 16];
            let k = n.min(16);
            expected[..k].copy_from_slice(&bytes[..k]);
            assert_eq!(padded_prefix(&bytes[..n]), expected, "{n} bytes");
        }
    }
}
