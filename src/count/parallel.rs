//! Counting Parquet files in parallel: one work unit per (file, row group),
//! the last few split into a unit per feature ([`units_of`]), on a rayon
//! pool of the caller's size, each worker thread taking units from a shared
//! queue.
//!
//! Each feature has one count table, shared by the threads under a lock: a
//! thread counts a batch's column into it when no other thread holds it,
//! and goes on to the batch's other columns when one does. So the big
//! tables are built once, with no key held twice and no merge of two big
//! tables. A batch with a column left is held (its arrays, not a copy) and
//! the thread reads on; it counts the held columns as their tables come
//! free. Only when it holds more than a few batches, or at the end, does
//! it count what no free table takes, a chunk of rows at a time, into a
//! table of its own; those are merged at the end.
//!
//! Dictionary columns (and lists of them) take no table while a row group
//! is read: a thread sums their keys per dictionary entry in a
//! [`DictionaryTally`] of its own, and counts the entries once, when the
//! row group ends (or its dictionary changes). When the table is taken
//! then, the tally is held, as a batch is, until it is free. String and
//! binary columns (and lists of them dictionary-encoded throughout) are not
//! even read as Arrow arrays: a chunk's dictionary indices are summed
//! straight from the Parquet pages, and the values of its plain pages
//! (where the writer's dictionary filled up) gathered into one array, held
//! and counted like a batch's column ([`crate::pages`]). The Arrow reader
//! reads only the other columns (and any chunk the page path declines).

use std::collections::VecDeque;
use std::path::PathBuf;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError, TryLockError};

use arrow_array::RecordBatch;

use rayon::prelude::*;

use super::{Column, Counts, DictionaryTally, FeatureCounts, thread_pool};
use crate::error::Result;
use crate::pages::{PagedColumn, SpareBuffers};
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
        // Per input, each feature's root column, and whether its chunks
        // can be counted from their pages.
        let mut roots: Vec<Vec<usize>> = Vec::with_capacity(inputs.len());
        let mut paged: Vec<Vec<Option<PagedColumn>>> = Vec::with_capacity(inputs.len());
        for input in &inputs {
            let mut file_roots = Vec::new();
            let mut file_paged = Vec::new();
            for (i, f) in spec.features().iter().enumerate() {
                let (root, key_type) = input.column(&f.name, &f.column)?;
                let (name, fc) = base.feature_mut(i);
                if let Some(key_type) = key_type {
                    fc.set_key_type(name, key_type, &input.name())?;
                }
                fc.expect_values(input.num_values(&f.column));
                file_roots.push(root);
                file_paged.push(input.paged_column(&f.column));
            }
            roots.push(file_roots);
            paged.push(file_paged);
            base.record_input(input.record());
        }
        progress.start(inputs.iter().map(ParquetInput::num_rows).sum());
        let row_groups: Vec<(usize, usize)> = inputs
            .iter()
            .enumerate()
            .flat_map(|(f, input)| (0..input.num_row_groups()).map(move |g| (f, g)))
            .collect();
        let units = units_of(
            &row_groups,
            spec.features().len(),
            rayon::current_num_threads(),
        );
        // One table per feature, shared; the threads' own tables are
        // merged into them at the end.
        let shared: Vec<Mutex<FeatureCounts>> = std::mem::take(&mut base.features)
            .into_iter()
            .map(Mutex::new)
            .collect();
        let next = AtomicUsize::new(0);
        let failed = AtomicBool::new(false);
        let partials: Vec<Result<Counts>> = rayon::broadcast(|context| {
            let mut worker = Worker::new(spec);
            let mut take = |i: usize| try_take(&shared[i]);
            let mut scan = || -> Result<()> {
                while !failed.load(Ordering::Relaxed) {
                    let Some(&unit) = units.get(next.fetch_add(1, Ordering::Relaxed)) else {
                        break;
                    };
                    let Unit {
                        file: f,
                        row_group: g,
                        ..
                    } = unit;
                    let input = &inputs[f];
                    let source = input.name();
                    worker.counts_rows = unit.counts_rows();
                    // Chunks counted from their pages first; the Arrow
                    // reader reads the other columns (and any chunk declined).
                    let unread =
                        worker.count_pages(&mut take, input, g, &paged[f], unit.only, &source)?;
                    let mut unread_roots: Vec<usize> = unread.map(|i| roots[f][i]).collect();
                    unread_roots.sort_unstable();
                    unread_roots.dedup();
                    if unread_roots.is_empty() {
                        if worker.counts_rows {
                            let rows = input.row_group_rows(g);
                            worker.own.rows += rows;
                            progress.advance(rows);
                        }
                    } else {
                        input.read_row_group(g, &unread_roots, |batch| {
                            worker.count_batch(&mut take, context.index(), batch, &source)?;
                            if worker.counts_rows {
                                progress.advance(batch.num_rows() as u64);
                            }
                            Ok(())
                        })?;
                    }
                    worker.finish_row_group(&mut take, &source)?;
                }
                Ok(())
            };
            let own = scan().and_then(|()| worker.finish(&mut take));
            if own.is_err() {
                // The other threads stop at their next unit.
                failed.store(true, Ordering::Relaxed);
            }
            own
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

/// A work unit: a row group of an input, with all the features or `only`
/// one of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Unit {
    file: usize,
    row_group: usize,
    only: Option<usize>,
}

impl Unit {
    /// Whether the unit records its row group's rows: one unit per row
    /// group does.
    fn counts_rows(&self) -> bool {
        matches!(self.only, None | Some(0))
    }
}

/// The work units of a scan of `row_groups` ((input, row group) in scan
/// order) for `features` features on `threads` threads: a unit per row
/// group, but for the last `threads` row groups, which are split into a
/// unit per feature.
///
/// A thread that finds no unit left waits for the others to finish theirs,
/// and a row group is the work of tens of milliseconds on the benchmark:
/// with whole row groups to the end, one thread idled 12-58 ms while the
/// other finished its last one. Split into features, the last row groups
/// end within the time of one feature's chunk.
fn units_of(row_groups: &[(usize, usize)], features: usize, threads: usize) -> Vec<Unit> {
    let split_from = if features > 1 && threads > 1 {
        row_groups.len().saturating_sub(threads)
    } else {
        row_groups.len()
    };
    let whole = row_groups[..split_from]
        .iter()
        .map(|&(file, row_group)| Unit {
            file,
            row_group,
            only: None,
        });
    let split = row_groups[split_from..]
        .iter()
        .flat_map(|&(file, row_group)| {
            (0..features).map(move |i| Unit {
                file,
                row_group,
                only: Some(i),
            })
        });
    whole.chain(split).collect()
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

/// Batches a thread holds, read but not yet counted whole because the
/// tables they need were taken, before it counts into its own tables.
///
/// A big table is taken for long when it grows (its partitions cross the
/// growth load together), and a thread that counts into its own tables
/// meanwhile pays for them twice: in fresh memory, and in the merge. A
/// held batch keeps only the columns it still has to count.
const HELD_BATCHES: usize = 16;

/// Tallies a thread holds, complete but not yet counted because their
/// tables were taken, before it counts the oldest into its own table.
///
/// A tally taken straight to a thread's own table whenever the shared one
/// was taken sent 13-20% of the benchmark's `item_id` values there: 0.9-1.4M
/// keys in own tables (tens of MB of fresh memory) and a 38-64 ms merge.
/// A tally holds its dictionary and a count per entry (~1.6 MB for an
/// `item_id` chunk).
const HELD_TALLIES: usize = 8;

/// What a thread may go on holding once it has counted what it can
/// ([`Worker::count_held`]).
#[derive(Debug, Clone, Copy)]
enum Keep {
    /// At most [`HELD_BATCHES`] batches and [`HELD_TALLIES`] tallies.
    UpToTheLimits,
    /// Nothing: the scan has ended.
    Nothing,
}

/// A tally complete but not counted ([`HELD_TALLIES`]): its feature, and
/// the input it came from.
struct HeldTally {
    feature: usize,
    tally: DictionaryTally,
    source: String,
}

/// A batch read (or the plain values of a chunk read from its pages, as
/// a batch of one column), its features still to count: (feature, rows
/// counted so far), and the input it came from. Once some are counted,
/// only the columns of the others are kept.
struct Held {
    batch: RecordBatch,
    pending: Vec<(usize, usize)>,
    source: String,
}

/// One thread's share of a scan: its own counts (the rows it read, and
/// what it counted when the shared tables were taken), its tallies of the
/// current row group's dictionary columns, and the batches and tallies it
/// holds.
struct Worker {
    own: Counts,
    tallies: Vec<DictionaryTally>,
    held: VecDeque<Held>,
    /// Tallies of row groups that ended while their table was taken.
    held_tallies: VecDeque<HeldTally>,
    /// The features whose columns the current unit's batches do not hold:
    /// counted from their pages, or left to another unit.
    not_in_batches: Vec<bool>,
    /// Whether the current unit records its rows ([`Unit::counts_rows`]).
    counts_rows: bool,
    /// The buffers of plain values this thread has counted, for the next
    /// chunks it reads.
    spare: SpareBuffers,
}

/// Feature `i`'s shared table, unless another thread holds it ([`try_take`]).
trait TakeTable<'t>: FnMut(usize) -> Option<MutexGuard<'t, FeatureCounts>> {}
impl<'t, F: FnMut(usize) -> Option<MutexGuard<'t, FeatureCounts>>> TakeTable<'t> for F {}

impl Worker {
    fn new(spec: &Spec) -> Worker {
        Worker {
            own: Counts::new(spec),
            tallies: spec.features().iter().map(|_| Default::default()).collect(),
            held: VecDeque::new(),
            held_tallies: VecDeque::new(),
            not_in_batches: vec![false; spec.features().len()],
            counts_rows: true,
            spare: SpareBuffers::default(),
        }
    }

    /// Counts row group `row_group`'s chunks of the features that `paged`
    /// says can be counted from their pages (of feature `only`, when
    /// given): their dictionary pages into the tallies, the values of their
    /// plain pages as a held batch (see [`count_held`](Self::count_held)).
    /// Returns the features left to read with Arrow (the others, and any
    /// chunk the page path declined; of `only`, when given).
    fn count_pages<'t, 'p>(
        &mut self,
        take: &mut impl TakeTable<'t>,
        input: &ParquetInput,
        row_group: usize,
        paged: &'p [Option<PagedColumn>],
        only: Option<usize>,
        source: &str,
    ) -> Result<impl Iterator<Item = usize> + 'p> {
        let held = self.held.len();
        for (i, column) in paged.iter().enumerate() {
            if only.is_some_and(|o| o != i) {
                // Another unit's feature.
                self.not_in_batches[i] = true;
                continue;
            }
            let chunk = column
                .as_ref()
                .and_then(|c| input.count_pages(row_group, c, &mut self.spare));
            self.not_in_batches[i] = chunk.is_some();
            if let Some(mut chunk) = chunk {
                if let Some(values) = chunk.plain.take() {
                    let batch = self.own.batch_of(i, values)?;
                    self.held.push_back(Held {
                        batch,
                        pending: vec![(i, 0)],
                        source: source.to_string(),
                    });
                }
                // Tallies are empty between row groups.
                self.tallies[i].add_chunk(chunk);
            }
        }
        if self.held.len() > held {
            self.count_held(take, Keep::UpToTheLimits)?;
        }
        let not_in_batches = self.not_in_batches.clone();
        Ok((0..paged.len()).filter(move |&i| !not_in_batches[i]))
    }

    /// Counts every feature of `batch`: a dictionary column into its
    /// tally, any other into the feature's shared table when no other
    /// thread holds it. A batch with a column left is held, and counted
    /// when its tables are free; when more than [`HELD_BATCHES`] are held,
    /// the oldest is counted a chunk at a time into this thread's own
    /// tables. Records the batch's rows, when the unit does. `first` is the feature to try
    /// first (threads start at different ones, to meet less).
    fn count_batch<'t>(
        &mut self,
        take: &mut impl TakeTable<'t>,
        first: usize,
        batch: &RecordBatch,
        source: &str,
    ) -> Result<()> {
        let features = self.own.features.len();
        // Every column is checked before any is counted.
        let unread = |i: &usize| !self.not_in_batches[*i];
        let columns: Vec<Option<Column>> = (0..features)
            .map(|i| {
                unread(&i)
                    .then(|| self.own.column_of(i, batch, source))
                    .transpose()
            })
            .collect::<Result<_>>()?;
        let mut pending: Vec<(usize, usize)> = Vec::with_capacity(features);
        for i in (0..features).map(|k| (first + k) % features) {
            let Some(column) = columns[i] else {
                continue;
            };
            match column {
                Column::Keys(_, array) if DictionaryTally::takes(array.data_type()) => {
                    if !self.tallies[i].add(array) {
                        // Another dictionary: count the last one's entries.
                        self.count_tally(i, take(i), source)?;
                        let fresh = self.tallies[i].add(array);
                        debug_assert!(fresh, "an empty tally takes any dictionary");
                    }
                }
                _ => pending.push((i, 0)),
            }
        }
        if self.counts_rows {
            self.own.rows += batch.num_rows() as u64;
        }
        if !pending.is_empty() {
            self.held.push_back(Held {
                batch: batch.clone(),
                pending,
                source: source.to_string(),
            });
        }
        self.count_held(take, Keep::UpToTheLimits)
    }

    /// Counts the tallies, at the end of a row group (the batches held
    /// stay held: they do not depend on the row group). An empty tally
    /// takes no table.
    fn finish_row_group<'t>(&mut self, take: &mut impl TakeTable<'t>, source: &str) -> Result<()> {
        let held = self.held_tallies.len();
        for i in 0..self.tallies.len() {
            if !self.tallies[i].is_empty() {
                self.count_tally(i, take(i), source)?;
            }
        }
        if self.held_tallies.len() > held {
            self.count_held(take, Keep::UpToTheLimits)?;
        }
        Ok(())
    }

    /// Counts every batch and tally still held, when the scan has nothing
    /// left to read, and returns the thread's own counts.
    fn finish<'t>(mut self, take: &mut impl TakeTable<'t>) -> Result<Counts> {
        self.count_held(take, Keep::Nothing)?;
        Ok(self.own)
    }

    /// Counts the held tallies and the held batches' columns whose tables
    /// are free, until what is held is within `limits`; when no table a
    /// held batch needs is free, counts a chunk of the oldest into this
    /// thread's own table, and then the oldest tally past the limit.
    fn count_held<'t>(&mut self, take: &mut impl TakeTable<'t>, limits: Keep) -> Result<()> {
        let Worker {
            own,
            held,
            held_tallies,
            spare,
            ..
        } = self;
        let (keep, keep_tallies) = match limits {
            Keep::UpToTheLimits => (HELD_BATCHES, HELD_TALLIES),
            Keep::Nothing => (0, 0),
        };
        loop {
            let mut counted = false;
            let mut k = 0;
            while k < held_tallies.len() {
                let i = held_tallies[k].feature;
                if let Some(mut table) = take(i) {
                    let mut h = held_tallies.remove(k).expect("within the held tallies");
                    table.count_tally(&own.names[i], &mut h.tally, &h.source)?;
                    counted = true;
                } else {
                    k += 1;
                }
            }
            for Held {
                batch,
                pending,
                source,
            } in held.iter_mut()
            {
                let (before, mut k) = (pending.len(), 0);
                while k < pending.len() {
                    let (i, done) = pending[k];
                    if let Some(mut table) = take(i) {
                        let column = own.column_of(i, batch, source)?;
                        table.count_column(
                            &own.names[i],
                            column,
                            done..batch.num_rows(),
                            source,
                        )?;
                        pending.remove(k);
                        counted = true;
                    } else {
                        k += 1;
                    }
                }
                if !pending.is_empty() && pending.len() < before {
                    // The columns counted need not stay in memory.
                    *batch = own.project(batch, pending.iter().map(|&(i, _)| i))?;
                }
            }
            let mut k = 0;
            while k < held.len() {
                if held[k].pending.is_empty() {
                    let counted = held.remove(k).expect("within the held batches");
                    // The plain values of a chunk, held alone: their
                    // buffers go to the next chunks.
                    if let [values] = counted.batch.columns() {
                        let values = values.clone();
                        drop(counted);
                        spare.recycle(values);
                    }
                } else {
                    k += 1;
                }
            }
            if held.len() <= keep && held_tallies.len() <= keep_tallies {
                return Ok(());
            }
            if !counted && held.len() <= keep {
                // Only tallies past the limit: the oldest goes to this
                // thread's own table.
                let mut h = held_tallies.pop_front().expect("past the limit");
                let i = h.feature;
                own.features[i].count_tally(&own.names[i], &mut h.tally, &h.source)?;
            } else if !counted {
                // Every table the held batches need is taken: count a
                // chunk of the oldest into this thread's own table.
                let Held {
                    batch,
                    pending,
                    source,
                } = &mut held[0];
                let (i, done) = &mut pending[0];
                let end = batch.num_rows().min(*done + OWN_CHUNK);
                let column = own.column_of(*i, batch, source)?;
                own.features[*i].count_column(&own.names[*i], column, *done..end, source)?;
                *done = end;
                if end == batch.num_rows() {
                    // Dropped with the others at the next look.
                    pending.remove(0);
                }
            }
        }
    }

    /// Counts what feature `i`'s tally holds into `table`, its shared
    /// table when this thread holds it; else holds the tally, for
    /// [`count_held`](Self::count_held) to count.
    fn count_tally(
        &mut self,
        i: usize,
        table: Option<MutexGuard<'_, FeatureCounts>>,
        source: &str,
    ) -> Result<()> {
        let (own, tally) = (&mut self.own, &mut self.tallies[i]);
        match table {
            Some(mut table) => table.count_tally(&own.names[i], tally, source),
            None => {
                self.held_tallies.push_back(HeldTally {
                    feature: i,
                    tally: std::mem::take(tally),
                    source: source.to_string(),
                });
                Ok(())
            }
        }
    }
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

    /// The spec of one feature `d`, and a batch of it: a dictionary
    /// column with `keys` into `values`.
    fn dictionary_batch(keys: Vec<i32>, values: Vec<&str>) -> (Spec, RecordBatch) {
        use arrow_array::DictionaryArray;
        use arrow_array::types::Int32Type;
        let spec = Spec::from_toml_str("[[feature]]\nname = \"d\"").unwrap();
        let array =
            DictionaryArray::<Int32Type>::try_new(keys.into(), Arc::new(StringArray::from(values)))
                .unwrap();
        let batch = RecordBatch::try_from_iter([("d", Arc::new(array) as ArrayRef)]).unwrap();
        (spec, batch)
    }

    fn shared_tables(spec: &Spec) -> Vec<Mutex<FeatureCounts>> {
        Counts::new(spec)
            .features
            .into_iter()
            .map(Mutex::new)
            .collect()
    }

    #[test]
    fn a_taken_table_is_counted_in_chunks_into_the_threads_own() {
        // Not a multiple of the chunk, so the last chunk is a short one:
        // 32,891 rows, keys k0-k890 seen 33 times, k891-k999 32 times.
        let rows = 2 * OWN_CHUNK + 123;
        let (spec, batch) = spec_and_batch(rows);
        let shared = shared_tables(&spec);
        let mut take = |i: usize| try_take(&shared[i]);
        let mut worker = Worker::new(&spec);
        let own = {
            // This thread holds the strings' table: `try_lock` fails. The
            // batch is held (a row group's end does not change that), then
            // counted into the thread's own table when the scan ends.
            let _taken = shared[0].lock().unwrap();
            worker.count_batch(&mut take, 0, &batch, "test").unwrap();
            worker.finish_row_group(&mut take, "test").unwrap();
            assert_eq!(worker.held.len(), 1);
            // Only the column still to count is held.
            let held = &worker.held[0].batch;
            assert_eq!(held.schema().fields().len(), 1);
            assert_eq!(held.schema().field(0).name(), "s");
            worker.finish(&mut take).unwrap()
        };
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
    fn the_last_row_groups_are_split_into_features() {
        let row_groups: Vec<(usize, usize)> = [(0, 0), (0, 1), (1, 0), (1, 1), (1, 2)].into();
        let units = units_of(&row_groups, 3, 2);
        let whole = |file, row_group| Unit {
            file,
            row_group,
            only: None,
        };
        assert_eq!(units[..3], [whole(0, 0), whole(0, 1), whole(1, 0)]);
        let split: Vec<(usize, usize, Option<usize>)> = units[3..]
            .iter()
            .map(|u| (u.file, u.row_group, u.only))
            .collect();
        assert_eq!(
            split,
            [
                (1, 1, Some(0)),
                (1, 1, Some(1)),
                (1, 1, Some(2)),
                (1, 2, Some(0)),
                (1, 2, Some(1)),
                (1, 2, Some(2))
            ]
        );
        // Each row group's rows are recorded once.
        for &(file, row_group) in &row_groups {
            let counting = units
                .iter()
                .filter(|u| (u.file, u.row_group) == (file, row_group) && u.counts_rows())
                .count();
            assert_eq!(counting, 1, "row group {row_group} of input {file}");
        }
        // One feature, or one thread: nothing to split.
        let unsplit = |units: Vec<Unit>| units.iter().all(|u| u.only.is_none());
        assert!(unsplit(units_of(&row_groups, 1, 2)));
        assert!(unsplit(units_of(&row_groups, 3, 1)));
        assert_eq!(units_of(&row_groups[..1], 2, 4).len(), 2);
    }

    #[test]
    fn a_table_freed_midway_takes_the_rest_of_its_column() {
        let rows = 3 * OWN_CHUNK + 5;
        let (spec, batch) = spec_and_batch(rows);
        let shared = shared_tables(&spec);
        let mut worker = Worker::new(&spec);
        // The strings' table is taken at its first three looks: at the
        // first, the free tables take their columns and the batch is held;
        // when the scan ends, a chunk goes to the thread's own table at
        // each of the next two; at the fourth it is free and takes the
        // rest.
        let mut looks = 0;
        let mut take = |i: usize| {
            if i == 0 {
                looks += 1;
                if looks <= 3 {
                    return None;
                }
            }
            try_take(&shared[i])
        };
        worker.count_batch(&mut take, 0, &batch, "test").unwrap();
        let own = worker.finish(&mut take).unwrap();
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
        let mut worker = Worker::new(&spec);
        let mut take = |i: usize| try_take(&shared[i]);
        worker.count_batch(&mut take, 2, &batch, "test").unwrap();
        assert!(worker.held.is_empty());
        for (i, table) in shared.iter().enumerate() {
            let table = table.lock().unwrap();
            assert_eq!(
                table.total_count() + table.null_count(),
                rows as u64,
                "feature {i}"
            );
            let mine = &worker.own.features[i];
            assert_eq!(mine.total_count() + mine.null_count(), 0, "feature {i}");
        }
        assert_eq!(worker.own.rows(), rows as u64);
    }

    #[test]
    fn batches_are_held_while_their_table_is_taken_and_the_oldest_counted_alone_past_the_limit() {
        let rows = 1000;
        let (spec, batch) = spec_and_batch(rows);
        let shared = shared_tables(&spec);
        let mut worker = Worker::new(&spec);
        // The strings' table is taken.
        let mut take = |i: usize| if i == 0 { None } else { try_take(&shared[i]) };
        for _ in 0..HELD_BATCHES {
            worker.count_batch(&mut take, 0, &batch, "test").unwrap();
        }
        // All held, none counted into the thread's own table.
        assert_eq!(worker.held.len(), HELD_BATCHES);
        assert_eq!(worker.own.features[0].total_count(), 0);
        // One more: the oldest goes to the thread's own table.
        worker.count_batch(&mut take, 0, &batch, "test").unwrap();
        assert_eq!(worker.held.len(), HELD_BATCHES);
        assert_eq!(worker.own.features[0].total_count(), rows as u64);
        assert_eq!(shared[0].lock().unwrap().total_count(), 0);
        // The table is free again: the next batch counts every held one
        // into it.
        let mut take = |i: usize| try_take(&shared[i]);
        worker.count_batch(&mut take, 0, &batch, "test").unwrap();
        assert!(worker.held.is_empty());
        assert_eq!(
            shared[0].lock().unwrap().total_count(),
            (HELD_BATCHES + 1) as u64 * rows as u64
        );
        assert_eq!(worker.own.features[0].total_count(), rows as u64);
        assert_eq!(worker.own.rows(), (HELD_BATCHES + 2) as u64 * rows as u64);
        // The ints' table was free all along.
        assert_eq!(
            shared[1].lock().unwrap().total_count(),
            (HELD_BATCHES + 2) as u64 * rows as u64
        );
    }

    #[test]
    fn tallies_are_held_while_their_table_is_taken_and_the_oldest_counted_alone_past_the_limit() {
        let (spec, batch) = dictionary_batch(vec![0, 1, 1, 0, 1], vec!["a", "b"]);
        let shared = shared_tables(&spec);
        let mut worker = Worker::new(&spec);
        // Row groups end while the table is taken: their tallies are held.
        let mut taken = |_: usize| None;
        for _ in 0..HELD_TALLIES {
            worker.count_batch(&mut taken, 0, &batch, "test").unwrap();
            worker.finish_row_group(&mut taken, "test").unwrap();
        }
        assert_eq!(worker.held_tallies.len(), HELD_TALLIES);
        assert_eq!(worker.own.features[0].total_count(), 0);
        // One more: the oldest goes to the thread's own table.
        worker.count_batch(&mut taken, 0, &batch, "test").unwrap();
        worker.finish_row_group(&mut taken, "test").unwrap();
        assert_eq!(worker.held_tallies.len(), HELD_TALLIES);
        assert_eq!(worker.own.features[0].count("b"), 3);
        assert_eq!(shared[0].lock().unwrap().total_count(), 0);
        // The table is free again: the next row group counts every held
        // tally into it, and the end of the scan leaves nothing held.
        let mut take = |i: usize| try_take(&shared[i]);
        worker.count_batch(&mut take, 0, &batch, "test").unwrap();
        worker.finish_row_group(&mut take, "test").unwrap();
        assert!(worker.held_tallies.is_empty());
        let own = worker.finish(&mut take).unwrap();
        let table = shared[0].lock().unwrap();
        let rounds = HELD_TALLIES as u64 + 1;
        assert_eq!(
            (table.count("a"), table.count("b")),
            (2 * rounds, 3 * rounds)
        );
        assert_eq!(own.features[0].total_count(), 5);
        assert_eq!(own.rows(), (rounds + 1) * 5);
    }

    #[test]
    fn held_tallies_are_counted_when_the_scan_ends() {
        let (spec, batch) = dictionary_batch(vec![0, 0, 1], vec!["a", "b"]);
        let mut worker = Worker::new(&spec);
        let mut taken = |_: usize| None;
        worker.count_batch(&mut taken, 0, &batch, "test").unwrap();
        worker.finish_row_group(&mut taken, "test").unwrap();
        assert_eq!(worker.held_tallies.len(), 1);
        // Still taken at the end: counted into the thread's own table.
        let own = worker.finish(&mut taken).unwrap();
        assert_eq!(
            (own.features[0].count("a"), own.features[0].count("b")),
            (2, 1)
        );
    }

    #[test]
    fn a_dictionary_column_is_tallied_and_counted_when_its_dictionary_changes() {
        let dictionary = |values| dictionary_batch(vec![0, 1, 1, 0, 1], values).1;
        let (spec, first) = dictionary_batch(vec![0, 1, 1, 0, 1], vec!["a", "b"]);
        let shared = shared_tables(&spec);
        let mut worker = Worker::new(&spec);
        let mut take = |i: usize| try_take(&shared[i]);
        // Two batches over one dictionary: tallied, no table touched, and
        // nothing held.
        worker.count_batch(&mut take, 0, &first, "test").unwrap();
        worker
            .count_batch(&mut take, 0, &first.slice(1, 3), "test")
            .unwrap();
        assert!(worker.held.is_empty());
        assert_eq!(shared[0].lock().unwrap().total_count(), 0);
        // Another dictionary: the first one's entries are counted.
        worker
            .count_batch(&mut take, 0, &dictionary(vec!["b", "c"]), "test")
            .unwrap();
        {
            let table = shared[0].lock().unwrap();
            assert_eq!((table.count("a"), table.count("b")), (2 + 1, 3 + 2));
            assert_eq!((table.count("c"), table.total_count()), (0, 8));
        }
        assert_eq!(
            worker.tallies[0].key_type(),
            Some(crate::keys::KeyType::Bytes)
        );
        // The end of the row group counts the second.
        worker.finish_row_group(&mut take, "test").unwrap();
        let table = shared[0].lock().unwrap();
        assert_eq!((table.count("c"), table.total_count()), (3, 13));
        assert_eq!(worker.tallies[0].key_type(), None);
        assert_eq!(worker.own.rows(), 13);
    }
}
