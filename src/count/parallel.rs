//! Counting Parquet files in parallel: one work unit per (file, row group),
//! on a rayon pool of the caller's size, each worker thread taking units
//! from a shared queue.
//!
//! Each feature has one count table, shared by the threads under a lock: a
//! thread counts a batch's column into it when no other thread holds it,
//! and goes on to the batch's other columns when one does. So the big
//! tables are built once, with no key held twice and no merge of two big
//! tables. Only when every table a batch still needs is taken does a thread
//! count, a chunk of rows at a time, into a table of its own; those are
//! merged at the end.
//!
//! Dictionary columns (and lists of them) take no table while a row group
//! is read: a thread sums their keys per dictionary entry in a
//! [`DictionaryTally`] of its own, and counts the entries once, when the
//! row group ends (or its dictionary changes).

use std::path::PathBuf;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError, TryLockError};

use arrow_array::RecordBatch;

use rayon::prelude::*;

use super::{Column, Counts, DictionaryTally, FeatureCounts, thread_pool};
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
        // One table per feature, shared; the threads' own tables are
        // merged into them at the end.
        let shared: Vec<Mutex<FeatureCounts>> = std::mem::take(&mut base.features)
            .into_iter()
            .map(Mutex::new)
            .collect();
        let next = AtomicUsize::new(0);
        let failed = AtomicBool::new(false);
        let partials: Vec<Result<Counts>> = rayon::broadcast(|context| {
            let mut own = Counts::new(spec);
            let mut tallies: Vec<DictionaryTally> =
                spec.features().iter().map(|_| Default::default()).collect();
            while !failed.load(Ordering::Relaxed) {
                let Some(&(f, g)) = units.get(next.fetch_add(1, Ordering::Relaxed)) else {
                    break;
                };
                let input = &inputs[f];
                let source = input.name();
                let read = input
                    .read_row_group(g, &roots[f], |batch| {
                        count_batch(
                            &mut own,
                            &mut tallies,
                            |i| try_take(&shared[i]),
                            context.index(),
                            batch,
                            &source,
                        )?;
                        progress.advance(batch.num_rows() as u64);
                        Ok(())
                    })
                    .and_then(|()| {
                        (0..tallies.len()).try_for_each(|i| {
                            count_tally(&mut own, &mut tallies[i], i, try_take(&shared[i]), &source)
                        })
                    });
                if let Err(e) = read {
                    failed.store(true, Ordering::Relaxed);
                    return Err(e);
                }
            }
            Ok(own)
        });
        base.features = shared
            .into_iter()
            .map(|table| table.into_inner().unwrap_or_else(PoisonError::into_inner))
            .collect();
        for partial in partials {
            base.merge(partial?)?;
        }
        Ok(base)
    })
}

/// The table, unless another thread holds it.
fn try_take(table: &Mutex<FeatureCounts>) -> Option<MutexGuard<'_, FeatureCounts>> {
    match table.try_lock() {
        Ok(table) => Some(table),
        Err(TryLockError::WouldBlock) => None,
        // A thread panicked while counting: the panic ends the scan.
        Err(TryLockError::Poisoned(table)) => Some(table.into_inner()),
    }
}

/// Rows of a column a thread counts into its own table, when the shared
/// one is taken, before it looks again.
const OWN_CHUNK: usize = 16 * 1024;

/// Counts what feature `i`'s tally holds into `table`, its shared table
/// when this thread holds it, else into `own`.
fn count_tally(
    own: &mut Counts,
    tally: &mut DictionaryTally,
    i: usize,
    table: Option<MutexGuard<'_, FeatureCounts>>,
    source: &str,
) -> Result<()> {
    match table {
        Some(mut table) => table.count_tally(&own.names[i], tally, source),
        None => own.features[i].count_tally(&own.names[i], tally, source),
    }
}

/// Counts every feature of `batch`: a dictionary column into its tally in
/// `tallies`, any other into the feature's shared table when no other
/// thread holds it, else a chunk at a time into `own`; records the batch's
/// rows in `own`. `first` is the feature to try first (threads start at
/// different ones, to meet less); `try_take(i)` is feature `i`'s shared
/// table unless another thread holds it ([`try_take`]).
fn count_batch<'t>(
    own: &mut Counts,
    tallies: &mut [DictionaryTally],
    mut try_take: impl FnMut(usize) -> Option<MutexGuard<'t, FeatureCounts>>,
    first: usize,
    batch: &RecordBatch,
    source: &str,
) -> Result<()> {
    let features = own.features.len();
    // Every column is checked before any is counted.
    let columns: Vec<Column> = (0..features)
        .map(|i| own.column_of(i, batch, source))
        .collect::<Result<_>>()?;
    // (feature, rows counted so far), in the order to try them.
    let mut pending: Vec<(usize, usize)> = Vec::with_capacity(features);
    for i in (0..features).map(|k| (first + k) % features) {
        match columns[i] {
            Column::Keys(_, array) if DictionaryTally::takes(array.data_type()) => {
                if !tallies[i].add(array) {
                    // Another dictionary: count the last one's entries.
                    count_tally(own, &mut tallies[i], i, try_take(i), source)?;
                    let fresh = tallies[i].add(array);
                    debug_assert!(fresh, "an empty tally takes any dictionary");
                }
            }
            _ => pending.push((i, 0)),
        }
    }
    let rows = batch.num_rows();
    while !pending.is_empty() {
        let before = pending.len();
        let mut k = 0;
        while k < pending.len() {
            let (i, done) = pending[k];
            if let Some(mut table) = try_take(i) {
                table.count_column(&own.names[i], columns[i], done..rows, source)?;
                pending.remove(k);
            } else {
                k += 1;
            }
        }
        if pending.len() == before {
            // Every table this batch still needs is taken: count a chunk
            // of the first into this thread's own table, then look again.
            let (i, done) = &mut pending[0];
            let end = rows.min(*done + OWN_CHUNK);
            own.features[*i].count_column(&own.names[*i], columns[*i], *done..end, source)?;
            *done = end;
            if end == rows {
                pending.remove(0);
            }
        }
    }
    own.rows += rows as u64;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{ArrayRef, Int64Array, NullArray, StringArray};

    use super::*;

    /// Three features (strings, ints, nulls only) over `rows` rows.
    fn spec_and_batch(rows: usize) -> (Spec, RecordBatch) {
        let spec = Spec::from_toml_str(
            "[[feature]]\nname = \"s\"\n[[feature]]\nname = \"i\"\n[[feature]]\nname = \"n\"",
        )
        .unwrap();
        let s: ArrayRef = Arc::new(StringArray::from_iter_values(
            (0..rows).map(|r| format!("k{}", r % 1000)),
        ));
        let i: ArrayRef = Arc::new(Int64Array::from_iter_values(
            (0..rows as i64).map(|r| r % 7),
        ));
        let n: ArrayRef = Arc::new(NullArray::new(rows));
        let batch = RecordBatch::try_from_iter([("s", s), ("i", i), ("n", n)]).unwrap();
        (spec, batch)
    }

    fn shared_tables(spec: &Spec) -> Vec<Mutex<FeatureCounts>> {
        Counts::new(spec)
            .features
            .into_iter()
            .map(Mutex::new)
            .collect()
    }

    fn no_tallies(spec: &Spec) -> Vec<DictionaryTally> {
        spec.features().iter().map(|_| Default::default()).collect()
    }

    /// `count_batch` with the shared tables as they are.
    fn count_with_shared(
        own: &mut Counts,
        shared: &[Mutex<FeatureCounts>],
        first: usize,
        batch: &RecordBatch,
    ) {
        let mut tallies: Vec<DictionaryTally> =
            (0..shared.len()).map(|_| Default::default()).collect();
        count_batch(
            own,
            &mut tallies,
            |i| try_take(&shared[i]),
            first,
            batch,
            "test",
        )
        .unwrap();
    }

    #[test]
    fn a_taken_table_is_counted_in_chunks_into_the_threads_own() {
        // Not a multiple of the chunk, so the last chunk is a short one:
        // 32,891 rows, keys k0-k890 seen 33 times, k891-k999 32 times.
        let rows = 2 * OWN_CHUNK + 123;
        let (spec, batch) = spec_and_batch(rows);
        let shared = shared_tables(&spec);
        let mut own = Counts::new(&spec);
        {
            // This thread holds the strings' table: `try_lock` fails.
            let _taken = shared[0].lock().unwrap();
            count_with_shared(&mut own, &shared, 0, &batch);
        }
        let own_s = &own.features[0];
        assert_eq!(own_s.total_count(), rows as u64);
        assert_eq!(own_s.distinct_count(), 1000);
        assert_eq!(own_s.count("k890"), (rows / 1000 + 1) as u64);
        assert_eq!(own_s.count("k891"), (rows / 1000) as u64);
        assert_eq!(shared[0].lock().unwrap().total_count(), 0);
        // The free tables took their columns whole.
        let ints = shared[1].lock().unwrap();
        assert_eq!(
            (ints.total_count(), ints.count(0i64)),
            (rows as u64, rows.div_ceil(7) as u64)
        );
        assert_eq!(shared[2].lock().unwrap().null_count(), rows as u64);
        assert_eq!(
            (own.features[1].total_count(), own.features[2].null_count()),
            (0, 0)
        );
        assert_eq!(own.rows(), rows as u64);
    }

    #[test]
    fn a_table_freed_midway_takes_the_rest_of_its_column() {
        let rows = 3 * OWN_CHUNK + 5;
        let (spec, batch) = spec_and_batch(rows);
        let shared = shared_tables(&spec);
        let mut own = Counts::new(&spec);
        // The strings' table is taken at its first three looks: at the
        // first, the free tables take their columns; at the next two, a
        // chunk goes to the thread's own table each; at the fourth it is
        // free and takes the rest.
        let mut looks = 0;
        count_batch(
            &mut own,
            &mut no_tallies(&spec),
            |i| {
                if i == 0 {
                    looks += 1;
                    if looks <= 3 {
                        return None;
                    }
                }
                try_take(&shared[i])
            },
            0,
            &batch,
            "test",
        )
        .unwrap();
        assert_eq!(own.features[0].total_count(), 2 * OWN_CHUNK as u64);
        let s = shared[0].lock().unwrap();
        assert_eq!(s.total_count(), (OWN_CHUNK + 5) as u64);
        // Together, every row once: k0's rows are 0, 1000, 2000, ...
        let k0 = |c: &FeatureCounts| c.count("k0");
        assert_eq!(k0(&own.features[0]) + k0(&s), rows.div_ceil(1000) as u64);
    }

    #[test]
    fn free_tables_take_every_column() {
        let rows = OWN_CHUNK + 1;
        let (spec, batch) = spec_and_batch(rows);
        let shared = shared_tables(&spec);
        let mut own = Counts::new(&spec);
        count_with_shared(&mut own, &shared, 2, &batch);
        for (i, table) in shared.iter().enumerate() {
            let table = table.lock().unwrap();
            assert_eq!(
                table.total_count() + table.null_count(),
                rows as u64,
                "feature {i}"
            );
            let mine = &own.features[i];
            assert_eq!(mine.total_count() + mine.null_count(), 0, "feature {i}");
        }
        assert_eq!(own.rows(), rows as u64);
    }

    #[test]
    fn a_dictionary_column_is_tallied_and_counted_when_its_dictionary_changes() {
        use arrow_array::DictionaryArray;
        use arrow_array::types::Int32Type;
        let spec = Spec::from_toml_str("[[feature]]\nname = \"d\"").unwrap();
        let dictionary = |values: Vec<&str>| -> RecordBatch {
            let keys = vec![0, 1, 1, 0, 1];
            let array = DictionaryArray::<Int32Type>::try_new(
                keys.into(),
                Arc::new(StringArray::from(values)),
            )
            .unwrap();
            RecordBatch::try_from_iter([("d", Arc::new(array) as ArrayRef)]).unwrap()
        };
        let first = dictionary(vec!["a", "b"]);
        let shared = shared_tables(&spec);
        let mut own = Counts::new(&spec);
        let mut tallies = no_tallies(&spec);
        let mut count = |batch: &RecordBatch| {
            count_batch(
                &mut own,
                &mut tallies,
                |i| try_take(&shared[i]),
                0,
                batch,
                "test",
            )
            .unwrap()
        };
        // Two batches over one dictionary: tallied, no table touched.
        count(&first);
        count(&first.slice(1, 3));
        assert_eq!(shared[0].lock().unwrap().total_count(), 0);
        // Another dictionary: the first one's entries are counted.
        count(&dictionary(vec!["b", "c"]));
        let table = shared[0].lock().unwrap();
        assert_eq!((table.count("a"), table.count("b")), (2 + 1, 3 + 2));
        assert_eq!((table.count("c"), table.total_count()), (0, 8));
        assert_eq!(tallies[0].key_type(), Some(crate::keys::KeyType::Bytes));
        assert_eq!(own.rows(), 13);
    }
}
