//! One module per verb.

pub mod apply;
pub mod build;
pub mod count;
pub mod coverage;
pub mod inspect;
pub mod lookup;
pub mod merge;

use std::path::{Path, PathBuf};

use indicatif::{ProgressBar, ProgressStyle};
use oovocab::{Key, ScanProgress, Spec, VocabularyBuilder, escape_bytes};

use crate::{Common, Failure};

/// Counts `inputs` with the spec at `spec_path` (`build` and `count`),
/// with a progress bar.
pub fn count_inputs(
    common: &Common,
    spec_path: &Path,
    inputs: &[PathBuf],
) -> Result<VocabularyBuilder, Failure> {
    let spec = Spec::from_path(spec_path)?;
    let mut builder = VocabularyBuilder::new(spec).threads(common.threads());
    let bar = Bar::new(common, "counting")?;
    let counted = builder.add_paths_with_progress(inputs, &bar);
    bar.finish();
    counted?;
    Ok(builder)
}

/// A progress bar over rows, drawn only on a terminal.
pub struct Bar(ProgressBar);

impl Bar {
    pub fn new(common: &Common, verb: &str) -> Result<Bar, Failure> {
        if !common.progress() {
            return Ok(Bar(ProgressBar::hidden()));
        }
        let style = ProgressStyle::with_template(&format!(
            "{{spinner}} {verb} [{{bar:40}}] {{human_pos}}/{{human_len}} rows ({{per_sec}}, {{eta}})"
        ))
        .map_err(|e| Failure::Internal(e.to_string()))?
        .progress_chars("=> ");
        Ok(Bar(ProgressBar::new(0).with_style(style)))
    }

    pub fn finish(&self) {
        self.0.finish_and_clear();
    }
}

impl ScanProgress for Bar {
    fn start(&self, total_rows: u64) {
        self.0.set_length(total_rows);
    }
    fn advance(&self, rows: u64) {
        self.0.inc(rows);
    }
}

/// A key as text: bytes with invalid UTF-8 as `\xNN`, integers in decimal.
pub fn key_text(key: Key<'_>) -> String {
    match key {
        Key::Bytes(b) => escape_bytes(b),
        Key::Int(v) => v.to_string(),
        Key::Uint(v) => v.to_string(),
    }
}

/// A key as JSON: a string for bytes, a number for integers.
pub fn key_json(key: Key<'_>) -> serde_json::Value {
    match key {
        Key::Bytes(b) => escape_bytes(b).into(),
        Key::Int(v) => v.into(),
        Key::Uint(v) => v.into(),
    }
}

/// `part / whole` as a percentage with one decimal.
pub fn percent(share: f64) -> String {
    format!("{:.1}%", share * 100.0)
}
