//! A whole batch run into a results file, as `calip3d batch` (and `batch --scene`) does it: the
//! results file and its journal are opened (resumed or not), files a previous run crashed in are
//! read alone first, every other file goes through the pipeline, and the results file is replaced
//! atomically at the end. The CLI only adds a progress bar and prints the report.

use super::results::{ResultsFile, ResultsFormat, ResultsSummary, Resume};
use super::runner::{record, run_batch_observed};
use super::scene::{run_scene_batch_observed, SceneFileRecord};
use crate::classify::{ClassSet, Classifier, StreamOptions, DEFAULT_TOP_K};
use crate::error::{Error, Result};
use crate::load::LoadOptions;
use crate::scene::SceneOptions;
use std::path::{Path, PathBuf};

/// Hooks a caller gets while a [`BatchJob`] runs (a progress bar, logs). Every method has an
/// empty default, and `()` implements the trait, for callers that want none.
pub trait BatchProgress {
    /// The run starts: `to_do` files will be processed, `already_done` were kept from a
    /// previous run (resume).
    fn started(&mut self, _to_do: usize, _already_done: usize) {}
    /// A previous run died while reading `file`: it gets a failed record and is not tried again.
    fn crashed_before(&mut self, _file: &str) {}
    /// One file is done; `error` says why it failed.
    fn file_done(&mut self, _file: &Path, _error: Option<&Error>) {}
}

impl BatchProgress for () {}

/// What a [`BatchJob`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BatchReport {
    /// Files processed by this run.
    pub processed: usize,
    /// Of them, those that succeeded.
    pub succeeded: usize,
    /// Of them, those that failed.
    pub failed: usize,
    /// Files skipped because the results file already held their final record (resume).
    pub already_done: usize,
    /// Files a previous run died in while reading them (they got a failed record).
    pub crashed_before: Vec<String>,
    /// What the finished results file holds, records kept by a resume included.
    pub results: ResultsSummary,
}

/// A batch run into a results file (.jsonl or .csv), resumable after a crash or a kill.
///
/// ```no_run
/// # use calip3d::{batch::BatchJob, classify::{Classifier, ClassList}};
/// let classifier = Classifier::builder().build()?;
/// let classes = classifier.class_list(&ClassList::from_names(["chair", "table"]))?;
/// let files = calip3d::load::expand_inputs(&["scans/".to_string()])?;
/// let report = BatchJob::new("results.jsonl")?
///     .resume(true)
///     .run(&classifier, &classes, files, &mut ())?;
/// println!("{} classified, {} failed", report.succeeded, report.failed);
/// # Ok::<(), calip3d::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct BatchJob {
    out: PathBuf,
    resume: bool,
    stream: StreamOptions,
    top_k: usize,
}

impl BatchJob {
    /// A run into `out`; fails at once when `out` ends in neither .jsonl nor .csv.
    pub fn new(out: impl Into<PathBuf>) -> Result<Self> {
        let out = out.into();
        ResultsFormat::from_path(&out)?;
        Ok(BatchJob {
            out,
            resume: false,
            stream: StreamOptions::default(),
            top_k: DEFAULT_TOP_K,
        })
    }

    /// Keep the final records of a previous run into the same file and skip their files
    /// (default: start afresh).
    pub fn resume(mut self, on: bool) -> Self {
        self.resume = on;
        self
    }

    /// Workers and encoder batch (default [`StreamOptions::default`]).
    pub fn stream(mut self, options: StreamOptions) -> Self {
        self.stream = options;
        self
    }

    /// Classes listed per record (default [`DEFAULT_TOP_K`]).
    pub fn top_k(mut self, k: usize) -> Self {
        self.top_k = k;
        self
    }

    /// The results file.
    pub fn out(&self) -> &Path {
        &self.out
    }

    /// Classifies each of `files` into one record of the results file. A bad file gets a failed
    /// record and never stops the others; only a results file that cannot be written does.
    pub fn run(
        &self,
        classifier: &Classifier,
        classes: &ClassSet,
        files: Vec<PathBuf>,
        progress: &mut dyn BatchProgress,
    ) -> Result<BatchReport> {
        let (results, plan) = ResultsFile::open(&self.out, self.resume)?;
        let mut report = report_start(&plan, progress);
        let (isolate, todo) = plan.plan(files);
        progress.started(isolate.len() + todo.len(), report.already_done);
        let mut sink = |file: &Path, outcome: Result<_>| {
            progress.file_done(file, outcome.as_ref().err());
            results.write(&record(file, &outcome, self.top_k))?;
            Ok(())
        };
        // Files that were being read together when a run died go first, one at a time, so
        // that a crash among them names its file.
        for file in &isolate {
            results.isolated(file)?;
            let alone = StreamOptions::new(1, self.stream.views_per_encode);
            let s = run_batch_observed(
                classifier,
                classes,
                std::slice::from_ref(file),
                &alone,
                &results,
                &mut sink,
            )?;
            report.add(s.succeeded, s.failed);
        }
        let s = run_batch_observed(classifier, classes, &todo, &self.stream, &results, sink)?;
        report.add(s.succeeded, s.failed);
        report.results = results.finish()?;
        Ok(report)
    }

    /// Splits each of `files` into ground and objects and classifies the objects: one record
    /// per object and a summary record per file (see [`SceneFileRecord`]). Files are read with
    /// every point (`load.max_points` is ignored). A bad file gets a failed summary and never
    /// stops the others.
    pub fn run_scenes(
        &self,
        classifier: &Classifier,
        classes: &ClassSet,
        files: Vec<PathBuf>,
        load: &LoadOptions,
        scene: &SceneOptions,
        progress: &mut dyn BatchProgress,
    ) -> Result<BatchReport> {
        let (results, plan) = ResultsFile::<SceneFileRecord>::open(&self.out, self.resume)?;
        let mut report = report_start(&plan, progress);
        // Scenes read one file at a time: files to isolate are simply read first.
        let (isolate, todo) = plan.plan(files);
        for file in &isolate {
            results.isolated(file)?;
        }
        let todo: Vec<PathBuf> = isolate.into_iter().chain(todo).collect();
        progress.started(todo.len(), report.already_done);
        let format = results.format();
        let (ok, failed) = run_scene_batch_observed(
            classifier,
            classes,
            &todo,
            load,
            scene,
            &results,
            |file, outcome| {
                progress.file_done(file, outcome.as_ref().err());
                let name = file.display().to_string();
                let record = match outcome {
                    Ok(o) => SceneFileRecord::new(
                        &name,
                        Ok((&o.scene, o.cloud.len())),
                        format,
                        self.top_k,
                    ),
                    Err(e) => SceneFileRecord::new(&name, Err(&e.to_string()), format, self.top_k),
                };
                Ok(results.write(&record)?)
            },
        )?;
        report.add(ok, failed);
        report.results = results.finish()?;
        Ok(report)
    }
}

/// The report before any file ran: what a resume found.
fn report_start(plan: &Resume, progress: &mut dyn BatchProgress) -> BatchReport {
    for file in &plan.crashed {
        progress.crashed_before(file);
    }
    BatchReport {
        already_done: plan.done.len(),
        crashed_before: plan.crashed.clone(),
        ..Default::default()
    }
}

impl BatchReport {
    fn add(&mut self, succeeded: usize, failed: usize) {
        self.succeeded += succeeded;
        self.failed += failed;
        self.processed += succeeded + failed;
    }
}
