//! Building a vocabulary: count (from batches, files or partial counts),
//! select, write.

use std::ops::DerefMut;
use std::path::Path;

use arrow_array::RecordBatch;

use crate::artifact::Vocabulary;
use crate::artifact::write;
use crate::atomic::AtomicFile;
use crate::count::Counts;
use crate::error::Result;
use crate::spec::Spec;
use crate::vocab::{self, Selection};
use crate::zeroed::{SparePages, Zeroed};

/// Counts values and turns the counts into a [`Vocabulary`].
///
/// ```
/// # use std::sync::Arc;
/// # use arrow_array::{Int64Array, RecordBatch};
/// let spec = oovocab::Spec::from_toml_str("[[feature]]\nname = \"user\"\nmin_count = 2").unwrap();
/// let mut builder = oovocab::VocabularyBuilder::new(spec);
/// let users = Int64Array::from(vec![7, 7, 9, 7, 9, 1]);
/// builder.add_batch(&RecordBatch::try_from_iter([("user", Arc::new(users) as _)]).unwrap()).unwrap();
/// let vocab = builder.build().unwrap();
/// let user = vocab.feature("user").unwrap();
/// assert_eq!((user.id(7i64), user.id(9i64)), (3, 4));
/// assert!(user.layout().is_oov(user.id(1i64))); // seen once: below min_count
/// ```
#[derive(Debug)]
pub struct VocabularyBuilder {
    spec: Spec,
    counts: Counts,
    threads: usize,
}

impl VocabularyBuilder {
    /// A builder for the features of `spec`, with nothing counted yet.
    pub fn new(spec: Spec) -> VocabularyBuilder {
        VocabularyBuilder {
            counts: Counts::new(&spec),
            spec,
            threads: 0,
        }
    }

    /// Threads used to scan files (0, the default, means one per core).
    pub fn threads(mut self, threads: usize) -> VocabularyBuilder {
        self.threads = threads;
        self
    }

    /// The spec.
    pub fn spec(&self) -> &Spec {
        &self.spec
    }

    /// What has been counted so far.
    pub fn counts(&self) -> &Counts {
        &self.counts
    }

    /// Counts one batch.
    ///
    /// # Errors
    /// As [`Counts::add_batch`].
    pub fn add_batch(&mut self, batch: &RecordBatch) -> Result<()> {
        self.counts.add_batch(batch)
    }

    /// Adds counts made elsewhere (another thread, file or machine).
    ///
    /// # Errors
    /// As [`Counts::merge`].
    pub fn add_counts(&mut self, counts: Counts) -> Result<()> {
        self.counts.merge(counts)
    }

    /// Adds a partial-counts file written by [`Counts::save`] (or `oovocab
    /// count`). Its features (names and columns, in order) must be the
    /// spec's; the selection settings (`min_count`, buckets, ...) come from
    /// this builder's spec, so one set of partial counts can be built with
    /// several.
    ///
    /// ```
    /// # use arrow_array::{RecordBatch, StringArray};
    /// # use std::sync::Arc;
    /// # let dir = tempfile::tempdir().unwrap();
    /// let spec = oovocab::Spec::from_toml_str("[[feature]]\nname = \"c\"").unwrap();
    /// let batch = |v: Vec<&str>| RecordBatch::try_from_iter([("c", Arc::new(StringArray::from(v)) as _)]).unwrap();
    /// // Two workers count their parts of the data and save them.
    /// for (i, part) in [vec!["a", "b"], vec!["a"]].into_iter().enumerate() {
    ///     let mut counts = oovocab::Counts::new(&spec);
    ///     counts.add_batch(&batch(part)).unwrap();
    ///     counts.save(dir.path().join(format!("part-{i}.oovc"))).unwrap();
    /// }
    /// // One merges them into the vocabulary.
    /// let mut builder = oovocab::VocabularyBuilder::new(spec);
    /// for i in 0..2 {
    ///     builder.add_counts_file(dir.path().join(format!("part-{i}.oovc"))).unwrap();
    /// }
    /// let vocab = builder.build().unwrap();
    /// assert_eq!(vocab.feature("c").unwrap().len(), 2);
    /// ```
    ///
    /// # Errors
    /// As [`Counts::open`], and [`Error::Artifact`](crate::Error::Artifact)
    /// naming the file when it counted other features or columns.
    pub fn add_counts_file(&mut self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let counts = Counts::open(path)?;
        let theirs = counts.features_and_columns();
        let mine = self.counts.features_and_columns();
        if theirs != mine {
            return Err(crate::Error::artifact(
                path,
                format!(
                    "counted features {theirs:?} (name, column), but the spec has {mine:?}: count with the same spec"
                ),
            ));
        }
        self.counts.merge(counts)
    }

    /// Counts Parquet files and directories of them (see
    /// [`discover_inputs`](crate::discover_inputs)), in parallel across row
    /// groups, reading only the columns the spec needs.
    ///
    /// # Errors
    /// [`Error::Io`](crate::Error::Io), [`Error::Parquet`](crate::Error::Parquet),
    /// [`Error::MissingColumn`](crate::Error::MissingColumn) and the others of
    /// [`Counts::add_batch`], each naming the file.
    #[cfg(feature = "parquet")]
    pub fn add_paths(&mut self, paths: &[impl AsRef<Path>]) -> Result<()> {
        self.add_paths_with_progress(paths, &())
    }

    /// [`add_paths`](Self::add_paths), telling `progress` how it goes.
    ///
    /// # Errors
    /// As [`add_paths`](Self::add_paths).
    #[cfg(feature = "parquet")]
    pub fn add_paths_with_progress(
        &mut self,
        paths: &[impl AsRef<Path>],
        progress: &dyn crate::ScanProgress,
    ) -> Result<()> {
        let files = crate::scan::discover_inputs(paths)?;
        let counts =
            crate::count::parallel::count_files(&self.spec, &files, self.threads, progress)?;
        self.counts.merge(counts)
    }

    /// Selects the vocabularies and serializes the artifact.
    ///
    /// # Errors
    /// [`Error::Limit`](crate::Error::Limit) when a vocabulary does not fit the id space.
    pub fn into_bytes(self) -> Result<Vec<u8>> {
        self.serialize(|len, _| vec![0; len])
    }

    /// Selects the vocabularies and serializes the artifact into a buffer
    /// that `buffer` makes (any bytes: every one is written), from the
    /// count tables' pages if it can.
    fn serialize<B: DerefMut<Target = [u8]> + Send>(
        self,
        buffer: impl FnOnce(usize, &SparePages) -> B + Send,
    ) -> Result<B> {
        self.selected(|selection, spare| write::serialize(&selection, &spare, buffer))
    }

    /// Selects the vocabularies and hands them to `then`, with the pages
    /// of the count tables, on the builder's thread pool.
    fn selected<R: Send>(
        self,
        then: impl FnOnce(Selection, SparePages) -> Result<R> + Send,
    ) -> Result<R> {
        let VocabularyBuilder {
            spec,
            counts,
            threads,
        } = self;
        crate::count::thread_pool(threads)?.install(|| {
            let (selection, spare) = vocab::select(&spec, counts)?;
            then(selection, spare)
        })
    }

    /// Builds the vocabulary in memory.
    ///
    /// # Errors
    /// As [`into_bytes`](Self::into_bytes).
    pub fn build(self) -> Result<Vocabulary> {
        Vocabulary::from_buffer(self.serialize(Zeroed::to_overwrite_from)?)
    }

    /// Writes the artifact to `path` atomically (a temporary file renamed
    /// over it when complete) and returns it opened.
    ///
    /// # Errors
    /// As [`into_bytes`](Self::into_bytes), and [`Error::Io`](crate::Error::Io).
    pub fn save(self, path: impl AsRef<Path>) -> Result<Vocabulary> {
        let path = path.as_ref();
        let out = AtomicFile::create(path)?;
        // Written to the file piece by piece while it is serialized.
        let (bytes, leftovers) = self.selected(|selection, spare| {
            let bytes = write::serialize_to_file(&selection, &spare, &out, path)?;
            Ok((bytes, (selection, spare)))
        })?;
        // The selection and the pages no array took over are freed (tens
        // of MB unmapped) while the file is made durable and renamed.
        std::thread::scope(|scope| {
            // Without a thread, the closure and what it holds are dropped
            // here: freed first.
            let _ = std::thread::Builder::new().spawn_scoped(scope, move || drop(leftovers));
            out.commit()
        })?;
        let mut vocab = Vocabulary::from_buffer(bytes)?;
        vocab.set_path(path);
        Ok(vocab)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{ArrayRef, Int64Array, StringArray};
    use std::sync::Arc;

    fn builder() -> VocabularyBuilder {
        let spec = Spec::from_toml_str(
            "[[feature]]\nname = \"s\"\n[[feature]]\nname = \"i\"\nmin_count = 2\n\
             [[feature]]\nname = \"e\"\nmin_count = 1000",
        )
        .unwrap();
        let n = 5000;
        let strings: Vec<String> = (0..n).map(|r| format!("v{}", r % 777)).collect();
        let batch = RecordBatch::try_from_iter([
            (
                "s",
                Arc::new(StringArray::from_iter_values(&strings)) as ArrayRef,
            ),
            (
                "i",
                Arc::new(Int64Array::from_iter_values((0..n).map(|r| r % 1234 - 600))) as _,
            ),
            ("e", Arc::new(StringArray::from_iter_values(&strings)) as _),
        ])
        .unwrap();
        let mut builder = VocabularyBuilder::new(spec);
        builder.add_batch(&batch).unwrap();
        builder
    }

    /// The artifact's buffer may hold anything when it is made (the count
    /// tables' old pages): every byte of the artifact is written, padding
    /// and empty table slots included.
    #[test]
    fn a_buffer_of_any_bytes_serializes_as_a_zeroed_one() {
        let zeroed = builder().into_bytes().unwrap();
        for garbage in [0xa5u8, 0xff, 1] {
            let dirty = builder().serialize(|len, _| vec![garbage; len]).unwrap();
            assert_eq!(dirty, zeroed, "bytes of {garbage:#x} left in the artifact");
        }
    }
}
