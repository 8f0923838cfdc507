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

    // Golden values, computed independently with the Python `xxhash`
    // package (xxh3_64_intdigest). If one of these changes, every artifact
    // and every OOV id of every trained model changes with it.
    #[test]
    fn oov_hash_is_pinned() {
        assert_eq!(oov_hash(Key::Bytes(b""), 0), 0x2d06800538d394c2);
        assert_eq!(oov_hash(Key::Bytes(b"item_1"), 0), 0x99f43a158a4385c6);
        assert_eq!(oov_hash(Key::Bytes(b"abc"), 42), 0xd8438def21bbdcc3);
        assert_eq!(oov_hash(Key::Int(1), 7), 0xa6b5aa3eef10acc4);
        assert_eq!(oov_hash(Key::Int(-1), 0), 0x5111c7e47d784413);
        assert_eq!(oov_hash(Key::Uint(u64::MAX), 0), 0x5111c7e47d784413);
    }

    #[test]
    fn table_hash_is_pinned() {
        assert_eq!(table_hash(Key::Bytes(b"item_1")), 0x99f43a158a4385c6);
        assert_eq!(checksum(b""), 0x2d06800538d394c2);
    }

    #[test]
    fn int_and_uint_hash_alike_for_the_same_bits() {
        assert_eq!(table_hash(Key::Int(5)), table_hash(Key::Uint(5)));
    }
}
