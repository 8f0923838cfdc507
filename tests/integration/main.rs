//! The integration tests: one binary, one module per area.

/// Helpers: fixture paths, temp dirs, Parquet writers, the binary.
mod util;

/// The CLI on the committed fixtures and on files written by the tests.
mod cli;

/// Building on every column type, compared with an independent count.
mod types;

/// `apply` and `coverage`: ids, training mode, held-out coverage, bad input.
mod apply;

/// Parquet written by pyarrow, Polars and DuckDB, against their own counts.
mod interop;

/// Many threads on one vocabulary while its file is replaced.
mod concurrency;

/// Corrupt artifacts and other bad inputs.
mod corrupt;

/// Partial counts: `count` and `merge`, corrupt and foreign partials.
mod partial;

/// SIGKILL during build and apply.
mod crash;

/// Property tests: merge, selection, layout, round trip.
mod prop;

/// A vocabulary of millions of keys, whose tables and buffers are mapped.
mod large;
