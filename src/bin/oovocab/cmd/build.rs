//! `oovocab build`: scan, count, select, save.

use std::path::{Path, PathBuf};
use std::time::Instant;

use oovocab::{Spec, VocabularyBuilder};

use super::{Bar, percent};
use crate::{Common, Failure};

pub fn run(
    common: &Common,
    spec_path: &Path,
    output: &Path,
    inputs: &[PathBuf],
) -> Result<(), Failure> {
    let started = Instant::now();
    let spec = Spec::from_path(spec_path)?;
    let mut builder = VocabularyBuilder::new(spec).threads(common.threads());
    let bar = Bar::new(common, "counting")?;
    let counted = builder.add_paths_with_progress(inputs, &bar);
    bar.finish();
    counted?;
    let vocab = builder.save(output)?;
    if common.verbose() {
        eprintln!(
            "built {} from {} rows in {} files in {:.2}s",
            output.display(),
            vocab.rows_scanned(),
            vocab.inputs().len(),
            started.elapsed().as_secs_f64()
        );
        eprintln!(
            "{:<20} {:>6} {:>12} {:>10} {:>9} {:>10} {:>10}",
            "feature", "keys", "distinct", "kept", "coverage", "nulls", "size"
        );
        for f in vocab.features() {
            let s = f.stats();
            eprintln!(
                "{:<20} {:>6} {:>12} {:>10} {:>9} {:>10} {:>10}",
                f.name(),
                f.key_type().name(),
                s.distinct_count,
                f.len(),
                percent(s.coverage()),
                s.null_count,
                f.size()
            );
        }
    }
    Ok(())
}
