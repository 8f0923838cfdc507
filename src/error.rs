//! The one public error type of the crate.

use std::path::PathBuf;

/// A `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in oovocab.
///
/// Every variant names where the problem is: the file, and where it applies
/// the column, row group, feature or spec line. The `Display` text is meant to
/// be shown to a person as it is.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading or writing a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The spec file is not valid.
    #[error("{}{}: {message}", path.display(), line.map(|l| format!(":{l}")).unwrap_or_default())]
    Spec {
        /// The spec file (`<memory>` for a spec parsed from a string).
        path: PathBuf,
        /// The 1-based line the problem is on, when it is known.
        line: Option<usize>,
        /// What is wrong.
        message: String,
    },
    /// A Parquet file could not be read.
    #[cfg(feature = "parquet")]
    #[error("{}{}: {source}", path.display(), row_group.map(|g| format!(", row group {g}")).unwrap_or_default())]
    Parquet {
        /// The Parquet file.
        path: PathBuf,
        /// The row group being read, when the error happened inside one.
        row_group: Option<usize>,
        /// The parquet crate's error.
        source: parquet::errors::ParquetError,
    },
    /// An Arrow operation failed.
    #[error("{context}: {source}")]
    Arrow {
        /// What was being done, and on which file.
        context: String,
        /// Arrow's error.
        source: arrow_schema::ArrowError,
    },
    /// An input has no column that a feature needs.
    #[error("{source_name}: no column {column:?} (feature {feature:?}); the columns are: {}", available.join(", "))]
    MissingColumn {
        /// The input (a file path or `<batch>`).
        source_name: String,
        /// The feature that needs the column.
        feature: String,
        /// The missing column.
        column: String,
        /// The columns that exist.
        available: Vec<String>,
    },
    /// A column has a type oovocab does not handle.
    #[error(
        "{source_name}: column {column:?} has type {data_type}, which is not a string, binary, integer, dictionary of strings or list of those"
    )]
    UnsupportedType {
        /// The input (a file path or `<batch>`).
        source_name: String,
        /// The column.
        column: String,
        /// Its Arrow type.
        data_type: String,
    },
    /// A feature's column is signed in one input and `UInt64` in another.
    #[error(
        "feature {feature:?}: column is {first_type} in {first} but {second_type} in {second}; a feature's integer keys must be all signed (or narrower than 64 bits) or all UInt64"
    )]
    KeyTypeConflict {
        /// The feature.
        feature: String,
        /// The first input.
        first: String,
        /// Its key type.
        first_type: &'static str,
        /// The input that disagrees.
        second: String,
        /// Its key type.
        second_type: &'static str,
    },
    /// An input path holds no Parquet files, or no inputs were given.
    #[error("{}: no *.parquet files found", path.display())]
    NoInputs {
        /// The directory (or the empty path when no inputs were given at all).
        path: PathBuf,
    },
    /// The artifact is corrupt, truncated or not an oovocab artifact.
    #[error("{}: {message}", path.display())]
    Artifact {
        /// The artifact (`<memory>` for one opened from bytes).
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The artifact was written by a newer, incompatible format version.
    #[error("{}: format version {found}; this build of oovocab reads versions up to {supported}: upgrade oovocab or rewrite the file", path.display())]
    UnsupportedVersion {
        /// The artifact.
        path: PathBuf,
        /// The version in the file.
        found: u16,
        /// The newest major version this build reads.
        supported: u16,
    },
    /// A feature name that the vocabulary does not have.
    #[error("no feature {name:?}; the features are: {}", available.join(", "))]
    UnknownFeature {
        /// The name asked for.
        name: String,
        /// The features that exist.
        available: Vec<String>,
    },
    /// A value given as text could not be read as the feature's key type.
    #[error("feature {feature:?} has {key_type} keys; {value:?} is not one")]
    BadValue {
        /// The feature.
        feature: String,
        /// Its key type.
        key_type: &'static str,
        /// The text given.
        value: String,
    },
    /// A column's type does not match the feature's key type.
    #[error(
        "{source_name}: column {column:?} has type {data_type}, but feature {feature:?} has {key_type} keys"
    )]
    TypeMismatch {
        /// The input (a file path or `<batch>`).
        source_name: String,
        /// The column.
        column: String,
        /// Its Arrow type.
        data_type: String,
        /// The feature.
        feature: String,
        /// The feature's key type.
        key_type: &'static str,
    },
    /// A null value in a feature whose spec says `nulls = "error"`.
    #[error(
        "{source_name}: column {column:?} has a null at row {row}, and feature {feature:?} has nulls = \"error\""
    )]
    NullValue {
        /// The input (a file path or `<batch>`).
        source_name: String,
        /// The column.
        column: String,
        /// The feature.
        feature: String,
        /// The row, counted from 0 across the inputs.
        row: u64,
    },
    /// An option or argument is not valid.
    #[error("{0}")]
    InvalidArgument(String),
    /// The vocabulary would not fit the id space.
    #[error("feature {feature:?}: {message}")]
    Limit {
        /// The feature.
        feature: String,
        /// Which limit was hit.
        message: String,
    },
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn artifact(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Error::Artifact {
            path: path.into(),
            message: message.into(),
        }
    }
}
