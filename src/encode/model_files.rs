//! Locating a CLIP model's three files: a local folder, or a Hugging Face repository id.

use super::error::ModelError;
use super::hub::hub_file;
use std::path::{Path, PathBuf};

/// The files a CLIP model consists of (Hugging Face `CLIPModel` layout).
pub const MODEL_FILES: [&str; 3] = ["config.json", "model.safetensors", "tokenizer.json"];

/// Where a model's files are, and its identity.
#[derive(Debug, Clone)]
pub struct ModelFiles {
    /// Stable identity: the repository id, or the canonical path of a local folder.
    pub id: String,
    /// `config.json`.
    pub config: PathBuf,
    /// `model.safetensors`.
    pub weights: PathBuf,
    /// `tokenizer.json`.
    pub tokenizer: PathBuf,
}

impl ModelFiles {
    /// Resolves `model`: an existing folder is used as is; anything else of the form
    /// `owner/name` is a Hugging Face repository id.
    pub fn resolve(model: &str) -> Result<Self, ModelError> {
        let path = Path::new(model);
        if path.is_dir() {
            return Self::local(path);
        }
        let looks_like_repo = model.split('/').count() == 2
            && !model.starts_with('.')
            && !model.starts_with('/')
            && !model.contains('\\');
        if !looks_like_repo {
            return Err(ModelError::MissingFile {
                path: path.to_path_buf(),
                hint: "no such model folder (expected a folder with config.json, \
                       model.safetensors and tokenizer.json, or a Hugging Face repo id such as \
                       openai/clip-vit-base-patch32)"
                    .into(),
            });
        }
        let [config, weights, tokenizer] = MODEL_FILES.map(|f| hub_file(model, f));
        Ok(Self {
            id: model.to_string(),
            config: config?,
            weights: weights?,
            tokenizer: tokenizer?,
        })
    }

    /// The files of a local folder; all must exist.
    pub fn local(dir: &Path) -> Result<Self, ModelError> {
        for f in MODEL_FILES {
            let p = dir.join(f);
            if !p.is_file() {
                return Err(ModelError::MissingFile {
                    hint: format!(
                        "a CLIP model folder needs {} (Hugging Face CLIPModel layout, e.g. from \
                         openai/clip-vit-base-patch32); put {f} into {}",
                        MODEL_FILES.join(", "),
                        dir.display()
                    ),
                    path: p,
                });
            }
        }
        let canonical = dir.canonicalize().map_err(|e| ModelError::io(dir, e))?;
        Ok(Self {
            id: canonical.display().to_string(),
            config: dir.join(MODEL_FILES[0]),
            weights: dir.join(MODEL_FILES[1]),
            tokenizer: dir.join(MODEL_FILES[2]),
        })
    }

    /// A fingerprint of the weights file (size and modification time), so cached text features
    /// are recomputed when the weights change under the same id.
    pub fn weights_fingerprint(&self) -> String {
        match std::fs::metadata(&self.weights) {
            Ok(m) => {
                let mtime = m
                    .modified()
                    .ok()
                    .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                    .map_or(0, |d| d.as_secs());
                format!("{}-{mtime}", m.len())
            }
            Err(_) => "unknown".into(),
        }
    }
}
