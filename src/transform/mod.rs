//! The transformer: values to ids, the same code at training and inference
//! time, with reproducible OOV injection in training mode (DESIGN.md §5).

mod kernel;
mod report;
mod stream;

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::{
    Array, ArrayRef, GenericListArray, Int32Array, Int64Array, ListArray, OffsetSizeTrait,
    RecordBatch,
};
use arrow_buffer::{NullBuffer, OffsetBuffer, ScalarBuffer};
use arrow_schema::{DataType, Field, Schema, SchemaRef};

pub use report::{FeatureReport, Report};
pub use stream::TransformReader;

use crate::artifact::{Feature, Vocabulary};
use crate::count::key_type_of;
use crate::error::{Error, Result};
use crate::hash::Injection;
use crate::keys::KeyType;
use crate::spec::{NullPolicy, OovUnit};

/// Inference (pure lookup) or training (lookup plus OOV injection).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Pure lookup.
    #[default]
    Infer,
    /// Lookup, then each feature's `train_oov_rate` of occurrences (or of
    /// values) replaced by their OOV bucket id, reproducibly from `seed` and
    /// `epoch`.
    Train {
        /// The run's seed.
        seed: u64,
        /// The epoch: another epoch hides other occurrences.
        epoch: u64,
    },
}

/// The integer type of id columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IdType {
    /// `Int32` (the default; ids always fit).
    #[default]
    Int32,
    /// `Int64`.
    Int64,
}

impl IdType {
    fn data_type(self) -> DataType {
        match self {
            IdType::Int32 => DataType::Int32,
            IdType::Int64 => DataType::Int64,
        }
    }
}

/// One feature as the transformer applies it.
#[derive(Debug, Clone)]
struct Plan {
    index: usize,
    rate: f64,
    injection: Option<(Injection, OovUnit)>,
}

/// Maps the feature columns of Arrow batches to id columns.
///
/// Built from a shared, opened [`Vocabulary`]; cheap to clone, and
/// `Send + Sync`, so many threads can transform with one vocabulary.
///
/// ```
/// # use std::sync::Arc;
/// # use arrow_array::{Array, RecordBatch, StringArray, Int32Array, cast::AsArray, types::Int32Type};
/// use oovocab::{Mode, Transformer, Vocabulary, VocabularyBuilder, Spec};
/// let spec = Spec::from_toml_str("[[feature]]\nname = \"item\"").unwrap();
/// let mut b = VocabularyBuilder::new(spec);
/// let batch = RecordBatch::try_from_iter([("item", Arc::new(StringArray::from(vec![Some("a"), Some("b"), Some("a"), None])) as _)]).unwrap();
/// b.add_batch(&batch).unwrap();
/// let vocab = Arc::new(b.build().unwrap());
///
/// let t = Transformer::new(vocab.clone());
/// let out = t.transform(&batch).unwrap();
/// let ids = out.column_by_name("item").unwrap().as_primitive::<Int32Type>();
/// assert_eq!(ids.values().to_vec(), vec![3, 4, 3, 1]); // a, b, a, null
///
/// // Training mode with every known value hidden: all get their OOV id.
/// let t = Transformer::new(vocab).with_mode(Mode::Train { seed: 1, epoch: 0 }).with_oov_rate(1.0).unwrap();
/// let out = t.transform(&batch).unwrap();
/// let ids = out.column_by_name("item").unwrap().as_primitive::<Int32Type>();
/// assert_eq!(ids.values().to_vec(), vec![2, 2, 2, 1]); // null stays null
/// ```
#[derive(Debug, Clone)]
pub struct Transformer {
    vocab: Arc<Vocabulary>,
    plans: Vec<Plan>,
    keep: Vec<String>,
    id_type: IdType,
    mode: Mode,
}

impl Transformer {
    /// Every feature of the vocabulary, `Int32` ids, inference mode, no kept
    /// columns.
    pub fn new(vocab: Arc<Vocabulary>) -> Transformer {
        let plans = vocab
            .features()
            .enumerate()
            .map(|(index, f)| Plan {
                index,
                rate: f.spec().train_oov_rate,
                injection: None,
            })
            .collect();
        Transformer {
            vocab,
            plans,
            keep: Vec::new(),
            id_type: IdType::Int32,
            mode: Mode::Infer,
        }
    }

    /// Only these features, in this order.
    ///
    /// # Errors
    /// [`Error::UnknownFeature`] for a name the vocabulary lacks.
    pub fn with_features<S: AsRef<str>>(mut self, names: &[S]) -> Result<Transformer> {
        let mut plans = Vec::with_capacity(names.len());
        for name in names {
            let f = self.vocab.feature(name.as_ref())?;
            let index = f.index();
            if plans.iter().any(|p: &Plan| p.index == index) {
                return Err(Error::InvalidArgument(format!(
                    "feature {:?} named twice",
                    f.name()
                )));
            }
            plans.push(Plan {
                index,
                rate: f.spec().train_oov_rate,
                injection: None,
            });
        }
        self.plans = plans;
        Ok(self.refresh())
    }

    /// Input columns copied unchanged into the output, after the id columns.
    pub fn with_keep<S: AsRef<str>>(mut self, columns: &[S]) -> Transformer {
        self.keep = columns.iter().map(|c| c.as_ref().to_string()).collect();
        self
    }

    /// The id column type.
    pub fn with_id_type(mut self, id_type: IdType) -> Transformer {
        self.id_type = id_type;
        self
    }

    /// Inference or training mode.
    pub fn with_mode(mut self, mode: Mode) -> Transformer {
        self.mode = mode;
        self.refresh()
    }

    /// Overrides every feature's `train_oov_rate`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when `rate` is not in `[0, 1]`.
    pub fn with_oov_rate(mut self, rate: f64) -> Result<Transformer> {
        check_rate(rate)?;
        self.plans.iter_mut().for_each(|p| p.rate = rate);
        Ok(self.refresh())
    }

    /// Overrides one feature's `train_oov_rate`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when `rate` is not in `[0, 1]` or the
    /// feature is not transformed.
    pub fn with_oov_rate_for(mut self, feature: &str, rate: f64) -> Result<Transformer> {
        check_rate(rate)?;
        let vocab = self.vocab.clone();
        let plan = self
            .plans
            .iter_mut()
            .find(|p| vocab.feature_at(p.index).name() == feature)
            .ok_or_else(|| {
                Error::InvalidArgument(format!("feature {feature:?} is not transformed"))
            })?;
        plan.rate = rate;
        Ok(self.refresh())
    }

    fn refresh(mut self) -> Transformer {
        for p in &mut self.plans {
            let f = self.vocab.feature_at(p.index);
            p.injection = match self.mode {
                Mode::Train { seed, epoch } => {
                    let inj = Injection::new(seed, epoch, f.name(), p.rate);
                    (!inj.is_never()).then(|| (inj, f.spec().train_oov_unit))
                }
                Mode::Infer => None,
            };
        }
        self
    }

    /// The vocabulary.
    pub fn vocabulary(&self) -> &Arc<Vocabulary> {
        &self.vocab
    }

    /// The features transformed, in output order.
    pub fn features(&self) -> impl Iterator<Item = Feature<'_>> {
        self.plans.iter().map(|p| self.vocab.feature_at(p.index))
    }

    /// The input columns the transformer reads: feature columns, then kept ones.
    pub fn input_columns(&self) -> Vec<String> {
        let mut cols: Vec<String> = self.features().map(|f| f.column().to_string()).collect();
        for k in &self.keep {
            if !cols.contains(k) {
                cols.push(k.clone());
            }
        }
        cols
    }

    /// Feature columns that are not kept: they may be read in any Arrow
    /// encoding (a dictionary, say), since only their ids are written.
    #[cfg(feature = "parquet")]
    pub(crate) fn dictionary_columns(&self) -> Vec<String> {
        self.features()
            .map(|f| f.column().to_string())
            .filter(|c| !self.keep.contains(c))
            .collect()
    }

    /// The output schema for batches of `input`: id columns named by the
    /// features, then the kept columns.
    ///
    /// # Errors
    /// [`Error::MissingColumn`], [`Error::UnsupportedType`],
    /// [`Error::TypeMismatch`], or [`Error::InvalidArgument`] when a kept
    /// column has a feature's name.
    pub fn output_schema(&self, input: &Schema) -> Result<SchemaRef> {
        self.output_schema_from(input, "<batch>")
    }

    pub(crate) fn output_schema_from(&self, input: &Schema, source: &str) -> Result<SchemaRef> {
        let mut fields = Vec::new();
        for f in self.features() {
            let field = column_field(input, source, f.name(), f.column())?;
            check_type(&f, field.data_type(), source)?;
            let dt = match field.data_type() {
                DataType::List(_) | DataType::LargeList(_) => {
                    DataType::new_list(self.id_type.data_type(), false)
                }
                _ => self.id_type.data_type(),
            };
            fields.push(Field::new(
                f.name(),
                dt,
                field.is_nullable() && is_list(field.data_type()),
            ));
        }
        for k in &self.keep {
            if self.features().any(|f| f.name() == k) {
                return Err(Error::InvalidArgument(format!(
                    "kept column {k:?} has the name of a feature's id column; keep it under another name or drop it from --keep"
                )));
            }
            fields.push(column_field(input, source, "<keep>", k)?.clone());
        }
        Ok(Arc::new(Schema::new(fields)))
    }

    /// Transforms one batch whose first row is row 0 (rows matter only in
    /// training mode).
    ///
    /// # Errors
    /// As [`output_schema`](Self::output_schema), and [`Error::NullValue`]
    /// for a null in a feature with `nulls = "error"`.
    pub fn transform(&self, batch: &RecordBatch) -> Result<RecordBatch> {
        Ok(self.transform_at(batch, 0)?.0)
    }

    /// Transforms one batch whose first row is global row `start_row` (rows
    /// are counted from 0 across all the inputs, in order), and reports the
    /// counts of what it did.
    ///
    /// # Errors
    /// As [`transform`](Self::transform).
    pub fn transform_at(
        &self,
        batch: &RecordBatch,
        start_row: u64,
    ) -> Result<(RecordBatch, Report)> {
        self.transform_from(batch, start_row, "<batch>", &LookupCache::default())
    }

    /// [`transform_at`](Self::transform_at) for one of a stream of batches:
    /// `cache` remembers the ids of each feature's last dictionary, so
    /// batches that share a dictionary (as those of one Parquet column chunk
    /// do) look its entries up once.
    pub(crate) fn transform_from(
        &self,
        batch: &RecordBatch,
        start_row: u64,
        source: &str,
        cache: &LookupCache,
    ) -> Result<(RecordBatch, Report)> {
        let schema = self.output_schema_from(&batch.schema(), source)?;
        let mut report = self.empty_report();
        report.rows = batch.num_rows() as u64;
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(schema.fields().len());
        for (i, (plan, stats)) in self.plans.iter().zip(&mut report.features).enumerate() {
            let f = self.vocab.feature_at(plan.index);
            let array = batch
                .column_by_name(f.column())
                .expect("checked by output_schema");
            let ctx = Context {
                feature: f,
                plan,
                start_row,
                source,
                id_type: self.id_type,
                cache: Some((cache, i)),
            };
            columns.push(ctx.column(array.as_ref(), stats)?);
        }
        for k in &self.keep {
            columns.push(
                batch
                    .column_by_name(k)
                    .expect("checked by output_schema")
                    .clone(),
            );
        }
        let out = RecordBatch::try_new(schema, columns).map_err(|source| Error::Arrow {
            context: format!("{source}: assembling the output batch"),
            source,
        })?;
        Ok((out, report))
    }

    /// A report with every feature at zero.
    pub fn empty_report(&self) -> Report {
        Report {
            rows: 0,
            features: self
                .features()
                .map(|f| FeatureReport::new(f.name()))
                .collect(),
        }
    }
}

fn check_rate(rate: f64) -> Result<()> {
    if (0.0..=1.0).contains(&rate) {
        Ok(())
    } else {
        Err(Error::InvalidArgument(format!(
            "an OOV rate must be between 0 and 1, not {rate}"
        )))
    }
}

fn is_list(dt: &DataType) -> bool {
    matches!(dt, DataType::List(_) | DataType::LargeList(_))
}

fn column_field<'s>(
    input: &'s Schema,
    source: &str,
    feature: &str,
    column: &str,
) -> Result<&'s Field> {
    input
        .field_with_name(column)
        .map_err(|_| Error::MissingColumn {
            source_name: source.to_string(),
            feature: feature.to_string(),
            column: column.to_string(),
            available: input.fields().iter().map(|f| f.name().clone()).collect(),
        })
}

/// Checks that a column of type `dt` can be looked up in `feature`:
/// strings and binaries for `bytes` keys, any integer for `int` and `uint`.
pub(crate) fn check_type(feature: &Feature<'_>, dt: &DataType, source: &str) -> Result<()> {
    // A column of nothing but nulls fits every feature.
    if *dt == DataType::Null {
        return Ok(());
    }
    let Some(kt) = key_type_of(dt) else {
        return Err(Error::UnsupportedType {
            source_name: source.to_string(),
            column: feature.column().to_string(),
            data_type: dt.to_string(),
        });
    };
    let fits = match feature.key_type() {
        KeyType::Bytes => kt == KeyType::Bytes,
        KeyType::Int | KeyType::Uint => kt != KeyType::Bytes,
    };
    if fits {
        Ok(())
    } else {
        Err(Error::TypeMismatch {
            source_name: source.to_string(),
            column: feature.column().to_string(),
            data_type: dt.to_string(),
            feature: feature.name().to_string(),
            key_type: feature.key_type().name(),
        })
    }
}

/// Per feature, the last dictionary seen and the ids of its entries.
#[derive(Default)]
pub(crate) struct LookupCache {
    slots: std::cell::RefCell<Vec<Option<CachedDictionary>>>,
}

/// A dictionary's values (kept to recognise them) and their ids.
type CachedDictionary = (ArrayRef, Vec<i32>);

/// Transforming one column of one batch.
struct Context<'a> {
    feature: Feature<'a>,
    plan: &'a Plan,
    start_row: u64,
    source: &'a str,
    id_type: IdType,
    cache: Option<(&'a LookupCache, usize)>,
}

impl Context<'_> {
    fn column(&self, array: &dyn Array, stats: &mut FeatureReport) -> Result<ArrayRef> {
        match array.data_type() {
            DataType::List(_) => self.list(array.as_list::<i32>(), stats),
            DataType::LargeList(_) => self.list(array.as_list::<i64>(), stats),
            _ => {
                let mut ids = self.lookup(array);
                let nulls = array.logical_nulls();
                if !self.needs_visits(nulls.as_ref()) {
                    self.tally(&ids, nulls.as_ref(), stats);
                    return Ok(self.ids_array(ids));
                }
                let mut buf = Vec::new();
                for row in 0..ids.len() {
                    let is_null = nulls.as_ref().is_some_and(|n| n.is_null(row));
                    self.visit(
                        &mut ids,
                        row,
                        is_null,
                        self.start_row + row as u64,
                        None,
                        stats,
                        &mut buf,
                    )?;
                }
                Ok(self.ids_array(ids))
            }
        }
    }

    fn list<O: OffsetSizeTrait>(
        &self,
        list: &GenericListArray<O>,
        stats: &mut FeatureReport,
    ) -> Result<ArrayRef> {
        let offsets = list.value_offsets();
        let first = offsets[0].as_usize();
        let last = offsets[list.len()].as_usize();
        let values = list.values().slice(first, last - first);
        let mut ids = self.lookup(values.as_ref());
        let value_nulls = values.logical_nulls();
        if list.null_count() == 0 && !self.needs_visits(value_nulls.as_ref()) {
            // Every element is visited: tally them all at once.
            self.tally(&ids, value_nulls.as_ref(), stats);
        } else {
            let mut buf = Vec::new();
            for row in 0..list.len() {
                if list.is_null(row) {
                    continue;
                }
                let (s, e) = (
                    offsets[row].as_usize() - first,
                    offsets[row + 1].as_usize() - first,
                );
                for (j, pos) in (s..e).enumerate() {
                    let is_null = value_nulls.as_ref().is_some_and(|n| n.is_null(pos));
                    self.visit(
                        &mut ids,
                        pos,
                        is_null,
                        self.start_row + row as u64,
                        Some(j as u64),
                        stats,
                        &mut buf,
                    )?;
                }
            }
        }
        let new_offsets: Vec<i32> = offsets
            .iter()
            .map(|o| i32::try_from(o.as_usize() - first))
            .collect::<Result<_, _>>()
            .map_err(|_| {
                Error::InvalidArgument(format!(
                    "{}: a batch of column {:?} has more than 2^31 list elements",
                    self.source,
                    self.feature.column()
                ))
            })?;
        let item = Arc::new(Field::new_list_field(self.id_type.data_type(), false));
        let nulls: Option<NullBuffer> = list.nulls().cloned();
        let out = ListArray::try_new(
            item,
            OffsetBuffer::new(ScalarBuffer::from(new_offsets)),
            self.ids_array(ids),
            nulls,
        )
        .map_err(|source| Error::Arrow {
            context: format!("{}: column {:?}", self.source, self.feature.column()),
            source,
        })?;
        Ok(Arc::new(out))
    }

    fn lookup(&self, array: &dyn Array) -> Vec<i32> {
        // With nulls = "error" a null is reported in `visit`; any id will do here.
        let null_id = self.feature.null_id().unwrap_or(0) as i32;
        let (Some((cache, feature)), DataType::Dictionary(..)) = (self.cache, array.data_type())
        else {
            return kernel::lookup(&self.feature, array, null_id);
        };
        let dict = array.as_any_dictionary();
        let values = dict.values();
        let mut slots = cache.slots.borrow_mut();
        if slots.len() <= feature {
            slots.resize_with(feature + 1, || None);
        }
        let slot = &mut slots[feature];
        let fresh = match slot.as_ref() {
            Some((cached, _)) => !crate::values::same_dictionary(cached, values),
            None => true,
        };
        if fresh {
            *slot = Some((
                values.clone(),
                kernel::lookup(&self.feature, values.as_ref(), null_id),
            ));
        }
        let (_, entry_ids) = slot.as_ref().expect("filled above");
        kernel::gather(array, entry_ids, null_id)
    }

    /// Whether each value must be visited on its own: to hide some in
    /// training mode, or to report the first null when nulls are an error.
    /// Otherwise [`tally`](Self::tally) takes the whole array at once.
    fn needs_visits(&self, nulls: Option<&NullBuffer>) -> bool {
        self.plan.injection.is_some()
            || (self.feature.spec().nulls == NullPolicy::Error
                && nulls.is_some_and(|n| n.null_count() > 0))
    }

    /// What [`visit`](Self::visit) would count for every position of `ids`,
    /// when nothing is hidden and no null is an error.
    fn tally(&self, ids: &[i32], nulls: Option<&NullBuffer>, stats: &mut FeatureReport) {
        let first = self.feature.layout().first_vocab_id();
        let below = |id: &i32| (*id as u32) < first;
        let (null_count, oov) = match nulls.filter(|n| n.null_count() > 0) {
            None => (0, ids.iter().filter(|id| below(id)).count()),
            Some(n) => (
                n.null_count(),
                ids.iter()
                    .zip(n.iter())
                    .filter(|&(id, valid)| valid && below(id))
                    .count(),
            ),
        };
        let occurrences = ids.len() - null_count;
        stats.null_count += null_count as u64;
        stats.occurrences += occurrences as u64;
        stats.oov_count += oov as u64;
        stats.known_count += (occurrences - oov) as u64;
    }

    /// Counts one occurrence and, in training mode, maybe hides it.
    #[allow(clippy::too_many_arguments)]
    #[inline]
    fn visit(
        &self,
        ids: &mut [i32],
        pos: usize,
        is_null: bool,
        row: u64,
        element: Option<u64>,
        stats: &mut FeatureReport,
        buf: &mut Vec<u8>,
    ) -> Result<()> {
        if is_null {
            stats.null_count += 1;
            if self.feature.spec().nulls == NullPolicy::Error {
                return Err(Error::NullValue {
                    source_name: self.source.to_string(),
                    column: self.feature.column().to_string(),
                    feature: self.feature.name().to_string(),
                    row,
                });
            }
            return Ok(());
        }
        stats.occurrences += 1;
        let layout = self.feature.layout();
        let id = ids[pos] as u32;
        if id < layout.first_vocab_id() {
            stats.oov_count += 1;
            return Ok(());
        }
        stats.known_count += 1;
        if let Some((injection, unit)) = &self.plan.injection {
            // A known id always has a key in a valid artifact; a hostile
            // one that lacks it is left as it is rather than panicking.
            let Some(key) = self.feature.key(id - layout.first_vocab_id()) else {
                return Ok(());
            };
            let hidden = match unit {
                OovUnit::Row => injection.hides_row(buf, row, element),
                OovUnit::Value => injection.hides_value(buf, key),
            };
            if hidden {
                ids[pos] = self.feature.oov_id(key) as i32;
                stats.injected += 1;
            }
        }
        Ok(())
    }

    fn ids_array(&self, ids: Vec<i32>) -> ArrayRef {
        match self.id_type {
            IdType::Int32 => Arc::new(Int32Array::from(ids)),
            IdType::Int64 => Arc::new(Int64Array::from_iter_values(ids.into_iter().map(i64::from))),
        }
    }
}

/// Batch lookups of one feature, for inference services: no Parquet, no
/// record batches, just arrays.
impl Feature<'_> {
    /// The ids of a whole array of values (any supported type but lists);
    /// a null gets the null id.
    ///
    /// # Errors
    /// [`Error::UnsupportedType`] or [`Error::TypeMismatch`] for an array
    /// this feature cannot look up (use [`ids_array`](Self::ids_array) for
    /// lists), [`Error::NullValue`] for a null when `nulls = "error"`.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use arrow_array::{RecordBatch, StringArray, DictionaryArray, types::Int32Type};
    /// # let spec = oovocab::Spec::from_toml_str("[[feature]]\nname = \"c\"").unwrap();
    /// # let mut b = oovocab::VocabularyBuilder::new(spec);
    /// # b.add_batch(&RecordBatch::try_from_iter([("c", Arc::new(StringArray::from(vec!["x", "y", "x"])) as _)]).unwrap()).unwrap();
    /// # let vocab = b.build().unwrap();
    /// let c = vocab.feature("c").unwrap();
    /// let plain = StringArray::from(vec![Some("y"), None, Some("new")]);
    /// assert_eq!(c.ids(&plain).unwrap().values().to_vec(), vec![4, 1, 2]);
    /// let dict: DictionaryArray<Int32Type> = vec!["x", "x", "y"].into_iter().collect();
    /// assert_eq!(c.ids(&dict).unwrap().values().to_vec(), vec![3, 3, 4]);
    /// ```
    pub fn ids(&self, array: &dyn Array) -> Result<Int32Array> {
        let ids = self.scalar_ids(array, IdType::Int32)?;
        Ok(ids.as_primitive::<arrow_array::types::Int32Type>().clone())
    }

    /// As [`ids`](Self::ids), with `Int64` ids.
    ///
    /// # Errors
    /// As [`ids`](Self::ids).
    pub fn ids_i64(&self, array: &dyn Array) -> Result<Int64Array> {
        let ids = self.scalar_ids(array, IdType::Int64)?;
        Ok(ids.as_primitive::<arrow_array::types::Int64Type>().clone())
    }

    /// The ids of any supported array: a list array gives a `List` of ids
    /// (a null list stays null, a null element gets the null id).
    ///
    /// # Errors
    /// As [`ids`](Self::ids).
    pub fn ids_array(&self, array: &dyn Array, id_type: IdType) -> Result<ArrayRef> {
        check_type(self, array.data_type(), "<array>")?;
        let plan = Plan {
            index: self.index(),
            rate: 0.0,
            injection: None,
        };
        let ctx = Context {
            feature: *self,
            plan: &plan,
            start_row: 0,
            source: "<array>",
            id_type,
            cache: None,
        };
        ctx.column(array, &mut FeatureReport::new(self.name()))
    }

    fn scalar_ids(&self, array: &dyn Array, id_type: IdType) -> Result<ArrayRef> {
        if is_list(array.data_type()) {
            return Err(Error::InvalidArgument(format!(
                "feature {:?}: ids() takes a flat array, not {}; use ids_array() for lists",
                self.name(),
                array.data_type()
            )));
        }
        self.ids_array(array, id_type)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::builder::VocabularyBuilder;
    use crate::spec::Spec;
    use arrow_array::builder::{LargeListBuilder, ListBuilder, StringBuilder};
    use arrow_array::types::{Int8Type, Int32Type as I32};
    use arrow_array::*;

    /// A vocabulary of `b` (3 times), `a` (2), `c` (1) with min_count 2:
    /// ids 0 padding, 1 null (with `nulls = "slot"`), 2 and 3 OOV, then
    /// b = 4, a = 5.
    fn bytes_vocab(nulls: &str) -> Arc<Vocabulary> {
        let spec = Spec::from_toml_str(&format!(
            "[[feature]]\nname = \"f\"\nmin_count = 2\noov_buckets = 2\nnulls = \"{nulls}\"\n"
        ))
        .unwrap();
        let mut b = VocabularyBuilder::new(spec);
        let batch = RecordBatch::try_from_iter([(
            "f",
            Arc::new(StringArray::from(vec!["b", "a", "b", "c", "a", "b"])) as ArrayRef,
        )])
        .unwrap();
        b.add_batch(&batch).unwrap();
        Arc::new(b.build().unwrap())
    }

    fn ids_of(vocab: &Vocabulary, array: &dyn Array) -> Vec<i32> {
        vocab
            .feature("f")
            .unwrap()
            .ids(array)
            .unwrap()
            .values()
            .to_vec()
    }

    #[test]
    fn every_bytes_type_gives_the_same_ids() {
        let v = bytes_vocab("slot");
        let f = v.feature("f").unwrap();
        let oov = f.oov_id("zz") as i32;
        let expected = vec![4, 5, 1, oov];
        let vals = vec![Some("b"), Some("a"), None, Some("zz")];
        let bytes: Vec<Option<&[u8]>> = vals.iter().map(|v| v.map(str::as_bytes)).collect();
        let arrays: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from(vals.clone())),
            Arc::new(LargeStringArray::from(vals.clone())),
            Arc::new(StringViewArray::from(vals.clone())),
            Arc::new(BinaryArray::from(bytes.clone())),
            Arc::new(LargeBinaryArray::from(bytes.clone())),
            Arc::new(BinaryViewArray::from(bytes.clone())),
            Arc::new(vals.iter().copied().collect::<DictionaryArray<I32>>()),
            Arc::new(vals.iter().copied().collect::<DictionaryArray<Int8Type>>()),
        ];
        for a in arrays {
            assert_eq!(ids_of(&v, a.as_ref()), expected, "{}", a.data_type());
        }
        let fixed = FixedSizeBinaryArray::try_from_sparse_iter_with_size(
            vec![Some(b"b"), None, Some(b"q")].into_iter(),
            1,
        )
        .unwrap();
        assert_eq!(ids_of(&v, &fixed), vec![4, 1, f.oov_id("q") as i32]);
    }

    #[test]
    fn dictionary_with_null_values_and_unused_entries() {
        let v = bytes_vocab("slot");
        let values = StringArray::from(vec![Some("a"), None, Some("unused"), Some("b")]);
        let keys = Int32Array::from(vec![Some(3), Some(1), None, Some(0)]);
        let dict = DictionaryArray::<I32>::try_new(keys, Arc::new(values)).unwrap();
        assert_eq!(ids_of(&v, &dict), vec![4, 1, 1, 5]);
    }

    #[test]
    fn integer_widths_map_to_the_same_keys() {
        let spec = Spec::from_toml_str("[[feature]]\nname = \"f\"\n").unwrap();
        let mut b = VocabularyBuilder::new(spec);
        b.add_batch(
            &RecordBatch::try_from_iter([(
                "f",
                Arc::new(Int64Array::from(vec![7, 7, 9])) as ArrayRef,
            )])
            .unwrap(),
        )
        .unwrap();
        let v = b.build().unwrap();
        let f = v.feature("f").unwrap();
        let expected = vec![3, 4, f.oov_id(5i64) as i32, 1];
        let arrays: Vec<ArrayRef> = vec![
            Arc::new(Int8Array::from(vec![Some(7), Some(9), Some(5), None])),
            Arc::new(Int16Array::from(vec![Some(7), Some(9), Some(5), None])),
            Arc::new(Int32Array::from(vec![Some(7), Some(9), Some(5), None])),
            Arc::new(Int64Array::from(vec![Some(7), Some(9), Some(5), None])),
            Arc::new(UInt8Array::from(vec![Some(7), Some(9), Some(5), None])),
            Arc::new(UInt16Array::from(vec![Some(7), Some(9), Some(5), None])),
            Arc::new(UInt32Array::from(vec![Some(7), Some(9), Some(5), None])),
            Arc::new(UInt64Array::from(vec![Some(7), Some(9), Some(5), None])),
        ];
        for a in arrays {
            assert_eq!(
                f.ids(a.as_ref()).unwrap().values().to_vec(),
                expected,
                "{}",
                a.data_type()
            );
        }
        assert!(matches!(
            f.ids(&StringArray::from(vec!["7"])),
            Err(Error::TypeMismatch { .. })
        ));
        assert!(matches!(
            f.ids(&Float32Array::from(vec![7.0])),
            Err(Error::UnsupportedType { .. })
        ));
        assert_eq!(
            f.ids_i64(&Int64Array::from(vec![7]))
                .unwrap()
                .values()
                .to_vec(),
            vec![3i64]
        );
    }

    #[test]
    fn lists_keep_null_lists_and_map_null_elements() {
        let v = bytes_vocab("slot");
        let f = v.feature("f").unwrap();
        let mut lb = ListBuilder::new(StringBuilder::new());
        lb.append_value([Some("a"), None, Some("b")]);
        lb.append_null();
        lb.append_value([] as [Option<&str>; 0]);
        lb.append_value([Some("zz")]);
        let list = lb.finish();
        let mut large = LargeListBuilder::new(StringBuilder::new());
        for i in 0..list.len() {
            if list.is_null(i) {
                large.append_null();
            } else {
                let inner = list.value(i);
                large.append_value(inner.as_string::<i32>().iter());
            }
        }
        let large = large.finish();
        for array in [&list as &dyn Array, &large as &dyn Array] {
            let out = f.ids_array(array, IdType::Int32).unwrap();
            let out = out.as_list::<i32>();
            assert!(out.is_null(1) && out.is_valid(2));
            assert_eq!(
                out.value(0).as_primitive::<I32>().values().to_vec(),
                vec![5, 1, 4]
            );
            assert_eq!(out.value(2).len(), 0);
            assert_eq!(
                out.value(3).as_primitive::<I32>().values().to_vec(),
                vec![f.oov_id("zz") as i32]
            );
        }
        // A sliced list (offsets not starting at 0) maps the same.
        let sliced = list.slice(2, 2);
        let out = f.ids_array(&sliced, IdType::Int64).unwrap();
        let out = out.as_list::<i32>();
        assert_eq!(
            out.value(1)
                .as_primitive::<arrow_array::types::Int64Type>()
                .values()
                .to_vec(),
            vec![f.oov_id("zz") as i64]
        );
        assert!(f.ids(&list).is_err(), "ids() is for flat arrays");
    }

    #[test]
    fn null_policies() {
        let nulls = StringArray::from(vec![None, Some("b")]);
        assert_eq!(ids_of(&bytes_vocab("oov"), &nulls), vec![1, 3]);
        let v = bytes_vocab("error");
        let err = v.feature("f").unwrap().ids(&nulls).unwrap_err().to_string();
        assert!(err.contains("null") && err.contains("\"f\""), "{err}");
    }

    #[test]
    fn transform_reports_and_keeps_columns() {
        let v = bytes_vocab("slot");
        let batch = RecordBatch::try_from_iter([
            (
                "f",
                Arc::new(StringArray::from(vec![Some("a"), None, Some("q")])) as ArrayRef,
            ),
            (
                "label",
                Arc::new(Int32Array::from(vec![1, 0, 1])) as ArrayRef,
            ),
        ])
        .unwrap();
        let t = Transformer::new(v.clone()).with_keep(&["label"]);
        let (out, report) = t.transform_at(&batch, 0).unwrap();
        assert_eq!(out.schema().field(0).name(), "f");
        assert_eq!(out.column(1).as_ref(), batch.column(1).as_ref());
        let r = &report.features[0];
        assert_eq!(
            (
                r.occurrences,
                r.null_count,
                r.known_count,
                r.oov_count,
                r.injected
            ),
            (2, 1, 1, 1, 0)
        );
        let clash = Transformer::new(v.clone())
            .with_keep(&["f"])
            .transform(&batch)
            .unwrap_err();
        assert!(clash.to_string().contains("kept column \"f\""));
        let missing = Transformer::new(v)
            .transform(&RecordBatch::try_from_iter([("g", batch.column(1).clone())]).unwrap())
            .unwrap_err();
        assert!(
            missing.to_string().contains("the columns are: g"),
            "{missing}"
        );
    }

    /// Inference reports are tallied per array when no value needs a visit
    /// of its own (no null list, no null that is an error), and visited
    /// value by value otherwise: both count the same.
    #[test]
    fn reports_agree_whether_tallied_or_visited() {
        let report = |v: &Arc<Vocabulary>, column: ArrayRef| {
            let batch = RecordBatch::try_from_iter([("f", column)]).unwrap();
            let (_, report) = Transformer::new(v.clone()).transform_at(&batch, 0).unwrap();
            let r = &report.features[0];
            (r.occurrences, r.null_count, r.known_count, r.oov_count)
        };
        let v = bytes_vocab("slot");
        // Lists without a null list: tallied.
        let mut lb = ListBuilder::new(StringBuilder::new());
        lb.append_value([Some("a"), None, Some("b"), Some("zz")]);
        lb.append_value([Some("b"), None]);
        let tallied = lb.finish();
        // The same elements with a null list between them: visited.
        lb.append_value([Some("a"), None, Some("b"), Some("zz")]);
        lb.append_null();
        lb.append_value([Some("b"), None]);
        let visited = lb.finish();
        assert_eq!(visited.null_count(), 1);
        let expected = (4, 2, 3, 1);
        assert_eq!(report(&v, Arc::new(tallied)), expected);
        assert_eq!(report(&v, Arc::new(visited)), expected);
        // Flat arrays: with nulls under the "slot" and "oov" policies
        // (tallied), without nulls under "error" (tallied too).
        let flat = StringArray::from(vec![Some("a"), None, Some("q"), Some("b"), None]);
        for nulls in ["slot", "oov"] {
            let v = bytes_vocab(nulls);
            assert_eq!(report(&v, Arc::new(flat.clone())), (3, 2, 2, 1), "{nulls}");
        }
        let no_nulls = StringArray::from(vec!["a", "q", "q"]);
        assert_eq!(
            report(&bytes_vocab("error"), Arc::new(no_nulls)),
            (3, 0, 1, 2)
        );
    }

    #[test]
    fn one_vocabulary_serves_many_threads() {
        fn send_sync<T: Send + Sync>() {}
        send_sync::<Vocabulary>();
        send_sync::<Transformer>();
        let v = bytes_vocab("slot");
        let values: Vec<String> = (0..10_000)
            .map(|i| ["a", "b", "c", "zz"][i % 4].to_string())
            .collect();
        let batch =
            RecordBatch::try_from_iter([("f", Arc::new(StringArray::from(values)) as ArrayRef)])
                .unwrap();
        let t = Transformer::new(v)
            .with_mode(Mode::Train { seed: 5, epoch: 1 })
            .with_oov_rate(0.5)
            .unwrap();
        let expected = t.transform_at(&batch, 100).unwrap();
        assert!(expected.1.features[0].injected > 2000, "{:?}", expected.1);
        std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|_| s.spawn(|| t.clone().transform_at(&batch, 100).unwrap()))
                .collect();
            for h in handles {
                assert_eq!(h.join().unwrap(), expected);
            }
        });
    }
}
