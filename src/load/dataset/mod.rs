//! Labelled datasets in the layouts the benchmarks ship in, detected from the folder: which items
//! a split holds, their labels, and reading them as [`PointCloud`]s.
//!
//! | layout | recognised by | items |
//! |---|---|---|
//! | [`Layout::ModelNetHdf5`] (`modelnet40_ply_hdf5_2048`) | `shape_names.txt` + `{train,test}_files.txt` | `file.h5#i` |
//! | [`Layout::ScanObjectNN`] (`main_split/`…) | `training_*.h5` / `test_*.h5` | `file.h5#i` |
//! | [`Layout::NormalResampled`] (`modelnet40_normal_resampled`) | `modelnet40_shape_names.txt` | `class/id.txt` |
//! | [`Layout::ClassFolders`] (ModelNet's OFF tree, any folder per class) | sub-folders | files |
//! | [`Layout::Hdf5File`] (one `.h5` file given) | the file | `file.h5#i` |
//!
//! ```no_run
//! use calip3d::load::dataset::{Dataset, DatasetOptions, Split};
//! use calip3d::load::LoadOptions;
//! let options = DatasetOptions { split: Some(Split::Test), ..Default::default() };
//! let dataset = Dataset::open("modelnet40_ply_hdf5_2048".as_ref(), &options)?;
//! for unit in dataset.read_units() {
//!     let clouds = dataset.read(unit.clone(), &LoadOptions::default());
//!     for (item, cloud) in dataset.items()[unit.clone()].iter().zip(clouds) {
//!         println!("{} (label {}): {} points", item.source, item.label, cloud?.len());
//!     }
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod text;

use super::hdf5::{ElementType, H5File};
use super::{extend_bounds, Gathered, LoadError, LoadErrorKind, LoadOptions, Reservoir};
use crate::cloud::{Format, PointCloud, SourceMeta, UpAxis};
use std::ops::Range;
use std::path::{Path, PathBuf};

pub use text::read_xyz_normals;

/// Consecutive shapes of one HDF5 file read together: this many at most, rounded down to whole
/// chunks when chunks hold fewer shapes.
const MAX_ROWS_PER_READ: u64 = 64;
/// Shapes read together when one chunk holds more than [`MAX_ROWS_PER_READ`]: the whole chunk,
/// up to this many.
const MAX_CHUNK_ROWS_PER_READ: u64 = 1024;

/// Which part of a benchmark to take.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Split {
    /// The training split (`train`, `training_*.h5`).
    Train,
    /// The test split (the default, as the papers report).
    #[default]
    Test,
}

impl Split {
    /// `train` or `test`, as the layouts spell it in file and folder names.
    pub fn name(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Test => "test",
        }
    }
}

impl std::fmt::Display for Split {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Split {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "train" | "training" => Ok(Split::Train),
            "test" => Ok(Split::Test),
            other => Err(format!("unknown split `{other}` (expected train or test)")),
        }
    }
}

/// The on-disk layout of a dataset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Layout {
    /// PointNet's `modelnet40_ply_hdf5_2048`: `shape_names.txt`, `{train,test}_files.txt`, h5
    /// files with `data` (N, points, 3) and `label` (N, 1).
    ModelNetHdf5,
    /// A ScanObjectNN split folder: `training_<variant>.h5` and `test_<variant>.h5` with `data`,
    /// `label` and `mask` (−1 = background).
    ScanObjectNN,
    /// PointNet++'s `modelnet40_normal_resampled`: `<class>/<id>.txt` files of `x,y,z,nx,ny,nz`
    /// lines, listed by `modelnet{40,10}_{train,test}.txt`.
    NormalResampled,
    /// One sub-folder per class (ModelNet's OFF tree `class/{train,test}/*.off`, or any files).
    ClassFolders,
    /// A single h5 file with `data` and `label` (and optionally `mask`).
    Hdf5File,
}

impl std::fmt::Display for Layout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Layout::ModelNetHdf5 => "modelnet40_ply_hdf5_2048",
            Layout::ScanObjectNN => "scanobjectnn",
            Layout::NormalResampled => "modelnet40_normal_resampled",
            Layout::ClassFolders => "class folders",
            Layout::Hdf5File => "hdf5 file",
        })
    }
}

/// How to open a dataset.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DatasetOptions {
    /// The split; `None` takes the test split of a folder, and a single h5 file as it is.
    pub split: Option<Split>,
    /// Which id lists of a `modelnet40_normal_resampled` folder: `modelnet40` (the default) or
    /// `modelnet10`.
    pub subset: Option<String>,
    /// Drop the points an h5 `mask` marks as background (−1): ScanObjectNN's objects alone.
    pub drop_background: bool,
}

/// Where an item's points are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemSource {
    /// A point-cloud or mesh file, read by [`super::load`].
    File(PathBuf),
    /// A text file of `x,y,z,nx,ny,nz` lines.
    Text(PathBuf),
    /// Shape `index` of an h5 file's `data`.
    Hdf5 {
        /// The h5 file.
        file: PathBuf,
        /// Row of `data`.
        index: u64,
    },
}

impl std::fmt::Display for ItemSource {
    /// The file, or `file#index` for a shape of an h5 file.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ItemSource::File(p) | ItemSource::Text(p) => write!(f, "{}", p.display()),
            ItemSource::Hdf5 { file, index } => write!(f, "{}#{index}", file.display()),
        }
    }
}

/// One labelled shape of a dataset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// Where its points are.
    pub source: ItemSource,
    /// Its class: an index into [`Dataset::class_names`], or, for datasets without names (a bare
    /// h5 file, ScanObjectNN), the label the file stores.
    pub label: usize,
}

/// Why a dataset could not be opened or listed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DatasetError {
    #[error("{path}: cannot read: {source}")]
    /// A folder or list file could not be read.
    Read {
        /// The folder or file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    /// A data file of the dataset is broken.
    File(#[from] LoadError),
    #[error("{path}: {message}")]
    /// The layout is inconsistent: a list names a missing file, a label has no class, ….
    Layout {
        /// The folder or file at fault.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    #[error("{0}: no labelled shapes in this split")]
    /// The split holds no item.
    Empty(PathBuf),
}

fn layout_error(path: &Path, message: impl Into<String>) -> DatasetError {
    DatasetError::Layout {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

fn read_to_string(path: &Path) -> Result<String, DatasetError> {
    std::fs::read_to_string(path).map_err(|source| DatasetError::Read {
        path: path.to_path_buf(),
        source,
    })
}

fn read_dir_sorted(dir: &Path) -> Result<Vec<PathBuf>, DatasetError> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|source| DatasetError::Read {
            path: dir.to_path_buf(),
            source,
        })?
        .flatten()
        .map(|e| e.path())
        .collect();
    entries.sort();
    Ok(entries)
}

/// Non-empty, non-comment lines of a list file, trimmed.
fn list_lines(text: &str) -> impl Iterator<Item = &str> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default()
}

/// The h5 files of a ScanObjectNN split folder, as (prefix, variant) pairs.
fn scanobjectnn_files(dir: &Path) -> Result<Vec<(Split, String)>, DatasetError> {
    Ok(read_dir_sorted(dir)?
        .iter()
        .filter_map(|p| {
            let name = file_name(p);
            let stem = name.strip_suffix(".h5")?;
            if let Some(v) = stem.strip_prefix("training_") {
                Some((Split::Train, v.to_string()))
            } else {
                stem.strip_prefix("test_")
                    .map(|v| (Split::Test, v.to_string()))
            }
        })
        .collect())
}

/// The layout of `path`, from the files it holds.
pub fn detect_layout(path: &Path) -> Result<Layout, DatasetError> {
    if path.is_file() {
        return Ok(Layout::Hdf5File);
    }
    if !path.is_dir() {
        return Err(DatasetError::Read {
            path: path.to_path_buf(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such file or folder"),
        });
    }
    let has = |name: &str| path.join(name).is_file();
    if has("shape_names.txt") && (has("train_files.txt") || has("test_files.txt")) {
        return Ok(Layout::ModelNetHdf5);
    }
    if has("modelnet40_shape_names.txt") || has("modelnet10_shape_names.txt") {
        return Ok(Layout::NormalResampled);
    }
    if !scanobjectnn_files(path)?.is_empty() {
        return Ok(Layout::ScanObjectNN);
    }
    // ScanObjectNN's download root (`h5_files/`) holds split folders, not classes.
    let splits: Vec<String> = read_dir_sorted(path)?
        .iter()
        .filter(|p| p.is_dir() && scanobjectnn_files(p).is_ok_and(|f| !f.is_empty()))
        .map(|p| file_name(p))
        .collect();
    if !splits.is_empty() {
        return Err(layout_error(
            path,
            format!(
                "holds ScanObjectNN split folders ({}); give one of them, e.g. {}",
                splits.join(", "),
                path.join(&splits[0]).display()
            ),
        ));
    }
    Ok(Layout::ClassFolders)
}

/// A labelled dataset: its layout, class names and the items of one split.
#[derive(Debug, Clone)]
pub struct Dataset {
    root: PathBuf,
    layout: Layout,
    split: Option<Split>,
    class_names: Option<Vec<String>>,
    items: Vec<Item>,
    units: Vec<Range<usize>>,
    drop_background: bool,
}

impl Dataset {
    /// Detects the layout of `path` and lists the items of the chosen split. HDF5 files are
    /// opened and their arrays' shapes, types and labels checked here; shapes are read later.
    pub fn open(path: &Path, options: &DatasetOptions) -> Result<Dataset, DatasetError> {
        let layout = detect_layout(path)?;
        let split = match layout {
            Layout::ClassFolders | Layout::Hdf5File => options.split,
            _ => Some(options.split.unwrap_or_default()),
        };
        let mut dataset = Dataset {
            root: path.to_path_buf(),
            layout,
            split,
            class_names: None,
            items: Vec::new(),
            units: Vec::new(),
            drop_background: options.drop_background,
        };
        match layout {
            Layout::ModelNetHdf5 => dataset.list_modelnet_hdf5()?,
            Layout::ScanObjectNN => dataset.list_scanobjectnn()?,
            Layout::NormalResampled => dataset.list_normal_resampled(options.subset.as_deref())?,
            Layout::ClassFolders => dataset.list_class_folders()?,
            Layout::Hdf5File => dataset.list_hdf5_file()?,
        }
        if dataset.items.is_empty() {
            return Err(DatasetError::Empty(path.to_path_buf()));
        }
        Ok(dataset)
    }

    /// The folder or file the dataset was opened from.
    pub fn root(&self) -> &Path {
        &self.root
    }
    /// Its layout.
    pub fn layout(&self) -> Layout {
        self.layout
    }
    /// The split listed; `None` where the layout has none (class folders without `train/` and
    /// `test/`, a single h5 file).
    pub fn split(&self) -> Option<Split> {
        self.split
    }
    /// The class names the dataset itself gives (shape_names.txt, the folders), in label order;
    /// `None` for ScanObjectNN and bare h5 files, whose labels index the classes you give.
    pub fn class_names(&self) -> Option<&[String]> {
        self.class_names.as_deref()
    }
    /// The items of the split.
    pub fn items(&self) -> &[Item] {
        &self.items
    }

    /// Ranges of [`Self::items`] best read together: consecutive shapes of one h5 file (whole
    /// chunks, at most a few dozen shapes), single items otherwise. Together they cover every
    /// item once, in order.
    pub fn read_units(&self) -> &[Range<usize>] {
        &self.units
    }

    /// The labels of the items as indices into `classes` (the classifier's class list). The
    /// dataset's class names are matched by name (`_` and space alike, case ignored); a class
    /// that has items but is not in `classes` is an error, as is a stored label past the end of
    /// `classes` for datasets without names.
    pub fn labels_in(&self, classes: &[String]) -> Result<Vec<usize>, DatasetError> {
        let norm = |s: &str| s.trim().replace(' ', "_").to_lowercase();
        let mapping: Vec<Option<usize>> = match &self.class_names {
            Some(names) => names
                .iter()
                .map(|n| classes.iter().position(|c| norm(c) == norm(n)))
                .collect(),
            None => (0..classes.len()).map(Some).collect(),
        };
        self.items
            .iter()
            .map(|item| {
                mapping.get(item.label).copied().flatten().ok_or_else(|| {
                    let message =
                        match &self.class_names {
                            Some(names) => format!(
                            "class `{}` of the dataset is not one of the {} classes given ({}…); \
                             use `--classes dataset` for the dataset's own names",
                            names.get(item.label).map(String::as_str).unwrap_or("?"),
                            classes.len(),
                            classes.iter().take(5).cloned().collect::<Vec<_>>().join(", ")
                        ),
                            None => format!(
                                "label {} is past the {} classes given",
                                item.label,
                                classes.len()
                            ),
                        };
                    layout_error(Path::new(&item.source.to_string()), message)
                })
            })
            .collect()
    }

    /// Reads the items `range` (best one of [`Self::read_units`]) with the load options' point
    /// budget, seed and up axis (default y, as ModelNet); one result per item, in order. h5
    /// shapes are read with one row selection per file.
    pub fn read(
        &self,
        range: Range<usize>,
        opts: &LoadOptions,
    ) -> Vec<Result<PointCloud, LoadError>> {
        let items = self.items.get(range.clone()).unwrap_or(&[]);
        let mut out = Vec::with_capacity(items.len());
        let mut i = 0;
        while i < items.len() {
            match &items[i].source {
                ItemSource::File(p) => out.push(super::load(p, opts)),
                ItemSource::Text(p) => out.push(read_xyz_normals(p, opts)),
                ItemSource::Hdf5 { file, index } => {
                    // The run of consecutive rows of this file.
                    let mut end = i + 1;
                    while let Some(ItemSource::Hdf5 { file: f, index: j }) =
                        items.get(end).map(|it| &it.source)
                    {
                        if f != file || *j != index + (end - i) as u64 {
                            break;
                        }
                        end += 1;
                    }
                    let rows = *index..index + (end - i) as u64;
                    match read_hdf5_rows(file, rows, self.drop_background, opts) {
                        Ok(clouds) => out.extend(clouds),
                        Err(e) => out.extend((i..end).map(|_| Err(e.clone()))),
                    }
                    i = end;
                    continue;
                }
            }
            i += 1;
        }
        out
    }

    fn list_modelnet_hdf5(&mut self) -> Result<(), DatasetError> {
        let root = self.root.clone();
        let names = read_class_names(&root.join("shape_names.txt"))?;
        let split = self.split.unwrap_or_default();
        let list = root.join(format!("{split}_files.txt"));
        let text = read_to_string(&list)?;
        for line in list_lines(&text) {
            // The authors' paths are relative to wherever they ran: look the file up by name.
            let name = file_name(Path::new(line));
            let file = root.join(&name);
            if !file.is_file() {
                return Err(layout_error(
                    &list,
                    format!(
                        "names `{line}`, but there is no `{name}` in {}",
                        root.display()
                    ),
                ));
            }
            self.add_hdf5(&file, Some(names.len()))?;
        }
        self.class_names = Some(names);
        Ok(())
    }

    fn list_scanobjectnn(&mut self) -> Result<(), DatasetError> {
        let root = self.root.clone();
        let files = scanobjectnn_files(&root)?;
        let mut variants: Vec<&str> = files.iter().map(|(_, v)| v.as_str()).collect();
        variants.dedup();
        if variants.len() > 1 {
            return Err(layout_error(
                &root,
                format!(
                    "holds several ScanObjectNN variants ({}); give one file, e.g. {}",
                    variants.join(", "),
                    root.join(format!("test_{}.h5", variants[0])).display()
                ),
            ));
        }
        let split = self.split.unwrap_or_default();
        let prefix = if split == Split::Train {
            "training"
        } else {
            "test"
        };
        let file = root.join(format!("{prefix}_{}.h5", variants[0]));
        if !file.is_file() {
            return Err(layout_error(&root, format!("has no {}", file_name(&file))));
        }
        self.add_hdf5(&file, None)
    }

    fn list_hdf5_file(&mut self) -> Result<(), DatasetError> {
        let mut file = self.root.clone();
        // A ScanObjectNN file names its split: `--split` picks its sibling of the other split.
        let name = file_name(&file);
        let sibling = match (
            self.split,
            name.strip_prefix("test_"),
            name.strip_prefix("training_"),
        ) {
            (Some(Split::Train), Some(rest), _) => Some(format!("training_{rest}")),
            (Some(Split::Test), _, Some(rest)) => Some(format!("test_{rest}")),
            _ => None,
        };
        if let Some(s) = sibling {
            file.set_file_name(s);
        }
        self.add_hdf5(&file, None)
    }

    /// Checks an h5 file's arrays and lists its shapes.
    fn add_hdf5(&mut self, file: &Path, classes: Option<usize>) -> Result<(), DatasetError> {
        let h5 = H5File::open(file)?;
        let bad = |m: String| DatasetError::File(LoadError::new(file, LoadErrorKind::BadHeader(m)));
        let data = h5.array("data")?;
        if data.shape.len() != 3 || data.shape[2] != 3 {
            return Err(bad(format!(
                "array `data` has shape {:?}, expected (shapes, points, 3)",
                data.shape
            )));
        }
        h5.check_size(&data)?;
        if !matches!(data.dtype, ElementType::Float(32 | 64)) {
            return Err(bad(format!(
                "array `data` is {}, expected float32 or float64",
                data.dtype
            )));
        }
        let label = h5.array("label")?;
        if !matches!(label.dtype, ElementType::Int { .. }) {
            return Err(bad(format!(
                "array `label` is {}, expected integers",
                label.dtype
            )));
        }
        let n = data.shape[0];
        if label.rows() != n || label.row_len() != 1 || label.shape.len() > 2 {
            return Err(bad(format!(
                "array `label` has shape {:?}, expected ({n},) or ({n}, 1) for the {n} shapes of `data`",
                label.shape
            )));
        }
        if self.drop_background {
            let mask = h5.array("mask")?;
            if mask.shape != data.shape[..2] {
                return Err(bad(format!(
                    "array `mask` has shape {:?}, expected {:?} (one value per point of `data`)",
                    mask.shape,
                    &data.shape[..2]
                )));
            }
            h5.check_size(&mask)?;
            if !matches!(mask.dtype, ElementType::Int { .. }) {
                return Err(bad(format!(
                    "array `mask` is {}, expected integers",
                    mask.dtype
                )));
            }
        }
        let labels = if n == 0 {
            Vec::new()
        } else {
            h5.read_i64("label", 0..n)?
        };
        let first = self.items.len();
        for (index, &l) in labels.iter().enumerate() {
            let label = usize::try_from(l)
                .ok()
                .filter(|&l| classes.is_none_or(|k| l < k))
                .ok_or_else(|| {
                    bad(format!(
                        "label {l} of shape {index} is not a class index{}",
                        classes
                            .map(|k| format!(" (0–{})", k - 1))
                            .unwrap_or_default()
                    ))
                })?;
            self.items.push(Item {
                source: ItemSource::Hdf5 {
                    file: file.to_path_buf(),
                    index: index as u64,
                },
                label,
            });
        }
        // Whole chunks per read, so that no chunk is decompressed twice.
        let step = match data.chunk_rows {
            Some(c) if c <= MAX_ROWS_PER_READ => MAX_ROWS_PER_READ / c.max(1) * c.max(1),
            Some(c) => c.min(MAX_CHUNK_ROWS_PER_READ),
            None => MAX_ROWS_PER_READ,
        } as usize;
        let last = self.items.len();
        self.units.extend(
            (first..last)
                .step_by(step.max(1))
                .map(|s| s..(s + step).min(last)),
        );
        Ok(())
    }

    fn list_normal_resampled(&mut self, subset: Option<&str>) -> Result<(), DatasetError> {
        let root = self.root.clone();
        let subset = match subset {
            Some(s) => s.to_string(),
            None if root.join("modelnet40_shape_names.txt").is_file() => "modelnet40".into(),
            None => "modelnet10".into(),
        };
        let names = read_class_names(&root.join(format!("{subset}_shape_names.txt")))?;
        let split = self.split.unwrap_or_default();
        let list = root.join(format!("{subset}_{split}.txt"));
        let text = read_to_string(&list)?;
        for id in list_lines(&text) {
            // `airplane_0001` → airplane/airplane_0001.txt; class names may hold `_` (night_stand).
            let class = id.rsplit_once('_').map(|(c, _)| c).unwrap_or(id);
            let label = names.iter().position(|n| n == class).ok_or_else(|| {
                layout_error(
                    &list,
                    format!("id `{id}`: `{class}` is not in {subset}_shape_names.txt"),
                )
            })?;
            let file = root.join(class).join(format!("{id}.txt"));
            if !file.is_file() {
                return Err(layout_error(
                    &list,
                    format!("lists `{id}`, but {} is missing", file.display()),
                ));
            }
            self.units.push(self.items.len()..self.items.len() + 1);
            self.items.push(Item {
                source: ItemSource::Text(file),
                label,
            });
        }
        self.class_names = Some(names);
        Ok(())
    }

    fn list_class_folders(&mut self) -> Result<(), DatasetError> {
        let folders: Vec<PathBuf> = read_dir_sorted(&self.root)?
            .into_iter()
            .filter(|p| p.is_dir())
            .collect();
        // ModelNet's OFF tree has `train/` and `test/` below each class; then `--split` picks one.
        let split_tree = folders
            .iter()
            .any(|f| f.join("train").is_dir() || f.join("test").is_dir());
        if split_tree && self.split.is_none() {
            self.split = Some(Split::Test);
        }
        let mut names = Vec::new();
        for (label, folder) in folders.iter().enumerate() {
            names.push(file_name(folder));
            let walk = match self.split {
                Some(s) if split_tree => folder.join(s.name()),
                _ => folder.clone(),
            };
            if !walk.is_dir() {
                continue;
            }
            // TODO(issue 10): `load::expand_inputs` once input expansion moves into load.
            let files =
                crate::load::expand_inputs(&[walk.display().to_string()]).unwrap_or_default();
            for path in files {
                self.units.push(self.items.len()..self.items.len() + 1);
                self.items.push(Item {
                    source: ItemSource::File(path),
                    label,
                });
            }
        }
        self.class_names = Some(names);
        Ok(())
    }
}

/// Class names, one per line (shape_names.txt and its kin).
fn read_class_names(path: &Path) -> Result<Vec<String>, DatasetError> {
    let names: Vec<String> = list_lines(&read_to_string(path)?)
        .map(String::from)
        .collect();
    if names.is_empty() {
        return Err(layout_error(path, "names no class"));
    }
    Ok(names)
}

/// Reads one item on its own, for callers that hold items rather than a [`Dataset`] (tuning's
/// split sources, the evaluation report); `drop_background` as [`DatasetOptions`]'s.
pub fn read_item(
    source: &ItemSource,
    drop_background: bool,
    opts: &LoadOptions,
) -> Result<PointCloud, LoadError> {
    match source {
        ItemSource::File(p) => super::load(p, opts),
        ItemSource::Text(p) => read_xyz_normals(p, opts),
        ItemSource::Hdf5 { file, index } => {
            read_hdf5_rows(file, *index..index + 1, drop_background, opts)?
                .pop()
                .expect("one row read")
        }
    }
}

/// Rows `rows` of an h5 file's `data`, without the points its `mask` marks as background when
/// `drop_background`.
fn read_hdf5_rows(
    file: &Path,
    rows: Range<u64>,
    drop_background: bool,
    opts: &LoadOptions,
) -> Result<Vec<Result<PointCloud, LoadError>>, LoadError> {
    let h5 = H5File::open(file)?;
    let data = h5.array("data")?;
    let points = data.shape.get(1).copied().unwrap_or(0) as usize;
    let xyz = h5.read_f32("data", rows.clone())?;
    let mask = if drop_background {
        Some(h5.read_i64("mask", rows.clone())?)
    } else {
        None
    };
    Ok(rows
        .clone()
        .enumerate()
        .map(|(k, row)| {
            let shape = &xyz[k * points * 3..(k + 1) * points * 3];
            let keep = mask.as_ref().map(|m| &m[k * points..(k + 1) * points]);
            let name = PathBuf::from(format!("{}#{row}", file.display()));
            rows_to_cloud(shape, keep, name, opts)
        })
        .collect())
}

/// A cloud from one shape's `x y z` rows, kept as the point readers keep theirs (the seeded
/// reservoir over the finite points, re-centred in f64), so that the same points give the same
/// cloud whatever file they came from. `keep`: the shape's mask, −1 dropping a point.
fn rows_to_cloud(
    xyz: &[f32],
    keep: Option<&[i64]>,
    name: PathBuf,
    opts: &LoadOptions,
) -> Result<PointCloud, LoadError> {
    let mut g = Gathered::default();
    let mut kept = Reservoir::new(opts.max_points, opts.seed);
    let mut stated = 0u64;
    for (i, p) in xyz.chunks_exact(3).enumerate() {
        if keep.is_some_and(|m| m[i] == -1) {
            continue;
        }
        stated += 1;
        let p = [f64::from(p[0]), f64::from(p[1]), f64::from(p[2])];
        if p.iter().all(|c| c.is_finite()) {
            extend_bounds(&mut g.bounds, &p);
            kept.offer((i as u64, p));
        } else {
            g.dropped_non_finite += 1;
        }
    }
    for (_, (i, p)) in kept.into_sorted() {
        g.index.push(i);
        g.points.push(p);
    }
    if g.points.is_empty() {
        return Err(LoadError::new(
            &name,
            LoadErrorKind::NoPoints {
                dropped: g.dropped_non_finite,
            },
        ));
    }
    let meta = SourceMeta {
        format: Format::Hdf5,
        ..SourceMeta::memory(stated)
    };
    let mut cloud = g.into_cloud(meta);
    cloud.meta.path = Some(name);
    cloud.up_axis = opts.up_axis.unwrap_or(UpAxis::Y);
    Ok(cloud)
}
