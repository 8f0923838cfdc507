//! Writes the benchmark click log (not committed: generate it).
//!
//! ```text
//! cargo run --release --example gen_bench -- --rows 20000000 --files 5 --out target/bench-data
//! ```
//!
//! Deterministic. Per row: `item_id` (string; 80% Zipf over a 2M-item
//! catalogue, 20% long-tail ids that are mostly seen once: ~5M distinct at
//! 20M rows), `publisher` (string, Zipf over 50k, 2% null), `category`
//! (dictionary-encoded string, 500 values), `user_id` (int64, ~2M users),
//! `tags` (list<string>, 0-4 of 20k Zipf tags, ~2.4 per row), `ts`
//! (timestamp) and `clicked` (bool). Snappy, row groups of 512k rows.

use std::fs::File;
use std::path::PathBuf;
use std::sync::Arc;

use arrow_array::builder::{ListBuilder, StringBuilder, StringDictionaryBuilder};
use arrow_array::types::Int32Type;
use arrow_array::{ArrayRef, BooleanArray, Int64Array, RecordBatch, TimestampMillisecondArray};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

mod common;

use common::{Args, Rng, Zipf, unknown};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut out = PathBuf::from("target/bench-data");
    let mut rows = 20_000_000usize;
    let mut files = 5usize;
    let mut args = Args::new();
    while let Some(a) = args.flag() {
        match a.as_str() {
            "--out" => out = args.value(&a)?,
            "--rows" => rows = args.value(&a)?,
            "--files" => files = args.value(&a)?,
            other => return Err(unknown(other)),
        }
    }
    std::fs::create_dir_all(&out)?;
    let items = Zipf::new(2_000_000, 1.05);
    let publishers = Zipf::new(50_000, 1.1);
    let categories = Zipf::new(500, 0.9);
    let tags = Zipf::new(20_000, 1.0);
    let mut rng = Rng(4);
    let per_file = rows.div_ceil(files);
    let batch_rows = 65_536;
    for f in 0..files {
        let path = out.join(format!("part-{f}.parquet"));
        let props = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_max_row_group_row_count(Some(512 * 1024))
            .build();
        let mut writer: Option<ArrowWriter<File>> = None;
        let file_rows = per_file.min(rows - f * per_file);
        let mut done = 0;
        while done < file_rows {
            let n = batch_rows.min(file_rows - done);
            let mut item = StringBuilder::new();
            let mut publisher = StringBuilder::new();
            let mut category = StringDictionaryBuilder::<Int32Type>::new();
            let mut user = Vec::with_capacity(n);
            let mut tag_lists = ListBuilder::new(StringBuilder::new());
            let mut ts = Vec::with_capacity(n);
            let mut clicked = Vec::with_capacity(n);
            for r in 0..n {
                if rng.below(5) == 0 {
                    item.append_value(format!("tail-{}", rng.below(100_000_000)));
                } else {
                    item.append_value(format!("item-{}", items.sample(&mut rng)));
                }
                if rng.below(50) == 0 {
                    publisher.append_null();
                } else {
                    publisher.append_value(format!("publisher-{}", publishers.sample(&mut rng)));
                }
                category.append_value(format!("category-{}", categories.sample(&mut rng)));
                user.push((rng.below(2_000_000) as i64).wrapping_mul(0x5851_f42d_4c95_7f2d) >> 16);
                for _ in 0..rng.below(5) {
                    tag_lists
                        .values()
                        .append_value(format!("tag-{}", tags.sample(&mut rng)));
                }
                tag_lists.append(true);
                ts.push(1_767_225_600_000 + ((f * per_file + done + r) as i64) * 7);
                clicked.push(rng.below(20) == 0);
            }
            let batch = RecordBatch::try_from_iter([
                ("item_id", Arc::new(item.finish()) as ArrayRef),
                ("publisher", Arc::new(publisher.finish()) as ArrayRef),
                ("category", Arc::new(category.finish()) as ArrayRef),
                ("user_id", Arc::new(Int64Array::from(user)) as ArrayRef),
                ("tags", Arc::new(tag_lists.finish()) as ArrayRef),
                (
                    "ts",
                    Arc::new(TimestampMillisecondArray::from(ts).with_timezone("UTC")) as ArrayRef,
                ),
                ("clicked", Arc::new(BooleanArray::from(clicked)) as ArrayRef),
            ])?;
            if writer.is_none() {
                writer = Some(ArrowWriter::try_new(
                    File::create(&path)?,
                    batch.schema(),
                    Some(props.clone()),
                )?);
            }
            writer.as_mut().expect("created above").write(&batch)?;
            done += n;
        }
        if let Some(w) = writer {
            w.close()?;
        }
        eprintln!("wrote {} ({} rows)", path.display(), file_rows);
    }
    Ok(())
}
