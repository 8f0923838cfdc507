//! `oovocab apply`: Parquet in, ids out, one file per input.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use oovocab::{IdType, Mode, Transformer, Vocabulary, apply_files};

use super::{Bar, percent};
use crate::{Common, Failure};

/// What `apply` was asked to do.
pub struct Request<'a> {
    pub vocab: &'a Path,
    pub output: &'a Path,
    pub inputs: &'a [PathBuf],
    pub keep: &'a [String],
    pub features: &'a [String],
    pub id_type: IdType,
    pub train: Option<Mode>,
    pub oov_rate: Option<f64>,
}

pub fn run(common: &Common, req: Request<'_>) -> Result<(), Failure> {
    let started = Instant::now();
    let vocab = Arc::new(Vocabulary::open(req.vocab)?);
    let mut t = Transformer::new(vocab)
        .with_keep(req.keep)
        .with_id_type(req.id_type);
    if !req.features.is_empty() {
        t = t.with_features(req.features)?;
    }
    if let Some(mode) = req.train {
        t = t.with_mode(mode);
    }
    if let Some(rate) = req.oov_rate {
        t = t.with_oov_rate(rate)?;
    }
    let bar = Bar::new(common, "applying")?;
    let done = apply_files(&t, req.inputs, req.output, common.threads(), &bar);
    bar.finish();
    let report = done?;
    if common.verbose() {
        eprintln!(
            "wrote ids of {} rows to {} in {:.2}s",
            report.rows,
            req.output.display(),
            started.elapsed().as_secs_f64()
        );
        eprintln!(
            "{:<20} {:>12} {:>10} {:>12} {:>9} {:>12}",
            "feature", "occurrences", "nulls", "oov", "oov rate", "injected"
        );
        for f in &report.features {
            let injected = if req.train.is_some() {
                format!("{} ({})", f.injected, percent(f.injected_rate()))
            } else {
                "-".to_string()
            };
            eprintln!(
                "{:<20} {:>12} {:>10} {:>12} {:>9} {:>12}",
                f.name,
                f.occurrences,
                f.null_count,
                f.oov_count,
                percent(f.oov_rate()),
                injected
            );
        }
    }
    Ok(())
}
