//! Batch processing: the pipelined runner, and the results file with its crash journal and
//! resume.

mod results;
mod runner;

pub use results::{
    journal_path, FailedRecord, Record, ResultsError, ResultsFile, ResultsFormat, ResultsSummary,
    Resume, READER_CRASHED,
};
pub use runner::{record, run_batch, run_batch_observed, BatchOptions, BatchSummary, ReadObserver};
