//! A count table split into [`PARTS`] partitions by the top bits of each
//! key's hash: growing rehashes one small partition at a time (its slots
//! stay in cache), and two tables merge partition by partition, in parallel.

use rayon::prelude::*;

/// Partitions per table (a power of two), chosen by the top bits of a hash.
pub(crate) const PARTS: usize = 32;

/// The partition of a hash.
#[inline]
pub(crate) fn part_of(hash: u64) -> usize {
    (hash >> (64 - PARTS.trailing_zeros())) as usize
}

/// The slot count a table of `slots` slots must grow to before it holds
/// `keys` keys (load at most 5/8), or `None` when it need not grow.
#[inline]
pub(crate) fn grown_capacity(keys: usize, slots: usize) -> Option<usize> {
    (keys * 8 > slots * 5).then(|| (keys * 8).div_ceil(5).next_power_of_two().max(16))
}

/// One partition of a count table.
pub(crate) trait Partition: Clone + Default + Send + Sync {
    /// Adds every count of `other` (the same partition of another table);
    /// returns how many keys were new.
    fn merge(&mut self, other: &Self) -> usize;
}

/// The partitions of one table, and how many keys they hold.
#[derive(Debug, Clone, Default)]
pub(crate) struct Partitioned<P> {
    /// Empty until the first key, then [`PARTS`] partitions.
    parts: Vec<P>,
    len: usize,
}

impl<P: Partition> Partitioned<P> {
    /// Distinct keys in all partitions.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The partitions (made on first use) and the key count, which the
    /// caller raises by the keys it adds.
    pub(crate) fn parts_mut(&mut self) -> (&mut [P], &mut usize) {
        if self.parts.is_empty() {
            self.parts = vec![P::default(); PARTS];
        }
        (&mut self.parts, &mut self.len)
    }

    /// The partition of `hash`, unless the table is still empty.
    pub(crate) fn part(&self, hash: u64) -> Option<&P> {
        self.parts.get(part_of(hash))
    }

    /// Every partition, in order (none while the table is empty).
    pub(crate) fn parts(&self) -> &[P] {
        &self.parts
    }

    /// Adds every count of `other`, partition by partition in parallel.
    pub(crate) fn merge(&mut self, other: &Partitioned<P>) {
        if other.parts.is_empty() {
            return;
        }
        let (parts, len) = self.parts_mut();
        let added: usize = parts
            .par_iter_mut()
            .zip(&other.parts)
            .map(|(mine, theirs)| mine.merge(theirs))
            .sum();
        *len += added;
    }
}
