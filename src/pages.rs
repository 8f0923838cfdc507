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
//! A flat column's chunk may also hold plain-encoded pages: the writer
//! falls back to them when the dictionary grows too large (the
//! benchmark's `item_id` does after ~28% of each row group). Their values
//! are gathered into one array per chunk ([`ChunkCounts::plain`]), which
//! the caller counts as it would an Arrow column; the dictionary pages are
//! still tallied.
//!
//! This path takes the chunks it knows (data pages v1 and v2, RLE levels,
//! dictionary indices, plain values) and declines anything else, leaving
//! the chunk to the Arrow reader: a damaged or unusual chunk gets the
//! reader's own error, or its own reading. Nothing of a chunk is counted
//! until the whole chunk is read, so a declined chunk counts once.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::{ArrayRef, BinaryArray};
use arrow_buffer::{Buffer, OffsetBuffer};
use bytes::Bytes;
use parquet::basic::{Encoding, Repetition, Type as PhysicalType};
use parquet::column::page::Page;
use parquet::file::metadata::{ColumnChunkMetaData, ParquetMetaData};
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
/// each occurs, its null values (null elements of a list; a null list
/// holds no value), and the values of its plain-encoded pages.
#[derive(Debug)]
pub(crate) struct ChunkCounts {
    /// Empty when the chunk has no dictionary page.
    pub dictionary: ArrayRef,
    pub histogram: Vec<u64>,
    pub nulls: u64,
    /// The non-null values of the plain-encoded pages, in order (a
    /// `BinaryArray` with no nulls), when there are any.
    pub plain: Option<ArrayRef>,
}

/// The most uncompressed bytes a chunk with plain-encoded pages may hold
/// for this path to read it: its plain values are held until the whole
/// chunk is read, where the Arrow reader holds a batch at a time.
const MAX_PLAIN_CHUNK: i64 = 16 << 20;

impl PagedColumn {
    /// The leaf `leaf` when its values are byte arrays (`utf8` for
    /// strings) and it is a flat column or a list of values; `None` when
    /// it is another column.
    pub(crate) fn new(meta: &ParquetMetaData, leaf: usize, utf8: bool) -> Option<PagedColumn> {
        let descr = meta.file_metadata().schema_descr().column(leaf);
        (descr.physical_type() == PhysicalType::BYTE_ARRAY && descr.max_rep_level() <= 1)
            .then_some(PagedColumn { leaf, descr, utf8 })
    }

    /// This column's chunk in row group `row_group`.
    pub(crate) fn chunk<'m>(
        &self,
        meta: &'m ParquetMetaData,
        row_group: usize,
    ) -> &'m ColumnChunkMetaData {
        meta.row_group(row_group).column(self.leaf)
    }

    /// Counts `chunk`, this column's chunk of a row group of `rows` rows,
    /// in `file` ([`chunk`](Self::chunk)), or `None` when the chunk is not
    /// one this path reads (or is damaged). Its plain values are gathered
    /// in buffers from `spare` when it has some.
    pub(crate) fn count(
        &self,
        file: Bytes,
        chunk: &ColumnChunkMetaData,
        rows: i64,
        spare: &mut SpareBuffers,
    ) -> Option<ChunkCounts> {
        let rows = usize::try_from(rows).ok()?;
        let pages = SerializedPageReader::new(Arc::new(file), chunk, rows, None).ok()?;
        // Plain pages are read in a flat column (a list's values would
        // need their lists), when the chunk is small enough to hold its
        // plain values; else one declines the chunk.
        let mut plain = (self.descr.max_rep_level() == 0
            && chunk.uncompressed_size() <= MAX_PLAIN_CHUNK)
            .then(|| PlainValues::for_chunk(chunk.uncompressed_size(), chunk.num_values(), spare));
        let mut counts: Option<ChunkCounts> = None;
        for page in pages {
            let page = page.ok()?;
            let (encoding, levels, def_levels, values) = match &page {
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
                    let dictionary = self.dictionary(buf, *num_values as usize)?;
                    counts = Some(ChunkCounts::of(dictionary));
                    continue;
                }
                Page::DataPage {
                    buf,
                    num_values,
                    encoding,
                    def_level_encoding,
                    rep_level_encoding,
                    ..
                } => {
                    let levels = |e: &Encoding| *e == Encoding::RLE;
                    if !levels(def_level_encoding) || !levels(rep_level_encoding) {
                        return None;
                    }
                    // v1: each level section has a 4-byte length first.
                    let mut data: &[u8] = buf;
                    if self.descr.max_rep_level() > 0 {
                        data = skip_prefixed(data)?;
                    }
                    let (def_levels, values) = if self.descr.max_def_level() > 0 {
                        let (len, rest) = data.split_first_chunk::<4>()?;
                        rest.split_at_checked(u32::from_le_bytes(*len) as usize)?
                    } else {
                        (&[][..], data)
                    };
                    (*encoding, *num_values, def_levels, values)
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
                    let data = buf.get(*rep_levels_byte_len as usize..)?;
                    let (def_levels, values) =
                        data.split_at_checked(*def_levels_byte_len as usize)?;
                    (*encoding, *num_values, def_levels, values)
                }
            };
            if counts.is_none() {
                // No dictionary page: plain pages only, if any are read.
                plain.as_ref()?;
                counts = Some(ChunkCounts::of(empty_binary()));
            }
            let page_values = (encoding, levels, def_levels, values);
            self.count_page(counts.as_mut()?, plain.as_mut(), page_values)?;
            if let Some(plain) = &mut plain {
                plain.read_past(page.buffer().len(), levels as usize);
            }
        }
        let mut counts = counts?;
        counts.plain = match plain {
            Some(values) if !values.is_empty() => Some(values.finish(self.utf8)?),
            // Dictionary pages only: the buffers go to the next chunk.
            Some(unused) => {
                spare.keep(unused.offsets, unused.bytes);
                None
            }
            None => None,
        };
        Some(counts)
    }

    /// The dictionary page's `n` entries (plain: a 4-byte length, then the
    /// bytes), checked to be UTF-8 for a string column.
    fn dictionary(&self, data: &[u8], n: usize) -> Option<ArrayRef> {
        let mut entries = PlainValues::default();
        entries.extend(data, n)?;
        entries.finish(self.utf8)
    }

    /// Adds one data page: its encoding, `levels` definition levels
    /// (`def_levels`), then its non-null values (`values`): their
    /// dictionary indices (a byte of bit width, then the indices), or the
    /// values themselves, gathered into `plain` when plain pages are read.
    fn count_page(
        &self,
        counts: &mut ChunkCounts,
        mut plain: Option<&mut PlainValues>,
        (encoding, levels, def_levels, values): (Encoding, u32, &[u8], &[u8]),
    ) -> Option<()> {
        let dictionary = match encoding {
            Encoding::RLE_DICTIONARY | Encoding::PLAIN_DICTIONARY => true,
            Encoding::PLAIN if plain.is_some() => false,
            _ => return None,
        };
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
        if !dictionary {
            return plain.as_mut()?.extend(values, present);
        }
        let (&width, indices) = values.split_first()?;
        let histogram = &mut counts.histogram;
        for_each_run(indices, width, present, |index, n| {
            *histogram.get_mut(index as usize)? += n as u64;
            Some(())
        })
    }
}

/// Plain-encoded byte arrays (each a 4-byte length, then its bytes),
/// gathered into one array.
#[derive(Debug)]
struct PlainValues {
    offsets: Vec<i32>,
    bytes: Vec<u8>,
    /// The bytes and values to reserve for when the first values come;
    /// `None` once reserved.
    expected: Option<(usize, usize)>,
}

impl Default for PlainValues {
    fn default() -> Self {
        PlainValues {
            offsets: vec![0],
            bytes: Vec::new(),
            expected: None,
        }
    }
}

/// Buffers of plain values already counted, which a thread keeps for the
/// next chunks it reads ([`recycle`](Self::recycle)): a chunk's values
/// take megabytes, and every fresh 4 KiB page of them costs a page fault
/// (on the project's VM, a quarter of a `build`'s page faults while the
/// buffers were not reused). The largest
/// are kept, and the largest is taken first: most chunks of a thread hold
/// no plain values at all (their dictionary did not fill), and their
/// unused buffers must not push out those that fit the chunks that do.
#[derive(Debug, Default)]
pub(crate) struct SpareBuffers(Vec<(Vec<i32>, Vec<u8>)>);

/// The most buffers a thread keeps: as many as the chunks a thread may
/// hold while another counts into their table (`HELD_BATCHES` in
/// `count::parallel`), which come back together once it is free. Buffers
/// kept were all alive at once then, so keeping them does not raise the
/// peak of memory; with 2 of them, most chunks of `item_id` on the
/// benchmark still filled fresh ones.
const SPARE_BUFFERS: usize = 16;

impl SpareBuffers {
    /// Keeps the buffers of `values` when it is a chunk's plain values
    /// ([`ChunkCounts::plain`]) that nothing else holds any more; else
    /// drops it.
    pub(crate) fn recycle(&mut self, values: ArrayRef) {
        let Some(binary) = values.as_binary_opt::<i32>().cloned() else {
            return;
        };
        drop(values);
        let (offsets, bytes, nulls) = binary.into_parts();
        if nulls.is_some() {
            return;
        }
        let offsets = offsets.into_inner().into_inner().into_vec::<i32>();
        if let (Ok(offsets), Ok(bytes)) = (offsets, bytes.into_vec::<u8>()) {
            self.keep(offsets, bytes);
        }
    }

    /// Keeps `offsets` and `bytes` when fewer than [`SPARE_BUFFERS`] are
    /// kept, or in place of the smallest kept when they are larger.
    fn keep(&mut self, offsets: Vec<i32>, bytes: Vec<u8>) {
        let size = |(offsets, bytes): &(Vec<i32>, Vec<u8>)| {
            offsets.capacity() * size_of::<i32>() + bytes.capacity()
        };
        let new = (offsets, bytes);
        if size(&new) == 0 {
            return;
        }
        // Kept smallest first.
        if self.0.len() == SPARE_BUFFERS {
            if size(&self.0[0]) >= size(&new) {
                return;
            }
            self.0.remove(0);
        }
        let at = self.0.partition_point(|kept| size(kept) < size(&new));
        self.0.insert(at, new);
    }

    /// The largest buffers kept, emptied (or new ones when none are).
    fn take(&mut self) -> (Vec<i32>, Vec<u8>) {
        let (mut offsets, mut bytes) = self.0.pop().unwrap_or_default();
        offsets.clear();
        bytes.clear();
        (offsets, bytes)
    }
}

/// Values up to this long are copied as this many bytes when the page
/// holds as many past the value's start.
const SHORT_VALUE: usize = 16;

impl PlainValues {
    /// The plain values of a chunk of `bytes` uncompressed bytes and
    /// `values` values (its metadata), in buffers from `spare` when it has
    /// some: when the first come, room is reserved for what the pages not
    /// yet read hold at most, so that the array is not copied as it grows
    /// ([`read_past`](Self::read_past)).
    fn for_chunk(bytes: i64, values: i64, spare: &mut SpareBuffers) -> PlainValues {
        let (mut offsets, buffer) = spare.take();
        offsets.push(0);
        let at_least_zero = |n: i64| usize::try_from(n).unwrap_or(0);
        PlainValues {
            offsets,
            bytes: buffer,
            expected: Some((at_least_zero(bytes), at_least_zero(values))),
        }
    }

    /// Takes a page of `bytes` bytes and `values` values off what is left
    /// to reserve for.
    fn read_past(&mut self, bytes: usize, values: usize) {
        if let Some((b, v)) = &mut self.expected {
            *b = b.saturating_sub(bytes);
            *v = v.saturating_sub(values);
        }
    }

    /// Adds the first `n` values of `data`; `None` when it holds fewer,
    /// or the array would pass 2 GiB.
    fn extend(&mut self, mut data: &[u8], n: usize) -> Option<()> {
        if let Some((bytes, values)) = self.expected.take() {
            // A plain value takes 4 bytes at least.
            self.bytes.reserve(bytes);
            self.offsets.reserve(values.min(bytes / 4));
        }
        // Each value takes 4 bytes at least: a count past the page's is
        // not reserved for (the page is then declined). Short values are
        // copied 16 bytes at a time (below): room for those past the end.
        let n_at_most = n.min(data.len() / 4);
        self.offsets.reserve(n_at_most);
        self.bytes.reserve(data.len() - 4 * n_at_most + SHORT_VALUE);
        for _ in 0..n {
            let (len, rest) = data.split_first_chunk::<4>()?;
            let len = u32::from_le_bytes(*len) as usize;
            let end = self.bytes.len() + len;
            match rest.first_chunk::<SHORT_VALUE>() {
                // A fixed-size copy, not a call to `memmove` per value;
                // the bytes past the value are cut off again.
                Some(chunk) if len <= SHORT_VALUE => {
                    self.bytes.extend_from_slice(chunk);
                    self.bytes.truncate(end);
                }
                _ => self.bytes.extend_from_slice(rest.get(..len)?),
            }
            self.offsets.push(i32::try_from(end).ok()?);
            data = &rest[len..];
        }
        Some(())
    }

    fn is_empty(&self) -> bool {
        self.offsets.len() == 1
    }

    /// The values as a `BinaryArray`; `None` when `utf8` asks for strings
    /// and one is not UTF-8.
    fn finish(self, utf8: bool) -> Option<ArrayRef> {
        // ASCII bytes are UTF-8 however they are cut. Else all the bytes
        // at once, then each value's start: valid UTF-8 cut at character
        // boundaries is valid UTF-8 piece by piece. (The check per value
        // start was most of this function's time on the benchmark's
        // `item_id`, whose values are ASCII.)
        if utf8 && !self.bytes.is_ascii() {
            let text = std::str::from_utf8(&self.bytes).ok()?;
            let starts = &self.offsets[..self.offsets.len() - 1];
            if !starts.iter().all(|&o| text.is_char_boundary(o as usize)) {
                return None;
            }
        }
        debug_assert!(self.offsets.windows(2).all(|w| w[0] <= w[1]));
        // SAFETY: the offsets start at 0 and each is the length of
        // `bytes` after its value was added ([`extend`](Self::extend)),
        // so they never decrease and the last is `bytes`' length; with
        // the checked constructor, checking so took a third of this
        // function's time.
        #[allow(unsafe_code)]
        let offsets = unsafe { OffsetBuffer::new_unchecked(self.offsets.into()) };
        Some(Arc::new(BinaryArray::new(
            offsets,
            Buffer::from(self.bytes),
            None,
        )))
    }
}

impl ChunkCounts {
    /// A chunk's counts before its data pages: `dictionary`'s entries
    /// seen 0 times.
    fn of(dictionary: ArrayRef) -> ChunkCounts {
        ChunkCounts {
            histogram: vec![0; dictionary.len()],
            dictionary,
            nulls: 0,
            plain: None,
        }
    }
}

/// A `BinaryArray` of no values: the dictionary of a chunk without one.
fn empty_binary() -> ArrayRef {
    Arc::new(BinaryArray::from_iter_values(std::iter::empty::<&[u8]>()))
}

/// `data` past a section that starts with its 4-byte length.
fn skip_prefixed(data: &[u8]) -> Option<&[u8]> {
    let (len, rest) = data.split_first_chunk::<4>()?;
    rest.get(u32::from_le_bytes(*len) as usize..)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::fs::File;

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

    /// What the page path counts over every row group of `column`: its
    /// dictionary entries as often as their indices occur, and its plain
    /// values; `None` when the column is not paged or a chunk is declined.
    fn page_tally(path: &std::path::Path, column: &str) -> Option<Tally> {
        let input = ParquetInput::open(path, &[column.to_string()]).unwrap();
        let paged = input.paged_column(column)?;
        let (mut counts, mut nulls) = (HashMap::new(), 0);
        // The plain values' buffers go back for the next chunks, as a
        // scan's threads give them back.
        let mut spare = SpareBuffers::default();
        for g in 0..input.num_row_groups() {
            let chunk = input.count_pages(g, &paged, &mut spare)?;
            let dictionary = chunk.dictionary.as_binary::<i32>();
            for (i, &n) in chunk.histogram.iter().enumerate() {
                if n > 0 {
                    *counts.entry(dictionary.value(i).to_vec()).or_insert(0) += n;
                }
            }
            if let Some(plain) = &chunk.plain {
                let plain = plain.as_binary::<i32>();
                assert_eq!(plain.null_count(), 0);
                for value in plain.iter().flatten() {
                    *counts.entry(value.to_vec()).or_insert(0) += 1;
                }
            }
            if let Some(plain) = chunk.plain {
                spare.recycle(plain);
            }
            nulls += chunk.nulls;
        }
        Some((counts, nulls))
    }

    /// How a test file's columns are encoded.
    #[derive(Debug, Clone, Copy, PartialEq)]
    enum Dictionary {
        /// Dictionary-encoded throughout.
        Throughout,
        /// A dictionary of at most this many bytes, then plain pages.
        FallsBackAfter(usize),
        /// Plain pages only.
        Off,
    }

    fn dictionary() -> impl Strategy<Value = Dictionary> {
        prop_oneof![
            Just(Dictionary::Throughout),
            (1usize..120).prop_map(Dictionary::FallsBackAfter),
            Just(Dictionary::Off),
        ]
    }

    /// A file of one flat column and one list column of `rows`, strings or
    /// binaries, nullable or not, in data pages of the given version.
    fn write(
        rows: &[Row],
        (strings, nullable, v2): (bool, bool, bool),
        dictionary: Dictionary,
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
            .set_max_row_group_row_count(Some(group_rows));
        let props = match dictionary {
            Dictionary::Throughout => props,
            Dictionary::FallsBackAfter(bytes) => props.set_dictionary_page_size_limit(bytes),
            Dictionary::Off => props.set_dictionary_enabled(false),
        }
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

        /// A flat column is read when its pages are dictionary-encoded or
        /// plain (the writer's fallback for data pages v1; v2's is
        /// `DELTA_BYTE_ARRAY`, which is declined), a list column when it is
        /// dictionary-encoded throughout; what is read counts what the Arrow
        /// reader reads.
        #[test]
        fn pages_count_what_the_arrow_reader_reads(
            rows in rows(),
            kind in (any::<bool>(), any::<bool>(), any::<bool>()),
            dictionary in dictionary(),
            page_rows in 1usize..64,
            group_rows in 1usize..300,
        ) {
            let path = write(&rows, kind, dictionary, page_rows, group_rows);
            let flat = page_tally(&path, "flat");
            let v2 = kind.2;
            if dictionary == Dictionary::Throughout || !v2 {
                prop_assert!(flat.is_some(), "a flat column is read");
            }
            if let Some(flat) = flat {
                prop_assert_eq!(flat, arrow_tally(&path, "flat"));
            }
            let list = page_tally(&path, "list");
            if dictionary == Dictionary::Throughout {
                prop_assert!(list.is_some(), "a dictionary list column is read");
            }
            if let Some(list) = list {
                prop_assert_eq!(list, arrow_tally(&path, "list"));
            }
        }
    }

    #[test]
    fn a_plain_flat_column_is_read_and_a_plain_list_column_is_not() {
        let rows: Vec<Row> = vec![Some(vec![Some(1), Some(2)]), None, Some(vec![Some(1)])];
        let path = write(&rows, (true, true, false), Dictionary::Off, 10, 10);
        let (counts, nulls) = page_tally(&path, "flat").expect("the flat column is read");
        assert_eq!(nulls, 1);
        assert_eq!(counts, HashMap::from([(b"key-1".to_vec(), 2)]));
        assert!(page_tally(&path, "list").is_none());
    }

    /// Buffers of `bytes` bytes' room (and as many offsets).
    fn buffers(bytes: usize) -> (Vec<i32>, Vec<u8>) {
        (Vec::with_capacity(bytes), Vec::with_capacity(bytes))
    }

    /// The byte capacities of the buffers `spare` keeps, smallest first.
    fn capacities(spare: &SpareBuffers) -> Vec<usize> {
        spare.0.iter().map(|(_, b)| b.capacity()).collect()
    }

    #[test]
    fn spare_buffers_keep_the_largest_and_give_the_largest_first() {
        let mut spare = SpareBuffers::default();
        spare.keep(Vec::new(), Vec::new());
        assert!(spare.0.is_empty(), "nothing to keep in empty buffers");
        for bytes in [300, 100, 200] {
            let (offsets, bytes) = buffers(bytes);
            spare.keep(offsets, bytes);
        }
        assert_eq!(
            capacities(&spare)[..],
            [100, 200, 300][..SPARE_BUFFERS.min(3)]
        );
        for bytes in (1..=SPARE_BUFFERS).map(|i| 1000 + i) {
            let (offsets, bytes) = buffers(bytes);
            spare.keep(offsets, bytes);
        }
        let (offsets, bytes) = buffers(50);
        spare.keep(offsets, bytes);
        let largest: Vec<usize> = (1..=SPARE_BUFFERS).map(|i| 1000 + i).collect();
        assert_eq!(capacities(&spare), largest, "smaller ones make way");
        let (mut offsets, mut bytes) = spare.take();
        assert!(bytes.capacity() >= 1000 + SPARE_BUFFERS && bytes.is_empty() && offsets.is_empty());
        offsets.push(7);
        bytes.push(7);
        spare.keep(offsets, bytes);
        assert_eq!(spare.take().1.len(), 0, "taken buffers are empty");
    }

    #[test]
    fn a_chunk_of_dictionary_pages_only_gives_its_buffers_back() {
        let rows: Vec<Row> = (0..40).map(|i| Some(vec![Some(i % 3)])).collect();
        let path = write(&rows, (true, false, false), Dictionary::Throughout, 10, 20);
        let input = ParquetInput::open(&path, &["flat".to_string()]).unwrap();
        let paged = input.paged_column("flat").unwrap();
        let mut spare = SpareBuffers::default();
        let (offsets, bytes) = buffers(4096);
        spare.keep(offsets, bytes);
        for g in 0..input.num_row_groups() {
            let chunk = input.count_pages(g, &paged, &mut spare).unwrap();
            assert!(chunk.plain.is_none());
            assert_eq!(capacities(&spare), [4096], "row group {g}");
        }
        // Plain pages take them, and give them back once counted.
        let path = write(&rows, (true, false, false), Dictionary::Off, 10, 20);
        let input = ParquetInput::open(&path, &["flat".to_string()]).unwrap();
        let paged = input.paged_column("flat").unwrap();
        let chunk = input.count_pages(0, &paged, &mut spare).unwrap();
        assert!(spare.0.is_empty());
        spare.recycle(chunk.plain.unwrap());
        assert_eq!(capacities(&spare), [4096], "not shrunk when finished");
    }

    #[test]
    fn a_file_cut_short_after_its_footer_is_declined_then_an_error() {
        // Inputs are mapped for each read: a file that shrank since its
        // footer was read maps shorter, and what lies past its end is an
        // error naming the file, never a read out of bounds.
        // Chunks of several 4 KiB pages, so that a stale mapping would
        // reach pages wholly past the end.
        let rows: Vec<Row> = (0..40_000u32)
            .map(|i| Some(vec![Some((i.wrapping_mul(2_654_435_761) >> 27) as u8)]))
            .collect();
        let path = write(&rows, (true, false, false), Dictionary::Off, 1000, 10_000);
        let input = ParquetInput::open(&path, &["flat".to_string()]).unwrap();
        let paged = input.paged_column("flat").unwrap();
        let last = input.num_row_groups() - 1;
        let meta = ParquetRecordBatchReaderBuilder::try_new(File::open(&path).unwrap())
            .unwrap()
            .metadata()
            .clone();
        // Cut the file at the first 4 KiB boundary inside the last row
        // group's chunk.
        let (start, len) = meta.row_group(last).column(0).byte_range();
        let cut = (start + 1).next_multiple_of(4096);
        assert!(cut + 4096 < start + len, "a chunk of {len} bytes");
        let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        file.set_len(cut).unwrap();
        let mut spare = SpareBuffers::default();
        assert!(input.count_pages(last, &paged, &mut spare).is_none());
        let err = input.read_row_group(last, &[0], |_| Ok(())).unwrap_err();
        assert!(
            err.to_string().contains(&path.display().to_string()),
            "{err}"
        );
        // The first row group still lies within the file.
        assert!(input.count_pages(0, &paged, &mut spare).is_some());
    }

    #[test]
    fn plain_strings_must_each_be_utf8() {
        // "é" is two bytes: valid together, not as two values.
        let mut split = PlainValues::default();
        split.extend(b"\x01\0\0\0\xc3\x01\0\0\0\xa9", 2).unwrap();
        assert!(split.finish(true).is_none());
        let mut split = PlainValues::default();
        split.extend(b"\x01\0\0\0\xc3\x01\0\0\0\xa9", 2).unwrap();
        assert_eq!(
            split.finish(false).unwrap().len(),
            2,
            "bytes need not be UTF-8"
        );
        let mut whole = PlainValues::default();
        whole
            .extend(b"\x02\0\0\0\xc3\xa9\x00\0\0\0\x01\0\0\0a", 3)
            .unwrap();
        let whole = whole.finish(true).unwrap();
        let whole = whole.as_binary::<i32>();
        assert_eq!(whole.value(0), "é".as_bytes());
        assert_eq!(whole.value(1), b"");
        assert_eq!(whole.value(2), b"a");
    }

    #[test]
    fn plain_values_past_the_page_are_declined() {
        let mut short = PlainValues::default();
        assert!(short.extend(b"\x05\0\0\0abc", 1).is_none());
        let mut short = PlainValues::default();
        assert!(short.extend(b"\x01\0\0\0a", 2).is_none());
    }
}
