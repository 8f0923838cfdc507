//! A count table split into [`PARTS`] partitions by the top bits of each
//! key's hash: growing rehashes one small partition at a time (its slots
//! stay in cache), and two tables merge partition by partition, in parallel.

use rayon::prelude::*;

use crate::zeroed::{HUGE_PAGE, SparePages, Zeroable, Zeroed};

/// Partitions per table (a power of two), chosen by the top bits of a hash.
pub(crate) const PARTS: usize = 32;

/// The partition of a hash.
#[inline]
pub(crate) fn part_of(hash: u64) -> usize {
    (hash >> (64 - PARTS.trailing_zeros())) as usize
}

/// Whether a table of `slots` slots must grow before it holds `keys`
/// keys: its load would pass 5/8.
#[inline(always)]
fn must_grow(keys: usize, slots: usize) -> bool {
    keys * 8 > slots * 5
}

/// The slot count a table of `slots` slots of `slot_bytes` each must grow
/// to before it holds `keys` keys (load at most 5/8), or `None` when it
/// need not grow.
///
/// Below [`HUGE_PAGE`] a table grows fourfold, not twofold: a growing
/// table's small arrays are rehashed and freed in turn, and each fresh
/// 4 KiB page of the next costs a fault. It grows no further than one huge
/// page that way, so a table of many partitions wastes at most a few MiB
/// each, and larger ones keep a load of at least 5/16, unless `ahead`:
/// while a scan's [forecast](super::forecast) says the table's keys will
/// more than double again, it grows fourfold at any size.
#[inline]
pub(crate) fn grown_capacity(
    keys: usize,
    slots: usize,
    slot_bytes: usize,
    ahead: bool,
) -> Option<usize> {
    must_grow(keys, slots).then(|| {
        let needed = (keys * 8).div_ceil(5).next_power_of_two().max(16);
        let fourfold = 4 * slots;
        if needed < fourfold && (ahead || fourfold * slot_bytes <= HUGE_PAGE) {
            fourfold
        } else {
            needed
        }
    })
}

/// Grows a linear-probing table's `slots` to `capacity` (a power of two)
/// in place, and moves its entries to where the grown table probes for
/// them ([`rehash_grown`]). `occupied` tells a slot in use; `hash` gives an
/// entry's hash, whose low bits are its home slot.
pub(crate) fn grow_in_place<T: Zeroable>(
    slots: &mut Zeroed<T>,
    capacity: usize,
    occupied: impl Fn(&T) -> bool,
    hash: impl Fn(&T) -> u64,
) {
    let old = slots.len();
    slots.grow(capacity);
    if old > 0 {
        rehash_grown(slots, old, occupied, hash);
    }
}

/// Moves the entries of a linear-probing table that has grown from `old`
/// slots to `slots.len()` (powers of two; the slots past `old` empty) to
/// where the grown table probes for them, in place: no second array.
///
/// The old slots are taken in order, starting just after an empty one so
/// that no cluster is entered in its middle, and each entry is taken out
/// and put back from its new home. That home is its old one or one past
/// the old slots, so the probe passes only slots already taken (and put
/// back into) and stops at the latest at the slot just emptied: no entry
/// is ever taken out from under another's probe, and every entry stays
/// where a lookup finds it.
fn rehash_grown<T: Copy + Default>(
    slots: &mut [T],
    old: usize,
    occupied: impl Fn(&T) -> bool,
    hash: impl Fn(&T) -> u64,
) {
    debug_assert!(old.is_power_of_two() && slots.len().is_power_of_two() && slots.len() > old);
    let mask = slots.len() - 1;
    // A table's load is at most 5/8: one of its slots is empty.
    let Some(empty) = (0..old).find(|&i| !occupied(&slots[i])) else {
        unreachable!("a full count table")
    };
    for step in 1..=old {
        let i = (empty + step) & (old - 1);
        if occupied(&slots[i]) {
            let entry = std::mem::take(&mut slots[i]);
            let mut at = hash(&entry) as usize & mask;
            while occupied(&slots[at]) {
                at = (at + 1) & mask;
            }
            slots[at] = entry;
        }
    }
}

/// One partition of a count table.
pub(crate) trait Partition: Clone + Default + Send + Sync {
    /// Adds every count of `other` (the same partition of another table);
    /// returns how many keys were new. `threshold` is the table's
    /// ([`Partitioned::with_threshold`]).
    fn merge(&mut self, other: &Self, threshold: u64) -> usize;

    /// Distinct keys in this partition.
    fn len(&self) -> usize;

    /// Keys in this partition counted at least the table's threshold times.
    fn kept(&self) -> usize;

    /// Hands the pages of this partition's slots to `spare`.
    fn give_pages(self, spare: &SparePages);

    /// The size of a slot, in bytes.
    const SLOT_BYTES: usize;

    /// Slots in this partition.
    fn capacity(&self) -> usize;

    /// Grows the slots to `capacity` (a power of two) and moves every key
    /// to where the grown partition probes for it ([`grow_in_place`]).
    fn rebuild(&mut self, capacity: usize);

    /// Makes room for `more` new keys without growing; growing, grows
    /// fourfold at any size when `ahead` ([`grown_capacity`]). The count
    /// kernels make room per key: the check is inline, the growth out of
    /// line ([`grow`](Self::grow)).
    #[inline(always)]
    fn reserve(&mut self, more: usize, ahead: bool) {
        if must_grow(self.len() + more, self.capacity()) {
            self.grow(more, ahead);
        }
    }

    /// The growth [`reserve`](Self::reserve) calls out to.
    #[cold]
    #[inline(never)]
    fn grow(&mut self, more: usize, ahead: bool) {
        let keys = self.len() + more;
        if let Some(capacity) = grown_capacity(keys, self.capacity(), Self::SLOT_BYTES, ahead) {
            self.rebuild(capacity);
        }
    }
}

/// The partitions of one table, how many keys they hold, and the count
/// from which each partition counts a key as kept: the feature's
/// `min_count`, so that selection knows how many keys each partition
/// keeps without a pass over its slots.
#[derive(Debug, Clone)]
pub(crate) struct Partitioned<P> {
    /// Empty until the first key, then [`PARTS`] partitions.
    parts: Vec<P>,
    len: usize,
    threshold: u64,
    /// Whether the partitions grow fourfold at any size
    /// ([`set_grow_ahead`](Self::set_grow_ahead)).
    ahead: bool,
}

impl<P> Default for Partitioned<P> {
    fn default() -> Self {
        Partitioned::with_threshold(1)
    }
}

impl<P> Partitioned<P> {
    /// An empty table whose partitions count the keys counted at least
    /// `threshold` times (at least once, when `threshold` is 0).
    pub(crate) fn with_threshold(threshold: u64) -> Self {
        Partitioned {
            parts: Vec::new(),
            len: 0,
            threshold: threshold.max(1),
            ahead: false,
        }
    }
}

impl<P: Partition> Partitioned<P> {
    /// Distinct keys in all partitions.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The partitions (made on first use), the key count, which the caller
    /// raises by the keys it adds, the threshold
    /// ([`with_threshold`](Self::with_threshold)), and whether partitions
    /// that grow grow fourfold at any size ([`grown_capacity`]'s `ahead`).
    pub(crate) fn parts_mut(&mut self) -> (&mut [P], &mut usize, u64, bool) {
        if self.parts.is_empty() {
            self.parts = vec![P::default(); PARTS];
        }
        (&mut self.parts, &mut self.len, self.threshold, self.ahead)
    }

    /// Whether the partitions grow fourfold at any size.
    #[cfg(test)]
    pub(crate) fn grows_ahead(&self) -> bool {
        self.ahead
    }

    /// Sets whether the partitions grow fourfold at any size, as a scan's
    /// [forecast](super::forecast) says.
    pub(crate) fn set_grow_ahead(&mut self, ahead: bool) {
        self.ahead = ahead;
    }

    /// How many keys each partition holds that were counted at least
    /// `min_count` times, in partition order, when the partitions keep
    /// that number: `min_count` is at most 1 or the table's threshold.
    pub(crate) fn kept_per_part(&self, min_count: u64) -> Option<Vec<usize>> {
        if min_count <= 1 {
            Some(self.parts.iter().map(P::len).collect())
        } else if min_count == self.threshold {
            Some(self.parts.iter().map(P::kept).collect())
        } else {
            None
        }
    }

    /// The partition of `hash`, unless the table is still empty.
    pub(crate) fn part(&self, hash: u64) -> Option<&P> {
        self.parts.get(part_of(hash))
    }

    /// Every partition, in order (none while the table is empty).
    pub(crate) fn parts(&self) -> &[P] {
        &self.parts
    }

    /// Hands the pages of every partition's slots to `spare`.
    pub(crate) fn give_pages(self, spare: &SparePages) {
        for part in self.parts {
            part.give_pages(spare);
        }
    }

    /// Adds every count of `other`, partition by partition in parallel.
    pub(crate) fn merge(&mut self, other: &Partitioned<P>) {
        if other.parts.is_empty() {
            return;
        }
        let (parts, len, threshold, _) = self.parts_mut();
        let added: usize = parts
            .par_iter_mut()
            .zip(&other.parts)
            .map(|(mine, theirs)| mine.merge(theirs, threshold))
            .sum();
        *len += added;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A linear-probing table of `slots` slots holding `hashes` (entries
    /// `(hash, i + 1)`; 0 marks an empty slot).
    fn table_of(hashes: &[u64], slots: usize) -> Vec<(u64, u64)> {
        let mut table = vec![(0, 0); slots];
        for (i, &h) in hashes.iter().enumerate() {
            let mut at = h as usize & (slots - 1);
            while table[at].1 != 0 {
                at = (at + 1) & (slots - 1);
            }
            table[at] = (h, i as u64 + 1);
        }
        table
    }

    /// Whether a probe from each entry's home reaches it before an empty
    /// slot, and the table holds `n` entries.
    fn every_entry_is_found(table: &[(u64, u64)], hashes: &[u64]) -> bool {
        let mask = table.len() - 1;
        let found = |i: usize| {
            let mut at = hashes[i] as usize & mask;
            while table[at].1 != 0 {
                if table[at] == (hashes[i], i as u64 + 1) {
                    return true;
                }
                at = (at + 1) & mask;
            }
            false
        };
        table.iter().filter(|s| s.1 != 0).count() == hashes.len() && (0..hashes.len()).all(found)
    }

    proptest::proptest! {
        /// A table grown two-, four- or eightfold and rehashed in place
        /// finds every entry, wherever the old one had put it; hashes near
        /// the table's end make clusters that wrap around it.
        #[test]
        fn a_table_rehashed_in_place_finds_every_entry(
            old_bits in 1u32..8,
            factor_bits in 1u32..4,
            seeds in proptest::collection::vec(proptest::prelude::any::<u64>(), 0..160),
            near_end in proptest::prelude::any::<bool>(),
        ) {
            let old = 1usize << old_bits;
            let grown = old << factor_bits;
            // At most 5/8 of the old table, as the count tables keep.
            let n = seeds.len().min(old * 5 / 8);
            let hashes: Vec<u64> = seeds[..n]
                .iter()
                .map(|&h| if near_end { h | (grown as u64 - 3) } else { h })
                .collect();
            let mut table = table_of(&hashes, old);
            proptest::prop_assert!(every_entry_is_found(&table, &hashes));
            table.resize(grown, (0, 0));
            rehash_grown(&mut table, old, |s| s.1 != 0, |s| s.0);
            proptest::prop_assert!(every_entry_is_found(&table, &hashes));
        }
    }

    #[test]
    fn entries_that_wrapped_past_the_end_are_found_after_growing() {
        // Eight slots grown to sixteen: three entries of home 15 (7 in the
        // old table, where the second and third wrapped to slots 0 and 1)
        // and one of home 0, which the wrapped ones pushed to slot 2. In
        // the grown table the second and third wrap again, past slot 15.
        let hashes = [15, 15, 15, 0];
        let mut table = table_of(&hashes, 8);
        assert_eq!(
            table.iter().map(|s| s.1).collect::<Vec<_>>(),
            [2, 3, 4, 0, 0, 0, 0, 1]
        );
        table.resize(16, (0, 0));
        rehash_grown(&mut table, 8, |s| s.1 != 0, |s| s.0);
        assert!(every_entry_is_found(&table, &hashes));
        assert_eq!(
            table.iter().map(|s| s.1).collect::<Vec<_>>()[..3],
            [2, 3, 4]
        );
        assert_eq!(table[15].1, 1);
    }

    #[test]
    fn tables_grow_fourfold_up_to_a_huge_page_then_as_needed() {
        // Up to a load of 5/8 nothing grows.
        assert_eq!(grown_capacity(10, 16, 32, false), None);
        assert_eq!(grown_capacity(1, 0, 32, false), Some(16));
        // Small: fourfold.
        assert_eq!(grown_capacity(11, 16, 32, false), Some(64));
        assert_eq!(grown_capacity(10_241, 16_384, 32, false), Some(65_536));
        // Fourfold would pass 2 MiB: twofold.
        assert_eq!(grown_capacity(40_961, 65_536, 32, false), Some(131_072));
        assert_eq!(grown_capacity(40_961, 65_536, 16, false), Some(131_072));
        // More keys at once than fourfold holds (a merge): as many as needed.
        assert_eq!(grown_capacity(100_000, 16, 32, false), Some(262_144));
        for (keys, slots, bytes) in [(11, 16, 32), (40_961, 65_536, 16), (100_000, 16, 32)] {
            let grown = grown_capacity(keys, slots, bytes, false).unwrap();
            assert!(grown.is_power_of_two() && keys * 8 <= grown * 5);
        }
        // Ahead of a forecast: fourfold past 2 MiB too, and never less
        // than needed.
        assert_eq!(grown_capacity(40_961, 65_536, 32, true), Some(262_144));
        assert_eq!(grown_capacity(100_000, 16, 32, true), Some(262_144));
        assert_eq!(grown_capacity(40_960, 65_536, 32, true), None);
    }
}
