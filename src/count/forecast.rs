//! Whether a count table will keep growing: a forecast of its distinct
//! keys at the end of a scan, from how many values the scan will count
//! (the files' metadata) and how fast new keys arrive.
//!
//! A partition that grows twice in a row pays two rehashes, and a table
//! whose keys keep arriving spends much of a scan at a high load, where an
//! insert probes far. So while the forecast says that a table's keys will
//! more than double again, its partitions grow fourfold instead of twofold
//! ([`grown_capacity`](super::partitioned::grown_capacity)): one rehash,
//! at most one doubling more than needed when the forecast is wrong.
//!
//! Keys are taken to grow as a power of the values counted, `keys ∝
//! counted^β`. The exponent is read from a window of recent values: `β` is
//! the rate of new keys in the window over the average rate so far (1 when
//! new keys arrive as fast as ever, as ids seen once do; near 0 once every
//! key has been seen). The table will then end with `keys × (expected /
//! counted)^β` keys.

/// The share of the expected values a window spans at least: 1/64.
const WINDOW_SHARE: u64 = 64;

/// What a table's forecast knows: the values the scan will count into it,
/// and the values and new keys of the current window.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Forecast {
    /// Values (nulls included) the scan will count in all; 0 when unknown
    /// (counting batches one by one): then nothing is forecast.
    expected: u64,
    window_values: u64,
    window_keys: u64,
}

impl Forecast {
    /// Adds `values` more to the values the scan will count.
    #[cfg(any(feature = "parquet", test))]
    pub(crate) fn expect(&mut self, values: u64) {
        self.expected = self.expected.saturating_add(values);
    }

    /// Notes an array of `values` values (nulls included), `new_keys` of
    /// them keys the table did not hold; `counted` values are counted in
    /// all now (these included), and the table holds `keys` keys. Once a
    /// window is full, says whether the table's keys will more than double
    /// by the end of the scan; `None` until then, and when the scan's size
    /// is unknown.
    pub(crate) fn observe(
        &mut self,
        counted: u64,
        values: u64,
        new_keys: usize,
        keys: usize,
    ) -> Option<bool> {
        if self.expected == 0 {
            return None;
        }
        self.window_values += values;
        self.window_keys += new_keys as u64;
        if self.window_values < (self.expected / WINDOW_SHARE).max(1) {
            return None;
        }
        let window = (self.window_values, self.window_keys);
        (self.window_values, self.window_keys) = (0, 0);
        Some(keys_double(self.expected, counted, window, keys))
    }
}

/// Whether `keys` keys after `counted` of `expected` values, the last
/// `window` (values, new keys) of them, grow to more than twice as many.
fn keys_double(expected: u64, counted: u64, window: (u64, u64), keys: usize) -> bool {
    let (window_values, window_keys) = window;
    if keys == 0 || counted == 0 || window_values == 0 || counted >= expected {
        return false;
    }
    let recent_rate = window_keys as f64 / window_values as f64;
    let average_rate = keys as f64 / counted as f64;
    let exponent = (recent_rate / average_rate).clamp(0.0, 1.0);
    exponent * (expected as f64 / counted as f64).ln() > std::f64::consts::LN_2
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_that_keep_arriving_double_and_saturated_ones_do_not() {
        // A fifth of 20M values counted, 1.3M keys, a quarter of the recent
        // values new (ids seen once): ~4.5M keys at the end.
        assert!(keys_double(
            20_000_000,
            4_000_000,
            (300_000, 75_000),
            1_300_000
        ));
        // The same table with no new keys lately.
        assert!(!keys_double(20_000_000, 4_000_000, (300_000, 0), 1_300_000));
        // Keys arriving as fast as ever, but past half the values.
        assert!(!keys_double(
            20_000_000,
            12_000_000,
            (300_000, 75_000),
            3_000_000
        ));
        // Half the values left: keys arriving at the average rate double.
        assert!(keys_double(
            20_000_000,
            9_000_000,
            (300_000, 30_000),
            900_000
        ));
        // Nothing counted, or everything.
        assert!(!keys_double(20_000_000, 0, (0, 0), 0));
        assert!(!keys_double(
            20_000_000,
            20_000_000,
            (300_000, 75_000),
            5_000_000
        ));
    }

    #[test]
    fn a_forecast_speaks_once_a_window_is_full_and_never_without_a_size() {
        let mut unknown = Forecast::default();
        assert_eq!(unknown.observe(1000, 1000, 1000, 1000), None);
        let mut f = Forecast::default();
        f.expect(6400);
        f.expect(6400);
        // Windows of 200 values: 150, then 50 more.
        assert_eq!(f.observe(150, 150, 150, 150), None);
        assert_eq!(f.observe(200, 50, 50, 200), Some(true));
        // A new window: no new keys in it.
        assert_eq!(f.observe(400, 200, 0, 200), Some(false));
    }
}
