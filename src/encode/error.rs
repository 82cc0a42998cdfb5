//! Errors of the CLIP encoder: every variant names the file or tensor at fault.

use std::path::PathBuf;

/// What can go wrong while locating, loading or running a CLIP model.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ModelError {
    /// A file the model needs is absent.
    #[error("missing model file {path}: {hint}")]
    MissingFile {
        /// The file that was looked for.
        path: PathBuf,
        /// Where to put it or how to obtain it.
        hint: String,
    },
    /// A file exists but cannot be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// `config.json` is not a CLIP configuration we understand.
    #[error("invalid CLIP config {path}: {reason}")]
    Config {
        /// The config file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The safetensors file is malformed (e.g. truncated) or a tensor does not fit the config.
    #[error("invalid weights {path}: {reason}")]
    Weights {
        /// The weights file.
        path: PathBuf,
        /// What is wrong, naming the tensor where there is one.
        reason: String,
    },
    /// The tokenizer file cannot be loaded or used.
    #[error("tokenizer {path}: {reason}")]
    Tokenizer {
        /// The tokenizer file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The Hugging Face Hub could not provide a file.
    #[error("cannot fetch {file} of {repo} from the Hugging Face Hub: {reason}")]
    Hub {
        /// Repository id, e.g. `openai/clip-vit-base-patch32`.
        repo: String,
        /// The file.
        file: String,
        /// What went wrong.
        reason: String,
    },
    /// An input image cannot be decoded or used.
    #[error("image {path}: {reason}")]
    Image {
        /// The image file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// An input tensor has the wrong shape or type.
    #[error("invalid input: {0}")]
    Input(String),
    /// The on-disk text-feature cache failed.
    #[error("text feature cache {path}: {reason}")]
    Cache {
        /// The cache file or folder.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// The GPU vision tower could not be set up or run.
    #[error(transparent)]
    Gpu(#[from] super::gpu::GpuError),
    /// A tensor operation failed.
    #[error("tensor computation failed: {0}")]
    Candle(#[from] candle_core::Error),
}

impl ModelError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        if source.kind() == std::io::ErrorKind::NotFound {
            let path = path.into();
            return ModelError::MissingFile {
                hint: "the file does not exist".into(),
                path,
            };
        }
        ModelError::Io {
            path: path.into(),
            source,
        }
    }
}
