//! Counting Parquet files in parallel: one work unit per (file, row group),
//! on a rayon pool of the caller's size; each worker thread takes units from
//! a shared queue into its own [`Counts`], and the per-thread counts are
//! merged once.

use std::path::PathBuf;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use rayon::prelude::*;

use super::{Counts, thread_pool};
use crate::error::Result;
use crate::scan::ParquetInput;
use crate::spec::Spec;

/// Hears how a scan goes; for progress bars.
pub trait ScanProgress: Sync {
    /// The scan is about to read `total_rows` rows.
    fn start(&self, total_rows: u64) {
        let _ = total_rows;
    }
    /// `rows` more rows were counted.
    fn advance(&self, rows: u64) {
        let _ = rows;
    }
}

/// A [`ScanProgress`] that ignores everything.
impl ScanProgress for () {}

/// Counts every feature of `spec` over `files` (already expanded).
pub(crate) fn count_files(
    spec: &Spec,
    files: &[PathBuf],
    threads: usize,
    progress: &dyn ScanProgress,
) -> Result<Counts> {
    let columns: Vec<String> = spec.features().iter().map(|f| f.column.clone()).collect();
    thread_pool(threads)?.install(|| {
        let inputs: Vec<ParquetInput> = files
            .par_iter()
            .map(|p| ParquetInput::open(p, &columns))
            .collect::<Result<_>>()?;
        // Columns and key types are checked on every footer before any data
        // is read, in the order the inputs were given.
        let mut base = Counts::new(spec);
        let mut roots: Vec<Vec<usize>> = Vec::with_capacity(inputs.len());
        for input in &inputs {
            let mut file_roots = Vec::new();
            for (i, f) in spec.features().iter().enumerate() {
                let (root, key_type) = input.column(&f.name, &f.column)?;
                let (name, fc) = base.feature_mut(i);
                if let Some(key_type) = key_type {
                    fc.set_key_type(name, key_type, &input.name())?;
                }
                if !file_roots.contains(&root) {
                    file_roots.push(root);
                }
            }
            file_roots.sort_unstable();
            roots.push(file_roots);
            base.record_input(input.record());
        }
        progress.start(inputs.iter().map(ParquetInput::num_rows).sum());
        let units: Vec<(usize, usize)> = inputs
            .iter()
            .enumerate()
            .flat_map(|(f, input)| (0..input.num_row_groups()).map(move |g| (f, g)))
            .collect();
        // One accumulator per worker thread, fed from a shared queue of
        // units, merged once at the end: no per-split tables to merge.
        let next = AtomicUsize::new(0);
        let failed = AtomicBool::new(false);
        let partials: Vec<Result<Counts>> = rayon::broadcast(|_| {
            let mut acc = Counts::new(spec);
            while !failed.load(Ordering::Relaxed) {
                let Some(&(f, g)) = units.get(next.fetch_add(1, Ordering::Relaxed)) else {
                    break;
                };
                let input = &inputs[f];
                let source = input.name();
                let read = input.read_row_group(g, &roots[f], |batch| {
                    acc.add_batch_from(batch, &source)?;
                    progress.advance(batch.num_rows() as u64);
                    Ok(())
                });
                if let Err(e) = read {
                    failed.store(true, Ordering::Relaxed);
                    return Err(e);
                }
            }
            Ok(acc)
        });
        let mut counted = Counts::new(spec);
        for partial in partials {
            counted.merge(partial?)?;
        }
        base.merge(counted)?;
        Ok(base)
    })
}
