//! The id layout of a feature: the only code that does id arithmetic.
//!
//! Ids are dense `0..size`: `[padding] [null] [OOV buckets] [known values]`
//! (DESIGN.md §1). Padding and null are present when the spec asks for them;
//! there is always at least one OOV bucket.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Where a feature's ids go.
///
/// ```
/// use oovocab::Layout;
/// let layout = Layout::new(true, true, 4, 10).unwrap();
/// assert_eq!(layout.padding_id(), Some(0));
/// assert_eq!(layout.null_id(), Some(1));
/// assert_eq!(layout.oov_first_id(), 2);
/// assert_eq!(layout.first_vocab_id(), 6);
/// assert_eq!(layout.size(), 16);
/// assert_eq!(layout.known_id(0), 6);
/// assert!(layout.is_oov(layout.bucket_id(12345)));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Layout {
    padding: bool,
    null_slot: bool,
    oov_buckets: u32,
    vocab_size: u32,
}

/// What an id stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    /// The padding id.
    Padding,
    /// The null id.
    Null,
    /// OOV bucket number `n` (from 0).
    Oov(u32),
    /// The known value with this index (0 = most frequent).
    Known(u32),
}

impl Layout {
    /// A layout; fails when `oov_buckets` is 0 or the ids do not fit `u32`
    /// (`size` must be at most `i32::MAX` so that ids fit an `int32` column).
    pub fn new(padding: bool, null_slot: bool, oov_buckets: u32, vocab_size: u64) -> Result<Self> {
        let limit = |message: String| Error::Limit {
            feature: String::new(),
            message,
        };
        if oov_buckets == 0 {
            return Err(limit("oov_buckets must be at least 1".into()));
        }
        let size = u64::from(padding) + u64::from(null_slot) + u64::from(oov_buckets) + vocab_size;
        if size > i32::MAX as u64 {
            return Err(limit(format!(
                "{size} ids do not fit an int32 id column (at most {}); lower max_size or raise min_count",
                i32::MAX
            )));
        }
        Ok(Layout {
            padding,
            null_slot,
            oov_buckets,
            vocab_size: vocab_size as u32,
        })
    }

    /// The padding id, when the layout has one (always 0).
    pub fn padding_id(&self) -> Option<u32> {
        self.padding.then_some(0)
    }

    /// The null id, when the layout has a null slot.
    pub fn null_id(&self) -> Option<u32> {
        self.null_slot.then_some(u32::from(self.padding))
    }

    /// The first OOV bucket id.
    pub fn oov_first_id(&self) -> u32 {
        u32::from(self.padding) + u32::from(self.null_slot)
    }

    /// The number of OOV buckets (at least 1).
    pub fn oov_buckets(&self) -> u32 {
        self.oov_buckets
    }

    /// The id of the first (most frequent) known value.
    pub fn first_vocab_id(&self) -> u32 {
        self.oov_first_id() + self.oov_buckets
    }

    /// The number of known values.
    pub fn vocab_size(&self) -> u32 {
        self.vocab_size
    }

    /// The number of ids: the embedding table's row count.
    pub fn size(&self) -> u32 {
        self.first_vocab_id() + self.vocab_size
    }

    /// The OOV id for a value whose OOV hash is `hash`.
    pub fn bucket_id(&self, hash: u64) -> u32 {
        // The remainder is below `oov_buckets`, a u32.
        self.oov_first_id() + (hash % u64::from(self.oov_buckets)) as u32
    }

    /// The id of the known value with index `index` (0 = most frequent).
    ///
    /// # Panics
    /// When `index >= vocab_size()`.
    pub fn known_id(&self, index: u32) -> u32 {
        assert!(
            index < self.vocab_size,
            "known value index {index} out of range"
        );
        self.first_vocab_id() + index
    }

    /// Whether `id` is one of the OOV bucket ids.
    pub fn is_oov(&self, id: u32) -> bool {
        (self.oov_first_id()..self.first_vocab_id()).contains(&id)
    }

    /// What `id` stands for, or `None` when it is not below `size()`.
    pub fn slot(&self, id: u32) -> Option<Slot> {
        if Some(id) == self.padding_id() {
            Some(Slot::Padding)
        } else if Some(id) == self.null_id() {
            Some(Slot::Null)
        } else if self.is_oov(id) {
            Some(Slot::Oov(id - self.oov_first_id()))
        } else if id < self.size() {
            Some(Slot::Known(id - self.first_vocab_id()))
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_layout_is_pad_null_oov_then_known() {
        let l = Layout::new(true, true, 1, 3).unwrap();
        assert_eq!(
            (
                l.padding_id(),
                l.null_id(),
                l.oov_first_id(),
                l.first_vocab_id(),
                l.size()
            ),
            (Some(0), Some(1), 2, 3, 6)
        );
        assert_eq!(l.slot(0), Some(Slot::Padding));
        assert_eq!(l.slot(1), Some(Slot::Null));
        assert_eq!(l.slot(2), Some(Slot::Oov(0)));
        assert_eq!(l.slot(5), Some(Slot::Known(2)));
        assert_eq!(l.slot(6), None);
    }

    #[test]
    fn no_padding_no_null_starts_with_oov() {
        let l = Layout::new(false, false, 3, 2).unwrap();
        assert_eq!(
            (
                l.padding_id(),
                l.null_id(),
                l.oov_first_id(),
                l.first_vocab_id(),
                l.size()
            ),
            (None, None, 0, 3, 5)
        );
        assert_eq!(l.bucket_id(7), 1);
    }

    #[test]
    fn zero_buckets_and_overflow_are_errors() {
        assert!(Layout::new(true, true, 0, 1).is_err());
        assert!(Layout::new(true, true, 1, i32::MAX as u64).is_err());
        assert!(Layout::new(false, false, 1, i32::MAX as u64 - 1).is_ok());
    }
}
