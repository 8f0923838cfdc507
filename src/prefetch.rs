//! Software prefetch: a hint that the program will soon read a slot of a
//! table, so that the cache line is on its way while other work runs.
//!
//! Counting probes a group of keys at a time (see `count::bytes`); the
//! loads of one group overlap each other, but the next group's loads could
//! only start when this group's work is done. Prefetching the next group's
//! home slots before working on this group overlaps the two.

/// Asks the CPU to start loading `slice[index]` into the cache; does
/// nothing when `index` is out of bounds, or on other architectures than
/// x86_64.
#[inline(always)]
pub(crate) fn prefetch<T>(slice: &[T], index: usize) {
    if let Some(item) = slice.get(index) {
        prefetch_byte(item, 0);
    }
}

/// Asks the CPU to start loading the `n` elements of `slice` from `index`
/// (as many as there are), at most 64 bytes: the cache line of their first
/// byte and that of their last, which is the same line or the next.
///
/// A linear probe reads the slots after its home slot whenever that one
/// holds another key; loading the next slot with the home slot keeps that
/// read off the critical path.
#[inline(always)]
pub(crate) fn prefetch_run<T>(slice: &[T], index: usize, n: usize) {
    debug_assert!(n >= 1 && n * size_of::<T>() <= 64);
    if let Some(first) = slice.get(index) {
        prefetch_byte(first, 0);
        let last = slice.get(index + n - 1).unwrap_or(&slice[slice.len() - 1]);
        prefetch_byte(last, size_of::<T>().saturating_sub(1));
    }
}

/// Starts loading the cache line of byte `at` (inside it) of `item`.
#[inline(always)]
#[allow(unsafe_code)]
fn prefetch_byte<T>(item: &T, at: usize) {
    debug_assert!(at < size_of::<T>().max(1));
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        let byte = std::ptr::from_ref(item).cast::<i8>().wrapping_add(at);
        // SAFETY: `_mm_prefetch` needs SSE, which every x86_64 CPU has (it
        // is part of the target's baseline). A prefetch is only a hint: it
        // never faults, never writes, and what it loads is never observed
        // by the program. The address is inside a live reference.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(byte) }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (item, at);
}
