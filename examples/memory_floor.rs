//! The memory floor of counting: what one random read-modify-write of a
//! table slot costs on this machine, when the table is far larger than the
//! caches and accesses go in groups of 16 (as oovocab's count tables and
//! lookups probe), on 1 and on 2 threads at once.
//!
//! Each thread owns a table of `--mib` MiB of 16-byte slots (the size of
//! one thread's `user_id` count table on the benchmark data is ~64 MiB) and
//! adds 1 to `--accesses` random slots. No hashing, no keys, no Parquet:
//! whatever counts a value per row into such a table pays at least this.
//!
//! ```text
//! cargo run --release --example memory_floor -- --mib 64 --accesses 20000000
//! ```

use std::time::Instant;

#[path = "common/mod.rs"]
mod common;

use common::Rng;

const GROUP: usize = 16;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut mib = 64usize;
    let mut accesses = 20_000_000usize;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--mib" => mib = value()?.parse()?,
            "--accesses" => accesses = value()?.parse()?,
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    for threads in [1, 2] {
        for grouped in [false, true] {
            let ns: Vec<f64> = std::thread::scope(|s| {
                let workers: Vec<_> = (0..threads)
                    .map(|t| s.spawn(move || run(mib, accesses, grouped, t as u64)))
                    .collect();
                workers.into_iter().map(|w| w.join().unwrap()).collect()
            });
            let mean = ns.iter().sum::<f64>() / ns.len() as f64;
            println!(
                "{mib} MiB per thread, {threads} thread(s), {}: {mean:.1} ns per access per thread",
                if grouped {
                    "groups of 16"
                } else {
                    "one at a time"
                }
            );
        }
    }
    Ok(())
}

/// Nanoseconds per random increment into a fresh table of `mib` MiB.
fn run(mib: usize, accesses: usize, grouped: bool, seed: u64) -> f64 {
    let slots = (mib << 20) / 16;
    // Written, not calloc'ed, so that every page is mapped before timing.
    let mut table: Vec<(u64, u64)> = Vec::with_capacity(slots);
    table.resize(slots, (1, 0));
    let mut rng = Rng(seed);
    let start = Instant::now();
    if grouped {
        let mut at = [0usize; GROUP];
        for _ in 0..accesses / GROUP {
            at.iter_mut()
                .for_each(|a| *a = rng.below(slots as u64) as usize);
            for &a in &at {
                table[a].1 += 1;
            }
        }
    } else {
        // Each access depends on the previous one: no overlap at all.
        let mut a = 0usize;
        for _ in 0..accesses {
            table[a].1 += 1;
            a = ((rng.next() ^ table[a].1) % slots as u64) as usize;
        }
    }
    let elapsed = start.elapsed().as_nanos() as f64 / accesses as f64;
    std::hint::black_box(&table);
    elapsed
}
