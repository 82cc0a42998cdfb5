//! Dataset splits for tuning: labelled items of one split, and the stratified validation subset
//! carved from it with a fixed seed (METHOD.md §9).

use crate::cloud::PointCloud;
use crate::error::Result;
use crate::load::dataset::{detect_layout, Dataset, DatasetOptions, ItemSource, Layout};
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
    pub source: ItemSource,
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
        Ok(crate::load::dataset::read_item(
            &item.source,
            false,
            options,
        )?)
    }
}

/// A dataset in any layout of [`crate::load::dataset`] that keeps its splits apart: ModelNet's
/// class folders (`<class>/{train,test}/`), `modelnet40_ply_hdf5_2048` (`{train,test}_files.txt`),
/// ScanObjectNN (`training_*.h5` / `test_*.h5`) and `modelnet40_normal_resampled`
/// (`modelnet40_{train,test}.txt`). Only the split asked for is listed and read.
#[derive(Debug, Clone)]
pub struct DatasetSplits {
    root: PathBuf,
    classes: Vec<String>,
}

impl DatasetSplits {
    /// The dataset at `root` with these classes (in label order); every class of the dataset
    /// must be one of them (datasets without names, such as ScanObjectNN, take them in label
    /// order).
    pub fn new(root: &Path, classes: Vec<String>) -> Self {
        DatasetSplits {
            root: root.to_path_buf(),
            classes,
        }
    }

    /// The dataset's own class names, in label order (for `--classes dataset`), read from its
    /// training split.
    pub fn class_names(root: &Path) -> Result<Vec<String>> {
        let train = Self::open(root, Split::Train)?;
        train.class_names().map(<[String]>::to_vec).ok_or_else(|| {
            crate::Error::InvalidSetting(format!(
                "{}: the dataset stores no class names; give them with --classes (e.g. scanobjectnn)",
                root.display()
            ))
        })
    }

    fn open(root: &Path, split: Split) -> Result<Dataset> {
        if detect_layout(root)? == Layout::Hdf5File {
            // One h5 file has no split of its own: tuning on it could be tuning on the test set.
            return Err(crate::Error::InvalidSetting(format!(
                "{}: one h5 file has no train/test split; give the dataset's folder",
                root.display()
            )));
        }
        let options = DatasetOptions {
            split: Some(split),
            ..Default::default()
        };
        Ok(Dataset::open(root, &options)?)
    }
}

impl SplitSource for DatasetSplits {
    fn name(&self) -> String {
        self.root.display().to_string()
    }
    fn classes(&self) -> &[String] {
        &self.classes
    }
    fn items(&self, split: Split) -> Result<Vec<LabelledItem>> {
        // Only `split` is listed: the other split's folders and files are never opened.
        let dataset = Self::open(&self.root, split)?;
        let labels = dataset.labels_in(&self.classes)?;
        let items: Vec<LabelledItem> = dataset
            .items()
            .iter()
            .zip(labels)
            .map(|(item, label)| LabelledItem {
                id: item.source.to_string(),
                source: item.source.clone(),
                label,
            })
            .collect();
        if items.is_empty() {
            return Err(crate::Error::InvalidSetting(format!(
                "{}: no shapes in its {split} split",
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
