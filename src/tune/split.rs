//! Dataset splits for tuning: labelled items of one split, and the stratified validation subset
//! carved from it with a fixed seed (METHOD.md §9).

use crate::cloud::PointCloud;
use crate::error::Result;
use crate::load::dataset::{Dataset, DatasetOptions, ItemSource};
use crate::load::LoadOptions;
use std::path::{Path, PathBuf};

/// Seed of the validation draw when none is given.
pub const DEFAULT_SEED: u64 = 0x5EED_CA11_B3D0;
/// Fraction of each class of the training split that goes to validation.
pub const DEFAULT_VAL_FRACTION: f64 = 0.2;

pub use crate::load::dataset::Split;

/// One labelled item of a split.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelledItem {
    /// What names the item in messages and reports (a file, or a file and an index).
    pub id: String,
    /// Where to read it.
    pub path: PathBuf,
    /// Index of its class in [`SplitSource::classes`].
    pub label: usize,
}

/// A labelled dataset with train/test splits. Implementations must list and read only the split
/// asked for: tuning relies on it never touching the test split.
pub trait SplitSource: Sync {
    /// A name for the dataset (its folder), recorded in profiles.
    fn name(&self) -> String;
    /// Class names, in label order.
    fn classes(&self) -> &[String];
    /// The items of `split` with their labels.
    fn items(&self, split: Split) -> Result<Vec<LabelledItem>>;
    /// Reads one item.
    fn load(&self, item: &LabelledItem, options: &LoadOptions) -> Result<PointCloud> {
        Ok(crate::load::load(&item.path, options)?)
    }
}

/// ModelNet's folder layout: `root/<class>/<split>/<file>`.
#[derive(Debug, Clone)]
pub struct ClassFolders {
    root: PathBuf,
    classes: Vec<String>,
}

impl ClassFolders {
    /// The dataset at `root` with these classes (in label order); every class folder must name
    /// one of them.
    pub fn new(root: &Path, classes: Vec<String>) -> Self {
        ClassFolders {
            root: root.to_path_buf(),
            classes,
        }
    }

    /// The class folders' names, sorted (for `--classes folders`).
    pub fn folder_names(root: &Path) -> Result<Vec<String>> {
        let train = Self::open(root, Split::Train)?;
        Ok(train
            .class_names()
            .map(<[String]>::to_vec)
            .unwrap_or_default())
    }

    fn open(root: &Path, split: Split) -> Result<Dataset> {
        let options = DatasetOptions {
            split: Some(split),
            ..Default::default()
        };
        Ok(Dataset::open(root, &options)?)
    }
}

impl SplitSource for ClassFolders {
    fn name(&self) -> String {
        self.root.display().to_string()
    }
    fn classes(&self) -> &[String] {
        &self.classes
    }
    fn items(&self, split: Split) -> Result<Vec<LabelledItem>> {
        // Only `<class>/<split>/` is listed: the other split's folder is never opened.
        let dataset = Self::open(&self.root, split)?;
        let labels = dataset.labels_in(&self.classes)?;
        let mut items = Vec::new();
        for (item, label) in dataset.items().iter().zip(labels) {
            match &item.source {
                ItemSource::File(path) => items.push(LabelledItem {
                    id: path.display().to_string(),
                    path: path.clone(),
                    label,
                }),
                other => {
                    return Err(crate::Error::InvalidSetting(format!(
                        "{other}: tune and fit read datasets of files (ModelNet's \
                         `<class>/{{train,test}}/` layout) for now"
                    )))
                }
            }
        }
        if items.is_empty() {
            return Err(crate::Error::InvalidSetting(format!(
                "{}: no point-cloud files in any `<class>/{split}/` folder (ModelNet's layout)",
                self.root.display()
            )));
        }
        Ok(items)
    }
}

/// The seeded generator of the draws: SplitMix64 started from the seed as given.
pub type SeededRng = crate::load::SplitMix64;

/// Positions of `labels` grouped by class, each group shuffled with a seed derived from `seed`
/// and the class, so that one class's draw does not depend on another's size.
fn shuffled_by_class(labels: &[usize], seed: u64) -> Vec<Vec<usize>> {
    let k = labels.iter().max().map_or(0, |m| m + 1);
    let mut groups = vec![Vec::new(); k];
    for (i, &l) in labels.iter().enumerate() {
        groups[l].push(i);
    }
    for (class, g) in groups.iter_mut().enumerate() {
        SeededRng::from_state(seed ^ (class as u64).wrapping_mul(0xA24B_AED4_963E_E407)).shuffle(g);
    }
    groups
}

/// The stratified validation subset: per class, `round(fraction · n)` items (at least 1, and at
/// most `n − 1` when `n ≥ 2`, so some are left for shots), drawn with `seed`. Returns
/// `(validation, rest)`, each sorted.
pub fn stratified_split(labels: &[usize], fraction: f64, seed: u64) -> (Vec<usize>, Vec<usize>) {
    let mut val = Vec::new();
    let mut rest = Vec::new();
    for g in shuffled_by_class(labels, seed) {
        let n = g.len();
        if n == 0 {
            continue;
        }
        let mut take = (fraction * n as f64).round() as usize;
        take = take.max(1);
        if n >= 2 {
            take = take.min(n - 1);
        }
        val.extend_from_slice(&g[..take]);
        rest.extend_from_slice(&g[take..]);
    }
    val.sort_unstable();
    rest.sort_unstable();
    (val, rest)
}

/// `shots` items of every class among `candidates` (positions into `labels`), drawn with
/// `seed`. A class with fewer than `shots` candidates is an error that names it.
pub fn draw_shots(
    labels: &[usize],
    candidates: &[usize],
    classes: &[String],
    shots: usize,
    seed: u64,
) -> Result<Vec<usize>> {
    if shots == 0 {
        return Err(crate::Error::InvalidSetting(
            "--shots must be at least 1".into(),
        ));
    }
    let sub: Vec<usize> = candidates.iter().map(|&i| labels[i]).collect();
    let mut groups = shuffled_by_class(&sub, seed.wrapping_add(1));
    groups.resize(classes.len(), Vec::new());
    let mut picked = Vec::new();
    for (class, g) in groups.iter().enumerate() {
        if g.len() < shots {
            return Err(crate::Error::InvalidSetting(format!(
                "class `{}` has {} training items outside the validation subset, fewer than {shots} shots",
                classes[class],
                g.len()
            )));
        }
        picked.extend(g[..shots].iter().map(|&j| candidates[j]));
    }
    picked.sort_unstable();
    Ok(picked)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_is_stratified_seeded_and_disjoint() {
        let labels: Vec<usize> = (0..50).map(|i| i % 3).collect(); // 17, 17, 16 per class
        let (val, rest) = stratified_split(&labels, 0.2, 7);
        let count = |set: &[usize], c: usize| set.iter().filter(|&&i| labels[i] == c).count();
        assert_eq!([count(&val, 0), count(&val, 1), count(&val, 2)], [3, 3, 3]);
        assert_eq!(val.len() + rest.len(), 50);
        assert!(val.iter().all(|i| !rest.contains(i)));
        assert_eq!(stratified_split(&labels, 0.2, 7).0, val);
        assert_ne!(stratified_split(&labels, 0.2, 8).0, val);
        let shots =
            draw_shots(&labels, &rest, &["a".into(), "b".into(), "c".into()], 4, 7).unwrap();
        assert_eq!(shots.len(), 12);
        let e = draw_shots(&labels, &rest, &["a".into(), "b".into(), "c".into()], 14, 7)
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "invalid setting: class `c` has 13 training items outside the validation subset, fewer than 14 shots"
        );
    }
}
