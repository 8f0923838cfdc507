//! Writes the committed click-log fixtures under `fixtures/clicks/`.
//!
//! ```text
//! cargo run --example gen_fixtures -- [--out fixtures/clicks] [--rows-per-day 20000]
//! ```
//!
//! Deterministic: the same arguments write the same files. Four days of
//! clicks; each day is one file with its own compression, row-group size and
//! `item_id` string type, and new items appear every day (Zipf popularity
//! over a long-lived catalogue, plus items new each day), so a vocabulary
//! built on the early days meets unseen items on the late ones.

use std::fs::File;
use std::path::PathBuf;
use std::sync::Arc;

use arrow_array::builder::{ListBuilder, StringBuilder};
use arrow_array::types::Int32Type;
use arrow_array::{
    ArrayRef, BooleanArray, DictionaryArray, Int64Array, LargeStringArray, RecordBatch,
    StringArray, StringViewArray, TimestampMillisecondArray,
};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, GzipLevel, ZstdLevel};
use parquet::file::properties::WriterProperties;

mod common;

use common::{Rng, Zipf};

const CATEGORIES: [&str; 12] = [
    "news/world",
    "news/local",
    "sports/football",
    "sports/tennis",
    "tech",
    "science",
    "culture/film",
    "culture/music",
    "food",
    "travel",
    "économie",
    "健康",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut out = PathBuf::from("fixtures/clicks");
    let mut rows_per_day = 20_000usize;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--out" => out = PathBuf::from(args.next().ok_or("--out needs a value")?),
            "--rows-per-day" => {
                rows_per_day = args.next().ok_or("--rows-per-day needs a value")?.parse()?
            }
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    std::fs::create_dir_all(&out)?;
    let items = Zipf::new(40_000, 1.05);
    let new_items = Zipf::new(3_000, 1.1);
    let publishers = Zipf::new(600, 1.2);
    let tags = Zipf::new(300, 1.0);
    let categories = Zipf::new(CATEGORIES.len(), 0.8);
    let mut rng = Rng(20261122);
    let day_ms = 86_400_000i64;
    let start_ms = 1_767_225_600_000i64; // 2026-01-01
    for day in 0..4usize {
        let n = rows_per_day;
        let mut item = Vec::with_capacity(n);
        let mut publisher = Vec::with_capacity(n);
        let mut category_keys = Vec::with_capacity(n);
        let mut user = Vec::with_capacity(n);
        let mut tag_lists = ListBuilder::new(StringBuilder::new());
        let mut ts = Vec::with_capacity(n);
        let mut clicked = Vec::with_capacity(n);
        for r in 0..n {
            // Most clicks go to a long-lived catalogue; 15% go to items
            // new that day, with a popularity of their own.
            item.push(match rng.below(1000) {
                0 | 1 => String::new(),
                2..=4 => format!("artículo-{}", rng.below(50)),
                5..=154 => format!("new-{}-{}", day + 1, new_items.sample(&mut rng)),
                _ => format!("item-{}", items.sample(&mut rng)),
            });
            publisher.push(
                (rng.below(100) >= 4).then(|| format!("pub-{}", publishers.sample(&mut rng))),
            );
            category_keys.push((rng.below(100) != 0).then(|| categories.sample(&mut rng) as i32));
            user.push(if rng.below(100) < 3 {
                -1
            } else {
                rng.below(30_000) as i64 + 1
            });
            match rng.below(50) {
                0 => tag_lists.append(false),
                _ => {
                    for _ in 0..rng.below(5) {
                        if rng.below(100) == 0 {
                            tag_lists.values().append_null();
                        } else {
                            tag_lists
                                .values()
                                .append_value(format!("t{}", tags.sample(&mut rng)));
                        }
                    }
                    tag_lists.append(true);
                }
            }
            ts.push(start_ms + day as i64 * day_ms + (r as i64 * day_ms) / n as i64);
            clicked.push(rng.below(10) == 0);
        }
        let item: ArrayRef = match day {
            0 | 3 => Arc::new(StringArray::from(item)),
            1 => Arc::new(LargeStringArray::from(item)),
            _ => Arc::new(StringViewArray::from(item)),
        };
        let category = DictionaryArray::<Int32Type>::new(
            category_keys.into_iter().collect(),
            Arc::new(StringArray::from(CATEGORIES.to_vec())),
        );
        let batch = RecordBatch::try_from_iter([
            ("item_id", item),
            (
                "publisher",
                Arc::new(StringArray::from(publisher)) as ArrayRef,
            ),
            ("category", Arc::new(category) as ArrayRef),
            ("user_id", Arc::new(Int64Array::from(user)) as ArrayRef),
            ("tags", Arc::new(tag_lists.finish()) as ArrayRef),
            (
                "ts",
                Arc::new(TimestampMillisecondArray::from(ts).with_timezone("UTC")) as ArrayRef,
            ),
            ("clicked", Arc::new(BooleanArray::from(clicked)) as ArrayRef),
        ])?;
        let (compression, row_group) = match day {
            0 => (Compression::SNAPPY, 8_192),
            1 => (Compression::ZSTD(ZstdLevel::try_new(3)?), 6_000),
            2 => (Compression::GZIP(GzipLevel::default()), 20_000),
            _ => (Compression::UNCOMPRESSED, 5_000),
        };
        let props = WriterProperties::builder()
            .set_compression(compression)
            .set_max_row_group_row_count(Some(row_group))
            .set_created_by("oovocab gen_fixtures".to_string())
            .build();
        let path = out.join(format!("day-{}.parquet", day + 1));
        let mut writer = ArrowWriter::try_new(File::create(&path)?, batch.schema(), Some(props))?;
        writer.write(&batch)?;
        writer.close()?;
        eprintln!("wrote {} ({} rows)", path.display(), n);
    }
    Ok(())
}
