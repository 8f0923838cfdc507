use std::collections::HashMap;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::Int32Type;
use arrow_array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use oovocab::{Counts, Key, Mode, Slot, Spec, Transformer, Vocabulary, VocabularyBuilder};
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use proptest::prelude::*;

use crate::util::*;

fn spec_text(min_count: u64, max_size: u64, buckets: u32, padding: bool, nulls: &str) -> String {
    format!(
        "[defaults]\nmin_count = {min_count}\nmax_size = {max_size}\noov_buckets = {buckets}\npadding = {padding}\nnulls = \"{nulls}\"\n\n[[feature]]\nname = \"s\"\n\n[[feature]]\nname = \"n\"\n"
    )
}

fn batch(strings: &[Option<String>], ints: &[Option<i64>]) -> RecordBatch {
    RecordBatch::try_from_iter([
        (
            "s",
            Arc::new(StringArray::from(strings.to_vec())) as ArrayRef,
        ),
        ("n", Arc::new(Int64Array::from(ints.to_vec())) as ArrayRef),
    ])
    .unwrap()
}

fn rows() -> impl Strategy<Value = Vec<(Option<String>, Option<i64>)>> {
    prop::collection::vec(
        (
            prop::option::weighted(0.9, "[a-e]{0,3}"),
            prop::option::weighted(0.9, -20i64..20),
        ),
        0..300,
    )
}

fn split(rows: &[(Option<String>, Option<i64>)]) -> (Vec<Option<String>>, Vec<Option<i64>>) {
    rows.iter().cloned().unzip()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Counting any partition of the rows and merging the parts, in any
    /// order and grouping, through partial-count files, gives the same
    /// artifact (and the same partial-count bytes) as counting everything
    /// at once.
    #[test]
    fn merged_partial_counts_equal_one_pass(data in rows(), cuts in prop::collection::vec(0usize..300, 0..6), seed in any::<u64>()) {
        let spec = Spec::from_toml_str(&spec_text(2, 0, 3, true, "slot")).unwrap();
        let (s, n) = split(&data);
        let mut whole = VocabularyBuilder::new(spec.clone());
        whole.add_batch(&batch(&s, &n)).unwrap();
        let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(data.len())).collect();
        cuts.push(0);
        cuts.push(data.len());
        cuts.sort();
        let mut parts: Vec<Counts> = cuts.windows(2).map(|w| {
            let mut c = Counts::new(&spec);
            c.add_batch(&batch(&s[w[0]..w[1]], &n[w[0]..w[1]])).unwrap();
            c
        }).collect();
        // A deterministic shuffle of the parts from the seed.
        let len = parts.len();
        for i in (1..len).rev() {
            parts.swap(i, (seed.wrapping_mul(i as u64 + 1) % (i as u64 + 1)) as usize);
        }
        // Groups of consecutive parts merge first (as a tree reduction on
        // an engine would), each group round-tripping through its bytes.
        let mut groups: Vec<Counts> = Vec::new();
        for (i, p) in parts.into_iter().enumerate() {
            let p = Counts::from_bytes(&p.to_bytes()).unwrap();
            match groups.last_mut() {
                Some(g) if (seed >> (i % 64)) & 1 == 1 => g.merge(p).unwrap(),
                _ => groups.push(p),
            }
        }
        let mut merged = VocabularyBuilder::new(spec);
        for g in groups {
            merged.add_counts(Counts::from_bytes(&g.to_bytes()).unwrap()).unwrap();
        }
        prop_assert_eq!(merged.counts().rows(), data.len() as u64);
        prop_assert_eq!(merged.counts().to_bytes(), whole.counts().to_bytes());
        prop_assert_eq!(merged.into_bytes().unwrap(), whole.into_bytes().unwrap());
    }

    /// Every id is in `0..size`; known keys round-trip; the order is count
    /// descending then key ascending; unseen keys get OOV ids; counts are exact.
    #[test]
    fn layout_and_lookup_agree(
        data in rows(),
        min_count in 1u64..4,
        max_size in 0u64..8,
        buckets in 1u32..5,
        padding in any::<bool>(),
        nulls in prop::sample::select(vec!["slot", "oov", "error"]),
    ) {
        let spec = Spec::from_toml_str(&spec_text(min_count, max_size, buckets, padding, nulls)).unwrap();
        let (s, n) = split(&data);
        let mut b = VocabularyBuilder::new(spec);
        b.add_batch(&batch(&s, &n)).unwrap();
        let vocab = b.build().unwrap();
        let mut naive: HashMap<String, u64> = HashMap::new();
        for v in s.iter().flatten() {
            *naive.entry(v.clone()).or_insert(0) += 1;
        }
        let f = vocab.feature("s").unwrap();
        let layout = f.layout();
        prop_assert_eq!(layout.padding_id(), padding.then_some(0));
        prop_assert_eq!(layout.null_id().is_some(), nulls == "slot");
        let mut expected: Vec<(&String, u64)> = naive.iter().filter(|(_, c)| **c >= min_count).map(|(k, c)| (k, *c)).collect();
        expected.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        if max_size > 0 {
            expected.truncate(max_size as usize);
        }
        prop_assert_eq!(f.len(), expected.len());
        for (i, (k, c)) in expected.iter().enumerate() {
            let id = f.id(k.as_str());
            prop_assert_eq!(id, layout.first_vocab_id() + i as u32);
            prop_assert_eq!(layout.slot(id), Some(Slot::Known(i as u32)));
            prop_assert_eq!(f.key(i as u32), Some(Key::Bytes(k.as_bytes())));
            prop_assert_eq!(f.count(i as u32), Some(*c));
        }
        for k in naive.keys().map(String::as_str).chain(["zzz", "unseen", ""]) {
            let id = f.id(k);
            prop_assert!(id < layout.size());
            if f.get(k).is_none() {
                prop_assert!(layout.is_oov(id));
                prop_assert_eq!(id, f.oov_id(k));
            }
        }
        let ints = vocab.feature("n").unwrap();
        for v in -25i64..25 {
            let id = ints.id(v);
            prop_assert!(id < ints.size());
            prop_assert_eq!(ints.get(v).is_some(), !ints.layout().is_oov(id));
        }
        vocab.verify().unwrap();
    }

    /// Bytes written and read back give the same lookups, from memory and
    /// from a memory-mapped file.
    #[test]
    fn artifact_round_trip(data in rows()) {
        let spec = Spec::from_toml_str(&spec_text(1, 0, 2, true, "slot")).unwrap();
        let (s, n) = split(&data);
        let mut b = VocabularyBuilder::new(spec);
        b.add_batch(&batch(&s, &n)).unwrap();
        let bytes = b.into_bytes().unwrap();
        let dir = tempdir();
        let path = dir.path().join("v.oov");
        std::fs::write(&path, &bytes).unwrap();
        let mapped = Vocabulary::open(&path).unwrap();
        let owned = Vocabulary::from_bytes(bytes).unwrap();
        for (a, b) in mapped.features().zip(owned.features()) {
            prop_assert_eq!(a.len(), b.len());
            prop_assert_eq!(a.stats(), b.stats());
            let left: Vec<_> = a.iter().collect();
            let right: Vec<_> = b.iter().collect();
            prop_assert_eq!(left, right);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    /// The same rows in other files and row groups, read with 1 or 2
    /// threads, give the same keys, ids and counts; also when the string
    /// column's dictionary fills and its chunks go on in plain pages.
    #[test]
    fn parquet_builds_do_not_depend_on_threads_files_or_row_groups(
        data in rows(),
        files in 1usize..4,
        row_group in 1usize..64,
        dictionary_limit in prop::option::of(1usize..100),
    ) {
        let dir = tempdir();
        let (s, n) = split(&data);
        let spec = Spec::from_toml_str(&spec_text(1, 0, 2, true, "slot")).unwrap();
        let mut reference = VocabularyBuilder::new(spec.clone());
        reference.add_batch(&batch(&s, &n)).unwrap();
        let reference = reference.build().unwrap();
        let per_file = data.len().div_ceil(files).max(1);
        let mut paths = Vec::new();
        for (i, chunk) in data.chunks(per_file).enumerate() {
            let (cs, cn) = split(chunk);
            let p = dir.path().join(format!("{i}.parquet"));
            let props = WriterProperties::builder()
                .set_compression(Compression::SNAPPY)
                .set_max_row_group_row_count(Some(row_group))
                .set_data_page_row_count_limit(4)
                .set_write_batch_size(4);
            let props = match dictionary_limit {
                Some(bytes) => props.set_dictionary_page_size_limit(bytes),
                None => props,
            };
            write_parquet_with(&p, &[batch(&cs, &cn)], props.build());
            paths.push(p);
        }
        if paths.is_empty() {
            return Ok(());
        }
        let mut one = VocabularyBuilder::new(spec.clone()).threads(1);
        one.add_paths(&paths).unwrap();
        paths.reverse();
        let mut two = VocabularyBuilder::new(spec).threads(2);
        two.add_paths(&paths).unwrap();
        let one = one.into_bytes().unwrap();
        prop_assert_eq!(&one, &two.into_bytes().unwrap());
        let built = Vocabulary::from_bytes(one).unwrap();
        for (a, b) in built.features().zip(reference.features()) {
            let left: Vec<_> = a.iter().collect();
            let right: Vec<_> = b.iter().collect();
            prop_assert_eq!(left, right);
            prop_assert_eq!(a.stats(), b.stats());
        }
    }
}

/// Four threads on row groups of 40k rows, two features: the threads keep
/// meeting at the shared count tables, so most batches are counted partly
/// into a thread's own table (16k rows at a time) and merged at the end.
/// The counts are the same as one thread's, and as an in-memory count.
#[test]
fn threads_meeting_at_the_shared_tables_count_exactly() {
    let dir = tempdir();
    let rows = 400_000usize;
    let strings: Vec<Option<String>> = (0..rows)
        .map(|r| (r % 97 != 0).then(|| format!("k{}", (r * 7919) % 50_021)))
        .collect();
    let ints: Vec<Option<i64>> = (0..rows).map(|r| Some((r as i64 * 31) % 9_973)).collect();
    let whole = batch(&strings, &ints);
    let mut paths = Vec::new();
    for (i, start) in (0..rows).step_by(rows / 2).enumerate() {
        let p = dir.path().join(format!("{i}.parquet"));
        write_parquet(
            &p,
            &[whole.slice(start, rows / 2)],
            Compression::SNAPPY,
            40_000,
        );
        paths.push(p);
    }
    let spec = Spec::from_toml_str(&spec_text(2, 0, 1, true, "slot")).unwrap();
    let mut reference = VocabularyBuilder::new(spec.clone());
    reference.add_batch(&whole).unwrap();
    let reference = reference.build().unwrap();
    let mut one = VocabularyBuilder::new(spec.clone()).threads(1);
    one.add_paths(&paths).unwrap();
    let one = one.into_bytes().unwrap();
    for _ in 0..3 {
        let mut four = VocabularyBuilder::new(spec.clone()).threads(4);
        four.add_paths(&paths).unwrap();
        assert_eq!(four.into_bytes().unwrap(), one);
    }
    let built = Vocabulary::from_bytes(one).unwrap();
    for (a, b) in built.features().zip(reference.features()) {
        assert_eq!(a.iter().collect::<Vec<_>>(), b.iter().collect::<Vec<_>>());
        assert_eq!(a.stats(), b.stats());
    }
}

fn injection_vocab(unit: &str) -> Arc<Vocabulary> {
    let spec = Spec::from_toml_str(&format!(
        "[[feature]]\nname = \"s\"\noov_buckets = 4\ntrain_oov_unit = \"{unit}\"\n\n[[feature]]\nname = \"n\"\n"
    ))
    .unwrap();
    let mut b = VocabularyBuilder::new(spec);
    let keys: Vec<Option<String>> = (0..500).map(|i| Some(format!("k{i}"))).collect();
    let ints: Vec<Option<i64>> = (0..500).map(Some).collect();
    b.add_batch(&batch(&keys, &ints)).unwrap();
    Arc::new(b.build().unwrap())
}

fn id_column(b: &RecordBatch, name: &str) -> Vec<i32> {
    b.column_by_name(name)
        .unwrap()
        .as_primitive::<Int32Type>()
        .values()
        .to_vec()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    /// The transformer gives every value the id `Feature::id` gives it.
    #[test]
    fn transformer_agrees_with_id(data in rows()) {
        let vocab = injection_vocab("row");
        let (s, n) = split(&data);
        let out = Transformer::new(vocab.clone()).transform(&batch(&s, &n)).unwrap();
        let (fs, fnum) = (vocab.feature("s").unwrap(), vocab.feature("n").unwrap());
        let expected_s: Vec<i32> = s.iter().map(|v| v.as_ref().map_or(fs.null_id().unwrap(), |v| fs.id(v.as_str())) as i32).collect();
        let expected_n: Vec<i32> = n.iter().map(|v| v.map_or(fnum.null_id().unwrap(), |v| fnum.id(v)) as i32).collect();
        prop_assert_eq!(id_column(&out, "s"), expected_s);
        prop_assert_eq!(id_column(&out, "n"), expected_n);
    }

    /// Injection depends only on (seed, epoch, feature, global row): the same
    /// rows split into batches at any points give the same ids, and the
    /// share hidden converges to the rate.
    #[test]
    fn injection_is_deterministic_and_converges(seed in any::<u64>(), epoch in 0u64..4, rate in 0.05f64..0.95, cut in 1usize..4000) {
        let vocab = injection_vocab("row");
        let rows = 4000usize;
        let s: Vec<Option<String>> = (0..rows).map(|i| Some(format!("k{}", i % 500))).collect();
        let n: Vec<Option<i64>> = (0..rows).map(|i| Some((i % 500) as i64)).collect();
        let t = Transformer::new(vocab.clone()).with_mode(Mode::Train { seed, epoch }).with_oov_rate(rate).unwrap();
        let (whole, report) = t.transform_at(&batch(&s, &n), 0).unwrap();
        let (a, _) = t.transform_at(&batch(&s[..cut], &n[..cut]), 0).unwrap();
        let (b, _) = t.transform_at(&batch(&s[cut..], &n[cut..]), cut as u64).unwrap();
        let mut joined = id_column(&a, "s");
        joined.extend(id_column(&b, "s"));
        prop_assert_eq!(&joined, &id_column(&whole, "s"));
        let r = &report.features[0];
        prop_assert_eq!(r.known_count, rows as u64);
        let share = r.injected as f64 / rows as f64;
        let sd = (rate * (1.0 - rate) / rows as f64).sqrt();
        prop_assert!((share - rate).abs() < 5.0 * sd, "share {} rate {}", share, rate);
        // Injected ids are the value's own OOV bucket.
        let f = vocab.feature("s").unwrap();
        for (v, id) in s.iter().zip(id_column(&whole, "s")) {
            let v = v.as_deref().unwrap();
            prop_assert!(id as u32 == f.id(v) || id as u32 == f.oov_id(v));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Counts of many distinct keys (so the tables grow many times, also in
    /// the middle of a group of keys), short and long, equal a naive count,
    /// per key.
    #[test]
    fn counts_equal_a_naive_count_through_table_growth(values in prop::collection::vec(0u64..3000, 0..6000)) {
        let spec = Spec::from_toml_str(&spec_text(1, 0, 1, true, "slot")).unwrap();
        let key = |v: u64| format!("key-{v}{}", "~".repeat(v as usize % 23));
        let s: Vec<Option<String>> = values.iter().map(|&v| Some(key(v))).collect();
        let n: Vec<Option<i64>> = values.iter().map(|&v| Some(v as i64 * 1_000_003 - 1_500_000_000)).collect();
        let mut counts = Counts::new(&spec);
        counts.add_batch(&batch(&s, &n)).unwrap();
        let mut naive: HashMap<u64, u64> = HashMap::new();
        for v in &values {
            *naive.entry(*v).or_insert(0) += 1;
        }
        let (fs, fnum) = (counts.feature("s").unwrap(), counts.feature("n").unwrap());
        prop_assert_eq!(fs.distinct_count(), naive.len() as u64);
        prop_assert_eq!(fnum.distinct_count(), naive.len() as u64);
        for (v, c) in &naive {
            prop_assert_eq!(fs.count(key(*v).as_str()), *c);
            prop_assert_eq!(fnum.count(*v as i64 * 1_000_003 - 1_500_000_000), *c);
        }
    }
}

/// Dictionary-encoded columns, a plain one and a list one (with null lists,
/// empty lists and null elements), in row groups of several batches each:
/// their keys are tallied per dictionary entry across a row group's batches.
/// 1 and 2 threads count what an in-memory count of the same rows does.
#[test]
fn dictionary_columns_count_exactly_across_the_batches_of_a_row_group() {
    use arrow_array::builder::{ListBuilder, StringBuilder};
    let dir = tempdir();
    let rows = 200_000usize;
    let plain: Vec<Option<String>> = (0..rows)
        .map(|r| (r % 31 != 0).then(|| format!("p{}", (r * 7919) % 301)))
        .collect();
    let mut lists = ListBuilder::new(StringBuilder::new());
    for r in 0..rows {
        match r % 13 {
            0 => lists.append_null(),
            1 => lists.append(true),
            _ => {
                for j in 0..r % 4 {
                    let tag = (j != 2).then(|| format!("t{}", (r * 31 + j) % 997));
                    lists.values().append_option(tag);
                }
                lists.append(true);
            }
        }
    }
    let whole = RecordBatch::try_from_iter([
        ("c", Arc::new(StringArray::from(plain)) as ArrayRef),
        ("t", Arc::new(lists.finish()) as ArrayRef),
    ])
    .unwrap();
    let path = dir.path().join("dict.parquet");
    // Row groups of 150k rows: batches of 64k, 64k and 20k, then 50k.
    write_parquet(
        &path,
        std::slice::from_ref(&whole),
        Compression::SNAPPY,
        150_000,
    );
    let spec =
        Spec::from_toml_str("[[feature]]\nname = \"c\"\n\n[[feature]]\nname = \"t\"\n").unwrap();
    let mut reference = VocabularyBuilder::new(spec.clone());
    reference.add_batch(&whole).unwrap();
    let reference = reference.build().unwrap();
    let mut one = VocabularyBuilder::new(spec.clone()).threads(1);
    one.add_paths(std::slice::from_ref(&path)).unwrap();
    let one = one.into_bytes().unwrap();
    let mut two = VocabularyBuilder::new(spec).threads(2);
    two.add_paths(&[path]).unwrap();
    assert_eq!(two.into_bytes().unwrap(), one);
    let built = Vocabulary::from_bytes(one).unwrap();
    for (a, b) in built.features().zip(reference.features()) {
        assert_eq!(a.stats(), b.stats());
        assert_eq!(a.iter().collect::<Vec<_>>(), b.iter().collect::<Vec<_>>());
    }
    let tags = built.feature("t").unwrap();
    assert!(tags.stats().null_count > 0 && tags.len() > 900);
}
