//! Counting the values of one Arrow array: one dispatch on the data type,
//! then a tight loop per type. Dictionary arrays are counted per dictionary
//! entry (a histogram of keys), not per row.

use arrow_array::cast::AsArray;
use arrow_array::types::*;
use arrow_array::{Array, ArrowPrimitiveType, OffsetSizeTrait};
use arrow_buffer::NullBuffer;
use arrow_schema::DataType;

use super::bytes::GROUP;
use super::forecast::Forecast;
use super::{BytesCounts, FeatureCounts, IntCounts, KeyCounts};
use crate::keys::KeyType;
use crate::values::{ByteValues, DictionaryKeys, byte_values, dictionary_keys};

/// The key type a column of this Arrow type gives, or `None` when oovocab
/// does not accept the type (DESIGN.md §1, §5).
///
/// ```
/// use arrow_schema::{DataType, Field};
/// use oovocab::{key_type_of, KeyType};
/// assert_eq!(key_type_of(&DataType::Utf8View), Some(KeyType::Bytes));
/// assert_eq!(key_type_of(&DataType::UInt32), Some(KeyType::Int));
/// assert_eq!(key_type_of(&DataType::UInt64), Some(KeyType::Uint));
/// let tags = DataType::new_list(DataType::Utf8, true);
/// assert_eq!(key_type_of(&tags), Some(KeyType::Bytes));
/// assert_eq!(key_type_of(&DataType::Float64), None);
/// ```
pub fn key_type_of(data_type: &DataType) -> Option<KeyType> {
    match data_type {
        DataType::List(f) | DataType::LargeList(f) => scalar_key_type(f.data_type()),
        other => scalar_key_type(other),
    }
}

/// Whether oovocab can count and look up a column of this type.
pub fn is_supported(data_type: &DataType) -> bool {
    key_type_of(data_type).is_some()
}

fn scalar_key_type(data_type: &DataType) -> Option<KeyType> {
    use DataType::*;
    match data_type {
        Utf8 | LargeUtf8 | Utf8View | Binary | LargeBinary | BinaryView | FixedSizeBinary(_) => {
            Some(KeyType::Bytes)
        }
        Int8 | Int16 | Int32 | Int64 | UInt8 | UInt16 | UInt32 => Some(KeyType::Int),
        UInt64 => Some(KeyType::Uint),
        Dictionary(_, values) => match values.as_ref() {
            Dictionary(..) => None,
            v => scalar_key_type(v),
        },
        _ => None,
    }
}

/// The longest value of an array whose values can exceed 4 GiB (large
/// strings and binaries, and lists and dictionaries of them); 0 for others,
/// whose values cannot.
pub(super) fn longest_large_value(array: &dyn Array) -> u64 {
    use DataType::*;
    let longest = |offsets: &[i64]| {
        offsets
            .windows(2)
            .map(|w| (w[1] - w[0]).max(0) as u64)
            .max()
            .unwrap_or(0)
    };
    match array.data_type() {
        LargeUtf8 => longest(array.as_string::<i64>().value_offsets()),
        LargeBinary => longest(array.as_binary::<i64>().value_offsets()),
        List(_) => longest_large_value(array.as_list::<i32>().values().as_ref()),
        LargeList(_) => longest_large_value(array.as_list::<i64>().values().as_ref()),
        Dictionary(..) => longest_large_value(array.as_any_dictionary().values().as_ref()),
        _ => 0,
    }
}

/// Adds the values of `array` to `fc`, whose key type the caller has set from
/// the array's type (checked with [`key_type_of`]).
pub(super) fn count_array(fc: &mut FeatureCounts, array: &dyn Array) {
    match array.data_type() {
        DataType::List(_) => count_list(fc, array.as_list::<i32>()),
        DataType::LargeList(_) => count_list(fc, array.as_list::<i64>()),
        _ => count_scalar(fc, array, None),
    }
}

/// Counts a list column's elements. A null list contributes nothing (as
/// UNNEST does); a null element counts as a null.
fn count_list<O: OffsetSizeTrait>(fc: &mut FeatureCounts, list: &arrow_array::GenericListArray<O>) {
    let values = list.values();
    for_each_valid_run(list, |s, e| {
        count_scalar(fc, values.slice(s, e - s).as_ref(), None)
    });
}

/// Calls `each(start, end)` for the maximal runs of adjacent valid lists,
/// as ranges of the list's values (none empty): the elements a list column
/// contributes.
pub(super) fn for_each_valid_run<O: OffsetSizeTrait>(
    list: &arrow_array::GenericListArray<O>,
    mut each: impl FnMut(usize, usize),
) {
    let offsets = list.value_offsets();
    let mut run: Option<(usize, usize)> = None;
    for i in 0..list.len() {
        if list.is_null(i) {
            continue;
        }
        let (start, end) = (offsets[i].as_usize(), offsets[i + 1].as_usize());
        match run {
            Some((s, e)) if e == start => run = Some((s, end)),
            Some((s, e)) => {
                if e > s {
                    each(s, e);
                }
                run = Some((start, end));
            }
            None => run = Some((start, end)),
        }
    }
    if let Some((s, e)) = run {
        if e > s {
            each(s, e);
        }
    }
}

/// Counts a non-list array; with `weights`, value `i` counts `weights[i]`
/// times (used for dictionary values).
pub(super) fn count_scalar(fc: &mut FeatureCounts, array: &dyn Array, weights: Option<&[u64]>) {
    use DataType::*;
    let receiver = AddBytes {
        fc: &mut *fc,
        weights,
    };
    if byte_values(array, receiver).is_some() {
        return;
    }
    match array.data_type() {
        Int8 => add_ints::<Int8Type>(fc, array, weights, widened),
        Int16 => add_ints::<Int16Type>(fc, array, weights, widened),
        Int32 => add_ints::<Int32Type>(fc, array, weights, widened),
        Int64 => add_ints::<Int64Type>(fc, array, weights, widened),
        UInt8 => add_ints::<UInt8Type>(fc, array, weights, widened),
        UInt16 => add_ints::<UInt16Type>(fc, array, weights, widened),
        UInt32 => add_ints::<UInt32Type>(fc, array, weights, widened),
        UInt64 => add_ints::<UInt64Type>(fc, array, weights, |v| v),
        Dictionary(..) => count_dictionary(fc, array, weights),
        // The caller checked the type with `key_type_of`.
        other => unreachable!("count_scalar on unsupported type {other}"),
    }
}

fn count_dictionary(fc: &mut FeatureCounts, array: &dyn Array, weights: Option<&[u64]>) {
    let dict = array.as_any_dictionary();
    let values = dict.values();
    let mut histogram = vec![0u64; values.len()];
    fc.nulls += histogram_of_keys(dict, &mut histogram, weights);
    count_scalar(fc, values.as_ref(), Some(&histogram));
}

/// Adds the (weighted) keys of `dict` to `histogram`, one slot per
/// dictionary entry; returns the weight of its null rows.
pub(super) fn histogram_of_keys(
    dict: &dyn arrow_array::AnyDictionaryArray,
    histogram: &mut [u64],
    weights: Option<&[u64]>,
) -> u64 {
    let nulls = dict.keys().logical_nulls();
    dictionary_keys(
        dict,
        KeyHistogram {
            histogram,
            nulls: nulls.as_ref(),
            weights,
        },
    )
}

/// Counts a dictionary's keys per entry into the histogram; returns the
/// weight of its null rows.
struct KeyHistogram<'a> {
    histogram: &'a mut [u64],
    nulls: Option<&'a NullBuffer>,
    weights: Option<&'a [u64]>,
}

impl DictionaryKeys for KeyHistogram<'_> {
    type Output = u64;
    fn take(self, keys: impl Iterator<Item = usize>) -> u64 {
        let mut null_rows = 0u64;
        for (row, k) in keys.enumerate() {
            let w = self.weights.map_or(1, |w| w[row]);
            if self.nulls.is_some_and(|n| n.is_null(row)) {
                null_rows += w;
            } else if let Some(slot) = self.histogram.get_mut(k) {
                *slot += w;
            }
        }
        null_rows
    }
}

/// An integer key of up to 64 bits as the `u64` bits it is counted by: its
/// two's complement at 64 bits (an unsigned one below 64 bits is the same
/// number).
fn widened<N: Into<i64>>(v: N) -> u64 {
    v.into() as u64
}

/// Counts an integer array's values as the bits `bits` gives them.
fn add_ints<T: ArrowPrimitiveType>(
    fc: &mut FeatureCounts,
    array: &dyn Array,
    weights: Option<&[u64]>,
    bits: impl Fn(T::Native) -> u64 + Copy,
) {
    let a = array.as_primitive::<T>();
    if a.null_count() == 0 {
        // No null to look for at each value.
        add_keys(fc, a.values().iter().map(|&v| Some(bits(v))), weights)
    } else {
        add_keys(fc, a.iter().map(|v| v.map(bits)), weights)
    }
}

/// Counts integer keys (as u64 bits) into the feature's `int` or `uint` table.
fn add_keys(
    fc: &mut FeatureCounts,
    values: impl Iterator<Item = Option<u64>>,
    weights: Option<&[u64]>,
) {
    let FeatureCounts {
        table: KeyCounts::Int(map) | KeyCounts::Uint(map),
        total,
        nulls,
        forecast,
        ..
    } = fc
    else {
        unreachable!("key type set from the array type before counting")
    };
    count_into(map, values, weights, (total, nulls), forecast);
}

/// Counts byte keys into the feature's `bytes` table.
struct AddBytes<'f> {
    fc: &'f mut FeatureCounts,
    weights: Option<&'f [u64]>,
}

impl ByteValues for AddBytes<'_> {
    type Output = ();
    fn take<'a>(self, values: impl Iterator<Item = Option<&'a [u8]>>) {
        let FeatureCounts {
            table: KeyCounts::Bytes(map),
            total,
            nulls,
            forecast,
            ..
        } = self.fc
        else {
            unreachable!("key type set from the array type before counting")
        };
        count_into(map, values, self.weights, (total, nulls), forecast);
    }
}

/// Counts `values` into `table` ([`in_groups`]), adds their weight and
/// that of their nulls to `totals`, and tells the table whether to grow
/// ahead when its `forecast` says so (`count::forecast`).
fn count_into<K: Copy, T: GroupedTable<K>>(
    table: &mut T,
    values: impl Iterator<Item = Option<K>>,
    weights: Option<&[u64]>,
    (total, nulls): (&mut u64, &mut u64),
    forecast: &mut Forecast,
) {
    let keys_before = table.len();
    let (counted, counted_nulls) = in_groups(values, weights, table);
    *total += counted;
    *nulls += counted_nulls;
    let keys = table.len();
    let values = counted + counted_nulls;
    if let Some(ahead) = forecast.observe(*total + *nulls, values, keys - keys_before, keys) {
        table.set_grow_ahead(ahead);
    }
}

/// A count table that takes keys in groups of at most [`GROUP`]: each group
/// is prepared (hashed, its home slots prefetched: see [`crate::prefetch`])
/// when it is full, its next loads are prefetched one group later, and it
/// is counted two groups later, so that a probe's dependent loads are under
/// way before it runs.
trait GroupedTable<K> {
    /// What preparing a group hands to [`add_prepared`](Self::add_prepared).
    type Prepared;
    fn prepare(&self, group: &[(K, u64)]) -> Self::Prepared;
    /// Prefetches the next load of the probes of a group prepared one
    /// group ago, whose home slots are on their way.
    fn prefetch_more(&self, group: &[(K, u64)], prepared: &Self::Prepared) {
        let _ = (group, prepared);
    }
    fn add_prepared(&mut self, group: &[(K, u64)], prepared: &Self::Prepared);
    /// Distinct keys in the table.
    fn len(&self) -> usize;
    /// Whether the table grows fourfold at any size (`count::forecast`).
    fn set_grow_ahead(&mut self, ahead: bool);
}

impl GroupedTable<u64> for IntCounts {
    // Mixing an integer again costs less than carrying its hash.
    type Prepared = ();
    fn prepare(&self, group: &[(u64, u64)]) {
        self.prefetch_group(group)
    }
    fn add_prepared(&mut self, group: &[(u64, u64)], _: &()) {
        self.add_group(group)
    }
    fn len(&self) -> usize {
        IntCounts::len(self)
    }
    fn set_grow_ahead(&mut self, ahead: bool) {
        IntCounts::set_grow_ahead(self, ahead)
    }
}

impl<'a> GroupedTable<&'a [u8]> for BytesCounts {
    type Prepared = [u64; GROUP];
    fn prepare(&self, group: &[(&'a [u8], u64)]) -> [u64; GROUP] {
        self.hash_and_prefetch(group)
    }
    fn prefetch_more(&self, group: &[(&'a [u8], u64)], hashes: &[u64; GROUP]) {
        self.prefetch_long_keys(group, hashes)
    }
    fn add_prepared(&mut self, group: &[(&'a [u8], u64)], hashes: &[u64; GROUP]) {
        self.add_hashed_group(group, hashes)
    }
    fn len(&self) -> usize {
        BytesCounts::len(self)
    }
    fn set_grow_ahead(&mut self, ahead: bool) {
        BytesCounts::set_grow_ahead(self, ahead)
    }
}

/// Hands the non-null values, with their weights (1 without `weights`;
/// weight 0 skipped), to `table` in groups of [`GROUP`], each group
/// prepared two groups ahead of its counting; returns the total weight of
/// the values and of the nulls.
fn in_groups<K: Copy, T: GroupedTable<K>>(
    values: impl Iterator<Item = Option<K>>,
    weights: Option<&[u64]>,
    table: &mut T,
) -> (u64, u64) {
    let (mut total, mut nulls) = (0u64, 0u64);
    // Two groups in flight besides the one filling: `newer` was prepared
    // one step ago, `older` two steps ago. A step prepares the group just
    // filled, prefetches more for `newer`, and counts `older`, whose buffer
    // is filled next.
    type InFlight<K, P> = (Vec<(K, u64)>, P);
    let mut newer: InFlight<K, T::Prepared> = (Vec::with_capacity(GROUP), table.prepare(&[]));
    let mut older: InFlight<K, T::Prepared> = (Vec::with_capacity(GROUP), table.prepare(&[]));
    let mut filling: Vec<(K, u64)> = Vec::with_capacity(GROUP);
    let mut step = |filling: &mut Vec<(K, u64)>, table: &mut T| {
        let prepared = table.prepare(filling);
        table.prefetch_more(&newer.0, &newer.1);
        table.add_prepared(&older.0, &older.1);
        std::mem::swap(&mut older, &mut newer);
        std::mem::swap(&mut newer.0, filling);
        newer.1 = prepared;
        filling.clear();
    };
    for (i, v) in values.enumerate() {
        let w = weights.map_or(1, |w| w[i]);
        match v {
            _ if w == 0 => {}
            Some(k) => {
                total += w;
                filling.push((k, w));
                if filling.len() == GROUP {
                    step(&mut filling, table);
                }
            }
            None => nulls += w,
        }
    }
    // The group filling, then the two in flight.
    for _ in 0..3 {
        step(&mut filling, table);
    }
    (total, nulls)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::builder::{LargeListBuilder, LargeStringBuilder};
    use arrow_array::{DictionaryArray, LargeStringArray, StringArray};

    use super::*;

    #[test]
    fn a_table_grows_ahead_while_new_keys_keep_arriving_and_not_after() {
        let spec = crate::Spec::from_toml_str("[[feature]]\nname = \"c\"").unwrap();
        let mut counts = crate::Counts::new(&spec);
        let (_, fc) = counts.feature_mut(0);
        // Windows of 100 values.
        fc.expect_values(6400);
        fc.set_key_type("c", KeyType::Bytes, "test").unwrap();
        let ahead = |fc: &FeatureCounts| match &fc.table {
            KeyCounts::Bytes(m) => m.grows_ahead(),
            _ => unreachable!("a bytes feature"),
        };
        let keys = |range: std::ops::Range<usize>| {
            StringArray::from_iter_values(range.map(|i| format!("k{}", i % 300)))
        };
        // 200 values, all new keys, of 6400 to come.
        count_array(fc, &keys(0..200));
        assert!(ahead(fc));
        // Then no new keys for a window: the table is told to stop.
        count_array(fc, &keys(0..150));
        assert!(!ahead(fc));
        assert_eq!((fc.total_count(), fc.distinct_count()), (350, 200));
        // A table no scan told of its size never grows ahead.
        let mut counts = crate::Counts::new(&spec);
        let (_, fc) = counts.feature_mut(0);
        fc.set_key_type("c", KeyType::Bytes, "test").unwrap();
        count_array(fc, &keys(0..300));
        assert!(!ahead(fc));
    }

    #[test]
    fn in_groups_counts_every_value_whatever_the_length() {
        for n in [
            0,
            1,
            GROUP - 1,
            GROUP,
            GROUP + 1,
            2 * GROUP,
            2 * GROUP + 1,
            3 * GROUP - 1,
            1000,
        ] {
            let keys: Vec<String> = (0..n).map(|i| format!("k{}", i % 37)).collect();
            let mut bytes = BytesCounts::default();
            let values = keys.iter().map(|k| Some(k.as_bytes())).chain([None]);
            assert_eq!(in_groups(values, None, &mut bytes), (n as u64, 1));
            let counted: u64 = (0..37).map(|i| bytes.get(format!("k{i}").as_bytes())).sum();
            assert_eq!(counted, n as u64, "{n} string values");
            let mut ints = IntCounts::default();
            let weights: Vec<u64> = (0..n as u64).map(|i| i % 3).collect();
            let values = (0..n as u64).map(|i| Some(i % 37));
            let (total, _) = in_groups(values, Some(&weights), &mut ints);
            let counted: u64 = (0..37).map(|k| ints.get(k)).sum();
            assert_eq!(
                (counted, total),
                (weights.iter().sum(), counted),
                "{n} weighted ints"
            );
        }
    }

    #[test]
    fn longest_large_value_looks_through_lists_and_dictionaries() {
        assert_eq!(
            longest_large_value(&LargeStringArray::from(vec![Some("a"), None, Some("bbb")])),
            3
        );
        assert_eq!(
            longest_large_value(&StringArray::from(vec!["abcdef"])),
            0,
            "small types cannot exceed 4 GiB"
        );
        let mut list = LargeListBuilder::new(LargeStringBuilder::new());
        list.append_value([Some("xy"), Some("12345")]);
        assert_eq!(longest_large_value(&list.finish()), 5);
        let values = Arc::new(LargeStringArray::from(vec!["a", "abcd"]));
        let dict = DictionaryArray::<Int32Type>::try_new(vec![0, 1].into(), values).unwrap();
        assert_eq!(longest_large_value(&dict), 4);
    }
}
