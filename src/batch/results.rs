//! The results file of a batch run: one record per input file, appended and flushed as each file
//! finishes, so a killed run keeps every finished record and `--resume` can carry on from it.

use serde_json::{json, Map, Value};
use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

/// How records are written, chosen by the results file's extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResultsFormat {
    /// One JSON object per line: the `classify --json` object plus `"ok": true`, or
    /// `{"file": …, "ok": false, "error": …}`.
    Jsonl,
    /// `file,ok,top_class,probability,top_k,error` with a header row.
    Csv,
}

const CSV_HEADER: &str = "file,ok,top_class,probability,top_k,error";

/// Why a results file could not be opened or written.
#[derive(Debug, thiserror::Error)]
pub enum ResultsError {
    #[error("{0}: results file must end in .jsonl or .csv")]
    /// The results path ends in neither .jsonl nor .csv.
    UnknownFormat(PathBuf),
    #[error("{path}: {source}")]
    /// The results file cannot be read or written.
    Io {
        /// The results file.
        path: PathBuf,
        /// The I/O error.
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

/// One input file's outcome.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    /// The classification object of `classify --json` (must hold `file` and `top`).
    Ok(Map<String, Value>),
    /// A file that could not be classified.
    Failed {
        /// The input file.
        file: String,
        /// Why it failed.
        error: String,
    },
}

impl Record {
    /// The input file the record is about.
    pub fn file(&self) -> &str {
        match self {
            Record::Ok(m) => m.get("file").and_then(Value::as_str).unwrap_or(""),
            Record::Failed { file, .. } => file,
        }
    }

    /// Whether the file was classified.
    pub fn is_ok(&self) -> bool {
        matches!(self, Record::Ok(_))
    }

    fn to_line(&self, format: ResultsFormat) -> String {
        match (format, self) {
            (ResultsFormat::Jsonl, Record::Ok(m)) => {
                let mut m = m.clone();
                m.insert("ok".into(), Value::Bool(true));
                Value::Object(m).to_string()
            }
            (ResultsFormat::Jsonl, Record::Failed { file, error }) => {
                json!({"file": file, "ok": false, "error": error}).to_string()
            }
            (ResultsFormat::Csv, Record::Ok(m)) => {
                let top: Vec<(&str, f64)> = m
                    .get("top")
                    .and_then(Value::as_array)
                    .map(|t| {
                        t.iter()
                            .filter_map(|e| {
                                Some((e["class"].as_str()?, e["probability"].as_f64()?))
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                let (class, p) = top.first().copied().unwrap_or(("", f64::NAN));
                let top_k: Vec<String> = top.iter().map(|(c, p)| format!("{c}:{p:.6}")).collect();
                csv_row(&[
                    self.file(),
                    "true",
                    class,
                    &format!("{p:.6}"),
                    &top_k.join(" "),
                    "",
                ])
            }
            (ResultsFormat::Csv, Record::Failed { file, error }) => {
                csv_row(&[file, "false", "", "", "", error])
            }
        }
    }
}

/// An open results file, appending one flushed line per record.
pub struct ResultsFile {
    path: PathBuf,
    format: ResultsFormat,
    out: BufWriter<File>,
}

impl ResultsFile {
    /// Creates (or truncates) the results file. With `resume`, keeps the successful records already
    /// there and returns their files, to be skipped; failed records and a line cut short by a killed
    /// run are dropped (the file is rewritten once), so every file ends up with exactly one record.
    pub fn open(path: &Path, resume: bool) -> Result<(Self, HashSet<String>), ResultsError> {
        let format = ResultsFormat::from_path(path)?;
        let io = |source| ResultsError::Io {
            path: path.to_path_buf(),
            source,
        };
        let mut done = HashSet::new();
        let mut kept = Vec::new();
        if resume && path.exists() {
            let reader = BufReader::new(File::open(path).map_err(io)?);
            for line in reader.lines() {
                let line = line.map_err(io)?;
                if let Some(file) = successful_file(&line, format) {
                    if done.insert(file) {
                        kept.push(line);
                    }
                }
            }
        }
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(io)?;
        }
        // Rewrite through a temporary file so that a crash here never loses the old records.
        let tmp = path.with_extension("partial");
        {
            let mut w = BufWriter::new(File::create(&tmp).map_err(io)?);
            if format == ResultsFormat::Csv {
                writeln!(w, "{CSV_HEADER}").map_err(io)?;
            }
            for line in &kept {
                writeln!(w, "{line}").map_err(io)?;
            }
            w.flush().map_err(io)?;
        }
        std::fs::rename(&tmp, path).map_err(io)?;
        let file = OpenOptions::new().append(true).open(path).map_err(io)?;
        let out = BufWriter::new(file);
        Ok((
            ResultsFile {
                path: path.to_path_buf(),
                format,
                out,
            },
            done,
        ))
    }

    /// Appends one record and flushes it to the OS, so a killed process keeps it.
    pub fn write(&mut self, record: &Record) -> Result<(), ResultsError> {
        let line = record.to_line(self.format);
        writeln!(self.out, "{line}")
            .and_then(|_| self.out.flush())
            .map_err(|source| ResultsError::Io {
                path: self.path.clone(),
                source,
            })
    }

    /// How records are written.
    pub fn format(&self) -> ResultsFormat {
        self.format
    }
}

/// The file of a successful record line, or None for a failed, header or unreadable line.
fn successful_file(line: &str, format: ResultsFormat) -> Option<String> {
    match format {
        ResultsFormat::Jsonl => {
            let v: Value = serde_json::from_str(line).ok()?;
            (v.get("ok")? == &Value::Bool(true))
                .then(|| v.get("file")?.as_str().map(String::from))?
        }
        ResultsFormat::Csv => {
            let fields = parse_csv_row(line)?;
            // A complete row has all six fields; a cut-short last line has fewer.
            (fields.len() == 6 && fields[1] == "true").then(|| fields[0].clone())
        }
    }
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn csv_row(fields: &[&str]) -> String {
    fields
        .iter()
        .map(|f| csv_field(f))
        .collect::<Vec<_>>()
        .join(",")
}

/// Parses one CSV row (RFC 4180 quoting, no embedded newlines); None if a quote is unterminated.
fn parse_csv_row(line: &str) -> Option<Vec<String>> {
    let mut fields = Vec::new();
    let mut cur = String::new();
    let mut chars = line.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                cur.push('"');
            }
            (true, '"') => quoted = false,
            (false, '"') if cur.is_empty() => quoted = true,
            (false, ',') => fields.push(std::mem::take(&mut cur)),
            (_, c) => cur.push(c),
        }
    }
    if quoted {
        return None;
    }
    fields.push(cur);
    Some(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok_record(file: &str) -> Record {
        let v = json!({"file": file, "top": [{"class": "chair", "probability": 0.75}, {"class": "lamp, tall", "probability": 0.25}]});
        Record::Ok(v.as_object().unwrap().clone())
    }

    #[test]
    fn resume_keeps_successes_drops_failures_and_cut_lines() {
        for ext in ["jsonl", "csv"] {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join(format!("out.{ext}"));
            let (mut f, done) = ResultsFile::open(&path, true).unwrap();
            assert!(done.is_empty());
            f.write(&ok_record("a.ply")).unwrap();
            f.write(&Record::Failed {
                file: "b.las".into(),
                error: "b.las: not a LAS file, \"bad\"".into(),
            })
            .unwrap();
            drop(f);
            // A killed run leaves half a line behind.
            let mut text = std::fs::read_to_string(&path).unwrap();
            text.push_str(if ext == "csv" {
                "\"c.ply,tr"
            } else {
                "{\"file\":\"c.ply\",\"ok\":tr"
            });
            std::fs::write(&path, text).unwrap();

            let (mut f, done) = ResultsFile::open(&path, true).unwrap();
            assert_eq!(done, HashSet::from(["a.ply".to_string()]), "{ext}");
            f.write(&ok_record("b.las")).unwrap();
            drop(f);
            let (_, done) = ResultsFile::open(&path, true).unwrap();
            assert_eq!(done.len(), 2, "{ext}");
            let text = std::fs::read_to_string(&path).unwrap();
            assert_eq!(text.matches("b.las").count(), 1, "{ext}: {text}");
            assert!(!text.contains("c.ply"), "{ext}: {text}");
        }
    }

    #[test]
    fn csv_rows_quote_and_parse_back() {
        let line = ok_record("x, \"y\".ply").to_line(ResultsFormat::Csv);
        let fields = parse_csv_row(&line).unwrap();
        assert_eq!(fields[0], "x, \"y\".ply");
        assert_eq!(fields[1], "true");
        assert_eq!(fields[2], "chair");
        assert_eq!(fields[3], "0.750000");
        assert_eq!(fields[4], "chair:0.750000 lamp, tall:0.250000");
    }

    #[test]
    fn unknown_extension_is_an_error() {
        let err = ResultsFile::open(Path::new("/tmp/out.txt"), false)
            .err()
            .unwrap();
        assert_eq!(
            err.to_string(),
            "/tmp/out.txt: results file must end in .jsonl or .csv"
        );
    }
}
