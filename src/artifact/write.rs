//! Writing an artifact: the body is laid out in memory (it holds the
//! vocabulary, never the rows), checksummed, then written after the header.
//! The sections are placed before any is written, so that the manifest
//! (which says where they are) can go first and the body is written in
//! place, in one buffer.
//!
//! Saved to a file, each feature's sections are written out as soon as
//! they are filled, and the kernel is asked to start writing them to disk
//! then: by the time the last section is done, most of the file is on its
//! way, and the `fsync` that makes it durable has little left to wait for.

use std::io::Write;
use std::ops::{DerefMut, Range};
use std::path::Path;

use super::format::*;
use crate::atomic::AtomicFile;
use crate::error::{Error, Result};
use crate::hash;
use crate::keys::Key;
use crate::vocab::{SelectedFeature, SelectedKeys, Selection};
use crate::zeroed::Zeroed;

/// A selection's artifact, laid out: the manifest (which records where
/// every section is) and the length of the data region behind it. The
/// sections' sizes follow from the selection, so they are placed before
/// any is written, and the data region is then written once, in place.
struct Planned {
    manifest: Manifest,
    json: Vec<u8>,
    data_len: usize,
}

/// Places every section of `selection` and encodes the manifest.
fn plan(selection: &Selection) -> Result<Planned> {
    let mut data_len = 0;
    let features: Vec<FeatureManifest> = selection
        .features
        .iter()
        .map(|f| {
            let n = f.keys.len();
            debug_assert_eq!(f.layout.vocab_size() as usize, n);
            let (keys, offsets) = match &f.keys {
                SelectedKeys::Bytes(keys) => {
                    let offsets = place(&mut data_len, 8 * keys.offsets.len());
                    (place(&mut data_len, keys.data.len()), Some(offsets))
                }
                SelectedKeys::Int(_) | SelectedKeys::Uint(_) => (place(&mut data_len, 8 * n), None),
            };
            FeatureManifest {
                spec: f.spec.clone(),
                key_type: f.keys.key_type(),
                layout: f.layout,
                stats: f.stats,
                sections: Sections {
                    keys,
                    offsets,
                    counts: place(&mut data_len, 8 * f.counts.len()),
                    table: place(&mut data_len, 8 * table_capacity(n)),
                },
            }
        })
        .collect();
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
    Ok(Planned {
        manifest,
        json,
        data_len,
    })
}

/// Serializes a selection into a buffer of zeroes of the length asked,
/// which `zeroed` makes.
pub(crate) fn serialize<B: DerefMut<Target = [u8]>>(
    selection: &Selection,
    zeroed: impl FnOnce(usize) -> B,
) -> Result<B> {
    serialize_with(selection, zeroed, &|_, _| Ok(()))
}

/// Serializes a selection into a buffer of zeroes that `zeroed` makes, and
/// into `out`: each piece of the artifact is written at its offset as soon
/// as it is complete, the header last ([`serialize_with`]).
pub(crate) fn serialize_to_file(
    selection: &Selection,
    out: &AtomicFile,
    path: &Path,
) -> Result<Zeroed<u8>> {
    #[cfg(unix)]
    {
        serialize_with(selection, Zeroed::new, &|offset, bytes| {
            use std::os::unix::fs::FileExt;
            let file = out.file();
            file.write_all_at(bytes, offset as u64)
                .map_err(|e| Error::io(path, e))?;
            start_writeback(file, offset, bytes.len());
            Ok(())
        })
    }
    #[cfg(not(unix))]
    {
        let bytes = serialize(selection, Zeroed::new)?;
        out.file()
            .write_all(&bytes)
            .map_err(|e| Error::io(path, e))?;
        Ok(bytes)
    }
}

/// Asks the kernel to start writing `len` bytes of `file` from `offset`
/// to disk, without waiting (`sync_file_range`, on Linux; elsewhere
/// nothing): a hint, whose failure only leaves the work to `fsync`.
fn start_writeback(file: &std::fs::File, offset: usize, len: usize) {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        let (Ok(offset), Ok(len)) = (i64::try_from(offset), i64::try_from(len)) else {
            return;
        };
        // SAFETY: the descriptor is open for the borrow of `file`, and the
        // call only reads its integer arguments.
        #[allow(unsafe_code)]
        let _ = unsafe {
            libc::sync_file_range(file.as_raw_fd(), offset, len, libc::SYNC_FILE_RANGE_WRITE)
        };
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (file, offset, len);
}

/// Where a piece of the artifact goes once it is complete: its offset in
/// the file and its bytes.
type Sink<'s> = dyn Fn(usize, &[u8]) -> Result<()> + Sync + 's;

/// [`serialize`], handing each piece to `sink` once it is complete: every
/// feature's sections but its lookup table, then its table, in parallel
/// across features; then the header and manifest, once the checksum over
/// everything else is known.
fn serialize_with<B: DerefMut<Target = [u8]>>(
    selection: &Selection,
    zeroed: impl FnOnce(usize) -> B,
    sink: &Sink<'_>,
) -> Result<B> {
    let planned = plan(selection)?;
    let frame = start_frame(&planned.json, 0);
    let mut out = zeroed(frame.len() + planned.data_len);
    out[..frame.len()].copy_from_slice(&frame);
    let data_sink = |offset: usize, bytes: &[u8]| sink(frame.len() + offset, bytes);
    fill(
        selection,
        &planned.manifest,
        &mut out[frame.len()..],
        &data_sink,
    )?;
    finish_frame(&VOCABULARY_FILE, &mut out);
    sink(0, &out[..frame.len()])?;
    Ok(out)
}

/// Writes every feature's sections where `manifest` placed them in the
/// data region `data` (zeroed), handing each feature's pieces to `sink`
/// (offsets in the data region) as [`fill_feature`] completes them. A
/// feature's sections are consecutive, so the region splits into one part
/// per feature, and the parts are filled in parallel.
fn fill(
    selection: &Selection,
    manifest: &Manifest,
    data: &mut [u8],
    sink: &Sink<'_>,
) -> Result<()> {
    use rayon::prelude::*;
    let extents: Vec<Range<usize>> = manifest
        .features
        .iter()
        .map(|f| extent(&f.sections))
        .collect();
    let starts = extents.iter().map(|e| e.start);
    let parts: Vec<(usize, &mut [u8])> = starts
        .zip(crate::parts::split_parts(data, extents.iter().cloned()))
        .collect();
    selection
        .features
        .par_iter()
        .zip(&manifest.features)
        .zip(parts)
        .try_for_each(|((f, placed), (start, part))| {
            fill_feature(f, &placed.sections, start, part, sink)
        })
}

/// Where a feature's sections start and end in the data region.
fn extent(s: &Sections) -> Range<usize> {
    let sections = [
        Some(&s.keys),
        s.offsets.as_ref(),
        Some(&s.counts),
        Some(&s.table),
    ];
    let sections = sections.into_iter().flatten();
    let start = sections.clone().map(|s| s.offset).min().unwrap_or(0);
    let end = sections.map(|s| s.offset + s.len).max().unwrap_or(0);
    start as usize..end as usize
}

/// Writes one feature's sections into `part`, its part of the data region
/// (zeroed), which starts at offset `start` of the region, and hands
/// `sink` the part up to its lookup table (keys, offsets, counts), then the
/// table, as each is complete.
fn fill_feature(
    f: &SelectedFeature,
    s: &Sections,
    start: usize,
    part: &mut [u8],
    sink: &Sink<'_>,
) -> Result<()> {
    let range = |s: &Section| s.offset as usize - start..(s.offset + s.len) as usize - start;
    match &f.keys {
        SelectedKeys::Bytes(keys) => {
            let offsets = s.offsets.as_ref().expect("placed with the keys");
            put_words(&mut part[range(offsets)], keys.offsets.iter().copied());
            part[range(&s.keys)].copy_from_slice(&keys.data);
        }
        SelectedKeys::Int(keys) => {
            put_words(&mut part[range(&s.keys)], keys.iter().map(|&k| k as u64))
        }
        SelectedKeys::Uint(keys) => put_words(&mut part[range(&s.keys)], keys.iter().copied()),
    }
    put_words(&mut part[range(&s.counts)], f.counts.iter().copied());
    let table = range(&s.table);
    sink(start, &part[..table.start])?;
    put_table(&f.keys, &mut part[table.clone()]);
    sink(start + table.start, &part[table])
}

/// Digit width of [`sort_by_home`]: 2048 counters fit the L1 cache.
const HOME_DIGIT_BITS: u32 = 11;

/// `placed` (hash, index) pairs, given in index order, ordered by home slot
/// (`hash & mask`), then index: a stable least-significant-digit radix
/// sort on the home bits alone, [`HOME_DIGIT_BITS`] at a time: two passes
/// for a table of up to 4M slots. On the benchmark's 2M `user_id` keys it
/// takes 29 ms where a parallel comparison sort took 48 ms. Both arrays
/// are [`Zeroed`] (huge pages): in 4 KiB pages, faulting in the second
/// one alone took 17 ms.
fn sort_by_home(mut placed: Zeroed<(u64, u64)>, mask: usize) -> Zeroed<(u64, u64)> {
    let home_bits = usize::BITS - mask.leading_zeros();
    let mut moved = Zeroed::new(placed.len());
    for shift in (0..home_bits).step_by(HOME_DIGIT_BITS as usize) {
        let digit = |hash: u64| (hash as usize & mask) >> shift & ((1 << HOME_DIGIT_BITS) - 1);
        let mut next = vec![0usize; 1 << HOME_DIGIT_BITS];
        for &(hash, _) in placed.iter() {
            next[digit(hash)] += 1;
        }
        let mut start = 0;
        for n in &mut next {
            (*n, start) = (start, start + *n);
        }
        for &entry in placed.iter() {
            let d = digit(entry.0);
            moved[next[d]] = entry;
            next[d] += 1;
        }
        std::mem::swap(&mut placed, &mut moved);
    }
    placed
}

/// Writes `words` as u64 LE into `out`, which holds exactly them.
fn put_words(out: &mut [u8], words: impl IntoIterator<Item = u64>) {
    for (slot, w) in out.chunks_exact_mut(8).zip(words) {
        slot.copy_from_slice(&w.to_le_bytes());
    }
}

/// Places a section of `len` bytes at the next aligned offset from `end`
/// (the data region's length so far), which it moves past the section.
fn place(end: &mut usize, len: usize) -> Section {
    let offset = end.next_multiple_of(ALIGN);
    *end = offset + len;
    Section {
        offset: offset as u64,
        len: len as u64,
    }
}

/// Writes `bytes` to `path` atomically (see [`AtomicFile`]).
pub(crate) fn save_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let out = AtomicFile::create(path)?;
    let mut file = out.file();
    file.write_all(bytes).map_err(|e| Error::io(path, e))?;
    out.commit()
}

/// Writes the open-addressing table into `out` (zeroed, the table's
/// size), as u64 LE words. Keys are placed in the order of their home slot
/// (then id), so that filling it is a sequential pass and the result is
/// deterministic.
fn put_table(keys: &SelectedKeys, out: &mut [u8]) {
    use rayon::prelude::*;
    let n = keys.len();
    let cap = table_capacity(n);
    debug_assert_eq!(out.len(), 8 * cap);
    let mask = cap.wrapping_sub(1);
    let hash_of = |i: usize| {
        hash::table_hash(match keys {
            SelectedKeys::Bytes(k) => Key::Bytes(k.get(i)),
            SelectedKeys::Int(k) => Key::Int(k[i]),
            SelectedKeys::Uint(k) => Key::Uint(k[i]),
        })
    };
    let mut placed = Zeroed::new(n);
    placed
        .par_iter_mut()
        .enumerate()
        .for_each(|(i, e)| *e = (hash_of(i), i as u64));
    let placed = sort_by_home(placed, mask);
    for &(hash, i) in placed.iter() {
        // i fits u32: the layout checked the ids fit int32.
        let i = i as u32;
        let mut slot = hash as usize & mask;
        while read_u64(out, slot) != 0 {
            slot = (slot + 1) & mask;
        }
        out[8 * slot..8 * slot + 8].copy_from_slice(&table_entry(hash, i).to_le_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// The radix sort gives the order of a sort by (home slot, index),
        /// for tables of one to 2^25 slots (one to three digits).
        #[test]
        fn sorting_by_home_matches_a_comparison_sort(
            hashes in proptest::collection::vec(proptest::prelude::any::<u64>(), 0..3000),
            home_bits in 0u32..26,
        ) {
            let mask = (1usize << home_bits) - 1;
            let mut placed = Zeroed::new(hashes.len());
            for (i, (e, &h)) in placed.iter_mut().zip(&hashes).enumerate() {
                *e = (h, i as u64);
            }
            let mut expected = placed.to_vec();
            expected.sort_by_key(|&(hash, i)| (hash as usize & mask, i));
            proptest::prop_assert_eq!(&sort_by_home(placed, mask)[..], &expected[..]);
        }
    }
}
