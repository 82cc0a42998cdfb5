//! ASTM E57 laser scans through the `e57` crate: every scan of the file merged into one cloud, each
//! with its pose applied, spherical coordinates converted to Cartesian. Intensity and colours are
//! kept when every scan has them (the crate normalises them to 0–1 by the file's limits; they are
//! stored here on the u16 and 8-bit scales). Points without a valid Cartesian position (direction
//! only, or flagged invalid) are dropped and counted.

use super::stream::{Collector, Extra, Has};
use super::{LoadErrorKind, LoadOptions};
use crate::cloud::{Format, PointCloud, SourceMeta};
use e57::{CartesianCoordinate, E57Reader};
use std::path::Path;

pub(super) fn read(path: &Path, opts: &LoadOptions) -> Result<PointCloud, LoadErrorKind> {
    let mut reader =
        E57Reader::from_file(path).map_err(|e| LoadErrorKind::BadHeader(e.to_string()))?;
    let scans = reader.pointclouds();
    if scans.is_empty() {
        return Err(LoadErrorKind::NoPoints { dropped: 0 });
    }
    let has = Has {
        intensity: scans.iter().all(|s| s.has_intensity()),
        color: scans.iter().all(|s| s.has_color()),
        normal: false,
    };
    let claimed: u64 = scans.iter().map(|s| s.records).sum();
    let mut c = Collector::new(opts, has);
    for (k, scan) in scans.iter().enumerate() {
        let bad = |e: e57::Error| {
            LoadErrorKind::BadData(format!("scan {k} ({} points): {e}", scan.records))
        };
        let mut points = reader.pointcloud_simple(scan).map_err(bad)?;
        points.apply_pose(true);
        points.spherical_to_cartesian(true);
        // Intensity stays intensity; the crate would otherwise fake grey colours from it.
        points.intensity_to_color(false);
        for p in points {
            let p = p.map_err(bad)?;
            let xyz = match p.cartesian {
                CartesianCoordinate::Valid { x, y, z } => [x, y, z],
                _ => [f64::NAN; 3],
            };
            let color = p
                .color
                .map(|c| {
                    [c.red, c.green, c.blue].map(|v| (v.clamp(0.0, 1.0) * 255.0).round() as u16)
                })
                .unwrap_or_default();
            let intensity = p.intensity.unwrap_or(0.0);
            c.push(
                xyz,
                Extra {
                    intensity,
                    color,
                    ..Extra::default()
                },
            );
        }
    }
    if c.seen() < claimed {
        return Err(LoadErrorKind::Truncated {
            expected: claimed,
            found: c.seen(),
        });
    }
    let meta = SourceMeta {
        format: Format::E57,
        version: Some(format!(
            "{} scan{}",
            scans.len(),
            if scans.len() == 1 { "" } else { "s" }
        )),
        ..SourceMeta::memory(claimed)
    };
    Ok(c.finish(meta))
}
