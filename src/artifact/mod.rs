//! The on-disk format (docs/FORMAT.md): one versioned, checksummed file
//! holding every feature of a spec, opened by memory map.

pub(crate) mod format;
mod open;
pub(crate) mod write;

pub use format::{FORMAT_VERSION, MAGIC};
pub use open::{Feature, Vocabulary};
