//! Selection: which counted keys become the vocabulary, and in which order.
//!
//! Drop keys with `count < min_count`, order by count descending then key
//! ascending (bytewise, or numerically in the key's own type), keep the first
//! `max_size`. The result is fully determined by the counts.

use std::cmp::Ordering;
use std::ops::Range;

use rayon::prelude::*;

use serde::{Deserialize, Serialize};

use crate::count::{Counts, FeatureCounts, InputFile, KeyCounts};
use crate::error::{Error, Result};
use crate::id::Layout;
use crate::keys::KeyType;
use crate::radix::{self, RadixKey};
use crate::spec::{FeatureSpec, NullPolicy, Spec};
use crate::zeroed::SparePages;

/// Summary statistics of one feature, recorded in the artifact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeatureStats {
    /// Non-null occurrences counted.
    pub total_count: u64,
    /// Distinct non-null keys counted.
    pub distinct_count: u64,
    /// Null occurrences counted.
    pub null_count: u64,
    /// Occurrences of the keys kept in the vocabulary.
    pub kept_count: u64,
}

impl FeatureStats {
    /// The share of non-null occurrences whose key is in the vocabulary
    /// (1 when nothing was counted).
    ///
    /// ```
    /// let s = oovocab::FeatureStats { total_count: 4, distinct_count: 3, null_count: 0, kept_count: 3 };
    /// assert_eq!(s.coverage(), 0.75);
    /// ```
    pub fn coverage(&self) -> f64 {
        if self.total_count == 0 {
            1.0
        } else {
            self.kept_count as f64 / self.total_count as f64
        }
    }
}

/// The selected keys of one feature, in id order, with their counts.
///
/// Integer keys stay in the (key, count) pairs selection sorted: splitting
/// them into two arrays would take fresh memory for both, and the writer
/// reads the pairs as easily.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SelectedKeys {
    /// The keys, and each key's count.
    Bytes(ByteKeys, Vec<u64>),
    Int(Vec<(i64, u64)>),
    Uint(Vec<(u64, u64)>),
}

impl SelectedKeys {
    pub(crate) fn len(&self) -> usize {
        match self {
            SelectedKeys::Bytes(k, _) => k.len(),
            SelectedKeys::Int(k) => k.len(),
            SelectedKeys::Uint(k) => k.len(),
        }
    }

    pub(crate) fn key_type(&self) -> KeyType {
        match self {
            SelectedKeys::Bytes(..) => KeyType::Bytes,
            SelectedKeys::Int(_) => KeyType::Int,
            SelectedKeys::Uint(_) => KeyType::Uint,
        }
    }

    /// The count of key `i` (in id order).
    pub(crate) fn count(&self, i: usize) -> u64 {
        match self {
            SelectedKeys::Bytes(_, counts) => counts[i],
            SelectedKeys::Int(pairs) => pairs[i].1,
            SelectedKeys::Uint(pairs) => pairs[i].1,
        }
    }

    /// The keys' counts, in id order.
    pub(crate) fn counts(&self) -> impl Iterator<Item = u64> + '_ {
        (0..self.len()).map(|i| self.count(i))
    }
}

/// Byte-string keys in one buffer, as the artifact stores them: key `i` is
/// `data[offsets[i]..offsets[i + 1]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ByteKeys {
    pub data: Vec<u8>,
    /// One more than there are keys, starting at 0.
    pub offsets: Vec<u64>,
}

impl ByteKeys {
    /// The keys, copied in order.
    pub(crate) fn from_keys(keys: &[&[u8]]) -> ByteKeys {
        ByteKeys::gather(keys.len(), |i| keys[i])
    }

    /// The keys `key(0)`, ..., `key(n - 1)`, copied in order: their
    /// offsets first, then the bytes, a run of keys per task in parallel.
    pub(crate) fn gather<'k>(n: usize, key: impl Fn(usize) -> &'k [u8] + Sync) -> ByteKeys {
        /// Keys copied per task.
        const RUN: usize = 1 << 14;
        let mut offsets = Vec::with_capacity(n + 1);
        let mut end = 0u64;
        offsets.push(end);
        for i in 0..n {
            end += key(i).len() as u64;
            offsets.push(end);
        }
        let mut data = vec![0u8; end as usize];
        let runs: Vec<Range<usize>> = (0..n).step_by(RUN).map(|i| i..(i + RUN).min(n)).collect();
        let bytes = runs
            .iter()
            .map(|r| offsets[r.start] as usize..offsets[r.end] as usize);
        crate::parts::split_parts(&mut data, bytes)
            .into_par_iter()
            .zip(runs)
            .for_each(|(out, run)| {
                let mut at = 0;
                for i in run {
                    let k = key(i);
                    out[at..at + k.len()].copy_from_slice(k);
                    at += k.len();
                }
            });
        ByteKeys { data, offsets }
    }

    pub(crate) fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    /// Key `i`.
    pub(crate) fn get(&self, i: usize) -> &[u8] {
        &self.data[self.offsets[i] as usize..self.offsets[i + 1] as usize]
    }
}

/// One feature's vocabulary before it is written.
#[derive(Debug, Clone)]
pub(crate) struct SelectedFeature {
    pub spec: FeatureSpec,
    pub layout: Layout,
    pub keys: SelectedKeys,
    pub stats: FeatureStats,
}

/// Everything an artifact holds, before it is written.
#[derive(Debug, Clone)]
pub(crate) struct Selection {
    pub features: Vec<SelectedFeature>,
    pub rows: u64,
    pub inputs: Vec<InputFile>,
}

/// Selects every feature's vocabulary from its counts; returns it with
/// the pages of the count tables, for the artifact's arrays to take over
/// ([`Zeroed::to_overwrite_from`](crate::zeroed::Zeroed::to_overwrite_from)).
pub(crate) fn select(spec: &Spec, counts: Counts) -> Result<(Selection, SparePages)> {
    let (counted, rows, inputs) = counts.into_features();
    let spare = SparePages::default();
    // Features are selected independently: one task each.
    let features = spec
        .features()
        .par_iter()
        .zip(counted)
        .map(|(fs, fc)| select_feature(fs, fc, &spare))
        .collect::<Result<Vec<_>>>()?;
    let selection = Selection {
        features,
        rows,
        inputs,
    };
    Ok((selection, spare))
}

/// One feature's vocabulary; the pages of its count table go to `spare`
/// once its keys are selected.
fn select_feature(
    fs: &FeatureSpec,
    fc: FeatureCounts,
    spare: &SparePages,
) -> Result<SelectedFeature> {
    let (total, distinct, nulls) = (fc.total_count(), fc.distinct_count(), fc.null_count());
    let keys = match fc.table() {
        // Nothing was ever counted: a bytes feature with no keys.
        KeyCounts::Empty => SelectedKeys::Bytes(ByteKeys::from_keys(&[]), Vec::new()),
        KeyCounts::Bytes(m) => {
            let parts: Vec<_> = m.parts_at_least(fs.min_count).collect();
            let kept = m.kept_per_part(fs.min_count);
            let (k, c) = select_byte_entries(&parts, kept, fs);
            SelectedKeys::Bytes(k, c)
        }
        KeyCounts::Int(m) => {
            let parts: Vec<_> = m.parts().map(|p| p.map(|(k, n)| (k as i64, n))).collect();
            SelectedKeys::Int(select_int_entries(
                &parts,
                m.kept_per_part(fs.min_count),
                fs,
            ))
        }
        KeyCounts::Uint(m) => {
            let parts: Vec<_> = m.parts().collect();
            SelectedKeys::Uint(select_int_entries(
                &parts,
                m.kept_per_part(fs.min_count),
                fs,
            ))
        }
    };
    fc.give_pages(spare);
    let layout = Layout::new(
        fs.padding,
        fs.nulls == NullPolicy::Slot,
        fs.oov_buckets,
        keys.len() as u64,
    )
    .map_err(|e| match e {
        Error::Limit { message, .. } => Error::Limit {
            feature: fs.name.clone(),
            message,
        },
        other => other,
    })?;
    let stats = FeatureStats {
        total_count: total,
        distinct_count: distinct,
        null_count: nulls,
        kept_count: keys.counts().sum(),
    };
    Ok(SelectedFeature {
        spec: fs.clone(),
        layout,
        keys,
        stats,
    })
}

/// `entries` sorted by count descending (`count` giving an entry's count),
/// then by `ties` (the key order), cut to `max_size` when it is set.
/// `sort_equal` sorts entries of one count by `ties`.
fn keep_sorted<T: Copy + Send>(
    mut entries: Vec<T>,
    spec: &FeatureSpec,
    count: impl Fn(&T) -> u64 + Sync,
    ties: impl Fn(&T, &T) -> Ordering + Sync,
    sort_equal: impl Fn(&mut [T]) + Sync,
) -> Vec<T> {
    let max = usize::try_from(spec.max_size).unwrap_or(usize::MAX);
    if spec.max_size > 0 && entries.len() > max {
        // Keys are distinct, so the order is total and an unstable
        // partition gives the same first `max` as a full sort.
        entries.select_nth_unstable_by(max - 1, by_count_then(&count, &ties));
        entries.truncate(max);
    }
    sort_by_count_first(&mut entries, count, ties, sort_equal);
    entries
}

/// The vocabulary order: `count` descending, then `ties`.
fn by_count_then<T>(
    count: impl Fn(&T) -> u64,
    ties: impl Fn(&T, &T) -> Ordering,
) -> impl Fn(&T, &T) -> Ordering {
    move |a, b| count(b).cmp(&count(a)).then_with(|| ties(a, b))
}

/// Counts below this each have a class of their own in
/// [`sort_by_count_first`]; larger ones share one.
const COUNT_CLASSES: usize = 1024;

/// Sorts `entries` by `count` descending, then by `ties`.
///
/// Most keys of a vocabulary have small counts, and millions share each of
/// them. So the entries are first moved to their count's class in place
/// (one pass of swaps, an American flag sort; counts from
/// [`COUNT_CLASSES`] up share the first class), and then each class is
/// sorted on its own, in parallel: by `sort_equal` (which sorts by `ties`)
/// where all counts are equal.
fn sort_by_count_first<T: Copy + Send>(
    entries: &mut [T],
    count: impl Fn(&T) -> u64 + Sync,
    ties: impl Fn(&T, &T) -> Ordering + Sync,
    sort_equal: impl Fn(&mut [T]) + Sync,
) {
    // Class 0 holds the counts from COUNT_CLASSES up, class c the count
    // COUNT_CLASSES - c: classes ascend as counts descend.
    let class = |e: &T| {
        COUNT_CLASSES - usize::try_from(count(e)).map_or(COUNT_CLASSES, |n| n.min(COUNT_CLASSES))
    };
    let mut ends = vec![0usize; COUNT_CLASSES + 1];
    for e in entries.iter() {
        ends[class(e)] += 1;
    }
    crate::parts::sizes_to_ends(&mut ends);
    let mut next: Vec<usize> = crate::parts::consecutive(&ends).map(|r| r.start).collect();
    for c in 0..ends.len() {
        while next[c] < ends[c] {
            // Carry the entry found here to its class's next free place,
            // and the one found there on, until one belongs here.
            let mut carried = entries[next[c]];
            let mut k = class(&carried);
            while k != c {
                std::mem::swap(&mut carried, &mut entries[next[k]]);
                next[k] += 1;
                k = class(&carried);
            }
            entries[next[c]] = carried;
            next[c] += 1;
        }
    }
    let mut classes = crate::parts::split_parts(entries, crate::parts::consecutive(&ends));
    // A class can hold most entries (a large domain of huge counts all in
    // the first): each is sorted in parallel too. Only the first holds
    // different counts.
    let order = by_count_then(&count, &ties);
    let (first, equal_counts) = classes.split_at_mut(1);
    rayon::join(
        || {
            first
                .iter_mut()
                .for_each(|class| class.par_sort_unstable_by(&order))
        },
        || {
            equal_counts
                .par_iter_mut()
                .for_each(|class| sort_equal(class))
        },
    );
}

/// The entries of every part that `keep` keeps, `map`ped, in part order.
/// `kept` is how many each part keeps, when the table knows
/// ([`kept_per_part`](crate::count::BytesCounts::kept_per_part)).
///
/// Collected into one vector of the exact size, in two passes when `kept`
/// is not given (count, then fill): rayon's `filter` + `collect` would grow
/// a vector per split, then copy them all into one more, and each fresh
/// page costs a fault.
///
/// # Panics
/// When a part keeps another number of entries than `kept` says.
fn collect_kept<I, E, T>(
    parts: &[I],
    kept: Option<Vec<usize>>,
    keep: impl Fn(&E) -> bool + Sync,
    map: impl Fn(E) -> T + Sync,
) -> Vec<T>
where
    I: Iterator<Item = E> + Clone + Sync,
    T: Send,
{
    let mut ends: Vec<usize> = kept.unwrap_or_else(|| {
        parts
            .par_iter()
            .map(|p| p.clone().filter(&keep).count())
            .collect()
    });
    let total = crate::parts::sizes_to_ends(&mut ends);
    // Written once each, in place: no default values written first (for
    // `user_id` and `item_id`, 60 MB more to write).
    let mut kept: Vec<T> = Vec::with_capacity(total);
    crate::parts::split_parts(
        &mut kept.spare_capacity_mut()[..total],
        crate::parts::consecutive(&ends),
    )
    .into_par_iter()
    .zip(parts)
    .for_each(|(out, part)| {
        let mut filled = 0;
        for (slot, e) in out.iter_mut().zip(part.clone().filter(&keep)) {
            slot.write(map(e));
            filled += 1;
        }
        assert_eq!(filled, out.len(), "a part kept other entries than counted");
    });
    // SAFETY: the parts cover the first `total` elements once each, and
    // each part wrote every one of its elements (the assertion above, whose
    // panic leaves the vector empty).
    #[allow(unsafe_code)]
    unsafe {
        kept.set_len(total)
    };
    kept
}

/// The integer keys of the `parts` that `spec` keeps, in vocabulary
/// order, each with its count; filtered and sorted in parallel (keys of
/// one count by a [radix sort](crate::radix)). `kept` is how many keys
/// each part keeps, when known ([`collect_kept`]).
fn select_int_entries<I, K>(
    parts: &[I],
    kept: Option<Vec<usize>>,
    spec: &FeatureSpec,
) -> Vec<(K, u64)>
where
    I: Iterator<Item = (K, u64)> + Clone + Sync,
    K: RadixKey + Ord + Send + Sync + Default,
{
    let entries = collect_kept(parts, kept, |(_, n)| *n >= spec.min_count, |e| e);
    // A class's entries share their count: only the keys are sorted, half
    // the bytes of the pairs to move on each pass.
    let sort_equal = |class: &mut [(K, u64)]| {
        let Some(&(_, count)) = class.first() else {
            return;
        };
        let mut keys: Vec<u64> = class.iter().map(|e| e.0.radix_key()).collect();
        radix::sort_by_key(&mut keys, |&k| k);
        for (e, k) in class.iter_mut().zip(keys) {
            *e = (K::from_radix_key(k), count);
        }
    };
    keep_sorted(entries, spec, |e| e.1, |a, b| a.0.cmp(&b.0), sort_equal)
}

/// [`select_int_entries`] for byte keys, which sorts on each key's first
/// 16 bytes, zero-padded ([`padded_prefix`](crate::keys::padded_prefix)),
/// and reads a key only on a tie: millions of keys share small counts, and
/// comparing them would chase a pointer each time. Keys with different
/// prefixes order as their prefixes do (compared as big-endian integers);
/// equal prefixes need the keys. A key of at most 16 bytes is its prefix
/// cut to its length, so copying it needs no read of the count table.
fn select_byte_entries<'a, I>(
    parts: &[I],
    kept: Option<Vec<usize>>,
    spec: &FeatureSpec,
) -> (ByteKeys, Vec<u64>)
where
    I: Iterator<Item = (&'a [u8], u64)> + Clone + Sync,
{
    let entries = collect_kept(
        parts,
        kept,
        |(_, n)| *n >= spec.min_count,
        |(k, n)| (k, n, crate::keys::padded_prefix(k)),
    );
    let prefix = |e: &(&[u8], u64, [u8; 16])| u128::from_be_bytes(e.2);
    let ties = |a: &(&[u8], u64, [u8; 16]), b: &(&[u8], u64, [u8; 16])| {
        prefix(a).cmp(&prefix(b)).then_with(|| a.0.cmp(b.0))
    };
    let sort_equal = |class: &mut [_]| class.par_sort_unstable_by(ties);
    let entries = keep_sorted(entries, spec, |e| e.1, ties, sort_equal);
    (
        ByteKeys::gather(entries.len(), |i| {
            // A short key from its prefix, in the sorted entries, rather
            // than from the table: sequential reads, not random ones.
            let (key, _, head) = &entries[i];
            head.get(..key.len()).unwrap_or(key)
        }),
        entries.par_iter().map(|e| e.1).collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// The vocabulary order: count descending, then key ascending.
    fn vocab_order<K: Ord>(a: &(K, u64), b: &(K, u64)) -> Ordering {
        b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0))
    }

    /// `pairs` as the parts of a table: the first two entries, then the rest.
    fn counts_of<'a>(pairs: &[(&'a str, u64)]) -> Vec<std::vec::IntoIter<(&'a [u8], u64)>> {
        let mut rest: Vec<(&[u8], u64)> = pairs.iter().map(|(k, n)| (k.as_bytes(), *n)).collect();
        let first: Vec<_> = rest.drain(..rest.len().min(2)).collect();
        vec![first.into_iter(), rest.into_iter()]
    }

    /// What `spec` selects from `entries`, by one plain sort.
    fn plain_selection<K: Ord + Copy>(entries: &[(K, u64)], spec: &FeatureSpec) -> Vec<(K, u64)> {
        let mut kept: Vec<(K, u64)> = entries
            .iter()
            .copied()
            .filter(|e| e.1 >= spec.min_count)
            .collect();
        kept.sort_by(vocab_order);
        if spec.max_size > 0 {
            kept.truncate(spec.max_size as usize);
        }
        kept
    }

    /// `entries` cut into parts of every size from 0 up, as a table's
    /// partitions are.
    fn parts_of<T: Copy>(entries: &[T]) -> Vec<std::iter::Copied<std::slice::Iter<'_, T>>> {
        (0..)
            .scan(0, |start, len| {
                let part = entries.get(*start..(*start + len).min(entries.len()))?;
                *start += len;
                Some(part.iter().copied())
            })
            .collect()
    }

    #[test]
    fn order_is_count_desc_then_key_asc_and_thresholds_apply() {
        let mut spec = FeatureSpec::new("f");
        spec.min_count = 2;
        let (keys, counts) = select_byte_entries(
            &counts_of(&[("b", 3), ("a", 3), ("c", 5), ("d", 1), ("e", 2)]),
            None,
            &spec,
        );
        assert_eq!(keys, ByteKeys::from_keys(&[b"c", b"a", b"b", b"e"]));
        assert_eq!(counts, [5, 3, 3, 2]);
        spec.max_size = 2;
        let (keys, _) = select_byte_entries(
            &counts_of(&[("b", 3), ("a", 3), ("c", 5), ("e", 2)]),
            None,
            &spec,
        );
        assert_eq!(keys, ByteKeys::from_keys(&[b"c", b"a"]));
    }

    proptest::proptest! {
        /// Sorting byte keys on prefixes gives the order of the keys.
        #[test]
        fn byte_selection_matches_the_plain_order(
            pairs in proptest::collection::hash_map(
                proptest::collection::vec(0u8..3, 0..20),
                1u64..4,
                0..200,
            ),
            max_size in 0u64..50,
        ) {
            let mut spec = FeatureSpec::new("f");
            spec.min_count = 2;
            spec.max_size = max_size;
            let entries: Vec<(&[u8], u64)> = pairs.iter().map(|(k, n)| (&k[..], *n)).collect();
            let parts = parts_of(&entries);
            let plain: (Vec<_>, Vec<u64>) = plain_selection(&entries, &spec).into_iter().unzip();
            let bytes = select_byte_entries(&parts, None, &spec);
            proptest::prop_assert_eq!(&bytes, &(ByteKeys::from_keys(&plain.0), plain.1.clone()));
            // Given how many keys each part keeps, as a table tells.
            let kept: Vec<usize> = parts.iter().map(|p| p.clone().filter(|e| e.1 >= 2).count()).collect();
            proptest::prop_assert_eq!(select_byte_entries(&parts, Some(kept), &spec), bytes);
        }

        /// Radix-sorting integer keys gives the order of one plain sort,
        /// for keys of every sign and width, and counts of every class.
        #[test]
        fn int_selection_matches_the_plain_order(
            pairs in proptest::collection::hash_map(
                proptest::prop_oneof![-3000i64..3000, proptest::prelude::any::<i64>()],
                proptest::prop_oneof![1u64..4, any_count()],
                0..2000,
            ),
            min_count in 0u64..3,
            max_size in proptest::prop_oneof![proptest::strategy::Just(0u64), 0u64..3000],
        ) {
            let mut spec = FeatureSpec::new("f");
            spec.min_count = min_count;
            spec.max_size = max_size;
            let signed: Vec<(i64, u64)> = pairs.into_iter().collect();
            let plain = plain_selection(&signed, &spec);
            let parts = parts_of(&signed);
            proptest::prop_assert_eq!(&select_int_entries(&parts, None, &spec), &plain);
            let kept: Vec<usize> =
                parts.iter().map(|p| p.clone().filter(|e| e.1 >= min_count).count()).collect();
            proptest::prop_assert_eq!(&select_int_entries(&parts, Some(kept), &spec), &plain);
            // The same keys unsigned order otherwise: negative keys last.
            let unsigned: Vec<(u64, u64)> = signed.iter().map(|&(k, n)| (k as u64, n)).collect();
            proptest::prop_assert_eq!(
                select_int_entries(&parts_of(&unsigned), None, &spec),
                plain_selection(&unsigned, &spec)
            );
        }
    }

    /// Counts on both sides of every class boundary of the counting pass,
    /// and far past the last.
    fn any_count() -> impl proptest::strategy::Strategy<Value = u64> {
        use proptest::prelude::*;
        let last = COUNT_CLASSES as u64;
        prop_oneof![0u64..4, last - 3..last + 3, Just(u64::MAX), any::<u64>()]
    }

    proptest::proptest! {
        /// The counting pass and the sorts of its classes give the order
        /// of one plain sort.
        #[test]
        fn sorting_by_count_classes_matches_one_sort(
            pairs in proptest::collection::hash_map(-50i64..50, any_count(), 0..300),
        ) {
            let mut entries: Vec<(i64, u64)> = pairs.into_iter().collect();
            let mut plain = entries.clone();
            plain.sort_by(vocab_order);
            let ties = |a: &(i64, u64), b: &(i64, u64)| a.0.cmp(&b.0);
            sort_by_count_first(&mut entries, |e| e.1, ties, |class| class.sort_unstable_by(ties));
            proptest::prop_assert_eq!(entries, plain);
        }
    }

    #[test]
    fn keys_gathered_in_parallel_runs_are_the_keys_in_order() {
        let keys: Vec<Vec<u8>> = (0..40_000u32)
            .map(|i| i.to_string().into_bytes().repeat((i % 4) as usize))
            .collect();
        let refs: Vec<&[u8]> = keys.iter().map(|k| &k[..]).collect();
        let gathered = ByteKeys::from_keys(&refs);
        assert_eq!(gathered.data, keys.concat());
        assert_eq!(gathered.len(), keys.len());
        assert!((0..keys.len()).all(|i| gathered.get(i) == keys[i]));
        assert_eq!(ByteKeys::from_keys(&[]).offsets, [0]);
    }

    #[test]
    fn integer_keys_sort_numerically() {
        let spec = FeatureSpec::new("f");
        let map: HashMap<i64, u64> = [(10, 1), (-5, 1), (2, 1)].into_iter().collect();
        let parts = [map.iter().map(|(k, n)| (*k, *n))];
        assert_eq!(
            select_int_entries(&parts, None, &spec),
            [(-5, 1), (2, 1), (10, 1)]
        );
    }
}
