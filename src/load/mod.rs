//! Reading point clouds: PLY, LAS/LAZ (COPC too) and meshes (OFF, OBJ, STL, PLY with faces), all
//! behind [`load`].
//!
//! ```no_run
//! use calip3d::load::{load, LoadOptions};
//! let cloud = load("scan.laz".as_ref(), &LoadOptions::default())?;
//! println!("{} of {} points", cloud.len(), cloud.meta.points_in_file);
//! # Ok::<(), calip3d::load::LoadError>(())
//! ```

pub mod dataset;
mod error;
pub mod hdf5;
mod las;
mod mesh;
mod ply;
mod sample;

pub use error::{LoadError, LoadErrorKind};
pub use sample::{subsample_indices, Reservoir};

use crate::cloud::{Bounds, Format, PointCloud, SourceMeta, UpAxis};
use nalgebra::Point3;
use std::io::Read;
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
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            max_points: 1024,
            up_axis: None,
            seed: 0,
        }
    }
}

/// Reads a point cloud from `path`, whatever its format.
pub fn load(path: &Path, opts: &LoadOptions) -> Result<PointCloud, LoadError> {
    let err = |kind| LoadError::new(path, kind);
    let format = detect_format(path).map_err(err)?;
    let mut cloud = crate::contain_panics(|| match format {
        Format::Ply => ply::read(path, opts),
        Format::Las | Format::Laz => las::read(path, opts),
        Format::Off | Format::Obj | Format::Stl => mesh::read(path, format, opts),
        Format::Hdf5 | Format::Memory => unreachable!("detect_format never answers {format:?}"),
    })
    .map_err(|message| err(LoadErrorKind::Decoder(message)))?
    .map_err(err)?;
    if cloud.is_empty() {
        return Err(err(LoadErrorKind::NoPoints {
            dropped: cloud.meta.dropped_non_finite,
        }));
    }
    cloud.meta.path = Some(path.to_path_buf());
    cloud.up_axis = opts.up_axis.unwrap_or(match format {
        Format::Las | Format::Laz => UpAxis::Z,
        _ => UpAxis::Y,
    });
    Ok(cloud)
}

/// The format of a file, from its first bytes, or its extension when they say nothing.
pub fn detect_format(path: &Path) -> Result<Format, LoadErrorKind> {
    let mut head = [0u8; 16];
    let n = std::fs::File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .map_err(|e| LoadErrorKind::Io(e.to_string()))?;
    let head = &head[..n];
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    if n == 0 {
        return Err(LoadErrorKind::EmptyFile);
    }
    if head.starts_with(b"LASF") {
        return Ok(if ext == "laz" {
            Format::Laz
        } else {
            Format::Las
        });
    }
    if head.starts_with(b"ply") {
        return Ok(Format::Ply);
    }
    if head.starts_with(b"OFF") || head.starts_with(b"COFF") || head.starts_with(b"NOFF") {
        return Ok(Format::Off);
    }
    match ext.as_str() {
        "ply" => Err(LoadErrorKind::NotFormat("PLY")),
        "las" | "laz" => Err(LoadErrorKind::NotFormat("LAS")),
        "off" => Err(LoadErrorKind::NotFormat("OFF")),
        "obj" => Ok(Format::Obj),
        "stl" => Ok(Format::Stl),
        _ => Err(LoadErrorKind::UnknownFormat(ext)),
    }
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
        let offset = self
            .bounds
            .map(|b| [0, 1, 2].map(|k| (b.min[k] + b.max[k]) / 2.0))
            .unwrap_or([0.0; 3]);
        let positions = self
            .points
            .iter()
            .map(|p| {
                Point3::new(
                    (p[0] - offset[0]) as f32,
                    (p[1] - offset[1]) as f32,
                    (p[2] - offset[2]) as f32,
                )
            })
            .collect();
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
