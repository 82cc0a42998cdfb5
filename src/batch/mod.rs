//! Batch processing: expanding inputs, the results file with resume, and the pipelined runner.

mod inputs;
mod results;
mod runner;

pub use inputs::{expand_inputs, is_cloud_file, InputError, CLOUD_EXTENSIONS};
pub use results::{Record, ResultsError, ResultsFile, ResultsFormat};
pub use runner::{record, run_batch, BatchOptions, BatchSummary};
