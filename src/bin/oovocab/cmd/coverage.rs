//! `oovocab coverage`: how much of some data a vocabulary knows.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use oovocab::{Vocabulary, coverage_files};
use serde_json::json;

use super::{Bar, percent};
use crate::{Common, Failure};

pub fn run(
    common: &Common,
    vocab: &Path,
    inputs: &[PathBuf],
    as_json: bool,
) -> Result<(), Failure> {
    let vocab = Arc::new(Vocabulary::open(vocab)?);
    let bar = Bar::new(common, "measuring")?;
    let done = coverage_files(vocab, None, inputs, common.threads(), &bar);
    bar.finish();
    let report = done?;
    let mut out = std::io::stdout().lock();
    if as_json {
        let doc = json!({
            "rows": report.rows,
            "features": report.features.iter().map(|f| json!({
                "name": f.name,
                "occurrences": f.occurrences,
                "null_count": f.null_count,
                "known_count": f.known_count,
                "oov_count": f.oov_count,
                "oov_rate": f.oov_rate(),
            })).collect::<Vec<_>>(),
        });
        serde_json::to_writer_pretty(&mut out, &doc).map_err(std::io::Error::from)?;
        writeln!(out)?;
        return Ok(());
    }
    writeln!(out, "rows: {}", report.rows)?;
    writeln!(
        out,
        "{:<20} {:>12} {:>10} {:>12} {:>12} {:>9}",
        "feature", "occurrences", "nulls", "known", "oov", "oov rate"
    )?;
    for f in &report.features {
        writeln!(
            out,
            "{:<20} {:>12} {:>10} {:>12} {:>12} {:>9}",
            f.name,
            f.occurrences,
            f.null_count,
            f.known_count,
            f.oov_count,
            percent(f.oov_rate())
        )?;
    }
    Ok(())
}
