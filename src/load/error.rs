//! [`LoadError`]: what went wrong reading which file.

use std::path::{Path, PathBuf};

/// A file that could not be read, and why. Displays as `<path>: <problem>`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}: {kind}", path.display())]
pub struct LoadError {
    pub path: PathBuf,
    pub kind: LoadErrorKind,
}

impl LoadError {
    pub fn new(path: &Path, kind: LoadErrorKind) -> Self {
        LoadError {
            path: path.to_path_buf(),
            kind,
        }
    }
}

/// The problems a file can have.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LoadErrorKind {
    #[error("cannot read: {0}")]
    Io(String),
    #[error("empty file")]
    EmptyFile,
    #[error("unknown file type `{0}` (expected .ply, .las, .laz, .off, .obj or .stl)")]
    UnknownFormat(String),
    #[error("not a {0} file")]
    NotFormat(&'static str),
    #[error("bad header: {0}")]
    BadHeader(String),
    #[error("truncated: header says {expected} points, file holds {found}")]
    Truncated { expected: u64, found: u64 },
    #[error("truncated or corrupt data: {0}")]
    BadData(String),
    #[error("unknown point format {0}")]
    UnknownPointFormat(u8),
    #[error("no {0} coordinate in the vertex element")]
    MissingCoordinate(char),
    #[error("no points{}", if *dropped > 0 { format!(" ({dropped} dropped for NaN or infinite coordinates)") } else { String::new() })]
    NoPoints { dropped: u64 },
    #[error("bad mesh: {0}")]
    BadMesh(String),
    #[error("the decoder failed: {0}")]
    Decoder(String),
}
