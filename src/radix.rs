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

/// Entries per chunk of [`stable_counting_sort`]: each chunk is counted,
/// then moved, as one task.
const CHUNK: usize = 1 << 16;

/// Fills `to` with the entries `entry(0)`, ..., `entry(to.len() - 1)`
/// ordered by `digit`, keeping the order of entries with the same digit;
/// `ends` (one per digit value, past every digit) is left holding where
/// each digit's entries end.
///
/// In parallel, chunks of [`CHUNK`] entries at a time: each chunk counts
/// its digits, and then puts its entries in its own slice of each digit's
/// part of `to` (the slices in chunk order within a part), so the order is
/// the same as one pass's, whatever the thread count. Each entry is made
/// twice (counted, then put), not stored in between: the lookup table's
/// (hash, id) pairs cost less to hash again than to write and read back.
pub(crate) fn stable_counting_sort<T: Copy + Send + Sync>(
    entry: impl Fn(usize) -> T + Sync,
    to: &mut [T],
    ends: &mut [usize],
    digit: impl Fn(&T) -> usize + Sync,
) {
    use rayon::prelude::*;
    let n = to.len();
    let digits = ends.len();
    let chunk_of = |c: usize| c * CHUNK..((c + 1) * CHUNK).min(n);
    let chunks = n.div_ceil(CHUNK);
    let counted: Vec<Vec<usize>> = (0..chunks)
        .into_par_iter()
        .map(|c| {
            let mut counts = vec![0usize; digits];
            for i in chunk_of(c) {
                counts[digit(&entry(i))] += 1;
            }
            counts
        })
        .collect();
    // The sizes of the chunks' slices: by digit, then chunk.
    let mut sizes: Vec<usize> = (0..digits)
        .flat_map(|d| counted.iter().map(move |counts| counts[d]))
        .collect();
    crate::parts::sizes_to_ends(&mut sizes);
    for (d, end) in ends.iter_mut().enumerate() {
        *end = if chunks == 0 {
            0
        } else {
            sizes[(d + 1) * chunks - 1]
        };
    }
    let mut slices: Vec<Vec<&mut [T]>> = (0..chunks).map(|_| Vec::with_capacity(digits)).collect();
    for (i, slice) in crate::parts::split_parts(to, crate::parts::consecutive(&sizes))
        .into_iter()
        .enumerate()
    {
        slices[i % chunks].push(slice);
    }
    slices
        .into_par_iter()
        .enumerate()
        .for_each(|(c, mut slices)| {
            let mut next = vec![0usize; digits];
            for i in chunk_of(c) {
                let e = entry(i);
                let d = digit(&e);
                slices[d][next[d]] = e;
                next[d] += 1;
            }
        });
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

        /// Across several chunks, on any thread count: the order of a
        /// stable sort by digit, and each digit's end.
        #[test]
        fn a_counting_sort_in_chunks_is_a_stable_sort(
            digits in proptest::collection::vec(0usize..7, 0..3 * CHUNK),
            threads in 1usize..4,
        ) {
            let entries: Vec<(usize, usize)> = digits.iter().copied().zip(0..).collect();
            let mut expected = entries.clone();
            expected.sort_by_key(|e| e.0);
            let mut sorted = vec![(0, 0); entries.len()];
            let mut ends = vec![usize::MAX; 8];
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            pool.install(|| stable_counting_sort(|i| entries[i], &mut sorted, &mut ends, |e| e.0));
            prop_assert_eq!(sorted, expected);
            let expected_ends: Vec<usize> =
                (0..8).map(|d| digits.iter().filter(|&&x| x <= d).count()).collect();
            prop_assert_eq!(ends, expected_ends);
        }
    }
}
