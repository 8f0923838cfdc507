//! Seeded generators shared by the data generators (and the benches), and
//! the examples' flag parser.
#![allow(dead_code)]

use std::error::Error;

/// Command-line flags, `--name value` or a bare `--name`.
pub struct Args(std::iter::Skip<std::env::Args>);

impl Args {
    /// The process's flags.
    pub fn new() -> Args {
        Args(std::env::args().skip(1))
    }

    /// The next flag.
    pub fn flag(&mut self) -> Option<String> {
        self.0.next()
    }

    /// The value after `flag`, parsed.
    pub fn value<T>(&mut self, flag: &str) -> Result<T, Box<dyn Error>>
    where
        T: std::str::FromStr,
        T::Err: Error + 'static,
    {
        let value = self.0.next().ok_or(format!("{flag} needs a value"))?;
        Ok(value.parse()?)
    }
}

/// The error for a flag an example does not take.
pub fn unknown(flag: &str) -> Box<dyn Error> {
    format!("unknown argument {flag}").into()
}

/// splitmix64: small, fast, and the same everywhere.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    pub fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Samples ranks 0..n with probability proportional to 1 / (rank + 1)^s.
pub struct Zipf(Vec<f64>);

impl Zipf {
    pub fn new(n: usize, s: f64) -> Zipf {
        let mut cdf = Vec::with_capacity(n);
        let mut acc = 0.0;
        for k in 1..=n {
            acc += 1.0 / (k as f64).powf(s);
            cdf.push(acc);
        }
        cdf.iter_mut().for_each(|c| *c /= acc);
        Zipf(cdf)
    }
    pub fn sample(&self, rng: &mut Rng) -> usize {
        let u = rng.unit();
        self.0.partition_point(|&c| c < u).min(self.0.len() - 1)
    }
}
