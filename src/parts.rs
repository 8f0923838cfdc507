//! Splitting a slice into disjoint mutable parts, to fill or sort them in
//! parallel.

use std::ops::Range;

/// The parts of `data` at `ranges`, which must be ascending and disjoint
/// (gaps between them are left out), borrowed mutably at once.
///
/// # Panics
/// When a range starts before the previous one ends, or ends past `data`.
pub(crate) fn split_parts<T>(
    mut data: &mut [T],
    ranges: impl IntoIterator<Item = Range<usize>>,
) -> Vec<&mut [T]> {
    let mut parts = Vec::new();
    let mut at = 0;
    for range in ranges {
        let (_, tail) = std::mem::take(&mut data).split_at_mut(range.start - at);
        let (part, tail) = tail.split_at_mut(range.len());
        parts.push(part);
        (data, at) = (tail, range.end);
    }
    parts
}

/// Turns the sizes of consecutive parts into where each ends (a running
/// sum), for [`consecutive`]; returns the total.
pub(crate) fn sizes_to_ends(sizes: &mut [usize]) -> usize {
    let mut total = 0;
    for size in sizes {
        total += *size;
        *size = total;
    }
    total
}

/// The ranges of consecutive parts that end at `ends` (ascending), the
/// first starting at 0.
pub(crate) fn consecutive(ends: &[usize]) -> impl Iterator<Item = Range<usize>> + '_ {
    ends.iter().scan(0, |start, &end| {
        let range = *start..end;
        *start = end;
        Some(range)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_are_the_ranges_and_skip_the_gaps() {
        let mut data: Vec<u32> = (0..10).collect();
        let parts = split_parts(&mut data, [1..3, 3..3, 5..9]);
        let parts: Vec<Vec<u32>> = parts.into_iter().map(|p| p.to_vec()).collect();
        assert_eq!(parts, [vec![1, 2], vec![], vec![5, 6, 7, 8]]);
        let ranges: Vec<_> = consecutive(&[2, 2, 5]).collect();
        assert_eq!(ranges, [0..2, 2..2, 2..5]);
        let mut ends = [2, 0, 3];
        assert_eq!(sizes_to_ends(&mut ends), 5);
        assert_eq!(ends, [2, 2, 5]);
    }
}
