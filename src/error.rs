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
    /// A profile or adapter chosen on the test split, without test-split search allowed.
    #[error("{}: this {what} on the test set; pass --search-on-test to use it anyway (allow_test_search=True in Python)", path.display())]
    TestSearch {
        /// The profile or adapter.
        path: PathBuf,
        /// "profile was searched" or "adapter was fitted".
        what: &'static str,
    },
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

/// The message of an error and its causes, for people: each link of `chain` (an error, then its
/// sources) joined by ": ", leaving out a cause whose message the text already holds.
///
/// Many errors quote their cause in their own message (`"{path}: {source}"`) *and* return it as
/// their `source()`, so that a program can still match on it; printing the chain naively (as
/// anyhow's `{:#}` does) then says the cause twice: `a.safetensors: No such file or directory
/// (os error 2): No such file or directory (os error 2)`. The CLI and the Python package print
/// errors through this function.
///
/// ```
/// let io = std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
/// let err = calip3d::Error::Io { path: "a.bin".into(), source: io };
/// assert_eq!(calip3d::error_message(&err), "a.bin: no such file");
/// ```
pub fn error_message(error: &(dyn std::error::Error + 'static)) -> String {
    chain_message(std::iter::successors(Some(error), |e| e.source()))
}

/// [`error_message`] for a chain given link by link (e.g. `anyhow::Error::chain`).
pub fn chain_message<'a>(
    chain: impl IntoIterator<Item = &'a (dyn std::error::Error + 'static)>,
) -> String {
    let mut text = String::new();
    for link in chain {
        let message = link.to_string();
        if message.is_empty() || text.contains(&message) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&message);
    }
    text
}
