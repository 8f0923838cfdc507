//! The count table of integer keys (`int` keys as their two's-complement
//! bits, `uint` keys as they are): open addressing over 16-byte slots
//! holding the key and its count (a count of 0 marks an empty slot), load at
//! most 5/8, counted in groups like [`BytesCounts`](super::BytesCounts) so
//! that the cache misses of a group overlap.

use super::bytes::GROUP;

/// Exact counts of 64-bit keys.
#[derive(Debug, Clone, Default)]
pub(crate) struct IntCounts {
    slots: Vec<(u64, u64)>,
    len: usize,
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
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    fn mask(&self) -> usize {
        self.slots.len().wrapping_sub(1)
    }

    /// Adds `n` (at least 1) occurrences of `key`.
    pub(crate) fn add(&mut self, key: u64, n: u64) {
        if (self.len + 1) * 8 > self.slots.len() * 5 {
            self.rebuild((self.slots.len() * 2).max(16));
        }
        let mask = self.mask();
        let mut at = mix(key) as usize & mask;
        loop {
            let (k, c) = &mut self.slots[at];
            if *c == 0 {
                *k = key;
                *c = n;
                self.len += 1;
                return;
            }
            if *k == key {
                *c += n;
                return;
            }
            at = (at + 1) & mask;
        }
    }

    /// Adds a group of (key, occurrences), at most [`GROUP`] of them.
    pub(crate) fn add_group(&mut self, group: &[(u64, u64)]) {
        if group.len() > GROUP {
            group.iter().for_each(|&(k, n)| self.add(k, n));
            return;
        }
        // Grow first, so that no insert of this group moves the slots.
        if (self.len + group.len()) * 8 > self.slots.len() * 5 {
            self.rebuild(
                ((self.len + group.len()) * 8)
                    .div_ceil(5)
                    .next_power_of_two()
                    .max(16),
            );
        }
        let mask = self.mask();
        let mut home = [0usize; GROUP];
        let mut seen = [(0u64, 0u64); GROUP];
        for (j, &(k, _)) in group.iter().enumerate() {
            home[j] = mix(k) as usize & mask;
            seen[j] = self.slots[home[j]];
        }
        for (j, &(k, n)) in group.iter().enumerate() {
            // A hit in the home slot (as loaded above, or updated since).
            if seen[j].1 != 0 && seen[j].0 == k {
                self.slots[home[j]].1 += n;
            } else {
                self.add(k, n);
            }
        }
    }

    // Deliberately not `vec![0; n]` (see the comment inside).
    #[allow(clippy::slow_vector_initialization)]
    fn rebuild(&mut self, capacity: usize) {
        // Written zeros: see `BytesCounts::rebuild`.
        let mut slots = Vec::with_capacity(capacity);
        slots.resize(capacity, (0u64, 0u64));
        let mask = capacity - 1;
        for &(k, c) in self.slots.iter().filter(|s| s.1 != 0) {
            let mut at = mix(k) as usize & mask;
            while slots[at].1 != 0 {
                at = (at + 1) & mask;
            }
            slots[at] = (k, c);
        }
        self.slots = slots;
    }

    /// The count of `key` (0 when never seen).
    pub(crate) fn get(&self, key: u64) -> u64 {
        if self.slots.is_empty() {
            return 0;
        }
        let mask = self.mask();
        let mut at = mix(key) as usize & mask;
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

    /// Adds every count of `other`.
    pub(crate) fn merge(&mut self, other: &IntCounts) {
        let needed = ((self.len + other.len) * 8).div_ceil(5).next_power_of_two();
        if needed > self.slots.len() {
            self.rebuild(needed);
        }
        let mut group = Vec::with_capacity(GROUP);
        for s in other.slots.iter().filter(|s| s.1 != 0) {
            group.push(*s);
            if group.len() == GROUP {
                self.add_group(&group);
                group.clear();
            }
        }
        self.add_group(&group);
    }

    /// Every key with its count, in table order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
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
}
