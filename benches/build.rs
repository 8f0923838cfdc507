//! `build` on the committed fixtures (80k rows, 5 features), 1 and 2
//! threads, and counting in memory per array type.

mod common;

use std::hint::black_box;
use std::sync::Arc;

use arrow_array::types::Int32Type;
use arrow_array::{ArrayRef, DictionaryArray, Int64Array, RecordBatch, StringArray};
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
    let mut rng = Rng(7);
    let ids: Vec<u64> = (0..ROWS).map(|_| rng.next() % 20_000).collect();
    let strings: ArrayRef = Arc::new(StringArray::from(
        ids.iter().map(|i| format!("item-{i}")).collect::<Vec<_>>(),
    ));
    let dict: ArrayRef = Arc::new(
        ids.iter()
            .map(|i| format!("c{}", i % 500))
            .collect::<Vec<_>>()
            .iter()
            .map(String::as_str)
            .collect::<DictionaryArray<Int32Type>>(),
    );
    let ints: ArrayRef = Arc::new(Int64Array::from(
        ids.iter().map(|&i| i as i64).collect::<Vec<_>>(),
    ));
    let mut g = c.benchmark_group("count_batch");
    g.throughput(Throughput::Elements(ROWS as u64));
    for (name, array) in [
        ("utf8_20k", strings),
        ("dictionary_500", dict),
        ("int64_20k", ints),
    ] {
        let spec = Spec::from_toml_str("[[feature]]\nname = \"c\"\n").unwrap();
        let batch = RecordBatch::try_from_iter([("c", array)]).unwrap();
        g.bench_function(name, |b| {
            b.iter(|| {
                let mut counts = Counts::new(&spec);
                counts.add_batch(&batch).unwrap();
                black_box(counts)
            })
        });
    }
    g.finish();
}

criterion_group!(benches, build_fixtures, count_arrays);
criterion_main!(benches);
