//! `oovocab lookup`: the id of each value, in input order.

use std::io::{BufRead, Write};
use std::path::Path;

use oovocab::{Error, Feature, Key, KeyType, Vocabulary};

use crate::Failure;

pub fn run(path: &Path, feature: &str, values: &[String]) -> Result<(), Failure> {
    let vocab = Vocabulary::open(path)?;
    let feature = vocab.feature(feature)?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    if values.is_empty() {
        for line in std::io::stdin().lock().lines() {
            let line = line.map_err(|e| Failure::Input(format!("reading stdin: {e}")))?;
            print_id(&mut out, &feature, &line)?;
        }
    } else {
        // Every value is checked before anything is printed.
        let ids = values
            .iter()
            .map(|v| id_of(&feature, v))
            .collect::<Result<Vec<_>, _>>()?;
        for (value, id) in values.iter().zip(ids) {
            writeln!(out, "{value}\t{id}")?;
        }
    }
    out.flush()?;
    Ok(())
}

fn print_id(out: &mut impl Write, feature: &Feature<'_>, value: &str) -> Result<(), Failure> {
    writeln!(out, "{value}\t{}", id_of(feature, value)?)?;
    Ok(())
}

/// The id of a value given as text, read in the feature's key type.
fn id_of(feature: &Feature<'_>, value: &str) -> Result<u32, Error> {
    let bad = || Error::BadValue {
        feature: feature.name().to_string(),
        key_type: feature.key_type().name(),
        value: value.to_string(),
    };
    Ok(match feature.key_type() {
        KeyType::Bytes => feature.id(Key::Bytes(value.as_bytes())),
        KeyType::Int => feature.id(value.trim().parse::<i64>().map_err(|_| bad())?),
        KeyType::Uint => feature.id(value.trim().parse::<u64>().map_err(|_| bad())?),
    })
}
