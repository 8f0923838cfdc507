//! The floor for `build`: read the given columns of Parquet files with
//! arrow-rs, in parallel over row groups, and do nothing with them.
//!
//! ```text
//! cargo run --release --example bare_read -- --threads 2 --columns item_id,publisher,category,user_id,tags target/bench-data
//! ```

use std::fs::File;
use std::path::PathBuf;

use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder,
};
use rayon::prelude::*;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut threads = 0;
    let mut columns: Vec<String> = Vec::new();
    let mut inputs = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--threads" => threads = args.next().ok_or("--threads needs a value")?.parse()?,
            "--columns" => {
                columns = args
                    .next()
                    .ok_or("--columns needs a value")?
                    .split(',')
                    .map(String::from)
                    .collect()
            }
            _ => inputs.push(PathBuf::from(a)),
        }
    }
    let files = oovocab::discover_inputs(&inputs)?;
    let started = std::time::Instant::now();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()?;
    let units: Vec<(PathBuf, ArrowReaderMetadata, usize)> = files
        .iter()
        .flat_map(|p| {
            let meta =
                ArrowReaderMetadata::load(&File::open(p).unwrap(), ArrowReaderOptions::new())
                    .unwrap();
            let groups = meta.metadata().num_row_groups();
            (0..groups)
                .map(move |g| (p.clone(), meta.clone(), g))
                .collect::<Vec<_>>()
        })
        .collect();
    let rows: usize = pool.install(|| {
        units
            .par_iter()
            .map(|(path, meta, g)| {
                let roots: Vec<usize> = columns
                    .iter()
                    .map(|c| meta.schema().index_of(c).unwrap())
                    .collect();
                let mask = ProjectionMask::roots(meta.parquet_schema(), roots);
                let reader = ParquetRecordBatchReaderBuilder::new_with_metadata(
                    File::open(path).unwrap(),
                    meta.clone(),
                )
                .with_projection(mask)
                .with_row_groups(vec![*g])
                .with_batch_size(64 * 1024)
                .build()
                .unwrap();
                reader.map(|b| b.unwrap().num_rows()).sum::<usize>()
            })
            .sum()
    });
    eprintln!(
        "read {rows} rows in {:.2}s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
