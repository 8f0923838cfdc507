//! Files that appear complete or not at all: written under a hidden
//! temporary name in the final directory, synced, then renamed over the
//! final path. A crash leaves at most a `.NAME.*.tmp` file, which input
//! discovery skips.
//!
//! [`AtomicFile::write_all`] and [`AtomicFile::write_all_at`] hand the
//! page cache at most [`WRITE_CHUNK`] bytes per write. (The Parquet writer
//! of `apply` writes a page at a time already.)

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use tempfile::NamedTempFile;

use crate::error::{Error, Result};

pub(crate) struct AtomicFile {
    tmp: NamedTempFile,
    path: PathBuf,
}

impl AtomicFile {
    /// A temporary file beside `path` (whose directory must exist).
    pub(crate) fn create(path: &Path) -> Result<AtomicFile> {
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp = tempfile::Builder::new()
            .prefix(&format!(".{name}."))
            .suffix(".tmp")
            .tempfile_in(dir)
            .map_err(|e| Error::io(dir, e))?;
        Ok(AtomicFile {
            tmp,
            path: path.to_path_buf(),
        })
    }

    /// The temporary file, to write to.
    pub(crate) fn file(&self) -> &File {
        self.tmp.as_file()
    }

    /// Writes `bytes` at the start of the temporary file, in chunks
    /// ([`WRITE_CHUNK`]).
    pub(crate) fn write_all(&self, bytes: &[u8]) -> io::Result<()> {
        let mut file = self.file();
        chunks_from(0, bytes).try_for_each(|chunk| file.write_all(chunk))
    }

    /// Writes `bytes` at `offset` of the temporary file, in chunks
    /// ([`WRITE_CHUNK`]); other threads may write elsewhere meanwhile.
    #[cfg(unix)]
    pub(crate) fn write_all_at(&self, bytes: &[u8], offset: usize) -> io::Result<()> {
        use std::os::unix::fs::FileExt;
        let mut at = offset;
        for chunk in chunks_from(at, bytes) {
            self.file().write_all_at(chunk, at as u64)?;
            at += chunk.len();
        }
        Ok(())
    }

    /// A second handle on the temporary file that writes past the page
    /// cache (`O_DIRECT`), on Linux when the file system takes such writes;
    /// `None` elsewhere, or when the path no longer names the file.
    pub(crate) fn reopen_direct(&self) -> Option<File> {
        #[cfg(target_os = "linux")]
        {
            use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
            let direct = std::fs::OpenOptions::new()
                .write(true)
                .custom_flags(libc::O_DIRECT)
                .open(self.tmp.path())
                .ok()?;
            let (ours, theirs) = (self.file().metadata().ok()?, direct.metadata().ok()?);
            ((ours.dev(), ours.ino()) == (theirs.dev(), theirs.ino())).then_some(direct)
        }
        #[cfg(not(target_os = "linux"))]
        None
    }

    /// Asks the kernel to start writing `len` bytes of the file from
    /// `offset` to disk, without waiting (`sync_file_range`, on Linux;
    /// elsewhere nothing): a hint, whose failure only leaves the work to
    /// [`commit`](Self::commit)'s sync.
    pub(crate) fn start_writeback(&self, offset: usize, len: usize) {
        #[cfg(target_os = "linux")]
        {
            use std::os::fd::AsRawFd;
            let (Ok(offset), Ok(len)) = (i64::try_from(offset), i64::try_from(len)) else {
                return;
            };
            // SAFETY: the descriptor is open for the borrow of `self`, and
            // the call only reads its integer arguments.
            #[allow(unsafe_code)]
            let _ = unsafe {
                libc::sync_file_range(
                    self.file().as_raw_fd(),
                    offset,
                    len,
                    libc::SYNC_FILE_RANGE_WRITE,
                )
            };
        }
        #[cfg(not(target_os = "linux"))]
        let _ = (offset, len);
    }

    /// A second handle on the temporary file (for writers that own theirs).
    #[cfg(feature = "parquet")]
    pub(crate) fn try_clone(&self) -> Result<File> {
        self.file()
            .try_clone()
            .map_err(|e| Error::io(self.tmp.path(), e))
    }

    /// Syncs the file, makes it readable like any other output (0644), and
    /// renames it over the final path. Dropping an `AtomicFile` without
    /// committing removes the temporary file.
    pub(crate) fn commit(self) -> Result<()> {
        let tmp_path = self.tmp.path().to_path_buf();
        self.file()
            .sync_all()
            .map_err(|e| Error::io(&tmp_path, e))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&tmp_path, std::fs::Permissions::from_mode(0o644))
                .map_err(|e| Error::io(&tmp_path, e))?;
        }
        self.tmp
            .persist(&self.path)
            .map_err(|e| Error::io(&self.path, e.error))?;
        Ok(())
    }
}

/// The most bytes one write hands the page cache: 1 MiB, the chunks ending
/// on multiples of it in the file.
///
/// Linux caches a file in folios as large as the writes that fill them
/// (ext4 since 6.16, XFS before), up to 2 MiB. A 2 MiB folio takes a free
/// 2 MiB block, and in a VM whose guest hands free blocks of that size back
/// to the host (virtio-balloon free page reporting) such a block is memory
/// the host has to back again: on the project's VM, 210 MB written in
/// 2 MiB writes took 2.1-2.8 s, and in 1 MiB writes (or 256 or 512 KiB)
/// 57-76 ms (`docs/BENCHMARKS.md`, nineteenth session). Smaller folios cost
/// nothing elsewhere: the writes are still a syscall per MiB.
pub(crate) const WRITE_CHUNK: usize = 1 << 20;

/// The pieces of `bytes`, written from file offset `offset`, each ending
/// at the next multiple of [`WRITE_CHUNK`] (or at the end).
fn chunks_from(offset: usize, bytes: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = bytes;
    let mut at = offset;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let room = WRITE_CHUNK - at % WRITE_CHUNK;
        let (chunk, tail) = rest.split_at(room.min(rest.len()));
        rest = tail;
        at += chunk.len();
        Some(chunk)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_end_on_multiples_of_the_chunk() {
        let bytes = vec![7u8; 3 * WRITE_CHUNK + 10];
        let lens: Vec<usize> = chunks_from(WRITE_CHUNK - 5, &bytes)
            .map(<[u8]>::len)
            .collect();
        assert_eq!(lens, [5, WRITE_CHUNK, WRITE_CHUNK, WRITE_CHUNK, 5]);
        assert_eq!(chunks_from(0, &[]).count(), 0);
    }

    #[test]
    fn chunked_writes_pass_every_byte_in_order() {
        let bytes: Vec<u8> = (0..2 * WRITE_CHUNK + 3).map(|i| i as u8).collect();
        let dir = tempfile::tempdir().unwrap();
        let out = AtomicFile::create(&dir.path().join("f")).unwrap();
        out.write_all(&bytes).unwrap();
        out.commit().unwrap();
        assert_eq!(std::fs::read(dir.path().join("f")).unwrap(), bytes);
    }
}
