//! `oovocab inspect`: layout, counts and top values, as a table or JSON.

use std::io::Write;
use std::path::Path;

use oovocab::{Feature, Vocabulary};
use serde_json::{Value, json};

use super::{key_json, key_text, percent};
use crate::Failure;

pub fn run(path: &Path, only: Option<&str>, top: usize, as_json: bool) -> Result<(), Failure> {
    let vocab = Vocabulary::open(path)?;
    let features: Vec<Feature<'_>> = match only {
        Some(name) => vec![vocab.feature(name)?],
        None => vocab.features().collect(),
    };
    let mut out = std::io::stdout().lock();
    if as_json {
        let doc = json!({
            "format_version": vocab.format_version(),
            "rows_scanned": vocab.rows_scanned(),
            "inputs": vocab.inputs().iter().map(|i| json!({"path": i.path, "size": i.size})).collect::<Vec<_>>(),
            "features": features.iter().map(|f| feature_json(f, top)).collect::<Vec<_>>(),
        });
        serde_json::to_writer_pretty(&mut out, &doc).map_err(std::io::Error::from)?;
        writeln!(out)?;
        return Ok(());
    }
    writeln!(
        out,
        "{} (format v{})",
        path.display(),
        vocab.format_version()
    )?;
    writeln!(out, "rows scanned: {}", vocab.rows_scanned())?;
    writeln!(out, "inputs: {}", vocab.inputs().len())?;
    for i in vocab.inputs() {
        writeln!(out, "  {} ({} bytes)", i.path, i.size)?;
    }
    for f in &features {
        let l = f.layout();
        let s = f.stats();
        let spec = f.spec();
        let id = |v: Option<u32>| v.map_or("-".to_string(), |v| v.to_string());
        writeln!(out)?;
        writeln!(
            out,
            "feature {} (column {}, {} keys)",
            f.name(),
            f.column(),
            f.key_type()
        )?;
        writeln!(
            out,
            "  layout: padding {} | null {} | oov {}..{} ({} buckets) | known {}..{} | size {}",
            id(l.padding_id()),
            id(l.null_id()),
            l.oov_first_id(),
            l.first_vocab_id(),
            l.oov_buckets(),
            l.first_vocab_id(),
            l.size(),
            l.size()
        )?;
        writeln!(
            out,
            "  spec: min_count {} | max_size {} | hash_seed {} | nulls {} | train_oov_rate {} per {}",
            spec.min_count,
            spec.max_size,
            spec.hash_seed,
            spec.nulls.as_str(),
            spec.train_oov_rate,
            spec.train_oov_unit.as_str()
        )?;
        writeln!(
            out,
            "  counts: {} occurrences, {} distinct, {} null; kept {} values covering {}",
            s.total_count,
            s.distinct_count,
            s.null_count,
            f.len(),
            percent(s.coverage())
        )?;
        if top > 0 && !f.is_empty() {
            writeln!(out, "  {:>10} {:>12}  value", "id", "count")?;
            for (id, key, count) in f.iter().take(top) {
                writeln!(out, "  {id:>10} {count:>12}  {}", key_text(key))?;
            }
        }
    }
    Ok(())
}

fn feature_json(f: &Feature<'_>, top: usize) -> Value {
    let l = f.layout();
    let s = f.stats();
    let spec = f.spec();
    json!({
        "name": f.name(),
        "column": f.column(),
        "key_type": f.key_type().name(),
        "size": l.size(),
        "vocab_size": l.vocab_size(),
        "padding_id": l.padding_id(),
        "null_id": l.null_id(),
        "oov_first_id": l.oov_first_id(),
        "oov_buckets": l.oov_buckets(),
        "first_vocab_id": l.first_vocab_id(),
        "min_count": spec.min_count,
        "max_size": spec.max_size,
        "hash_seed": spec.hash_seed,
        "nulls": spec.nulls,
        "train_oov_rate": spec.train_oov_rate,
        "train_oov_unit": spec.train_oov_unit,
        "total_count": s.total_count,
        "distinct_count": s.distinct_count,
        "null_count": s.null_count,
        "kept_count": s.kept_count,
        "coverage": s.coverage(),
        "top": f.iter().take(top).map(|(id, key, count)| json!({"value": key_json(key), "id": id, "count": count})).collect::<Vec<_>>(),
    })
}
