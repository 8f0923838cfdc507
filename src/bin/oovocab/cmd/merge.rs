//! `oovocab merge`: partial counts (`.oovc`) in, one vocabulary out, the
//! same bytes `oovocab build` writes on all of the data.

use std::path::{Path, PathBuf};

use oovocab::{Spec, VocabularyBuilder};

use crate::{Common, Failure};

pub fn run(
    common: &Common,
    spec_path: &Path,
    output: &Path,
    partials: &[PathBuf],
) -> Result<(), Failure> {
    let spec = Spec::from_path(spec_path)?;
    let mut builder = VocabularyBuilder::new(spec).threads(common.threads());
    for p in partials {
        builder.add_counts_file(p)?;
    }
    let vocab = builder.save(output)?;
    if common.verbose() {
        eprintln!(
            "merged {} partial counts ({} rows, {} input files) into {}",
            partials.len(),
            vocab.rows_scanned(),
            vocab.inputs().len(),
            output.display()
        );
    }
    Ok(())
}
