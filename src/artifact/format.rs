//! The artifact's framing: header, version, manifest and sections
//! (documented in docs/FORMAT.md).

use serde::{Deserialize, Serialize};

use crate::count::InputFile;
use crate::error::{Error, Result};
use crate::id::Layout;
use crate::keys::KeyType;
use crate::spec::FeatureSpec;
use crate::vocab::FeatureStats;

/// The first 8 bytes of every artifact.
pub const MAGIC: [u8; 8] = *b"OOVOCAB\0";
/// The format major version this build writes and the newest it reads.
pub const FORMAT_VERSION: u16 = 1;
/// The minor version this build writes (readers accept any minor of a major
/// they know: minors only add manifest fields).
pub const FORMAT_MINOR: u16 = 0;
/// Header size in bytes.
pub(crate) const HEADER_LEN: usize = 32;
/// Every section starts at a multiple of this.
pub(crate) const ALIGN: usize = 8;
/// What the manifest's `kind` says.
pub(crate) const KIND: &str = "oovocab-vocabulary";

/// What tells one kind of oovocab file from another: artifacts and
/// partial-count files share the framing (header, manifest, data region).
#[derive(Debug, Clone, Copy)]
pub(crate) struct FileKind {
    pub magic: [u8; 8],
    /// The major version written, and the newest read.
    pub major: u16,
    pub minor: u16,
    /// What messages call the file ("artifact").
    pub noun: &'static str,
}

/// The artifact.
pub(crate) const VOCABULARY_FILE: FileKind = FileKind {
    magic: MAGIC,
    major: FORMAT_VERSION,
    minor: FORMAT_MINOR,
    noun: "artifact",
};

/// Frames a JSON manifest and the data region (whose sections' offsets
/// are relative to its start) into a file: the header (with the body's
/// length and checksum), the manifest's length and bytes, padding to
/// [`ALIGN`], the data.
pub(crate) fn frame(kind: &FileKind, manifest: &[u8], data: &[u8]) -> Vec<u8> {
    let mut out = start_frame(manifest, data.len());
    out.extend_from_slice(data);
    finish_frame(kind, &mut out);
    out
}

/// The start of a framed file whose data region (`data_len` bytes) the
/// caller appends next, so that a large region is written once, in
/// place: room for the header, the manifest's length and bytes, padding
/// to [`ALIGN`]. [`finish_frame`] then writes the header.
pub(crate) fn start_frame(manifest: &[u8], data_len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + 8 + manifest.len() + ALIGN + data_len);
    out.resize(HEADER_LEN, 0);
    out.extend_from_slice(&(manifest.len() as u64).to_le_bytes());
    out.extend_from_slice(manifest);
    while (out.len() - HEADER_LEN) % ALIGN != 0 {
        out.push(0);
    }
    out
}

/// Writes the header of a file begun with [`start_frame`], once its data
/// region is complete.
pub(crate) fn finish_frame(kind: &FileKind, out: &mut [u8]) {
    let (header, body) = out.split_at_mut(HEADER_LEN);
    header.copy_from_slice(&header_bytes(kind, body.len(), crate::hash::checksum(body)));
}

/// The header of a file of `kind` whose body (all after the header) is
/// `body_len` bytes long and has the checksum `checksum`
/// ([`crate::hash::checksum`]).
pub(crate) fn header_bytes(kind: &FileKind, body_len: usize, checksum: u64) -> [u8; HEADER_LEN] {
    Header {
        magic: kind.magic,
        major: kind.major,
        minor: kind.minor,
        flags: 0,
        body_len: body_len as u64,
        checksum,
    }
    .to_bytes()
}

/// Whether [`unframe`] checks a file's checksum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Checksum {
    /// Bytes read from a file or handed over by a caller.
    Verify,
    /// Bytes this process has just framed ([`finish_frame`] computed the
    /// checksum over these very bytes): checking it again would only read
    /// the whole body once more.
    JustFramed,
}

/// Checks a framed file's magic, version, flags, length and (unless
/// `checksum` says it was just framed) checksum; returns the range of its
/// manifest bytes and where its data region starts.
///
/// # Errors
/// [`Error::Artifact`] naming `path`, or [`Error::UnsupportedVersion`].
pub(crate) fn unframe(
    kind: &FileKind,
    path: &std::path::Path,
    bytes: &[u8],
    checksum: Checksum,
) -> Result<(std::ops::Range<usize>, usize)> {
    let noun = kind.noun;
    let bad = |m: String| Error::artifact(path, m);
    let Some(header) = Header::from_bytes(bytes).filter(|h| h.magic == kind.magic) else {
        return Err(bad(format!(
            "not an oovocab {noun} (wrong magic number or too short)"
        )));
    };
    if header.major > kind.major || header.major == 0 {
        return Err(Error::UnsupportedVersion {
            path: path.to_path_buf(),
            found: header.major,
            supported: kind.major,
        });
    }
    if header.flags != 0 {
        return Err(bad(format!(
            "unknown flags {:#x} in the header",
            header.flags
        )));
    }
    let actual = (bytes.len() - HEADER_LEN) as u64;
    if actual != header.body_len {
        return Err(bad(format!(
            "truncated or extended: the header says {} body bytes, the file has {actual}",
            header.body_len
        )));
    }
    let body = &bytes[HEADER_LEN..];
    if checksum == Checksum::Verify && crate::hash::checksum(body) != header.checksum {
        return Err(bad(format!(
            "checksum mismatch: the file is corrupt; rewrite the {noun}"
        )));
    }
    let manifest_len = read_u64(body, 0);
    let manifest_end = 8u64
        .checked_add(manifest_len)
        .filter(|&e| e <= body.len() as u64)
        .ok_or_else(|| bad("manifest length is past the end of the file".into()))?
        as usize;
    let data_start = (HEADER_LEN + manifest_end.next_multiple_of(ALIGN)).min(bytes.len());
    Ok((HEADER_LEN + 8..HEADER_LEN + manifest_end, data_start))
}

/// The fixed-size header at the start of the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Header {
    pub magic: [u8; 8],
    pub major: u16,
    pub minor: u16,
    pub flags: u32,
    pub body_len: u64,
    pub checksum: u64,
}

impl Header {
    pub(crate) fn to_bytes(self) -> [u8; HEADER_LEN] {
        let mut b = [0u8; HEADER_LEN];
        b[0..8].copy_from_slice(&self.magic);
        b[8..10].copy_from_slice(&self.major.to_le_bytes());
        b[10..12].copy_from_slice(&self.minor.to_le_bytes());
        b[12..16].copy_from_slice(&self.flags.to_le_bytes());
        b[16..24].copy_from_slice(&self.body_len.to_le_bytes());
        b[24..32].copy_from_slice(&self.checksum.to_le_bytes());
        b
    }

    /// Reads a header; `None` when `bytes` is too short.
    pub(crate) fn from_bytes(bytes: &[u8]) -> Option<Header> {
        let b = bytes.get(..HEADER_LEN)?;
        Some(Header {
            magic: b[0..8].try_into().ok()?,
            major: u16::from_le_bytes([b[8], b[9]]),
            minor: u16::from_le_bytes([b[10], b[11]]),
            flags: u32::from_le_bytes([b[12], b[13], b[14], b[15]]),
            body_len: read_u64(b, 2),
            checksum: read_u64(b, 3),
        })
    }
}

/// A byte range of the data region (which starts after the manifest).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Section {
    pub offset: u64,
    pub len: u64,
}

/// Where one feature's tables are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Sections {
    /// `bytes` keys: the concatenated key bytes. Integer keys: `n` u64 LE
    /// (an `int` key's two's complement bits).
    pub keys: Section,
    /// `bytes` keys only: `n + 1` u64 LE offsets into `keys`.
    pub offsets: Option<Section>,
    /// `n` u64 LE counts, in id order.
    pub counts: Section,
    /// The open-addressing table: a power-of-two number of u64 LE slots,
    /// each 0 (empty) or `fingerprint << 32 | (1 + index)` of a known key,
    /// the fingerprint being the upper 32 bits of the key's table hash.
    pub table: Section,
}

/// One feature in the manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct FeatureManifest {
    pub spec: FeatureSpec,
    pub key_type: KeyType,
    pub layout: Layout,
    pub stats: FeatureStats,
    pub sections: Sections,
}

/// The JSON manifest: everything but the key tables.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Manifest {
    pub format_version: u16,
    pub kind: String,
    pub writer: String,
    pub rows_scanned: u64,
    pub inputs: Vec<InputFile>,
    pub features: Vec<FeatureManifest>,
}

/// The number of table slots for `n` keys: a power of two with a load
/// factor between 1/3 and 2/3 (0 for no keys).
pub(crate) fn table_capacity(n: usize) -> usize {
    if n == 0 {
        0
    } else {
        (n + n / 2 + 1).next_power_of_two()
    }
}

/// The `N`-byte little-endian word number `i` of `bytes`, or zeros past
/// the end.
#[inline]
fn read_word<const N: usize>(bytes: &[u8], i: usize) -> [u8; N] {
    let mut a = [0u8; N];
    if let Some(s) = bytes.get(i * N..i * N + N) {
        a.copy_from_slice(s);
    }
    a
}

/// A table slot for the key with this table hash and index.
pub(crate) fn table_entry(hash: u64, index: u32) -> u64 {
    (hash & 0xffff_ffff_0000_0000) | u64::from(index + 1)
}

/// Little-endian u64 number `i` of `bytes`, or 0 past the end.
#[inline]
pub(crate) fn read_u64(bytes: &[u8], i: usize) -> u64 {
    u64::from_le_bytes(read_word(bytes, i))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_bytes_just_framed_skip_the_checksum() {
        let path = std::path::Path::new("v.oov");
        let mut bytes = frame(&VOCABULARY_FILE, b"{}", &[7u8; 64]);
        assert!(unframe(&VOCABULARY_FILE, path, &bytes, Checksum::Verify).is_ok());
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        let err = unframe(&VOCABULARY_FILE, path, &bytes, Checksum::Verify).unwrap_err();
        assert!(err.to_string().contains("checksum mismatch"), "{err}");
        assert!(unframe(&VOCABULARY_FILE, path, &bytes, Checksum::JustFramed).is_ok());
    }
}
