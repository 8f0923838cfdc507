//! Writing a file piece by piece, in any order, from one buffer that holds
//! all of it (the artifact, serialized by several threads): each piece's
//! whole aligned blocks go straight to the disk, past the page cache
//! (`O_DIRECT`, on Linux), and its unaligned ends through the page cache
//! once every piece is written ([`PieceWriter::finish`]).
//!
//! Written through the page cache, the benchmark's 105 MB artifact cost
//! `build` 0.4 s of system time: the kernel copies every byte into pages
//! it allocates (fresh memory, which on the project's VM is slow to get),
//! two threads writing the same file wait for each other on its lock, and
//! the pages are written to disk anyway before the file is renamed. Direct
//! writes hand the disk the buffer's own pages; the threads go on filling
//! the other pieces meanwhile (`docs/BENCHMARKS.md`, twenty-first
//! session). The price is that the file is not left in the page cache: the
//! first process that opens it after the build reads it from disk.
//!
//! A piece goes through the page cache whole when direct writes are not to
//! be had: when the file system refuses `O_DIRECT`, when the buffer is not
//! aligned (a small artifact, on the heap), when its aligned part is under
//! [`DIRECT_MIN`], or when a direct write fails (once one has, every later
//! piece); the page cache then reports the error if it is the disk's.

use std::fs::File;
use std::io;
use std::ops::Range;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use crate::atomic::AtomicFile;

/// The alignment of a direct write's file offset, length and memory:
/// 4 KiB, a multiple of the usual logical block sizes (512 B and 4 KiB).
const BLOCK: usize = 4096;

/// The least aligned part of a piece written directly. A direct write
/// waits for the disk; below 1 MiB the copy into the page cache is as
/// cheap.
const DIRECT_MIN: usize = 1 << 20;

/// Writes the pieces of a file held whole in one buffer; see the module
/// documentation.
pub(crate) struct PieceWriter<'f> {
    out: &'f AtomicFile,
    /// A second handle on the file, opened for direct writes.
    direct: Option<File>,
    /// Set once a direct write has failed.
    direct_failed: AtomicBool,
    /// Bytes written directly.
    direct_bytes: AtomicUsize,
    /// What is left for [`finish`](Self::finish): the unaligned ends of
    /// the pieces written directly.
    deferred: Mutex<Vec<Range<usize>>>,
}

impl<'f> PieceWriter<'f> {
    /// A writer into `out`, directly where the system allows it.
    pub(crate) fn new(out: &'f AtomicFile) -> PieceWriter<'f> {
        PieceWriter::with_direct(out, out.reopen_direct())
    }

    /// A writer into `out` through the page cache only.
    #[cfg(test)]
    fn buffered(out: &'f AtomicFile) -> PieceWriter<'f> {
        PieceWriter::with_direct(out, None)
    }

    fn with_direct(out: &'f AtomicFile, direct: Option<File>) -> PieceWriter<'f> {
        PieceWriter {
            out,
            direct,
            direct_failed: AtomicBool::new(false),
            direct_bytes: AtomicUsize::new(0),
            deferred: Mutex::new(Vec::new()),
        }
    }

    /// Writes `bytes`, which are the file's from `offset` on and sit at
    /// that offset in the buffer that holds the whole file.
    ///
    /// # Errors
    /// The write's (through the page cache; a failed direct write is done
    /// again there).
    pub(crate) fn write(&self, offset: usize, bytes: &[u8]) -> io::Result<()> {
        let direct = self
            .direct
            .as_ref()
            .filter(|_| !self.direct_failed.load(Ordering::Relaxed));
        if let Some(direct) = direct {
            if let Some(body) = aligned_body(offset, bytes).filter(|b| b.len() >= DIRECT_MIN) {
                let from_piece = body.start - offset..body.end - offset;
                if write_all_at(direct, &bytes[from_piece], body.start).is_ok() {
                    self.direct_bytes.fetch_add(body.len(), Ordering::Relaxed);
                    let end = offset + bytes.len();
                    let mut deferred = self
                        .deferred
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                    deferred.extend(
                        [offset..body.start, body.end..end]
                            .into_iter()
                            .filter(|r| !r.is_empty()),
                    );
                    return Ok(());
                }
                self.direct_failed.store(true, Ordering::Relaxed);
            }
        }
        self.out.write_all_at(bytes, offset)?;
        self.out.start_writeback(offset, bytes.len());
        Ok(())
    }

    /// Writes what the pieces left (their unaligned ends), from `whole`,
    /// the buffer that holds the file, once every piece is written; returns
    /// how many bytes went to the disk directly.
    ///
    /// # Errors
    /// The writes'.
    pub(crate) fn finish(self, whole: &[u8]) -> io::Result<usize> {
        let mut deferred = self
            .deferred
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        deferred.sort_by_key(|r| r.start);
        for range in coalesced(deferred) {
            self.out.write_all_at(&whole[range.clone()], range.start)?;
        }
        Ok(self.direct_bytes.into_inner())
    }
}

/// The whole [`BLOCK`]s of a piece of `bytes` at file offset `offset`
/// (file offsets), when the piece's memory is aligned as its place in the
/// file is; `None` when it is not, or holds no whole block.
fn aligned_body(offset: usize, bytes: &[u8]) -> Option<Range<usize>> {
    if bytes.as_ptr() as usize % BLOCK != offset % BLOCK {
        return None;
    }
    let start = offset.next_multiple_of(BLOCK);
    let end = (offset + bytes.len()) / BLOCK * BLOCK;
    (start < end).then_some(start..end)
}

/// Ranges sorted by start, with those that touch joined.
fn coalesced(sorted: Vec<Range<usize>>) -> Vec<Range<usize>> {
    let mut joined: Vec<Range<usize>> = Vec::with_capacity(sorted.len());
    for range in sorted {
        match joined.last_mut() {
            Some(last) if last.end >= range.start => last.end = last.end.max(range.end),
            _ => joined.push(range),
        }
    }
    joined
}

/// `bytes` written at `offset` of `file`, whole.
fn write_all_at(file: &File, bytes: &[u8], offset: usize) -> io::Result<()> {
    use std::os::unix::fs::FileExt;
    file.write_all_at(bytes, offset as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zeroed::Zeroed;

    #[test]
    fn the_aligned_body_is_the_whole_blocks_of_an_aligned_piece() {
        let buffer = Zeroed::<u8>::for_writing(4 << 20);
        let piece = |r: Range<usize>| aligned_body(r.start, &buffer[r]);
        assert_eq!(piece(0..3 * BLOCK + 5), Some(0..3 * BLOCK));
        assert_eq!(piece(7..3 * BLOCK), Some(BLOCK..3 * BLOCK));
        assert_eq!(piece(7..2 * BLOCK - 1), None);
        assert_eq!(piece(BLOCK..2 * BLOCK), Some(BLOCK..2 * BLOCK));
        // Memory placed otherwise than the file: nothing is aligned.
        assert_eq!(aligned_body(8, &buffer[..3 * BLOCK]), None);
    }

    #[test]
    fn touching_ranges_are_joined() {
        assert_eq!(
            coalesced(vec![0..3, 3..5, 7..9, 8..12, 20..21]),
            [0..5, 7..12, 20..21]
        );
        assert_eq!(coalesced(vec![]), Vec::<Range<usize>>::new());
    }

    /// Writes `whole` in pieces cut at `cuts`, last piece first, and
    /// returns the file and the bytes written directly.
    fn written(whole: &[u8], cuts: &[usize], direct: bool) -> (Vec<u8>, usize) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let out = AtomicFile::create(&path).unwrap();
        let writer = if direct {
            PieceWriter::new(&out)
        } else {
            PieceWriter::buffered(&out)
        };
        let mut bounds = vec![0];
        bounds.extend_from_slice(cuts);
        bounds.push(whole.len());
        for w in bounds.windows(2).rev() {
            writer.write(w[0], &whole[w[0]..w[1]]).unwrap();
        }
        let direct_bytes = writer.finish(whole).unwrap();
        out.commit().unwrap();
        (std::fs::read(&path).unwrap(), direct_bytes)
    }

    #[test]
    fn pieces_written_in_any_order_make_the_file() {
        let len = 5 * DIRECT_MIN + 123;
        let mut whole = Zeroed::<u8>::for_writing(len);
        for (i, b) in whole.iter_mut().enumerate() {
            *b = (i * 7 + i / 4099) as u8;
        }
        let cuts = [
            100,
            2 * DIRECT_MIN + 7,
            2 * DIRECT_MIN + 9,
            4 * DIRECT_MIN - 1,
        ];
        let (direct, direct_bytes) = written(&whole, &cuts, true);
        assert!(direct == whole[..], "the file differs from the buffer");
        let (buffered, none) = written(&whole, &cuts, false);
        assert!(buffered == whole[..], "the file differs from the buffer");
        assert_eq!(none, 0);
        // Where the file system takes direct writes, the two large pieces
        // went past the page cache.
        let dir = tempfile::tempdir().unwrap();
        let probe = AtomicFile::create(&dir.path().join("probe")).unwrap();
        if probe.reopen_direct().is_some() {
            assert!(
                direct_bytes >= 3 * DIRECT_MIN,
                "{direct_bytes} bytes written directly"
            );
        }
    }

    #[test]
    fn a_buffer_not_aligned_goes_through_the_page_cache() {
        // A heap buffer at an offset that no page boundary matches.
        let whole: Vec<u8> = (0..3 * DIRECT_MIN + 11).map(|i| i as u8).collect();
        let start = (0..BLOCK)
            .find(|&s| (whole[s..].as_ptr() as usize) % BLOCK == 1)
            .unwrap();
        let (file, direct_bytes) = written(&whole[start..], &[DIRECT_MIN + 3], true);
        assert!(file == whole[start..]);
        assert_eq!(direct_bytes, 0);
    }
}
