//! A count table split into [`PARTS`] partitions by the top bits of each
//! key's hash: growing rehashes one small partition at a time (its slots
//! stay in cache), and two tables merge partition by partition, in parallel.

use rayon::prelude::*;

use crate::zeroed::HUGE_PAGE;

/// Partitions per table (a power of two), chosen by the top bits of a hash.
pub(crate) const PARTS: usize = 32;

/// The partition of a hash.
#[inline]
pub(crate) fn part_of(hash: u64) -> usize {
    (hash >> (64 - PARTS.trailing_zeros())) as usize
}

/// The slot count a table of `slots` slots of `slot_bytes` each must grow
/// to before it holds `keys` keys (load at most 5/8), or `None` when it
/// need not grow.
///
/// Below [`HUGE_PAGE`] a table grows fourfold, not twofold: a growing
/// table's small arrays are rehashed and freed in turn, and each fresh
/// 4 KiB page of the next costs a fault. It grows no further than one huge
/// page that way, so a table of many partitions wastes at most a few MiB
/// each, and larger ones keep a load of at least 5/16.
#[inline]
pub(crate) fn grown_capacity(keys: usize, slots: usize, slot_bytes: usize) -> Option<usize> {
    (keys * 8 > slots * 5).then(|| {
        let needed = (keys * 8).div_ceil(5).next_power_of_two().max(16);
        let fourfold = 4 * slots;
        if needed < fourfold && fourfold * slot_bytes <= HUGE_PAGE {
            fourfold
        } else {
            needed
        }
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_grow_fourfold_up_to_a_huge_page_then_as_needed() {
        // Up to a load of 5/8 nothing grows.
        assert_eq!(grown_capacity(10, 16, 32), None);
        assert_eq!(grown_capacity(1, 0, 32), Some(16));
        // Small: fourfold.
        assert_eq!(grown_capacity(11, 16, 32), Some(64));
        assert_eq!(grown_capacity(10_241, 16_384, 32), Some(65_536));
        // Fourfold would pass 2 MiB: twofold.
        assert_eq!(grown_capacity(40_961, 65_536, 32), Some(131_072));
        assert_eq!(grown_capacity(40_961, 65_536, 16), Some(131_072));
        // More keys at once than fourfold holds (a merge): as many as needed.
        assert_eq!(grown_capacity(100_000, 16, 32), Some(262_144));
        for (keys, slots, bytes) in [(11, 16, 32), (40_961, 65_536, 16), (100_000, 16, 32)] {
            let grown = grown_capacity(keys, slots, bytes).unwrap();
            assert!(grown.is_power_of_two() && keys * 8 <= grown * 5);
        }
    }
}
