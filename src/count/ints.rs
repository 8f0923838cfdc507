//! The count table of integer keys (`int` keys as their two's-complement
//! bits, `uint` keys as they are): open addressing over 16-byte slots
//! holding the key and its count (a count of 0 marks an empty slot), load at
//! most 5/8, [`Partitioned`] and counted in groups like
//! [`BytesCounts`](super::BytesCounts), so that growing stays in cache, the
//! cache misses of a group overlap, and tables merge partition by partition.

use rayon::prelude::*;

use super::bytes::{GROUP, PREFETCHED_SLOTS};
use super::partitioned::{Partition, Partitioned, grow_in_place, part_of};
use crate::prefetch::prefetch_run;
use crate::zeroed::{SparePages, Zeroed};

/// Exact counts of 64-bit keys.
#[derive(Debug, Clone, Default)]
pub(crate) struct IntCounts(Partitioned<Part>);

/// One partition: the keys whose hash has the partition's top bits.
#[derive(Debug, Clone, Default)]
struct Part {
    slots: Zeroed<(u64, u64)>,
    len: usize,
    /// Keys counted at least the table's threshold times.
    kept: usize,
}

/// A cheap, well-mixed hash of a key (in-memory only, never persisted).
#[inline]
fn mix(key: u64) -> u64 {
    let mut h = key ^ (key >> 33);
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

impl IntCounts {
    /// Hands the pages of the table's slots to `spare`.
    pub(crate) fn give_pages(self, spare: &SparePages) {
        self.0.give_pages(spare)
    }

    /// Sets whether the table grows fourfold at any size (see
    /// [`Partitioned::set_grow_ahead`]).
    pub(crate) fn set_grow_ahead(&mut self, ahead: bool) {
        self.0.set_grow_ahead(ahead)
    }

    /// An empty table that tells how many keys each partition counted at
    /// least `threshold` times ([`kept_per_part`](Self::kept_per_part)).
    pub(crate) fn with_threshold(threshold: u64) -> IntCounts {
        IntCounts(Partitioned::with_threshold(threshold))
    }

    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }

    /// How many keys of each partition ([`parts`](Self::parts)) were
    /// counted at least `min_count` times, when the table keeps that
    /// number (see [`Partitioned::kept_per_part`]).
    pub(crate) fn kept_per_part(&self, min_count: u64) -> Option<Vec<usize>> {
        self.0.kept_per_part(min_count)
    }

    /// Adds `n` (at least 1) occurrences of `key`.
    #[cfg(test)]
    pub(crate) fn add(&mut self, key: u64, n: u64) {
        self.add_group(&[(key, n)]);
    }

    /// Adds a group of (key, occurrences), at most [`GROUP`] of them.
    pub(crate) fn add_group(&mut self, group: &[(u64, u64)]) {
        if group.len() > GROUP {
            group.chunks(GROUP).for_each(|g| self.add_group(g));
            return;
        }
        let (parts, len, threshold, ahead) = self.0.parts_mut();
        *len += add_group_hashed(parts, part_of, group, threshold, ahead);
    }

    /// Starts loading the home slots of a group that
    /// [`add_group`](Self::add_group) will take next, with the slots after
    /// them ([`PREFETCHED_SLOTS`]: on the benchmark's `user_id`, 26.2-26.7
    /// ns per row with the home slot alone, 24.3-24.6 with the next too,
    /// 23.2-24.2 with two more).
    pub(crate) fn prefetch_group(&self, group: &[(u64, u64)]) {
        let parts = self.0.parts();
        if parts.is_empty() {
            return;
        }
        for &(k, _) in group {
            let hash = mix(k);
            let p = &parts[part_of(hash)];
            prefetch_run(&p.slots, hash as usize & p.mask(), PREFETCHED_SLOTS);
        }
    }

    /// The count of `key` (0 when never seen).
    pub(crate) fn get(&self, key: u64) -> u64 {
        let hash = mix(key);
        self.0.part(hash).map_or(0, |p| p.get(hash, key))
    }

    /// Adds every count of `other`, partition by partition in parallel.
    pub(crate) fn merge(&mut self, other: &IntCounts) {
        self.0.merge(&other.0);
    }

    /// Every key with its count, in table order.
    #[cfg(test)]
    pub(crate) fn iter(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        self.0.parts().iter().flat_map(Part::iter)
    }

    /// The partitions' keys and counts, one iterator per partition (for
    /// work on partitions in parallel).
    pub(crate) fn parts(
        &self,
    ) -> impl IndexedParallelIterator<Item = impl Iterator<Item = (u64, u64)> + Clone + Sync + '_>
    {
        self.0.parts().par_iter().map(Part::iter)
    }
}

/// Adds a group of at most [`GROUP`] keys to the partitions `parts`, key `k`
/// going to `parts[choose(mix(k))]`; returns how many keys were new.
/// `threshold` and `ahead` are the table's ([`Partitioned::parts_mut`]).
fn add_group_hashed(
    parts: &mut [Part],
    choose: impl Fn(u64) -> usize,
    group: &[(u64, u64)],
    threshold: u64,
    ahead: bool,
) -> usize {
    debug_assert!(group.len() <= GROUP);
    let mut hashes = [0u64; GROUP];
    let mut part = [0usize; GROUP];
    for (j, &(k, _)) in group.iter().enumerate() {
        hashes[j] = mix(k);
        part[j] = choose(hashes[j]);
        // Grow first, so that no insert of this group moves the slots.
        parts[part[j]].reserve(group.len(), ahead);
    }
    let mut home = [0usize; GROUP];
    let mut seen = [(0u64, 0u64); GROUP];
    for j in 0..group.len() {
        let p = &parts[part[j]];
        home[j] = hashes[j] as usize & p.mask();
        seen[j] = p.slots[home[j]];
    }
    let mut added = 0;
    for (j, &(k, n)) in group.iter().enumerate() {
        let p = &mut parts[part[j]];
        // A hit in the home slot (as loaded above, or updated since).
        if seen[j].1 != 0 && seen[j].0 == k {
            let count = &mut p.slots[home[j]].1;
            let before = *count;
            *count += n;
            p.kept += usize::from(before < threshold && *count >= threshold);
        } else {
            added += usize::from(p.add_hashed(hashes[j], k, n, threshold, ahead));
        }
    }
    added
}

impl Part {
    fn mask(&self) -> usize {
        self.slots.len().wrapping_sub(1)
    }

    /// Adds `n` (at least 1) occurrences of `key`; whether it was new.
    /// Counts the key as kept when its count reaches `threshold`; `ahead`
    /// as for [`Partition::reserve`].
    fn add_hashed(&mut self, hash: u64, key: u64, n: u64, threshold: u64, ahead: bool) -> bool {
        self.reserve(1, ahead);
        let mask = self.mask();
        let mut at = hash as usize & mask;
        loop {
            let (k, c) = &mut self.slots[at];
            if *c == 0 || *k == key {
                let (before, new) = (*c, *c == 0);
                *k = key;
                *c += n;
                self.len += usize::from(new);
                self.kept += usize::from(before < threshold && *c >= threshold);
                return new;
            }
            at = (at + 1) & mask;
        }
    }

    fn get(&self, hash: u64, key: u64) -> u64 {
        if self.slots.is_empty() {
            return 0;
        }
        let mask = self.mask();
        let mut at = hash as usize & mask;
        loop {
            let (k, c) = self.slots[at];
            if c == 0 {
                return 0;
            }
            if k == key {
                return c;
            }
            at = (at + 1) & mask;
        }
    }
}

impl Partition for Part {
    fn give_pages(self, spare: &SparePages) {
        spare.keep(self.slots);
    }

    const SLOT_BYTES: usize = size_of::<(u64, u64)>();

    fn capacity(&self) -> usize {
        self.slots.len()
    }

    fn rebuild(&mut self, capacity: usize) {
        grow_in_place(&mut self.slots, capacity, |s| s.1 != 0, |s| mix(s.0));
    }

    fn len(&self) -> usize {
        self.len
    }

    fn kept(&self) -> usize {
        self.kept
    }

    fn merge(&mut self, other: &Part, threshold: u64) -> usize {
        // No reserving for all of `other`'s keys: see the bytes table.
        let mut added = 0;
        let mut group = Vec::with_capacity(GROUP);
        for s in other.iter() {
            group.push(s);
            if group.len() == GROUP {
                added +=
                    add_group_hashed(std::slice::from_mut(self), |_| 0, &group, threshold, false);
                group.clear();
            }
        }
        added + add_group_hashed(std::slice::from_mut(self), |_| 0, &group, threshold, false)
    }
}

impl Part {
    fn iter(&self) -> impl Iterator<Item = (u64, u64)> + Clone + Sync + '_ {
        self.slots.iter().copied().filter(|s| s.1 != 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_singles_and_merges_agree() {
        let keys: Vec<u64> = (0..30_000u64)
            .map(|i| (i * 7919) % 4001)
            .chain([0, u64::MAX])
            .collect();
        let mut a = IntCounts::default();
        let mut b = IntCounts::default();
        for chunk in keys.chunks(GROUP) {
            let group: Vec<(u64, u64)> = chunk.iter().map(|&k| (k, 1)).collect();
            a.add_group(&group);
        }
        keys.iter().for_each(|&k| b.add(k, 1));
        assert_eq!(a.len(), b.len());
        for (k, n) in b.iter() {
            assert_eq!(a.get(k), n);
        }
        a.merge(&b);
        assert_eq!(a.get(0), 2 * b.get(0));
        assert_eq!(a.get(u64::MAX), 2);
        assert_eq!(a.get(123_456_789), 0);
    }

    proptest::proptest! {
        /// Each partition's kept count matches its slots after group adds
        /// (hits in the home slot and past it), growth and a merge.
        #[test]
        fn partitions_count_the_keys_they_keep(
            adds in proptest::collection::vec((0u64..3000, 1u64..4), 0..6000),
            merged in proptest::collection::vec((0u64..3000, 1u64..4), 0..3000),
            threshold in 1u64..6,
        ) {
            let fill = |adds: &[(u64, u64)]| {
                let mut table = IntCounts::with_threshold(threshold);
                adds.chunks(GROUP).for_each(|g| table.add_group(g));
                table
            };
            let mut table = fill(&adds);
            table.merge(&fill(&merged));
            let in_slots = |min: u64| -> Vec<usize> {
                table.parts().map(|p| p.filter(|e| e.1 >= min).count()).collect()
            };
            proptest::prop_assert_eq!(table.kept_per_part(threshold), Some(in_slots(threshold)));
            proptest::prop_assert_eq!(table.kept_per_part(0), Some(in_slots(1)));
            proptest::prop_assert_eq!(table.kept_per_part(threshold + 1), None);
        }
    }

    #[test]
    fn a_partition_grown_past_a_huge_page_keeps_every_key() {
        // 90,000 keys need 262,144 slots (4 MiB): mapped, not on the heap.
        let mut part = Part::default();
        for k in 0..90_000u64 {
            part.add_hashed(mix(k), k, k + 1, 1, false);
        }
        assert_eq!(format!("{:?}", part.slots), "Zeroed(262144 mapped)");
        let copy = part.clone();
        drop(part);
        assert_eq!(copy.len, 90_000);
        assert!((0..90_000u64).all(|k| copy.get(mix(k), k) == k + 1));
        assert_eq!(copy.get(mix(90_000), 90_000), 0);
    }
}
