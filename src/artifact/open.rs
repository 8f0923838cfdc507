//! Opening an artifact: map it, check header, version and checksum, parse the
//! manifest, check every section's bounds. No hash table is rebuilt: lookups
//! probe the file's own table through bounds-checked slices.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use memmap2::Mmap;

use super::format::*;
use crate::count::InputFile;
use crate::error::{Error, Result};
use crate::hash;
use crate::id::Layout;
use crate::keys::{Key, KeyType};
use crate::prefetch::prefetch;
use crate::spec::{FeatureSpec, NullPolicy, Spec};
use crate::vocab::FeatureStats;

/// Values looked up per group by [`Feature::ids_of`].
const GROUP: usize = 16;

enum Data {
    Mapped(Mmap),
    Owned(Vec<u8>),
    Zeroed(crate::zeroed::Zeroed<u8>),
}

impl std::ops::Deref for Data {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Data::Mapped(m) => m,
            Data::Owned(v) => v,
            Data::Zeroed(b) => b,
        }
    }
}

/// Validated absolute byte ranges of one feature's tables.
#[derive(Debug, Clone)]
struct Tables {
    keys: Range<usize>,
    offsets: Option<Range<usize>>,
    counts: Range<usize>,
    table: Range<usize>,
    len: usize,
    mask: usize,
}

/// An opened vocabulary file: every feature of a spec, ready for lookups.
///
/// Opening maps the file and checks it (header, version, checksum, manifest,
/// section bounds); it does not build any per-process hash table. A
/// `Vocabulary` is `Send + Sync`: share one (in an `Arc`) between threads.
/// It keeps serving the file it opened even if the path is replaced by a
/// newer build (writers replace files by rename).
///
/// ```
/// # use std::sync::Arc;
/// # use arrow_array::{RecordBatch, StringArray};
/// let spec = oovocab::Spec::from_toml_str("[[feature]]\nname = \"item\"").unwrap();
/// let mut builder = oovocab::VocabularyBuilder::new(spec);
/// let items = StringArray::from(vec!["a", "b", "a"]);
/// builder.add_batch(&RecordBatch::try_from_iter([("item", Arc::new(items) as _)]).unwrap()).unwrap();
/// let vocab = oovocab::Vocabulary::from_bytes(builder.into_bytes().unwrap()).unwrap();
/// let item = vocab.feature("item").unwrap();
/// assert_eq!(item.id("a"), 3); // 0 padding, 1 null, 2 OOV, then by count
/// assert_eq!(item.id("b"), 4);
/// assert_eq!(item.id("never seen"), 2);
/// ```
pub struct Vocabulary {
    path: PathBuf,
    data: Data,
    manifest: Manifest,
    tables: Vec<Tables>,
}

impl fmt::Debug for Vocabulary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Vocabulary")
            .field("path", &self.path)
            .field("bytes", &self.data.len())
            .field(
                "features",
                &self
                    .manifest
                    .features
                    .iter()
                    .map(|f| (&f.spec.name, f.layout.size()))
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl Vocabulary {
    /// Opens (memory-maps) and checks an artifact.
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be read; [`Error::Artifact`] when it
    /// is empty, truncated, altered or not an artifact;
    /// [`Error::UnsupportedVersion`] when a newer oovocab wrote it.
    pub fn open(path: impl AsRef<Path>) -> Result<Vocabulary> {
        let path = path.as_ref();
        let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        let len = file.metadata().map_err(|e| Error::io(path, e))?.len();
        if len < HEADER_LEN as u64 {
            return Err(Error::artifact(
                path,
                format!(
                    "not an oovocab artifact: the file has {len} bytes, an artifact has at least {HEADER_LEN}"
                ),
            ));
        }
        let map = map_file(&file).map_err(|e| Error::io(path, e))?;
        Vocabulary::parse(path.to_path_buf(), Data::Mapped(map), Checksum::Verify)
    }

    /// Opens an artifact held in memory (as [`VocabularyBuilder::into_bytes`](crate::VocabularyBuilder::into_bytes) makes it).
    ///
    /// # Errors
    /// As [`Vocabulary::open`], naming the path `<memory>`.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Vocabulary> {
        Vocabulary::parse(
            PathBuf::from("<memory>"),
            Data::Owned(bytes),
            Checksum::Verify,
        )
    }

    /// Opens an artifact this process has just serialized into a
    /// [`Zeroed`](crate::zeroed::Zeroed) buffer; its checksum, computed
    /// over these bytes as they were framed, is not computed again.
    pub(crate) fn from_buffer(bytes: crate::zeroed::Zeroed<u8>) -> Result<Vocabulary> {
        Vocabulary::parse(
            PathBuf::from("<memory>"),
            Data::Zeroed(bytes),
            Checksum::JustFramed,
        )
    }

    fn parse(path: PathBuf, data: Data, checksum: Checksum) -> Result<Vocabulary> {
        let bad = |m: String| Error::artifact(&path, m);
        let (manifest_range, data_start) = unframe(&VOCABULARY_FILE, &path, &data, checksum)?;
        let manifest: Manifest = serde_json::from_slice(&data[manifest_range])
            .map_err(|e| bad(format!("bad manifest: {e}")))?;
        if manifest.kind != KIND {
            return Err(bad(format!(
                "manifest kind is {:?}, not {KIND:?}",
                manifest.kind
            )));
        }
        // The spec must be valid (unique names, buckets, rates), so that
        // `spec()` can rebuild it.
        Spec::from_features(manifest.features.iter().map(|f| f.spec.clone()).collect())
            .map_err(|e| bad(format!("invalid spec in the manifest: {e}")))?;
        let data_len = data.len().saturating_sub(data_start);
        let mut tables = Vec::with_capacity(manifest.features.len());
        for f in &manifest.features {
            let name = &f.spec.name;
            let range = |s: Section, what: &str| -> Result<Range<usize>> {
                let end = s
                    .offset
                    .checked_add(s.len)
                    .filter(|&e| e <= data_len as u64);
                match end {
                    Some(end) if s.offset % ALIGN as u64 == 0 => {
                        Ok(data_start + s.offset as usize..data_start + end as usize)
                    }
                    _ => Err(bad(format!(
                        "feature {name:?}: {what} section out of bounds"
                    ))),
                }
            };
            let l = f.layout;
            let relaid = Layout::new(
                l.padding_id().is_some(),
                l.null_id().is_some(),
                l.oov_buckets(),
                u64::from(l.vocab_size()),
            );
            if relaid.ok() != Some(l)
                || (f.spec.nulls == NullPolicy::Slot) != l.null_id().is_some()
                || f.spec.padding != l.padding_id().is_some()
            {
                return Err(bad(format!("feature {name:?}: inconsistent id layout")));
            }
            let n = l.vocab_size() as usize;
            let keys = range(f.sections.keys, "keys")?;
            let counts = range(f.sections.counts, "counts")?;
            let table = range(f.sections.table, "table")?;
            let offsets = match (f.key_type, f.sections.offsets) {
                (KeyType::Bytes, Some(o)) => Some(range(o, "offsets")?),
                (KeyType::Bytes, None) => {
                    return Err(bad(format!("feature {name:?}: bytes keys without offsets")));
                }
                (_, Some(_)) => {
                    return Err(bad(format!("feature {name:?}: integer keys with offsets")));
                }
                (_, None) => None,
            };
            let sizes_ok = counts.len() == 8 * n
                && table.len() == 8 * table_capacity(n)
                && match &offsets {
                    Some(o) => o.len() == 8 * (n + 1),
                    None => keys.len() == 8 * n,
                };
            if !sizes_ok {
                return Err(bad(format!(
                    "feature {name:?}: section sizes do not match {n} keys"
                )));
            }
            tables.push(Tables {
                keys,
                offsets,
                counts,
                table,
                len: n,
                mask: table_capacity(n).wrapping_sub(1),
            });
        }
        Ok(Vocabulary {
            path,
            data,
            manifest,
            tables,
        })
    }

    pub(crate) fn set_path(&mut self, path: &Path) {
        self.path = path.to_path_buf();
    }

    /// The path it was opened from (`<memory>` for bytes).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The format major version of the file.
    pub fn format_version(&self) -> u16 {
        self.manifest.format_version
    }

    /// Rows scanned to build it.
    pub fn rows_scanned(&self) -> u64 {
        self.manifest.rows_scanned
    }

    /// The input files it was built from, sorted by path.
    pub fn inputs(&self) -> &[InputFile] {
        &self.manifest.inputs
    }

    /// The spec it was built with (defaults applied).
    pub fn spec(&self) -> Spec {
        Spec::from_features(
            self.manifest
                .features
                .iter()
                .map(|f| f.spec.clone())
                .collect(),
        )
        .expect("checked when the artifact was opened")
    }

    /// Every feature, in spec order.
    pub fn features(&self) -> impl ExactSizeIterator<Item = Feature<'_>> {
        (0..self.tables.len()).map(move |i| Feature {
            vocab: self,
            index: i,
        })
    }

    pub(crate) fn feature_at(&self, index: usize) -> Feature<'_> {
        assert!(index < self.tables.len());
        Feature { vocab: self, index }
    }

    /// The feature named `name`.
    ///
    /// # Errors
    /// [`Error::UnknownFeature`], listing the features there are.
    pub fn feature(&self, name: &str) -> Result<Feature<'_>> {
        match self
            .manifest
            .features
            .iter()
            .position(|f| f.spec.name == name)
        {
            Some(index) => Ok(Feature { vocab: self, index }),
            None => Err(Error::UnknownFeature {
                name: name.to_string(),
                available: self
                    .manifest
                    .features
                    .iter()
                    .map(|f| f.spec.name.clone())
                    .collect(),
            }),
        }
    }

    /// Checks every table entry, beyond what [`open`](Vocabulary::open)
    /// checks: key offsets ascend, every table slot points at a key, and
    /// every key is found where the table says. Costs a pass over all keys.
    ///
    /// # Errors
    /// [`Error::Artifact`] naming the feature and the problem.
    pub fn verify(&self) -> Result<()> {
        for f in self.features() {
            let t = &self.tables[f.index];
            let bad = |m: &str| Error::artifact(&self.path, format!("feature {:?}: {m}", f.name()));
            if let Some(o) = &t.offsets {
                let offsets = &self.data[o.clone()];
                let mut prev = 0;
                for i in 0..=t.len {
                    let at = read_u64(offsets, i);
                    if at < prev || at > t.keys.len() as u64 || (i == 0 && at != 0) {
                        return Err(bad("key offsets are not ascending within the key bytes"));
                    }
                    prev = at;
                }
            }
            let table = &self.data[t.table.clone()];
            let filled = (0..table.len() / 8)
                .filter(|&s| read_u64(table, s) != 0)
                .count();
            if filled != t.len {
                return Err(bad("the lookup table does not hold every key exactly once"));
            }
            for i in 0..t.len as u32 {
                let key = f.key(i).ok_or_else(|| bad("a key is unreadable"))?;
                if f.index_of(key) != Some(i) {
                    return Err(bad("a key is not found at its own index"));
                }
            }
        }
        Ok(())
    }
}

// One function holds the crate's only unsafe code.
#[allow(unsafe_code)]
fn map_file(file: &std::fs::File) -> std::io::Result<Mmap> {
    // SAFETY: the map is read-only, and every read of it goes through
    // bounds-checked slices of the length it had when it was mapped. oovocab
    // writers never modify an artifact in place: they write a new file and
    // rename it over the old one, so a mapped file does not change. If
    // another program truncates the file in place while it is mapped, reads
    // of the lost pages raise SIGBUS (the process dies; memory safety is not
    // at stake beyond that), which is the documented limit of mmap.
    unsafe { Mmap::map(file) }
}

/// One feature of an opened [`Vocabulary`]: its layout, keys and lookups.
#[derive(Clone, Copy)]
pub struct Feature<'a> {
    vocab: &'a Vocabulary,
    index: usize,
}

impl fmt::Debug for Feature<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Feature")
            .field("name", &self.name())
            .field("key_type", &self.key_type())
            .field("layout", &self.layout())
            .finish()
    }
}

impl<'a> Feature<'a> {
    pub(crate) fn index(&self) -> usize {
        self.index
    }

    fn manifest(&self) -> &'a FeatureManifest {
        &self.vocab.manifest.features[self.index]
    }

    fn tables(&self) -> &'a Tables {
        &self.vocab.tables[self.index]
    }

    fn bytes(&self, range: &Range<usize>) -> &'a [u8] {
        self.vocab.data.get(range.clone()).unwrap_or(&[])
    }

    /// The feature's name (the output column).
    pub fn name(&self) -> &'a str {
        &self.manifest().spec.name
    }

    /// The input column.
    pub fn column(&self) -> &'a str {
        &self.manifest().spec.column
    }

    /// The feature's settings, defaults applied.
    pub fn spec(&self) -> &'a FeatureSpec {
        &self.manifest().spec
    }

    /// The key type.
    pub fn key_type(&self) -> KeyType {
        self.manifest().key_type
    }

    /// The id layout.
    pub fn layout(&self) -> Layout {
        self.manifest().layout
    }

    /// The number of ids (the embedding table's rows).
    pub fn size(&self) -> u32 {
        self.layout().size()
    }

    /// The number of known values.
    pub fn len(&self) -> usize {
        self.tables().len
    }

    /// Whether no value is known.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Counts recorded when it was built.
    pub fn stats(&self) -> &'a FeatureStats {
        &self.manifest().stats
    }

    /// The id of a value: its own id when known, else its OOV bucket id.
    /// Never fails. A key of another type than the feature's is unseen.
    pub fn id<'k>(&self, key: impl Into<Key<'k>>) -> u32 {
        let key = key.into();
        match self.index_of(key) {
            Some(i) => self.layout().known_id(i),
            None => self.oov_id(key),
        }
    }

    /// The id of a known value, or `None` when it is not in the vocabulary.
    pub fn get<'k>(&self, key: impl Into<Key<'k>>) -> Option<u32> {
        self.index_of(key.into()).map(|i| self.layout().known_id(i))
    }

    /// The OOV bucket id the value gets when it is not in the vocabulary
    /// (`xxh3_64_with_seed(key, hash_seed) % oov_buckets`, offset).
    pub fn oov_id<'k>(&self, key: impl Into<Key<'k>>) -> u32 {
        self.layout()
            .bucket_id(hash::oov_hash(key.into(), self.spec().hash_seed))
    }

    /// The id a null value gets: the null slot, the first OOV id (`nulls =
    /// "oov"`), or `None` when nulls are an error (`nulls = "error"`).
    pub fn null_id(&self) -> Option<u32> {
        match self.spec().nulls {
            NullPolicy::Slot => self.layout().null_id(),
            NullPolicy::Oov => Some(self.layout().oov_first_id()),
            NullPolicy::Error => None,
        }
    }

    /// The known value with this index (0 = most frequent; its id is
    /// `layout().known_id(index)`).
    pub fn key(&self, index: u32) -> Option<Key<'a>> {
        let t = self.tables();
        let i = index as usize;
        if i >= t.len {
            return None;
        }
        let keys = self.bytes(&t.keys);
        Some(match (self.key_type(), &t.offsets) {
            (KeyType::Bytes, Some(o)) => {
                let o = self.bytes(o);
                let (s, e) = (read_u64(o, i), read_u64(o, i + 1));
                Key::Bytes(keys.get(usize::try_from(s).ok()?..usize::try_from(e).ok()?)?)
            }
            (KeyType::Int, _) => Key::Int(read_u64(keys, i) as i64),
            (KeyType::Uint, _) => Key::Uint(read_u64(keys, i)),
            (KeyType::Bytes, None) => return None,
        })
    }

    /// How often the known value with this index was counted.
    pub fn count(&self, index: u32) -> Option<u64> {
        ((index as usize) < self.len())
            .then(|| read_u64(self.bytes(&self.tables().counts), index as usize))
    }

    /// The index of a known value (0 = most frequent).
    pub fn index_of(&self, key: Key<'_>) -> Option<u32> {
        let key = match (self.key_type(), key) {
            (KeyType::Bytes, Key::Bytes(b)) => Key::Bytes(b),
            (KeyType::Int, Key::Int(v)) => Key::Int(v),
            (KeyType::Int, Key::Uint(v)) => Key::Int(i64::try_from(v).ok()?),
            (KeyType::Uint, Key::Uint(v)) => Key::Uint(v),
            (KeyType::Uint, Key::Int(v)) => Key::Uint(u64::try_from(v).ok()?),
            _ => return None,
        };
        let t = self.tables();
        if t.len == 0 {
            return None;
        }
        let table = self.bytes(&t.table);
        let hash = hash::table_hash(key);
        let fingerprint = hash >> 32;
        let mut slot = hash as usize & t.mask;
        // Bounded: a corrupt table can give a miss, never a hang.
        for _ in 0..=t.mask {
            let entry = read_u64(table, slot);
            if entry == 0 {
                return None;
            }
            // Keys are read only when the fingerprint matches.
            if entry >> 32 == fingerprint {
                let index = (entry as u32).wrapping_sub(1);
                if self.key(index) == Some(key) {
                    return Some(index);
                }
            }
            slot = (slot + 1) & t.mask;
        }
        None
    }

    /// The ids of many values at once: [`id`](Self::id) of each, with
    /// `null_id` for `None`. Works in groups: the table slots of a whole
    /// group are loaded before any is examined, then the candidates' key
    /// positions, then the keys, so the memory accesses of a group overlap
    /// instead of waiting on each other; and each group's slots are
    /// prefetched while the group before it is looked up.
    pub(crate) fn ids_of<'k>(
        &self,
        values: impl Iterator<Item = Option<Key<'k>>>,
        null_id: i32,
        out: &mut Vec<i32>,
    ) {
        let mut ready: [Option<Key<'k>>; GROUP] = [None; GROUP];
        let mut ready_len = 0;
        let mut ready_hashes = [0u64; GROUP];
        let mut filling: [Option<Key<'k>>; GROUP] = [None; GROUP];
        let mut filled = 0;
        for v in values {
            filling[filled] = v;
            filled += 1;
            if filled == GROUP {
                let hashes = self.hash_and_prefetch(&filling);
                self.ids_of_group(&ready[..ready_len], &ready_hashes, null_id, out);
                (ready, ready_len, ready_hashes) = (filling, GROUP, hashes);
                filled = 0;
            }
        }
        self.ids_of_group(&ready[..ready_len], &ready_hashes, null_id, out);
        let hashes = self.hash_and_prefetch(&filling[..filled]);
        self.ids_of_group(&filling[..filled], &hashes, null_id, out);
    }

    /// The table hashes of a group of at most [`GROUP`] values (0 for a
    /// null), their home slots prefetched.
    fn hash_and_prefetch(&self, group: &[Option<Key<'_>>]) -> [u64; GROUP] {
        let t = self.tables();
        let table = self.bytes(&t.table);
        let mut hashes = [0u64; GROUP];
        for (j, v) in group.iter().enumerate() {
            if let Some(k) = v {
                hashes[j] = hash::table_hash(*k);
                if t.len > 0 {
                    prefetch(table, (hashes[j] as usize & t.mask) * 8);
                }
            }
        }
        hashes
    }

    /// [`ids_of`](Self::ids_of) for one group of at most [`GROUP`] values
    /// with their [`hash_and_prefetch`](Self::hash_and_prefetch) hashes.
    fn ids_of_group(
        &self,
        group: &[Option<Key<'_>>],
        hashes: &[u64; GROUP],
        null_id: i32,
        out: &mut Vec<i32>,
    ) {
        let t = self.tables();
        let layout = self.layout();
        let bytes_keys = self.key_type() == KeyType::Bytes;
        if t.len == 0 || group.len() > GROUP {
            out.extend(
                group
                    .iter()
                    .map(|v| v.map_or(null_id, |k| self.id(k) as i32)),
            );
            return;
        }
        let table = self.bytes(&t.table);
        let keys = self.bytes(&t.keys);
        let offsets = t.offsets.as_ref().map_or(&[][..], |o| self.bytes(o));
        // 1: probe each value's slots as far as its home slot's cache line
        // (8 slots): to an empty slot (a miss), a slot with its fingerprint
        // (a candidate), or, rarely, neither (the full path decides).
        const MISS: u32 = u32::MAX - 1;
        const UNDECIDED: u32 = u32::MAX;
        let mut candidates = [UNDECIDED; GROUP];
        for (j, v) in group.iter().enumerate() {
            if v.is_none() {
                continue;
            }
            let hash = hashes[j];
            let mut slot = hash as usize & t.mask;
            for _ in 0..8 {
                let e = read_u64(table, slot);
                if e == 0 {
                    candidates[j] = MISS;
                    break;
                }
                if e >> 32 == hash >> 32 {
                    candidates[j] = (e as u32).wrapping_sub(1);
                    break;
                }
                slot = (slot + 1) & t.mask;
            }
        }
        // 2: where the candidate keys are.
        let mut spans = [(0u64, 0u64); GROUP];
        for j in 0..group.len() {
            let i = candidates[j] as usize;
            if i < t.len {
                spans[j] = if bytes_keys {
                    (read_u64(offsets, i), read_u64(offsets, i + 1))
                } else {
                    (read_u64(keys, i), 0)
                };
            }
        }
        // 3: compare; anything else takes the full path.
        for (j, v) in group.iter().enumerate() {
            let Some(k) = v else {
                out.push(null_id);
                continue;
            };
            let index = candidates[j];
            if index == MISS {
                // Not in the table: its OOV bucket (a key of another type
                // than the feature's hashes the same bytes, so it is
                // absent too).
                out.push(self.oov_id(*k) as i32);
                continue;
            }
            let hit = (index as usize) < t.len
                && match (*k, spans[j]) {
                    (Key::Bytes(b), (s, e)) if bytes_keys => {
                        usize::try_from(s)
                            .ok()
                            .zip(usize::try_from(e).ok())
                            .and_then(|(s, e)| keys.get(s..e))
                            == Some(b)
                    }
                    (Key::Int(v), (bits, _)) if self.key_type() == KeyType::Int => v as u64 == bits,
                    (Key::Uint(v), (bits, _)) if self.key_type() == KeyType::Uint => v == bits,
                    _ => false,
                };
            out.push(if hit {
                layout.known_id(index) as i32
            } else {
                self.id(*k) as i32
            });
        }
    }

    /// The known values with their ids and counts, most frequent first.
    pub fn iter(&self) -> impl Iterator<Item = (u32, Key<'a>, u64)> + 'a {
        let this = *self;
        (0..self.len() as u32)
            .filter_map(move |i| Some((this.layout().known_id(i), this.key(i)?, this.count(i)?)))
    }
}
