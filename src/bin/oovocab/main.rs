//! The `oovocab` command line: build, inspect and look up vocabularies.

mod cmd;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

/// Vocabularies for categorical features, ready for values never seen.
#[derive(Parser, Debug)]
#[command(name = "oovocab", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    #[command(flatten)]
    common: Common,
}

/// Flags every verb takes.
#[derive(Args, Debug, Clone, Copy)]
pub struct Common {
    /// Worker threads (default: one per core).
    #[arg(long, global = true, value_name = "N")]
    threads: Option<usize>,
    /// Print nothing but results and errors.
    #[arg(long, short, global = true)]
    quiet: bool,
}

impl Common {
    /// Threads for the library (0 = one per core).
    pub fn threads(&self) -> usize {
        self.threads.unwrap_or(0)
    }

    /// Whether to draw a progress bar: on a terminal, when not quiet.
    pub fn progress(&self) -> bool {
        !self.quiet && std::io::stderr().is_terminal()
    }

    /// Whether to print summaries.
    pub fn verbose(&self) -> bool {
        !self.quiet
    }
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Count the spec's features in Parquet files and write a vocabulary.
    Build {
        /// The spec file (TOML).
        #[arg(long, value_name = "SPEC.toml")]
        spec: PathBuf,
        /// The vocabulary file to write.
        #[arg(short, long, value_name = "OUT.oov")]
        output: PathBuf,
        /// Parquet files, or directories searched for *.parquet.
        #[arg(required = true, value_name = "INPUT")]
        inputs: Vec<PathBuf>,
    },
    /// Count the spec's features in Parquet files and save the partial
    /// counts (for `merge`; counting can then run on many machines).
    Count {
        /// The spec file (TOML).
        #[arg(long, value_name = "SPEC.toml")]
        spec: PathBuf,
        /// The partial-counts file to write.
        #[arg(short, long, value_name = "OUT.oovc")]
        output: PathBuf,
        /// Parquet files, or directories searched for *.parquet.
        #[arg(required = true, value_name = "INPUT")]
        inputs: Vec<PathBuf>,
    },
    /// Merge partial counts into a vocabulary (the same file `build` writes
    /// on all of their inputs).
    Merge {
        /// The spec file (TOML): its features must be the ones counted.
        #[arg(long, value_name = "SPEC.toml")]
        spec: PathBuf,
        /// The vocabulary file to write.
        #[arg(short, long, value_name = "OUT.oov")]
        output: PathBuf,
        /// Partial-counts files written by `count`.
        #[arg(required = true, value_name = "PART.oovc")]
        partials: Vec<PathBuf>,
    },
    /// Map the features of Parquet files to ids, one output file per input.
    Apply {
        /// The vocabulary file.
        #[arg(long, value_name = "VOCAB.oov")]
        vocab: PathBuf,
        /// The output directory.
        #[arg(short, long, value_name = "OUTDIR")]
        output: PathBuf,
        /// Parquet files, or directories searched for *.parquet.
        #[arg(required = true, value_name = "INPUT")]
        inputs: Vec<PathBuf>,
        /// Input columns to copy unchanged into the output.
        #[arg(long, value_delimiter = ',', value_name = "COL,...")]
        keep: Vec<String>,
        /// Only these features (default: all).
        #[arg(long, value_delimiter = ',', value_name = "NAME,...")]
        features: Vec<String>,
        /// The id column type.
        #[arg(long, value_enum, default_value_t = IdTypeArg::Int32)]
        id_type: IdTypeArg,
        /// Training mode: inject OOV per each feature's train_oov_rate.
        #[arg(long)]
        train: bool,
        /// Training seed.
        #[arg(long, requires = "train", default_value_t = 0)]
        seed: u64,
        /// Training epoch.
        #[arg(long, requires = "train", default_value_t = 0)]
        epoch: u64,
        /// Override every feature's train_oov_rate.
        #[arg(long, requires = "train", value_name = "F")]
        oov_rate: Option<f64>,
    },
    /// Measure how many values of some data a vocabulary knows.
    Coverage {
        /// The vocabulary file.
        #[arg(long, value_name = "VOCAB.oov")]
        vocab: PathBuf,
        /// Parquet files, or directories searched for *.parquet.
        #[arg(required = true, value_name = "INPUT")]
        inputs: Vec<PathBuf>,
        /// Print one JSON document on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Show a vocabulary's layout, counts and most frequent values.
    Inspect {
        /// The vocabulary file.
        vocab: PathBuf,
        /// Only this feature.
        #[arg(long, value_name = "NAME")]
        feature: Option<String>,
        /// How many of the most frequent values to show.
        #[arg(long, default_value_t = 10, value_name = "N")]
        top: usize,
        /// Print one JSON document on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Print the id of each value ("value<TAB>id" per line).
    Lookup {
        /// The vocabulary file.
        vocab: PathBuf,
        /// The feature.
        #[arg(long, value_name = "NAME")]
        feature: String,
        /// Values (integers in decimal); read from stdin, one a line, when none are given.
        #[arg(value_name = "VALUE", allow_hyphen_values = true)]
        values: Vec<String>,
    },
}

/// `--id-type`.
#[derive(clap::ValueEnum, Debug, Clone, Copy)]
enum IdTypeArg {
    Int32,
    Int64,
}

/// A failure of a verb: the message, and whether it was the user's input
/// (exit 1) or oovocab's own fault (exit 2).
#[derive(Debug)]
pub enum Failure {
    /// Bad input or usage.
    Input(String),
    /// An internal error.
    Internal(String),
    /// stdout was closed (a pipe into `head`): stop quietly.
    BrokenPipe,
}

impl From<oovocab::Error> for Failure {
    fn from(e: oovocab::Error) -> Self {
        Failure::Input(e.to_string())
    }
}

impl From<std::io::Error> for Failure {
    fn from(e: std::io::Error) -> Self {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            Failure::BrokenPipe
        } else {
            Failure::Input(format!("writing output: {e}"))
        }
    }
}

fn run(cli: Cli) -> Result<(), Failure> {
    let common = cli.common;
    match cli.command {
        Command::Build {
            spec,
            output,
            inputs,
        } => cmd::build::run(&common, &spec, &output, &inputs),
        Command::Count {
            spec,
            output,
            inputs,
        } => cmd::count::run(&common, &spec, &output, &inputs),
        Command::Merge {
            spec,
            output,
            partials,
        } => cmd::merge::run(&common, &spec, &output, &partials),
        Command::Apply {
            vocab,
            output,
            inputs,
            keep,
            features,
            id_type,
            train,
            seed,
            epoch,
            oov_rate,
        } => cmd::apply::run(
            &common,
            cmd::apply::Request {
                vocab: &vocab,
                output: &output,
                inputs: &inputs,
                keep: &keep,
                features: &features,
                id_type: match id_type {
                    IdTypeArg::Int32 => oovocab::IdType::Int32,
                    IdTypeArg::Int64 => oovocab::IdType::Int64,
                },
                train: train.then_some(oovocab::Mode::Train { seed, epoch }),
                oov_rate,
            },
        ),
        Command::Coverage {
            vocab,
            inputs,
            json,
        } => cmd::coverage::run(&common, &vocab, &inputs, json),
        Command::Inspect {
            vocab,
            feature,
            top,
            json,
        } => cmd::inspect::run(&vocab, feature.as_deref(), top, json),
        Command::Lookup {
            vocab,
            feature,
            values,
        } => cmd::lookup::run(&vocab, &feature, &values),
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 1 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match std::panic::catch_unwind(|| run(cli)) {
        Ok(Ok(())) | Ok(Err(Failure::BrokenPipe)) => ExitCode::SUCCESS,
        Ok(Err(Failure::Input(message))) => {
            eprintln!("error: {message}");
            ExitCode::from(1)
        }
        Ok(Err(Failure::Internal(message))) => {
            eprintln!("internal error: {message}");
            ExitCode::from(2)
        }
        // The panic hook has printed the message.
        Err(_) => {
            eprintln!(
                "internal error: oovocab panicked; please report this with the command that caused it"
            );
            ExitCode::from(2)
        }
    }
}
