use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use arrow_array::{ArrayRef, RecordBatch, StringArray};
use oovocab::{Spec, Transformer, Vocabulary, VocabularyBuilder};

use crate::util::*;

fn builder(prefix: &str) -> VocabularyBuilder {
    let spec = Spec::from_toml_str("[[feature]]\nname = \"k\"\noov_buckets = 4\n").unwrap();
    let mut b = VocabularyBuilder::new(spec);
    // Key i is seen 1000 - i times, so ids follow i.
    let keys: Vec<String> = (0..1000)
        .flat_map(|i| std::iter::repeat_n(format!("{prefix}{i}"), 1000 - i))
        .collect();
    b.add_batch(
        &RecordBatch::try_from_iter([("k", Arc::new(StringArray::from(keys)) as ArrayRef)])
            .unwrap(),
    )
    .unwrap();
    b
}

/// 8 threads look up and transform with one opened vocabulary while the
/// file on disk is replaced, again and again, by builds of other data:
/// the open vocabulary keeps answering from the file it opened, and every
/// fresh open sees one complete version or the other.
#[test]
fn readers_keep_their_version_while_the_file_is_replaced() {
    let dir = tempdir();
    let path = dir.path().join("v.oov");
    builder("a").save(&path).unwrap();
    let opened = Arc::new(Vocabulary::open(&path).unwrap());
    let stop = AtomicBool::new(false);
    let batch = RecordBatch::try_from_iter([(
        "k",
        Arc::new(StringArray::from(vec!["a0", "a5", "b5", "zz"])) as ArrayRef,
    )])
    .unwrap();
    std::thread::scope(|s| {
        for _ in 0..7 {
            s.spawn(|| {
                let t = Transformer::new(opened.clone());
                let f = opened.feature("k").unwrap();
                while !stop.load(Ordering::Relaxed) {
                    for i in (0..1000).step_by(37) {
                        assert_eq!(f.id(format!("a{i}").as_str()), 6 + i as u32);
                    }
                    assert!(f.layout().is_oov(f.id("b5")));
                    let out = t.transform(&batch).unwrap();
                    assert_eq!(out.num_rows(), 4);
                }
            });
        }
        s.spawn(|| {
            while !stop.load(Ordering::Relaxed) {
                let v = Vocabulary::open(&path).unwrap();
                let f = v.feature("k").unwrap();
                let (a, b) = (f.get("a3"), f.get("b3"));
                assert!(
                    matches!((a, b), (Some(9), None) | (None, Some(9))),
                    "{a:?} {b:?}"
                );
            }
        });
        for round in 0..12 {
            builder(if round % 2 == 0 { "b" } else { "a" })
                .save(&path)
                .unwrap();
        }
        stop.store(true, Ordering::Relaxed);
    });
}
