//! Transforming Parquet files: `apply` (ids to new Parquet files, one per
//! input) and `coverage` (counts only). Both number rows from 0 across the
//! inputs in the order given, from the files' footers, so files can be
//! processed in parallel with the same result.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
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
        let reports = inputs
            .par_iter()
            .zip(&found)
            .zip(&starts)
            .map(|((input, f), &start)| {
                write_one(
                    transformer,
                    input,
                    &outdir.join(&f.relative),
                    start,
                    progress,
                )
            })
            .collect::<Result<Vec<Report>>>()?;
        let mut total = transformer.empty_report();
        reports.iter().for_each(|r| total.add(r));
        Ok(total)
    })
}

fn write_one(
    transformer: &Transformer,
    input: &ParquetInput,
    output: &Path,
    start: u64,
    progress: &dyn ScanProgress,
) -> Result<Report> {
    let dir = output.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let tmp = AtomicFile::create(output)?;
    let source = input.name();
    let schema = transformer.output_schema_from(input.schema(), &source)?;
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
    let props = props.build();
    let write_error = |source| Error::Parquet {
        path: output.to_path_buf(),
        row_group: None,
        source,
    };
    let mut writer =
        ArrowWriter::try_new(tmp.try_clone()?, schema, Some(props)).map_err(write_error)?;
    let roots = input.roots(&transformer.input_columns());
    let mut report = transformer.empty_report();
    let cache = LookupCache::default();
    let mut row = start;
    for g in 0..input.num_row_groups() {
        input.read_row_group(g, &roots, |batch| {
            let (out, r) = transformer.transform_from(batch, row, &source, &cache)?;
            row += batch.num_rows() as u64;
            report.add(&r);
            writer.write(&out).map_err(write_error)?;
            progress.advance(batch.num_rows() as u64);
            Ok(())
        })?;
        // One output row group per input row group.
        writer.flush().map_err(write_error)?;
    }
    writer.close().map_err(write_error)?;
    tmp.commit()?;
    Ok(report)
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
