//! Transforming Parquet files: `apply` (ids to new Parquet files, one per
//! input) and `coverage` (counts only). Both number rows from 0 across the
//! inputs in the order given, from the files' footers, so files can be
//! processed in parallel with the same result.

use std::collections::{BTreeMap, HashSet};
use std::fs::File;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use arrow_array::RecordBatch;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_schema::SchemaRef;
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_writer::{
    ArrowColumnChunk, ArrowColumnWriter, ArrowRowGroupWriterFactory, compute_leaves,
};
use parquet::basic::{Compression, ZstdLevel};
use parquet::errors::ParquetError;
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::types::ColumnPath;
use rayon::prelude::*;

use crate::artifact::Vocabulary;
use crate::atomic::AtomicFile;
use crate::count::parallel::ScanProgress;
use crate::count::thread_pool;
use crate::error::{Error, Result};
use crate::scan::{ParquetInput, discover};
use crate::transform::{LookupCache, Mode, Report, Transformer};

/// Where each input starts: its first row's global number.
fn start_rows(inputs: &[ParquetInput]) -> Vec<u64> {
    inputs
        .iter()
        .scan(0u64, |next, i| {
            let start = *next;
            *next += i.num_rows();
            Some(start)
        })
        .collect()
}

fn open_checked(transformer: &Transformer, files: &[PathBuf]) -> Result<Vec<ParquetInput>> {
    let inputs: Vec<ParquetInput> = files
        .par_iter()
        .map(|p| ParquetInput::open(p, &transformer.dictionary_columns()))
        .collect::<Result<_>>()?;
    // Every file's columns and types are checked before anything is written.
    for input in &inputs {
        transformer.output_schema_from(input.schema(), &input.name())?;
    }
    Ok(inputs)
}

/// Transforms Parquet files into `outdir`: one output file per input, with
/// the same name relative to the input that named it (its file name, or its
/// path below a directory given), the same rows and row groups, zstd
/// compressed. Each output is written to a temporary name in its final
/// directory and renamed when complete, so an existing file is never
/// half-overwritten. Returns what was transformed.
///
/// # Errors
/// Any input error (naming the file, column or row group) before or while
/// writing; outputs not complete by then are removed.
pub fn apply_files(
    transformer: &Transformer,
    inputs: &[impl AsRef<Path>],
    outdir: impl AsRef<Path>,
    threads: usize,
    progress: &dyn ScanProgress,
) -> Result<Report> {
    let outdir = outdir.as_ref();
    let found = discover(inputs)?;
    let mut names = HashSet::new();
    for f in &found {
        if !names.insert(&f.relative) {
            return Err(Error::InvalidArgument(format!(
                "two inputs would both be written to {}; name them through distinct directories",
                outdir.join(&f.relative).display()
            )));
        }
    }
    let files: Vec<PathBuf> = found.iter().map(|f| f.path.clone()).collect();
    thread_pool(threads)?.install(|| {
        let inputs = open_checked(transformer, &files)?;
        let starts = start_rows(&inputs);
        progress.start(inputs.iter().map(ParquetInput::num_rows).sum());
        let outputs: Vec<Output> = inputs
            .iter()
            .zip(&found)
            .map(|(input, f)| Output::new(outdir.join(&f.relative), input.num_row_groups()))
            .collect();
        // Row groups are the units of work, taken in order by every worker
        // thread; each output file writes its row groups in order as they
        // arrive, so files of any size keep both threads busy.
        let units: Vec<(usize, usize, u64)> = inputs
            .iter()
            .enumerate()
            .flat_map(|(f, input)| {
                let mut row = starts[f];
                (0..input.num_row_groups()).map(move |g| {
                    let unit = (f, g, row);
                    row += input.row_group_rows(g);
                    unit
                })
            })
            .collect();
        let next = AtomicUsize::new(0);
        let failed = AtomicBool::new(false);
        let reports: Vec<Result<Report>> = rayon::broadcast(|_| {
            let mut report = transformer.empty_report();
            let cache = LookupCache::default();
            while !failed.load(Ordering::Relaxed) {
                let Some(&(f, g, start)) = units.get(next.fetch_add(1, Ordering::Relaxed)) else {
                    break;
                };
                let done = transform_row_group(transformer, &inputs[f], g, start, &cache, progress)
                    .and_then(|(batches, r)| {
                        report.add(&r);
                        outputs[f].deliver(transformer, &inputs[f], g, batches)
                    });
                if let Err(e) = done {
                    failed.store(true, Ordering::Relaxed);
                    return Err(e);
                }
            }
            Ok(report)
        });
        let mut total = transformer.empty_report();
        for r in reports {
            total.add(&r?);
        }
        // Inputs without row groups still get their (empty) output.
        for (f, out) in outputs.iter().enumerate() {
            if inputs[f].num_row_groups() == 0 {
                out.deliver_empty(transformer, &inputs[f])?;
            }
        }
        Ok(total)
    })
}

/// Reads and transforms one row group.
fn transform_row_group(
    transformer: &Transformer,
    input: &ParquetInput,
    g: usize,
    start: u64,
    cache: &LookupCache,
    progress: &dyn ScanProgress,
) -> Result<(Vec<RecordBatch>, Report)> {
    let source = input.name();
    let roots = input.roots(&transformer.input_columns());
    let mut report = transformer.empty_report();
    let mut batches = Vec::new();
    let mut row = start;
    input.read_row_group(g, &roots, |batch| {
        let (out, r) = transformer.transform_from(batch, row, &source, cache)?;
        row += batch.num_rows() as u64;
        report.add(&r);
        batches.push(out);
        progress.advance(batch.num_rows() as u64);
        Ok(())
    })?;
    Ok((batches, report))
}

/// One output file: its writer (opened when its first row group is ready),
/// and the row groups that arrived before their turn.
///
/// Workers encode (and compress) their row groups into column chunks
/// outside the lock; under it, chunks are only appended in row-group order.
/// So two threads on row groups of the same file compress in parallel
/// instead of queueing behind one another.
struct Output {
    path: PathBuf,
    row_groups: usize,
    state: Mutex<OutputState>,
}

#[derive(Default)]
struct OutputState {
    file: Option<OpenOutput>,
    next: usize,
    pending: BTreeMap<usize, Vec<ArrowColumnChunk>>,
}

/// The temporary file, its Parquet writer, and what encodes row groups for
/// it.
struct OpenOutput {
    tmp: AtomicFile,
    writer: SerializedFileWriter<File>,
    encoder: Arc<RowGroupEncoder>,
}

/// Encodes row groups for one output file, from any thread.
struct RowGroupEncoder {
    factory: ArrowRowGroupWriterFactory,
    schema: SchemaRef,
}

impl RowGroupEncoder {
    /// The encoded (compressed) column chunks of row group `g`.
    fn encode(
        &self,
        g: usize,
        batches: &[RecordBatch],
    ) -> parquet::errors::Result<Vec<ArrowColumnChunk>> {
        let mut writers = self.factory.create_column_writers(g)?;
        for batch in batches {
            let mut leaf_writers = writers.iter_mut();
            for (field, column) in self.schema.fields().iter().zip(batch.columns()) {
                for leaf in compute_leaves(field, column)? {
                    leaf_writers
                        .next()
                        .ok_or_else(|| {
                            ParquetError::General("more leaf columns than writers".into())
                        })?
                        .write(&leaf)?;
                }
            }
        }
        writers.into_iter().map(ArrowColumnWriter::close).collect()
    }
}

impl Output {
    fn new(path: PathBuf, row_groups: usize) -> Output {
        Output {
            path,
            row_groups,
            state: Mutex::new(OutputState::default()),
        }
    }

    fn write_error(&self) -> impl Fn(parquet::errors::ParquetError) -> Error + '_ {
        |source| Error::Parquet {
            path: self.path.clone(),
            row_group: None,
            source,
        }
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, OutputState>> {
        self.state
            .lock()
            .map_err(|_| Error::InvalidArgument("a worker thread panicked".into()))
    }

    /// Takes the transformed row group `g`: encodes it, then writes every
    /// row group whose turn has come, one output row group each; commits the
    /// file after the last.
    fn deliver(
        &self,
        transformer: &Transformer,
        input: &ParquetInput,
        g: usize,
        batches: Vec<RecordBatch>,
    ) -> Result<()> {
        let encoder = {
            let mut state = self.lock()?;
            if state.file.is_none() {
                state.file = Some(self.open(transformer, input)?);
            }
            let open = state.file.as_ref().expect("opened above");
            Arc::clone(&open.encoder)
        };
        let chunks = encoder.encode(g, &batches).map_err(self.write_error())?;
        drop(batches);
        let mut state = self.lock()?;
        state.pending.insert(g, chunks);
        loop {
            let next = state.next;
            let Some(chunks) = state.pending.remove(&next) else {
                break;
            };
            let open = state.file.as_mut().expect("opened above");
            let mut row_group = open.writer.next_row_group().map_err(self.write_error())?;
            for chunk in chunks {
                chunk
                    .append_to_row_group(&mut row_group)
                    .map_err(self.write_error())?;
            }
            row_group.close().map_err(self.write_error())?;
            state.next += 1;
        }
        if state.next == self.row_groups {
            let open = state.file.take().expect("opened above");
            open.writer.close().map_err(self.write_error())?;
            open.tmp.commit()?;
        }
        Ok(())
    }

    /// Writes the output of an input without row groups.
    fn deliver_empty(&self, transformer: &Transformer, input: &ParquetInput) -> Result<()> {
        let open = self.open(transformer, input)?;
        open.writer.close().map_err(self.write_error())?;
        open.tmp.commit()
    }

    fn open(&self, transformer: &Transformer, input: &ParquetInput) -> Result<OpenOutput> {
        let output = &self.path;
        let dir = output.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let tmp = AtomicFile::create(output)?;
        let schema = transformer.output_schema_from(input.schema(), &input.name())?;
        // Id columns are written plainly (zstd compresses them well): a
        // dictionary would cost the writer a hash per value.
        let mut props = WriterProperties::builder()
            .set_compression(Compression::ZSTD(ZstdLevel::default()))
            .set_max_row_group_row_count(Some(input.max_row_group_rows().max(1)));
        for f in transformer.features() {
            props = props.set_column_dictionary_enabled(ColumnPath::from(f.name()), false);
            props = props.set_column_dictionary_enabled(
                ColumnPath::new(vec![f.name().into(), "list".into(), "item".into()]),
                false,
            );
        }
        let (writer, factory) =
            ArrowWriter::try_new(tmp.try_clone()?, schema.clone(), Some(props.build()))
                .and_then(ArrowWriter::into_serialized_writer)
                .map_err(self.write_error())?;
        Ok(OpenOutput {
            tmp,
            writer,
            encoder: Arc::new(RowGroupEncoder { factory, schema }),
        })
    }
}

/// Measures, per feature, how many occurrences of Parquet files are known
/// to `vocab` and how many would be OOV (inference mode; nothing written).
///
/// # Errors
/// As [`apply_files`].
pub fn coverage_files(
    vocab: Arc<Vocabulary>,
    features: Option<&[String]>,
    inputs: &[impl AsRef<Path>],
    threads: usize,
    progress: &dyn ScanProgress,
) -> Result<Report> {
    let mut transformer = Transformer::new(vocab).with_mode(Mode::Infer);
    if let Some(names) = features {
        transformer = transformer.with_features(names)?;
    }
    let files: Vec<PathBuf> = discover(inputs)?.into_iter().map(|f| f.path).collect();
    thread_pool(threads)?.install(|| {
        let inputs = open_checked(&transformer, &files)?;
        progress.start(inputs.iter().map(ParquetInput::num_rows).sum());
        let units: Vec<(usize, usize)> = inputs
            .iter()
            .enumerate()
            .flat_map(|(f, i)| (0..i.num_row_groups()).map(move |g| (f, g)))
            .collect();
        units
            .par_iter()
            .try_fold(
                || transformer.empty_report(),
                |mut acc, &(f, g)| {
                    let input = &inputs[f];
                    let roots = input.roots(&transformer.input_columns());
                    let source = input.name();
                    let cache = LookupCache::default();
                    input.read_row_group(g, &roots, |batch| {
                        acc.add(&transformer.transform_from(batch, 0, &source, &cache)?.1);
                        progress.advance(batch.num_rows() as u64);
                        Ok(())
                    })?;
                    Ok::<_, Error>(acc)
                },
            )
            .try_reduce(
                || transformer.empty_report(),
                |mut a, b| {
                    a.add(&b);
                    Ok(a)
                },
            )
    })
}
