//! The count table of `bytes` keys: an open-addressing table built for
//! counting many keys at once.
//!
//! The table is [`Partitioned`]. Each partition is one array of 20-byte
//! [`Slot`]s (a power of two of them, load at most 5/8) probed linearly. A
//! slot holds the key's count and length in one 32-bit word, and the key
//! itself when it is at most [`INLINE`] bytes long (most ids are), so that
//! a probe for such a key touches one or two cache lines, which the count
//! kernel prefetches a group before it probes, with those of the next slots
//! ([`PREFETCHED_SLOTS`]). A longer key lives in the partition's arena and the
//! slot holds its offset, length and 32 bits of its hash; the kernel
//! prefetches the key too once the slot is in cache. Growing rehashes one
//! partition in place, from its slots (and the arena, for long keys).
//!
//! The slots are what a table costs in memory, and fresh memory is much of
//! what counting costs (see `docs/BENCHMARKS.md`): on the benchmark, 20-byte
//! slots instead of 24 take `item_id`'s table from 201 to 168 MB.
//!
//! A slot counts up to 2^26 - 1 occurrences. A key counted past that (a
//! hot key of billions of rows, or merged counts) spills: what its slot
//! counted moves to the partition's overflow map, the slot starts again
//! from 0 and is marked [`SPILLED`], and its count is the two added. A
//! slot spills once per 2^26 occurrences, so a hot key is still counted in
//! its slot.

use rayon::prelude::*;
use std::collections::HashMap;
use xxhash_rust::xxh3::xxh3_64;

use super::partitioned::{Partition, Partitioned, grow_in_place, part_of};
use crate::prefetch::{prefetch, prefetch_run};
use crate::zeroed::{SparePages, Zeroable, Zeroed};

/// Keys counted per group.
pub(crate) const GROUP: usize = 16;

/// Slots loaded ahead of a probe from its home slot on: the home slot and
/// the two after it, which a probe reads whenever the home slot holds
/// another key (at a load of 5/8, often; an insert probes ~3.6 slots on
/// average at that load). On the benchmark's `item_id` column, one thread
/// (`count_column`): 48 ns per row with the home slot alone, 44.5 with the
/// next too (on the project's first VM); on its current one, 46.7-46.8
/// with two slots and 45.2-46.0 with three, and `build` went from 1.598x
/// to 1.573x the bare read (8 alternating rounds, 7 faster).
pub(super) const PREFETCHED_SLOTS: usize = 3;

/// The longest key stored in its slot; longer keys go to the arena.
const INLINE: usize = 16;

/// One slot of a partition.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
#[repr(C)]
struct Slot {
    /// From the top: the key's length (5 bits, [`LEN_SHIFT`]; [`LONG`] for
    /// a key in the arena), whether it [`SPILLED`], and its count since it
    /// last spilled (26 bits, [`COUNT_MASK`]); 0 marks an empty slot.
    meta: u32,
    /// A key of at most [`INLINE`] bytes, zero-padded; for a longer key,
    /// its offset in the arena, its length and 32 more bits of its hash
    /// (little-endian: 8, 4 and 4 bytes).
    key: [u8; INLINE],
}

/// The count bits of [`Slot::meta`].
const COUNT_MASK: u32 = (1 << 26) - 1;

/// The bit of [`Slot::meta`] set once a key's count has spilled: the rest
/// of its count is in its partition's overflow map, and is more than
/// [`COUNT_MASK`].
const SPILLED: u32 = 1 << 26;

/// Where the length starts in [`Slot::meta`].
const LEN_SHIFT: u32 = 27;

/// The length in [`Slot::meta`] of a key kept in the arena.
const LONG: u32 = 0x1f;

// SAFETY: an integer and bytes, 20 bytes with no padding; zero is the
// default (an empty slot).
#[allow(unsafe_code)]
unsafe impl Zeroable for Slot {}

/// Exact counts of byte-string keys.
#[derive(Debug, Clone, Default)]
pub(crate) struct BytesCounts(Partitioned<Part>);

/// One partition: the keys whose hash has the partition's top bits.
#[derive(Debug, Clone, Default)]
struct Part {
    slots: Zeroed<Slot>,
    /// Keys longer than [`INLINE`] bytes, one after the other.
    arena: Vec<u8>,
    /// What the slots of [`SPILLED`] keys counted before they spilled.
    overflow: HashMap<Box<[u8]>, u64>,
    len: usize,
    /// Keys counted at least the table's threshold times.
    kept: usize,
}

/// A key ready to probe with: its slot's length bits, and its slot form.
#[derive(Debug, Clone, Copy)]
struct Probe<'k> {
    hash: u64,
    /// The length bits of [`Slot::meta`].
    head: u32,
    key: &'k [u8],
    /// The key zero-padded when it is short enough to live in a slot, else
    /// its slot form without the arena offset (length and hash bits).
    slot_key: [u8; INLINE],
}

impl<'k> Probe<'k> {
    /// # Panics
    /// When `key` is longer than 4 GiB (callers check: `Counts` refuses such
    /// values with an error).
    #[inline]
    fn new(hash: u64, key: &'k [u8]) -> Probe<'k> {
        let slot_key = if key.len() <= INLINE {
            crate::keys::padded_prefix(key)
        } else {
            let mut slot_key = [0u8; INLINE];
            slot_key[8..].copy_from_slice(&long_key_tail(hash, key.len()));
            slot_key
        };
        Probe {
            hash,
            head: head_of(key.len()),
            key,
            slot_key,
        }
    }

    fn is_short(&self) -> bool {
        self.key.len() <= INLINE
    }
}

impl BytesCounts {
    /// Hands the pages of the table's slots to `spare`.
    pub(crate) fn give_pages(self, spare: &SparePages) {
        self.0.give_pages(spare)
    }

    /// Whether the table grows fourfold at any size.
    #[cfg(test)]
    pub(crate) fn grows_ahead(&self) -> bool {
        self.0.grows_ahead()
    }

    /// Sets whether the table grows fourfold at any size (see
    /// [`Partitioned::set_grow_ahead`]).
    pub(crate) fn set_grow_ahead(&mut self, ahead: bool) {
        self.0.set_grow_ahead(ahead)
    }

    /// An empty table that tells how many keys each partition counted at
    /// least `threshold` times ([`kept_per_part`](Self::kept_per_part)).
    pub(crate) fn with_threshold(threshold: u64) -> BytesCounts {
        BytesCounts(Partitioned::with_threshold(threshold))
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

    /// Adds `n` occurrences of `key`.
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
    /// take later.
    pub(crate) fn hash_and_prefetch(&self, group: &[(&[u8], u64)]) -> [u64; GROUP] {
        let hashes = hashes_of(group);
        let parts = self.0.parts();
        if !parts.is_empty() {
            for &hash in &hashes[..group.len()] {
                let p = &parts[part_of(hash)];
                prefetch_run(&p.slots, hash as usize & p.mask(), PREFETCHED_SLOTS);
            }
        }
        hashes
    }

    /// Starts loading the arena keys of a group that
    /// [`hash_and_prefetch`](Self::hash_and_prefetch) prepared, once its
    /// home slots are in cache: for each long key whose home slot holds a
    /// long key of the same length and hash bits, that key.
    pub(crate) fn prefetch_long_keys(&self, group: &[(&[u8], u64)], hashes: &[u64; GROUP]) {
        let parts = self.0.parts();
        if parts.is_empty() {
            return;
        }
        for (&(key, _), &hash) in group.iter().zip(hashes) {
            if key.len() <= INLINE {
                continue;
            }
            let p = &parts[part_of(hash)];
            if let Some(s) = p.slots.get(hash as usize & p.mask()) {
                if head(s) == head_of(key.len()) && s.key[8..] == long_key_tail(hash, key.len()) {
                    prefetch(&p.arena, arena_offset(s));
                }
            }
        }
    }

    /// Adds a group of at most [`GROUP`] keys whose hashes
    /// [`hash_and_prefetch`](Self::hash_and_prefetch) gave.
    pub(crate) fn add_hashed_group(&mut self, group: &[(&[u8], u64)], hashes: &[u64; GROUP]) {
        let (parts, len, threshold, ahead) = self.0.parts_mut();
        for (&(key, n), &hash) in group.iter().zip(hashes) {
            let probe = Probe::new(hash, key);
            *len += usize::from(parts[part_of(hash)].add(probe, n, threshold, ahead));
        }
    }

    /// The count of `key` (0 when never seen).
    pub(crate) fn get(&self, key: &[u8]) -> u64 {
        let hash = xxh3_64(key);
        self.0
            .part(hash)
            .map_or(0, |p| p.get(Probe::new(hash, key)))
    }

    /// Adds every count of `other` (the larger table should be `self`),
    /// partition by partition in parallel.
    pub(crate) fn merge(&mut self, other: &BytesCounts) {
        self.0.merge(&other.0);
    }

    /// Every key with its count, partition by partition, in slot order
    /// within a partition.
    #[cfg(test)]
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&[u8], u64)> {
        self.0.parts().iter().flat_map(Part::iter)
    }

    /// The partitions' keys and counts, one iterator per partition (for
    /// work on partitions in parallel).
    pub(crate) fn parts(
        &self,
    ) -> impl IndexedParallelIterator<Item = impl Iterator<Item = (&[u8], u64)> + Clone + Sync>
    {
        self.parts_at_least(1)
    }

    /// [`parts`](Self::parts), each with only the keys counted at least
    /// `min_count` times.
    pub(crate) fn parts_at_least(
        &self,
        min_count: u64,
    ) -> impl IndexedParallelIterator<Item = impl Iterator<Item = (&[u8], u64)> + Clone + Sync>
    {
        self.0
            .parts()
            .par_iter()
            .map(move |p| p.iter_at_least(min_count))
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

/// The last 8 bytes of the slot of a key longer than [`INLINE`] bytes:
/// its length and 32 bits of its hash (the first 8 are its arena offset).
///
/// # Panics
/// When `len` is over 4 GiB (callers check: `Counts` refuses such values
/// with an error).
#[inline]
fn long_key_tail(hash: u64, len: usize) -> [u8; 8] {
    let len = u32::try_from(len).expect("a key of at most 4 GiB");
    let mut tail = [0u8; 8];
    tail[..4].copy_from_slice(&len.to_le_bytes());
    tail[4..].copy_from_slice(&((hash >> 16) as u32).to_le_bytes());
    tail
}

/// The length bits of [`Slot::meta`] for a key of `len` bytes.
#[inline]
fn head_of(len: usize) -> u32 {
    let len_bits = if len <= INLINE { len as u32 } else { LONG };
    len_bits << LEN_SHIFT
}

/// The length bits of slot `s`.
#[inline]
fn head(s: &Slot) -> u32 {
    s.meta & !(SPILLED | COUNT_MASK)
}

/// The length of the key in slot `s`.
#[inline]
fn key_len(s: &Slot) -> usize {
    match s.meta >> LEN_SHIFT {
        LONG => {
            let mut len = [0u8; 4];
            len.copy_from_slice(&s.key[8..12]);
            u32::from_le_bytes(len) as usize
        }
        short => short as usize,
    }
}

/// The arena offset of the long key in slot `s`.
#[inline]
fn arena_offset(s: &Slot) -> usize {
    let mut offset = [0u8; 8];
    offset.copy_from_slice(&s.key[..8]);
    u64::from_le_bytes(offset) as usize
}

/// The key in slot `s` of a partition whose arena is `arena`.
#[inline]
fn key_in<'a>(arena: &'a [u8], s: &'a Slot) -> &'a [u8] {
    let len = key_len(s);
    if len <= INLINE {
        &s.key[..len]
    } else {
        let start = arena_offset(s);
        &arena[start..start + len]
    }
}

impl Part {
    fn mask(&self) -> usize {
        self.slots.len().wrapping_sub(1)
    }

    /// The key in slot `s` of this partition.
    #[inline]
    fn key<'a>(&'a self, s: &'a Slot) -> &'a [u8] {
        key_in(&self.arena, s)
    }

    /// Whether slot `s` (not empty) holds the key of `probe`.
    #[inline(always)]
    fn holds(&self, s: &Slot, probe: &Probe) -> bool {
        head(s) == probe.head
            && if probe.is_short() {
                s.key == probe.slot_key
            } else {
                s.key[8..] == probe.slot_key[8..] && self.key(s) == probe.key
            }
    }

    /// What the key in slot `s` (not empty) counted before it spilled.
    #[inline]
    fn spilled(&self, s: &Slot) -> u64 {
        if s.meta & SPILLED == 0 {
            0
        } else {
            self.overflow[self.key(s)]
        }
    }

    /// The count of the key in slot `s` (not empty).
    #[inline]
    fn count(&self, s: &Slot) -> u64 {
        u64::from(s.meta & COUNT_MASK).saturating_add(self.spilled(s))
    }

    /// Adds `n` occurrences to the key in slot `at` (not empty), and
    /// counts it as kept when its count reaches `threshold`.
    #[inline(always)]
    fn add_at(&mut self, at: usize, n: u64, threshold: u64) {
        let meta = self.slots[at].meta;
        let count = u64::from(meta & COUNT_MASK);
        if meta & SPILLED == 0 && n <= u64::from(COUNT_MASK) - count {
            // The common case: a key that never spilled, and no carry.
            self.slots[at].meta = meta + n as u32;
            self.kept += usize::from(count < threshold && count + n >= threshold);
        } else {
            self.add_at_rarely(at, n, threshold);
        }
    }

    /// [`add_at`](Self::add_at) for a key that spilled, or spills now.
    #[cold]
    #[inline(never)]
    fn add_at_rarely(&mut self, at: usize, n: u64, threshold: u64) {
        let s = &mut self.slots[at];
        let count = u64::from(s.meta & COUNT_MASK);
        let sum = count.saturating_add(n);
        if sum <= u64::from(COUNT_MASK) {
            // No carry: the sum fits the count bits.
            s.meta += n as u32;
            let spilled = s.meta & SPILLED != 0;
            // A spilled key counted more than COUNT_MASK, which a
            // threshold up to that has kept already.
            if !spilled {
                self.kept += usize::from(count < threshold && sum >= threshold);
            } else if threshold > u64::from(COUNT_MASK) {
                let before = self.spilled(&self.slots[at]).saturating_add(count);
                let after = before.saturating_add(n);
                self.kept += usize::from(before < threshold && after >= threshold);
            }
        } else {
            // Past what a slot counts: the slot's count spills into the
            // overflow map, and the slot starts again from 0.
            let slot = *s;
            s.meta = head(&slot) | SPILLED;
            let key: Box<[u8]> = self.key(&slot).into();
            let total = self.overflow.entry(key).or_insert(0);
            let before = total.saturating_add(count);
            *total = before.saturating_add(n);
            self.kept += usize::from(before < threshold && *total >= threshold);
        }
    }

    /// Adds `n` occurrences of the key of `probe`; whether it was new.
    /// `threshold` is the table's (see [`add_at`](Self::add_at)), and so
    /// is `ahead` (see [`Partition::reserve`]).
    #[inline(always)]
    fn add(&mut self, probe: Probe, n: u64, threshold: u64, ahead: bool) -> bool {
        self.reserve(1, ahead);
        let slots: &[Slot] = &self.slots;
        let mask = slots.len() - 1;
        let mut at = probe.hash as usize & mask;
        loop {
            let s = &slots[at];
            if s.meta == 0 {
                break;
            }
            if self.holds(s, &probe) {
                self.add_at(at, n, threshold);
                return false;
            }
            at = (at + 1) & mask;
        }
        let mut key = probe.slot_key;
        if !probe.is_short() {
            key[..8].copy_from_slice(&(self.arena.len() as u64).to_le_bytes());
            self.arena.extend_from_slice(probe.key);
        }
        // Placed with a count of 0 (a slot is empty only while its whole
        // word is 0), then counted.
        self.slots[at] = Slot {
            meta: probe.head,
            key,
        };
        self.add_at(at, n, threshold);
        self.len += 1;
        true
    }

    fn get(&self, probe: Probe) -> u64 {
        if self.slots.is_empty() {
            return 0;
        }
        let mask = self.mask();
        let mut at = probe.hash as usize & mask;
        loop {
            let s = &self.slots[at];
            if s.meta == 0 {
                return 0;
            }
            if self.holds(s, &probe) {
                return self.count(s);
            }
            at = (at + 1) & mask;
        }
    }

    fn iter(&self) -> impl Iterator<Item = (&[u8], u64)> + Clone + Sync {
        self.iter_at_least(1)
    }

    /// The keys counted at least `min_count` times (every key when it is
    /// 0), with their counts. A slot's count bits are its whole count
    /// unless it spilled, and at least 1 when it holds a key (0 marks an
    /// empty slot): most slots are passed over on them alone, without
    /// reading their keys.
    fn iter_at_least(&self, min_count: u64) -> impl Iterator<Item = (&[u8], u64)> + Clone + Sync {
        let least = min_count.max(1);
        self.slots
            .iter()
            .filter(move |s| u64::from(s.meta & COUNT_MASK) >= least || s.meta & SPILLED != 0)
            .map(|s| (self.key(s), self.count(s)))
            .filter(move |(_, n)| *n >= least)
    }
}

impl Partition for Part {
    fn give_pages(self, spare: &SparePages) {
        spare.keep(self.slots);
    }

    const SLOT_BYTES: usize = size_of::<Slot>();

    fn capacity(&self) -> usize {
        self.slots.len()
    }

    fn rebuild(&mut self, capacity: usize) {
        let arena = &self.arena;
        let hash = |s: &Slot| xxh3_64(key_in(arena, s));
        grow_in_place(&mut self.slots, capacity, |s| s.meta != 0, hash);
    }

    fn len(&self) -> usize {
        self.len
    }

    fn kept(&self) -> usize {
        self.kept
    }

    fn merge(&mut self, other: &Part, threshold: u64) -> usize {
        // No reserving for all of `other`'s keys up front: many are
        // usually in `self` already, and a needless doubling of a table
        // costs more than the rehash when one is needed.
        // The keys go through a window of two groups: each key's home slot
        // is prefetched when it enters, and the older group is added when
        // the newer one is full.
        let mut added = 0;
        let mut window: Vec<(Probe, u64)> = Vec::with_capacity(2 * GROUP);
        for (key, n) in other.iter() {
            let probe = Probe::new(xxh3_64(key), key);
            prefetch_run(
                &self.slots,
                probe.hash as usize & self.mask(),
                PREFETCHED_SLOTS,
            );
            window.push((probe, n));
            if window.len() == 2 * GROUP {
                for (probe, n) in window.drain(..GROUP) {
                    added += usize::from(self.add(probe, n, threshold, false));
                }
            }
        }
        for (probe, n) in window {
            added += usize::from(self.add(probe, n, threshold, false));
        }
        added
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
    fn short_and_long_keys_with_zero_bytes_stay_apart() {
        // Keys of every length around INLINE, and keys that differ only by
        // trailing zero bytes (an inline key is zero-padded).
        let mut keys: Vec<Vec<u8>> = (0..=2 * INLINE + 1).map(|n| vec![7u8; n]).collect();
        keys.extend((1..=INLINE + 1).map(|n| vec![0u8; n]));
        keys.extend((0..=INLINE + 1).map(|n| [b"a".as_slice(), &vec![0u8; n]].concat()));
        keys.push(vec![b'x'; 100_000]);
        let mut table = BytesCounts::default();
        let mut other = BytesCounts::default();
        for (i, k) in keys.iter().enumerate() {
            for _ in 0..=i {
                table.add(k, 1);
            }
            other.add(k, 1000);
        }
        assert_eq!(table.len(), keys.len());
        for (i, k) in keys.iter().enumerate() {
            assert_eq!(table.get(k), i as u64 + 1, "key of {} bytes", k.len());
        }
        other.merge(&table);
        for (i, k) in keys.iter().enumerate() {
            assert_eq!(
                other.get(k),
                1001 + i as u64,
                "merged key of {} bytes",
                k.len()
            );
        }
        let mut listed: Vec<(Vec<u8>, u64)> = table.iter().map(|(k, n)| (k.to_vec(), n)).collect();
        listed.sort();
        let mut expected: Vec<(Vec<u8>, u64)> = keys
            .iter()
            .enumerate()
            .map(|(i, k)| (k.clone(), i as u64 + 1))
            .collect();
        expected.sort();
        assert_eq!(listed, expected);
    }

    /// How many keys each partition holds counted at least `min_count`
    /// times, read off the slots.
    fn kept_in_slots(table: &BytesCounts, min_count: u64) -> Vec<usize> {
        table
            .parts()
            .map(|p| p.filter(|e| e.1 >= min_count).count())
            .collect()
    }

    proptest::proptest! {
        /// Each partition's kept count matches its slots after adds,
        /// growth and a merge, long keys and counts past a slot's included.
        #[test]
        fn partitions_count_the_keys_they_keep(
            adds in proptest::collection::vec((0u16..3000, 1u64..4), 0..6000),
            merged in proptest::collection::vec((0u16..3000, 1u64..4), 0..3000),
            threshold in 1u64..6,
            huge in proptest::prelude::any::<bool>(),
        ) {
            let key = |k: u16| format!("{k}{}", "-long".repeat(usize::from(k % 5)));
            let fill = |adds: &[(u16, u64)]| {
                let mut table = BytesCounts::with_threshold(threshold);
                for &(k, n) in adds {
                    table.add(key(k).as_bytes(), n);
                }
                table
            };
            let mut table = fill(&adds);
            if huge {
                table.add(b"7", u64::from(COUNT_MASK) - 1);
                table.add(b"7", 3);
            }
            table.merge(&fill(&merged));
            proptest::prop_assert_eq!(
                table.kept_per_part(threshold),
                Some(kept_in_slots(&table, threshold))
            );
            proptest::prop_assert_eq!(table.kept_per_part(1), Some(kept_in_slots(&table, 1)));
            proptest::prop_assert_eq!(table.kept_per_part(threshold + 1), None);
            // The slots passed over on their count bits are those a
            // filter on the whole count drops.
            let mask = u64::from(COUNT_MASK);
            for min_count in [0, 1, threshold, threshold + 1, mask, mask + 2, u64::MAX] {
                let at_least: Vec<Vec<(&[u8], u64)>> =
                    table.parts_at_least(min_count).map(Iterator::collect).collect();
                let filtered: Vec<Vec<(&[u8], u64)>> = table
                    .parts()
                    .map(|p| p.filter(|e| e.1 >= min_count).collect())
                    .collect();
                proptest::prop_assert_eq!(at_least, filtered, "min_count {}", min_count);
            }
        }
    }

    #[test]
    fn a_slot_is_20_bytes() {
        assert_eq!(size_of::<Slot>(), 20);
    }

    #[test]
    fn counts_past_what_a_slot_holds_are_kept_whole() {
        const COUNT_MASK: u64 = super::COUNT_MASK as u64;
        let long = [b'l'; INLINE + 5];
        let keys: [&[u8]; 3] = [b"short", &long, b""];
        let mut table = BytesCounts::default();
        for k in keys {
            table.add(k, COUNT_MASK - 1);
            table.add(k, 1);
            table.add(k, 5);
        }
        // A key that starts past the mark, and one that stays below it.
        table.add(b"huge", u64::MAX - 1);
        table.add(b"huge", 7);
        table.add(b"small", 3);
        // Enough other keys to grow the table under them.
        for i in 0..5_000u32 {
            table.add(&i.to_le_bytes(), 1);
        }
        for k in keys {
            assert_eq!(table.get(k), COUNT_MASK + 5, "{k:?}");
        }
        assert_eq!(table.get(b"huge"), u64::MAX);
        assert_eq!(table.get(b"small"), 3);
        let mut merged = BytesCounts::default();
        merged.add(b"short", 10);
        merged.merge(&table);
        assert_eq!(merged.get(b"short"), COUNT_MASK + 15);
        assert_eq!(merged.get(&long), COUNT_MASK + 5);
        let listed: HashMap<&[u8], u64> = merged.iter().collect();
        assert_eq!(listed[&b"short"[..]], COUNT_MASK + 15);
        assert_eq!(listed[&b"huge"[..]], u64::MAX);
        assert_eq!(listed.len(), 5_000 + 5);
    }

    #[test]
    fn a_hot_key_spills_again_and_again_and_is_kept_once() {
        let mask = u64::from(COUNT_MASK);
        // A threshold past what a slot counts, so that being kept depends
        // on the spilled part too; and one a spilled key has passed.
        for threshold in [3 * mask + 2, 7] {
            let mut table = BytesCounts::with_threshold(threshold);
            let long = [b'h'; INLINE + 9];
            let mut expected = 0;
            for n in [mask, 1, mask, 2, mask - 3, 1, 1, 1, 5] {
                for key in [&b"hot"[..], &long] {
                    table.add(key, n);
                }
                expected += n;
                for key in [&b"hot"[..], &long] {
                    assert_eq!(table.get(key), expected, "{} bytes", key.len());
                }
                let kept = usize::from(expected >= threshold) * 2;
                let in_slots: usize = kept_in_slots(&table, threshold).iter().sum();
                assert_eq!(
                    table
                        .kept_per_part(threshold)
                        .map(|k| k.iter().sum::<usize>()),
                    Some(kept),
                    "threshold {threshold} after {expected}"
                );
                assert_eq!(in_slots, kept);
            }
            assert!(expected > 3 * mask + 2);
        }
    }

    #[test]
    fn keys_with_one_hash_stay_apart() {
        // Forced collisions: equal hashes, keys equal once zero-padded, or
        // long keys equal but for their last byte.
        let long_a = [b'y'; INLINE + 3];
        let mut long_b = long_a;
        long_b[INLINE + 2] = b'z';
        let keys: [&[u8]; 5] = [b"a", b"a\0", b"a\0\0", &long_a, &long_b];
        let mut part = Part::default();
        for (i, k) in keys.iter().enumerate() {
            for _ in 0..=i {
                part.add(Probe::new(42, k), 1, 1, false);
            }
        }
        assert_eq!(part.len, keys.len());
        for (i, k) in keys.iter().enumerate() {
            assert_eq!(part.get(Probe::new(42, k)), i as u64 + 1);
        }
    }

    #[test]
    fn groups_count_like_single_adds_through_growth() {
        // Short (inline) and long (arena) keys.
        let keys: Vec<String> = (0..20_000)
            .map(|i| format!("k{}{}", (i * 7919) % 5003, "-long".repeat(i % 5)))
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

    #[test]
    fn a_partition_grown_past_a_huge_page_keeps_every_key() {
        // 50,000 keys need 131,072 slots (4 MiB): mapped, not on the heap.
        let keys: Vec<String> = (0..50_000)
            .map(|i| format!("key-{i}{}", "-long".repeat(i % 4)))
            .collect();
        let mut part = Part::default();
        for (i, k) in keys.iter().enumerate() {
            part.add(
                Probe::new(xxh3_64(k.as_bytes()), k.as_bytes()),
                i as u64 + 1,
                1,
                false,
            );
        }
        assert_eq!(format!("{:?}", part.slots), "Zeroed(131072 mapped)");
        let copy = part.clone();
        drop(part);
        assert_eq!(copy.len, keys.len());
        for (i, k) in keys.iter().enumerate() {
            assert_eq!(
                copy.get(Probe::new(xxh3_64(k.as_bytes()), k.as_bytes())),
                i as u64 + 1
            );
        }
    }
}
