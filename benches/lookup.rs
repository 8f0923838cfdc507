//! Single-value lookups (hit and miss) against a `HashMap<String, u32>`
//! baseline, and artifact open time.

mod common;

use std::collections::HashMap;
use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use oovocab::Vocabulary;

use common::*;

/// Vocabulary sizes: 1k, 1M and 10M keys (set OOVOCAB_BENCH_SMALL=1 to
/// skip 10M, whose setup takes about a minute and 3 GB).
fn sizes() -> Vec<usize> {
    if std::env::var_os("OOVOCAB_BENCH_SMALL").is_some() {
        vec![1_000, 1_000_000]
    } else {
        vec![1_000, 1_000_000, 10_000_000]
    }
}

fn lookups(c: &mut Criterion) {
    let mut g = c.benchmark_group("id");
    for n in sizes() {
        let vocab = vocabulary_of(n);
        let feature = vocab.feature("k").unwrap();
        let probes: Vec<String> = {
            let mut rng = Rng(1);
            (0..1024).map(|_| key(rng.next() as usize % n)).collect()
        };
        let misses: Vec<String> = (0..1024).map(|i| format!("missing-{i}")).collect();
        let mut i = 0;
        g.bench_with_input(BenchmarkId::new("hit", n), &n, |b, _| {
            b.iter(|| {
                i = (i + 1) & 1023;
                black_box(feature.id(probes[i].as_str()))
            })
        });
        g.bench_with_input(BenchmarkId::new("miss", n), &n, |b, _| {
            b.iter(|| {
                i = (i + 1) & 1023;
                black_box(feature.id(misses[i].as_str()))
            })
        });
        if n <= 1_000_000 {
            let baseline: HashMap<String, u32> = (0..n).map(|i| (key(i), i as u32)).collect();
            g.bench_with_input(BenchmarkId::new("hashmap_baseline_hit", n), &n, |b, _| {
                b.iter(|| {
                    i = (i + 1) & 1023;
                    black_box(baseline.get(probes[i].as_str()))
                })
            });
        }
    }
    g.finish();
}

fn open(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let mut g = c.benchmark_group("open");
    g.sample_size(20);
    for n in sizes() {
        let path = dir.path().join(format!("{n}.oov"));
        save_vocabulary_of(n, &path);
        g.bench_with_input(BenchmarkId::from_parameter(n), &path, |b, path| {
            b.iter(|| black_box(Vocabulary::open(path).unwrap()))
        });
    }
    g.finish();
}

criterion_group!(benches, lookups, open);
criterion_main!(benches);
