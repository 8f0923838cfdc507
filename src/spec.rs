//! The spec file (DESIGN.md §2): which features to build and how.

use std::collections::HashSet;
use std::ops::Range;
use std::path::Path;

use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::error::{Error, Result};

/// What a null value maps to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NullPolicy {
    /// Nulls get their own id (the default).
    Slot,
    /// Nulls get the first OOV id; the layout has no null slot.
    Oov,
    /// A null is an error when the vocabulary is applied; no null slot.
    Error,
}

impl NullPolicy {
    /// The name used in the spec.
    pub fn as_str(self) -> &'static str {
        match self {
            NullPolicy::Slot => "slot",
            NullPolicy::Oov => "oov",
            NullPolicy::Error => "error",
        }
    }
}

impl OovUnit {
    /// The name used in the spec.
    pub fn as_str(self) -> &'static str {
        match self {
            OovUnit::Row => "row",
            OovUnit::Value => "value",
        }
    }
}

/// What training-mode OOV injection samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OovUnit {
    /// Each occurrence (example) independently.
    Row,
    /// A random share of known values, hidden for a whole epoch.
    Value,
}

/// The settings of one feature, with defaults applied.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeatureSpec {
    /// The output column's name, unique in a spec.
    pub name: String,
    /// The input column (defaults to `name`).
    pub column: String,
    /// Values seen fewer times are not in the vocabulary.
    pub min_count: u64,
    /// Keep at most this many known values (0 = no limit).
    pub max_size: u64,
    /// Hashed OOV slots (at least 1).
    pub oov_buckets: u32,
    /// Seed of the OOV bucket hash.
    pub hash_seed: u64,
    /// Whether id 0 is reserved for padding.
    pub padding: bool,
    /// What nulls map to.
    pub nulls: NullPolicy,
    /// OOV injection probability in training mode.
    pub train_oov_rate: f64,
    /// What OOV injection samples.
    pub train_oov_unit: OovUnit,
}

/// A parsed, validated spec: the features of one vocabulary file.
///
/// ```
/// let spec = oovocab::Spec::from_toml_str(r#"
/// [defaults]
/// min_count = 2
///
/// [[feature]]
/// name = "item_id"
/// oov_buckets = 8
///
/// [[feature]]
/// name = "publisher_id"
/// column = "publisher"
/// "#).unwrap();
/// assert_eq!(spec.features()[0].min_count, 2);
/// assert_eq!(spec.features()[0].oov_buckets, 8);
/// assert_eq!(spec.features()[1].column, "publisher");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    features: Vec<FeatureSpec>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSpec {
    #[serde(default)]
    defaults: Option<RawOptions>,
    #[serde(default)]
    feature: Vec<RawFeature>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawOptions {
    min_count: Option<u64>,
    max_size: Option<u64>,
    oov_buckets: Option<Spanned<u32>>,
    hash_seed: Option<u64>,
    padding: Option<bool>,
    nulls: Option<NullPolicy>,
    train_oov_rate: Option<Spanned<f64>>,
    train_oov_unit: Option<OovUnit>,
}

// `deny_unknown_fields` does not work with `flatten`, so a feature lists the
// option keys again.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFeature {
    name: Spanned<String>,
    column: Option<String>,
    min_count: Option<u64>,
    max_size: Option<u64>,
    oov_buckets: Option<Spanned<u32>>,
    hash_seed: Option<u64>,
    padding: Option<bool>,
    nulls: Option<NullPolicy>,
    train_oov_rate: Option<Spanned<f64>>,
    train_oov_unit: Option<OovUnit>,
}

impl Spec {
    /// Reads and validates a spec file.
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be read, [`Error::Spec`] (with the
    /// line) for bad TOML, an unknown key, a bad value or a duplicate name.
    pub fn from_path(path: impl AsRef<Path>) -> Result<Spec> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Spec::parse(&text, path)
    }

    /// Parses and validates a spec from TOML text.
    ///
    /// # Errors
    /// As [`Spec::from_path`], with the path `<memory>`.
    pub fn from_toml_str(text: &str) -> Result<Spec> {
        Spec::parse(text, Path::new("<memory>"))
    }

    /// A spec from features built in code; validated like a file.
    ///
    /// # Errors
    /// [`Error::Spec`] for a bad value or a duplicate name.
    pub fn from_features(features: Vec<FeatureSpec>) -> Result<Spec> {
        let spec = Spec { features };
        spec.validate(Path::new("<memory>"), |_| None)?;
        Ok(spec)
    }

    /// The features, in spec order.
    pub fn features(&self) -> &[FeatureSpec] {
        &self.features
    }

    /// The feature named `name`.
    pub fn feature(&self, name: &str) -> Option<&FeatureSpec> {
        self.features.iter().find(|f| f.name == name)
    }

    fn parse(text: &str, path: &Path) -> Result<Spec> {
        let line_of =
            |span: Range<usize>| Some(text[..span.start.min(text.len())].matches('\n').count() + 1);
        let spec_error = |line: Option<usize>, message: String| Error::Spec {
            path: path.to_path_buf(),
            line,
            message,
        };
        let raw: RawSpec = toml::from_str(text)
            .map_err(|e| spec_error(e.span().and_then(line_of), e.message().trim().to_string()))?;
        let d = raw.defaults.unwrap_or_default();
        let mut spans: Vec<(String, Option<usize>)> = Vec::new();
        let mut features = Vec::with_capacity(raw.feature.len());
        for f in raw.feature {
            let name_line = line_of(f.name.span());
            let buckets = f.oov_buckets.as_ref().or(d.oov_buckets.as_ref());
            let rate = f.train_oov_rate.as_ref().or(d.train_oov_rate.as_ref());
            if let Some(b) = buckets.filter(|b| *b.get_ref() == 0) {
                return Err(spec_error(
                    line_of(b.span()),
                    "oov_buckets must be at least 1".into(),
                ));
            }
            if let Some(r) = rate.filter(|r| !(0.0..=1.0).contains(r.get_ref())) {
                return Err(spec_error(
                    line_of(r.span()),
                    format!(
                        "train_oov_rate must be between 0 and 1, not {}",
                        r.get_ref()
                    ),
                ));
            }
            let name = f.name.into_inner();
            spans.push((name.clone(), name_line));
            features.push(FeatureSpec {
                column: f.column.unwrap_or_else(|| name.clone()),
                name,
                min_count: f.min_count.or(d.min_count).unwrap_or(1),
                max_size: f.max_size.or(d.max_size).unwrap_or(0),
                oov_buckets: buckets.map_or(1, |b| *b.get_ref()),
                hash_seed: f.hash_seed.or(d.hash_seed).unwrap_or(0),
                padding: f.padding.or(d.padding).unwrap_or(true),
                nulls: f.nulls.or(d.nulls).unwrap_or(NullPolicy::Slot),
                train_oov_rate: rate.map_or(0.0, |r| *r.get_ref()),
                train_oov_unit: f
                    .train_oov_unit
                    .or(d.train_oov_unit)
                    .unwrap_or(OovUnit::Row),
            });
        }
        let spec = Spec { features };
        spec.validate(path, |name| {
            spans
                .iter()
                .rev()
                .find(|(n, _)| n == name)
                .and_then(|s| s.1)
        })?;
        Ok(spec)
    }

    fn validate(&self, path: &Path, line_of: impl Fn(&str) -> Option<usize>) -> Result<()> {
        let err = |name: &str, message: String| Error::Spec {
            path: path.to_path_buf(),
            line: line_of(name),
            message,
        };
        if self.features.is_empty() {
            return Err(Error::Spec {
                path: path.to_path_buf(),
                line: None,
                message: "no [[feature]] tables: a spec needs at least one feature".into(),
            });
        }
        let mut seen = HashSet::new();
        for f in &self.features {
            if f.name.is_empty() {
                return Err(err(&f.name, "a feature's name must not be empty".into()));
            }
            if !seen.insert(f.name.as_str()) {
                return Err(err(&f.name, format!("duplicate feature name {:?}", f.name)));
            }
            if f.oov_buckets == 0 {
                return Err(err(
                    &f.name,
                    format!("feature {:?}: oov_buckets must be at least 1", f.name),
                ));
            }
            if !(0.0..=1.0).contains(&f.train_oov_rate) {
                return Err(err(
                    &f.name,
                    format!(
                        "feature {:?}: train_oov_rate must be between 0 and 1",
                        f.name
                    ),
                ));
            }
        }
        Ok(())
    }
}

impl FeatureSpec {
    /// A feature with every option at its default, reading the column `name`.
    ///
    /// ```
    /// let f = oovocab::FeatureSpec::new("item_id");
    /// assert_eq!((f.min_count, f.oov_buckets, f.padding), (1, 1, true));
    /// ```
    pub fn new(name: impl Into<String>) -> FeatureSpec {
        let name = name.into();
        FeatureSpec {
            column: name.clone(),
            name,
            min_count: 1,
            max_size: 0,
            oov_buckets: 1,
            hash_seed: 0,
            padding: true,
            nulls: NullPolicy::Slot,
            train_oov_rate: 0.0,
            train_oov_unit: OovUnit::Row,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        Spec::from_toml_str(text).unwrap_err().to_string()
    }

    #[test]
    fn defaults_then_overrides() {
        let s = Spec::from_toml_str(
            "[defaults]\nmin_count = 3\noov_buckets = 2\nnulls = \"oov\"\n\n[[feature]]\nname = \"a\"\n\n[[feature]]\nname = \"b\"\ncolumn = \"bb\"\nmin_count = 1\ntrain_oov_rate = 0.25\ntrain_oov_unit = \"value\"\n",
        )
        .unwrap();
        let [a, b] = s.features() else { panic!() };
        assert_eq!(
            (a.min_count, a.oov_buckets, a.nulls, a.column.as_str()),
            (3, 2, NullPolicy::Oov, "a")
        );
        assert_eq!(
            (
                b.min_count,
                b.column.as_str(),
                b.train_oov_rate,
                b.train_oov_unit
            ),
            (1, "bb", 0.25, OovUnit::Value)
        );
    }

    #[test]
    fn unknown_key_names_key_and_line() {
        let e = err("[[feature]]\nname = \"a\"\nmin_cnt = 3\n");
        assert!(e.contains("<memory>:3:"), "{e}");
        assert!(e.contains("min_cnt"), "{e}");
        let e = err("[defaults]\nbuckets = 3\n[[feature]]\nname = \"a\"\n");
        assert!(e.contains(":2:") && e.contains("buckets"), "{e}");
    }

    #[test]
    fn bad_values_name_their_line() {
        let e = err("[[feature]]\nname = \"a\"\noov_buckets = 0\n");
        assert!(e.contains(":3:") && e.contains("oov_buckets"), "{e}");
        let e = err("[defaults]\ntrain_oov_rate = 1.5\n[[feature]]\nname = \"a\"\n");
        assert!(e.contains(":2:") && e.contains("1.5"), "{e}");
        let e = err("[[feature]]\nname = \"a\"\nnulls = \"maybe\"\n");
        assert!(e.contains(":3:"), "{e}");
    }

    #[test]
    fn duplicate_names_and_empty_spec_are_errors() {
        let e = err("[[feature]]\nname = \"a\"\n[[feature]]\nname = \"a\"\ncolumn = \"x\"\n");
        assert!(e.contains(":4:") && e.contains("duplicate"), "{e}");
        assert!(err("").contains("no [[feature]]"));
        assert!(err("[[feature]]\nname = \"a\"\n[oops").contains(":3"));
    }
}
