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

use std::ops::{DerefMut, Range};
use std::path::Path;

use super::format::*;
use crate::atomic::AtomicFile;
use crate::error::{Error, Result};
use crate::hash;
use crate::keys::Key;
use crate::radix;
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
                SelectedKeys::Bytes(keys, _) => {
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
                    counts: place(&mut data_len, 8 * n),
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
        serialize_with(selection, Zeroed::for_writing, &|offset, bytes| {
            out.write_all_at(bytes, offset)
                .map_err(|e| Error::io(path, e))?;
            start_writeback(out.file(), offset, bytes.len());
            Ok(())
        })
    }
    #[cfg(not(unix))]
    {
        let bytes = serialize(selection, Zeroed::for_writing)?;
        out.write_all(&bytes).map_err(|e| Error::io(path, e))?;
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

/// [`serialize`], handing each piece to `sink` once it is complete: each
/// feature's sections but its lookup table, and each lookup table, in
/// parallel ([`fill`]); then the header and manifest, once the checksum
/// over everything else is known.
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
/// (offsets in the data region) as they are complete. A feature's sections
/// are consecutive, its lookup table last, so the region splits into two
/// pieces per feature: its arrays (keys, offsets, counts) and its table.
/// The pieces are handed out to the threads one at a time, as each thread
/// comes free: the tables first (hashing and sorting the keys makes a table
/// the most work per byte), largest first. So the largest table starts at
/// once, and its feature's arrays go to another thread; on the benchmark,
/// `user_id`'s table and arrays had kept one thread busy while the other
/// had run out of work.
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
    let parts = crate::parts::split_parts(data, extents.iter().cloned());
    let mut pieces = Vec::with_capacity(2 * parts.len());
    for ((f, placed), (extent, part)) in selection
        .features
        .iter()
        .zip(&manifest.features)
        .zip(extents.iter().zip(parts))
    {
        let start = extent.start;
        let table_at = placed.sections.table.offset as usize - start;
        let (arrays, table) = part.split_at_mut(table_at);
        pieces.push(Piece::Table {
            keys: &f.keys,
            start: start + table_at,
            part: table,
        });
        pieces.push(Piece::Arrays {
            feature: f,
            sections: &placed.sections,
            start,
            part: arrays,
        });
    }
    pieces.sort_by_key(|p| std::cmp::Reverse(p.order()));
    let queue = std::sync::Mutex::new(pieces.into_iter());
    let next = || {
        queue
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .next()
    };
    (0..rayon::current_num_threads())
        .into_par_iter()
        .try_for_each(|_| {
            while let Some(piece) = next() {
                piece.fill(sink)?;
            }
            Ok(())
        })
}

/// A piece of the data region that [`fill`] hands to one thread.
enum Piece<'a> {
    /// A feature's keys, key offsets and counts, starting at `start` in the
    /// data region.
    Arrays {
        feature: &'a SelectedFeature,
        sections: &'a Sections,
        start: usize,
        part: &'a mut [u8],
    },
    /// A feature's lookup table, starting at `start` in the data region.
    Table {
        keys: &'a SelectedKeys,
        start: usize,
        part: &'a mut [u8],
    },
}

impl Piece<'_> {
    /// The order [`fill`] hands pieces out in, descending: tables before
    /// arrays, then by size.
    fn order(&self) -> (bool, usize) {
        match self {
            Piece::Table { part, .. } => (true, part.len()),
            Piece::Arrays { part, .. } => (false, part.len()),
        }
    }

    /// Writes the piece, then hands it to `sink`.
    fn fill(self, sink: &Sink<'_>) -> Result<()> {
        let (start, part) = match self {
            Piece::Arrays {
                feature,
                sections,
                start,
                part,
            } => {
                put_arrays(feature, sections, start, part);
                (start, part)
            }
            Piece::Table { keys, start, part } => {
                // Probed before it is written.
                crate::zeroed::touch_pages(part);
                put_table(keys, part);
                (start, part)
            }
        };
        sink(start, part)
    }
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

/// Writes a feature's keys, key offsets and counts into `part` (zeroed),
/// which starts at offset `start` of the data region and ends where the
/// feature's lookup table starts.
fn put_arrays(f: &SelectedFeature, s: &Sections, start: usize, part: &mut [u8]) {
    let range = |s: &Section| s.offset as usize - start..(s.offset + s.len) as usize - start;
    match &f.keys {
        SelectedKeys::Bytes(keys, _) => {
            let offsets = s.offsets.as_ref().expect("placed with the keys");
            put_words(&mut part[range(offsets)], keys.offsets.iter().copied());
            part[range(&s.keys)].copy_from_slice(&keys.data);
        }
        SelectedKeys::Int(pairs) => {
            put_words(&mut part[range(&s.keys)], pairs.iter().map(|p| p.0 as u64))
        }
        SelectedKeys::Uint(pairs) => {
            put_words(&mut part[range(&s.keys)], pairs.iter().map(|p| p.0))
        }
    }
    put_words(&mut part[range(&s.counts)], f.keys.counts());
}

/// Digit width of [`sort_by_home`]: 2048 counters fit the L1 cache.
const HOME_DIGIT_BITS: u32 = 11;

/// `placed` (hash, index) pairs, given in index order, ordered by home slot
/// (`hash & mask`), then index: a stable radix sort on the home bits
/// alone. The first pass moves each entry to the bucket of its home's top
/// bits (all but the last [`HOME_DIGIT_BITS`]); then each bucket, a range of
/// homes of its own, is sorted on the rest in one pass, the buckets in
/// parallel. On the benchmark's 2M `user_id` keys a two-pass sort on one
/// thread took 38-52 ms, and a parallel comparison sort 48 ms. Both arrays
/// are [`Zeroed`].
fn sort_by_home(mut placed: Zeroed<(u64, u64)>, mask: usize) -> Zeroed<(u64, u64)> {
    use rayon::prelude::*;
    if placed.len() < 2 {
        // Sorted; and the mask of an empty table is all ones.
        return placed;
    }
    let home_bits = usize::BITS - mask.leading_zeros();
    let low_bits = home_bits.min(HOME_DIGIT_BITS);
    let home = |hash: u64| hash as usize & mask;
    let bucket = |hash: u64| home(hash) >> low_bits;
    let low = |hash: u64| home(hash) & ((1 << low_bits) - 1);
    let mut moved = Zeroed::for_writing(placed.len());
    let mut ends = vec![0usize; 1 << (home_bits - low_bits)];
    radix::stable_counting_sort(&placed, &mut moved, &mut ends, |e| bucket(e.0));
    let buckets: Vec<Range<usize>> = crate::parts::consecutive(&ends).collect();
    let sources = crate::parts::split_parts(&mut moved, buckets.iter().cloned());
    let targets = crate::parts::split_parts(&mut placed, buckets);
    sources.into_par_iter().zip(targets).for_each_init(
        || vec![0usize; 1 << low_bits],
        |counters, (source, target)| {
            radix::stable_counting_sort(source, target, counters, |e| low(e.0))
        },
    );
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
    out.write_all(bytes).map_err(|e| Error::io(path, e))?;
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
            SelectedKeys::Bytes(k, _) => Key::Bytes(k.get(i)),
            SelectedKeys::Int(pairs) => Key::Int(pairs[i].0),
            SelectedKeys::Uint(pairs) => Key::Uint(pairs[i].0),
        })
    };
    let mut placed = Zeroed::for_writing(n);
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

    #[test]
    fn an_empty_table_sorts_to_nothing() {
        // An empty vocabulary's table has no slots: its mask is all ones.
        let mask = table_capacity(0).wrapping_sub(1);
        assert!(sort_by_home(Zeroed::new(0), mask).is_empty());
        let mut one = Zeroed::new(1);
        one[0] = (7, 0);
        assert_eq!(&sort_by_home(one, mask)[..], &[(7, 0)]);
    }

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
