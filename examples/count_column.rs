//! The count kernel alone: load one column of Parquet files into memory,
//! then count it with `Counts::add_batch` on one thread, several times,
//! and print the time per value. No reading, decoding or merging is timed,
//! so changes to the count tables can be compared without the noise of the
//! rest of `build`.
//!
//! ```text
//! cargo run --release --example count_column -- --column item_id --rounds 3 target/bench-data-5000000
//! ```

use std::fs::File;
use std::path::PathBuf;
use std::time::Instant;

use arrow_array::RecordBatch;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut column = String::from("item_id");
    let mut rounds = 3usize;
    let mut inputs = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--column" => column = args.next().ok_or("--column needs a value")?,
            "--rounds" => rounds = args.next().ok_or("--rounds needs a value")?.parse()?,
            _ => inputs.push(PathBuf::from(a)),
        }
    }
    let mut batches: Vec<RecordBatch> = Vec::new();
    for path in oovocab::discover_inputs(&inputs)? {
        let builder = ParquetRecordBatchReaderBuilder::try_new(File::open(&path)?)?;
        let mask = ProjectionMask::columns(builder.parquet_schema(), [column.as_str()]);
        for batch in builder.with_projection(mask).build()? {
            batches.push(batch?);
        }
    }
    let values: usize = batches.iter().map(RecordBatch::num_rows).sum();
    let spec = oovocab::Spec::from_toml_str(&format!("[[feature]]\nname = \"{column}\"\n"))?;
    for round in 0..rounds {
        let mut counts = oovocab::Counts::new(&spec);
        let started = Instant::now();
        for batch in &batches {
            counts.add_batch(batch)?;
        }
        let took = started.elapsed();
        let distinct = counts.feature(&column).map_or(0, |f| f.distinct_count());
        // Again into the same table: every value is a hit.
        let again = Instant::now();
        for batch in &batches {
            counts.add_batch(batch)?;
        }
        let hits = again.elapsed();
        println!(
            "round {round}: {values} rows of {column}, {distinct} distinct, {:.3} s, {:.1} ns per row; again (all hits) {:.1} ns per row",
            took.as_secs_f64(),
            took.as_secs_f64() * 1e9 / values as f64,
            hits.as_secs_f64() * 1e9 / values as f64
        );
    }
    Ok(())
}
