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

/// [`checksum`] of a body handed over piece by piece, in order.
pub(crate) struct ChecksumStream(xxhash_rust::xxh3::Xxh3);

impl ChecksumStream {
    /// A stream of no bytes yet.
    pub(crate) fn new() -> ChecksumStream {
        ChecksumStream(xxhash_rust::xxh3::Xxh3::new())
    }

    /// Adds the next bytes of the body.
    pub(crate) fn update(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    /// The checksum of all the bytes added.
    pub(crate) fn finish(&self) -> u64 {
        self.0.digest()
    }
}

/// Whether training-mode injection hides an occurrence (DESIGN.md §5).
///
/// The hashed message is `seed ‖ epoch ‖ feature ‖ 0xFF ‖ unit`, u64s
/// little-endian, the feature name as UTF-8; `unit` is the global row (then,
/// for a list element, its index in the list) for `train_oov_unit = "row"`,
/// or the key's bytes for `"value"`. The occurrence is hidden when
/// `xxh3_64(message) < rate · 2^64` (computed in f64, cast to u64); a rate of
/// 1 hides everything, 0 nothing.
#[derive(Debug, Clone)]
pub(crate) struct Injection {
    prefix: Vec<u8>,
    threshold: Threshold,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Threshold {
    Never,
    Always,
    Below(u64),
}

impl Injection {
    pub(crate) fn new(seed: u64, epoch: u64, feature: &str, rate: f64) -> Injection {
        let mut prefix = Vec::with_capacity(17 + feature.len());
        prefix.extend_from_slice(&seed.to_le_bytes());
        prefix.extend_from_slice(&epoch.to_le_bytes());
        prefix.extend_from_slice(feature.as_bytes());
        prefix.push(0xFF);
        let threshold = if rate <= 0.0 || rate.is_nan() {
            Threshold::Never
        } else if rate >= 1.0 {
            Threshold::Always
        } else {
            // 2^64 as f64 is exact; the cast saturates.
            Threshold::Below((rate * 18_446_744_073_709_551_616.0) as u64)
        };
        Injection { prefix, threshold }
    }

    /// Whether nothing is ever hidden.
    pub(crate) fn is_never(&self) -> bool {
        self.threshold == Threshold::Never
    }

    fn test(&self, message: &[u8]) -> bool {
        match self.threshold {
            Threshold::Never => false,
            Threshold::Always => true,
            Threshold::Below(t) => xxh3_64(message) < t,
        }
    }

    /// The row-unit test for global row `row` (and `element` of a list).
    pub(crate) fn hides_row(&self, buf: &mut Vec<u8>, row: u64, element: Option<u64>) -> bool {
        buf.clear();
        buf.extend_from_slice(&self.prefix);
        buf.extend_from_slice(&row.to_le_bytes());
        if let Some(e) = element {
            buf.extend_from_slice(&e.to_le_bytes());
        }
        self.test(buf)
    }

    /// The value-unit test for a key.
    pub(crate) fn hides_value(&self, buf: &mut Vec<u8>, key: Key<'_>) -> bool {
        buf.clear();
        buf.extend_from_slice(&self.prefix);
        key.with_hash_bytes(|b| buf.extend_from_slice(b));
        self.test(buf)
    }
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
    fn injection_hash_is_pinned() {
        // Message bytes: seed 1, epoch 2, "item_id", 0xFF, row 3 (then element 4).
        let mut buf = Vec::new();
        let inj = Injection::new(1, 2, "item_id", 0.5);
        inj.hides_row(&mut buf, 3, None);
        let mut expected = Vec::new();
        expected.extend_from_slice(&1u64.to_le_bytes());
        expected.extend_from_slice(&2u64.to_le_bytes());
        expected.extend_from_slice(b"item_id\xff");
        expected.extend_from_slice(&3u64.to_le_bytes());
        assert_eq!(buf, expected);
        // Golden value from the Python `xxhash` package.
        assert_eq!(xxh3_64(&buf), 0x5b629ebd022243eb);
        inj.hides_row(&mut buf, 3, Some(4));
        assert_eq!(buf.len(), expected.len() + 8);
        inj.hides_value(&mut buf, Key::Bytes(b"abc"));
        assert_eq!(&buf[buf.len() - 4..], b"\xffabc");
    }

    #[test]
    fn injection_rates_zero_and_one_are_exact() {
        let mut buf = Vec::new();
        let never = Injection::new(0, 0, "f", 0.0);
        let always = Injection::new(0, 0, "f", 1.0);
        assert!(never.is_never());
        for r in 0..1000 {
            assert!(!never.hides_row(&mut buf, r, None));
            assert!(always.hides_row(&mut buf, r, None));
        }
        let half = Injection::new(0, 0, "f", 0.5);
        assert_eq!(half.threshold, Threshold::Below(1 << 63));
    }

    #[test]
    fn int_and_uint_hash_alike_for_the_same_bits() {
        assert_eq!(table_hash(Key::Int(5)), table_hash(Key::Uint(5)));
    }
}
