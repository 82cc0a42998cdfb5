//! The batch pipeline: files streamed through the one pipeline loop
//! ([`crate::classify::StreamOptions`]): workers read and project files while the calling thread
//! encodes the views of many files at a time, so the encoder (the slow stage) always has full
//! batches.

use super::results::Record;
use crate::classify::stream::{self, Files};
use crate::classify::{ClassSet, Classifier, Prediction, StreamOptions};
use crate::error::Result;
use std::path::{Path, PathBuf};

pub use crate::classify::stream::ReadObserver;

/// What a batch did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchSummary {
    /// Files classified.
    pub succeeded: usize,
    /// Files that failed.
    pub failed: usize,
}

/// Classifies `files`, handing each file's outcome to `sink` as soon as it is known (in
/// completion order, not input order). A bad file is an `Err` outcome; it never stops the run.
/// The run stops early only when `sink` itself fails (e.g. the results file cannot be written).
///
/// ```no_run
/// # use calip3d::{batch::run_batch, classify::{Classifier, StreamOptions}};
/// # let classifier = Classifier::builder().build()?;
/// # let classes = classifier.classes(&["chair", "table"])?;
/// let files = calip3d::load::expand_inputs(&["scans/".to_string()])?;
/// run_batch(&classifier, &classes, &files, &StreamOptions::default(), |file, outcome| {
///     match outcome {
///         Ok(p) => println!("{}: {}", file.display(), p.best().0),
///         Err(e) => eprintln!("{e}"),
///     }
///     Ok(())
/// })?;
/// # Ok::<(), calip3d::Error>(())
/// ```
pub fn run_batch(
    classifier: &Classifier,
    classes: &ClassSet,
    files: &[PathBuf],
    options: &StreamOptions,
    sink: impl FnMut(&Path, Result<Prediction>) -> Result<()>,
) -> Result<BatchSummary> {
    run_batch_observed(classifier, classes, files, options, &(), sink)
}

/// [`run_batch`], telling `observer` when each file's reading starts and ends (a
/// [`ResultsFile`](super::ResultsFile) journals it). An observer error fails that file.
pub fn run_batch_observed(
    classifier: &Classifier,
    classes: &ClassSet,
    files: &[PathBuf],
    options: &StreamOptions,
    observer: &dyn ReadObserver,
    mut sink: impl FnMut(&Path, Result<Prediction>) -> Result<()>,
) -> Result<BatchSummary> {
    let mut summary = BatchSummary::default();
    let source = Files { files, observer };
    stream::predict(classifier, classes, &source, options, |i, outcome| {
        if outcome.is_ok() {
            summary.succeeded += 1;
        } else {
            summary.failed += 1;
        }
        sink(&files[i], outcome)
    })?;
    Ok(summary)
}

/// The results-file record of one file's outcome, with the `top_k` most probable classes.
pub fn record(file: &Path, outcome: &Result<Prediction>, top_k: usize) -> Record {
    let file = file.display().to_string();
    match outcome {
        Ok(p) => Record::Ok(p.record(&file, top_k)),
        Err(e) => Record::failed(file, e.to_string()),
    }
}
