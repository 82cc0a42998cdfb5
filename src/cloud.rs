//! [`PointCloud`]: positions as contiguous `f32` triples plus the attributes and metadata of its source.

use nalgebra::Point3;
use std::path::PathBuf;

/// The file format a cloud was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Stanford PLY (ASCII or binary).
    Ply,
    /// ASPRS LAS.
    Las,
    /// LASzip-compressed LAS (COPC too).
    Laz,
    /// Object File Format (ModelNet).
    Off,
    /// Wavefront OBJ.
    Obj,
    /// STL, ASCII or binary.
    Stl,
    /// Point Cloud Library PCD (ascii, binary, binary_compressed).
    Pcd,
    /// KITTI velodyne scan: float32 x, y, z, reflectance.
    Kitti,
    /// numpy `.npy` array of N×3 or more columns.
    Npy,
    /// Delimited text columns: XYZ, TXT, CSV, PTS.
    Text,
    /// ASTM E57 laser-scan exchange format.
    E57,
    /// A shape of an HDF5 benchmark file (ModelNet40 `ply_hdf5_2048`, ScanObjectNN).
    Hdf5,
    /// Built in memory (library callers), not read from a file.
    Memory,
}

/// Which axis points up in the cloud's own coordinates.
///
/// The projections assume y-up (ModelNet's convention); a z-up cloud (LAS/LiDAR) is rotated
/// (x, y, z) → (x, z, −y) before projecting (METHOD.md §1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UpAxis {
    #[default]
    /// y points up (ModelNet, most meshes and PLY files).
    Y,
    /// z points up (LAS/LiDAR).
    Z,
}

/// Axis-aligned bounds in f64, in the file's own coordinates.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Bounds {
    /// Smallest x, y, z.
    pub min: [f64; 3],
    /// Largest x, y, z.
    pub max: [f64; 3],
}

/// Where a cloud came from and what its header said.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SourceMeta {
    /// The file, when read from one.
    pub path: Option<PathBuf>,
    /// The format it was read from.
    pub format: Format,
    /// Format version, e.g. "1.4" for LAS, "binary_little_endian 1.0" for PLY.
    pub version: Option<String>,
    /// LAS point data record format (0–10).
    pub point_format: Option<u8>,
    /// Points (vertices, for meshes) stored in the file, as its header says.
    pub points_in_file: u64,
    /// Faces stored in the file, for meshes.
    pub faces_in_file: Option<u64>,
    /// Bounds of the file's points in its own coordinates.
    pub bounds: Option<Bounds>,
    /// The f64 offset subtracted from every point before converting to f32.
    pub offset: [f64; 3],
    /// Points dropped because a coordinate was NaN or infinite.
    pub dropped_non_finite: u64,
    /// The linear unit of the file's CRS, when it states one (LAS/LAZ: the WKT or GeoTIFF VLRs).
    pub crs_unit: Option<crate::load::crs::LinearUnit>,
}

impl SourceMeta {
    /// Metadata for a cloud built in memory.
    pub fn memory(points: u64) -> Self {
        SourceMeta {
            path: None,
            format: Format::Memory,
            version: None,
            point_format: None,
            points_in_file: points,
            faces_in_file: None,
            bounds: None,
            offset: [0.0; 3],
            dropped_non_finite: 0,
            crs_unit: None,
        }
    }
}

/// A point cloud: positions plus optional per-point attributes.
///
/// Its invariant: every position is finite, and every attribute array has one entry per
/// position. The constructors ([`PointCloud::from_points`], [`PointCloud::from_xyz`], the
/// readers of [`crate::load`]) establish it and the arrays are read through accessors, so code
/// that receives a cloud never checks it again.
#[derive(Debug, Clone, PartialEq)]
pub struct PointCloud {
    pub(crate) positions: Vec<Point3<f32>>,
    pub(crate) source_index: Option<Vec<u64>>,
    pub(crate) intensity: Option<Vec<u16>>,
    pub(crate) colors: Option<Vec<[u16; 3]>>,
    pub(crate) classification: Option<Vec<u8>>,
    pub(crate) normals: Option<Vec<[f32; 3]>>,
    /// Which axis is up in `positions`.
    pub up_axis: UpAxis,
    /// Where the cloud came from.
    pub meta: SourceMeta,
}

/// An attribute array whose length is not the cloud's number of points.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{attribute} has {found} values for {points} points")]
pub struct LengthMismatch {
    /// The attribute.
    pub attribute: &'static str,
    /// Its length.
    pub found: usize,
    /// The cloud's points.
    pub points: usize,
}

impl PointCloud {
    /// A cloud from positions in memory; non-finite points are dropped and counted.
    pub fn from_points(points: impl IntoIterator<Item = Point3<f32>>, up_axis: UpAxis) -> Self {
        let mut dropped = 0u64;
        let positions: Vec<Point3<f32>> = points
            .into_iter()
            .filter(|p| {
                let keep = p.coords.iter().all(|c| c.is_finite());
                dropped += u64::from(!keep);
                keep
            })
            .collect();
        let mut meta = SourceMeta::memory(positions.len() as u64 + dropped);
        meta.dropped_non_finite = dropped;
        PointCloud {
            positions,
            source_index: None,
            intensity: None,
            colors: None,
            classification: None,
            normals: None,
            up_axis,
            meta,
        }
    }

    /// A cloud from points in f64 (e.g. UTM coordinates): non-finite points are dropped and
    /// counted, and the rest are re-centred on their bounding box's centre in f64 before going to
    /// f32, exactly as the file readers do. `meta.offset` holds that centre and `meta.bounds` the
    /// points' bounds, so `positions()[i] + offset` is the caller's point to f32 precision.
    ///
    /// ```
    /// # use calip3d::{PointCloud, UpAxis};
    /// let cloud = PointCloud::from_f64_points([[500_000.0, 4_000_000.0, 10.0], [500_002.0, 4_000_004.0, 12.0]], UpAxis::Z);
    /// assert_eq!(cloud.meta.offset, [500_001.0, 4_000_002.0, 11.0]);
    /// assert_eq!(cloud.positions()[0].coords.as_slice(), &[-1.0, -2.0, -1.0]);
    /// ```
    pub fn from_f64_points(points: impl IntoIterator<Item = [f64; 3]>, up_axis: UpAxis) -> Self {
        let mut bounds = None;
        let mut dropped = 0u64;
        let kept: Vec<[f64; 3]> = points
            .into_iter()
            .filter(|p| {
                let keep = p.iter().all(|c| c.is_finite());
                dropped += u64::from(!keep);
                if keep {
                    crate::load::extend_bounds(&mut bounds, p);
                }
                keep
            })
            .collect();
        let mut meta = SourceMeta::memory(kept.len() as u64 + dropped);
        meta.dropped_non_finite = dropped;
        meta.bounds = bounds;
        let (positions, offset) = recentre(&kept, bounds.as_ref());
        meta.offset = offset;
        let mut cloud = Self::from_points(positions, up_axis);
        cloud.meta = meta;
        cloud
    }

    /// A cloud from a flat `x0 y0 z0 x1 y1 z1 …` buffer (e.g. a ROS `PointCloud2` payload).
    /// Trailing values that do not make a whole point are ignored.
    pub fn from_xyz(xyz: &[f32], up_axis: UpAxis) -> Self {
        Self::from_points(
            xyz.chunks_exact(3).map(|p| Point3::new(p[0], p[1], p[2])),
            up_axis,
        )
    }

    /// Positions, re-centred by `meta.offset` (all finite).
    pub fn positions(&self) -> &[Point3<f32>] {
        &self.positions
    }
    /// Index of each kept point in the source file (after subsampling), to write results back.
    pub fn source_index(&self) -> Option<&[u64]> {
        self.source_index.as_deref()
    }
    /// Return intensity (LAS, PCD, KITTI, some PLY).
    pub fn intensity(&self) -> Option<&[u16]> {
        self.intensity.as_deref()
    }
    /// RGB, 16 bits per channel as LAS stores it (8-bit sources are not rescaled).
    pub fn colors(&self) -> Option<&[[u16; 3]]> {
        self.colors.as_deref()
    }
    /// Per-point class codes (LAS classification, PLY `class`).
    pub fn classification(&self) -> Option<&[u8]> {
        self.classification.as_deref()
    }
    /// Unit normals (PLY nx, ny, nz).
    pub fn normals(&self) -> Option<&[[f32; 3]]> {
        self.normals.as_deref()
    }

    /// Sets (or with `None` removes) the per-point class codes; they must be one per point.
    ///
    /// ```
    /// # use calip3d::{PointCloud, UpAxis};
    /// let mut cloud = PointCloud::from_xyz(&[0.0, 0.0, 0.0, 1.0, 1.0, 1.0], UpAxis::Z);
    /// cloud.set_classification(Some(vec![2, 6])).unwrap();
    /// assert!(cloud.set_classification(Some(vec![2])).is_err());
    /// ```
    pub fn set_classification(&mut self, codes: Option<Vec<u8>>) -> Result<(), LengthMismatch> {
        if let Some(c) = &codes {
            if c.len() != self.positions.len() {
                return Err(LengthMismatch {
                    attribute: "classification",
                    found: c.len(),
                    points: self.positions.len(),
                });
            }
        }
        self.classification = codes;
        Ok(())
    }

    /// Number of points.
    pub fn len(&self) -> usize {
        self.positions.len()
    }

    /// Whether there are no points.
    pub fn is_empty(&self) -> bool {
        self.positions.is_empty()
    }

    /// Positions as a flat `[x0, y0, z0, x1, …]` slice, ready for GPU upload.
    pub fn xyz(&self) -> &[f32] {
        bytemuck::cast_slice(&self.positions)
    }

    /// Positions in the y-up frame the view sets assume (METHOD.md §1).
    pub fn y_up_positions(&self) -> Vec<Point3<f32>> {
        match self.up_axis {
            UpAxis::Y => self.positions.clone(),
            UpAxis::Z => self
                .positions
                .iter()
                .map(|p| Point3::new(p.x, p.z, -p.y))
                .collect(),
        }
    }
}

/// The one f64 re-centring of calip3d: subtracts the centre of `bounds` (the origin without
/// bounds) from every point in f64, then rounds to f32. Returns the positions and the centre, the
/// offset a cloud's metadata keeps so that results can be reported in the source's coordinates.
pub(crate) fn recentre(
    points: &[[f64; 3]],
    bounds: Option<&Bounds>,
) -> (Vec<Point3<f32>>, [f64; 3]) {
    let offset = bounds.map_or([0.0; 3], |b| [0, 1, 2].map(|k| (b.min[k] + b.max[k]) / 2.0));
    let positions = points
        .iter()
        .map(|p| {
            Point3::new(
                (p[0] - offset[0]) as f32,
                (p[1] - offset[1]) as f32,
                (p[2] - offset[2]) as f32,
            )
        })
        .collect();
    (positions, offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_finite_points_are_dropped_and_counted() {
        let c = PointCloud::from_xyz(
            &[1.0, 2.0, 3.0, f32::NAN, 0.0, 0.0, 4.0, 5.0, 6.0],
            UpAxis::Y,
        );
        assert_eq!(c.len(), 2);
        assert_eq!(c.meta.dropped_non_finite, 1);
        assert_eq!(c.xyz(), &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    }

    #[test]
    fn z_up_is_rotated_to_y_up() {
        let c = PointCloud::from_xyz(&[1.0, 2.0, 3.0], UpAxis::Z);
        assert_eq!(c.y_up_positions(), vec![Point3::new(1.0, 3.0, -2.0)]);
    }
}
