//! Batch processing: a whole run into a results file ([`BatchJob`], what `calip3d batch` does),
//! the pipelined runner it uses, scenes over many files, and the results file with its crash
//! journal and resume.

mod job;
mod results;
mod runner;
mod scene;

pub use job::{BatchJob, BatchProgress, BatchReport};
pub use results::{
    journal_path, FailedRecord, FileRecord, KeptRecord, Record, ResultsError, ResultsFile,
    ResultsFormat, ResultsSummary, Resume, READER_CRASHED,
};
pub use runner::{record, run_batch, run_batch_observed, BatchSummary, ReadObserver};
pub use scene::{run_scene_batch, run_scene_batch_observed, SceneFileOutcome, SceneFileRecord};
