//! The streaming transformer: an Arrow `RecordBatchReader` of ids over a
//! reader of input batches.

use arrow_array::{RecordBatch, RecordBatchReader};
use arrow_schema::{ArrowError, SchemaRef};

use super::{LookupCache, Report, Transformer};
use crate::error::{Error, Result};

/// Transforms the batches of a reader as they are read; memory stays
/// bounded by one batch. Rows are numbered from `start_row` (0 by default)
/// across the batches, for training-mode injection.
///
/// ```
/// # use std::sync::Arc;
/// # use arrow_array::{RecordBatch, RecordBatchIterator, StringArray};
/// # use oovocab::{Spec, Transformer, TransformReader, VocabularyBuilder};
/// # let spec = Spec::from_toml_str("[[feature]]\nname = \"item\"").unwrap();
/// # let batch = RecordBatch::try_from_iter([("item", Arc::new(StringArray::from(vec!["a", "b"])) as _)]).unwrap();
/// # let mut b = VocabularyBuilder::new(spec);
/// # b.add_batch(&batch).unwrap();
/// let transformer = Transformer::new(Arc::new(b.build().unwrap()));
/// let input = RecordBatchIterator::new(vec![Ok(batch.clone()), Ok(batch)], batch_schema());
/// # fn batch_schema() -> arrow_schema::SchemaRef { Arc::new(arrow_schema::Schema::new(vec![arrow_schema::Field::new("item", arrow_schema::DataType::Utf8, false)])) }
/// let mut reader = TransformReader::try_new(input, transformer).unwrap();
/// let rows: usize = reader.by_ref().map(|b| b.unwrap().num_rows()).sum();
/// assert_eq!(rows, 4);
/// assert_eq!(reader.report().features[0].known_count, 4);
/// ```
pub struct TransformReader<R> {
    input: R,
    transformer: Transformer,
    schema: SchemaRef,
    next_row: u64,
    report: Report,
    source: String,
    cache: LookupCache,
}

impl<R: RecordBatchReader> TransformReader<R> {
    /// Wraps `input`; the output schema is fixed here from the input's.
    ///
    /// # Errors
    /// As [`Transformer::output_schema`].
    pub fn try_new(input: R, transformer: Transformer) -> Result<Self> {
        Self::with_source(input, transformer, 0, "<batch>".to_string())
    }

    /// Numbers rows from `start_row` instead of 0.
    pub fn starting_at(mut self, start_row: u64) -> Self {
        self.next_row = start_row;
        self
    }

    pub(crate) fn with_source(
        input: R,
        transformer: Transformer,
        start_row: u64,
        source: String,
    ) -> Result<Self> {
        let schema = transformer.output_schema_from(&input.schema(), &source)?;
        let report = transformer.empty_report();
        Ok(TransformReader {
            input,
            transformer,
            schema,
            next_row: start_row,
            report,
            source,
            cache: LookupCache::default(),
        })
    }

    /// What has been transformed so far.
    pub fn report(&self) -> &Report {
        &self.report
    }

    fn next_inner(&mut self) -> Result<Option<RecordBatch>> {
        let Some(batch) = self.input.next() else {
            return Ok(None);
        };
        let batch = batch.map_err(|source| Error::Arrow {
            context: self.source.clone(),
            source,
        })?;
        let (out, report) =
            self.transformer
                .transform_from(&batch, self.next_row, &self.source, &self.cache)?;
        self.next_row += batch.num_rows() as u64;
        self.report.add(&report);
        Ok(Some(out))
    }
}

impl<R: RecordBatchReader> Iterator for TransformReader<R> {
    type Item = Result<RecordBatch, ArrowError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_inner()
            .map_err(|e| ArrowError::ExternalError(Box::new(e)))
            .transpose()
    }
}

impl<R: RecordBatchReader> RecordBatchReader for TransformReader<R> {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }
}
