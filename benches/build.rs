//! `build` on the committed fixtures (80k rows, 5 features), 1 and 2
//! threads, and counting in memory per array type.

mod common;

use std::hint::black_box;
use std::sync::Arc;

use arrow_array::builder::{ListBuilder, StringBuilder};
use arrow_array::types::Int32Type;
use arrow_array::{
    ArrayRef, DictionaryArray, Int64Array, LargeStringArray, RecordBatch, StringArray,
    StringViewArray,
};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use oovocab::{Counts, Spec, VocabularyBuilder};

use common::*;

fn build_fixtures(c: &mut Criterion) {
    let mut g = c.benchmark_group("build_fixtures");
    g.throughput(Throughput::Elements(80_000));
    g.sample_size(30);
    for threads in [1, 2] {
        g.bench_with_input(
            BenchmarkId::from_parameter(threads),
            &threads,
            |b, &threads| {
                b.iter(|| {
                    let mut builder = VocabularyBuilder::new(clicks_spec()).threads(threads);
                    builder.add_paths(&[fixtures().join("clicks")]).unwrap();
                    black_box(builder.into_bytes().unwrap())
                })
            },
        );
    }
    g.finish();
}

fn count_arrays(c: &mut Criterion) {
    const ROWS: usize = 1 << 16;
    let mut g = c.benchmark_group("count_batch");
    g.throughput(Throughput::Elements(ROWS as u64));
    let spec = Spec::from_toml_str("[[feature]]\nname = \"c\"\n").unwrap();
    for distinct in [100u64, 50_000] {
        let mut rng = Rng(7);
        let ids: Vec<u64> = (0..ROWS).map(|_| rng.next() % distinct).collect();
        let strings: Vec<String> = ids.iter().map(|i| format!("item-{i}")).collect();
        let strs: Vec<&str> = strings.iter().map(String::as_str).collect();
        let mut list = ListBuilder::new(StringBuilder::new());
        for chunk in strs.chunks(4) {
            list.append_value(chunk.iter().map(|s| Some(*s)));
        }
        let arrays: Vec<(&str, ArrayRef)> = vec![
            ("utf8", Arc::new(StringArray::from(strs.clone()))),
            ("large_utf8", Arc::new(LargeStringArray::from(strs.clone()))),
            ("utf8_view", Arc::new(StringViewArray::from(strs.clone()))),
            (
                "dictionary",
                Arc::new(strs.iter().copied().collect::<DictionaryArray<Int32Type>>()),
            ),
            (
                "int64",
                Arc::new(Int64Array::from(
                    ids.iter().map(|&i| i as i64).collect::<Vec<_>>(),
                )),
            ),
            ("list_utf8", Arc::new(list.finish())),
        ];
        for (name, array) in arrays {
            let batch = RecordBatch::try_from_iter([("c", array)]).unwrap();
            g.bench_function(BenchmarkId::new(name, distinct), |b| {
                b.iter(|| {
                    let mut counts = Counts::new(&spec);
                    counts.add_batch(&batch).unwrap();
                    black_box(counts)
                })
            });
        }
    }
    g.finish();
}

criterion_group!(benches, build_fixtures, count_arrays);
criterion_main!(benches);
