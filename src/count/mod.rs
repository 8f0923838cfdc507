//! Exact, mergeable counts of every feature's values.
//!
//! [`Counts`] is a value: counting any partition of the input (row groups,
//! files, machines) and [merging](Counts::merge) the parts gives the same
//! counts as counting everything at once, whatever the grouping and order.

mod bytes;
mod file;
mod forecast;
mod ints;
mod kernel;
#[cfg(feature = "parquet")]
pub(crate) mod parallel;
mod partitioned;
#[cfg(feature = "parquet")]
mod tally;

use arrow_array::RecordBatch;
use serde::{Deserialize, Serialize};

pub(crate) use bytes::BytesCounts;
pub use file::COUNTS_MAGIC;
pub(crate) use ints::IntCounts;
pub use kernel::{is_supported, key_type_of};
#[cfg(feature = "parquet")]
pub(crate) use tally::DictionaryTally;

use crate::error::{Error, Result};
use crate::keys::KeyType;
use crate::spec::Spec;
use crate::zeroed::SparePages;

/// An input file as recorded in the artifact.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct InputFile {
    /// The path as it was given (or found in a directory given).
    pub path: String,
    /// Its size in bytes.
    pub size: u64,
}

/// The counts of one feature's keys: exact occurrences per distinct key.
#[derive(Debug, Clone, Default)]
pub struct FeatureCounts {
    key_type: Option<KeyType>,
    /// The first input that fixed the key type, for error messages.
    key_type_source: String,
    table: KeyCounts,
    total: u64,
    nulls: u64,
    /// The spec's `min_count`: the table tells how many keys reached it.
    min_count: u64,
    /// Whether the table will keep growing, when a scan said how many
    /// values it will count ([`expect_values`](Self::expect_values)).
    forecast: forecast::Forecast,
}

/// A feature's column in a batch, ready to count.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Column<'a> {
    /// A column of the null type: nulls only, and no key type.
    AllNull,
    /// Keys of this type.
    Keys(KeyType, &'a dyn arrow_array::Array),
}

/// The per-key tables, one per key type.
#[derive(Debug, Clone, Default)]
pub(crate) enum KeyCounts {
    /// Nothing counted yet.
    #[default]
    Empty,
    Bytes(BytesCounts),
    /// `int` keys, as their two's-complement bits.
    Int(IntCounts),
    Uint(IntCounts),
}

impl KeyCounts {
    /// Hands the pages of the table's slots to `spare`.
    fn give_pages(self, spare: &SparePages) {
        match self {
            KeyCounts::Empty => {}
            KeyCounts::Bytes(m) => m.give_pages(spare),
            KeyCounts::Int(m) | KeyCounts::Uint(m) => m.give_pages(spare),
        }
    }

    fn len(&self) -> usize {
        match self {
            KeyCounts::Empty => 0,
            KeyCounts::Bytes(m) => m.len(),
            KeyCounts::Int(m) => m.len(),
            KeyCounts::Uint(m) => m.len(),
        }
    }
}

impl FeatureCounts {
    /// The key type, once an input has fixed it.
    pub fn key_type(&self) -> Option<KeyType> {
        self.key_type
    }

    /// Non-null occurrences counted.
    pub fn total_count(&self) -> u64 {
        self.total
    }

    /// Null occurrences counted (null values, null list elements).
    pub fn null_count(&self) -> u64 {
        self.nulls
    }

    /// Distinct non-null keys counted.
    pub fn distinct_count(&self) -> u64 {
        self.table.len() as u64
    }

    /// The count of one key (0 when never seen or of another type).
    ///
    /// ```
    /// # use arrow_array::{RecordBatch, StringArray};
    /// # use std::sync::Arc;
    /// let spec = oovocab::Spec::from_toml_str("[[feature]]\nname = \"c\"").unwrap();
    /// let mut counts = oovocab::Counts::new(&spec);
    /// let batch = RecordBatch::try_from_iter([("c", Arc::new(StringArray::from(vec![Some("a"), Some("a"), None])) as _)]).unwrap();
    /// counts.add_batch(&batch).unwrap();
    /// let f = counts.feature("c").unwrap();
    /// assert_eq!((f.count("a"), f.count("b"), f.null_count()), (2, 0, 1));
    /// ```
    pub fn count<'a>(&self, key: impl Into<crate::Key<'a>>) -> u64 {
        use crate::Key;
        match (&self.table, key.into()) {
            (KeyCounts::Bytes(m), Key::Bytes(b)) => Some(m.get(b)),
            (KeyCounts::Int(m), Key::Int(v)) => Some(m.get(v as u64)),
            (KeyCounts::Int(m), Key::Uint(v)) => i64::try_from(v).ok().map(|v| m.get(v as u64)),
            (KeyCounts::Uint(m), Key::Uint(v)) => Some(m.get(v)),
            (KeyCounts::Uint(m), Key::Int(v)) => u64::try_from(v).ok().map(|v| m.get(v)),
            _ => None,
        }
        .unwrap_or(0)
    }

    /// Counts rows `rows` of one column of a batch, checked by
    /// [`Counts::column_of`].
    ///
    /// # Errors
    /// [`Error::KeyTypeConflict`] when the column's key type differs from
    /// what was counted before.
    pub(crate) fn count_column(
        &mut self,
        feature: &str,
        column: Column<'_>,
        rows: std::ops::Range<usize>,
        source: &str,
    ) -> Result<()> {
        match column {
            Column::AllNull => self.nulls += rows.len() as u64,
            Column::Keys(key_type, array) => {
                self.set_key_type(feature, key_type, source)?;
                if rows.len() == array.len() {
                    kernel::count_array(self, array);
                } else {
                    kernel::count_array(self, array.slice(rows.start, rows.len()).as_ref());
                }
            }
        }
        Ok(())
    }

    /// Counts what `tally` holds and empties it.
    ///
    /// # Errors
    /// [`Error::KeyTypeConflict`] as [`count_column`](Self::count_column).
    #[cfg(feature = "parquet")]
    pub(crate) fn count_tally(
        &mut self,
        feature: &str,
        tally: &mut DictionaryTally,
        source: &str,
    ) -> Result<()> {
        if let Some(key_type) = tally.key_type() {
            self.set_key_type(feature, key_type, source)?;
            tally.flush_into(self);
        }
        Ok(())
    }

    /// Adds `values` (nulls included) to the values a scan will count for
    /// this feature (from the files' metadata): its table then grows ahead
    /// of keys that keep arriving (see `count::forecast`).
    #[cfg(feature = "parquet")]
    pub(crate) fn expect_values(&mut self, values: u64) {
        self.forecast.expect(values);
    }

    /// Fixes the key type, or fails when `source` disagrees with an earlier input.
    pub(crate) fn set_key_type(
        &mut self,
        feature: &str,
        key_type: KeyType,
        source: &str,
    ) -> Result<()> {
        match self.key_type {
            None => {
                self.key_type = Some(key_type);
                self.key_type_source = source.to_string();
                let min_count = self.min_count;
                self.table = match key_type {
                    KeyType::Bytes => KeyCounts::Bytes(BytesCounts::with_threshold(min_count)),
                    KeyType::Int => KeyCounts::Int(IntCounts::with_threshold(min_count)),
                    KeyType::Uint => KeyCounts::Uint(IntCounts::with_threshold(min_count)),
                };
                Ok(())
            }
            Some(have) if have == key_type => Ok(()),
            Some(have) => Err(Error::KeyTypeConflict {
                feature: feature.to_string(),
                first: self.key_type_source.clone(),
                first_type: type_description(have),
                second: source.to_string(),
                second_type: type_description(key_type),
            }),
        }
    }

    /// Hands the pages of the counts' table to `spare`, once its keys are
    /// selected.
    pub(crate) fn give_pages(self, spare: &SparePages) {
        self.table.give_pages(spare)
    }

    pub(crate) fn table(&self) -> &KeyCounts {
        &self.table
    }

    fn merge(&mut self, feature: &str, mut other: FeatureCounts) -> Result<()> {
        if let Some(kt) = other.key_type {
            let source = std::mem::take(&mut other.key_type_source);
            self.set_key_type(feature, kt, &source)?;
        }
        self.total += other.total;
        self.nulls += other.nulls;
        // Fold the smaller table into the larger one.
        if self.table.len() < other.table.len() {
            std::mem::swap(&mut self.table, &mut other.table);
        }
        match (&mut self.table, other.table) {
            (KeyCounts::Bytes(a), KeyCounts::Bytes(b)) => a.merge(&b),
            (KeyCounts::Int(a), KeyCounts::Int(b)) => a.merge(&b),
            (KeyCounts::Uint(a), KeyCounts::Uint(b)) => a.merge(&b),
            (_, KeyCounts::Empty) => {}
            // Key types were checked equal above, and an empty table is
            // never the larger one unless both are empty.
            _ => unreachable!("key types checked before merging tables"),
        }
        Ok(())
    }
}

/// A pool of `threads` workers (0: one per core).
pub(crate) fn thread_pool(threads: usize) -> Result<rayon::ThreadPool> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| Error::io("<thread pool>", std::io::Error::other(e)))
}

fn type_description(kt: KeyType) -> &'static str {
    match kt {
        KeyType::Bytes => "a string/binary column",
        KeyType::Int => "a signed (or narrow unsigned) integer column",
        KeyType::Uint => "a UInt64 column",
    }
}

/// Exact counts of every feature of a spec, plus the rows and inputs counted.
///
/// ```
/// # use arrow_array::{Int64Array, RecordBatch};
/// # use std::sync::Arc;
/// let spec = oovocab::Spec::from_toml_str("[[feature]]\nname = \"user\"").unwrap();
/// let batch = |v: Vec<i64>| RecordBatch::try_from_iter([("user", Arc::new(Int64Array::from(v)) as _)]).unwrap();
/// let mut a = oovocab::Counts::new(&spec);
/// a.add_batch(&batch(vec![1, 2, 2])).unwrap();
/// let mut b = oovocab::Counts::new(&spec);
/// b.add_batch(&batch(vec![2, 3])).unwrap();
/// a.merge(b).unwrap();
/// assert_eq!(a.rows(), 5);
/// assert_eq!(a.feature("user").unwrap().count(2i64), 3);
/// ```
#[derive(Debug, Clone)]
pub struct Counts {
    names: Vec<String>,
    columns: Vec<String>,
    features: Vec<FeatureCounts>,
    rows: u64,
    inputs: Vec<InputFile>,
}

impl Counts {
    /// Empty counts for the features of `spec`.
    pub fn new(spec: &Spec) -> Counts {
        Counts {
            names: spec.features().iter().map(|f| f.name.clone()).collect(),
            columns: spec.features().iter().map(|f| f.column.clone()).collect(),
            features: spec
                .features()
                .iter()
                .map(|f| FeatureCounts {
                    min_count: f.min_count,
                    ..FeatureCounts::default()
                })
                .collect(),
            rows: 0,
            inputs: Vec::new(),
        }
    }

    /// Counts one batch: every feature's column must be in it.
    ///
    /// # Errors
    /// [`Error::MissingColumn`], [`Error::UnsupportedType`], or
    /// [`Error::KeyTypeConflict`] when a column's key type differs from
    /// what was counted before.
    pub fn add_batch(&mut self, batch: &RecordBatch) -> Result<()> {
        self.add_batch_from(batch, "<batch>")
    }

    pub(crate) fn add_batch_from(&mut self, batch: &RecordBatch, source: &str) -> Result<()> {
        for i in 0..self.features.len() {
            let column = self.column_of(i, batch, source)?;
            let rows = 0..batch.num_rows();
            self.features[i].count_column(&self.names[i], column, rows, source)?;
        }
        self.rows += batch.num_rows() as u64;
        Ok(())
    }

    /// Feature `i`'s column in `batch`, checked to be countable.
    ///
    /// # Errors
    /// [`Error::MissingColumn`], [`Error::UnsupportedType`], or
    /// [`Error::Limit`] when a value is longer than a key can be.
    pub(crate) fn column_of<'b>(
        &self,
        i: usize,
        batch: &'b RecordBatch,
        source: &str,
    ) -> Result<Column<'b>> {
        let column = &self.columns[i];
        let schema = batch.schema_ref();
        let Some((idx, field)) = schema.column_with_name(column) else {
            return Err(Error::MissingColumn {
                source_name: source.to_string(),
                feature: self.names[i].clone(),
                column: column.clone(),
                available: schema.fields().iter().map(|f| f.name().clone()).collect(),
            });
        };
        if *field.data_type() == arrow_schema::DataType::Null {
            // Nothing but nulls, and no key type to fix.
            return Ok(Column::AllNull);
        }
        let key_type = key_type_of(field.data_type()).ok_or_else(|| Error::UnsupportedType {
            source_name: source.to_string(),
            column: column.clone(),
            data_type: field.data_type().to_string(),
        })?;
        let array = batch.column(idx).as_ref();
        let longest = kernel::longest_large_value(array);
        if longest > u64::from(u32::MAX) {
            return Err(Error::Limit {
                feature: self.names[i].clone(),
                message: format!(
                    "{source}: column {column:?} has a value of {longest} bytes; a key is at most 4 GiB"
                ),
            });
        }
        Ok(Column::Keys(key_type, array))
    }

    /// A batch of one column, feature `i`'s, holding `values`: for
    /// [`column_of`](Self::column_of) to find, as in a batch read.
    #[cfg(feature = "parquet")]
    pub(crate) fn batch_of(&self, i: usize, values: arrow_array::ArrayRef) -> Result<RecordBatch> {
        let field = arrow_schema::Field::new(&self.columns[i], values.data_type().clone(), false);
        let schema = std::sync::Arc::new(arrow_schema::Schema::new(vec![field]));
        RecordBatch::try_new(schema, vec![values]).map_err(|source| Error::Arrow {
            context: "holding the plain values of a column chunk".to_string(),
            source,
        })
    }

    /// `batch` with only the columns of `features` (which
    /// [`column_of`](Self::column_of) has found in it), in schema order.
    #[cfg(feature = "parquet")]
    pub(crate) fn project(
        &self,
        batch: &RecordBatch,
        features: impl Iterator<Item = usize>,
    ) -> Result<RecordBatch> {
        let schema = batch.schema_ref();
        let mut indices: Vec<usize> = features
            .filter_map(|i| schema.index_of(&self.columns[i]).ok())
            .collect();
        indices.sort_unstable();
        indices.dedup();
        batch.project(&indices).map_err(|source| Error::Arrow {
            context: "keeping a batch's columns still to count".to_string(),
            source,
        })
    }

    /// Adds `other` into `self`. Merging is associative and commutative.
    ///
    /// # Errors
    /// [`Error::KeyTypeConflict`] when a feature's key types differ;
    /// [`Error::Spec`] when the two were made for different features.
    pub fn merge(&mut self, other: Counts) -> Result<()> {
        if self.names != other.names || self.columns != other.columns {
            return Err(Error::Spec {
                path: "<counts>".into(),
                line: None,
                message: format!(
                    "cannot merge counts of features {:?} into counts of {:?}",
                    other.names, self.names
                ),
            });
        }
        // Features merge independently: one task each.
        use rayon::prelude::*;
        self.features
            .par_iter_mut()
            .zip(other.features)
            .zip(&self.names)
            .try_for_each(|((mine, theirs), name)| mine.merge(name, theirs))?;
        self.rows += other.rows;
        // The inputs are a set: workers that each counted part of one file
        // record it once.
        self.inputs.extend(other.inputs);
        self.inputs.sort();
        self.inputs.dedup();
        Ok(())
    }

    /// Each feature's name and column, in spec order.
    pub(crate) fn features_and_columns(&self) -> Vec<(&str, &str)> {
        self.names
            .iter()
            .zip(&self.columns)
            .map(|(n, c)| (n.as_str(), c.as_str()))
            .collect()
    }

    /// Rows counted.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// The input files counted, sorted by path.
    pub fn inputs(&self) -> &[InputFile] {
        &self.inputs
    }

    /// Records `path` (as given) and its size as one of the inputs, as a
    /// scan of the file would: for callers that count a file's batches
    /// themselves (an engine's workers) and want the artifact `build` writes
    /// on the same files. Recording a path twice records it once.
    ///
    /// ```
    /// let spec = oovocab::Spec::from_toml_str("[[feature]]\nname = \"item_id\"").unwrap();
    /// let mut counts = oovocab::Counts::new(&spec);
    /// counts.add_input("fixtures/clicks/day-1.parquet").unwrap();
    /// assert_eq!(counts.inputs()[0].path, "fixtures/clicks/day-1.parquet");
    /// ```
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be read.
    pub fn add_input(&mut self, path: impl AsRef<std::path::Path>) -> Result<()> {
        let path = path.as_ref();
        let size = std::fs::metadata(path)
            .map_err(|e| Error::io(path, e))?
            .len();
        let input = InputFile {
            path: path.display().to_string(),
            size,
        };
        if !self.inputs.contains(&input) {
            self.record_input(input);
        }
        Ok(())
    }

    /// Records an input file (kept sorted, so the order inputs are given in
    /// does not matter).
    pub(crate) fn record_input(&mut self, input: InputFile) {
        let at = self.inputs.partition_point(|i| *i <= input);
        self.inputs.insert(at, input);
    }

    /// The counts of the feature named `name`.
    pub fn feature(&self, name: &str) -> Option<&FeatureCounts> {
        self.names
            .iter()
            .position(|n| n == name)
            .map(|i| &self.features[i])
    }

    #[cfg(feature = "parquet")]
    pub(crate) fn feature_mut(&mut self, index: usize) -> (&str, &mut FeatureCounts) {
        (&self.names[index], &mut self.features[index])
    }

    pub(crate) fn into_features(self) -> (Vec<FeatureCounts>, u64, Vec<InputFile>) {
        (self.features, self.rows, self.inputs)
    }
}
