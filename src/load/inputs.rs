//! Expanding inputs (files, folders, glob patterns) into the list of point-cloud files to read.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// File extensions (lower case) that batch folders are searched for.
pub const CLOUD_EXTENSIONS: &[&str] = crate::load::format::CLOUD_EXTENSIONS;

/// Why an input could not be expanded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InputError {
    #[error("{0}: no such file or folder")]
    /// An input that is neither a file, a folder nor a pattern.
    NotFound(PathBuf),
    #[error("{pattern}: bad glob pattern: {message}")]
    /// An unparsable glob pattern.
    BadPattern {
        /// The pattern.
        pattern: String,
        /// Why.
        message: String,
    },
    #[error("{pattern}: glob pattern matches no file")]
    /// A glob pattern that matches nothing.
    NoMatch {
        /// The pattern.
        pattern: String,
    },
    #[error("{path}: cannot read folder: {source}")]
    /// A folder that cannot be read.
    ReadDir {
        /// The folder.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// Whether `path` has one of the [`CLOUD_EXTENSIONS`] (case-insensitive).
pub fn is_cloud_file(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| CLOUD_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

/// Expands files, folders (recursively, by extension) and glob patterns into a sorted list of
/// files without duplicates. A file named explicitly is kept whatever its extension, so that a
/// mistyped file gives a per-file error later rather than vanishing from the run.
///
/// ```no_run
/// let files = calip3d::load::expand_inputs(&["scans/".into(), "extra/*.laz".into()]).unwrap();
/// ```
pub fn expand_inputs(inputs: &[String]) -> Result<Vec<PathBuf>, InputError> {
    let mut files = BTreeSet::new();
    for input in inputs {
        let path = Path::new(input);
        if path.is_dir() {
            walk(path, &mut files)?;
        } else if path.exists() {
            files.insert(path.to_path_buf());
        } else if input.contains(['*', '?', '[']) {
            let matches = glob::glob(input).map_err(|e| InputError::BadPattern {
                pattern: input.clone(),
                message: e.msg.to_string(),
            })?;
            let before = files.len();
            for entry in matches.flatten() {
                if entry.is_dir() {
                    walk(&entry, &mut files)?;
                } else if is_cloud_file(&entry) {
                    files.insert(entry);
                }
            }
            if files.len() == before {
                return Err(InputError::NoMatch {
                    pattern: input.clone(),
                });
            }
        } else {
            return Err(InputError::NotFound(path.to_path_buf()));
        }
    }
    Ok(files.into_iter().collect())
}

fn walk(dir: &Path, files: &mut BTreeSet<PathBuf>) -> Result<(), InputError> {
    let entries = std::fs::read_dir(dir).map_err(|source| InputError::ReadDir {
        path: dir.to_path_buf(),
        source,
    })?;
    for entry in entries.flatten() {
        let path = entry.path();
        // file_type() does not follow symlinks; metadata() does, so linked folders are walked too.
        if path.is_dir() {
            walk(&path, files)?;
        } else if is_cloud_file(&path) {
            files.insert(path);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_are_recursed_by_extension_and_globs_expand() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("a/b")).unwrap();
        for f in ["a/x.ply", "a/b/y.LAZ", "a/b/notes.txt", "z.obj"] {
            std::fs::write(root.join(f), b"").unwrap();
        }
        let got = expand_inputs(&[
            root.join("a").display().to_string(),
            root.join("*.obj").display().to_string(),
            root.join("a/x.ply").display().to_string(),
        ])
        .unwrap();
        let want: Vec<PathBuf> = ["a/b/y.LAZ", "a/x.ply", "z.obj"]
            .iter()
            .map(|f| root.join(f))
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn missing_inputs_are_errors() {
        let err = expand_inputs(&["/nonexistent/scan.las".into()]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "/nonexistent/scan.las: no such file or folder"
        );
        let err = expand_inputs(&["/nonexistent/*.las".into()]).unwrap_err();
        assert!(err.to_string().contains("matches no file"), "{err}");
    }
}
