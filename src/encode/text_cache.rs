//! An on-disk cache of class text features, so that re-running a classification with the same
//! model and prompts skips the text tower.
//!
//! One JSON file per (model, weights fingerprint, prompts, code version), named by a stable
//! 64-bit FNV-1a hash of those; the file also stores the key material and is only used when it
//! matches exactly, so a hash collision cannot return wrong features.

use super::error::ModelError;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Environment variable naming the cache folder (overrides the default location).
pub const CACHE_DIR_ENV: &str = "CALIP3D_CACHE_DIR";

/// Bumped whenever the text features' computation changes, invalidating old entries.
const FEATURE_VERSION: &str = concat!("text-features-1/", env!("CARGO_PKG_VERSION"));

#[derive(Serialize, Deserialize, PartialEq)]
struct Entry {
    version: String,
    model: String,
    prompts: Vec<Vec<String>>,
    rows: usize,
    cols: usize,
    data: Vec<f32>,
}

/// A folder of cached class-feature matrices.
#[derive(Debug, Clone)]
pub struct TextFeatureCache {
    dir: PathBuf,
}

impl TextFeatureCache {
    /// A cache in `dir` (created on first write).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The default cache: `$CALIP3D_CACHE_DIR`, else `$XDG_CACHE_HOME/calip3d`, else
    /// `~/.cache/calip3d`; `None` when none of these can be determined.
    pub fn default_location() -> Option<Self> {
        let env = |k: &str| {
            std::env::var_os(k)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        env(CACHE_DIR_ENV)
            .or_else(|| env("XDG_CACHE_HOME").map(|d| d.join("calip3d")))
            .or_else(|| env("HOME").map(|d| d.join(".cache").join("calip3d")))
            .map(Self::new)
    }

    /// The cache folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn file(&self, model: &str, prompts: &[Vec<String>]) -> PathBuf {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        let mut feed = |s: &str| {
            for b in s.bytes().chain([0xff]) {
                h ^= u64::from(b);
                h = h.wrapping_mul(0x0100_0000_01b3);
            }
        };
        feed(FEATURE_VERSION);
        feed(model);
        for class in prompts {
            for p in class {
                feed(p);
            }
            feed("\u{1}");
        }
        self.dir.join(format!("text-{h:016x}.json"))
    }

    /// The cached `[rows, cols]` features (row-major) for `model` and `prompts`, if present.
    pub fn get(&self, model: &str, prompts: &[Vec<String>]) -> Option<(Vec<f32>, usize, usize)> {
        let text = std::fs::read_to_string(self.file(model, prompts)).ok()?;
        let e: Entry = serde_json::from_str(&text).ok()?;
        let matches = e.version == FEATURE_VERSION
            && e.model == model
            && e.prompts == prompts
            && e.data.len() == e.rows * e.cols;
        matches.then_some((e.data, e.rows, e.cols))
    }

    /// Stores features for `model` and `prompts` (written to a temporary file, then renamed, so
    /// readers never see half a file).
    pub fn put(
        &self,
        model: &str,
        prompts: &[Vec<String>],
        data: &[f32],
        rows: usize,
        cols: usize,
    ) -> Result<(), ModelError> {
        let path = self.file(model, prompts);
        let err = |reason: String| ModelError::Cache {
            path: path.clone(),
            reason,
        };
        std::fs::create_dir_all(&self.dir).map_err(|e| err(e.to_string()))?;
        let entry = Entry {
            version: FEATURE_VERSION.into(),
            model: model.into(),
            prompts: prompts.to_vec(),
            rows,
            cols,
            data: data.to_vec(),
        };
        let json = serde_json::to_string(&entry).map_err(|e| err(e.to_string()))?;
        crate::atomic::write(&path, json.as_bytes()).map_err(|e| err(e.to_string()))
    }
}
