//! `oovocab build`: scan, count, select, save.

use std::path::{Path, PathBuf};
use std::time::Instant;

use super::{count_inputs, percent};
use crate::{Common, Failure};

pub fn run(
    common: &Common,
    spec_path: &Path,
    output: &Path,
    inputs: &[PathBuf],
) -> Result<(), Failure> {
    let started = Instant::now();
    let counted = count_inputs(common, spec_path, inputs)?;
    let counting = started.elapsed();
    let vocab = counted.save(output)?;
    if common.verbose() {
        let total = started.elapsed();
        eprintln!(
            "built {} from {} rows in {} files in {:.2}s (counting {:.2}s; selecting, serializing and writing {:.2}s)",
            output.display(),
            vocab.rows_scanned(),
            vocab.inputs().len(),
            total.as_secs_f64(),
            counting.as_secs_f64(),
            (total - counting).as_secs_f64()
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
