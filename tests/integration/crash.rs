use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow_array::{Int64Array, RecordBatch, StringArray};
use parquet::basic::Compression;

use crate::util::*;

const SPEC: &str = "[[feature]]\nname = \"item\"\n[[feature]]\nname = \"user\"\n";

/// Four files of 100k rows with ~150k distinct items: big enough that a
/// build or apply takes long enough to be killed halfway.
fn write_inputs(dir: &Path) -> PathBuf {
    let data = dir.join("data");
    std::fs::create_dir(&data).unwrap();
    for f in 0..4u64 {
        let rows = 100_000u64;
        let items: Vec<String> = (0..rows)
            .map(|i| format!("item-{}", (f * rows + i) * 7919 % 150_000))
            .collect();
        let users: Vec<i64> = (0..rows).map(|i| ((i * 31 + f) % 50_000) as i64).collect();
        let batch = RecordBatch::try_from_iter([
            ("item", Arc::new(StringArray::from(items)) as _),
            ("user", Arc::new(Int64Array::from(users)) as _),
        ])
        .unwrap();
        write_parquet(
            &data.join(format!("part-{f}.parquet")),
            &[batch],
            Compression::SNAPPY,
            25_000,
        );
    }
    data
}

fn spawn(args: &[&dyn AsRef<std::ffi::OsStr>]) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_oovocab"))
        .args(args.iter().map(|a| a.as_ref()))
        .env_clear()
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// Runs `args` once to time it, then starts it `kills` times and kills it
/// (SIGKILL) at moments spread over that time, calling `after` each time.
fn kill_at_moments(args: &[&dyn AsRef<std::ffi::OsStr>], kills: u32, mut after: impl FnMut(u32)) {
    let start = Instant::now();
    assert!(spawn(args).wait().unwrap().success());
    let full = start.elapsed();
    for k in 0..kills {
        let mut child = spawn(args);
        std::thread::sleep(
            full.mul_f64(f64::from(k) / f64::from(kills)) + Duration::from_micros(300),
        );
        let _ = child.kill();
        child.wait().unwrap();
        after(k);
    }
}

/// The names in `dir` that are not hidden temporary files of an output,
/// after checking every other name is one.
fn visible_files(dir: &Path) -> Vec<String> {
    let mut visible = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            assert!(
                name.ends_with(".tmp"),
                "a temporary file is named .NAME.*.tmp: {name}"
            );
        } else {
            visible.push(name);
        }
    }
    visible.sort();
    visible
}

#[test]
fn a_killed_build_leaves_the_previous_artifact_or_the_new_one_complete() {
    let dir = tempdir();
    let data = write_inputs(dir.path());
    let spec = write_spec(dir.path(), SPEC);
    let out_dir = dir.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();
    let out = out_dir.join("v.oov");
    // The previous version: a build of one file.
    ok(oovocab(&[
        &"build",
        &"--spec",
        &spec,
        &"-o",
        &out,
        &data.join("part-0.parquet"),
    ]));
    let previous = std::fs::read(&out).unwrap();
    let new_dir = dir.path().join("reference");
    std::fs::create_dir(&new_dir).unwrap();
    let reference = new_dir.join("v.oov");
    ok(oovocab(&[
        &"build", &"--spec", &spec, &"-o", &reference, &data,
    ]));
    let new = std::fs::read(&reference).unwrap();
    assert_ne!(previous, new);

    let mut outcomes = BTreeMap::new();
    kill_at_moments(
        &[&"build", &"--spec", &spec, &"-o", &out, &data],
        16,
        |_| {
            assert_eq!(visible_files(&out_dir), ["v.oov"]);
            let now = std::fs::read(&out).unwrap();
            let which = if now == previous {
                "previous"
            } else {
                assert!(now == new, "the output is one complete version");
                "new"
            };
            *outcomes.entry(which).or_insert(0) += 1;
            // Back to the previous version for the next kill.
            std::fs::write(&out, &previous).unwrap();
        },
    );
    eprintln!("outcomes of the kills: {outcomes:?}");
    // Temporary files left by kills do not disturb a rerun.
    ok(oovocab(&[&"build", &"--spec", &spec, &"-o", &out, &data]));
    assert_eq!(std::fs::read(&out).unwrap(), new);
    oovocab::Vocabulary::open(&out).unwrap();
}

#[test]
fn a_killed_apply_leaves_complete_outputs_or_none() {
    let dir = tempdir();
    let data = write_inputs(dir.path());
    let spec = write_spec(dir.path(), SPEC);
    let vocab = dir.path().join("v.oov");
    ok(oovocab(&[&"build", &"--spec", &spec, &"-o", &vocab, &data]));
    let reference = dir.path().join("reference");
    ok(oovocab(&[
        &"apply", &"--vocab", &vocab, &"-o", &reference, &data,
    ]));
    let names = visible_files(&reference);
    assert_eq!(names.len(), 4);
    let out = dir.path().join("out");
    let mut complete = 0;
    let kills = 16;
    kill_at_moments(
        &[
            &"apply",
            &"--vocab",
            &vocab,
            &"-o",
            &out,
            &"--threads",
            &"2",
            &data,
        ],
        kills,
        |k| {
            if !out.exists() {
                return;
            }
            for name in visible_files(&out) {
                assert!(names.contains(&name), "{name}");
                let got = std::fs::read(out.join(&name)).unwrap();
                assert!(
                    got == std::fs::read(reference.join(&name)).unwrap(),
                    "{name} is complete"
                );
                complete += 1;
            }
            // The last kill's leftovers stay for the rerun below.
            if k + 1 < kills {
                std::fs::remove_dir_all(&out).unwrap();
            }
        },
    );
    eprintln!("complete outputs seen after kills: {complete}");
    // A rerun over an output folder with leftovers of a kill succeeds.
    ok(oovocab(&[&"apply", &"--vocab", &vocab, &"-o", &out, &data]));
    for name in &names {
        assert_same_bytes(&out.join(name), &reference.join(name));
    }
}
