//! Reading point clouds: PLY, LAS/LAZ (COPC too), PCD, KITTI velodyne `.bin`, NPY, XYZ/CSV/PTS text,
//! E57 and meshes (OFF, OBJ, STL, PLY with faces), all behind [`load`]; [`format::FORMATS`] lists them.
//!
//! ```no_run
//! use calip3d::load::{load, LoadOptions};
//! let cloud = load("scan.laz".as_ref(), &LoadOptions::default())?;
//! println!("{} of {} points", cloud.len(), cloud.meta.points_in_file);
//! # Ok::<(), calip3d::load::LoadError>(())
//! ```

pub mod crs;
pub mod dataset;
mod e57;
mod error;
pub mod format;
pub mod hdf5;
mod inputs;
mod kitti;
mod las;
mod laz_gps;
mod laz_points;
pub(crate) mod limits;
mod mesh;
pub(crate) mod npy;
mod off;
mod pcd;
mod ply;
mod sample;
mod stream;
mod text;

pub use error::{IoError, LoadError, LoadErrorKind};
pub use format::{detect_format, FORMATS};
pub use inputs::{expand_inputs, is_cloud_file, InputError, CLOUD_EXTENSIONS};
pub use laz_points::{PointRecords, RecordDecoder};
pub use sample::{subsample_indices, Reservoir, SplitMix64};

use crate::cloud::{Bounds, Format, PointCloud, SourceMeta, UpAxis};
use std::path::Path;

/// How to read a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadOptions {
    /// Points kept: clouds with more are subsampled while streaming, meshes are sampled on their
    /// surface to this many points. 0 keeps every point (a mesh then gives its vertices).
    pub max_points: usize,
    /// Up axis of the cloud; `None` takes the format's default (z for LAS/LAZ, y otherwise).
    pub up_axis: Option<UpAxis>,
    /// Seed of the subsampler and of surface sampling: the same file always gives the same points.
    pub seed: u64,
    /// The file's format, when detection should not decide (`--format`; e.g. a `.bin` that is KITTI).
    pub format: Option<Format>,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            max_points: 1024,
            up_axis: None,
            seed: 0,
            format: None,
        }
    }
}

/// The point records of the LAS/LAZ file at `path`, decoded (and checked) as [`load`] decodes
/// them: every dimension, byte for byte as in an uncompressed LAS file. A panic of the
/// third-party decoder is an error, as in [`load`].
pub fn read_point_records(path: &Path) -> Result<PointRecords, LoadError> {
    crate::contain_panics(|| las::read_records(path))
        .map_err(LoadErrorKind::Decoder)
        .and_then(|r| r)
        .map_err(|kind| LoadError::new(path, kind))
}

/// Reads a point cloud from `path`, whatever its format.
pub fn load(path: &Path, opts: &LoadOptions) -> Result<PointCloud, LoadError> {
    let err = |kind| LoadError::new(path, kind);
    let format = match opts.format {
        Some(f) => f,
        None => detect_format(path).map_err(err)?,
    };
    let mut cloud = finish(format, opts, || match format {
        Format::Ply => ply::read(path, opts),
        Format::Las | Format::Laz => las::read(path, opts),
        Format::Off => off::read(path, opts),
        Format::Obj | Format::Stl => mesh::read(path, format, opts),
        Format::Pcd => pcd::read(path, opts),
        Format::Kitti => kitti::read(path, opts),
        Format::Npy => npy::read(path, opts),
        Format::Text => text::read(path, opts),
        Format::E57 => e57::read(path, opts),
        Format::Hdf5 | Format::Memory => Err(LoadErrorKind::UnknownFormat(
            format!("{format:?}").to_lowercase(),
        )),
    })
    .map_err(err)?;
    cloud.meta.path = Some(path.to_path_buf());
    Ok(cloud)
}

/// Reads a point cloud from a file's contents held in memory, with the same readers and checks
/// as [`load`]; `extension` stands for the file's (it decides only when the first bytes say
/// nothing). For fuzzing (`fuzz/`) and tests, which need no file on disk. Formats whose readers
/// only take a path (PCD, KITTI, NPY, text, E57) go through a temporary file.
#[doc(hidden)]
pub fn load_bytes(
    bytes: &[u8],
    extension: &str,
    opts: &LoadOptions,
) -> Result<PointCloud, LoadErrorKind> {
    let len = bytes.len() as u64;
    let format = format::format_of(bytes, &extension.to_ascii_lowercase(), len)?;
    finish(format, opts, || match format {
        Format::Ply => ply::read_from(std::io::Cursor::new(bytes), len, opts),
        Format::Las | Format::Laz => {
            las::read_from(std::io::Cursor::new(bytes.to_vec()), len, opts, "<memory>")
        }
        Format::Off => off::read_bytes(bytes, opts),
        Format::Obj | Format::Stl => mesh::read_bytes(bytes, format, opts),
        _ => {
            let file = tempfile_with(bytes, extension)?;
            let opts = LoadOptions {
                format: Some(format),
                ..opts.clone()
            };
            load(file.path(), &opts).map_err(|e| e.kind)
        }
    })
}

fn tempfile_with(bytes: &[u8], extension: &str) -> Result<tempfile::NamedTempFile, LoadErrorKind> {
    use std::io::Write;
    let io = |e: std::io::Error| LoadErrorKind::io(e);
    let mut file = tempfile::Builder::new()
        .suffix(&format!(".{extension}"))
        .tempfile()
        .map_err(io)?;
    file.write_all(bytes).map_err(io)?;
    Ok(file)
}

/// Runs a reader with its panics contained, then refuses an empty cloud and sets the up axis.
fn finish(
    format: Format,
    opts: &LoadOptions,
    read: impl FnOnce() -> Result<PointCloud, LoadErrorKind>,
) -> Result<PointCloud, LoadErrorKind> {
    let mut cloud = crate::contain_panics(read).map_err(LoadErrorKind::Decoder)??;
    if cloud.is_empty() {
        return Err(LoadErrorKind::NoPoints {
            dropped: cloud.meta.dropped_non_finite,
        });
    }
    cloud.up_axis = opts
        .up_axis
        .unwrap_or_else(|| format::spec(format).map_or(UpAxis::Y, |s| s.up_axis));
    Ok(cloud)
}

/// Points gathered by a reader, in f64 and in file coordinates, before re-centring.
#[derive(Default)]
pub(crate) struct Gathered {
    pub points: Vec<[f64; 3]>,
    pub index: Vec<u64>,
    pub intensity: Option<Vec<u16>>,
    pub colors: Option<Vec<[u16; 3]>>,
    pub classification: Option<Vec<u8>>,
    pub normals: Option<Vec<[f32; 3]>>,
    /// Bounds over every finite point of the file (not only the kept ones).
    pub bounds: Option<Bounds>,
    pub dropped_non_finite: u64,
}

/// Grows `bounds` by a point.
pub(crate) fn extend_bounds(bounds: &mut Option<Bounds>, p: &[f64; 3]) {
    let b = bounds.get_or_insert(Bounds { min: *p, max: *p });
    for (k, &c) in p.iter().enumerate() {
        b.min[k] = b.min[k].min(c);
        b.max[k] = b.max[k].max(c);
    }
}

impl Gathered {
    /// Re-centres on the bounds' centre in f64, then goes to f32.
    pub fn into_cloud(self, meta: SourceMeta) -> PointCloud {
        let (positions, offset) = crate::cloud::recentre(&self.points, self.bounds.as_ref());
        PointCloud {
            positions,
            // Surface samples have no index in the file.
            source_index: (!self.index.is_empty()).then_some(self.index),
            intensity: self.intensity,
            colors: self.colors,
            classification: self.classification,
            normals: self.normals,
            up_axis: UpAxis::Y,
            meta: SourceMeta {
                bounds: self.bounds,
                offset,
                dropped_non_finite: self.dropped_non_finite,
                ..meta
            },
        }
    }
}
