//! Parquet's RLE / bit-packing hybrid encoding, decoded into runs.
//!
//! Definition levels and dictionary indices are stored this way: a
//! sequence of runs, each either one value repeated (an RLE run) or groups
//! of eight values packed at a fixed bit width, least significant bit
//! first. Counting needs how often each value occurs, not the values in
//! order, so [`for_each_run`] hands an RLE run over whole and never expands
//! it.

/// Decodes the first `count` values of `data`, encoded at `bit_width`
/// bits, calling `each(value, n)` for each run of `n` equal values (a
/// bit-packed run gives runs of one). `None` when `data` ends early, a
/// header is malformed or the bit width is over 32.
pub(crate) fn for_each_run(
    data: &[u8],
    bit_width: u8,
    count: usize,
    mut each: impl FnMut(u32, usize) -> Option<()>,
) -> Option<()> {
    if bit_width > 32 {
        return None;
    }
    let packing = Width::of(bit_width);
    let Width { bits: width, mask } = packing;
    let (mut data, mut left) = (data, count);
    while left > 0 {
        let header = read_uleb128(&mut data)?;
        if header & 1 == 0 {
            // An RLE run: the value in ceil(width / 8) bytes, little-endian.
            let n = usize::try_from(header >> 1).ok()?.min(left);
            let bytes = width.div_ceil(8);
            let (value, rest) = data.split_at_checked(bytes)?;
            let mut le = [0u8; 4];
            le[..bytes].copy_from_slice(value);
            let value = u32::from_le_bytes(le);
            if value > mask {
                return None;
            }
            if n > 0 {
                each(value, n)?;
            }
            data = rest;
            left -= n;
        } else {
            // Bit-packed groups of eight values; the last group may hold
            // padding past `count`.
            let groups = usize::try_from(header >> 1).ok()?;
            let bytes = groups.checked_mul(width)?;
            let n = groups.checked_mul(8)?.min(left);
            let packed = data.get(..bytes.min(data.len()))?;
            if packed.len() * 8 < n * width {
                return None;
            }
            for_each_packed(packed, packing, n, &mut each)?;
            data = &data[packed.len()..];
            left -= n;
        }
    }
    Some(())
}

/// A bit width of packed values (at most 32), and the mask of its bits.
#[derive(Debug, Clone, Copy)]
struct Width {
    bits: usize,
    mask: u32,
}

impl Width {
    fn of(bits: u8) -> Width {
        debug_assert!(bits <= 32);
        Width {
            bits: usize::from(bits),
            mask: u32::MAX.checked_shr(32 - u32::from(bits)).unwrap_or(0),
        }
    }
}

/// The `n` values packed in `packed` (which holds them all), in order: as
/// runs of one, but eight equal values of a group as one run of eight
/// (definition levels mostly repeat).
#[inline]
fn for_each_packed(
    packed: &[u8],
    packing: Width,
    n: usize,
    each: &mut impl FnMut(u32, usize) -> Option<()>,
) -> Option<()> {
    let width = packing.bits;
    if width == 0 {
        return each(0, n);
    }
    if width <= 16 {
        // Whole groups of eight are read 16 bytes at a time (a group takes
        // at most 16): no copy and no window per value. The rest (a last
        // group of fewer than eight) goes the general way.
        let whole = n / 8;
        for_each_whole_group(&packed[..whole * width], packing, each)?;
        return match n % 8 {
            0 => Some(()),
            rest => for_each_packed_bytes(&packed[whole * width..], packing, rest, each),
        };
    }
    for_each_packed_bytes(packed, packing, n, each)
}

/// The values of the whole groups of eight in `packed` (of at most 16
/// bits each), as [`for_each_packed`] gives them: by a loop made for the
/// width ([`for_each_group_of`]).
#[inline]
fn for_each_whole_group(
    packed: &[u8],
    Width { bits: width, .. }: Width,
    each: &mut impl FnMut(u32, usize) -> Option<()>,
) -> Option<()> {
    debug_assert!((1..=16).contains(&width) && packed.len() % width == 0);
    match width {
        1 => for_each_group_of::<1>(packed, each),
        2 => for_each_group_of::<2>(packed, each),
        3 => for_each_group_of::<3>(packed, each),
        4 => for_each_group_of::<4>(packed, each),
        5 => for_each_group_of::<5>(packed, each),
        6 => for_each_group_of::<6>(packed, each),
        7 => for_each_group_of::<7>(packed, each),
        8 => for_each_group_of::<8>(packed, each),
        9 => for_each_group_of::<9>(packed, each),
        10 => for_each_group_of::<10>(packed, each),
        11 => for_each_group_of::<11>(packed, each),
        12 => for_each_group_of::<12>(packed, each),
        13 => for_each_group_of::<13>(packed, each),
        14 => for_each_group_of::<14>(packed, each),
        15 => for_each_group_of::<15>(packed, each),
        16 => for_each_group_of::<16>(packed, each),
        _ => unreachable!("whole groups are read for widths 1 to 16"),
    }
}

/// [`for_each_whole_group`] at width `W` (1 to 16): a group's `W` bytes
/// are one integer, and each value is a shift and a mask of it by
/// constants. With the width a variable, each value took a variable shift
/// of a 128-bit integer (a branch on its size, and two shifts): on the
/// benchmark, decoding dictionary indices and levels was ~7% of `build`'s
/// samples.
#[inline(always)]
fn for_each_group_of<const W: usize>(
    packed: &[u8],
    each: &mut impl FnMut(u32, usize) -> Option<()>,
) -> Option<()> {
    let mask = u32::MAX >> (32 - W);
    // One bit at the start of each value: a value times this repeats it
    // eight times.
    let repeat = (0..8).fold(0u128, |r, k| r | 1 << (k * W));
    // A group's `$bytes` as an integer of `$int`'s width: a run of eight
    // when all its values are its first, else each value alone.
    macro_rules! group_as {
        ($int:ty, $bytes:expr) => {{
            let mut le = [0u8; size_of::<$int>()];
            le[..W].copy_from_slice($bytes);
            let group = <$int>::from_le_bytes(le);
            let first = group as u32 & mask;
            if group == <$int>::from(first) * repeat as $int {
                each(first, 8)?;
            } else {
                for k in 0..8 {
                    each((group >> (k * W)) as u32 & mask, 1)?;
                }
            }
        }};
    }
    for bytes in packed.chunks_exact(W) {
        if W <= 8 {
            // Eight values of up to 8 bits fit in 64.
            group_as!(u64, bytes)
        } else {
            group_as!(u128, bytes)
        }
    }
    Some(())
}

/// [`for_each_packed`] for any width, value by value.
fn for_each_packed_bytes(
    packed: &[u8],
    Width { bits: width, mask }: Width,
    n: usize,
    each: &mut impl FnMut(u32, usize) -> Option<()>,
) -> Option<()> {
    // A group of eight values takes `width` bytes. It is copied into a
    // zero-padded buffer, so that every value is read from an 8-byte
    // window at its first byte (a value of up to 32 bits starting
    // anywhere in a byte fits in 40 bits) with no bounds to check.
    let mut group = [0u8; 40];
    for (g, bytes) in packed.chunks(width).enumerate() {
        let count = (n - g * 8).min(8);
        group[..bytes.len()].copy_from_slice(bytes);
        group[bytes.len()..width].fill(0);
        for k in 0..count {
            let bit = k * width;
            let window: [u8; 8] = group[bit / 8..bit / 8 + 8].try_into().expect("8 bytes");
            each((u64::from_le_bytes(window) >> (bit % 8)) as u32 & mask, 1)?;
        }
        if count < 8 {
            break;
        }
    }
    Some(())
}

/// Reads an unsigned LEB128 varint (at most 5 bytes here: run headers are
/// 32-bit), advancing `data` past it.
fn read_uleb128(data: &mut &[u8]) -> Option<u64> {
    let mut value = 0u64;
    for (i, &byte) in data.iter().enumerate().take(10) {
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            *data = &data[i + 1..];
            return Some(value);
        }
    }
    None
}

/// The bit width that levels up to `max` are encoded at.
pub(crate) fn bit_width_of(max: i16) -> u8 {
    (16 - (max.max(0) as u16).leading_zeros()) as u8
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Encodes `values` at `width` bits. With `rle`: runs of 8 or more
    /// equal values as RLE runs, the rest bit-packed a group of eight at a
    /// time. Without: all of them in one bit-packed run. The last group is
    /// padded.
    fn encode(values: &[u32], width: usize, rle: bool) -> Vec<u8> {
        let mut out = Vec::new();
        let uleb = |out: &mut Vec<u8>, mut v: u64| loop {
            let b = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                out.push(b);
                break;
            }
            out.push(b | 0x80);
        };
        let mut i = 0;
        while i < values.len() {
            let run = values[i..].iter().take_while(|&&v| v == values[i]).count();
            if rle && run >= 8 {
                uleb(&mut out, (run as u64) << 1);
                out.extend_from_slice(&values[i].to_le_bytes()[..width.div_ceil(8)]);
                i += run;
            } else {
                // One group of eight with `rle`, else all that is left in
                // one run of groups; only the last group may hold padding.
                let end = if rle {
                    (i + 8).min(values.len())
                } else {
                    values.len()
                };
                let groups = (end - i).div_ceil(8);
                uleb(&mut out, (groups as u64) << 1 | 1);
                let mut bits = vec![0u8; groups * width];
                for (k, &v) in values[i..end].iter().enumerate() {
                    for b in 0..width {
                        if v >> b & 1 == 1 {
                            let bit = k * width + b;
                            bits[bit / 8] |= 1 << (bit % 8);
                        }
                    }
                }
                out.extend_from_slice(&bits);
                i = end;
            }
        }
        out
    }

    fn decode(data: &[u8], width: u8, count: usize) -> Option<Vec<u32>> {
        let mut values = Vec::new();
        for_each_run(data, width, count, |v, n| {
            values.extend(std::iter::repeat_n(v, n));
            Some(())
        })?;
        Some(values)
    }

    proptest! {
        #[test]
        fn runs_decode_to_the_values_encoded(
            width in 0usize..=32,
            raw in prop::collection::vec((any::<u32>(), 1usize..20), 0..40),
            rle in any::<bool>(),
        ) {
            let mask = if width == 32 { u32::MAX } else { (1u32 << width) - 1 };
            let values: Vec<u32> = raw
                .iter()
                .flat_map(|&(v, n)| std::iter::repeat_n(v & mask, n))
                .collect();
            let data = encode(&values, width, rle);
            prop_assert_eq!(decode(&data, width as u8, values.len()), Some(values.clone()));
            // Fewer values than encoded: the first ones.
            let half = values.len() / 2;
            prop_assert_eq!(decode(&data, width as u8, half), Some(values[..half].to_vec()));
            // More than encoded: the data ends early.
            prop_assert_eq!(decode(&data, width as u8, values.len() + 9), None);
        }
    }

    #[test]
    fn malformed_runs_are_refused() {
        // An RLE run whose value is cut off, and one above the bit width.
        assert_eq!(decode(&[0x04], 8, 2), None);
        assert_eq!(decode(&[0x04, 0x04], 2, 2), None);
        // A header that never ends.
        assert_eq!(decode(&[0xff; 12], 8, 1), None);
        // A bit-packed group of 3-bit values with a byte missing.
        assert_eq!(decode(&[0x03, 0xff, 0xff], 3, 8), None);
        assert_eq!(decode(&[], 33, 0), None);
        assert_eq!(decode(&[], 4, 0), Some(vec![]));
    }

    #[test]
    fn level_widths() {
        let widths: Vec<u8> = [0, 1, 2, 3, 4, 7, 8].map(bit_width_of).to_vec();
        assert_eq!(widths, [0, 1, 2, 2, 3, 3, 4]);
    }
}
