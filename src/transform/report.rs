//! What a transformation saw: per feature occurrences, nulls, known and OOV
//! values, and injected OOVs.

use serde::{Deserialize, Serialize};

/// Counts of one feature over the batches transformed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeatureReport {
    /// The feature.
    pub name: String,
    /// Non-null values (each list element counts one).
    pub occurrences: u64,
    /// Null values and null list elements.
    pub null_count: u64,
    /// Occurrences whose value is in the vocabulary.
    pub known_count: u64,
    /// Occurrences whose value is not in the vocabulary.
    pub oov_count: u64,
    /// Known occurrences replaced by their OOV id (training mode).
    pub injected: u64,
}

impl FeatureReport {
    pub(crate) fn new(name: &str) -> FeatureReport {
        FeatureReport {
            name: name.to_string(),
            ..FeatureReport::default()
        }
    }

    /// `oov_count / occurrences` (0 when there were none).
    pub fn oov_rate(&self) -> f64 {
        ratio(self.oov_count, self.occurrences)
    }

    /// `injected / known_count` (0 when there were none).
    pub fn injected_rate(&self) -> f64 {
        ratio(self.injected, self.known_count)
    }

    fn add(&mut self, other: &FeatureReport) {
        self.occurrences += other.occurrences;
        self.null_count += other.null_count;
        self.known_count += other.known_count;
        self.oov_count += other.oov_count;
        self.injected += other.injected;
    }
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

/// Counts of every feature over the batches transformed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// Rows transformed.
    pub rows: u64,
    /// One entry per feature, in output order.
    pub features: Vec<FeatureReport>,
}

impl Report {
    /// Adds another report of the same features.
    pub fn add(&mut self, other: &Report) {
        self.rows += other.rows;
        if self.features.is_empty() {
            self.features = other
                .features
                .iter()
                .map(|f| FeatureReport::new(&f.name))
                .collect();
        }
        for (a, b) in self.features.iter_mut().zip(&other.features) {
            a.add(b);
        }
    }
}
