//! The count table of `bytes` keys. Keys live in one arena, each behind
//! its length (u32 LE); a table slot is 16 bytes: the key's arena offset
//! and its count. One allocation per table growth, not per key; on growth
//! the hash is recomputed from the arena (xxh3 of a short key costs less
//! than storing it in every slot would in memory traffic).

use hashbrown::HashTable;
use hashbrown::hash_table::Entry;
use xxhash_rust::xxh3::xxh3_64;

#[derive(Debug, Clone, Copy)]
struct Slot {
    offset: usize,
    count: u64,
}

/// Exact counts of byte-string keys.
#[derive(Debug, Clone, Default)]
pub(crate) struct BytesCounts {
    arena: Vec<u8>,
    table: HashTable<Slot>,
}

/// The key stored at `offset` of the arena.
#[inline]
fn key_at(arena: &[u8], offset: usize) -> &[u8] {
    let mut len = [0u8; 4];
    len.copy_from_slice(&arena[offset..offset + 4]);
    let start = offset + 4;
    &arena[start..start + u32::from_le_bytes(len) as usize]
}

impl BytesCounts {
    pub(crate) fn len(&self) -> usize {
        self.table.len()
    }

    /// Adds `n` occurrences of `key`.
    ///
    /// # Panics
    /// When a key is longer than 4 GiB.
    #[inline]
    pub(crate) fn add(&mut self, key: &[u8], n: u64) {
        self.add_hashed(xxh3_64(key), key, n);
    }

    #[inline]
    fn add_hashed(&mut self, hash: u64, key: &[u8], n: u64) {
        let BytesCounts { arena, table } = self;
        let entry = table.entry(
            hash,
            |s| key_at(arena, s.offset) == key,
            |s| xxh3_64(key_at(arena, s.offset)),
        );
        match entry {
            Entry::Occupied(mut o) => o.get_mut().count += n,
            Entry::Vacant(v) => {
                let len = u32::try_from(key.len()).expect("a key of at most 4 GiB");
                v.insert(Slot {
                    offset: arena.len(),
                    count: n,
                });
                arena.extend_from_slice(&len.to_le_bytes());
                arena.extend_from_slice(key);
            }
        }
    }

    /// The count of `key` (0 when never seen).
    pub(crate) fn get(&self, key: &[u8]) -> u64 {
        self.table
            .find(xxh3_64(key), |s| key_at(&self.arena, s.offset) == key)
            .map_or(0, |s| s.count)
    }

    /// Adds every count of `other` (the larger table should be `self`).
    pub(crate) fn merge(&mut self, other: &BytesCounts) {
        let arena = &self.arena;
        self.table
            .reserve(other.len(), |s| xxh3_64(key_at(arena, s.offset)));
        for s in other.table.iter() {
            self.add(key_at(&other.arena, s.offset), s.count);
        }
    }

    /// Every key with its count, in table order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&[u8], u64)> {
        self.table
            .iter()
            .map(|s| (key_at(&self.arena, s.offset), s.count))
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
}
