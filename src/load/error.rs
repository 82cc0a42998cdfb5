//! [`LoadError`]: what went wrong reading which file.

use std::path::{Path, PathBuf};

/// A file that could not be read, and why. Displays as `<path>: <problem>`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}: {kind}", path.display())]
pub struct LoadError {
    /// The file.
    pub path: PathBuf,
    /// What is wrong with it.
    pub kind: LoadErrorKind,
}

impl LoadError {
    /// An error about `path`.
    pub fn new(path: &Path, kind: LoadErrorKind) -> Self {
        LoadError {
            path: path.to_path_buf(),
            kind,
        }
    }
}

/// The problems a file can have.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum LoadErrorKind {
    #[error("cannot read: {0}")]
    /// The file could not be opened or read.
    Io(#[source] IoError),
    #[error("empty file")]
    /// The file has no bytes.
    EmptyFile,
    #[error("unknown file type `{0}` (expected {exts}, or --format)", exts = crate::load::format::extension_list())]
    /// Neither the first bytes nor the extension name a supported format.
    UnknownFormat(String),
    #[error("not a {0} file")]
    /// The extension names a format whose magic bytes are missing.
    NotFormat(&'static str),
    #[error("bad header: {0}")]
    /// The header is malformed or lies.
    BadHeader(String),
    #[error("truncated: header says {expected} points, file holds {found}")]
    /// The file holds fewer points than its header says.
    Truncated {
        /// Points the header promises.
        expected: u64,
        /// Points the file holds.
        found: u64,
    },
    #[error("truncated or corrupt data: {0}")]
    /// The body is truncated or corrupt.
    BadData(String),
    #[error("unknown point format {0}")]
    /// A LAS point format outside 0–10.
    UnknownPointFormat(u8),
    #[error("no {0} coordinate in the vertex element")]
    /// The vertex element lacks x, y or z.
    MissingCoordinate(char),
    #[error("no points{}", if *dropped > 0 { format!(" ({dropped} dropped for NaN or infinite coordinates)") } else { String::new() })]
    /// No finite point in the file.
    NoPoints {
        /// Points dropped for NaN or infinite coordinates.
        dropped: u64,
    },
    #[error("bad mesh: {0}")]
    /// Faces that cannot be sampled (bad indices, broken lines).
    BadMesh(String),
    #[error("the decoder failed: {0}")]
    /// A third-party decoder panicked on the file; the panic was contained.
    Decoder(String),
    #[error("the header claims {what} ({claimed} bytes), more than the {available} bytes the file holds there")]
    /// A size stated in the file (a count times a record size, a record length, an offset) that
    /// the file cannot hold; caught before anything is allocated for it.
    ClaimsMoreThanFile {
        /// What the header claims, e.g. `1099511627776 points of 20 bytes`.
        what: String,
        /// The bytes that claim needs (a product of two stated sizes, so it cannot overflow).
        claimed: u128,
        /// The bytes the file holds where the claim must fit.
        available: u64,
    },
}

/// An I/O error, shareable so that [`LoadErrorKind`] stays `Clone`; equal when kind and message
/// are.
#[derive(Debug, Clone)]
pub struct IoError(pub std::sync::Arc<std::io::Error>);

impl std::fmt::Display for IoError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for IoError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&*self.0)
    }
}

impl PartialEq for IoError {
    fn eq(&self, other: &Self) -> bool {
        self.0.kind() == other.0.kind() && self.0.to_string() == other.0.to_string()
    }
}

impl LoadErrorKind {
    /// The error for a failed read or open.
    pub fn io(e: std::io::Error) -> Self {
        LoadErrorKind::Io(IoError(std::sync::Arc::new(e)))
    }
}

impl From<std::io::Error> for LoadErrorKind {
    fn from(e: std::io::Error) -> Self {
        LoadErrorKind::io(e)
    }
}
