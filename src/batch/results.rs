//! The results file of a batch run, and the journal that makes it survive crashes.
//!
//! While a run goes on, every event is appended (and flushed) to a journal beside the results
//! file, `<results>.journal`: a file is about to be read, it was read, its record. The results
//! file itself is only ever replaced atomically: at the end of the run it is rewritten from the
//! records it already held and the journal's, and the journal goes. So a killed or crashed run
//! loses no finished record, and `--resume` knows which file a crash happened in: a file whose
//! reading started and never ended. When that file is certain (it was the only one being read),
//! it gets a failed record ("the reader crashed on this file") and is not tried again; when several
//! files were being read at once, they are read again one at a time first, which singles it out.
//!
//! [`ResultsFile`] is generic over what a file's record is ([`FileRecord`]): a [`Record`] for
//! `calip3d batch`, a [`SceneFileRecord`](super::SceneFileRecord) (its objects and a summary) for
//! `calip3d batch --scene`.

use crate::classify::PredictionRecord;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// What a batch records about one input file, in its results file and its journal.
pub trait FileRecord: Sized {
    /// The input file the record is about.
    fn file(&self) -> &str;
    /// Whether the file succeeded.
    fn is_ok(&self) -> bool;
    /// Whether resuming skips the file: it succeeded, or a reader crashed on it.
    fn is_final(&self) -> bool;
    /// The record of a file that a previous run died in while reading it ([`READER_CRASHED`]).
    fn reader_crashed(file: &str, format: ResultsFormat) -> Self;
    /// The record as one journal line (a JSON object, no newline).
    fn to_journal_line(&self) -> String;
    /// Parses a journal line; None for any other line (an event, a line cut short by a kill).
    fn from_journal_line(line: &str) -> Option<Self>;
    /// What a results file in `format` starts with (a CSV header row with its newline, or "").
    fn header(format: ResultsFormat) -> &'static str;
    /// The record's lines in a results file in `format`, without newlines.
    fn results_lines(&self, format: ResultsFormat) -> Vec<String>;
    /// The final records of an existing results file (what a resume keeps), in file order.
    fn final_records(lines: Vec<String>, format: ResultsFormat) -> Vec<KeptRecord>;
}

/// A final record read back from an existing results file: its lines, as they were.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeptRecord {
    /// The input file.
    pub file: String,
    /// Its lines in the results file.
    pub lines: Vec<String>,
    /// Whether it succeeded (a "reader crashed" record is final but not ok).
    pub ok: bool,
}

/// How records are written, chosen by the results file's extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ResultsFormat {
    /// One JSON object per line: the `classify --json` object plus `"ok": true`, or
    /// `{"file": …, "ok": false, "error": …}`.
    Jsonl,
    /// `file,ok,top_class,probability,top_k,error,stamp` with a header row (`stamp`: see
    /// [`PredictionRecord::stamp`]).
    Csv,
}

/// What a failed record says about a file that a previous run died in while reading it.
pub const READER_CRASHED: &str =
    "the reader crashed on this file (a previous run died while reading it); it is not retried";

/// Why a results file could not be opened or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ResultsError {
    #[error("{0}: results file must end in .jsonl or .csv")]
    /// The results path ends in neither .jsonl nor .csv.
    UnknownFormat(PathBuf),
    #[error("{path}: {source}")]
    /// The results file or its journal cannot be read or written.
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

impl ResultsFormat {
    /// The format for a results path, from its extension.
    pub fn from_path(path: &Path) -> Result<Self, ResultsError> {
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
        {
            Some(e) if e == "jsonl" || e == "ndjson" => Ok(Self::Jsonl),
            Some(e) if e == "csv" => Ok(Self::Csv),
            _ => Err(ResultsError::UnknownFormat(path.to_path_buf())),
        }
    }
}

/// A file that could not be classified.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FailedRecord {
    /// The input file.
    pub file: String,
    /// Why it failed.
    pub error: String,
    /// A previous run died while reading this file: resuming does not try it again.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub reader_crashed: bool,
}

/// One input file's outcome.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    /// The file was classified.
    Ok(PredictionRecord),
    /// The file could not be classified.
    Failed(FailedRecord),
}

/// A record as one JSONL line: its fields plus `ok`.
#[derive(Serialize)]
struct Line<'a, T> {
    #[serde(flatten)]
    record: &'a T,
    ok: bool,
}

impl Record {
    /// A failed record.
    pub fn failed(file: impl Into<String>, error: impl Into<String>) -> Self {
        Record::Failed(FailedRecord {
            file: file.into(),
            error: error.into(),
            reader_crashed: false,
        })
    }

    /// The input file the record is about.
    pub fn file(&self) -> &str {
        match self {
            Record::Ok(r) => &r.file,
            Record::Failed(f) => &f.file,
        }
    }

    /// Whether the file was classified.
    pub fn is_ok(&self) -> bool {
        matches!(self, Record::Ok(_))
    }

    /// The record as one JSON object (no newline).
    pub fn to_json_line(&self) -> String {
        let line = match self {
            Record::Ok(record) => serde_json::to_string(&Line { record, ok: true }),
            Record::Failed(record) => serde_json::to_string(&Line { record, ok: false }),
        };
        line.expect("records always serialise")
    }

    /// Parses a JSONL record line; None for any other line (an event, a cut-short line).
    pub fn from_json_line(line: &str) -> Option<Record> {
        let value: Value = serde_json::from_str(line).ok()?;
        match value.get("ok")?.as_bool()? {
            true => serde_json::from_value(value).ok().map(Record::Ok),
            false => serde_json::from_value(value).ok().map(Record::Failed),
        }
    }

    /// The record as one CSV row: `file,ok,top_class,probability,top_k,error,stamp`.
    pub fn to_csv_row(&self) -> String {
        match self {
            Record::Ok(r) => {
                let (class, p) = r
                    .top
                    .first()
                    .map(|t| (t.class.as_str(), t.probability))
                    .unwrap_or(("", f32::NAN));
                let top_k: Vec<String> = r
                    .top
                    .iter()
                    .map(|t| format!("{}:{:.6}", t.class, t.probability))
                    .collect();
                crate::csv::row(&[
                    &r.file,
                    "true",
                    class,
                    &format!("{p:.6}"),
                    &top_k.join(" "),
                    "",
                    r.stamp.as_deref().unwrap_or(""),
                ])
            }
            Record::Failed(f) => crate::csv::row(&[&f.file, "false", "", "", "", &f.error, ""]),
        }
    }
}

impl FileRecord for Record {
    fn file(&self) -> &str {
        Record::file(self)
    }

    fn is_ok(&self) -> bool {
        Record::is_ok(self)
    }

    fn is_final(&self) -> bool {
        match self {
            Record::Ok(_) => true,
            Record::Failed(f) => f.reader_crashed,
        }
    }

    fn reader_crashed(file: &str, _: ResultsFormat) -> Self {
        Record::Failed(FailedRecord {
            error: format!("{file}: {READER_CRASHED}"),
            file: file.to_string(),
            reader_crashed: true,
        })
    }

    fn to_journal_line(&self) -> String {
        self.to_json_line()
    }

    fn from_journal_line(line: &str) -> Option<Self> {
        Record::from_json_line(line)
    }

    fn header(format: ResultsFormat) -> &'static str {
        match format {
            ResultsFormat::Csv => "file,ok,top_class,probability,top_k,error,stamp\n",
            ResultsFormat::Jsonl => "",
        }
    }

    fn results_lines(&self, format: ResultsFormat) -> Vec<String> {
        vec![match format {
            ResultsFormat::Jsonl => self.to_json_line(),
            ResultsFormat::Csv => self.to_csv_row(),
        }]
    }

    fn final_records(lines: Vec<String>, format: ResultsFormat) -> Vec<KeptRecord> {
        lines
            .into_iter()
            .filter_map(|line| {
                let file = final_file(&line, format)?;
                let ok = is_ok_line(&line, format);
                Some(KeptRecord {
                    file,
                    lines: vec![line],
                    ok,
                })
            })
            .collect()
    }
}

/// What the journal says about one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Event {
    /// Its reader is about to start.
    Reading,
    /// Its reader returned (well or not).
    Read,
    /// It is read on its own, to single out the file a crash happened in.
    Isolated,
}

#[derive(Serialize, Deserialize)]
struct EventLine {
    event: Event,
    file: String,
}

/// The append-only log of a run, beside the results file.
struct Journal {
    path: PathBuf,
    out: Mutex<BufWriter<File>>,
}

impl Journal {
    fn append(&self, line: &str) -> Result<(), ResultsError> {
        let mut out = self.out.lock().unwrap_or_else(|p| p.into_inner());
        writeln!(out, "{line}")
            .and_then(|_| out.flush())
            .map_err(|source| ResultsError::Io {
                path: self.path.clone(),
                source,
            })
    }

    fn event(&self, event: Event, file: &Path) -> Result<(), ResultsError> {
        let line = EventLine {
            event,
            file: file.display().to_string(),
        };
        self.append(&serde_json::to_string(&line).expect("events serialise"))
    }
}

/// The journal path of a results file.
pub fn journal_path(results: &Path) -> PathBuf {
    let mut name = results.file_name().unwrap_or_default().to_os_string();
    name.push(".journal");
    results.with_file_name(name)
}

/// What a resumed run finds it must do.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resume {
    /// Files with a final record already (classified, or a reader crashed on them): skip them.
    pub done: HashSet<String>,
    /// Files that were being read together when a run died: read them again, one at a time,
    /// before the others (with [`ResultsFile::isolated`] before each).
    pub isolate: Vec<String>,
    /// Files that got a "reader crashed" record in this resume.
    pub crashed: Vec<String>,
}

/// What a finished results file holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ResultsSummary {
    /// Records, one per file.
    pub records: usize,
    /// Of them, failed ones (this run's and those a resume kept).
    pub failed: usize,
}

/// An open results file and its journal. Records and events go to the journal as they come
/// ([`ResultsFile::write`], and the [`ReadObserver`](super::ReadObserver) calls that
/// [`run_batch`](super::run_batch) makes from its workers); [`ResultsFile::finish`] then replaces
/// the results file atomically.
pub struct ResultsFile<R: FileRecord = Record> {
    path: PathBuf,
    format: ResultsFormat,
    /// Final records that the results file held before this run.
    kept: Vec<KeptRecord>,
    journal: Journal,
    records: PhantomData<fn() -> R>,
}

impl<R: FileRecord> ResultsFile<R> {
    /// Opens the results file of a run.
    ///
    /// Without `resume`, any old results and journal are replaced by an empty results file.
    /// With `resume`, the final records of the old results file and of a journal left by a killed
    /// run are kept, and the returned [`Resume`] says which files to skip and which to isolate;
    /// failed records (but "reader crashed" ones) are dropped so that those files are tried again.
    pub fn open(path: &Path, resume: bool) -> Result<(Self, Resume), ResultsError> {
        let format = ResultsFormat::from_path(path)?;
        let io = |p: &Path| {
            let p = p.to_path_buf();
            move |source| ResultsError::Io { path: p, source }
        };
        let journal_path = journal_path(path);
        let mut plan = Resume::default();
        let mut kept = Vec::new();
        let mut carried: Vec<String> = Vec::new();
        if resume {
            if path.exists() {
                let reader = BufReader::new(File::open(path).map_err(io(path))?);
                let lines = reader
                    .lines()
                    .collect::<std::io::Result<Vec<_>>>()
                    .map_err(io(path))?;
                for record in R::final_records(lines, format) {
                    if plan.done.insert(record.file.clone()) {
                        kept.push(record);
                    }
                }
            }
            if journal_path.exists() {
                carried = replay_journal::<R>(&journal_path, format, &mut plan)
                    .map_err(io(&journal_path))?;
            }
        } else {
            crate::atomic::write(path, R::header(format).as_bytes()).map_err(io(path))?;
        }
        // The journal starts again with the final records it carries over.
        let out = OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(true)
            .open(&journal_path)
            .map_err(io(&journal_path))?;
        let journal = Journal {
            path: journal_path,
            out: Mutex::new(BufWriter::new(out)),
        };
        for line in &carried {
            journal.append(line)?;
        }
        Ok((
            ResultsFile {
                path: path.to_path_buf(),
                format,
                kept,
                journal,
                records: PhantomData,
            },
            plan,
        ))
    }

    /// Journals one file's record, flushed to the OS so that a killed process keeps it.
    pub fn write(&self, record: &R) -> Result<(), ResultsError> {
        self.journal.append(&record.to_journal_line())
    }

    /// Journals that `file` is about to be read on its own (see [`Resume::isolate`]).
    pub fn isolated(&self, file: &Path) -> Result<(), ResultsError> {
        self.journal.event(Event::Isolated, file)
    }

    /// Replaces the results file atomically with every record (the kept ones first, then the
    /// journal's in the order they came, the last record of a file winning), removes the
    /// journal, and counts the records.
    pub fn finish(self) -> Result<ResultsSummary, ResultsError> {
        let journal_path = self.journal.path.clone();
        drop(self.journal);
        let io = |p: &Path| {
            let p = p.to_path_buf();
            move |source| ResultsError::Io { path: p, source }
        };
        let mut records: Vec<R> = Vec::new();
        let mut index: HashMap<String, usize> = HashMap::new();
        let reader = BufReader::new(File::open(&journal_path).map_err(io(&journal_path))?);
        for line in reader.lines() {
            let line = line.map_err(io(&journal_path))?;
            if let Some(record) = R::from_journal_line(&line) {
                match index.get(record.file()) {
                    Some(&i) => records[i] = record,
                    None => {
                        index.insert(record.file().to_string(), records.len());
                        records.push(record);
                    }
                }
            }
        }
        let format = self.format;
        crate::atomic::write_with(&self.path, |w| {
            w.write_all(R::header(format).as_bytes())?;
            for line in self.kept.iter().flat_map(|k| &k.lines) {
                writeln!(w, "{line}")?;
            }
            for line in records.iter().flat_map(|r| r.results_lines(format)) {
                writeln!(w, "{line}")?;
            }
            Ok(())
        })
        .map_err(io(&self.path))?;
        std::fs::remove_file(&journal_path).map_err(io(&journal_path))?;
        let kept_failed = self.kept.iter().filter(|k| !k.ok).count();
        Ok(ResultsSummary {
            records: self.kept.len() + records.len(),
            failed: kept_failed + records.iter().filter(|r| !r.is_ok()).count(),
        })
    }

    /// How records are written.
    pub fn format(&self) -> ResultsFormat {
        self.format
    }
}

impl<R: FileRecord> super::ReadObserver for ResultsFile<R> {
    fn reading(&self, file: &Path) -> crate::Result<()> {
        Ok(self.journal.event(Event::Reading, file)?)
    }
    fn read(&self, file: &Path) -> crate::Result<()> {
        Ok(self.journal.event(Event::Read, file)?)
    }
}

impl Resume {
    /// Splits a run's `files` into those to read alone first ([`Resume::isolate`], in the
    /// journal's order) and the rest still to do (neither done nor isolated), in input order.
    pub fn plan(&self, files: Vec<PathBuf>) -> (Vec<PathBuf>, Vec<PathBuf>) {
        let isolate = self.isolate.iter().map(PathBuf::from).collect();
        let todo = files
            .into_iter()
            .filter(|f| {
                let name = f.display().to_string();
                !self.done.contains(&name) && !self.isolate.contains(&name)
            })
            .collect();
        (isolate, todo)
    }
}

/// Reads a journal left by a killed run: fills `plan` and returns the lines of the final records
/// to carry over (a "reader crashed" record among them for a file the crash surely happened in).
fn replay_journal<R: FileRecord>(
    path: &Path,
    format: ResultsFormat,
    plan: &mut Resume,
) -> std::io::Result<Vec<String>> {
    #[derive(Default)]
    struct FileState {
        last: Option<Event>,
        isolated: bool,
    }
    let mut states: HashMap<String, FileState> = HashMap::new();
    let mut order: Vec<String> = Vec::new();
    let mut finals: Vec<(String, String)> = Vec::new();
    for line in BufReader::new(File::open(path)?).lines() {
        let line = line?;
        if let Some(record) = R::from_journal_line(&line) {
            let file = record.file().to_string();
            states.remove(&file);
            if record.is_final() {
                finals.push((file, line));
            }
        } else if let Ok(e) = serde_json::from_str::<EventLine>(&line) {
            if !states.contains_key(&e.file) {
                order.push(e.file.clone());
            }
            let state = states.entry(e.file).or_default();
            match e.event {
                Event::Isolated => state.isolated = true,
                event => state.last = Some(event),
            }
        }
        // Anything else is a line cut short by the kill: ignored.
    }
    let mut carried = Vec::new();
    for (file, line) in finals {
        if plan.done.insert(file) {
            carried.push(line);
        }
    }
    let suspects: Vec<String> = order
        .into_iter()
        .filter(|f| !plan.done.contains(f))
        .filter(|f| {
            states
                .get(f)
                .is_some_and(|s| s.last == Some(Event::Reading))
        })
        .collect();
    let certain = suspects.len() == 1;
    for file in suspects {
        if certain || states[&file].isolated {
            carried.push(R::reader_crashed(&file, format).to_journal_line());
            plan.done.insert(file.clone());
            plan.crashed.push(file);
        } else {
            plan.isolate.push(file);
        }
    }
    Ok(carried)
}

/// The file of a final record line (classified, or a reader crashed on it), or None for a failed,
/// header or unreadable line.
fn final_file(line: &str, format: ResultsFormat) -> Option<String> {
    match format {
        ResultsFormat::Jsonl => {
            let record = Record::from_json_line(line)?;
            FileRecord::is_final(&record).then(|| record.file().to_string())
        }
        ResultsFormat::Csv => {
            let fields = crate::csv::parse_row(line)?;
            // A complete row has all seven fields; a cut-short last line has fewer.
            let crashed = fields.get(5).is_some_and(|e| e.ends_with(READER_CRASHED));
            (fields.len() == 7 && (fields[1] == "true" || crashed)).then(|| fields[0].clone())
        }
    }
}

fn is_ok_line(line: &str, format: ResultsFormat) -> bool {
    match format {
        ResultsFormat::Jsonl => Record::from_json_line(line).is_some_and(|r| r.is_ok()),
        ResultsFormat::Csv => {
            crate::csv::parse_row(line).is_some_and(|f| f.get(1).is_some_and(|ok| ok == "true"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::ReadObserver;
    use crate::classify::RankedClass;

    fn ok_record(file: &str) -> Record {
        Record::Ok(PredictionRecord {
            file: file.into(),
            classes: vec!["chair".into(), "lamp, tall".into()],
            logits: vec![1.0, 0.0],
            probabilities: vec![0.75, 0.25],
            top: vec![
                RankedClass {
                    class: "chair".into(),
                    probability: 0.75,
                },
                RankedClass {
                    class: "lamp, tall".into(),
                    probability: 0.25,
                },
            ],
            projection: crate::project::Projection::Realistic,
            model: "m".into(),
            timings_ms: Default::default(),
            devices: Default::default(),
            view_logits: None,
            stamp: None,
        })
    }

    fn lines(path: &Path) -> Vec<String> {
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .map(String::from)
            .collect()
    }

    #[test]
    fn resume_keeps_successes_drops_failures_and_cut_lines() {
        for ext in ["jsonl", "csv"] {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join(format!("out.{ext}"));
            let (f, plan) = ResultsFile::<Record>::open(&path, true).unwrap();
            assert!(plan.done.is_empty());
            f.write(&ok_record("a.ply")).unwrap();
            f.write(&Record::failed("b.las", "b.las: not a LAS file, \"bad\""))
                .unwrap();
            f.finish().unwrap();
            // A killed run leaves half a line behind.
            let mut text = std::fs::read_to_string(&path).unwrap();
            text.push_str(if ext == "csv" {
                "\"c.ply,tr"
            } else {
                "{\"file\":\"c.ply\",\"ok\":tr"
            });
            std::fs::write(&path, text).unwrap();

            let (f, plan) = ResultsFile::<Record>::open(&path, true).unwrap();
            assert_eq!(plan.done, HashSet::from(["a.ply".to_string()]), "{ext}");
            f.write(&ok_record("b.las")).unwrap();
            f.finish().unwrap();
            let (f, plan) = ResultsFile::<Record>::open(&path, true).unwrap();
            assert_eq!(plan.done.len(), 2, "{ext}");
            f.finish().unwrap();
            let text = std::fs::read_to_string(&path).unwrap();
            assert_eq!(text.matches("b.las").count(), 1, "{ext}: {text}");
            assert!(!text.contains("c.ply"), "{ext}: {text}");
            assert!(!journal_path(&path).exists());
        }
    }

    #[test]
    fn a_killed_run_keeps_its_records_in_the_journal() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.jsonl");
        let (f, _) = ResultsFile::<Record>::open(&path, false).unwrap();
        f.reading(Path::new("a.ply")).unwrap();
        f.read(Path::new("a.ply")).unwrap();
        f.write(&ok_record("a.ply")).unwrap();
        f.reading(Path::new("b.ply")).unwrap();
        f.read(Path::new("b.ply")).unwrap();
        // Killed here: b.ply was read but never scored; the results file is still empty.
        drop(f);
        assert_eq!(lines(&path), Vec::<String>::new());
        let (f, plan) = ResultsFile::<Record>::open(&path, true).unwrap();
        assert_eq!(plan.done, HashSet::from(["a.ply".to_string()]));
        assert!(plan.isolate.is_empty() && plan.crashed.is_empty());
        f.finish().unwrap();
        assert_eq!(lines(&path).len(), 1);
    }

    #[test]
    fn the_one_file_a_run_died_reading_is_recorded_as_crashed_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.csv");
        let (f, _) = ResultsFile::<Record>::open(&path, false).unwrap();
        f.reading(Path::new("poison.laz")).unwrap();
        drop(f); // the process aborted inside the reader
        let (f, plan) = ResultsFile::<Record>::open(&path, true).unwrap();
        assert_eq!(plan.crashed, ["poison.laz"]);
        assert!(plan.done.contains("poison.laz"));
        let summary = f.finish().unwrap();
        assert_eq!(
            summary,
            ResultsSummary {
                records: 1,
                failed: 1
            }
        );
        let rows = lines(&path);
        assert_eq!(rows.len(), 2, "{rows:?}");
        assert!(rows[1].starts_with("poison.laz,false,,,,"), "{rows:?}");
        assert!(rows[1].contains(READER_CRASHED));
        // Resuming again keeps it final: it is never retried.
        let (f, plan) = ResultsFile::<Record>::open(&path, true).unwrap();
        assert!(plan.done.contains("poison.laz") && plan.crashed.is_empty());
        assert_eq!(f.finish().unwrap().failed, 1, "the kept crash still counts");
        assert_eq!(lines(&path).len(), 2);
    }

    #[test]
    fn files_read_together_when_a_run_died_are_isolated_then_singled_out() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.jsonl");
        let (f, _) = ResultsFile::<Record>::open(&path, false).unwrap();
        f.reading(Path::new("x.ply")).unwrap();
        f.reading(Path::new("poison.las")).unwrap();
        drop(f);
        let (f, plan) = ResultsFile::<Record>::open(&path, true).unwrap();
        assert_eq!(plan.isolate, ["x.ply", "poison.las"]);
        assert!(plan.crashed.is_empty());
        // The resume reads them alone: x.ply is fine, poison.las kills the run again.
        f.isolated(Path::new("x.ply")).unwrap();
        f.reading(Path::new("x.ply")).unwrap();
        f.read(Path::new("x.ply")).unwrap();
        f.write(&ok_record("x.ply")).unwrap();
        f.isolated(Path::new("poison.las")).unwrap();
        f.reading(Path::new("poison.las")).unwrap();
        drop(f);
        let (f, plan) = ResultsFile::<Record>::open(&path, true).unwrap();
        assert_eq!(plan.crashed, ["poison.las"]);
        f.finish().unwrap();
        let records: Vec<Record> = lines(&path)
            .iter()
            .map(|l| Record::from_json_line(l).unwrap())
            .collect();
        assert_eq!(records.len(), 2);
        assert!(records[0].is_ok());
        assert!(matches!(&records[1], Record::Failed(f) if f.reader_crashed));
    }

    #[test]
    fn csv_rows_quote_and_parse_back() {
        let line = ok_record("x, \"y\".ply").to_csv_row();
        let fields = crate::csv::parse_row(&line).unwrap();
        assert_eq!(fields[0], "x, \"y\".ply");
        assert_eq!(fields[1], "true");
        assert_eq!(fields[2], "chair");
        assert_eq!(fields[3], "0.750000");
        assert_eq!(fields[4], "chair:0.750000 lamp, tall:0.250000");
        assert_eq!(&fields[5..], ["", ""]);
        let Record::Ok(mut stamped) = ok_record("s.ply") else {
            unreachable!()
        };
        stamped.stamp = Some("SEARCHED ON THE TEST SET".into());
        let fields = crate::csv::parse_row(&Record::Ok(stamped).to_csv_row()).unwrap();
        assert_eq!(fields.len(), 7);
        assert_eq!(fields[6], "SEARCHED ON THE TEST SET");
    }

    #[test]
    fn json_lines_round_trip() {
        for r in [
            ok_record("a.ply"),
            Record::failed("b.ply", "b.ply: no points"),
        ] {
            let line = r.to_json_line();
            assert_eq!(Record::from_json_line(&line), Some(r.clone()), "{line}");
        }
        assert!(ok_record("a").to_json_line().ends_with(",\"ok\":true}"));
    }

    #[test]
    fn unknown_extension_is_an_error() {
        let err = ResultsFile::<Record>::open(Path::new("/tmp/out.txt"), false)
            .err()
            .unwrap();
        assert_eq!(
            err.to_string(),
            "/tmp/out.txt: results file must end in .jsonl or .csv"
        );
    }
}
