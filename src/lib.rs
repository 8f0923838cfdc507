//! Vocabularies for the categorical features of recommender training data,
//! ready for values never seen.
//!
//! oovocab counts every value of a spec's features exactly (in parallel over
//! Parquet row groups), keeps the frequent ones, and gives each feature a
//! dense id space with reserved slots — padding, null, and hashed OOV
//! buckets — before the known values. The result is one versioned,
//! checksummed file that opens by memory map in milliseconds.
//!
//! # Types
//!
//! | type | what it is |
//! |---|---|
//! | [`Spec`], [`FeatureSpec`] | the spec file: which columns, thresholds, buckets |
//! | [`Counts`] | exact, mergeable counts of every feature |
//! | [`VocabularyBuilder`] | counts batches, files or partial counts, and writes the artifact |
//! | [`Vocabulary`], [`Feature`] | an opened artifact and its lookups |
//! | [`Layout`] | where a feature's ids go: padding, null, OOV buckets, known values |
//! | [`Key`], [`KeyType`] | the values looked up: bytes, `i64` or `u64` |
//! | [`Error`] | every failure, naming the file, column, row group or spec line |
//!
//! # Example
//!
//! Build in memory, serialize, open, look up:
//!
//! ```
//! use std::sync::Arc;
//! use arrow_array::{RecordBatch, StringArray};
//! use oovocab::{Spec, Vocabulary, VocabularyBuilder};
//!
//! # fn main() -> oovocab::Result<()> {
//! let spec = Spec::from_toml_str(r#"
//!     [[feature]]
//!     name = "item_id"
//!     min_count = 2
//!     oov_buckets = 4
//! "#)?;
//! let items = StringArray::from(vec![Some("a"), Some("b"), Some("a"), None, Some("c"), Some("b"), Some("a")]);
//! let batch = RecordBatch::try_from_iter([("item_id", Arc::new(items) as _)]).unwrap();
//!
//! let mut builder = VocabularyBuilder::new(spec);
//! builder.add_batch(&batch)?;
//! let bytes = builder.into_bytes()?; // what `save` writes to a file
//!
//! let vocab = Vocabulary::from_bytes(bytes)?; // `Vocabulary::open(path)` maps a file
//! let item = vocab.feature("item_id")?;
//! let layout = item.layout();
//! assert_eq!((layout.padding_id(), layout.null_id(), layout.oov_first_id()), (Some(0), Some(1), 2));
//! assert_eq!(item.id("a"), 6); // known values start after 4 OOV buckets, most frequent first
//! assert_eq!(item.id("b"), 7);
//! assert!(layout.is_oov(item.id("c"))); // seen once: below min_count
//! assert!(layout.is_oov(item.id("never seen")));
//! assert_eq!(item.size(), 8); // rows of the embedding table
//! # Ok(())
//! # }
//! ```
//!
//! # Features
//!
//! `parquet` (default) adds scanning Parquet files
//! ([`VocabularyBuilder::add_paths`]); `cli` (default) the `oovocab` binary.
//! An inference service depends on `oovocab` with `default-features = false`
//! and gets the artifact and lookups without the Parquet and CLI trees.
#![deny(unsafe_code, missing_docs, rustdoc::broken_intra_doc_links)]

#[cfg(feature = "parquet")]
mod apply;
mod artifact;
mod atomic;
mod builder;
mod count;
mod error;
mod hash;
mod id;
mod keys;
#[cfg(feature = "parquet")]
mod pages;
mod parts;
#[cfg(unix)]
mod piecewise;
mod prefetch;
mod radix;
#[cfg(feature = "parquet")]
mod rle;
#[cfg(feature = "parquet")]
mod scan;
mod spec;
mod transform;
mod values;
mod vocab;
mod zeroed;

#[cfg(feature = "parquet")]
pub use apply::{apply_files, coverage_files};
pub use artifact::{FORMAT_VERSION, Feature, MAGIC, Vocabulary};
pub use builder::VocabularyBuilder;
#[cfg(feature = "parquet")]
pub use count::parallel::ScanProgress;
pub use count::{COUNTS_MAGIC, Counts, FeatureCounts, InputFile, is_supported, key_type_of};
pub use error::{Error, Result};
pub use id::{Layout, Slot};
pub use keys::{Key, KeyType, escape_bytes};
#[cfg(feature = "parquet")]
pub use scan::discover_inputs;
pub use spec::{FeatureSpec, NullPolicy, OovUnit, Spec};
pub use transform::{FeatureReport, IdType, Mode, Report, TransformReader, Transformer};
pub use vocab::FeatureStats;

/// The README's code blocks run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
