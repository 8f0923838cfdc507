//! What fresh memory costs on this machine: maps `--mib` MiB anonymously
//! (advised `MADV_HUGEPAGE` with `--huge-pages`, Linux), writes one byte per
//! 4 KiB page, unmaps it, and does so `--rounds` times in one process.
//!
//! The first round pays for memory the process has never had; later rounds
//! get back pages it freed a moment ago. Run it twice in a row, and again
//! after a pause, to see how the VM hands memory to a new process.
//!
//! ```text
//! cargo run --release --example first_touch -- --mib 600 --rounds 3 [--huge-pages]
//! ```

use std::time::Instant;

use memmap2::MmapOptions;

#[path = "common/mod.rs"]
mod common;

use common::{Args, unknown};

const PAGE: usize = 4096;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut mib = 600usize;
    let mut rounds = 3usize;
    let mut huge_pages = false;
    let mut args = Args::new();
    while let Some(a) = args.flag() {
        match a.as_str() {
            "--mib" => mib = args.value(&a)?,
            "--rounds" => rounds = args.value(&a)?,
            "--huge-pages" => huge_pages = true,
            other => return Err(unknown(other)),
        }
    }
    let pages = if huge_pages {
        "huge pages"
    } else {
        "4 KiB pages"
    };
    for round in 1..=rounds {
        let start = Instant::now();
        let mut map = MmapOptions::new().len(mib << 20).map_anon()?;
        if huge_pages {
            #[cfg(target_os = "linux")]
            map.advise(memmap2::Advice::HugePage)?;
        }
        for at in (0..map.len()).step_by(PAGE) {
            map[at] = 1;
        }
        let secs = start.elapsed().as_secs_f64();
        drop(map);
        println!(
            "round {round}: {mib} MiB in {pages}: {:.0} ms ({:.2} GiB/s)",
            secs * 1e3,
            mib as f64 / 1024.0 / secs
        );
    }
    Ok(())
}
