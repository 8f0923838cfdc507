//! Batch lookups (`Feature::ids`) on plain and dictionary string arrays, and
//! `apply` on the committed fixtures.

mod common;

use std::hint::black_box;
use std::sync::Arc;

use arrow_array::types::Int32Type;
use arrow_array::{ArrayRef, DictionaryArray, RecordBatch, StringArray};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use oovocab::{Mode, Spec, Transformer, Vocabulary, VocabularyBuilder, apply_files};

use common::*;

const ROWS: usize = 1 << 16;

fn batch_lookup(c: &mut Criterion) {
    let mut rng = Rng(11);
    let ids: Vec<u64> = (0..ROWS).map(|_| rng.next() % 20_000).collect();
    let plain: Vec<String> = ids.iter().map(|i| format!("item-{i}")).collect();
    let spec = Spec::from_toml_str("[[feature]]\nname = \"c\"\noov_buckets = 8\n").unwrap();
    let mut b = VocabularyBuilder::new(spec);
    b.add_batch(
        &RecordBatch::try_from_iter([(
            "c",
            Arc::new(StringArray::from(plain.clone())) as ArrayRef,
        )])
        .unwrap(),
    )
    .unwrap();
    let vocab = b.build().unwrap();
    let feature = vocab.feature("c").unwrap();
    let strings = StringArray::from(plain.clone());
    let dict: DictionaryArray<Int32Type> = ids
        .iter()
        .map(|i| format!("item-{}", i % 500))
        .collect::<Vec<_>>()
        .iter()
        .map(String::as_str)
        .collect();
    let mut g = c.benchmark_group("ids");
    g.throughput(Throughput::Elements(ROWS as u64));
    g.bench_function("utf8_20k_distinct", |b| {
        b.iter(|| black_box(feature.ids(&strings).unwrap()))
    });
    g.bench_function("dictionary_500_entries", |b| {
        b.iter(|| black_box(feature.ids(&dict).unwrap()))
    });
    g.finish();
    // A whole batch through the transformer: the plain column, the
    // dictionary column, and training mode's injection test.
    let batch = RecordBatch::try_from_iter([
        ("c", Arc::new(strings.clone()) as ArrayRef),
        ("d", Arc::new(dict.clone()) as ArrayRef),
    ])
    .unwrap();
    let spec = Spec::from_toml_str(
        "[[feature]]\nname = \"c\"\noov_buckets = 8\n\n[[feature]]\nname = \"d\"\n",
    )
    .unwrap();
    let mut both = VocabularyBuilder::new(spec);
    both.add_batch(&batch).unwrap();
    let vocab2 = Arc::new(both.build().unwrap());
    let mut g = c.benchmark_group("transform_batch");
    g.throughput(Throughput::Elements(ROWS as u64));
    for (name, mode) in [
        ("infer", Mode::Infer),
        ("train", Mode::Train { seed: 1, epoch: 0 }),
    ] {
        let t = Transformer::new(vocab2.clone())
            .with_mode(mode)
            .with_oov_rate(0.1)
            .unwrap();
        g.bench_function(name, |b| b.iter(|| black_box(t.transform(&batch).unwrap())));
    }
    g.finish();
}

fn apply_fixtures(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let mut b = VocabularyBuilder::new(clicks_spec());
    b.add_paths(&[fixtures().join("clicks")]).unwrap();
    let vocab: Arc<Vocabulary> = Arc::new(b.build().unwrap());
    let mut g = c.benchmark_group("apply_fixtures");
    g.throughput(Throughput::Elements(80_000));
    g.sample_size(20);
    for (name, mode) in [
        ("infer", Mode::Infer),
        ("train", Mode::Train { seed: 1, epoch: 0 }),
    ] {
        let t = Transformer::new(vocab.clone())
            .with_mode(mode)
            .with_oov_rate(0.1)
            .unwrap();
        for threads in [1usize, 2] {
            g.bench_with_input(
                BenchmarkId::new(name, threads),
                &threads,
                |bench, &threads| {
                    bench.iter(|| {
                        black_box(
                            apply_files(
                                &t,
                                &[fixtures().join("clicks")],
                                dir.path().join("out"),
                                threads,
                                &(),
                            )
                            .unwrap(),
                        )
                    })
                },
            );
        }
    }
    g.finish();
}

criterion_group!(benches, batch_lookup, apply_fixtures);
criterion_main!(benches);
