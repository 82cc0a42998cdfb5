//! Scenes over many files (`calip3d batch --scene`): the next file is read while the current one
//! is split and classified; each file's outcome goes to a callback as soon as it is known, and
//! its records (one per object, then a summary) are one [`FileRecord`] of the results file, so
//! the journal, `--resume` and the atomic results file work as for `calip3d batch`.

use super::results::{FileRecord, KeptRecord, ResultsFormat, READER_CRASHED};
use super::ReadObserver;
use crate::classify::{ClassSet, Classifier};
use crate::cloud::PointCloud;
use crate::error::{Error, Result};
use crate::load::{load, LoadOptions};
use crate::scene::{file_lines, ObjectsFormat, Scene, SceneOptions};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::mpsc::sync_channel;

/// One file's records in a `batch --scene` results file: one line per object, then its summary
/// line (`"record": "summary"`, with `ok` and, for a failed file, `error`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SceneFileRecord {
    /// The input file.
    pub file: String,
    /// Whether its scene was computed.
    pub ok: bool,
    /// A previous run died while reading this file: resuming does not try it again.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub reader_crashed: bool,
    /// Its lines in the results file's format, objects first, the summary last.
    pub lines: Vec<String>,
}

impl SceneFileRecord {
    /// The records of `file` in `format`: its scene (with the file's point count), or why it
    /// failed.
    pub fn new(
        file: &str,
        outcome: std::result::Result<(&Scene, usize), &str>,
        format: ResultsFormat,
        top_k: usize,
    ) -> Self {
        SceneFileRecord {
            file: file.to_string(),
            ok: outcome.is_ok(),
            reader_crashed: false,
            lines: file_lines(objects_format(format), file, outcome, top_k),
        }
    }
}

fn objects_format(format: ResultsFormat) -> ObjectsFormat {
    match format {
        ResultsFormat::Jsonl => ObjectsFormat::Jsonl,
        ResultsFormat::Csv => ObjectsFormat::Csv,
    }
}

/// One line of an objects file: its kind (`object` or `summary`), its file, and for a summary
/// whether the file succeeded and its error.
struct LineInfo {
    summary: bool,
    file: String,
    ok: bool,
    error: String,
}

fn line_info(line: &str, format: ResultsFormat) -> Option<LineInfo> {
    match format {
        ResultsFormat::Jsonl => {
            let v: Value = serde_json::from_str(line).ok()?;
            Some(LineInfo {
                summary: v.get("record")?.as_str()? == "summary",
                file: v.get("file")?.as_str()?.to_string(),
                ok: v.get("ok").and_then(Value::as_bool).unwrap_or(false),
                error: v
                    .get("error")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
            })
        }
        ResultsFormat::Csv => {
            let fields = crate::csv::parse_row(line)?;
            let columns = crate::scene::CSV_HEADER.split(',').count();
            // A row cut short by a kill has fewer fields; the header row is neither kind.
            if fields.len() != columns || !matches!(fields[0].as_str(), "object" | "summary") {
                return None;
            }
            let error = fields[columns - 1].clone();
            Some(LineInfo {
                summary: fields[0] == "summary",
                file: fields[1].clone(),
                ok: error.is_empty(),
                error,
            })
        }
    }
}

impl FileRecord for SceneFileRecord {
    fn file(&self) -> &str {
        &self.file
    }

    fn is_ok(&self) -> bool {
        self.ok
    }

    fn is_final(&self) -> bool {
        self.ok || self.reader_crashed
    }

    fn reader_crashed(file: &str, format: ResultsFormat) -> Self {
        let error = format!("{file}: {READER_CRASHED}");
        SceneFileRecord {
            reader_crashed: true,
            ..SceneFileRecord::new(file, Err(&error), format, 0)
        }
    }

    fn to_journal_line(&self) -> String {
        serde_json::to_string(self).expect("records serialise")
    }

    fn from_journal_line(line: &str) -> Option<Self> {
        serde_json::from_str(line).ok()
    }

    fn header(format: ResultsFormat) -> &'static str {
        match format {
            ResultsFormat::Jsonl => "",
            ResultsFormat::Csv => crate::scene::CSV_HEADER_LINE,
        }
    }

    fn results_lines(&self, _: ResultsFormat) -> Vec<String> {
        self.lines.clone()
    }

    /// A file's object lines count only with its summary after them: a successful one, or one
    /// saying a reader crashed on it.
    fn final_records(lines: Vec<String>, format: ResultsFormat) -> Vec<KeptRecord> {
        let mut pending: HashMap<String, Vec<String>> = HashMap::new();
        let mut kept = Vec::new();
        for line in lines {
            let Some(info) = line_info(&line, format) else {
                continue;
            };
            let mut group = pending.remove(&info.file).unwrap_or_default();
            group.push(line);
            if !info.summary {
                pending.insert(info.file, group);
            } else if info.ok || info.error.ends_with(READER_CRASHED) {
                kept.push(KeptRecord {
                    file: info.file,
                    lines: group,
                    ok: info.ok,
                });
            }
        }
        kept
    }
}

/// A contained panic as an error that names the file.
fn contained<T>(path: &Path, what: &str, r: std::thread::Result<Result<T>>) -> Result<T> {
    r.unwrap_or_else(|_| Err(Error::panicked_while(path.display(), what)))
}

/// One file's scene, with the cloud it was computed on (to write labels back, plot, …).
pub struct SceneFileOutcome {
    /// The cloud, every point of the file.
    pub cloud: PointCloud,
    /// Its ground, objects and labels.
    pub scene: Scene,
}

/// Runs a scene over each of `files` (read with every point: `load.max_points` is ignored),
/// handing each file's outcome to `sink` in input order. A bad file is an `Err` outcome and
/// never stops the run; only an error from `sink` (e.g. the results file cannot be written) does.
/// Returns the number of files that succeeded and failed.
///
/// ```no_run
/// # use calip3d::{classify::Classifier, load::LoadOptions, scene::SceneOptions};
/// # use calip3d::batch::run_scene_batch;
/// # let classifier = Classifier::builder().build()?;
/// # let classes = classifier.classes(&["car", "tree"])?;
/// let files = vec!["a.laz".into(), "b.laz".into()];
/// run_scene_batch(&classifier, &classes, &files, &LoadOptions::default(), &SceneOptions::default(),
///     |file, outcome| {
///         match outcome {
///             Ok(o) => println!("{}: {} objects", file.display(), o.scene.objects.len()),
///             Err(e) => eprintln!("{e}"),
///         }
///         Ok(())
///     })?;
/// # Ok::<(), calip3d::Error>(())
/// ```
pub fn run_scene_batch(
    classifier: &Classifier,
    classes: &ClassSet,
    files: &[PathBuf],
    load_options: &LoadOptions,
    options: &SceneOptions,
    sink: impl FnMut(&Path, Result<SceneFileOutcome>) -> Result<()>,
) -> Result<(usize, usize)> {
    run_scene_batch_observed(classifier, classes, files, load_options, options, &(), sink)
}

/// [`run_scene_batch`], telling `observer` when each file's reading starts and ends (a
/// [`ResultsFile`](super::ResultsFile) journals it). Files are read one at a time, so a crash
/// inside a reader always names its file. An observer error stops the run.
pub fn run_scene_batch_observed(
    classifier: &Classifier,
    classes: &ClassSet,
    files: &[PathBuf],
    load_options: &LoadOptions,
    options: &SceneOptions,
    observer: &dyn ReadObserver,
    mut sink: impl FnMut(&Path, Result<SceneFileOutcome>) -> Result<()>,
) -> Result<(usize, usize)> {
    let load_options = LoadOptions {
        max_points: 0,
        ..load_options.clone()
    };
    // The outer Result is the observer's: its failure (the journal cannot be written) ends the
    // run; the inner one is the file's.
    let (tx, rx) = sync_channel::<Result<Result<PointCloud>>>(1);
    let (mut ok, mut failed) = (0, 0);
    std::thread::scope(|scope| -> Result<()> {
        // Owned here, so an early return drops it and the reading thread stops.
        let rx = rx;
        let load_options = &load_options;
        scope.spawn(move || {
            for path in files {
                let message = observer.reading(path).and_then(|()| {
                    let cloud = catch_unwind(AssertUnwindSafe(|| {
                        load(path, load_options).map_err(Error::from)
                    }));
                    let cloud = contained(path, "reading", cloud);
                    observer.read(path).map(|()| cloud)
                });
                let stop = message.is_err();
                if tx.send(message).is_err() || stop {
                    break;
                }
            }
        });
        for path in files {
            let Ok(message) = rx.recv() else { break };
            let cloud = message?;
            let outcome = cloud.and_then(|cloud| {
                let scene = catch_unwind(AssertUnwindSafe(|| {
                    classifier.classify_scene(&cloud, classes, options)
                }));
                contained(path, "classifying the scene", scene)
                    .map(|scene| SceneFileOutcome { cloud, scene })
            });
            if outcome.is_ok() {
                ok += 1;
            } else {
                failed += 1;
            }
            sink(path, outcome)?;
        }
        Ok(())
    })?;
    Ok((ok, failed))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(kept: &[KeptRecord]) -> Vec<(&str, usize, bool)> {
        kept.iter()
            .map(|k| (k.file.as_str(), k.lines.len(), k.ok))
            .collect()
    }

    #[test]
    fn kept_files_are_those_with_a_successful_or_crashed_summary() {
        let crashed = SceneFileRecord::reader_crashed("c.las", ResultsFormat::Jsonl);
        let lines: Vec<String> = [
            r#"{"record":"object","file":"a.las","cluster_id":1}"#,
            r#"{"record":"object","file":"b.las","cluster_id":1}"#,
            r#"{"record":"object","file":"a.las","cluster_id":2}"#,
            r#"{"record":"summary","file":"a.las","ok":true,"objects":2}"#,
            r#"{"record":"summary","file":"b.las","ok":false,"error":"b.las: broken"}"#,
            &crashed.lines[0],
            r#"{"record":"object","file":"d.las","cluster_id":1}"#, // no summary: cut short
            r#"{"record":"summ"#,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let kept = SceneFileRecord::final_records(lines, ResultsFormat::Jsonl);
        assert_eq!(files(&kept), [("a.las", 3, true), ("c.las", 1, false)]);
        assert!(kept[0].lines[2].contains("\"summary\""));

        let blank = ",".repeat(crate::scene::CSV_HEADER.split(',').count() - 4);
        let csv: Vec<String> = vec![
            crate::scene::CSV_HEADER.to_string(),
            format!("object,a.las,1{blank},"),
            format!("summary,a.las,{blank},"),
            format!("summary,\"b,1.las\",{blank},b: broken"),
            crashed.lines[0].clone(), // a JSON line is no CSV row
            "object,e.las,1".to_string(),
        ];
        let kept = SceneFileRecord::final_records(csv, ResultsFormat::Csv);
        assert_eq!(files(&kept), [("a.las", 2, true)]);
    }

    #[test]
    fn journal_lines_round_trip_and_are_not_events() {
        let r = SceneFileRecord::reader_crashed("x.las", ResultsFormat::Csv);
        assert!(r.is_final() && !r.is_ok());
        assert!(r.lines[0].starts_with("summary,x.las,") && r.lines[0].ends_with(READER_CRASHED));
        let line = r.to_journal_line();
        assert_eq!(SceneFileRecord::from_journal_line(&line), Some(r));
        assert_eq!(
            SceneFileRecord::from_journal_line(r#"{"event":"reading","file":"x.las"}"#),
            None
        );
    }
}
