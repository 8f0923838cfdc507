//! Sorting by integer keys with a least-significant-digit radix sort.
//!
//! Selection sorts the keys of each count class (millions of keys share a
//! small count) by key. For integer keys, a radix sort does it in a few
//! linear passes where a comparison sort makes ~log2(n) passes of
//! unpredictable branches: on the benchmark's `user_id` (1.9M keys with
//! 48-bit values, in classes of 100-250k), see `docs/BENCHMARKS.md`.

/// Bits of the key sorted per pass.
const DIGIT_BITS: u32 = 11;

/// Buckets per pass.
const BUCKETS: usize = 1 << DIGIT_BITS;

/// Passes that cover a 64-bit key.
const PASSES: usize = 64usize.div_ceil(DIGIT_BITS as usize);

/// Below this many entries a comparison sort is used: the passes' counters
/// (2048 per digit, six digits) would outweigh the entries.
const SMALL: usize = 256;

/// Sorts `entries` by `key` ascending (unstable: entries with equal keys
/// end in any order, which does not matter for distinct keys).
///
/// One pass counts every digit of every key; then each digit that is not
/// the same in all keys (the high bits of small numbers, say) costs one
/// pass that moves every entry to a scratch buffer of `entries`' length.
pub(crate) fn sort_by_key<T: Copy + Default>(entries: &mut [T], key: impl Fn(&T) -> u64) {
    if entries.len() < SMALL {
        entries.sort_unstable_by_key(key);
        return;
    }
    let mut counts = vec![[0usize; BUCKETS]; PASSES];
    for e in entries.iter() {
        let k = key(e);
        for (pass, counts) in counts.iter_mut().enumerate() {
            counts[digit(k, pass)] += 1;
        }
    }
    let mut scratch = vec![T::default(); entries.len()];
    let mut in_scratch = false;
    for (pass, counts) in counts.iter_mut().enumerate() {
        if counts.contains(&entries.len()) {
            continue; // every key has this digit: the order stays
        }
        let (from, to) = if in_scratch {
            (&*scratch, &mut *entries)
        } else {
            (&*entries, &mut scratch[..])
        };
        scatter(from, to, counts, |e| digit(key(e), pass));
        in_scratch = !in_scratch;
    }
    if in_scratch {
        entries.copy_from_slice(&scratch);
    }
}

/// Moves `from` into `to` ordered by `digit`, stably, given `counts`, how
/// many entries have each digit value; leaves `counts` holding where each
/// digit's entries end.
fn scatter<T: Copy>(from: &[T], to: &mut [T], counts: &mut [usize], digit: impl Fn(&T) -> usize) {
    // Each digit's start; moving an entry there moves it on, to the
    // digit's end once all its entries are moved.
    let mut start = 0;
    for n in counts.iter_mut() {
        (*n, start) = (start, start + *n);
    }
    for &entry in from {
        let next = &mut counts[digit(&entry)];
        to[*next] = entry;
        *next += 1;
    }
}

/// The `pass`th digit of `key`, from the least significant.
#[inline]
fn digit(key: u64, pass: usize) -> usize {
    ((key >> (pass as u32 * DIGIT_BITS)) as usize) & (BUCKETS - 1)
}

/// An integer key as a `u64` that orders as the key does.
pub(crate) trait RadixKey: Copy {
    /// The key as a `u64` of the same order.
    fn radix_key(self) -> u64;
    /// The key whose [`radix_key`](Self::radix_key) is `bits`.
    fn from_radix_key(bits: u64) -> Self;
}

impl RadixKey for u64 {
    #[inline]
    fn radix_key(self) -> u64 {
        self
    }
    #[inline]
    fn from_radix_key(bits: u64) -> u64 {
        bits
    }
}

impl RadixKey for i64 {
    /// The sign bit flipped: negative keys first.
    #[inline]
    fn radix_key(self) -> u64 {
        (self as u64) ^ (1 << 63)
    }
    #[inline]
    fn from_radix_key(bits: u64) -> i64 {
        (bits ^ (1 << 63)) as i64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn sorts_negative_and_positive_keys_past_the_small_cutoff() {
        let mut keys: Vec<i64> = (0..5000i64)
            .map(|i| i.wrapping_mul(0x5851_f42d_4c95_7f2d) >> 3)
            .collect();
        let mut expected = keys.clone();
        expected.sort_unstable();
        sort_by_key(&mut keys, |k| k.radix_key());
        assert_eq!(keys, expected);
    }

    #[test]
    fn radix_keys_turn_back_into_their_keys() {
        for k in [i64::MIN, -1, 0, 1, i64::MAX] {
            assert_eq!(i64::from_radix_key(k.radix_key()), k);
        }
        for k in [0, 1, u64::MAX] {
            assert_eq!(u64::from_radix_key(k.radix_key()), k);
        }
    }

    #[test]
    fn keeps_each_entry_with_its_payload() {
        let mut entries: Vec<(u64, u64)> = (0..1000u64).map(|i| ((i * 7919) % 1000, i)).collect();
        sort_by_key(&mut entries, |e| e.0);
        for (at, e) in entries.iter().enumerate() {
            assert_eq!(e.0, at as u64);
            assert_eq!((e.1 * 7919) % 1000, e.0);
        }
    }

    proptest! {
        #[test]
        fn sorts_as_a_comparison_sort_does(
            keys in proptest::collection::vec(
                // Small keys leave most digits equal in every key: the
                // passes skipped must not change the order; mixed with a
                // few wide ones, most keys share a digit that some do not.
                prop_oneof![4 => 0i64..2048, 1 => any::<i64>()],
                0..3000,
            ),
            narrow in any::<bool>(),
        ) {
            let mut keys: Vec<i64> = if narrow { keys.iter().map(|k| k % 5000).collect() } else { keys };
            let mut expected = keys.clone();
            expected.sort_unstable();
            sort_by_key(&mut keys, |k| k.radix_key());
            prop_assert_eq!(keys, expected);
        }
    }
}
