//! Parquet inputs: finding the files, reading their footers, checking the
//! columns a spec needs, and reading one row group's batches with only those
//! columns. Parquet types stay in this module.

use std::fs::File;
use std::path::{Path, PathBuf};

use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use bytes::Bytes;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder,
};
use parquet::basic::Encoding;
use parquet::file::metadata::ParquetMetaData;

use crate::count::{InputFile, key_type_of};
use crate::error::{Error, Result};
use crate::keys::KeyType;
use crate::pages::{ChunkCounts, PagedColumn, SpareBuffers};

/// Rows per batch when scanning.
pub(crate) const BATCH_SIZE: usize = 64 * 1024;

/// Expands the inputs: a file stands for itself, a directory for the
/// `*.parquet` files below it (recursively, in sorted path order; names
/// starting with `.` are skipped). The order of the inputs given is kept.
///
/// # Errors
/// [`Error::Io`] for a path that cannot be read; [`Error::NoInputs`] for a
/// directory without Parquet files or an empty list.
///
/// ```
/// let files = oovocab::discover_inputs(&["fixtures/clicks"]).unwrap();
/// assert_eq!(files.len(), 4);
/// ```
pub fn discover_inputs(inputs: &[impl AsRef<Path>]) -> Result<Vec<PathBuf>> {
    Ok(discover(inputs)?.into_iter().map(|i| i.path).collect())
}

/// An input file and its name relative to the input that named it (its file
/// name, or its path below the directory given).
#[derive(Debug, Clone)]
pub(crate) struct Discovered {
    pub path: PathBuf,
    pub relative: PathBuf,
}

pub(crate) fn discover(inputs: &[impl AsRef<Path>]) -> Result<Vec<Discovered>> {
    if inputs.is_empty() {
        return Err(Error::NoInputs {
            path: PathBuf::new(),
        });
    }
    let mut files = Vec::new();
    for input in inputs {
        let input = input.as_ref();
        let meta = std::fs::metadata(input).map_err(|e| Error::io(input, e))?;
        if meta.is_dir() {
            let mut found = Vec::new();
            walk(input, &mut found)?;
            if found.is_empty() {
                return Err(Error::NoInputs {
                    path: input.to_path_buf(),
                });
            }
            found.sort();
            files.extend(found.into_iter().map(|path| Discovered {
                relative: path.strip_prefix(input).unwrap_or(&path).to_path_buf(),
                path,
            }));
        } else {
            files.push(Discovered {
                relative: input
                    .file_name()
                    .map(PathBuf::from)
                    .unwrap_or_else(|| input.to_path_buf()),
                path: input.to_path_buf(),
            });
        }
    }
    Ok(files)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let path = entry.path();
        let kind = entry.file_type().map_err(|e| Error::io(&path, e))?;
        let name = entry.file_name();
        let hidden = name.to_string_lossy().starts_with('.');
        if kind.is_dir() && !hidden {
            walk(&path, out)?;
        } else if !hidden && path.extension().is_some_and(|e| e == "parquet") {
            out.push(path);
        }
    }
    Ok(())
}

/// One Parquet file whose footer has been read.
pub(crate) struct ParquetInput {
    pub path: PathBuf,
    pub size: u64,
    meta: ArrowReaderMetadata,
}

impl ParquetInput {
    /// Opens a file and reads its footer.
    ///
    /// String and binary columns among `dictionary_columns` (and lists of
    /// them) whose every data page is dictionary-encoded are read as Arrow
    /// dictionary arrays: the values of the Parquet dictionary page, and a
    /// key per row. Counting and lookups then hash each dictionary entry
    /// once instead of every row. Columns that fall back to plain pages keep
    /// their type (decoding them into a dictionary would cost a hash per row).
    pub(crate) fn open(path: &Path, dictionary_columns: &[String]) -> Result<ParquetInput> {
        let file = File::open(path).map_err(|e| Error::io(path, e))?;
        let size = file.metadata().map_err(|e| Error::io(path, e))?.len();
        let parquet_error = |source| Error::Parquet {
            path: path.to_path_buf(),
            row_group: None,
            source,
        };
        let mut meta =
            ArrowReaderMetadata::load(&file, ArrowReaderOptions::new()).map_err(parquet_error)?;
        if let Some(hinted) = dictionary_hint(&meta, dictionary_columns) {
            let options = ArrowReaderOptions::new().with_schema(hinted);
            meta = ArrowReaderMetadata::try_new(meta.metadata().clone(), options)
                .map_err(parquet_error)?;
        }
        Ok(ParquetInput {
            path: path.to_path_buf(),
            size,
            meta,
        })
    }

    pub(crate) fn name(&self) -> String {
        self.path.display().to_string()
    }

    pub(crate) fn record(&self) -> InputFile {
        InputFile {
            path: self.name(),
            size: self.size,
        }
    }

    pub(crate) fn num_row_groups(&self) -> usize {
        self.meta.metadata().num_row_groups()
    }

    pub(crate) fn schema(&self) -> &SchemaRef {
        self.meta.schema()
    }

    /// The root indices of these columns (which the caller has checked exist).
    pub(crate) fn roots(&self, columns: &[String]) -> Vec<usize> {
        let mut roots: Vec<usize> = columns
            .iter()
            .filter_map(|c| self.meta.schema().index_of(c).ok())
            .collect();
        roots.sort_unstable();
        roots.dedup();
        roots
    }

    /// Row group `g`'s row count.
    pub(crate) fn row_group_rows(&self, g: usize) -> u64 {
        self.meta.metadata().row_group(g).num_rows().max(0) as u64
    }

    /// The largest row group's row count.
    pub(crate) fn max_row_group_rows(&self) -> usize {
        self.meta
            .metadata()
            .row_groups()
            .iter()
            .map(|g| g.num_rows().max(0) as usize)
            .max()
            .unwrap_or(0)
    }

    pub(crate) fn num_rows(&self) -> u64 {
        self.meta.metadata().file_metadata().num_rows().max(0) as u64
    }

    /// How many values (nulls included) the file holds in `column`: those
    /// of its first leaf column (a list's elements), in every row group; 0
    /// when it has no such column.
    pub(crate) fn num_values(&self, column: &str) -> u64 {
        let parquet = self.meta.metadata();
        let Some(leaf) = leaves_of(parquet, column).next() else {
            return 0;
        };
        parquet
            .row_groups()
            .iter()
            .map(|g| g.column(leaf).num_values().max(0) as u64)
            .sum()
    }

    /// The root column index and key type of `column`.
    ///
    /// # Errors
    /// [`Error::MissingColumn`] (listing the columns there are) or
    /// [`Error::UnsupportedType`].
    /// A column of Arrow type `Null` (all values null, as pyarrow types a
    /// column of nothing but nulls) has no key type: `None`.
    pub(crate) fn column(&self, feature: &str, column: &str) -> Result<(usize, Option<KeyType>)> {
        let schema = self.meta.schema();
        let Ok(index) = schema.index_of(column) else {
            return Err(Error::MissingColumn {
                source_name: self.name(),
                feature: feature.to_string(),
                column: column.to_string(),
                available: schema.fields().iter().map(|f| f.name().clone()).collect(),
            });
        };
        let data_type = schema.field(index).data_type();
        if *data_type == DataType::Null {
            return Ok((index, None));
        }
        let key_type = key_type_of(data_type).ok_or_else(|| Error::UnsupportedType {
            source_name: self.name(),
            column: column.to_string(),
            data_type: data_type.to_string(),
        })?;
        Ok((index, Some(key_type)))
    }

    /// `column` when its chunks can be counted page by page
    /// ([`PagedColumn`]): a string or binary column (its dictionary pages
    /// tallied, its plain pages gathered), or a list of strings or
    /// binaries dictionary-encoded throughout (read as Arrow dictionaries).
    pub(crate) fn paged_column(&self, column: &str) -> Option<PagedColumn> {
        let field = self.meta.schema().field_with_name(column).ok()?;
        let parquet = self.meta.metadata();
        let (values, leaf) = match field.data_type() {
            DataType::List(item) | DataType::LargeList(item) => {
                let DataType::Dictionary(_, values) = item.data_type() else {
                    return None;
                };
                (values.as_ref(), dictionary_leaf(parquet, column)?)
            }
            DataType::Dictionary(_, values) => (values.as_ref(), only_leaf(parquet, column)?),
            flat => (flat, only_leaf(parquet, column)?),
        };
        let utf8 = match values {
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => true,
            DataType::Binary | DataType::LargeBinary | DataType::BinaryView => false,
            _ => return None,
        };
        PagedColumn::new(parquet, leaf, utf8)
    }

    /// Counts row group `row_group`'s chunk of `column` from its pages;
    /// `None` when the Arrow reader has to read it instead.
    /// Its plain values are gathered in buffers from `spare` when it has
    /// some.
    pub(crate) fn count_pages(
        &self,
        row_group: usize,
        column: &PagedColumn,
        spare: &mut SpareBuffers,
    ) -> Option<ChunkCounts> {
        let chunk = column.chunk(self.meta.metadata(), row_group);
        let data = self.map([chunk.byte_range()]).ok()?;
        let rows = self.meta.metadata().row_group(row_group).num_rows();
        column.count(data, chunk, rows, spare)
    }

    /// The file, mapped read-only for one read (a chunk's pages, or a row
    /// group's batches): pages and batches are decoded straight from the
    /// page cache, with no copy into buffers. Reading through `File` copied
    /// each page into a fresh heap buffer: on the benchmark, 0.1-0.2 s more
    /// CPU time per `build` and 0.37 s per `apply` (`docs/BENCHMARKS.md`,
    /// seventeenth session). One mapping per read, not per file, so that
    /// the pages it touched leave the process's resident set with it.
    ///
    /// Like any reader that maps files (the artifact's too), a file
    /// truncated by another process while it is read ends the process
    /// with `SIGBUS`; files are not to be rewritten in place while read.
    ///
    /// The byte ranges the read takes (`(start, length)`, its column
    /// chunks) are mapped up front (`MADV_POPULATE_READ`, on Linux 5.14
    /// and later), in one call per chunk rather than a page fault per
    /// 64 KiB of it.
    fn map(&self, ranges: impl IntoIterator<Item = (u64, u64)>) -> Result<Bytes> {
        let file = File::open(&self.path).map_err(|e| Error::io(&self.path, e))?;
        // SAFETY: the mapping is read-only and private to this read; the
        // bytes change only if another process rewrites the file in place
        // (documented above).
        #[allow(unsafe_code)]
        let map = unsafe { memmap2::Mmap::map(&file) }.map_err(|e| Error::io(&self.path, e))?;
        #[cfg(target_os = "linux")]
        for (start, len) in ranges {
            let (Ok(start), Ok(len)) = (usize::try_from(start), usize::try_from(len)) else {
                continue;
            };
            if start.checked_add(len).is_some_and(|end| end <= map.len()) {
                // Only a hint: on an older kernel, the pages fault in.
                let _ = map.advise_range(memmap2::Advice::PopulateRead, start, len);
            }
        }
        #[cfg(not(target_os = "linux"))]
        let _ = ranges.into_iter();
        Ok(Bytes::from_owner(map))
    }

    /// Reads row group `row_group`, only the given root columns, and hands
    /// each batch to `each`.
    pub(crate) fn read_row_group(
        &self,
        row_group: usize,
        roots: &[usize],
        mut each: impl FnMut(&RecordBatch) -> Result<()>,
    ) -> Result<()> {
        let parquet_error = |source| Error::Parquet {
            path: self.path.clone(),
            row_group: Some(row_group),
            source,
        };
        let mask = ProjectionMask::roots(self.meta.parquet_schema(), roots.iter().copied());
        let group = self.meta.metadata().row_group(row_group);
        let chunks = (0..group.num_columns())
            .filter(|&leaf| mask.leaf_included(leaf))
            .map(|leaf| group.column(leaf).byte_range());
        let data = self.map(chunks)?;
        let reader = ParquetRecordBatchReaderBuilder::new_with_metadata(data, self.meta.clone())
            .with_projection(mask)
            .with_row_groups(vec![row_group])
            .with_batch_size(BATCH_SIZE)
            .build()
            .map_err(parquet_error)?;
        for batch in reader {
            let batch = batch.map_err(|source| Error::Arrow {
                context: format!("{}, row group {row_group}", self.path.display()),
                source,
            })?;
            each(&batch)?;
        }
        Ok(())
    }
}

/// The one leaf column under the root column `root`; `None` when it has
/// none or several (a struct).
fn only_leaf(parquet: &ParquetMetaData, root: &str) -> Option<usize> {
    let mut leaves = leaves_of(parquet, root);
    let leaf = leaves.next()?;
    leaves.next().is_none().then_some(leaf)
}

/// The leaf columns of root column `root`, in schema order.
fn leaves_of<'a>(parquet: &'a ParquetMetaData, root: &'a str) -> impl Iterator<Item = usize> + 'a {
    let schema = parquet.file_metadata().schema_descr();
    (0..schema.num_columns())
        .filter(move |&i| schema.column(i).path().parts().first().map(String::as_str) == Some(root))
}

/// The leaf of root column `root` when it is its only leaf and every data
/// page of it, in every row group, is dictionary-encoded.
fn dictionary_leaf(parquet: &ParquetMetaData, root: &str) -> Option<usize> {
    let leaf = only_leaf(parquet, root)?;
    let only_dictionary = parquet.num_row_groups() > 0
        && parquet.row_groups().iter().all(|g| {
            let c = g.column(leaf);
            c.dictionary_page_offset().is_some()
                && c.page_encoding_stats_mask().is_some_and(|m| {
                    m.is_only(Encoding::PLAIN_DICTIONARY) || m.is_only(Encoding::RLE_DICTIONARY)
                })
        });
    only_dictionary.then_some(leaf)
}

/// The file's Arrow schema with dictionary types for the columns of
/// `columns` that are dictionary-encoded throughout, or `None` when there
/// are none.
fn dictionary_hint(meta: &ArrowReaderMetadata, columns: &[String]) -> Option<SchemaRef> {
    let schema = meta.schema();
    let parquet = meta.metadata();
    let dictionary = |dt: &DataType| -> Option<DataType> {
        match dt {
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Binary | DataType::LargeBinary => {
                Some(DataType::Dictionary(
                    Box::new(DataType::Int32),
                    Box::new(dt.clone()),
                ))
            }
            _ => None,
        }
    };
    let mut changed = false;
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| {
            let hinted = if columns.iter().any(|c| c == f.name())
                && dictionary_leaf(parquet, f.name()).is_some()
            {
                match f.data_type() {
                    DataType::List(item) => dictionary(item.data_type())
                        .map(|d| DataType::List(Arc::new(item.as_ref().clone().with_data_type(d)))),
                    DataType::LargeList(item) => dictionary(item.data_type()).map(|d| {
                        DataType::LargeList(Arc::new(item.as_ref().clone().with_data_type(d)))
                    }),
                    dt => dictionary(dt),
                }
            } else {
                None
            };
            changed |= hinted.is_some();
            match hinted {
                Some(dt) => f.as_ref().clone().with_data_type(dt),
                None => f.as_ref().clone(),
            }
        })
        .collect();
    changed.then(|| Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone())))
}
