//! The one table of formats calip3d reads ([`FORMATS`]): names, `--format` ids, extensions, magic
//! bytes, default up axis, and whether batch folders are searched for them; and [`detect_format`],
//! which reads it.

use crate::cloud::{Format, UpAxis};
use crate::load::LoadErrorKind;
use std::io::Read;
use std::path::Path;

/// One format calip3d reads.
#[derive(Debug, Clone, Copy)]
pub struct FormatSpec {
    /// The format.
    pub format: Format,
    /// Its name in messages (`not a PCD file`).
    pub name: &'static str,
    /// What `--format` accepts for it (the first is the canonical id).
    pub ids: &'static [&'static str],
    /// File extensions, lower case, without the dot.
    pub extensions: &'static [&'static str],
    /// Whether folders given to `batch` are searched for these extensions. Off for `.txt` and
    /// `.csv`, which folders hold for other reasons (notes, results); name such files explicitly.
    pub searched: bool,
    /// Whether the first bytes identify the file, so a file of this extension without them is not one.
    pub magic: Option<fn(&[u8]) -> bool>,
    /// The up axis of the format's usual sources.
    pub up_axis: UpAxis,
}

fn is_ply(h: &[u8]) -> bool {
    h.starts_with(b"ply")
}
fn is_las(h: &[u8]) -> bool {
    h.starts_with(b"LASF")
}
fn is_pcd(h: &[u8]) -> bool {
    // PCL writes a `# .PCD v…` comment first; other writers start with VERSION or FIELDS.
    [&b"# .PCD"[..], b"VERSION", b"FIELDS"]
        .iter()
        .any(|m| h.starts_with(m))
}
fn is_npy(h: &[u8]) -> bool {
    h.starts_with(b"\x93NUMPY")
}
fn is_e57(h: &[u8]) -> bool {
    h.starts_with(b"ASTM-E57")
}

/// Every format calip3d reads. LAS and LAZ share their magic; the extension tells them apart.
pub const FORMATS: &[FormatSpec] = &[
    FormatSpec {
        format: Format::Ply,
        name: "PLY",
        ids: &["ply"],
        extensions: &["ply"],
        searched: true,
        magic: Some(is_ply),
        up_axis: UpAxis::Y,
    },
    FormatSpec {
        format: Format::Las,
        name: "LAS",
        ids: &["las"],
        extensions: &["las"],
        searched: true,
        magic: Some(is_las),
        up_axis: UpAxis::Z,
    },
    FormatSpec {
        format: Format::Laz,
        name: "LAZ",
        ids: &["laz", "copc"],
        extensions: &["laz"],
        searched: true,
        magic: Some(is_las),
        up_axis: UpAxis::Z,
    },
    FormatSpec {
        format: Format::Off,
        name: "OFF",
        ids: &["off"],
        extensions: &["off"],
        searched: true,
        // Comments may precede the keyword, so the reader decides for `.off` files.
        magic: None,
        up_axis: UpAxis::Y,
    },
    FormatSpec {
        format: Format::Obj,
        name: "OBJ",
        ids: &["obj"],
        extensions: &["obj"],
        searched: true,
        magic: None,
        up_axis: UpAxis::Y,
    },
    FormatSpec {
        format: Format::Stl,
        name: "STL",
        ids: &["stl"],
        extensions: &["stl"],
        searched: true,
        magic: None,
        up_axis: UpAxis::Y,
    },
    FormatSpec {
        format: Format::Pcd,
        name: "PCD",
        ids: &["pcd"],
        extensions: &["pcd"],
        searched: true,
        magic: Some(is_pcd),
        up_axis: UpAxis::Y,
    },
    FormatSpec {
        format: Format::Kitti,
        name: "KITTI velodyne",
        ids: &["kitti", "velodyne"],
        extensions: &["bin"],
        searched: true,
        magic: None,
        up_axis: UpAxis::Z,
    },
    FormatSpec {
        format: Format::Npy,
        name: "NPY",
        ids: &["npy"],
        extensions: &["npy"],
        searched: true,
        magic: Some(is_npy),
        up_axis: UpAxis::Y,
    },
    FormatSpec {
        format: Format::Text,
        name: "XYZ/CSV text",
        ids: &["text", "xyz", "csv", "txt", "pts"],
        extensions: &["xyz", "pts"],
        searched: true,
        magic: None,
        up_axis: UpAxis::Y,
    },
    FormatSpec {
        format: Format::Text,
        name: "XYZ/CSV text",
        ids: &[],
        extensions: &["txt", "csv"],
        searched: false,
        magic: None,
        up_axis: UpAxis::Y,
    },
    FormatSpec {
        format: Format::E57,
        name: "E57",
        ids: &["e57"],
        extensions: &["e57"],
        searched: true,
        magic: Some(is_e57),
        up_axis: UpAxis::Z,
    },
];

const fn count_searched() -> usize {
    let (mut i, mut n) = (0, 0);
    while i < FORMATS.len() {
        if FORMATS[i].searched {
            n += FORMATS[i].extensions.len();
        }
        i += 1;
    }
    n
}

const fn searched_extensions() -> [&'static str; count_searched()] {
    let mut out = [""; count_searched()];
    let (mut i, mut n) = (0, 0);
    while i < FORMATS.len() {
        let mut k = 0;
        while FORMATS[i].searched && k < FORMATS[i].extensions.len() {
            out[n] = FORMATS[i].extensions[k];
            n += 1;
            k += 1;
        }
        i += 1;
    }
    out
}

const SEARCHED: [&str; count_searched()] = searched_extensions();

/// File extensions (lower case) that batch folders are searched for, from [`FORMATS`].
pub const CLOUD_EXTENSIONS: &[&str] = &SEARCHED;

/// The table's row for `format` (the first, for formats with several rows).
pub fn spec(format: Format) -> Option<&'static FormatSpec> {
    FORMATS.iter().find(|s| s.format == format)
}

/// Every extension calip3d reads, as `.ply, .las, …` for messages.
pub fn extension_list() -> String {
    let all: Vec<String> = FORMATS
        .iter()
        .flat_map(|s| s.extensions.iter().map(|e| format!(".{e}")))
        .collect();
    all.join(", ")
}

/// Why a `--format` name is not one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown format `{0}` (expected one of {ids})", ids = format_ids().join(", "))]
pub struct UnknownFormatName(pub String);

/// The names `--format` accepts.
pub fn format_ids() -> Vec<&'static str> {
    FORMATS.iter().flat_map(|s| s.ids.iter().copied()).collect()
}

impl std::str::FromStr for Format {
    type Err = UnknownFormatName;

    /// A `--format` id: `pcd`, `kitti`, `xyz`, … (case-insensitive).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let want = s.to_ascii_lowercase();
        FORMATS
            .iter()
            .find(|f| f.ids.contains(&want.as_str()))
            .map(|f| f.format)
            .ok_or_else(|| UnknownFormatName(s.to_string()))
    }
}

/// A KITTI velodyne point: four little-endian float32.
pub(crate) const KITTI_POINT_BYTES: u64 = 16;

/// The format of a file, from its first bytes, or its extension when they say nothing.
///
/// `.bin` is KITTI velodyne only when the file is a whole number of 16-byte points.
///
/// ```no_run
/// use calip3d::{load::detect_format, Format};
/// assert_eq!(detect_format("000042.bin".as_ref()).unwrap(), Format::Kitti);
/// ```
pub fn detect_format(path: &Path) -> Result<Format, LoadErrorKind> {
    let mut head = [0u8; 64];
    let mut file = std::fs::File::open(path).map_err(LoadErrorKind::io)?;
    let mut n = 0;
    // One read may return less than the file holds; fill the head as far as the file goes.
    while n < head.len() {
        match file.read(&mut head[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(LoadErrorKind::io(e)),
        }
    }
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    let len = file.metadata().map_err(LoadErrorKind::io)?.len();
    format_of(&head[..n], &ext, len)
}

/// The format of a file of `len` bytes that starts with `head`, or else of its (lower-case)
/// extension `ext`.
pub(crate) fn format_of(head: &[u8], ext: &str, len: u64) -> Result<Format, LoadErrorKind> {
    if head.is_empty() {
        return Err(LoadErrorKind::EmptyFile);
    }
    let by_ext = FORMATS.iter().find(|s| s.extensions.contains(&ext));
    if let Some(found) = FORMATS.iter().find(|s| s.magic.is_some_and(|m| m(head))) {
        // LAS and LAZ share their magic: the extension tells them apart.
        return Ok(match by_ext {
            Some(e) if e.magic.is_some_and(|m| m(head)) => e.format,
            _ => found.format,
        });
    }
    if super::off::is_off_keyword(head) {
        return Ok(Format::Off);
    }
    let Some(spec) = by_ext else {
        return Err(LoadErrorKind::UnknownFormat(ext.to_string()));
    };
    if spec.magic.is_some() {
        return Err(LoadErrorKind::NotFormat(spec.name));
    }
    if spec.format == Format::Kitti && !len.is_multiple_of(KITTI_POINT_BYTES) {
        return Err(LoadErrorKind::BadHeader(format!(
            "a .bin file of {len} bytes is not a KITTI velodyne scan (a whole number of \
             16-byte points: x, y, z, reflectance as float32); use --format to say what it is"
        )));
    }
    Ok(spec.format)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_gives_batch_its_extensions_and_format_ids_parse() {
        for e in [
            "ply", "laz", "pcd", "bin", "npy", "xyz", "pts", "e57", "off",
        ] {
            assert!(CLOUD_EXTENSIONS.contains(&e), "{e}");
        }
        assert!(!CLOUD_EXTENSIONS.contains(&"txt"));
        assert_eq!("KITTI".parse::<Format>().unwrap(), Format::Kitti);
        assert_eq!("csv".parse::<Format>().unwrap(), Format::Text);
        let err = "vtk".parse::<Format>().unwrap_err().to_string();
        assert!(
            err.starts_with("unknown format `vtk` (expected one of ply, las"),
            "{err}"
        );
        // Every format (but Memory) has a row, and a row's ids name its own format.
        for s in FORMATS {
            for id in s.ids {
                assert_eq!(id.parse::<Format>().unwrap(), s.format);
            }
        }
    }
}
