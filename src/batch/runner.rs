//! The batch pipeline: a pool of workers reads and projects files while the calling thread encodes
//! the views of many files at a time, so the encoder (the slow stage) always has full batches.

use super::results::Record;
use crate::classify::{ClassSet, Classifier, Prediction};
use crate::error::{Error, Result};
use crate::project::ClipBatch;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{sync_channel, TryRecvError};
use std::time::Instant;

/// How a batch runs.
#[derive(Debug, Clone)]
pub struct BatchOptions {
    /// Worker threads that read and project files.
    pub jobs: usize,
    /// Views encoded together (views of several files); with the queue depth this bounds memory.
    pub views_per_encode: usize,
}

impl Default for BatchOptions {
    fn default() -> Self {
        BatchOptions {
            jobs: crate::classify::DEFAULT_JOBS,
            views_per_encode: crate::encode::ENCODE_CHUNK,
        }
    }
}

/// What a batch did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchSummary {
    /// Files classified.
    pub succeeded: usize,
    /// Files that failed.
    pub failed: usize,
}

/// One file after the workers: its views, or why it failed.
struct Projected {
    file: usize,
    outcome: Result<(ClipBatch, f64, f64)>,
}

/// Told by the workers of [`run_batch_observed`] when a file's reading starts and ends, from
/// any thread: a journal of these events lets a resumed run know which file a crash happened in.
pub trait ReadObserver: Sync {
    /// `file` is about to be read. An error stops the run.
    fn reading(&self, file: &Path) -> Result<()>;
    /// `file` was read (successfully or not). An error stops the run.
    fn read(&self, file: &Path) -> Result<()>;
}

/// Observes nothing.
impl ReadObserver for () {
    fn reading(&self, _: &Path) -> Result<()> {
        Ok(())
    }
    fn read(&self, _: &Path) -> Result<()> {
        Ok(())
    }
}

/// Classifies `files`, handing each file's outcome to `sink` as soon as it is known (in
/// completion order, not input order). A bad file is an `Err` outcome; it never stops the run.
/// The run stops early only when `sink` itself fails (e.g. the results file cannot be written).
///
/// ```no_run
/// # use calip3d::{batch::{run_batch, BatchOptions}, classify::{Classifier, classes}};
/// # let classifier = Classifier::builder().build()?;
/// # let classes = classifier.class_set(classes::resolve("chair,table", &["a {}.".to_string()])?)?;
/// let files = calip3d::load::expand_inputs(&["scans/".to_string()])?;
/// run_batch(&classifier, &classes, &files, &BatchOptions::default(), |file, outcome| {
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
    options: &BatchOptions,
    sink: impl FnMut(&Path, Result<Prediction>) -> Result<()>,
) -> Result<BatchSummary> {
    run_batch_observed(classifier, classes, files, options, &(), sink)
}

/// [`run_batch`], telling `observer` when each file's reading starts and ends (a
/// [`ResultsFile`](super::ResultsFile) journals it). An observer error stops the run.
pub fn run_batch_observed(
    classifier: &Classifier,
    classes: &ClassSet,
    files: &[PathBuf],
    options: &BatchOptions,
    observer: &dyn ReadObserver,
    mut sink: impl FnMut(&Path, Result<Prediction>) -> Result<()>,
) -> Result<BatchSummary> {
    let next = AtomicUsize::new(0);
    let jobs = options.jobs.max(1);
    let views = classifier.projector().views().len().max(1);
    let clouds_per_encode = (options.views_per_encode / views).max(1);
    // Enough queued files to keep the encoder busy, few enough to bound memory.
    let (tx, rx) = sync_channel::<Projected>(clouds_per_encode + jobs);
    let mut summary = BatchSummary::default();

    std::thread::scope(|scope| -> Result<()> {
        for _ in 0..jobs {
            let tx = tx.clone();
            let next = &next;
            scope.spawn(move || loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(path) = files.get(i) else { break };
                let outcome = catch_unwind(AssertUnwindSafe(|| {
                    read_and_project(classifier, path, observer)
                }))
                .unwrap_or_else(|_| {
                    Err(Error::panicked_while(
                        path.display(),
                        "reading or projecting",
                    ))
                });
                if tx.send(Projected { file: i, outcome }).is_err() {
                    break;
                }
            });
        }
        drop(tx);

        let mut pending: Vec<(usize, ClipBatch, f64, f64)> = Vec::new();
        let mut emit = |file: usize, outcome: Result<Prediction>, summary: &mut BatchSummary| {
            if outcome.is_ok() {
                summary.succeeded += 1;
            } else {
                summary.failed += 1;
            }
            sink(&files[file], outcome)
        };
        loop {
            let msg = if pending.is_empty() {
                rx.recv().ok()
            } else if pending.len() >= clouds_per_encode {
                None
            } else {
                match rx.try_recv() {
                    Ok(m) => Some(m),
                    Err(TryRecvError::Empty) | Err(TryRecvError::Disconnected) => None,
                }
            };
            match msg {
                Some(Projected {
                    file,
                    outcome: Ok((batch, load_ms, project_ms)),
                }) => {
                    pending.push((file, batch, load_ms, project_ms));
                }
                Some(Projected {
                    file,
                    outcome: Err(e),
                }) => emit(file, Err(e), &mut summary)?,
                None if pending.is_empty() => break,
                None => {
                    for (file, outcome) in
                        score_pending(classifier, classes, std::mem::take(&mut pending))
                    {
                        emit(file, outcome, &mut summary)?;
                    }
                }
            }
        }
        Ok(())
    })?;
    Ok(summary)
}

fn read_and_project(
    classifier: &Classifier,
    path: &Path,
    observer: &dyn ReadObserver,
) -> Result<(ClipBatch, f64, f64)> {
    let t = Instant::now();
    observer.reading(path)?;
    let cloud = classifier.load(path);
    observer.read(path)?;
    let points = classifier.prepare(&cloud?)?;
    let load_ms = t.elapsed().as_secs_f64() * 1e3;
    let projected = classifier.project(&[&points])?;
    Ok((projected.batch, load_ms, projected.project_ms))
}

/// Encodes the views of several files at once.
fn score_pending(
    classifier: &Classifier,
    classes: &ClassSet,
    pending: Vec<(usize, ClipBatch, f64, f64)>,
) -> Vec<(usize, Result<Prediction>)> {
    let first = &pending[0].1;
    let mut joined = ClipBatch {
        views_per_cloud: first.views_per_cloud,
        size: first.size,
        data: Vec::with_capacity(pending.iter().map(|p| p.1.data.len()).sum()),
    };
    for p in &pending {
        joined.data.extend_from_slice(&p.1.data);
    }
    match classifier.score(&joined, classes) {
        Ok(predictions) => pending
            .iter()
            .zip(predictions)
            .map(|((file, _, load_ms, project_ms), mut p)| {
                p.timings.load = *load_ms;
                p.timings.project = *project_ms;
                (*file, Ok(p))
            })
            .collect(),
        Err(e) => {
            let message = e.to_string();
            pending
                .into_iter()
                .map(|(file, ..)| (file, Err(Error::Encode(message.clone()))))
                .collect()
        }
    }
}

/// The results-file record of one file's outcome, with the `top_k` most probable classes.
pub fn record(file: &Path, outcome: &Result<Prediction>, top_k: usize) -> Record {
    let file = file.display().to_string();
    match outcome {
        Ok(p) => Record::Ok(p.record(&file, top_k)),
        Err(e) => Record::failed(file, e.to_string()),
    }
}
