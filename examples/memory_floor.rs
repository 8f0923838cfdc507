//! The memory floor of counting: what one random read-modify-write of a
//! table slot costs on this machine, when the table is far larger than the
//! caches and accesses go in groups of 16 (as oovocab's count tables and
//! lookups probe), on 1 and on 2 threads at once.
//!
//! Each thread owns a table of `--mib` MiB of 16-byte slots (the size of
//! one thread's `user_id` count table on the benchmark data is ~64 MiB) and
//! adds 1 to `--accesses` random slots. No hashing, no keys, no Parquet:
//! whatever counts a value per row into such a table pays at least this.
//! With `--huge-pages` the tables are anonymous mappings advised
//! `MADV_HUGEPAGE` (Linux), to see whether fewer TLB misses would help.
//!
//! ```text
//! cargo run --release --example memory_floor -- --mib 64 --accesses 20000000 [--huge-pages]
//! ```

use std::time::Instant;

#[path = "common/mod.rs"]
mod common;

use common::{Args, Rng, unknown};

const GROUP: usize = 16;
const SLOT: usize = 16;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut mib = 64usize;
    let mut accesses = 20_000_000usize;
    let mut huge_pages = false;
    let mut args = Args::new();
    while let Some(a) = args.flag() {
        match a.as_str() {
            "--mib" => mib = args.value(&a)?,
            "--accesses" => accesses = args.value(&a)?,
            "--huge-pages" => huge_pages = true,
            other => return Err(unknown(other)),
        }
    }
    let pages = if huge_pages {
        "huge pages advised"
    } else {
        "heap"
    };
    for threads in [1, 2] {
        for grouped in [false, true] {
            let ns: Vec<f64> = std::thread::scope(|s| {
                let workers: Vec<_> = (0..threads)
                    .map(|t| {
                        s.spawn(move || {
                            let mut table = Table::new(mib << 20, huge_pages)?;
                            let ns = run(table.bytes(), accesses, grouped, t as u64);
                            if huge_pages && t == 0 {
                                // While the table is alive: did the kernel back it?
                                eprintln!("  {}", anon_huge_pages());
                            }
                            Ok::<f64, std::io::Error>(ns)
                        })
                    })
                    .collect();
                workers
                    .into_iter()
                    .map(|w| w.join().expect("worker"))
                    .collect::<Result<_, _>>()
            })?;
            let mean = ns.iter().sum::<f64>() / ns.len() as f64;
            println!(
                "{mib} MiB per thread ({pages}), {threads} thread(s), {}: {mean:.1} ns per access per thread",
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

/// A table's memory: from the heap, or an anonymous mapping advised to use
/// huge pages.
enum Table {
    Heap(Vec<u8>),
    Mapped(memmap2::MmapMut),
}

impl Table {
    fn new(bytes: usize, huge_pages: bool) -> std::io::Result<Table> {
        if !huge_pages {
            return Ok(Table::Heap(vec![0; bytes]));
        }
        let map = memmap2::MmapMut::map_anon(bytes)?;
        #[cfg(target_os = "linux")]
        map.advise(memmap2::Advice::HugePage)?;
        Ok(Table::Mapped(map))
    }

    fn bytes(&mut self) -> &mut [u8] {
        match self {
            Table::Heap(v) => v,
            Table::Mapped(m) => m,
        }
    }
}

/// This process's `AnonHugePages` line from `/proc/self/smaps_rollup`.
fn anon_huge_pages() -> String {
    std::fs::read_to_string("/proc/self/smaps_rollup")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("AnonHugePages"))
                .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        })
        .unwrap_or_else(|| "AnonHugePages: unknown".into())
}

/// Adds 1 to the count (second word) of slot `i`; returns the new count.
#[inline]
fn bump(table: &mut [u8], i: usize) -> u64 {
    let at = i * SLOT + 8;
    let word: &mut [u8; 8] = (&mut table[at..at + 8]).try_into().expect("8 bytes");
    let n = u64::from_le_bytes(*word) + 1;
    *word = n.to_le_bytes();
    n
}

/// Nanoseconds per random increment into `table`, every page of which is
/// written first, so that none is mapped while timing.
fn run(table: &mut [u8], accesses: usize, grouped: bool, seed: u64) -> f64 {
    table.fill(1);
    let slots = (table.len() / SLOT) as u64;
    let mut rng = Rng(seed);
    let start = Instant::now();
    if grouped {
        let mut at = [0usize; GROUP];
        for _ in 0..accesses / GROUP {
            at.iter_mut().for_each(|a| *a = rng.below(slots) as usize);
            for &a in &at {
                bump(table, a);
            }
        }
    } else {
        // Each access depends on the previous one: no overlap at all.
        let mut a = 0usize;
        for _ in 0..accesses {
            let n = bump(table, a);
            a = ((rng.next() ^ n) % slots) as usize;
        }
    }
    let elapsed = start.elapsed().as_nanos() as f64 / accesses as f64;
    std::hint::black_box(table);
    elapsed
}
