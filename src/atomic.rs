//! Atomic file writes: everything calip3d writes goes to a temporary file in the same folder and
//! is renamed over the target, so a reader never sees half a file and a crash never leaves one.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// The temporary sibling `path` is written through: hidden, and unique per process and call so
/// that concurrent writers never share one.
fn temporary_sibling(path: &Path) -> PathBuf {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let unique = format!(
        ".{name}.{}.{}.tmp",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    path.with_file_name(unique)
}

/// A file written in place of `path` through a temporary sibling, for writers that stream
/// (predictions, objects, labelled clouds): [`Self::commit`] flushes, syncs and renames it over
/// `path`; dropped without a commit, the temporary file is removed and `path` is left as it was.
///
/// ```
/// use std::io::Write;
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("rows.jsonl");
/// let mut file = calip3d::atomic::AtomicFile::create(&path).unwrap();
/// writeln!(file, "{{}}").unwrap();
/// assert!(!path.exists(), "nobody sees a partial file");
/// file.commit().unwrap();
/// assert_eq!(std::fs::read_to_string(&path).unwrap(), "{}\n");
/// ```
#[derive(Debug)]
pub struct AtomicFile {
    path: PathBuf,
    tmp: PathBuf,
    out: Option<BufWriter<File>>,
}

impl AtomicFile {
    /// Starts writing `path` (its missing parent folders are created).
    pub fn create(path: &Path) -> std::io::Result<Self> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)?;
        }
        let tmp = temporary_sibling(path);
        let out = BufWriter::new(File::create(&tmp)?);
        Ok(AtomicFile {
            path: path.to_path_buf(),
            tmp,
            out: Some(out),
        })
    }

    /// The file this one replaces.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Flushes, syncs and renames the written content over the target.
    pub fn commit(mut self) -> std::io::Result<()> {
        let out = self.out.take().expect("not yet committed");
        let file = out.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        std::fs::rename(&self.tmp, &self.path)
    }

    fn out(&mut self) -> &mut BufWriter<File> {
        self.out.as_mut().expect("not yet committed")
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.out().write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.out().flush()
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        // Not committed (or the commit failed): the temporary file goes.
        if self.out.take().is_some() || self.tmp.exists() {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// Writes `path` atomically: `fill` writes the content into an [`AtomicFile`], which is
/// committed. On any error the temporary file is removed and `path` is left as it was.
///
/// ```
/// use std::io::Write;
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("out.txt");
/// calip3d::atomic::write_with(&path, |w| writeln!(w, "hello")).unwrap();
/// assert_eq!(std::fs::read_to_string(&path).unwrap(), "hello\n");
/// ```
pub fn write_with(
    path: &Path,
    fill: impl FnOnce(&mut AtomicFile) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let mut file = AtomicFile::create(path)?;
    fill(&mut file)?;
    file.commit()
}

/// Writes `bytes` to `path` atomically (see [`write_with`]).
pub fn write(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_with(path, |w| w.write_all(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_write_leaves_the_old_file_and_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.json");
        write(&path, b"old").unwrap();
        let err = write_with(&path, |w| {
            w.write_all(b"half")?;
            Err(std::io::Error::other("disk full"))
        })
        .unwrap_err();
        assert_eq!(err.to_string(), "disk full");
        assert_eq!(std::fs::read(&path).unwrap(), b"old");
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().flatten().collect();
        assert_eq!(names.len(), 1, "the temporary file is gone");
    }
}
