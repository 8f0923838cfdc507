//! Writing an artifact: the body is laid out in memory (it holds the
//! vocabulary, never the rows), checksummed, then written after the header.
//! The sections are placed before any is written, so that the manifest
//! (which says where they are) can go first and the body is written in
//! place, in one buffer.
//!
//! Saved to a file, each piece of the body (one of a feature's arrays, or
//! its lookup table) goes to a writer thread as soon as it is filled, and
//! from there mostly straight to the disk ([`PieceWriter`]): by the time
//! the last piece is done, most of the file is written, and the `fsync`
//! that makes it durable has little left to wait for.

use std::ops::DerefMut;
use std::path::Path;
use std::sync::mpsc::{Receiver, channel};

use super::format::*;
use crate::atomic::AtomicFile;
use crate::error::{Error, Result};
use crate::hash;
use crate::keys::Key;
#[cfg(unix)]
use crate::piecewise::PieceWriter;
use crate::vocab::{SelectedFeature, SelectedKeys, Selection};
use crate::zeroed::{SparePages, Zeroed};

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

/// Serializes a selection into a buffer of the length asked, which
/// `buffer` makes, from `spare` if it can (the count tables' pages). The
/// buffer may hold any bytes: every one is written.
pub(crate) fn serialize<B: DerefMut<Target = [u8]>>(
    selection: &Selection,
    spare: &SparePages,
    buffer: impl FnOnce(usize, &SparePages) -> B,
) -> Result<B> {
    serialize_with(selection, |len| buffer(len, spare), &|_, _| Ok(()))
}

/// Serializes a selection into a buffer, and into `out`: each piece of the
/// artifact is written at its offset as soon as it is complete, the header
/// last ([`serialize_with`]), by a [`PieceWriter`] (mostly past the page
/// cache). The buffer takes over the pages of `spare` (the count tables').
pub(crate) fn serialize_to_file(
    selection: &Selection,
    spare: &SparePages,
    out: &AtomicFile,
    path: &Path,
) -> Result<Zeroed<u8>> {
    #[cfg(unix)]
    {
        let buffer = |len| Zeroed::to_overwrite_from(len, spare);
        let writer = PieceWriter::new(out);
        let bytes = serialize_with(selection, buffer, &|offset, bytes| {
            writer.write(offset, bytes).map_err(|e| Error::io(path, e))
        })?;
        writer.finish(&bytes).map_err(|e| Error::io(path, e))?;
        Ok(bytes)
    }
    #[cfg(not(unix))]
    {
        let bytes = serialize(selection, spare, Zeroed::to_overwrite_from)?;
        out.write_all(&bytes).map_err(|e| Error::io(path, e))?;
        Ok(bytes)
    }
}

/// Writes a complete piece of the artifact: its offset in the file and its
/// bytes.
type Write<'w> = dyn Fn(usize, &[u8]) -> Result<()> + Sync + 'w;

/// Where [`fill`] hands each piece of the data region once it is complete:
/// its offset in the region and its bytes, borrowed for as long as the
/// buffer.
type Sink<'s, 'b> = dyn Fn(usize, &'b [u8]) + Sync + 's;

/// [`serialize`], handing each piece to `write` once it is complete: each
/// feature's sections but its lookup table, and each lookup table, filled
/// in parallel ([`fill`]); then the header and manifest, once the checksum
/// over everything else is known.
///
/// The pieces go to a thread of their own as they are complete, which
/// writes them: while a write waits for the disk, the filling threads go
/// on, and they sum the body once every piece is filled, while the last
/// ones are being written. Without such a thread, the pieces are written
/// once they are all filled.
fn serialize_with<B: DerefMut<Target = [u8]>>(
    selection: &Selection,
    buffer: impl FnOnce(usize) -> B,
    write: &Write<'_>,
) -> Result<B> {
    let planned = plan(selection)?;
    let frame = start_frame(&planned.json, 0);
    let mut out = buffer(frame.len() + planned.data_len);
    out[..frame.len()].copy_from_slice(&frame);
    let (header, body) = out.split_at_mut(HEADER_LEN);
    let body_len = body.len();
    let (manifest, data) = body.split_at_mut(frame.len() - HEADER_LEN);
    let manifest: &[u8] = manifest;
    let to_file = frame.len();
    let write_pieces = |pieces: Receiver<(usize, &[u8])>| -> Result<()> {
        pieces
            .into_iter()
            .try_for_each(|(offset, bytes)| write(to_file + offset, bytes))
    };
    let (send, pieces) = channel();
    let sink = move |offset: usize, bytes| {
        // Fails only once the writer has stopped on an error, which it
        // returns.
        let _ = send.send((offset, bytes));
    };
    // The writer takes the pieces' receiver when it starts; if it cannot
    // be started, this thread takes it once the pieces are filled.
    let pieces = std::sync::Mutex::new(Some(pieces));
    let checksum = std::thread::scope(|scope| {
        let take = || {
            pieces
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .take()
                .map_or(Ok(()), write_pieces)
        };
        let writer = std::thread::Builder::new().spawn_scoped(scope, take).ok();
        let filled = fill(selection, &planned.manifest, data, &sink);
        // No more pieces: the writer ends once it has written them.
        drop(sink);
        let checksum = checksum_in_order(manifest, filled, body_len);
        match writer {
            Some(writer) => writer
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))?,
            None => take()?,
        }
        Ok::<_, Error>(checksum)
    })?;
    header.copy_from_slice(&header_bytes(&VOCABULARY_FILE, body_len, checksum));
    // What borrowed the pieces, emptied.
    drop(pieces);
    write(0, &out[..frame.len()])?;
    Ok(out)
}

/// The checksum of a body made of `manifest` (its length, the manifest
/// and the padding) and the data region's `pieces` (offset in the region,
/// bytes; in any order), `body_len` bytes in all. Empty pieces (a feature
/// with no keys has empty sections, at the offset where the next begins)
/// are passed over.
///
/// # Panics
/// When the pieces do not cover the data region once each (a bug:
/// [`fill`] hands out every byte of it).
fn checksum_in_order(manifest: &[u8], mut pieces: Vec<(usize, &[u8])>, body_len: usize) -> u64 {
    pieces.retain(|(_, bytes)| !bytes.is_empty());
    pieces.sort_unstable_by_key(|&(offset, _)| offset);
    let mut sum = hash::ChecksumStream::new();
    sum.update(manifest);
    let mut done = 0;
    for (offset, bytes) in pieces {
        assert_eq!(
            offset, done,
            "a piece of the data region is missing or overlaps"
        );
        sum.update(bytes);
        done += bytes.len();
    }
    assert_eq!(
        manifest.len() + done,
        body_len,
        "the pieces end before the body"
    );
    sum.finish()
}

/// Writes every feature's sections where `manifest` placed them in the
/// data region `data` (whatever it held: every byte is written, padding
/// zeroed), handing each piece to `sink` (offsets in the data region) as it
/// is complete; returns every piece. A feature's sections are consecutive,
/// its lookup table last, so the region splits into two parts per
/// feature: its arrays (key offsets, keys, counts, and any padding before
/// them), handed over one section at a time, and its table.
///
/// The parts are handed out to the threads as tasks, one at a time, as
/// each thread comes free ([`Task::order`]): the largest table first,
/// since hashing the keys and placing each at a random slot makes a table
/// the most work per byte, so that it starts at once (on the benchmark,
/// `user_id`'s table and arrays had kept one thread busy while the other
/// had run out of work); then the arrays, which are quick to fill, so that
/// the disk has bytes to write early; then the other tables.
fn fill<'b>(
    selection: &Selection,
    manifest: &Manifest,
    data: &'b mut [u8],
    sink: &Sink<'_, 'b>,
) -> Vec<(usize, &'b [u8])> {
    use crate::parts::{consecutive, split_parts};
    use rayon::prelude::*;
    // Each feature's part ends where its table does and the next one's
    // starts there, so the parts cover the region (the last table ends it).
    let ends: Vec<usize> = manifest
        .features
        .iter()
        .map(|f| (f.sections.table.offset + f.sections.table.len) as usize)
        .collect();
    let parts = split_parts(data, consecutive(&ends));
    let mut tasks = Vec::with_capacity(2 * parts.len());
    for (((f, placed), range), part) in selection
        .features
        .iter()
        .zip(&manifest.features)
        .zip(consecutive(&ends))
        .zip(parts)
    {
        let start = range.start;
        let table_at = placed.sections.table.offset as usize - start;
        let (arrays, table) = part.split_at_mut(table_at);
        tasks.push(Task::Table {
            keys: &f.keys,
            start: start + table_at,
            part: table,
        });
        tasks.push(Task::Arrays {
            feature: f,
            sections: &placed.sections,
            start,
            part: arrays,
        });
    }
    let largest_table = tasks.iter().map(Task::table_len).max().unwrap_or(0);
    tasks.sort_by_key(|t| std::cmp::Reverse(t.order(largest_table)));
    let queue = std::sync::Mutex::new(tasks.into_iter());
    let next = || {
        queue
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .next()
    };
    (0..rayon::current_num_threads())
        .into_par_iter()
        .flat_map_iter(|_| std::iter::from_fn(|| next().map(|task| task.fill(sink))).flatten())
        .collect()
}

/// A part of the data region that [`fill`] hands to one thread.
enum Task<'a, 'b> {
    /// A feature's keys, key offsets and counts, starting at `start` in the
    /// data region.
    Arrays {
        feature: &'a SelectedFeature,
        sections: &'a Sections,
        start: usize,
        part: &'b mut [u8],
    },
    /// A feature's lookup table, starting at `start` in the data region.
    Table {
        keys: &'a SelectedKeys,
        start: usize,
        part: &'b mut [u8],
    },
}

impl<'b> Task<'_, 'b> {
    /// The length of a table task's part (0 for the others).
    fn table_len(&self) -> usize {
        match self {
            Task::Table { part, .. } => part.len(),
            Task::Arrays { .. } => 0,
        }
    }

    /// The order [`fill`] hands tasks out in, descending, given the
    /// length of the largest table: that table, then arrays, then the
    /// other tables, each by size.
    fn order(&self, largest_table: usize) -> (u8, usize) {
        match self {
            Task::Table { part, .. } if part.len() == largest_table => (2, part.len()),
            Task::Arrays { part, .. } => (1, part.len()),
            Task::Table { part, .. } => (0, part.len()),
        }
    }

    /// Writes the part, handing each of its pieces to `sink` as it is
    /// complete; returns them.
    fn fill(self, sink: &Sink<'_, 'b>) -> Vec<(usize, &'b [u8])> {
        match self {
            Task::Arrays {
                feature,
                sections,
                start,
                part,
            } => put_arrays(feature, sections, start, part, sink),
            Task::Table { keys, start, part } => {
                use rayon::prelude::*;
                part.par_chunks_mut(crate::zeroed::HUGE_PAGE)
                    .for_each(|chunk| chunk.fill(0));
                put_table(keys, part);
                sink(start, part);
                vec![(start, part)]
            }
        }
    }
}

/// Writes a feature's key offsets (for `bytes` keys), keys and counts into
/// `part`, which starts at offset `start` of the data region and ends where
/// the feature's lookup table starts, zeroing the padding around them.
/// Each section goes to `sink` as soon as it is written, with the padding
/// before it (and the last with the padding after it), so that the disk
/// has bytes to write early; returns them.
fn put_arrays<'b>(
    f: &SelectedFeature,
    s: &Sections,
    start: usize,
    part: &'b mut [u8],
    sink: &Sink<'_, 'b>,
) -> Vec<(usize, &'b [u8])> {
    type Put<'k> = Box<dyn FnOnce(&mut [u8]) + 'k>;
    let mut sections: Vec<(&Section, Put<'_>)> = match &f.keys {
        SelectedKeys::Bytes(keys, _) => {
            let offsets = s.offsets.as_ref().expect("placed with the keys");
            vec![
                (
                    offsets,
                    Box::new(|out| put_words(out, keys.offsets.iter().copied())),
                ),
                (&s.keys, Box::new(|out| out.copy_from_slice(&keys.data))),
            ]
        }
        SelectedKeys::Int(pairs) => vec![(
            &s.keys,
            Box::new(|out| put_words(out, pairs.iter().map(|p| p.0 as u64))),
        )],
        SelectedKeys::Uint(pairs) => vec![(
            &s.keys,
            Box::new(|out| put_words(out, pairs.iter().map(|p| p.0))),
        )],
    };
    sections.push((&s.counts, Box::new(|out| put_words(out, f.keys.counts()))));
    let last = sections.len() - 1;
    let (mut rest, mut at) = (part, start);
    let mut pieces = Vec::with_capacity(sections.len());
    for (i, (section, put)) in sections.into_iter().enumerate() {
        let (offset, end) = (
            section.offset as usize,
            (section.offset + section.len) as usize,
        );
        let piece_end = if i == last { at + rest.len() } else { end };
        let (piece, tail) = std::mem::take(&mut rest).split_at_mut(piece_end - at);
        let (padding, body) = piece.split_at_mut(offset - at);
        padding.fill(0);
        let (body, after) = body.split_at_mut(end - offset);
        put(body);
        after.fill(0);
        let piece: &'b [u8] = piece;
        sink(at, piece);
        pieces.push((at, piece));
        (rest, at) = (tail, piece_end);
    }
    pieces
}

/// Writes `words` as u64 LE into `out`, which holds exactly them.
fn put_words(out: &mut [u8], words: impl IntoIterator<Item = u64>) {
    let mut written = 0;
    for (slot, w) in out.chunks_exact_mut(8).zip(words) {
        slot.copy_from_slice(&w.to_le_bytes());
        written += 8;
    }
    assert_eq!(written, out.len(), "a section sized for other words");
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

/// Keys whose home slots [`put_table`] has asked the CPU to load ahead of
/// their placement.
const PLACED_AHEAD: usize = 32;

/// Writes the open-addressing table into `out` (zeroed, the table's size),
/// as u64 LE words: every key in id order, at the first empty slot from its
/// home slot on (around the table's end). The home slots of the next
/// [`PLACED_AHEAD`] keys are on their way while a key is placed, so that
/// the random writes' cache misses overlap.
///
/// Deterministic, and any lookup finds its key: every slot between a key's
/// home and its own was full when it was placed, and stays full. Placed in
/// id order, the most frequent keys sit in their home slots (`coverage` of
/// the benchmark ran 8% faster than with keys placed in the order of their
/// home slots; `docs/BENCHMARKS.md`, nineteenth session).
///
/// One pass, one hash per key, on one thread: on the benchmark, `user_id`'s
/// 2M keys take ~40 ms, where grouping the keys by regions of 256 KiB
/// first (two hashes per key) and filling the regions in parallel took
/// ~60 ms of both threads (twenty-fourth session).
fn put_table(keys: &SelectedKeys, out: &mut [u8]) {
    let n = keys.len();
    // The key type is matched once per table, not once per key.
    match keys {
        SelectedKeys::Bytes(k, _) => place_keys(n, out, |i| hash::table_hash(Key::Bytes(k.get(i)))),
        SelectedKeys::Int(pairs) => place_keys(n, out, |i| hash::table_hash(Key::Int(pairs[i].0))),
        SelectedKeys::Uint(pairs) => {
            place_keys(n, out, |i| hash::table_hash(Key::Uint(pairs[i].0)))
        }
    }
}

/// [`put_table`] of `n` keys, key `i` hashing to `hash_of(i)`.
fn place_keys(n: usize, out: &mut [u8], hash_of: impl Fn(usize) -> u64) {
    let cap = table_capacity(n);
    debug_assert_eq!(out.len(), 8 * cap);
    if n == 0 {
        return;
    }
    let mask = cap - 1;
    let home = |hash: u64| 8 * (hash as usize & mask);
    // The hashes of keys i to i + PLACED_AHEAD - 1, key j at j % PLACED_AHEAD.
    let mut ahead = [0u64; PLACED_AHEAD];
    for (i, hash) in ahead.iter_mut().enumerate().take(n) {
        *hash = hash_of(i);
        crate::prefetch::prefetch(out, home(*hash));
    }
    for i in 0..n {
        let hash = ahead[i % PLACED_AHEAD];
        if i + PLACED_AHEAD < n {
            let next = hash_of(i + PLACED_AHEAD);
            ahead[i % PLACED_AHEAD] = next;
            crate::prefetch::prefetch(out, home(next));
        }
        let mut slot = hash as usize & mask;
        while read_u64(out, slot) != 0 {
            slot = (slot + 1) & mask;
        }
        // i fits u32: the layout checked the ids fit int32.
        out[8 * slot..8 * slot + 8].copy_from_slice(&table_entry(hash, i as u32).to_le_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::vocab::ByteKeys;

    #[test]
    fn pieces_in_any_order_sum_as_the_whole_body() {
        let body: Vec<u8> = (0..10_000u32).map(|i| (i * 31 % 251) as u8).collect();
        let (manifest, data) = body.split_at(40);
        let pieces = vec![
            (7000, &data[7000..]),
            (0, &data[..10]),
            // Empty pieces where others start (features with no keys).
            (10, &data[10..10]),
            (10, &data[10..7000]),
            (7000, &data[7000..7000]),
        ];
        assert_eq!(
            checksum_in_order(manifest, pieces, body.len()),
            hash::checksum(&body)
        );
    }

    #[test]
    #[should_panic(expected = "missing or overlaps")]
    fn a_missing_piece_is_a_bug_not_a_wrong_checksum() {
        let body = [1u8; 100];
        let (manifest, data) = body.split_at(8);
        checksum_in_order(
            manifest,
            vec![(0, &data[..10]), (20, &data[20..])],
            body.len(),
        );
    }

    /// Where the reader's probe for key `i` ends: the slot holding it, or
    /// `None` when it meets an empty slot first.
    fn probe(table: &[u8], hash: u64, i: usize) -> Option<usize> {
        let cap = table.len() / 8;
        let mut slot = hash as usize & (cap - 1);
        for _ in 0..cap {
            match read_u64(table, slot) {
                0 => return None,
                e if e == table_entry(hash, i as u32) => return Some(slot),
                _ => slot = (slot + 1) & (cap - 1),
            }
        }
        None
    }

    #[test]
    fn an_empty_vocabulary_has_an_empty_table() {
        let keys = SelectedKeys::Int(Vec::new());
        put_table(&keys, &mut []);
    }

    /// The table one key at a time, in id order, with no prefetching: what
    /// [`put_table`] must write.
    fn placed_one_by_one(hashes: &[u64]) -> Vec<u8> {
        let cap = table_capacity(hashes.len());
        let mut table = vec![0u8; 8 * cap];
        for (i, &hash) in hashes.iter().enumerate() {
            let mut slot = hash as usize & (cap - 1);
            while read_u64(&table, slot) != 0 {
                slot = (slot + 1) % cap;
            }
            table[8 * slot..8 * slot + 8]
                .copy_from_slice(&table_entry(hash, i as u32).to_le_bytes());
        }
        table
    }

    proptest::proptest! {
        /// Every key is found by the reader's probe, and no slot holds
        /// anything but a key's entry; the most frequent key sits in its
        /// home slot; the table is that of placing the keys one by one in
        /// id order. Small tables: keys wrap around the end often.
        #[test]
        fn every_key_is_found_from_its_home_slot(
            keys in proptest::collection::btree_set(proptest::prelude::any::<i64>(), 0..2000),
        ) {
            let pairs: Vec<(i64, u64)> = keys.iter().map(|&k| (k, 1)).collect();
            let keys = SelectedKeys::Int(pairs.clone());
            let mut table = vec![0u8; 8 * table_capacity(pairs.len())];
            put_table(&keys, &mut table);
            let hashes: Vec<u64> = pairs.iter().map(|&(k, _)| hash::table_hash(Key::Int(k))).collect();
            for (i, &hash) in hashes.iter().enumerate() {
                let slot = probe(&table, hash, i);
                proptest::prop_assert!(slot.is_some(), "key {} not found", i);
                if i == 0 {
                    proptest::prop_assert_eq!(slot, Some(hash as usize & (table.len() / 8 - 1)));
                }
            }
            let occupied = table.chunks_exact(8).filter(|w| w != &[0u8; 8]).count();
            proptest::prop_assert_eq!(occupied, pairs.len());
            proptest::prop_assert_eq!(placed_one_by_one(&hashes), table);
        }
    }

    #[test]
    fn byte_keys_are_found() {
        let names: Vec<String> = (0..300).map(|i| format!("key-{i}")).collect();
        let refs: Vec<&[u8]> = names.iter().map(|k| k.as_bytes()).collect();
        let keys = SelectedKeys::Bytes(ByteKeys::from_keys(&refs), vec![1; refs.len()]);
        let mut table = vec![0u8; 8 * table_capacity(refs.len())];
        put_table(&keys, &mut table);
        let hashes: Vec<u64> = refs
            .iter()
            .map(|k| hash::table_hash(Key::Bytes(k)))
            .collect();
        for (i, &hash) in hashes.iter().enumerate() {
            assert!(probe(&table, hash, i).is_some());
        }
        assert_eq!(placed_one_by_one(&hashes), table);
    }
}
