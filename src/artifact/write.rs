//! Writing an artifact: the body is laid out in memory (it holds the
//! vocabulary, never the rows), checksummed, then written after the header.

use std::io::Write;
use std::path::Path;

use super::format::*;
use crate::atomic::AtomicFile;
use crate::error::{Error, Result};
use crate::hash;
use crate::keys::Key;
use crate::vocab::{SelectedKeys, Selection};

/// Serializes a selection into artifact bytes.
pub(crate) fn to_bytes(selection: &Selection) -> Result<Vec<u8>> {
    let mut data: Vec<u8> = Vec::with_capacity(sections_len(selection));
    let mut features = Vec::with_capacity(selection.features.len());
    for f in &selection.features {
        let n = f.keys.len();
        let (keys, offsets) = match &f.keys {
            SelectedKeys::Bytes(keys) => {
                let offsets_section = append(&mut data, |out| {
                    keys.offsets
                        .iter()
                        .for_each(|at| out.extend_from_slice(&at.to_le_bytes()))
                });
                let keys_section = append(&mut data, |out| out.extend_from_slice(&keys.data));
                (keys_section, Some(offsets_section))
            }
            SelectedKeys::Int(keys) => (
                append(&mut data, |out| {
                    keys.iter()
                        .for_each(|k| out.extend_from_slice(&k.to_le_bytes()))
                }),
                None,
            ),
            SelectedKeys::Uint(keys) => (
                append(&mut data, |out| {
                    keys.iter()
                        .for_each(|k| out.extend_from_slice(&k.to_le_bytes()))
                }),
                None,
            ),
        };
        let counts = append(&mut data, |out| {
            f.counts
                .iter()
                .for_each(|c| out.extend_from_slice(&c.to_le_bytes()))
        });
        let table = build_table(&f.keys);
        let table = append(&mut data, |out| {
            table
                .iter()
                .for_each(|s| out.extend_from_slice(&s.to_le_bytes()))
        });
        debug_assert_eq!(f.layout.vocab_size() as usize, n);
        features.push(FeatureManifest {
            spec: f.spec.clone(),
            key_type: f.keys.key_type(),
            layout: f.layout,
            stats: f.stats,
            sections: Sections {
                keys,
                offsets,
                counts,
                table,
            },
        });
    }
    let manifest = Manifest {
        format_version: FORMAT_VERSION,
        kind: KIND.to_string(),
        writer: format!("oovocab {}", env!("CARGO_PKG_VERSION")),
        rows_scanned: selection.rows,
        inputs: selection.inputs.clone(),
        features,
    };
    let json = serde_json::to_vec(&manifest)
        .map_err(|e| Error::artifact("<memory>", format!("cannot encode the manifest: {e}")))?;
    Ok(frame(&VOCABULARY_FILE, &json, &data))
}

/// The bytes of every feature's sections, padding included (so that the
/// buffer never grows).
fn sections_len(selection: &Selection) -> usize {
    selection
        .features
        .iter()
        .map(|f| {
            let n = f.keys.len();
            let keys = match &f.keys {
                SelectedKeys::Bytes(k) => k.data.len() + 8 * (n + 1),
                SelectedKeys::Int(_) | SelectedKeys::Uint(_) => 8 * n,
            };
            keys + 8 * n + 8 * table_capacity(n) + 4 * ALIGN
        })
        .sum()
}

/// Writes `bytes` to `path` atomically (see [`AtomicFile`]).
pub(crate) fn save_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let out = AtomicFile::create(path)?;
    let mut file = out.file();
    file.write_all(bytes).map_err(|e| Error::io(path, e))?;
    out.commit()
}

fn pad(out: &mut Vec<u8>) {
    while out.len() % ALIGN != 0 {
        out.push(0);
    }
}

/// Appends a section at an aligned offset and returns where it is.
fn append(data: &mut Vec<u8>, write: impl FnOnce(&mut Vec<u8>)) -> Section {
    pad(data);
    let offset = data.len();
    write(data);
    Section {
        offset: offset as u64,
        len: (data.len() - offset) as u64,
    }
}

/// The open-addressing table. Keys are placed in the order of their home
/// slot (then id), so that filling it is a sequential pass and the result
/// is deterministic.
fn build_table(keys: &SelectedKeys) -> Vec<u64> {
    use rayon::prelude::*;
    let n = keys.len();
    let cap = table_capacity(n);
    let mask = cap.wrapping_sub(1);
    let hash_of = |i: usize| {
        hash::table_hash(match keys {
            SelectedKeys::Bytes(k) => Key::Bytes(k.get(i)),
            SelectedKeys::Int(k) => Key::Int(k[i]),
            SelectedKeys::Uint(k) => Key::Uint(k[i]),
        })
    };
    // n fits u32: the layout checked the ids fit int32.
    let mut placed: Vec<(u64, u32)> = (0..n)
        .into_par_iter()
        .map(|i| (hash_of(i), i as u32))
        .collect();
    placed.par_sort_unstable_by_key(|&(hash, i)| (hash as usize & mask, i));
    let mut table = vec![0u64; cap];
    for (hash, i) in placed {
        let mut slot = hash as usize & mask;
        while table[slot] != 0 {
            slot = (slot + 1) & mask;
        }
        table[slot] = table_entry(hash, i);
    }
    table
}
