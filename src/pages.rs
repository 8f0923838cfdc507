//! Dictionary-encoded string columns counted straight from their Parquet
//! pages: the dictionary page's entries, and how often each index occurs
//! in the data pages, with no Arrow arrays built.
//!
//! Reading a list column as Arrow arrays rebuilds every list from the
//! repetition and definition levels; for the benchmark's `tags` that was
//! most of its read. Counting needs none of it: the non-null values of a
//! page are its dictionary indices, and the definition levels only say
//! which values are null elements.
//!
//! This path takes the chunks it knows (data pages v1 and v2, RLE levels,
//! dictionary indices) and declines anything else, leaving the chunk to
//! the Arrow reader: a damaged or unusual chunk gets the reader's own
//! error, or its own reading.

use std::fs::File;
use std::sync::Arc;

use arrow_array::{ArrayRef, BinaryArray};
use arrow_buffer::{Buffer, OffsetBuffer};
use parquet::basic::{Encoding, Repetition, Type as PhysicalType};
use parquet::column::page::Page;
use parquet::file::metadata::ParquetMetaData;
use parquet::file::serialized_reader::SerializedPageReader;
use parquet::schema::types::ColumnDescPtr;

use crate::rle::{bit_width_of, for_each_run};

/// A leaf column whose chunks can be counted page by page.
#[derive(Debug, Clone)]
pub(crate) struct PagedColumn {
    /// The leaf's index among the file's columns.
    leaf: usize,
    descr: ColumnDescPtr,
    /// Whether entries must be UTF-8 (the column is a string column).
    utf8: bool,
}

/// What one column chunk holds: its dictionary entries, how many times
/// each occurs, and its null values (null elements of a list; a null list
/// holds no value).
#[derive(Debug)]
pub(crate) struct ChunkCounts {
    pub dictionary: ArrayRef,
    pub histogram: Vec<u64>,
    pub nulls: u64,
}

impl PagedColumn {
    /// The leaf `leaf` when its values are byte arrays (`utf8` for
    /// strings) and it is a flat column or a list of values; `None` when
    /// it is another column.
    pub(crate) fn new(meta: &ParquetMetaData, leaf: usize, utf8: bool) -> Option<PagedColumn> {
        let descr = meta.file_metadata().schema_descr().column(leaf);
        (descr.physical_type() == PhysicalType::BYTE_ARRAY && descr.max_rep_level() <= 1)
            .then_some(PagedColumn { leaf, descr, utf8 })
    }

    /// Counts row group `row_group`'s chunk of this column in `file`, or
    /// `None` when the chunk is not one this path reads (or is damaged).
    pub(crate) fn count(
        &self,
        file: File,
        meta: &ParquetMetaData,
        row_group: usize,
    ) -> Option<ChunkCounts> {
        let group = meta.row_group(row_group);
        let chunk = group.column(self.leaf);
        let rows = usize::try_from(group.num_rows()).ok()?;
        let pages = SerializedPageReader::new(Arc::new(file), chunk, rows, None).ok()?;
        let mut counts: Option<ChunkCounts> = None;
        for page in pages {
            match page.ok()? {
                Page::DictionaryPage {
                    buf,
                    num_values,
                    encoding,
                    ..
                } => {
                    if counts.is_some()
                        || !matches!(encoding, Encoding::PLAIN | Encoding::PLAIN_DICTIONARY)
                    {
                        return None;
                    }
                    let dictionary = self.dictionary(&buf, num_values as usize)?;
                    counts = Some(ChunkCounts {
                        histogram: vec![0; dictionary.len()],
                        dictionary,
                        nulls: 0,
                    });
                }
                Page::DataPage {
                    buf,
                    num_values,
                    encoding,
                    def_level_encoding,
                    rep_level_encoding,
                    ..
                } => {
                    let levels = |e: Encoding| e == Encoding::RLE;
                    if !levels(def_level_encoding) || !levels(rep_level_encoding) {
                        return None;
                    }
                    // v1: each level section has a 4-byte length first.
                    let mut data: &[u8] = &buf;
                    if self.descr.max_rep_level() > 0 {
                        data = skip_prefixed(data)?;
                    }
                    let (def_levels, values) = if self.descr.max_def_level() > 0 {
                        let (len, rest) = data.split_first_chunk::<4>()?;
                        rest.split_at_checked(u32::from_le_bytes(*len) as usize)?
                    } else {
                        (&[][..], data)
                    };
                    self.count_page(counts.as_mut()?, encoding, num_values, def_levels, values)?;
                }
                Page::DataPageV2 {
                    buf,
                    num_values,
                    encoding,
                    def_levels_byte_len,
                    rep_levels_byte_len,
                    ..
                } => {
                    // v2: the level sections' lengths are in the header.
                    let data = buf.get(rep_levels_byte_len as usize..)?;
                    let (def_levels, values) =
                        data.split_at_checked(def_levels_byte_len as usize)?;
                    self.count_page(counts.as_mut()?, encoding, num_values, def_levels, values)?;
                }
            }
        }
        counts
    }

    /// The dictionary page's `n` entries (plain: a 4-byte length, then the
    /// bytes), checked to be UTF-8 for a string column.
    fn dictionary(&self, mut data: &[u8], n: usize) -> Option<ArrayRef> {
        let mut offsets = Vec::with_capacity(n + 1);
        let mut values = Vec::with_capacity(data.len().saturating_sub(4 * n));
        offsets.push(0i32);
        for _ in 0..n {
            let (len, rest) = data.split_first_chunk::<4>()?;
            let (value, rest) = rest.split_at_checked(u32::from_le_bytes(*len) as usize)?;
            if self.utf8 && std::str::from_utf8(value).is_err() {
                return None;
            }
            values.extend_from_slice(value);
            offsets.push(i32::try_from(values.len()).ok()?);
            data = rest;
        }
        let offsets = OffsetBuffer::new(offsets.into());
        Some(Arc::new(BinaryArray::new(
            offsets,
            Buffer::from(values),
            None,
        )))
    }

    /// Adds one data page: `levels` definition levels (`def_levels`), then
    /// the dictionary indices of its non-null values (`values`: a byte of
    /// bit width, then the indices).
    fn count_page(
        &self,
        counts: &mut ChunkCounts,
        encoding: Encoding,
        levels: u32,
        def_levels: &[u8],
        values: &[u8],
    ) -> Option<()> {
        if !matches!(
            encoding,
            Encoding::RLE_DICTIONARY | Encoding::PLAIN_DICTIONARY
        ) {
            return None;
        }
        let levels = levels as usize;
        let max_def = self.descr.max_def_level();
        // A value is there at the highest level; one level below, an
        // optional leaf is a null value (a null element of a list); lower
        // levels are null or empty lists, which hold nothing.
        let null_level = match self.descr.self_type().get_basic_info().repetition() {
            Repetition::OPTIONAL => Some(max_def - 1),
            _ => None,
        };
        let present = if max_def == 0 {
            levels
        } else {
            let mut present = 0;
            for_each_run(def_levels, bit_width_of(max_def), levels, |level, n| {
                let level = i16::try_from(level).ok()?;
                if level == max_def {
                    present += n;
                } else if Some(level) == null_level {
                    counts.nulls += n as u64;
                } else if level > max_def {
                    return None;
                }
                Some(())
            })?;
            present
        };
        let (&width, indices) = values.split_first()?;
        let histogram = &mut counts.histogram;
        for_each_run(indices, width, present, |index, n| {
            *histogram.get_mut(index as usize)? += n as u64;
            Some(())
        })
    }
}

/// `data` past a section that starts with its 4-byte length.
fn skip_prefixed(data: &[u8]) -> Option<&[u8]> {
    let (len, rest) = data.split_first_chunk::<4>()?;
    rest.get(u32::from_le_bytes(*len) as usize..)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use arrow_array::builder::{BinaryBuilder, ListBuilder};
    use arrow_array::cast::AsArray;
    use arrow_array::{Array, RecordBatch};
    use arrow_schema::{DataType, Field, Schema};
    use parquet::arrow::ArrowWriter;
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use parquet::basic::Compression;
    use parquet::file::properties::{WriterProperties, WriterVersion};
    use proptest::prelude::*;

    use super::*;
    use crate::scan::ParquetInput;

    /// Counts by key, and nulls.
    type Tally = (HashMap<Vec<u8>, u64>, u64);

    /// A row: `None` a null list, else its elements (`None` a null one).
    type Row = Option<Vec<Option<u8>>>;

    /// What reading `column` with Arrow counts: list elements of valid
    /// lists (or the values of a flat column), null ones as nulls.
    fn arrow_tally(path: &std::path::Path, column: &str) -> Tally {
        let (mut counts, mut nulls) = (HashMap::new(), 0);
        let reader = ParquetRecordBatchReaderBuilder::try_new(File::open(path).unwrap())
            .unwrap()
            .build()
            .unwrap();
        for batch in reader {
            let batch = batch.unwrap();
            let col = batch.column_by_name(column).unwrap();
            let arrays: Vec<ArrayRef> = match col.data_type() {
                DataType::List(_) => {
                    let l = col.as_list::<i32>();
                    (0..l.len())
                        .filter(|&i| l.is_valid(i))
                        .map(|i| l.value(i))
                        .collect()
                }
                _ => vec![col.clone()],
            };
            for a in arrays {
                let a = arrow_cast_binary(&a);
                for i in 0..a.len() {
                    if a.is_null(i) {
                        nulls += 1;
                    } else {
                        *counts.entry(a.value(i).to_vec()).or_insert(0) += 1;
                    }
                }
            }
        }
        (counts, nulls)
    }

    fn arrow_cast_binary(a: &ArrayRef) -> BinaryArray {
        match a.data_type() {
            DataType::Utf8 => BinaryArray::from(a.as_string::<i32>().clone()),
            DataType::Binary => a.as_binary::<i32>().clone(),
            other => panic!("unexpected {other}"),
        }
    }

    /// What the page path counts over every row group of `column`; fails
    /// when it declines a chunk.
    fn page_tally(path: &std::path::Path, column: &str) -> Tally {
        let input = ParquetInput::open(path, &[column.to_string()]).unwrap();
        let paged = input.paged_column(column).expect("a paged column");
        let (mut counts, mut nulls) = (HashMap::new(), 0);
        for g in 0..input.num_row_groups() {
            let chunk = input.count_pages(g, &paged).expect("the chunk is read");
            let dictionary = chunk.dictionary.as_binary::<i32>();
            for (i, &n) in chunk.histogram.iter().enumerate() {
                if n > 0 {
                    *counts.entry(dictionary.value(i).to_vec()).or_insert(0) += n;
                }
            }
            nulls += chunk.nulls;
        }
        (counts, nulls)
    }

    /// A file of one flat column and one list column of `rows`, strings or
    /// binaries, nullable or not, in data pages of the given version.
    fn write(
        rows: &[Row],
        (strings, nullable, v2): (bool, bool, bool),
        page_rows: usize,
        group_rows: usize,
    ) -> tempfile::TempPath {
        let key = |k: u8| format!("key-{k}").into_bytes();
        let mut flat = BinaryBuilder::new();
        let mut list = ListBuilder::new(BinaryBuilder::new()).with_field(Field::new(
            "item",
            DataType::Binary,
            nullable,
        ));
        for row in rows {
            let first = row.as_ref().and_then(|r| r.first().copied().flatten());
            flat.append_option(first.map(key));
            match row {
                None => list.append_null(),
                Some(r) => {
                    for e in r {
                        let e = e.or((!nullable).then_some(0));
                        list.values().append_option(e.map(key));
                    }
                    list.append(true);
                }
            }
        }
        let (mut flat, mut list): (ArrayRef, ArrayRef) =
            (Arc::new(flat.finish()), Arc::new(list.finish()));
        if strings {
            let item = Field::new("item", DataType::Utf8, nullable);
            flat = arrow_cast::cast(&flat, &DataType::Utf8).unwrap();
            list = arrow_cast::cast(&list, &DataType::List(Arc::new(item))).unwrap();
        }
        let schema = Arc::new(Schema::new(vec![
            Field::new("flat", flat.data_type().clone(), true),
            Field::new("list", list.data_type().clone(), true),
        ]));
        let batch = RecordBatch::try_new(schema.clone(), vec![flat, list]).unwrap();
        let version = if v2 {
            WriterVersion::PARQUET_2_0
        } else {
            WriterVersion::PARQUET_1_0
        };
        let props = WriterProperties::builder()
            .set_writer_version(version)
            .set_compression(Compression::SNAPPY)
            .set_data_page_row_count_limit(page_rows)
            .set_write_batch_size(page_rows)
            .set_max_row_group_row_count(Some(group_rows))
            .build();
        let path = tempfile::NamedTempFile::new().unwrap().into_temp_path();
        let mut w =
            ArrowWriter::try_new(File::create(&path).unwrap(), schema, Some(props)).unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
        path
    }

    fn rows() -> impl Strategy<Value = Vec<Row>> {
        let element = prop::option::weighted(0.9, 0u8..40);
        let row = prop::option::weighted(0.85, prop::collection::vec(element, 0..5));
        prop::collection::vec(row, 1..400)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        #[test]
        fn pages_count_what_the_arrow_reader_reads(
            rows in rows(),
            kind in (any::<bool>(), any::<bool>(), any::<bool>()),
            page_rows in 1usize..64,
            group_rows in 1usize..300,
        ) {
            let path = write(&rows, kind, page_rows, group_rows);
            for column in ["flat", "list"] {
                prop_assert_eq!(page_tally(&path, column), arrow_tally(&path, column), "{}", column);
            }
        }
    }

    #[test]
    fn a_plain_column_is_not_paged() {
        // Dictionary encoding off: no dictionary page, nothing to tally.
        let batch = RecordBatch::try_from_iter([(
            "s",
            Arc::new(arrow_array::StringArray::from(vec!["a", "b"])) as ArrayRef,
        )])
        .unwrap();
        let props = WriterProperties::builder()
            .set_dictionary_enabled(false)
            .build();
        let path = tempfile::NamedTempFile::new().unwrap().into_temp_path();
        let mut w = ArrowWriter::try_new(File::create(&path).unwrap(), batch.schema(), Some(props))
            .unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
        let input = ParquetInput::open(&path, &["s".to_string()]).unwrap();
        assert!(input.paged_column("s").is_none());
    }
}
