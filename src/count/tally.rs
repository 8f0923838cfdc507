//! Dictionary columns counted per dictionary entry across batches.
//!
//! A Parquet row group's batches share one dictionary per column: summing
//! their keys per entry first, and counting each entry's key once when the
//! row group ends, hashes and looks up a dictionary's keys once per row
//! group instead of once per batch.

use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef, OffsetSizeTrait};
use arrow_schema::DataType;

use super::FeatureCounts;
use super::kernel::{count_scalar, for_each_valid_run, histogram_of_keys, key_type_of};
use crate::keys::KeyType;
use crate::pages::ChunkCounts;
use crate::values::same_dictionary;

/// The keys of a dictionary column, or of a list column whose elements are
/// a dictionary, summed per dictionary entry across the batches that share
/// one dictionary (as a Parquet row group's batches do), then counted once:
/// each entry's key is hashed and looked up once per row group instead of
/// once per batch.
///
/// Counting a tally's arrays and then [flushing](Self::flush_into) it gives
/// the same counts as [`count_array`](super::kernel::count_array) on each.
#[derive(Debug, Default)]
pub(crate) struct DictionaryTally {
    /// The dictionary the histogram counts; `None` while empty.
    dictionary: Option<ArrayRef>,
    histogram: Vec<u64>,
    nulls: u64,
}

impl DictionaryTally {
    /// Whether a column of this type can be tallied: a dictionary, or a
    /// list of one.
    pub(crate) fn takes(data_type: &DataType) -> bool {
        match data_type {
            DataType::List(item) | DataType::LargeList(item) => {
                matches!(item.data_type(), DataType::Dictionary(..))
            }
            other => matches!(other, DataType::Dictionary(..)),
        }
    }

    /// Adds the keys of `array` (of a type the tally [takes](Self::takes)),
    /// or returns `false` and adds nothing when its dictionary is another
    /// than the one tallied so far: flush, then add again.
    pub(crate) fn add(&mut self, array: &dyn Array) -> bool {
        match array.data_type() {
            DataType::List(_) => self.add_list(array.as_list::<i32>()),
            DataType::LargeList(_) => self.add_list(array.as_list::<i64>()),
            _ => {
                let dict = array.as_any_dictionary();
                if !self.holds(dict.values()) {
                    return false;
                }
                self.nulls += histogram_of_keys(dict, &mut self.histogram, None);
                true
            }
        }
    }

    fn add_list<O: OffsetSizeTrait>(&mut self, list: &arrow_array::GenericListArray<O>) -> bool {
        let elements = list.values();
        if !self.holds(elements.as_any_dictionary().values()) {
            return false;
        }
        for_each_valid_run(list, |s, e| {
            let run = elements.slice(s, e - s);
            self.nulls += histogram_of_keys(run.as_any_dictionary(), &mut self.histogram, None);
        });
        true
    }

    /// Takes a whole dictionary column chunk counted from its pages
    /// ([`ChunkCounts`]); the tally must be empty (a row group's tallies
    /// are counted when it ends).
    pub(crate) fn add_chunk(&mut self, chunk: ChunkCounts) {
        debug_assert!(self.is_empty(), "a chunk is tallied alone");
        self.dictionary = Some(chunk.dictionary);
        self.histogram = chunk.histogram;
        self.nulls = chunk.nulls;
    }

    /// Makes `values` the tally's dictionary when it is empty; whether it is.
    fn holds(&mut self, values: &ArrayRef) -> bool {
        match &self.dictionary {
            Some(d) => same_dictionary(d, values),
            None => {
                self.dictionary = Some(values.clone());
                self.histogram.clear();
                self.histogram.resize(values.len(), 0);
                true
            }
        }
    }

    /// Whether nothing is tallied.
    pub(crate) fn is_empty(&self) -> bool {
        self.dictionary.is_none()
    }

    /// The key type of what is tallied; `None` when nothing is.
    pub(crate) fn key_type(&self) -> Option<KeyType> {
        self.dictionary
            .as_ref()
            .and_then(|d| key_type_of(d.data_type()))
    }

    /// Counts what was tallied into `fc` (whose key type the caller has set
    /// from the array type) and empties the tally.
    pub(crate) fn flush_into(&mut self, fc: &mut FeatureCounts) {
        if let Some(values) = self.dictionary.take() {
            fc.nulls += std::mem::take(&mut self.nulls);
            count_scalar(fc, values.as_ref(), Some(&self.histogram));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{DictionaryArray, Int32Array, StringArray};

    use super::super::kernel::count_array;
    use super::*;

    /// `(total, nulls, counts of k0..k3)` of a bytes feature.
    fn summary(fc: &FeatureCounts) -> (u64, u64, Vec<u64>) {
        let keys = (0..4).map(|i| fc.count(format!("k{i}").as_str())).collect();
        (fc.total_count(), fc.null_count(), keys)
    }

    fn bytes_feature() -> FeatureCounts {
        let mut fc = FeatureCounts::default();
        fc.set_key_type("f", KeyType::Bytes, "test").unwrap();
        fc
    }

    #[test]
    fn a_tally_counts_what_counting_each_array_counts() {
        use arrow_array::{ListArray, NullArray};
        use arrow_buffer::{NullBuffer, OffsetBuffer};
        use arrow_schema::Field;
        // A dictionary with a null entry, and keys with nulls.
        let values: ArrayRef = Arc::new(StringArray::from(vec![
            Some("k0"),
            Some("k1"),
            None,
            Some("k3"),
        ]));
        let keys = Int32Array::from(vec![Some(0), Some(3), None, Some(2), Some(0), Some(1)]);
        let dict: ArrayRef = Arc::new(DictionaryArray::try_new(keys, values.clone()).unwrap());
        // Lists [0, 1], null over [1, 3) (its elements are not counted),
        // [3, 6), [] and null with no elements.
        let field = Arc::new(Field::new("item", dict.data_type().clone(), true));
        let list: ArrayRef = Arc::new(ListArray::new(
            field,
            OffsetBuffer::new(vec![0, 1, 3, 6, 6, 6].into()),
            dict.clone(),
            Some(NullBuffer::from(vec![true, false, true, true, false])),
        ));
        // Batches that share the dictionary, as a row group's do, and a
        // slice of one (a thread's chunk).
        for arrays in [
            vec![dict.clone(), dict.slice(1, 4), dict.clone()],
            vec![list.clone(), list.slice(2, 3), list.clone()],
        ] {
            let mut expected = bytes_feature();
            for a in &arrays {
                count_array(&mut expected, a.as_ref());
            }
            let mut tally = DictionaryTally::default();
            assert!(DictionaryTally::takes(arrays[0].data_type()));
            assert!(arrays.iter().all(|a| tally.add(a.as_ref())));
            assert_eq!(tally.key_type(), Some(KeyType::Bytes));
            let mut tallied = bytes_feature();
            tallied.count_tally("f", &mut tally, "test").unwrap();
            assert_eq!(summary(&tallied), summary(&expected));
            assert_eq!(tally.key_type(), None, "flushing empties the tally");
            assert_eq!(tallied.distinct_count(), expected.distinct_count());
        }
        // Another dictionary with the same contents is refused, and adds
        // nothing until the tally is flushed.
        let mut tally = DictionaryTally::default();
        assert!(tally.add(dict.as_ref()));
        let copy: ArrayRef = Arc::new(StringArray::from(vec![
            Some("k0"),
            Some("k1"),
            None,
            Some("k3"),
        ]));
        let other = DictionaryArray::try_new(Int32Array::from(vec![1, 1]), copy).unwrap();
        assert!(!tally.add(&other));
        let mut fc = bytes_feature();
        fc.count_tally("f", &mut tally, "test").unwrap();
        assert_eq!(fc.count("k1"), 1, "only the first array was tallied");
        assert!(tally.add(&other));
        assert!(!DictionaryTally::takes(&DataType::Utf8));
        assert!(!DictionaryTally::takes(NullArray::new(1).data_type()));
    }
}
