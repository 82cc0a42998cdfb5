//! [`Collector`]: the point stream of the record-by-record readers (PCD, KITTI, NPY, text, E57)
//! into bounds, a seeded reservoir and the kept points' attributes, dropping and counting
//! non-finite points.

use super::{extend_bounds, Gathered, LoadOptions, Reservoir};
use crate::cloud::{PointCloud, SourceMeta};

/// The attributes one point carries; a reader fills those its file has.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Extra {
    /// As stored; scaled to u16 when the cloud is finished (see [`Collector::finish`]).
    pub intensity: f32,
    pub color: [u16; 3],
    pub normal: [f32; 3],
}

/// Which attributes the file has (for every point).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Has {
    pub intensity: bool,
    pub color: bool,
    pub normal: bool,
}

/// Bounds over every finite point, and a reservoir of kept points with their attributes.
pub(crate) struct Collector {
    has: Has,
    g: Gathered,
    kept: Reservoir<(u64, [f64; 3], Extra)>,
    /// Points offered, finite or not: the next point's index in the file.
    index: u64,
    /// The largest intensity of a finite point.
    max_intensity: f32,
}

impl Collector {
    pub fn new(opts: &LoadOptions, has: Has) -> Self {
        Collector {
            has,
            g: Gathered::default(),
            kept: Reservoir::new(opts.max_points, opts.seed),
            index: 0,
            max_intensity: 0.0,
        }
    }

    /// The next point of the file.
    pub fn push(&mut self, p: [f64; 3], extra: Extra) {
        if p.iter().all(|c| c.is_finite()) {
            extend_bounds(&mut self.g.bounds, &p);
            if extra.intensity > self.max_intensity {
                self.max_intensity = extra.intensity;
            }
            self.kept.offer((self.index, p, extra));
        } else {
            self.g.dropped_non_finite += 1;
        }
        self.index += 1;
    }

    /// Points offered so far (finite or not).
    pub fn seen(&self) -> u64 {
        self.index
    }

    /// The cloud. Intensities go to u16: when every one lies in [0, 1] (KITTI reflectance, E57's
    /// normalised intensity, PCL's float intensity) they are scaled by 65535, otherwise clamped to
    /// 0–65535 as stored.
    pub fn finish(self, meta: SourceMeta) -> PointCloud {
        let Collector {
            has,
            mut g,
            kept,
            index: _,
            max_intensity,
        } = self;
        let unit = max_intensity <= 1.0;
        let to_u16 = |v: f32| {
            if unit {
                unit_to_u16(v as f64)
            } else {
                clamp_u16(v as f64)
            }
        };
        let kept = kept.into_sorted();
        g.index = kept.iter().map(|(_, (i, _, _))| *i).collect();
        g.intensity = has.intensity.then(|| {
            kept.iter()
                .map(|(_, (_, _, e))| to_u16(e.intensity))
                .collect()
        });
        g.colors = has
            .color
            .then(|| kept.iter().map(|(_, (_, _, e))| e.color).collect());
        g.normals = has
            .normal
            .then(|| kept.iter().map(|(_, (_, _, e))| e.normal).collect());
        g.points = kept.into_iter().map(|(_, (_, p, _))| p).collect();
        g.into_cloud(meta)
    }
}

/// A value in [0, 1] on the u16 scale.
fn unit_to_u16(v: f64) -> u16 {
    if v.is_finite() {
        (v.clamp(0.0, 1.0) * 65535.0).round() as u16
    } else {
        0
    }
}

/// A stored value clamped into u16, as the PLY reader does.
pub(crate) fn clamp_u16(v: f64) -> u16 {
    if v.is_finite() {
        v.clamp(0.0, 65535.0) as u16
    } else {
        0
    }
}
