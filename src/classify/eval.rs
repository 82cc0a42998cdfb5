//! Accuracy on a labelled folder: top-1/top-5, per-class accuracy and the confusion matrix.

use serde::Serialize;
use std::path::{Path, PathBuf};

/// A labelled file of an evaluation set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelledFile {
    /// The file.
    pub path: PathBuf,
    /// Index of the true class in the class list.
    pub label: usize,
}

/// Why an evaluation set could not be listed.
#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    #[error("{path}: cannot read folder: {source}")]
    /// A folder could not be read.
    ReadDir {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    #[error("{dir}: folder `{folder}` is not one of the classes (known: {known})")]
    /// A class folder that names no class.
    UnknownClass {
        /// The evaluation folder.
        dir: PathBuf,
        /// The folder name.
        folder: String,
        /// The classes, comma separated.
        known: String,
    },
    #[error(transparent)]
    /// A class folder could not be listed.
    Inputs(#[from] crate::load::InputError),
    #[error("{0}: no point-cloud files in any class folder")]
    /// No point-cloud file in any class folder.
    Empty(PathBuf),
}

/// The class folders of an evaluation set, sorted: its class names in ModelNet's layout.
pub fn class_folders(dir: &Path) -> Result<Vec<String>, DatasetError> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map_err(|source| DatasetError::ReadDir {
            path: dir.to_path_buf(),
            source,
        })?
        .flatten()
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().to_string())
        .collect();
    names.sort();
    Ok(names)
}

/// Lists `dir/<class>/**/<file>` (ModelNet's layout; `train/` and `test/` below a class folder are
/// both walked). Every class folder must name a class of `classes`; folders of classes that are
/// not in `dir` are fine (they just get no samples).
pub fn labelled_files(dir: &Path, classes: &[String]) -> Result<Vec<LabelledFile>, DatasetError> {
    let read = |p: &Path| {
        std::fs::read_dir(p).map_err(|source| DatasetError::ReadDir {
            path: p.to_path_buf(),
            source,
        })
    };
    let mut folders: Vec<PathBuf> = read(dir)?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    folders.sort();
    let mut files = Vec::new();
    for folder in folders {
        let name = folder
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .to_string();
        let label = classes
            .iter()
            .position(|c| c == &name || c.replace(' ', "_") == name)
            .ok_or_else(|| DatasetError::UnknownClass {
                dir: dir.to_path_buf(),
                folder: name.clone(),
                known: classes.join(", "),
            })?;
        let pattern = folder.display().to_string();
        let found = crate::load::expand_inputs(&[pattern])?;
        files.extend(found.into_iter().map(|path| LabelledFile { path, label }));
    }
    if files.is_empty() {
        return Err(DatasetError::Empty(dir.to_path_buf()));
    }
    Ok(files)
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

/// Index of the largest value (the first one on ties).
pub fn argmax(values: &[f32]) -> usize {
    values
        .iter()
        .enumerate()
        .fold((0, f32::NEG_INFINITY), |best, (i, &v)| {
            if v > best.1 {
                (i, v)
            } else {
                best
            }
        })
        .0
}

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
    fn folders_must_name_classes() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("night_stand/test")).unwrap();
        std::fs::write(dir.path().join("night_stand/test/x.off"), b"").unwrap();
        let classes = vec!["night stand".to_string(), "chair".to_string()];
        let files = labelled_files(dir.path(), &classes).unwrap();
        assert_eq!(files.len(), 1);
        assert_eq!(files[0].label, 0);
        std::fs::create_dir_all(dir.path().join("sofa")).unwrap();
        let err = labelled_files(dir.path(), &classes).unwrap_err();
        assert!(
            err.to_string()
                .contains("folder `sofa` is not one of the classes"),
            "{err}"
        );
    }
}
