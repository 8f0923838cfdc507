//! `oovocab count`: scan and count, save the partial counts (`.oovc`), for
//! `oovocab merge` to turn many of them into one vocabulary.

use std::path::{Path, PathBuf};

use super::count_inputs;
use crate::{Common, Failure};

pub fn run(
    common: &Common,
    spec_path: &Path,
    output: &Path,
    inputs: &[PathBuf],
) -> Result<(), Failure> {
    let builder = count_inputs(common, spec_path, inputs)?;
    builder.counts().save(output)?;
    if common.verbose() {
        eprintln!(
            "counted {} rows in {} files into {}",
            builder.counts().rows(),
            builder.counts().inputs().len(),
            output.display()
        );
    }
    Ok(())
}
