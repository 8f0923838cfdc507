//! Zeroed arrays, mapped anonymously when they are large: the slots of a
//! count-table partition (lengthened in place as it grows, written in
//! random order) and the buffers an artifact is serialized in.
//!
//! An array of at least [`MAPPED_FROM`] (64 KiB) is a mapping (of whole
//! 4 KiB pages below 2 MiB, of whole 2 MiB units from there), of which the
//! pages its values take are touched once per 4 KiB page (the rest when it
//! grows into them), and grows in place (`mremap`) instead of being
//! copied: a count table's partition goes through every size from 64 KiB
//! to its last without a page faulted in twice. It is not advised to use
//! transparent huge pages (`MADV_HUGEPAGE`): the system's policy decides.
//! A 2 MiB page takes a free 2 MiB block, and in a VM whose guest hands
//! such blocks back to the host (virtio-balloon free page reporting) each
//! one is memory the host has to back again. On the project's VM, 256 MiB
//! took 0.5-3.0 s to touch in huge pages and 0.14-0.17 s in 4 KiB pages,
//! and `build` on the benchmark ran at 2.0 s against 3.5 s with the advice
//! (nineteenth session in `docs/BENCHMARKS.md`); the 4 KiB pages' TLB
//! misses cost the count tables' probes 0-25%, far less.

use std::fmt;
use std::ops::{Deref, DerefMut};
use std::ptr::NonNull;

use memmap2::{MmapMut, MmapOptions};

/// Types whose all-zero bytes are a valid value, equal to their default.
///
/// # Safety
/// An implementor must be valid for the all-zero bit pattern, and be
/// aligned to at most 4 KiB (the alignment of a mapping).
#[allow(unsafe_code)]
pub(crate) unsafe trait Zeroable: Copy + Default {}

// SAFETY: two integers; zero is their default.
#[allow(unsafe_code)]
unsafe impl Zeroable for (u64, u64) {}

// SAFETY: an integer; zero is its default.
#[allow(unsafe_code)]
unsafe impl Zeroable for u8 {}

/// The unit a mapping of at least this size is sized in ([`mapping_len`]):
/// one huge page, which a system whose policy gives every mapping
/// transparent huge pages backs as one.
pub(crate) const HUGE_PAGE: usize = 2 << 20;

/// The page the touch loop steps by.
const PAGE: usize = 4096;

/// The size from which an array is mapped rather than on the heap.
///
/// A growing partition on the heap was copied into a new allocation (fresh
/// pages, most of them, past glibc's mmap threshold) at each step until it
/// passed 2 MiB. Mapped from 64 KiB instead of from 2 MiB, `build` on the
/// benchmark took 1.155 s against 1.170 (8 alternating rounds; 1.195
/// against 1.220 in another 8), peak RSS 322 MiB against 332.
pub(crate) const MAPPED_FROM: usize = 64 << 10;

/// `len` zeroed values of `T`, dereferencing to a slice.
pub(crate) struct Zeroed<T> {
    /// The first value and the number of values, as the storage holds
    /// them: kept here so that a dereference is two loads and no match on
    /// the storage (the count kernels dereference a table's slots per
    /// row). Set from the storage whenever it changes ([`Zeroed::with`],
    /// [`Zeroed::grow`]).
    start: NonNull<T>,
    len: usize,
    storage: Storage<T>,
}

// SAFETY: `start` points into `storage`, which owns the values: sending or
// sharing a `Zeroed` sends or shares them, as for a `Vec<T>`.
#[allow(unsafe_code)]
unsafe impl<T: Send> Send for Zeroed<T> {}
#[allow(unsafe_code)]
unsafe impl<T: Sync> Sync for Zeroed<T> {}

enum Storage<T> {
    Heap(Vec<T>),
    /// An anonymous mapping ([`mapping_len`]) holding the array's
    /// values (and zeros past them).
    Mapped(MmapMut),
}

impl<T: Zeroable> Zeroed<T> {
    /// `len` zeroed values: mapped from 2 MiB, else on the heap. Every page
    /// of a mapping is written here once, for arrays read before they are
    /// written (a count table's slots): a page read first maps the shared
    /// zero page, and the first write to it faults again.
    pub(crate) fn new(len: usize) -> Zeroed<T> {
        Zeroed::mapped_or_heap(len, true)
    }

    /// `len` zeroed values, for an array whose pages are each written before
    /// they are read: a mapping's pages are not touched here but faulted in
    /// by the first writes, on the threads that make them. Of the 105 MB
    /// artifact buffer and the 32 MB arrays that order `user_id`'s lookup
    /// table, touched by [`new`](Self::new) on one thread each, that took
    /// ~50 ms and ~16 ms of the build's critical path.
    pub(crate) fn for_writing(len: usize) -> Zeroed<T> {
        Zeroed::mapped_or_heap(len, false)
    }

    fn mapped_or_heap(len: usize, touched: bool) -> Zeroed<T> {
        let bytes = len * size_of::<T>();
        if bytes >= MAPPED_FROM {
            if let Ok(mut map) = MmapOptions::new().len(mapping_len(bytes)).map_anon() {
                if touched {
                    // The pages the values take; those past them are
                    // touched when the array grows into them.
                    touch_pages(&mut map[..bytes]);
                }
                return Zeroed::with(Storage::Mapped(map), len);
            }
        }
        // Written zeros, not `vec![..; n]`: calloc's lazily zeroed pages are
        // first mapped to the shared zero page on a read and copied on the
        // first write, and each copy flushes the TLB of every thread.
        let mut values = Vec::with_capacity(len);
        values.resize(len, T::default());
        Zeroed::with(Storage::Heap(values), len)
    }
}

impl<T> Zeroed<T> {
    /// The `len` values `storage` holds.
    fn with(mut storage: Storage<T>, len: usize) -> Zeroed<T> {
        Zeroed {
            start: Zeroed::start_of(&mut storage),
            len,
            storage,
        }
    }

    /// Where the values of `storage` start.
    fn start_of(storage: &mut Storage<T>) -> NonNull<T> {
        let start = match storage {
            Storage::Heap(v) => v.as_mut_ptr(),
            Storage::Mapped(map) => map.as_mut_ptr().cast::<T>(),
        };
        // A vector's pointer and a mapping's address are never null.
        NonNull::new(start).expect("a non-null array")
    }
}

impl<T: Zeroable> Zeroed<T> {
    /// Lengthens the array to `len` values (at least its length): the
    /// values it holds stay, the new ones are zero.
    ///
    /// A mapped array grows in place (`mremap`, on Linux): its pages are
    /// kept, moved at worst, not copied, and only the new part is touched.
    /// In this VM the first touch of a fresh page is most of what growing
    /// a table costs, and a grown table no longer faults in the pages of a
    /// new one while freeing those of the old.
    pub(crate) fn grow(&mut self, len: usize) {
        self.grow_storage(len);
        // The storage may have moved.
        (self.start, self.len) = (Zeroed::start_of(&mut self.storage), len);
    }

    /// [`grow`](Self::grow), but for setting `start` and `len`.
    fn grow_storage(&mut self, len: usize) {
        debug_assert!(len >= self.len());
        if len == self.len() {
            return;
        }
        // Past the old length a mapping was never written: its pages are
        // touched from there to the new length.
        let (from, to) = (self.len * size_of::<T>(), len * size_of::<T>());
        if let Storage::Mapped(map) = &mut self.storage {
            let bytes = mapping_len(to);
            if bytes <= map.len() {
                touch_pages(&mut map[from..to]);
                return;
            }
            #[cfg(target_os = "linux")]
            {
                // SAFETY: an anonymous mapping, so every byte of the new
                // length is backed; moving it is safe as no pointer into it
                // outlives `&mut self`.
                #[allow(unsafe_code)]
                let remapped =
                    unsafe { map.remap(bytes, memmap2::RemapOptions::new().may_move(true)) };
                if remapped.is_ok() {
                    touch_pages(&mut map[from..to]);
                    return;
                }
            }
        }
        if let Storage::Heap(values) = &mut self.storage {
            if len * size_of::<T>() < MAPPED_FROM {
                values.resize(len, T::default());
                return;
            }
        }
        let mut grown = Zeroed::new(len);
        grown[..self.len()].copy_from_slice(self);
        *self = grown;
    }
}

impl<T: Zeroable> Zeroed<T> {
    /// `len` values for an array every value of which is written before it
    /// is read (the artifact's buffer), like [`for_writing`](Self::for_writing),
    /// whose mapping takes over pages of `spare` where it has any: moved
    /// there (`mremap`, on Linux), not faulted in. **Not zeroed** where it
    /// took them: those values are what the spare pages held (any bytes,
    /// which a [`Zeroable`] type may hold); zeroed past them.
    ///
    /// On the project's VM a fault costs ~2 µs per 4 KiB page, whether the
    /// page was just freed or never used. Zeroing the 105 MB of moved pages
    /// of the benchmark's artifact before filling them took ~7 ms of both
    /// threads before the first byte could be written to the disk
    /// (twenty-fourth session); the writers now zero only what they do not
    /// fill.
    pub(crate) fn to_overwrite_from(len: usize, spare: &SparePages) -> Zeroed<T> {
        let mut array = Zeroed::for_writing(len);
        if let Storage::Mapped(map) = &mut array.storage {
            spare.move_into(map);
        }
        array
    }
}

/// The pages of mapped arrays no longer needed (count tables, once their
/// keys are selected), kept mapped for new arrays to take over
/// ([`Zeroed::to_overwrite_from`]); unmapped when dropped.
#[derive(Debug, Default)]
pub(crate) struct SparePages {
    /// Address and length of each run of pages: whole 4 KiB pages, mapped
    /// anonymously, owned here. Locked only to take runs out, never while
    /// zeroing them: a rayon thread waiting on a lock it holds would stall.
    runs: std::sync::Mutex<Vec<(usize, usize)>>,
}

impl SparePages {
    /// Keeps the pages of `array` if it is mapped (on Linux; elsewhere, and
    /// for arrays on the heap, it is dropped). Features selected in
    /// parallel hand theirs to one `SparePages`.
    ///
    /// Only the pages its values take are kept: past them, a mapping's
    /// pages were never touched, hold no memory, and would be faulted in
    /// like fresh ones by the array that took them over (on the benchmark,
    /// `item_id`'s table leaves 0.76 MiB of each 6 MiB partition
    /// untouched). They are unmapped: 10 alternating rounds of `build`,
    /// minor faults 121k → 112k, 1.165 → 1.155 s.
    pub(crate) fn keep<T>(&self, array: Zeroed<T>) {
        #[cfg(target_os = "linux")]
        {
            let used = array.len * size_of::<T>();
            if let Storage::Mapped(map) = array.storage {
                let (addr, len) = (map.as_ptr() as usize, map.len());
                // Unmapped below, by `drop`, or moved into another mapping.
                std::mem::forget(map);
                let touched = used.next_multiple_of(PAGE).min(len);
                if touched < len {
                    // SAFETY: the end of a mapping owned here, which nothing
                    // refers to; `touched` is a multiple of the page size.
                    #[allow(unsafe_code)]
                    unsafe {
                        libc::munmap((addr + touched) as *mut libc::c_void, len - touched);
                    }
                }
                if touched > 0 {
                    self.runs().push((addr, touched));
                }
            }
        }
        #[cfg(not(target_os = "linux"))]
        drop(array);
    }

    fn runs(&self) -> std::sync::MutexGuard<'_, Vec<(usize, usize)>> {
        self.runs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Moves runs into `map` (fresh, untouched) from its start, as many as
    /// fit; returns how many bytes of it now hold spare pages.
    #[cfg_attr(not(target_os = "linux"), allow(unused_mut, unused_variables))]
    fn move_into(&self, map: &mut MmapMut) -> usize {
        let mut runs = self.runs();
        let mut moved = 0;
        #[cfg(target_os = "linux")]
        while moved < map.len() {
            let Some((from, len)) = runs.pop() else {
                break;
            };
            let take = len.min(map.len() - moved);
            // SAFETY: `from..from + take` is mapped and owned here (no
            // reference into it exists); the target range is inside `map`,
            // which is borrowed mutably and not yet written, so no
            // reference into it exists either. MREMAP_FIXED replaces that
            // range's pages with the moved ones; both lengths are whole
            // pages.
            #[allow(unsafe_code)]
            let target = unsafe {
                libc::mremap(
                    from as *mut libc::c_void,
                    take,
                    take,
                    libc::MREMAP_MAYMOVE | libc::MREMAP_FIXED,
                    map.as_mut_ptr().add(moved).cast::<libc::c_void>(),
                )
            };
            if target == libc::MAP_FAILED {
                runs.push((from, len));
                break;
            }
            if take < len {
                runs.push((from + take, len - take));
            }
            moved += take;
        }
        moved
    }
}

impl Drop for SparePages {
    fn drop(&mut self) {
        #[cfg(target_os = "linux")]
        for &(addr, len) in self.runs().iter() {
            // SAFETY: a run is a mapping owned here, which nothing refers to.
            #[allow(unsafe_code)]
            unsafe {
                libc::munmap(addr as *mut libc::c_void, len);
            }
        }
    }
}

/// The length of a mapping for `bytes`: whole 4 KiB pages below a huge
/// page, whole huge pages from there. Under a policy of huge pages
/// everywhere, a mapping's last partial huge page would get 4 KiB pages,
/// and keep them when the array grows; a mapping under 2 MiB gets none,
/// as it should (a small table in a huge page of its own would take
/// 2 MiB).
fn mapping_len(bytes: usize) -> usize {
    if bytes < HUGE_PAGE {
        bytes.next_multiple_of(PAGE)
    } else {
        bytes.next_multiple_of(HUGE_PAGE)
    }
}

/// Writes a zero to a byte of each 4 KiB page that `bytes` (zeroed) spans:
/// a part of an array that is to be read before it is written (a
/// [`for_writing`](Zeroed::for_writing) array's part, faulted in by the
/// thread about to use it; a count table's slots as they are made or
/// grown).
pub(crate) fn touch_pages(bytes: &mut [u8]) {
    if bytes.is_empty() {
        return;
    }
    bytes[0] = 0;
    let boundary = bytes.as_ptr().align_offset(PAGE).min(bytes.len());
    for at in (boundary..bytes.len()).step_by(PAGE) {
        bytes[at] = 0;
    }
}

impl<T> Default for Zeroed<T> {
    fn default() -> Self {
        Zeroed::with(Storage::Heap(Vec::new()), 0)
    }
}

#[allow(unsafe_code)]
impl<T> Deref for Zeroed<T> {
    type Target = [T];
    #[inline]
    fn deref(&self) -> &[T] {
        // SAFETY: `start` and `len` are the storage's (set whenever it
        // changes): a vector's values, or a mapping that holds `len`
        // values of `T` (`new` sized it so), starts page-aligned (at least
        // `T`'s alignment, by `Zeroable`), and whose zero bytes are valid
        // `T`s (`Zeroable`). The storage lives as long as `self`.
        unsafe { std::slice::from_raw_parts(self.start.as_ptr(), self.len) }
    }
}

#[allow(unsafe_code)]
impl<T> DerefMut for Zeroed<T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut [T] {
        // SAFETY: as in `deref`, and `&mut self` makes it unique.
        unsafe { std::slice::from_raw_parts_mut(self.start.as_ptr(), self.len) }
    }
}

impl<T: Zeroable> Clone for Zeroed<T> {
    fn clone(&self) -> Self {
        let mut copy = Zeroed::new(self.len());
        copy.copy_from_slice(self);
        copy
    }
}

impl<T> fmt::Debug for Zeroed<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.storage {
            Storage::Heap(_) => "heap",
            Storage::Mapped(_) => "mapped",
        };
        write!(f, "Zeroed({} {kind})", self.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_and_large_arrays_are_zeroed_writable_and_clone() {
        let per_huge_page = HUGE_PAGE / size_of::<(u64, u64)>();
        for len in [
            0,
            1,
            1000,
            per_huge_page - 1,
            per_huge_page,
            3 * per_huge_page,
        ] {
            let mut slots: Zeroed<(u64, u64)> = Zeroed::new(len);
            assert_eq!(slots.len(), len);
            assert!(slots.iter().all(|&s| s == (0, 0)), "{len}");
            let mapped = matches!(slots.storage, Storage::Mapped(_));
            assert_eq!(
                mapped,
                len * size_of::<(u64, u64)>() >= MAPPED_FROM,
                "{len}"
            );
            for (i, s) in slots.iter_mut().enumerate() {
                *s = (i as u64, 2 * i as u64);
            }
            let copy = slots.clone();
            drop(slots);
            assert!(
                copy.iter()
                    .enumerate()
                    .all(|(i, &s)| s == (i as u64, 2 * i as u64))
            );
        }
        assert!(Zeroed::<(u64, u64)>::default().is_empty());
    }

    #[test]
    fn a_grown_array_keeps_its_values_and_is_zero_past_them() {
        let per_huge_page = HUGE_PAGE / size_of::<(u64, u64)>();
        // On the heap, from the heap to a mapping, and mapping to mapping
        // (within its pages, in place, or moved).
        for (from, to) in [
            (0, 10),
            (100, 1000),
            (1000, per_huge_page),
            // Mappings of 4 KiB pages: from the heap, within their pages,
            // past them, and on into whole huge pages.
            (1000, 5000),
            (5000, 5100),
            (5000, 20_000),
            (20_000, per_huge_page + 3),
            (per_huge_page + 1, per_huge_page + 100),
            (per_huge_page, 4 * per_huge_page),
            (4 * per_huge_page, 8 * per_huge_page + 5),
        ] {
            let mut slots: Zeroed<(u64, u64)> = Zeroed::new(from);
            for (i, s) in slots.iter_mut().enumerate() {
                *s = (i as u64 + 1, 7);
            }
            // Another mapping right behind, so growing in place may fail.
            let _neighbour: Zeroed<(u64, u64)> = Zeroed::new(per_huge_page);
            slots.grow(to);
            assert_eq!(slots.len(), to);
            assert!(
                slots[..from]
                    .iter()
                    .enumerate()
                    .all(|(i, &s)| s == (i as u64 + 1, 7))
            );
            assert!(slots[from..].iter().all(|&s| s == (0, 0)), "{from} -> {to}");
            let mapped = matches!(slots.storage, Storage::Mapped(_));
            assert_eq!(
                mapped,
                to * size_of::<(u64, u64)>() >= MAPPED_FROM,
                "{from} -> {to}"
            );
            slots[to - 1] = (1, 1);
        }
    }

    #[test]
    fn a_large_byte_buffer_is_mapped_zeroed_and_writable() {
        let mut bytes: Zeroed<u8> = Zeroed::new(HUGE_PAGE + 3);
        assert!(matches!(bytes.storage, Storage::Mapped(_)));
        assert!(bytes.iter().all(|&b| b == 0));
        bytes[HUGE_PAGE + 2] = 7;
        assert_eq!(bytes[HUGE_PAGE..], [0, 0, 7]);
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn only_the_pages_an_array_touched_are_kept() {
        let spare = SparePages::default();
        let mut old: Zeroed<u8> = Zeroed::new(HUGE_PAGE + 5000);
        old.fill(7);
        spare.keep(old);
        // Two 4 KiB pages past the first huge page, not the second one.
        let runs = spare.runs.lock().unwrap().clone();
        assert_eq!(
            runs.iter().map(|r| r.1).collect::<Vec<_>>(),
            [HUGE_PAGE + 8192]
        );
        // The pages moved hold what the array wrote, the rest is zeroed.
        let taken: Zeroed<u8> = Zeroed::to_overwrite_from(2 * HUGE_PAGE, &spare);
        assert!(taken[..HUGE_PAGE + 5000].iter().all(|&b| b == 7));
        assert!(taken[HUGE_PAGE + 5000..].iter().all(|&b| b == 0));
        assert!(spare.runs.lock().unwrap().is_empty());
    }

    #[test]
    fn spare_pages_are_taken_over_as_they_are() {
        let per_huge_page = HUGE_PAGE / size_of::<(u64, u64)>();
        let spare = SparePages::default();
        for len in [per_huge_page, 2 * per_huge_page] {
            let mut old: Zeroed<(u64, u64)> = Zeroed::new(len);
            old.fill((7, 7));
            spare.keep(old);
        }
        // On the heap: dropped, not kept.
        spare.keep(Zeroed::<u8>::new(10));
        let runs = |spare: &SparePages| spare.runs.lock().unwrap().clone();
        #[cfg(target_os = "linux")]
        assert_eq!(runs(&spare).len(), 2);
        // Part of the last run kept (2 of its 4 MiB), the rest left.
        let mut first: Zeroed<u8> = Zeroed::to_overwrite_from(HUGE_PAGE, &spare);
        #[cfg(target_os = "linux")]
        {
            let sevens: Vec<u8> = [7u64, 7].iter().flat_map(|w| w.to_le_bytes()).collect();
            assert!(first.chunks_exact(16).all(|pair| pair == sevens));
        }
        first[HUGE_PAGE - 2] = 1;
        #[cfg(target_os = "linux")]
        assert_eq!(
            runs(&spare).iter().map(|r| r.1).sum::<usize>(),
            2 * HUGE_PAGE
        );
        // More than is left: the rest of the mapping is fresh.
        let second: Zeroed<(u64, u64)> = Zeroed::to_overwrite_from(3 * per_huge_page + 1, &spare);
        #[cfg(target_os = "linux")]
        assert!(second[..2 * per_huge_page].iter().all(|&e| e == (7, 7)));
        assert!(second[2 * per_huge_page..].iter().all(|&e| e == (0, 0)));
        assert!(runs(&spare).is_empty());
        assert_eq!(first[HUGE_PAGE - 2], 1);
        drop(spare);
        assert_eq!(
            first.len() + second.len(),
            HUGE_PAGE + 3 * per_huge_page + 1
        );
    }

    #[test]
    fn an_untouched_array_reads_as_zeros_and_touching_keeps_them() {
        for len in [10, MAPPED_FROM + 5000, HUGE_PAGE + 5000] {
            let mut bytes: Zeroed<u8> = Zeroed::for_writing(len);
            assert_eq!(
                matches!(bytes.storage, Storage::Mapped(_)),
                len >= MAPPED_FROM
            );
            // A part that starts and ends inside pages.
            touch_pages(&mut bytes[3..len - 2]);
            touch_pages(&mut []);
            assert!(bytes.iter().all(|&b| b == 0), "{len}");
            bytes[len - 1] = 9;
            assert_eq!(bytes[len - 2..], [0, 9]);
        }
    }
}
