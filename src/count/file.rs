//! Partial counts on disk (`.oovc`): [`Counts`] written by one machine or
//! one task, merged by another. The framing is the artifact's (header with
//! magic `OOVOCNT\0`, version and checksum; a JSON manifest; 8-aligned
//! sections); each feature's keys are stored sorted, so the same counts
//! always give the same bytes, with their counts beside them. Reading
//! checks everything a hostile file could get wrong before a key is added.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::bytes::GROUP;
use super::{BytesCounts, Counts, FeatureCounts, InputFile, IntCounts, KeyCounts};
use crate::artifact::format::{ALIGN, Checksum, FileKind, Section, frame, read_u64, unframe};
use crate::error::{Error, Result};
use crate::keys::KeyType;

/// The first 8 bytes of every partial-counts file.
pub const COUNTS_MAGIC: [u8; 8] = *b"OOVOCNT\0";

const COUNTS_FILE: FileKind = FileKind {
    magic: COUNTS_MAGIC,
    major: 1,
    minor: 0,
    noun: "partial-counts file",
};

const KIND: &str = "oovocab-partial-counts";

#[derive(Debug, Serialize, Deserialize)]
struct CountsManifest {
    kind: String,
    writer: String,
    rows: u64,
    inputs: Vec<InputFile>,
    features: Vec<FeatureEntry>,
}

#[derive(Debug, Serialize, Deserialize)]
struct FeatureEntry {
    name: String,
    column: String,
    /// `None` while nothing fixed it (only nulls, or no rows).
    key_type: Option<KeyType>,
    key_type_source: String,
    total: u64,
    nulls: u64,
    distinct: u64,
    /// `bytes`: the concatenated keys; integers: `distinct` u64 LE.
    keys: Section,
    /// `bytes` only: `distinct + 1` u64 LE offsets into `keys`.
    offsets: Option<Section>,
    /// `distinct` u64 LE counts, each at least 1.
    counts: Section,
}

impl Counts {
    /// Serializes the counts (the `.oovc` format: versioned, checksummed).
    /// The same counts give the same bytes, however they were counted.
    ///
    /// ```
    /// # use arrow_array::{RecordBatch, StringArray};
    /// # use std::sync::Arc;
    /// let spec = oovocab::Spec::from_toml_str("[[feature]]\nname = \"c\"").unwrap();
    /// let mut counts = oovocab::Counts::new(&spec);
    /// let batch = RecordBatch::try_from_iter([("c", Arc::new(StringArray::from(vec!["a", "b", "a"])) as _)]).unwrap();
    /// counts.add_batch(&batch).unwrap();
    /// let back = oovocab::Counts::from_bytes(&counts.to_bytes()).unwrap();
    /// assert_eq!(back.feature("c").unwrap().count("a"), 2);
    /// assert_eq!(back.to_bytes(), counts.to_bytes());
    /// ```
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut data = Vec::new();
        let mut features = Vec::with_capacity(self.features.len());
        for (i, fc) in self.features.iter().enumerate() {
            let (keys, offsets, counts) = write_table(&mut data, &fc.table);
            features.push(FeatureEntry {
                name: self.names[i].clone(),
                column: self.columns[i].clone(),
                key_type: fc.key_type,
                key_type_source: fc.key_type_source.clone(),
                total: fc.total,
                nulls: fc.nulls,
                distinct: fc.table.len() as u64,
                keys,
                offsets,
                counts,
            });
        }
        let manifest = CountsManifest {
            kind: KIND.into(),
            writer: format!("oovocab {}", env!("CARGO_PKG_VERSION")),
            rows: self.rows,
            inputs: self.inputs.clone(),
            features,
        };
        let json = serde_json::to_vec(&manifest).expect("the manifest is plain data");
        frame(&COUNTS_FILE, &json, &data)
    }

    /// Reads counts written by [`to_bytes`](Self::to_bytes).
    ///
    /// # Errors
    /// [`Error::Artifact`] (named `<memory>`) when the bytes are not a
    /// partial-counts file or are corrupt; [`Error::UnsupportedVersion`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Counts> {
        parse(Path::new("<memory>"), bytes)
    }

    /// Writes the counts to `path` atomically (complete or not at all).
    ///
    /// # Errors
    /// [`Error::Io`] naming the path.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        crate::artifact::write::save_atomic(path.as_ref(), &self.to_bytes())
    }

    /// Reads a partial-counts file.
    ///
    /// # Errors
    /// [`Error::Io`], and as [`from_bytes`](Self::from_bytes), naming the path.
    pub fn open(path: impl AsRef<Path>) -> Result<Counts> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        parse(path, &bytes)
    }
}

/// Appends one table's sorted keys, their offsets and counts to `data`.
fn write_table(data: &mut Vec<u8>, table: &KeyCounts) -> (Section, Option<Section>, Section) {
    use rayon::prelude::*;
    match table {
        KeyCounts::Bytes(m) => {
            let mut entries: Vec<(&[u8], u64)> = m.parts().flat_map_iter(|p| p).collect();
            entries.par_sort_unstable();
            let mut at = 0u64;
            let ends = entries.iter().map(|(k, _)| {
                at += k.len() as u64;
                at
            });
            let offsets = put_words(data, std::iter::once(0).chain(ends));
            let counts = put_words(data, entries.iter().map(|&(_, n)| n));
            let offset = data.len() as u64;
            entries.iter().for_each(|(k, _)| data.extend_from_slice(k));
            let keys = Section {
                offset,
                len: data.len() as u64 - offset,
            };
            data.resize(data.len().next_multiple_of(ALIGN), 0);
            (keys, Some(offsets), counts)
        }
        KeyCounts::Int(m) | KeyCounts::Uint(m) => {
            let mut entries: Vec<(u64, u64)> = m.parts().flat_map_iter(|p| p).collect();
            entries.par_sort_unstable();
            let keys = put_words(data, entries.iter().map(|&(k, _)| k));
            let counts = put_words(data, entries.iter().map(|&(_, n)| n));
            (keys, None, counts)
        }
        KeyCounts::Empty => {
            let empty = put_words(data, std::iter::empty());
            (empty, None, empty)
        }
    }
}

/// Appends u64 LE words to `data` (kept 8-aligned) as one section.
fn put_words(data: &mut Vec<u8>, words: impl Iterator<Item = u64>) -> Section {
    let offset = data.len() as u64;
    words.for_each(|w| data.extend_from_slice(&w.to_le_bytes()));
    Section {
        offset,
        len: data.len() as u64 - offset,
    }
}

fn parse(path: &Path, bytes: &[u8]) -> Result<Counts> {
    let bad = |m: String| Error::artifact(path, m);
    let (manifest_range, data_start) = unframe(&COUNTS_FILE, path, bytes, Checksum::Verify)?;
    let manifest: CountsManifest = serde_json::from_slice(&bytes[manifest_range])
        .map_err(|e| bad(format!("bad manifest: {e}")))?;
    if manifest.kind != KIND {
        return Err(bad(format!(
            "manifest kind is {:?}, not {KIND:?}",
            manifest.kind
        )));
    }
    let data = &bytes[data_start..];
    let mut counts = Counts {
        names: Vec::new(),
        columns: Vec::new(),
        features: Vec::new(),
        rows: manifest.rows,
        inputs: manifest.inputs,
    };
    for f in manifest.features {
        let fail = |what: &str| bad(format!("feature {:?}: {what}", f.name));
        let section = |s: Section, what: &str| -> Result<&[u8]> {
            s.offset
                .checked_add(s.len)
                .filter(|&end| end <= data.len() as u64 && s.offset % ALIGN as u64 == 0)
                .map(|end| &data[s.offset as usize..end as usize])
                .ok_or_else(|| fail(&format!("{what} section out of bounds")))
        };
        if counts.names.contains(&f.name) {
            return Err(fail("named twice"));
        }
        let n = f.distinct;
        let count_words = section(f.counts, "counts")?;
        if count_words.len() as u64 != n.saturating_mul(8) {
            return Err(fail("counts section does not hold one count per key"));
        }
        let count_of = |i: usize| read_u64(count_words, i);
        let mut sum = 0u64;
        for i in 0..n as usize {
            let c = count_of(i);
            sum = sum
                .checked_add(c)
                .filter(|_| c > 0)
                .ok_or_else(|| fail("a count is 0 or the counts overflow"))?;
        }
        if sum != f.total {
            return Err(fail("the counts do not add up to the total"));
        }
        let keys = section(f.keys, "keys")?;
        let table = match (f.key_type, f.offsets) {
            (None, None) if n == 0 => KeyCounts::Empty,
            (Some(KeyType::Bytes), Some(offsets)) => {
                let offsets = section(offsets, "offsets")?;
                if offsets.len() as u64 != (n + 1).saturating_mul(8)
                    || read_u64(offsets, 0) != 0
                    || read_u64(offsets, n as usize) != keys.len() as u64
                {
                    return Err(fail("offsets do not frame the keys"));
                }
                let mut table = BytesCounts::default();
                let mut group: Vec<(&[u8], u64)> = Vec::with_capacity(GROUP);
                let mut previous: Option<&[u8]> = None;
                for i in 0..n as usize {
                    let (start, end) = (read_u64(offsets, i), read_u64(offsets, i + 1));
                    let key = keys
                        .get(start as usize..end as usize)
                        .filter(|_| start <= end && end - start <= u64::from(u32::MAX))
                        .ok_or_else(|| fail("offsets are not ascending, or a key is over 4 GiB"))?;
                    if previous.is_some_and(|p| p >= key) {
                        return Err(fail("keys are not sorted and distinct"));
                    }
                    previous = Some(key);
                    group.push((key, count_of(i)));
                    if group.len() == GROUP {
                        table.add_group(&group);
                        group.clear();
                    }
                }
                table.add_group(&group);
                KeyCounts::Bytes(table)
            }
            (Some(kt @ (KeyType::Int | KeyType::Uint)), None) => {
                if keys.len() as u64 != n.saturating_mul(8) {
                    return Err(fail("keys section does not hold one key per count"));
                }
                let mut table = IntCounts::default();
                let mut group = Vec::with_capacity(GROUP);
                for i in 0..n as usize {
                    let key = read_u64(keys, i);
                    if i > 0 && read_u64(keys, i - 1) >= key {
                        return Err(fail("keys are not sorted and distinct"));
                    }
                    group.push((key, count_of(i)));
                    if group.len() == GROUP {
                        table.add_group(&group);
                        group.clear();
                    }
                }
                table.add_group(&group);
                if kt == KeyType::Int {
                    KeyCounts::Int(table)
                } else {
                    KeyCounts::Uint(table)
                }
            }
            _ => return Err(fail("key type and sections disagree")),
        };
        counts.names.push(f.name);
        counts.columns.push(f.column);
        counts.features.push(FeatureCounts {
            key_type: f.key_type,
            key_type_source: f.key_type_source,
            table,
            total: f.total,
            nulls: f.nulls,
            // Loaded tables keep no kept count (threshold 1): selection
            // counts the keys it keeps.
            min_count: 0,
            forecast: Default::default(),
        });
    }
    Ok(counts)
}
