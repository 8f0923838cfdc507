use std::path::PathBuf;

use serde_json::Value;
use xxhash_rust::xxh3::xxh3_64_with_seed;

use crate::util::*;

/// (feature, column, min_count, oov_buckets, hash_seed, numeric keys) of fixtures/clicks.toml.
const CLICKS: [(&str, &str, u64, u64, u64, bool); 5] = [
    ("item_id", "item_id", 3, 16, 0, false),
    ("publisher", "publisher", 5, 4, 0, false),
    ("category", "category", 1, 1, 0, false),
    ("user_id", "user_id", 2, 32, 7, true),
    ("tag", "tags", 10, 2, 0, false),
];

fn inspect_json(vocab: &std::path::Path, top: usize) -> Value {
    let top = top.to_string();
    serde_json::from_str(&ok(oovocab(&[
        &"inspect", &vocab, &"--json", &"--top", &top,
    ])))
    .unwrap()
}

#[test]
fn inspect_json_matches_an_independent_group_by() {
    let dir = tempdir();
    let vocab = build_clicks(dir.path(), "clicks.oov", &[], &[fixture("clicks")]);
    let doc = inspect_json(&vocab, 1_000_000);
    assert_eq!(doc["format_version"], 1);
    assert_eq!(doc["rows_scanned"], 80_000);
    assert_eq!(doc["inputs"].as_array().unwrap().len(), 4);
    let files = clicks_files();
    for (i, (name, column, min_count, buckets, seed, numeric)) in CLICKS.into_iter().enumerate() {
        let f = &doc["features"][i];
        let (counts, nulls) = group_by(&files, column);
        let expected = expected_order(&counts, min_count, numeric);
        assert_eq!(f["name"], name);
        assert_eq!(f["column"], column);
        assert_eq!(f["key_type"], if numeric { "int" } else { "bytes" });
        assert_eq!(f["total_count"], counts.values().sum::<u64>(), "{name}");
        assert_eq!(f["distinct_count"], counts.len(), "{name}");
        assert_eq!(f["null_count"], nulls, "{name}");
        assert_eq!(f["min_count"], min_count);
        assert_eq!(f["oov_buckets"], buckets);
        assert_eq!(f["hash_seed"], seed);
        let max_size = f["max_size"].as_u64().unwrap() as usize;
        let kept: Vec<_> = if max_size > 0 {
            expected.into_iter().take(max_size).collect()
        } else {
            expected
        };
        let null_slot = name != "category"; // category has nulls = "oov"
        let first = 1 + u64::from(null_slot) + buckets;
        assert_eq!(f["padding_id"], 0);
        assert_eq!(
            f["null_id"],
            if null_slot {
                Value::from(1)
            } else {
                Value::Null
            }
        );
        assert_eq!(f["oov_first_id"], 1 + u64::from(null_slot));
        assert_eq!(f["first_vocab_id"], first);
        assert_eq!(f["vocab_size"], kept.len(), "{name}");
        assert_eq!(f["size"], first + kept.len() as u64, "{name}");
        let top = f["top"].as_array().unwrap();
        assert_eq!(top.len(), kept.len());
        for (j, ((value, count), t)) in kept.iter().zip(top).enumerate() {
            let shown = if numeric {
                t["value"].as_i64().unwrap().to_string()
            } else {
                t["value"].as_str().unwrap().to_string()
            };
            assert_eq!(
                (
                    &shown,
                    t["count"].as_u64().unwrap(),
                    t["id"].as_u64().unwrap()
                ),
                (value, *count, first + j as u64),
                "{name} #{j}"
            );
        }
    }
}

#[test]
fn artifacts_are_byte_identical_across_threads_and_input_order() {
    let dir = tempdir();
    let files = clicks_files();
    let mut reversed = files.clone();
    reversed.reverse();
    let one = build_clicks(dir.path(), "t1.oov", &["--threads", "1"], &files);
    let two = build_clicks(dir.path(), "t2.oov", &["--threads", "2"], &reversed);
    assert_same_bytes(&one, &two);
    // A directory stands for its files in sorted order, spelled through it.
    let from_dir = build_clicks(
        dir.path(),
        "dir.oov",
        &["--threads", "2"],
        &[PathBuf::from("fixtures/clicks")],
    );
    let rel: Vec<PathBuf> = reversed
        .iter()
        .map(|f| f.strip_prefix(root()).unwrap().to_path_buf())
        .collect();
    let rel_build = build_clicks(dir.path(), "rel.oov", &["--threads", "1"], &rel);
    assert_same_bytes(&from_dir, &rel_build);
}

#[test]
fn lookup_gives_known_ids_and_hashed_oov_buckets() {
    let dir = tempdir();
    let vocab = build_clicks(dir.path(), "clicks.oov", &[], &[fixture("clicks")]);
    let doc = inspect_json(&vocab, 5);
    let item = &doc["features"][0];
    let known: Vec<String> = item["top"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["value"].as_str().unwrap().to_string())
        .collect();
    let unseen = ["never-seen", "item-999999", ""];
    let mut args: Vec<&dyn AsRef<std::ffi::OsStr>> =
        vec![&"lookup", &vocab, &"--feature", &"item_id"];
    for k in &known {
        args.push(k);
    }
    for u in &unseen[..2] {
        args.push(u);
    }
    let out = ok(oovocab(&args));
    let lines: Vec<(String, u64)> = out
        .lines()
        .map(|l| {
            let (v, id) = l.split_once('\t').unwrap();
            (v.to_string(), id.parse().unwrap())
        })
        .collect();
    assert_eq!(lines.len(), known.len() + 2);
    for (j, k) in known.iter().enumerate() {
        assert_eq!(lines[j], (k.clone(), 18 + j as u64));
    }
    for (j, u) in unseen[..2].iter().enumerate() {
        let bucket = 2 + xxh3_64_with_seed(u.as_bytes(), 0) % 16;
        assert_eq!(lines[known.len() + j], (u.to_string(), bucket));
    }
    // Integer features: decimal in their own type, hashed as 8 LE bytes with the feature's seed.
    let out = ok(oovocab(&[
        &"lookup",
        &vocab,
        &"--feature",
        &"user_id",
        &"-1",
        &"123456789",
    ]));
    let top_user = &doc["features"][3]["top"][0];
    assert_eq!(top_user["value"], -1);
    let bucket = 2 + xxh3_64_with_seed(&123456789i64.to_le_bytes(), 7) % 32;
    assert_eq!(
        out,
        format!("-1\t{}\n123456789\t{bucket}\n", top_user["id"])
    );
    let bad = oovocab(&[&"lookup", &vocab, &"--feature", &"user_id", &"1", &"x"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(stderr(&bad).contains("\"x\""), "{}", stderr(&bad));
    assert_eq!(stdout(&bad), "", "nothing printed when a value is bad");
    let bad = oovocab(&[&"lookup", &vocab, &"--feature", &"nope", &"1"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(
        stderr(&bad).contains("item_id, publisher, category, user_id, tag"),
        "{}",
        stderr(&bad)
    );
}

#[test]
fn missing_column_lists_the_columns_and_writes_nothing() {
    let dir = tempdir();
    let spec = write_spec(
        dir.path(),
        "[[feature]]\nname = \"item\"\ncolumn = \"item_idd\"\n",
    );
    let out = dir.path().join("v.oov");
    let o = oovocab(&[&"build", &"--spec", &spec, &"-o", &out, &fixture("clicks")]);
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(e.contains("day-1.parquet") && e.contains("item_idd"), "{e}");
    assert!(
        e.contains("item_id, publisher, category, user_id, tags, ts, clicked"),
        "{e}"
    );
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "only the spec is there"
    );
}

#[test]
fn spec_errors_name_the_key_and_line() {
    let dir = tempdir();
    let spec = dir.path().join("spec.toml");
    let out = dir.path().join("v.oov");
    for (text, needle) in [
        (
            "[[feature]]\nname = \"item_id\"\nmin_cont = 2\n",
            "spec.toml:3",
        ),
        (
            "[defaults]\noov_buckets = 0\n[[feature]]\nname = \"item_id\"\n",
            "spec.toml:2",
        ),
        (
            "[[feature]]\nname = \"item_id\"\n[[feature]]\nname = \"item_id\"\n",
            "spec.toml:4",
        ),
    ] {
        std::fs::write(&spec, text).unwrap();
        let o = oovocab(&[&"build", &"--spec", &spec, &"-o", &out, &fixture("clicks")]);
        assert_eq!(o.status.code(), Some(1), "{text}");
        assert!(stderr(&o).contains(needle), "{text}: {}", stderr(&o));
        assert!(!out.exists());
    }
    std::fs::write(&spec, "[[feature]]\nname = \"item_id\"\nmin_cont = 2\n").unwrap();
    assert!(
        stderr(&oovocab(&[
            &"build",
            &"--spec",
            &spec,
            &"-o",
            &out,
            &fixture("clicks")
        ]))
        .contains("min_cont")
    );
}

#[test]
fn a_directory_without_parquet_and_bad_usage_exit_1() {
    let dir = tempdir();
    let out = dir.path().join("v.oov");
    let o = oovocab(&[
        &"build",
        &"--spec",
        &"fixtures/clicks.toml",
        &"-o",
        &out,
        &dir.path(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("no *.parquet files"), "{}", stderr(&o));
    assert_eq!(oovocab(&[&"build", &"--bogus"]).status.code(), Some(1));
    assert_eq!(oovocab(&[&"--help"]).status.code(), Some(0));
}

#[test]
fn human_outputs_show_layout_and_summary() {
    let dir = tempdir();
    let out = dir.path().join("v.oov");
    let o = oovocab(&[
        &"build",
        &"--spec",
        &"fixtures/clicks.toml",
        &"-o",
        &out,
        &"fixtures/clicks",
    ]);
    let summary = stderr(&o);
    assert!(o.status.success());
    assert!(summary.contains("80000 rows in 4 files"), "{summary}");
    assert!(
        summary
            .lines()
            .any(|l| l.starts_with("category") && l.contains("100.0%")),
        "{summary}"
    );
    let text = ok(oovocab(&[
        &"inspect",
        &out,
        &"--feature",
        &"category",
        &"--top",
        &"2",
    ]));
    assert!(
        text.contains("layout: padding 0 | null - | oov 1..2 (1 buckets) | known 2..14 | size 14"),
        "{text}"
    );
    assert_eq!(text.matches("news/").count(), 2, "{text}");
}
