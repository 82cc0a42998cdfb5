//! Accuracy on a labelled dataset: the pipelined evaluation of every item of a
//! [`Dataset`], the per-shape predictions file, and the metrics (top-1/top-5, per-class
//! accuracy, the confusion matrix).
//!
//! ```no_run
//! # use calip3d::classify::{Classifier, ClassList};
//! use calip3d::classify::StreamOptions;
//! use calip3d::eval::{evaluate, EvalReport};
//! use calip3d::load::dataset::{Dataset, DatasetOptions};
//! # let classifier = Classifier::builder().build()?;
//! let dataset = Dataset::open("modelnet40_ply_hdf5_2048".as_ref(), &DatasetOptions::default())?;
//! let classes = classifier.class_list(&ClassList::builtin("modelnet40").expect("built in"))?;
//! let labels = dataset.labels_in(classes.names())?;
//! let mut scored = Vec::new();
//! evaluate(&classifier, &classes, &dataset, &StreamOptions::default(), |i, outcome| {
//!     if let Ok(p) = outcome {
//!         scored.push((labels[i], p.logits));
//!     }
//!     Ok(())
//! })?;
//! let report = EvalReport::from_scores(classes.names(), scored.iter().map(|(l, s)| (*l, s.as_slice())));
//! println!("top-1 {:.2}%", report.top1 * 100.0);
//! # Ok::<(), calip3d::Error>(())
//! ```

pub mod plot;

use crate::atomic::AtomicFile;
use crate::classify::{stream, ClassSet, Classifier, Prediction, StreamOptions};
use crate::error::{Error, Result};
use crate::load::dataset::Dataset;
use serde::Serialize;
use std::io::Write;
use std::path::Path;

/// Classifies every item of `dataset` through the one pipeline loop
/// ([`StreamOptions`]): `jobs` workers read the dataset's read units (whole h5 chunks, or
/// single files) and project them while the calling thread encodes full batches of views.
/// `sink` gets each item's index into [`Dataset::items`] and its outcome, in completion order;
/// memory stays bounded by the queue, whatever the dataset's size. A bad item is an `Err`
/// outcome and never stops the run; only a failing `sink` does.
pub fn evaluate(
    classifier: &Classifier,
    classes: &ClassSet,
    dataset: &Dataset,
    options: &StreamOptions,
    sink: impl FnMut(usize, Result<Prediction>) -> Result<()>,
) -> Result<()> {
    stream::predict(classifier, classes, dataset, options, sink)
}

/// One line of a predictions file: a shape, its true class and what the classifier said.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PredictionRecord {
    /// The shape: a file, or `file#index` for a shape of an h5 file.
    pub item: String,
    /// Its true class.
    pub label: String,
    /// The most likely class; absent when the shape failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub predicted: Option<String>,
    /// One logit per class, in the report's class order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logits: Option<Vec<f32>>,
    /// The softmax of the logits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub probabilities: Option<Vec<f32>>,
    /// Why the shape failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl PredictionRecord {
    /// The record of item `item` with true class `label` of `classes`.
    pub fn new(
        item: String,
        label: usize,
        classes: &[String],
        outcome: &Result<Prediction>,
    ) -> Self {
        let label = classes.get(label).cloned().unwrap_or_default();
        match outcome {
            Ok(p) => PredictionRecord {
                item,
                label,
                predicted: Some(p.best().0.to_string()),
                logits: Some(p.logits.clone()),
                probabilities: Some(p.probabilities.clone()),
                error: None,
            },
            Err(e) => PredictionRecord {
                item,
                label,
                predicted: None,
                logits: None,
                probabilities: None,
                error: Some(e.to_string()),
            },
        }
    }
}

/// A JSON-lines predictions file, written through an [`AtomicFile`] and renamed into place by
/// [`PredictionsFile::finish`]: readers never see a partial file, and a run that stops early
/// leaves the previous file as it was.
pub struct PredictionsFile {
    out: AtomicFile,
}

impl PredictionsFile {
    /// Starts writing `path`.
    pub fn create(path: &Path) -> Result<Self> {
        let out = AtomicFile::create(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(PredictionsFile { out })
    }

    fn io(&self, source: std::io::Error) -> Error {
        Error::Io {
            path: self.out.path().to_path_buf(),
            source,
        }
    }

    /// Appends one record.
    pub fn write(&mut self, record: &PredictionRecord) -> Result<()> {
        let line = serde_json::to_string(record).map_err(|e| self.io(e.into()))?;
        writeln!(self.out, "{line}").map_err(|e| self.io(e))
    }

    /// Flushes and renames the file into place.
    pub fn finish(self) -> Result<()> {
        let path = self.out.path().to_path_buf();
        self.out
            .commit()
            .map_err(|source| Error::Io { path, source })
    }
}

/// Accuracy of one class.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassAccuracy {
    /// Class name.
    pub class: String,
    /// Files of this class.
    pub samples: usize,
    /// Of them, predicted right (top-1).
    pub correct: usize,
    /// `correct / samples`, or `None` when the class has no samples.
    pub accuracy: Option<f64>,
}

/// What `calip3d eval` reports for one scoring method.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvalReport {
    /// Class names in order.
    pub classes: Vec<String>,
    /// Files of this class.
    pub samples: usize,
    /// Fraction whose most likely class is right.
    pub top1: f64,
    /// Fraction whose right class is among the 5 most likely.
    pub top5: f64,
    /// Mean of the per-class accuracies over classes that have samples.
    pub mean_class_accuracy: f64,
    /// Accuracy of each class, in class order.
    pub per_class: Vec<ClassAccuracy>,
    /// `confusion[true][predicted]` counts.
    pub confusion: Vec<Vec<usize>>,
}

impl EvalReport {
    /// Scores `(true label, logits)` pairs; a higher logit is a more likely class.
    pub fn from_scores<'a>(
        classes: &[String],
        scored: impl IntoIterator<Item = (usize, &'a [f32])>,
    ) -> Self {
        let k = classes.len();
        let mut confusion = vec![vec![0usize; k]; k];
        let (mut n, mut top1, mut top5) = (0usize, 0usize, 0usize);
        for (label, logits) in scored {
            let rank = logits.iter().filter(|&&l| l > logits[label]).count();
            let predicted = argmax(logits);
            confusion[label][predicted] += 1;
            n += 1;
            top1 += usize::from(predicted == label);
            top5 += usize::from(rank < 5);
        }
        let per_class: Vec<ClassAccuracy> = classes
            .iter()
            .enumerate()
            .map(|(i, class)| {
                let samples: usize = confusion[i].iter().sum();
                let correct = confusion[i][i];
                ClassAccuracy {
                    class: class.clone(),
                    samples,
                    correct,
                    accuracy: (samples > 0).then(|| correct as f64 / samples as f64),
                }
            })
            .collect();
        let present: Vec<f64> = per_class.iter().filter_map(|c| c.accuracy).collect();
        let ratio = |a: usize| if n == 0 { 0.0 } else { a as f64 / n as f64 };
        EvalReport {
            classes: classes.to_vec(),
            samples: n,
            top1: ratio(top1),
            top5: ratio(top5),
            mean_class_accuracy: if present.is_empty() {
                0.0
            } else {
                present.iter().sum::<f64>() / present.len() as f64
            },
            per_class,
            confusion,
        }
    }
}

pub use crate::classify::argmax;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accuracies_and_confusion_add_up() {
        let classes: Vec<String> = ["a", "b", "c", "d", "e", "f"].map(String::from).to_vec();
        let scores: Vec<(usize, Vec<f32>)> = vec![
            (0, vec![5.0, 1.0, 0.0, 0.0, 0.0, 0.0]), // right
            (0, vec![1.0, 5.0, 0.0, 0.0, 0.0, 0.0]), // wrong, rank 1
            (1, vec![0.0, 5.0, 1.0, 0.0, 0.0, 0.0]), // right
            (2, vec![6.0, 5.0, 4.0, 3.0, 2.0, 1.0]), // wrong, rank 2
            (3, vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0]), // wrong, rank 2 (d=3 beaten by e, f)
            (5, vec![6.0, 5.0, 4.0, 3.0, 2.0, 1.0]), // wrong, rank 5: not in top 5
        ];
        let r = EvalReport::from_scores(&classes, scores.iter().map(|(l, s)| (*l, s.as_slice())));
        assert_eq!(r.samples, 6);
        assert!((r.top1 - 2.0 / 6.0).abs() < 1e-12);
        assert!((r.top5 - 5.0 / 6.0).abs() < 1e-12);
        assert_eq!(r.confusion[0], vec![1, 1, 0, 0, 0, 0]);
        assert_eq!(r.confusion[2], vec![1, 0, 0, 0, 0, 0]);
        assert_eq!(r.confusion[3], vec![0, 0, 0, 0, 0, 1]);
        let total: usize = r.confusion.iter().flatten().sum();
        assert_eq!(total, 6);
        assert_eq!(r.per_class[0].accuracy, Some(0.5));
        assert_eq!(r.per_class[4].accuracy, None);
        // Mean over the five classes with samples: (0.5 + 1 + 0 + 0 + 0) / 5.
        assert!((r.mean_class_accuracy - 0.3).abs() < 1e-12);
    }

    #[test]
    fn predictions_file_appears_only_when_finished() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.jsonl");
        std::fs::write(&path, "old\n").unwrap();
        let record = PredictionRecord::new(
            "a.h5#0".into(),
            1,
            &["x".to_string(), "y".to_string()],
            &Err(Error::Internal("bad".into())),
        );
        let mut f = PredictionsFile::create(&path).unwrap();
        f.write(&record).unwrap();
        drop(f);
        // A run that stops early leaves the old file and no partial one.
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "old\n");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        let mut f = PredictionsFile::create(&path).unwrap();
        f.write(&record).unwrap();
        f.finish().unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "{\"item\":\"a.h5#0\",\"label\":\"y\",\"error\":\"bad\"}\n"
        );
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
