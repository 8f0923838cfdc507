//! oovocab
#![deny(unsafe_code)]
mod artifact;
mod builder;
mod count;
mod error;
mod hash;
mod id;
mod keys;
#[cfg(feature = "parquet")]
mod scan;
mod spec;
mod vocab;

pub use artifact::{FORMAT_VERSION, Feature, MAGIC, Vocabulary};
pub use builder::VocabularyBuilder;
#[cfg(feature = "parquet")]
pub use count::parallel::ScanProgress;
pub use count::{Counts, FeatureCounts, InputFile, is_supported, key_type_of};
pub use error::{Error, Result};
pub use id::{Layout, Slot};
pub use keys::{Key, KeyType, escape_bytes};
#[cfg(feature = "parquet")]
pub use scan::discover_inputs;
pub use spec::{FeatureSpec, NullPolicy, OovUnit, Spec};
pub use vocab::FeatureStats;
