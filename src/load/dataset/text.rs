//! `modelnet40_normal_resampled`'s shape files: one `x,y,z,nx,ny,nz` line per point.
//!
//! A reader of these few columns only, until the general delimited-text reader (issue 12, part 1)
//! is behind [`crate::load::load`]; then [`read_xyz_normals`] can become a call to it.

use crate::cloud::{PointCloud, SourceMeta, UpAxis};
use crate::load::{extend_bounds, Gathered, LoadError, LoadErrorKind, LoadOptions, Reservoir};
use std::path::Path;

/// Reads a text file of `x,y,z[,nx,ny,nz]` lines (commas or white space), keeping the normals when
/// every line has them. The point budget, seed and up axis (default y) are the load options'.
pub fn read_xyz_normals(path: &Path, opts: &LoadOptions) -> Result<PointCloud, LoadError> {
    let err = |kind| LoadError::new(path, kind);
    let text = std::fs::read_to_string(path).map_err(|e| err(LoadErrorKind::io(e)))?;
    if text.is_empty() {
        return Err(err(LoadErrorKind::EmptyFile));
    }
    let mut g = Gathered::default();
    let mut kept = Reservoir::new(opts.max_points, opts.seed);
    let mut lines = 0u64;
    let mut all_normals = true;
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut values = [0f64; 6];
        let mut count = 0;
        for field in line
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|f| !f.is_empty())
        {
            if count == 6 {
                count += 1;
                break;
            }
            values[count] = field.parse().map_err(|_| {
                err(LoadErrorKind::BadData(format!(
                    "line {}: `{field}` is not a number",
                    n + 1
                )))
            })?;
            count += 1;
        }
        if !(count == 3 || count == 6) {
            return Err(err(LoadErrorKind::BadData(format!(
                "line {}: expected x,y,z or x,y,z,nx,ny,nz, found {} values",
                n + 1,
                if count > 6 {
                    "more than 6".to_string()
                } else {
                    count.to_string()
                }
            ))));
        }
        all_normals &= count == 6;
        let p = [values[0], values[1], values[2]];
        if p.iter().all(|c| c.is_finite()) {
            extend_bounds(&mut g.bounds, &p);
            let normal = [values[3] as f32, values[4] as f32, values[5] as f32];
            kept.offer((lines, p, normal));
        } else {
            g.dropped_non_finite += 1;
        }
        lines += 1;
    }
    let mut normals = Vec::new();
    for (_, (i, p, normal)) in kept.into_sorted() {
        g.index.push(i);
        g.points.push(p);
        normals.push(normal);
    }
    if g.points.is_empty() {
        return Err(err(LoadErrorKind::NoPoints {
            dropped: g.dropped_non_finite,
        }));
    }
    g.normals = all_normals.then_some(normals);
    // TODO(issue 12, part 1): the text format's own `Format` once that reader lands.
    let meta = SourceMeta::memory(lines);
    let mut cloud = g.into_cloud(meta);
    cloud.meta.path = Some(path.to_path_buf());
    cloud.up_axis = opts.up_axis.unwrap_or(UpAxis::Y);
    Ok(cloud)
}
