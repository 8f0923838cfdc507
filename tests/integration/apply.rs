use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::path::{Path, PathBuf};

use arrow_array::cast::AsArray;
use arrow_array::types::Int32Type;
use arrow_array::{Array, RecordBatch};
use oovocab::{Feature, Vocabulary};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde_json::Value;

use crate::types::write_all_types;
use crate::util::*;

fn read_all(path: &Path) -> Vec<RecordBatch> {
    ParquetRecordBatchReaderBuilder::try_new(File::open(path).unwrap())
        .unwrap()
        .build()
        .unwrap()
        .map(|b| b.unwrap())
        .collect()
}

fn row_groups(path: &Path) -> Vec<i64> {
    let r = ParquetRecordBatchReaderBuilder::try_new(File::open(path).unwrap()).unwrap();
    r.metadata()
        .row_groups()
        .iter()
        .map(|g| g.num_rows())
        .collect()
}

/// Each value of `column` as text (or None), flattened for lists, beside
/// its list row: the independent reading of the input.
fn texts(array: &dyn Array) -> Vec<Option<String>> {
    let a = arrow_cast::cast(array, &arrow_schema::DataType::Utf8).unwrap();
    let s = a.as_string::<i32>();
    (0..s.len())
        .map(|i| s.is_valid(i).then(|| s.value(i).to_string()))
        .collect()
}

/// The values of `column` across batches, as text.
fn column_texts(batches: &[RecordBatch], column: &str) -> Vec<Option<String>> {
    batches
        .iter()
        .flat_map(|b| texts(b.column_by_name(column).unwrap().as_ref()))
        .collect()
}

/// The `Int32` ids of `column` across batches.
fn id_column(batches: &[RecordBatch], column: &str) -> Vec<i32> {
    batches
        .iter()
        .flat_map(|b| {
            b.column_by_name(column)
                .unwrap()
                .as_primitive::<Int32Type>()
                .values()
                .to_vec()
        })
        .collect()
}

fn id_of(f: &Feature<'_>, text: &Option<String>) -> i32 {
    match text {
        None => f.null_id().unwrap() as i32,
        Some(t) => {
            (match f.key_type() {
                oovocab::KeyType::Bytes => f.id(t.as_str()),
                oovocab::KeyType::Int => f.id(t.parse::<i64>().unwrap()),
                oovocab::KeyType::Uint => f.id(t.parse::<u64>().unwrap()),
            }) as i32
        }
    }
}

/// Checks every output id of `feature` against `Feature::id` of the input value.
fn check_ids(f: &Feature<'_>, input: &dyn Array, output: &dyn Array) {
    assert_eq!(input.len(), output.len());
    match input.data_type() {
        arrow_schema::DataType::List(_) | arrow_schema::DataType::LargeList(_) => {
            let out = output.as_list::<i32>();
            for row in 0..input.len() {
                assert_eq!(
                    input.is_null(row),
                    out.is_null(row),
                    "{} row {row}: null lists stay null",
                    f.name()
                );
                if input.is_valid(row) {
                    let values = match input.data_type() {
                        arrow_schema::DataType::List(_) => input.as_list::<i32>().value(row),
                        _ => input.as_list::<i64>().value(row),
                    };
                    let ids = out.value(row);
                    let ids = ids.as_primitive::<Int32Type>();
                    let expected: Vec<i32> =
                        texts(values.as_ref()).iter().map(|t| id_of(f, t)).collect();
                    assert_eq!(ids.values().to_vec(), expected, "{} row {row}", f.name());
                }
            }
        }
        _ => {
            let expected: Vec<i32> = texts(input).iter().map(|t| id_of(f, t)).collect();
            assert_eq!(
                output.as_primitive::<Int32Type>().values().to_vec(),
                expected,
                "{}",
                f.name()
            );
        }
    }
}

#[test]
fn inference_ids_equal_lookup_for_every_input_type() {
    let dir = tempdir();
    let data = dir.path().join("data");
    std::fs::create_dir_all(data.join("sub")).unwrap();
    let mut files = write_all_types(&data);
    // A nested file keeps its relative name.
    std::fs::rename(&files[5], data.join("sub/part-5.parquet")).unwrap();
    files[5] = data.join("sub/part-5.parquet");
    let spec = write_spec(
        dir.path(),
        "[defaults]\nmin_count = 2\noov_buckets = 3\n[[feature]]\nname = \"s_id\"\ncolumn = \"s\"\n[[feature]]\nname = \"i_id\"\ncolumn = \"i\"\n[[feature]]\nname = \"u_id\"\ncolumn = \"u\"\n[[feature]]\nname = \"tags\"\ncolumn = \"l\"\n",
    );
    let vocab_path = dir.path().join("v.oov");
    // Build on half the files, so the other half has unseen values.
    ok(oovocab(&[
        &"build",
        &"--spec",
        &spec,
        &"-o",
        &vocab_path,
        &files[0],
        &files[2],
        &files[4],
    ]));
    let out = dir.path().join("out");
    ok(oovocab(&[
        &"apply",
        &"--vocab",
        &vocab_path,
        &"-o",
        &out,
        &"--keep",
        &"s,u",
        &"--threads",
        &"2",
        &data,
    ]));
    let vocab = Vocabulary::open(&vocab_path).unwrap();
    let mut seen_oov = false;
    for input in &files {
        let rel = input.strip_prefix(&data).unwrap();
        let output = out.join(rel);
        assert!(
            output.exists(),
            "{} is written under its own name",
            output.display()
        );
        assert_eq!(
            row_groups(input),
            row_groups(&output),
            "row groups preserved"
        );
        let (ins, outs) = (read_all(input), read_all(&output));
        let in_rows: usize = ins.iter().map(|b| b.num_rows()).sum();
        let out_rows: usize = outs.iter().map(|b| b.num_rows()).sum();
        assert_eq!(in_rows, out_rows);
        let cat =
            |bs: &[RecordBatch]| arrow_select::concat::concat_batches(&bs[0].schema(), bs).unwrap();
        let (inb, outb) = (cat(&ins), cat(&outs));
        let names: Vec<String> = outb
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        assert_eq!(names, ["s_id", "i_id", "u_id", "tags", "s", "u"]);
        for f in vocab.features() {
            let out_col = outb.column_by_name(f.name()).unwrap();
            check_ids(
                &f,
                inb.column_by_name(f.column()).unwrap().as_ref(),
                out_col.as_ref(),
            );
            if out_col.data_type() == &arrow_schema::DataType::Int32 {
                seen_oov |= out_col
                    .as_primitive::<Int32Type>()
                    .values()
                    .iter()
                    .any(|&id| f.layout().is_oov(id as u32));
            }
        }
        // Kept columns are unchanged (as read back, after the id columns).
        assert_eq!(outb.num_columns(), 6);
        assert_eq!(
            outb.column(4).as_ref(),
            inb.column_by_name("s").unwrap().as_ref()
        );
        assert_eq!(
            outb.column(5).as_ref(),
            inb.column_by_name("u").unwrap().as_ref()
        );
    }
    assert!(seen_oov, "the held-out files have unseen values");
}

#[test]
fn apply_ids_match_cli_lookup_on_the_fixtures() {
    let dir = tempdir();
    let vocab = build_clicks(dir.path(), "v.oov", &[], &[fixture("clicks/day-1.parquet")]);
    let out = dir.path().join("out");
    ok(oovocab(&[
        &"apply",
        &"--vocab",
        &vocab,
        &"-o",
        &out,
        &"--quiet",
        &"fixtures/clicks",
    ]));
    let names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    assert_eq!(
        names,
        [
            "day-1.parquet",
            "day-2.parquet",
            "day-3.parquet",
            "day-4.parquet"
        ]
    );
    let input = read_all(&fixture("clicks/day-4.parquet"));
    let output = read_all(&out.join("day-4.parquet"));
    let items = texts(input[0].column_by_name("item_id").unwrap().as_ref());
    let ids = output[0]
        .column_by_name("item_id")
        .unwrap()
        .as_primitive::<Int32Type>()
        .clone();
    // Ask the CLI for the first 200 values, in one call.
    let values: Vec<String> = items.iter().take(200).map(|v| v.clone().unwrap()).collect();
    let mut args: Vec<&dyn AsRef<std::ffi::OsStr>> =
        vec![&"lookup", &vocab, &"--feature", &"item_id", &"--"];
    for v in &values {
        args.push(v);
    }
    let looked: Vec<i32> = ok(oovocab(&args))
        .lines()
        .map(|l| l.rsplit_once('\t').unwrap().1.parse().unwrap())
        .collect();
    assert_eq!(looked, ids.values()[..200].to_vec());
}

fn train(dir: &Path, vocab: &Path, name: &str, extra: &[&str]) -> PathBuf {
    let out = dir.join(name);
    let mut args: Vec<&dyn AsRef<std::ffi::OsStr>> = vec![
        &"apply", &"--vocab", &vocab, &"-o", &out, &"--quiet", &"--train",
    ];
    for e in extra {
        args.push(e);
    }
    args.push(&"fixtures/clicks");
    ok(oovocab(&args));
    out
}

#[test]
fn training_injects_the_rate_reproducibly_and_per_epoch() {
    let dir = tempdir();
    let vocab_path = build_clicks(dir.path(), "v.oov", &[], &[fixture("clicks")]);
    let infer = dir.path().join("infer");
    ok(oovocab(&[
        &"apply",
        &"--vocab",
        &vocab_path,
        &"-o",
        &infer,
        &"--quiet",
        &"fixtures/clicks",
    ]));
    let a = train(
        dir.path(),
        &vocab_path,
        "a",
        &[
            "--seed",
            "7",
            "--epoch",
            "1",
            "--oov-rate",
            "0.1",
            "--threads",
            "1",
        ],
    );
    let b = train(
        dir.path(),
        &vocab_path,
        "b",
        &[
            "--seed",
            "7",
            "--epoch",
            "1",
            "--oov-rate",
            "0.1",
            "--threads",
            "2",
        ],
    );
    let c = train(
        dir.path(),
        &vocab_path,
        "c",
        &["--seed", "7", "--epoch", "2", "--oov-rate", "0.1"],
    );
    let vocab = Vocabulary::open(&vocab_path).unwrap();
    let item = vocab.feature("item_id").unwrap();
    let (mut known, mut injected, mut differ_epoch) = (0u64, 0u64, 0u64);
    for day in 1..=4 {
        let name = format!("day-{day}.parquet");
        assert_same_bytes(&a.join(&name), &b.join(&name));
        let base = read_all(&infer.join(&name));
        let ta = read_all(&a.join(&name));
        let tc = read_all(&c.join(&name));
        let input = read_all(&fixture(&format!("clicks/{name}")));
        let values = column_texts(&input, "item_id");
        let ids = |bs: &[RecordBatch]| id_column(bs, "item_id");
        let (base, ta, tc) = (ids(&base), ids(&ta), ids(&tc));
        for (row, value) in values.iter().enumerate() {
            let value = value.as_deref().unwrap();
            if item.get(value).is_some() {
                known += 1;
                if ta[row] != base[row] {
                    injected += 1;
                    assert_eq!(
                        ta[row] as u32,
                        item.oov_id(value),
                        "an injected id is the value's own OOV bucket"
                    );
                }
                differ_epoch += u64::from(ta[row] != tc[row]);
            } else {
                assert_eq!(ta[row], base[row], "unseen values are OOV in both modes");
            }
        }
    }
    // Binomial(known, 0.1): well within 5 standard deviations.
    let rate = injected as f64 / known as f64;
    let sd = (0.1 * 0.9 / known as f64).sqrt();
    assert!(
        (rate - 0.1).abs() < 5.0 * sd,
        "injected {injected} of {known} known: {rate}"
    );
    assert!(
        differ_epoch > known / 20,
        "another epoch hides other rows ({differ_epoch} of {known})"
    );
}

#[test]
fn value_unit_hides_a_value_in_all_its_rows_or_none() {
    let dir = tempdir();
    let spec = write_spec(
        dir.path(),
        "[[feature]]\nname = \"item_id\"\nmin_count = 2\noov_buckets = 16\ntrain_oov_rate = 0.3\ntrain_oov_unit = \"value\"\n",
    );
    let vocab_path = dir.path().join("v.oov");
    ok(oovocab(&[
        &"build",
        &"--spec",
        &spec,
        &"-o",
        &vocab_path,
        &"--quiet",
        &"fixtures/clicks",
    ]));
    let out = train(
        dir.path(),
        &vocab_path,
        "out",
        &["--seed", "3", "--epoch", "0"],
    );
    let vocab = Vocabulary::open(&vocab_path).unwrap();
    let item = vocab.feature("item_id").unwrap();
    let mut hidden: HashMap<String, HashSet<bool>> = HashMap::new();
    for day in 1..=4 {
        let input = read_all(&fixture(&format!("clicks/day-{day}.parquet")));
        let output = read_all(&out.join(format!("day-{day}.parquet")));
        let values: Vec<String> = column_texts(&input, "item_id")
            .into_iter()
            .map(Option::unwrap)
            .collect();
        let ids = id_column(&output, "item_id");
        for (v, id) in values.iter().zip(ids) {
            if item.get(v.as_str()).is_some() {
                hidden
                    .entry(v.clone())
                    .or_default()
                    .insert(id as u32 == item.oov_id(v.as_str()));
            }
        }
    }
    assert!(
        hidden.values().all(|s| s.len() == 1),
        "a value is hidden in all its rows or none"
    );
    let share = hidden.values().filter(|s| s.contains(&true)).count() as f64 / hidden.len() as f64;
    assert!(
        (share - 0.3).abs() < 0.05,
        "share of values hidden: {share}"
    );
}

#[test]
fn coverage_json_matches_an_independent_count() {
    let dir = tempdir();
    let vocab_path = build_clicks(
        dir.path(),
        "v.oov",
        &[],
        &[
            fixture("clicks/day-1.parquet"),
            fixture("clicks/day-2.parquet"),
        ],
    );
    let doc: Value = serde_json::from_str(&ok(oovocab(&[
        &"coverage",
        &"--vocab",
        &vocab_path,
        &"--json",
        &"fixtures/clicks/day-3.parquet",
        &"fixtures/clicks/day-4.parquet",
    ])))
    .unwrap();
    assert_eq!(doc["rows"], 40_000);
    let inspect: Value = serde_json::from_str(&ok(oovocab(&[
        &"inspect",
        &vocab_path,
        &"--json",
        &"--top",
        &"1000000",
    ])))
    .unwrap();
    let held_out = [
        fixture("clicks/day-3.parquet"),
        fixture("clicks/day-4.parquet"),
    ];
    for (i, f) in doc["features"].as_array().unwrap().iter().enumerate() {
        let meta = &inspect["features"][i];
        assert_eq!(f["name"], meta["name"]);
        let known: HashSet<String> = meta["top"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| match &t["value"] {
                Value::String(s) => s.clone(),
                n => n.to_string(),
            })
            .collect();
        let (counts, nulls) = group_by(&held_out, meta["column"].as_str().unwrap());
        let occurrences: u64 = counts.values().sum();
        let oov: u64 = counts
            .iter()
            .filter(|(k, _)| !known.contains(*k))
            .map(|(_, n)| n)
            .sum();
        assert_eq!(f["occurrences"], occurrences, "{}", f["name"]);
        assert_eq!(f["null_count"], nulls, "{}", f["name"]);
        assert_eq!(f["oov_count"], oov, "{}", f["name"]);
        assert_eq!(f["known_count"], occurrences - oov, "{}", f["name"]);
        assert!((f["oov_rate"].as_f64().unwrap() - oov as f64 / occurrences as f64).abs() < 1e-12);
    }
}

#[test]
fn bad_inputs_exit_1_and_leave_no_output_under_a_final_name() {
    let dir = tempdir();
    let vocab = build_clicks(dir.path(), "v.oov", &[], &[fixture("clicks")]);
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    for day in 1..=2 {
        std::fs::copy(
            fixture(&format!("clicks/day-{day}.parquet")),
            data.join(format!("day-{day}.parquet")),
        )
        .unwrap();
    }
    // A corrupt file among good ones: a valid footer, garbage in the pages.
    let mut bytes = std::fs::read(fixture("clicks/day-3.parquet")).unwrap();
    for b in &mut bytes[4..60_000] {
        *b = b.wrapping_mul(31).wrapping_add(7);
    }
    std::fs::write(data.join("day-3.parquet"), &bytes).unwrap();
    let out = dir.path().join("out");
    let o = oovocab(&[
        &"apply",
        &"--vocab",
        &vocab,
        &"-o",
        &out,
        &"--threads",
        &"1",
        &data,
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("day-3.parquet"), "{}", stderr(&o));
    assert!(!out.join("day-3.parquet").exists());
    let leftovers: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n.to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    // A missing column and a float column fail before anything is written.
    let spec = dir.path().join("spec.toml");
    for (column, needle) in [("nope", "no column \"nope\""), ("clicked", "Boolean")] {
        std::fs::write(
            &spec,
            format!("[[feature]]\nname = \"x\"\ncolumn = \"{column}\"\n"),
        )
        .unwrap();
        let fake = dir.path().join(format!("{column}.oov"));
        // A vocabulary whose feature reads that column, built from batches.
        let s = oovocab::Spec::from_path(&spec).unwrap();
        let mut b = oovocab::VocabularyBuilder::new(s);
        let batch = RecordBatch::try_from_iter([(
            column,
            std::sync::Arc::new(arrow_array::StringArray::from(vec!["a"])) as arrow_array::ArrayRef,
        )])
        .unwrap();
        b.add_batch(&batch).unwrap();
        b.save(&fake).unwrap();
        let out = dir.path().join(format!("out-{column}"));
        let o = oovocab(&[
            &"apply",
            &"--vocab",
            &fake,
            &"-o",
            &out,
            &fixture("clicks/day-1.parquet"),
        ]);
        assert_eq!(o.status.code(), Some(1));
        let e = stderr(&o);
        assert!(e.contains("day-1.parquet") && e.contains(needle), "{e}");
        assert!(!out.exists() || std::fs::read_dir(&out).unwrap().next().is_none());
    }
    // A float column is named with its type.
    let floats = dir.path().join("floats.parquet");
    let batch = RecordBatch::try_from_iter([(
        "x",
        std::sync::Arc::new(arrow_array::Float64Array::from(vec![1.5])) as arrow_array::ArrayRef,
    )])
    .unwrap();
    write_parquet(
        &floats,
        &[batch],
        parquet::basic::Compression::UNCOMPRESSED,
        10,
    );
    let x_vocab = dir.path().join("x.oov");
    let mut b = oovocab::VocabularyBuilder::new(
        oovocab::Spec::from_toml_str("[[feature]]\nname = \"x\"\n").unwrap(),
    );
    b.add_batch(
        &RecordBatch::try_from_iter([(
            "x",
            std::sync::Arc::new(arrow_array::StringArray::from(vec!["a"])) as arrow_array::ArrayRef,
        )])
        .unwrap(),
    )
    .unwrap();
    b.save(&x_vocab).unwrap();
    let o = oovocab(&[
        &"apply",
        &"--vocab",
        &x_vocab,
        &"-o",
        &dir.path().join("o2"),
        &floats,
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("floats.parquet: column \"x\" has type Float64"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn an_input_without_rows_gets_an_empty_output() {
    let dir = tempdir();
    let vocab = build_clicks(dir.path(), "v.oov", &[], &[fixture("clicks/day-1.parquet")]);
    // The same schema as the fixtures, zero rows (and zero row groups).
    let schema = read_all(&fixture("clicks/day-1.parquet"))[0].schema();
    let empty = dir.path().join("empty.parquet");
    let w =
        parquet::arrow::ArrowWriter::try_new(File::create(&empty).unwrap(), schema, None).unwrap();
    w.close().unwrap();
    let out = dir.path().join("out");
    ok(oovocab(&[
        &"apply",
        &"--vocab",
        &vocab,
        &"-o",
        &out,
        &"--quiet",
        &empty,
        &fixture("clicks/day-2.parquet"),
    ]));
    let r =
        ParquetRecordBatchReaderBuilder::try_new(File::open(out.join("empty.parquet")).unwrap())
            .unwrap();
    assert_eq!(r.metadata().file_metadata().num_rows(), 0);
    assert_eq!(
        r.schema().fields().len(),
        5,
        "the id columns of the five features"
    );
    assert!(out.join("day-2.parquet").exists());
}
