//! [`Error`]: what can go wrong anywhere in the pipeline, one variant per stage.

use std::path::PathBuf;

/// Any error of the calip3d pipeline. Each stage has its own exhaustive error type; this wraps
/// them so that library callers match on one type.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error(transparent)]
    /// Reading a file failed.
    Load(#[from] crate::load::LoadError),
    #[error(transparent)]
    /// Projecting failed.
    Project(#[from] crate::project::ProjectError),
    #[error(transparent)]
    /// Loading or running CLIP failed.
    Model(#[from] crate::encode::ModelError),
    #[error(transparent)]
    /// The class list is invalid.
    Classes(#[from] crate::classify::classes::ClassesError),
    #[error(transparent)]
    /// A dataset could not be opened or listed.
    Dataset(#[from] crate::load::dataset::DatasetError),
    #[error(transparent)]
    /// A tuning profile could not be read or does not fit.
    Profile(#[from] crate::classify::profile::ProfileError),
    #[error(transparent)]
    /// A few-shot adapter could not be read or written.
    FewShot(#[from] crate::attend::FewShotError),
    #[error(transparent)]
    /// Inputs (files, folders, patterns) could not be expanded.
    Inputs(#[from] crate::load::InputError),
    #[error(transparent)]
    /// The results file could not be written.
    Results(#[from] crate::batch::ResultsError),
    /// A tensor operation failed (shapes that do not fit, usually a bug or a mismatched model).
    #[error("tensor computation failed: {0}")]
    Tensor(#[from] candle_core::Error),
    /// A cloud with no (finite) points: there is nothing to classify.
    #[error("{}: no points to classify", .0.as_ref().map(|p| p.display().to_string()).unwrap_or_else(|| "cloud".into()))]
    EmptyCloud(Option<PathBuf>),
    /// A setting that cannot work, e.g. view weights that do not match the views.
    #[error("invalid setting: {0}")]
    InvalidSetting(String),
    /// Encoding a batch of views failed; every file of the batch gets this message.
    #[error("encoding failed: {0}")]
    Encode(String),
    /// A bug: a stage panicked. The panic was contained so that other files go on.
    #[error("{0}")]
    Internal(String),
    #[error("{path}: {source}")]
    /// Reading or writing a file failed.
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// calip3d's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The error for a panic contained while doing `what` (e.g. "reading or projecting") to
    /// `source` (a file, an h5 shape), so that the run goes on with the other inputs.
    pub(crate) fn panicked_while(source: impl std::fmt::Display, what: &str) -> Error {
        Error::Internal(format!("{source}: internal error while {what}"))
    }
}
