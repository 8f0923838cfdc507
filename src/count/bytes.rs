//! The count table of `bytes` keys: an open-addressing table built for
//! counting many keys at once.
//!
//! The table is [`Partitioned`]. In each partition, keys live in one arena, each behind its
//! length (u32 LE); `entries` holds each key's arena offset and count in
//! insertion order; `slots` (a power of two, load at most 5/8) holds
//! `tag << 32 | (1 + entry)`, the tag being the upper half of the key's
//! hash. Counting works on groups of keys: the home slots of a whole group
//! are loaded first, then the candidate entries, then the keys, so the cache
//! misses of a group overlap instead of queueing. Growing rehashes the arena
//! front to back (a sequential read).

use rayon::prelude::*;
use xxhash_rust::xxh3::xxh3_64;

use super::partitioned::{Partition, Partitioned, grown_capacity, part_of};
use crate::prefetch::prefetch;

/// Keys counted per group.
pub(crate) const GROUP: usize = 16;

#[derive(Debug, Clone, Copy)]
struct Entry {
    offset: usize,
    count: u64,
}

/// Exact counts of byte-string keys.
#[derive(Debug, Clone, Default)]
pub(crate) struct BytesCounts(Partitioned<Part>);

/// One partition: the keys whose hash has the partition's top bits.
#[derive(Debug, Clone, Default)]
struct Part {
    arena: Vec<u8>,
    entries: Vec<Entry>,
    slots: Vec<u64>,
}

/// The key stored at `offset` of the arena.
#[inline]
fn key_at(arena: &[u8], offset: usize) -> &[u8] {
    let mut len = [0u8; 4];
    len.copy_from_slice(&arena[offset..offset + 4]);
    let start = offset + 4;
    &arena[start..start + u32::from_le_bytes(len) as usize]
}

#[inline]
fn tag(hash: u64) -> u64 {
    hash & 0xffff_ffff_0000_0000
}

impl BytesCounts {
    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }

    /// Adds `n` occurrences of `key`.
    ///
    /// # Panics
    /// When a key is longer than 4 GiB (callers check: `Counts` refuses such
    /// values with an error), or a partition holds 2^32 keys.
    #[cfg(test)]
    pub(crate) fn add(&mut self, key: &[u8], n: u64) {
        self.add_group(&[(key, n)]);
    }

    /// Adds a group of (key, occurrences), at most [`GROUP`] of them.
    pub(crate) fn add_group(&mut self, group: &[(&[u8], u64)]) {
        if group.len() > GROUP {
            group.chunks(GROUP).for_each(|g| self.add_group(g));
            return;
        }
        self.add_hashed_group(group, &hashes_of(group));
    }

    /// Hashes a group of at most [`GROUP`] keys and starts loading their
    /// home slots, for [`add_hashed_group`](Self::add_hashed_group) to
    /// take next.
    pub(crate) fn hash_and_prefetch(&self, group: &[(&[u8], u64)]) -> [u64; GROUP] {
        let hashes = hashes_of(group);
        let parts = self.0.parts();
        if !parts.is_empty() {
            for &hash in &hashes[..group.len()] {
                let p = &parts[part_of(hash)];
                prefetch(&p.slots, hash as usize & p.mask());
            }
        }
        hashes
    }

    /// Adds a group of at most [`GROUP`] keys whose hashes
    /// [`hash_and_prefetch`](Self::hash_and_prefetch) gave.
    pub(crate) fn add_hashed_group(&mut self, group: &[(&[u8], u64)], hashes: &[u64; GROUP]) {
        let (parts, len) = self.0.parts_mut();
        *len += add_group_hashed(parts, part_of, group, hashes);
    }

    /// The count of `key` (0 when never seen).
    pub(crate) fn get(&self, key: &[u8]) -> u64 {
        let hash = xxh3_64(key);
        self.0.part(hash).map_or(0, |p| p.get(hash, key))
    }

    /// Adds every count of `other` (the larger table should be `self`),
    /// partition by partition in parallel.
    pub(crate) fn merge(&mut self, other: &BytesCounts) {
        self.0.merge(&other.0);
    }

    /// Every key with its count, partition by partition, in insertion order
    /// within a partition.
    #[cfg(test)]
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&[u8], u64)> {
        self.0.parts().iter().flat_map(Part::iter)
    }

    /// The partitions' keys and counts, one iterator per partition (for
    /// work on partitions in parallel).
    pub(crate) fn parts(
        &self,
    ) -> impl IndexedParallelIterator<Item = impl Iterator<Item = (&[u8], u64)>> {
        self.0.parts().par_iter().map(Part::iter)
    }
}

/// The hashes of a group of at most [`GROUP`] keys (0 past its end).
fn hashes_of(group: &[(&[u8], u64)]) -> [u64; GROUP] {
    let mut hashes = [0u64; GROUP];
    for (h, (k, _)) in hashes.iter_mut().zip(group) {
        *h = xxh3_64(k);
    }
    hashes
}

/// Adds a group of at most [`GROUP`] keys with their `hashes` to the
/// partitions `parts`, key `j` going to `parts[choose(hashes[j])]`; returns
/// how many keys were new.
fn add_group_hashed(
    parts: &mut [Part],
    choose: impl Fn(u64) -> usize,
    group: &[(&[u8], u64)],
    hashes: &[u64; GROUP],
) -> usize {
    debug_assert!(group.len() <= GROUP);
    let mut part = [0usize; GROUP];
    for j in 0..group.len() {
        part[j] = choose(hashes[j]);
        // Grow first, so that no insert of this group moves the slots.
        parts[part[j]].reserve(group.len());
    }
    // 1: the home slots.
    let mut home = [0u64; GROUP];
    for j in 0..group.len() {
        let p = &parts[part[j]];
        home[j] = p.slots[hashes[j] as usize & p.mask()];
    }
    // 2: the candidate entries.
    let mut offsets = [usize::MAX; GROUP];
    for j in 0..group.len() {
        let s = home[j];
        if s != 0 && tag(s) == tag(hashes[j]) {
            offsets[j] = parts[part[j]].entries[(s as u32 - 1) as usize].offset;
        }
    }
    // 3: compare, count; anything else takes the full path.
    let mut added = 0;
    for (j, (k, n)) in group.iter().enumerate() {
        let p = &mut parts[part[j]];
        if offsets[j] != usize::MAX && key_at(&p.arena, offsets[j]) == *k {
            p.entries[(home[j] as u32 - 1) as usize].count += n;
        } else {
            added += usize::from(p.add_hashed(hashes[j], k, *n));
        }
    }
    added
}

impl Part {
    fn mask(&self) -> usize {
        self.slots.len().wrapping_sub(1)
    }

    /// Makes room for `more` new keys without growing.
    #[inline]
    fn reserve(&mut self, more: usize) {
        if let Some(capacity) = grown_capacity(self.entries.len() + more, self.slots.len()) {
            self.rebuild(capacity);
        }
    }

    /// Adds `n` occurrences of `key`; whether it was new.
    fn add_hashed(&mut self, hash: u64, key: &[u8], n: u64) -> bool {
        self.reserve(1);
        let mask = self.mask();
        let mut at = hash as usize & mask;
        loop {
            let s = self.slots[at];
            if s == 0 {
                let len = u32::try_from(key.len()).expect("a key of at most 4 GiB");
                let index = u32::try_from(self.entries.len() + 1)
                    .expect("fewer than 2^32 keys per partition");
                self.slots[at] = tag(hash) | u64::from(index);
                self.entries.push(Entry {
                    offset: self.arena.len(),
                    count: n,
                });
                self.arena.extend_from_slice(&len.to_le_bytes());
                self.arena.extend_from_slice(key);
                return true;
            }
            if tag(s) == tag(hash) {
                let e = (s as u32 - 1) as usize;
                if key_at(&self.arena, self.entries[e].offset) == key {
                    self.entries[e].count += n;
                    return false;
                }
            }
            at = (at + 1) & mask;
        }
    }

    // Deliberately not `vec![0; n]` (see the comment inside).
    #[allow(clippy::slow_vector_initialization)]
    fn rebuild(&mut self, capacity: usize) {
        // Written zeros, not `vec![0; n]`: calloc's lazily zeroed pages are
        // first mapped to the shared zero page on a read and copied on the
        // first write, and each copy flushes the TLB of every thread.
        let mut slots = Vec::with_capacity(capacity);
        slots.resize(capacity, 0u64);
        let mask = capacity - 1;
        for (i, e) in self.entries.iter().enumerate() {
            let hash = xxh3_64(key_at(&self.arena, e.offset));
            let mut at = hash as usize & mask;
            while slots[at] != 0 {
                at = (at + 1) & mask;
            }
            slots[at] = tag(hash) | (i as u64 + 1);
        }
        self.slots = slots;
    }

    fn get(&self, hash: u64, key: &[u8]) -> u64 {
        if self.slots.is_empty() {
            return 0;
        }
        let mask = self.mask();
        let mut at = hash as usize & mask;
        loop {
            let s = self.slots[at];
            if s == 0 {
                return 0;
            }
            let e = self.entries[(s as u32 - 1) as usize];
            if tag(s) == tag(hash) && key_at(&self.arena, e.offset) == key {
                return e.count;
            }
            at = (at + 1) & mask;
        }
    }
}

impl Partition for Part {
    fn merge(&mut self, other: &Part) -> usize {
        self.reserve(other.entries.len());
        self.arena.reserve(other.arena.len());
        let mut added = 0;
        let mut group: Vec<(&[u8], u64)> = Vec::with_capacity(GROUP);
        let mut hashes = [0u64; GROUP];
        for (k, n) in other.iter() {
            hashes[group.len()] = xxh3_64(k);
            group.push((k, n));
            if group.len() == GROUP {
                added += add_group_hashed(std::slice::from_mut(self), |_| 0, &group, &hashes);
                group.clear();
            }
        }
        added + add_group_hashed(std::slice::from_mut(self), |_| 0, &group, &hashes)
    }
}

impl Part {
    fn iter(&self) -> impl Iterator<Item = (&[u8], u64)> {
        self.entries
            .iter()
            .map(|e| (key_at(&self.arena, e.offset), e.count))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adds_merges_and_gets() {
        let mut a = BytesCounts::default();
        for k in ["x", "y", "x", "", "x"] {
            a.add(k.as_bytes(), 1);
        }
        let mut b = BytesCounts::default();
        b.add(b"y", 5);
        b.add(b"z", 2);
        a.merge(&b);
        assert_eq!(
            (
                a.get(b"x"),
                a.get(b"y"),
                a.get(b"z"),
                a.get(b""),
                a.get(b"w")
            ),
            (3, 6, 2, 1, 0)
        );
        assert_eq!(a.len(), 4);
        let mut all: Vec<(Vec<u8>, u64)> = a.iter().map(|(k, n)| (k.to_vec(), n)).collect();
        all.sort();
        assert_eq!(
            all,
            vec![
                (vec![], 1),
                (b"x".to_vec(), 3),
                (b"y".to_vec(), 6),
                (b"z".to_vec(), 2)
            ]
        );
    }

    #[test]
    fn groups_count_like_single_adds_through_growth() {
        let keys: Vec<String> = (0..20_000)
            .map(|i| format!("k{}", (i * 7919) % 5003))
            .collect();
        let mut single = BytesCounts::default();
        let mut grouped = BytesCounts::default();
        for chunk in keys.chunks(GROUP) {
            let group: Vec<(&[u8], u64)> = chunk.iter().map(|k| (k.as_bytes(), 2)).collect();
            grouped.add_group(&group);
            chunk.iter().for_each(|k| single.add(k.as_bytes(), 2));
        }
        assert_eq!(single.len(), grouped.len());
        for (k, n) in single.iter() {
            assert_eq!(grouped.get(k), n);
        }
    }
}
