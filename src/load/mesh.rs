//! Meshes: OBJ and STL (ASCII and binary), and the surface sampling every mesh reader uses (OFF in
//! `off.rs`, PLY with faces): area-weighted and seeded. A mesh without faces is a point cloud of its
//! vertices.

use super::limits::check_records;
use super::sample::SplitMix64;
use super::{extend_bounds, Gathered, LoadErrorKind, LoadOptions, Reservoir};
use crate::cloud::{Format, PointCloud, SourceMeta};
use std::path::Path;

/// Vertices and polygons (vertex indices, any number per face).
#[derive(Debug, Default)]
pub(crate) struct Mesh {
    pub vertices: Vec<[f64; 3]>,
    pub faces: Vec<Vec<i64>>,
}

pub(super) fn read(
    path: &Path,
    format: Format,
    opts: &LoadOptions,
) -> Result<PointCloud, LoadErrorKind> {
    let bytes = std::fs::read(path).map_err(LoadErrorKind::io)?;
    read_bytes(&bytes, format, opts)
}

/// Reads a mesh from a file's contents.
pub(super) fn read_bytes(
    bytes: &[u8],
    format: Format,
    opts: &LoadOptions,
) -> Result<PointCloud, LoadErrorKind> {
    let mesh = match format {
        Format::Obj => parse_obj(&text(bytes, "OBJ")?)?,
        Format::Stl => parse_stl(bytes)?,
        _ => unreachable!("not a mesh format"),
    };
    let meta = SourceMeta {
        format,
        points_in_file: mesh.vertices.len() as u64,
        faces_in_file: Some(mesh.faces.len() as u64),
        ..SourceMeta::memory(mesh.vertices.len() as u64)
    };
    sample_mesh(&mesh, opts, meta)
}

/// The file as text; Latin-1 bytes are taken as they are, NUL bytes mean it is not text.
pub(crate) fn text(bytes: &[u8], what: &'static str) -> Result<String, LoadErrorKind> {
    String::from_utf8(bytes.to_vec()).or_else(|e| {
        // Latin-1 comments are common in old files: keep going if the numbers are ASCII.
        let b = e.into_bytes();
        if b.iter().take(4096).filter(|&&c| c == 0).count() > 0 {
            Err(LoadErrorKind::NotFormat(what))
        } else {
            Ok(b.iter().map(|&c| c as char).collect())
        }
    })
}

/// OBJ: `v x y z`, `f a b c …` with `a`, `a/t`, `a/t/n`, `a//n` and negative (relative) indices.
pub(crate) fn parse_obj(text: &str) -> Result<Mesh, LoadErrorKind> {
    let mut mesh = Mesh::default();
    for (line_no, line) in text.lines().enumerate() {
        let mut t = line.split_whitespace();
        match t.next() {
            Some("v") => {
                let p = [0, 1, 2].map(|_| t.next().and_then(|s| s.parse::<f64>().ok()));
                match p {
                    [Some(x), Some(y), Some(z)] => mesh.vertices.push([x, y, z]),
                    _ => {
                        return Err(LoadErrorKind::BadMesh(format!(
                            "line {}: bad vertex",
                            line_no + 1
                        )))
                    }
                }
            }
            Some("f") => {
                let n = mesh.vertices.len() as i64;
                let face = t
                    .map(|s| {
                        let i: i64 = s
                            .split('/')
                            .next()
                            .and_then(|i| i.parse().ok())
                            .ok_or_else(|| {
                                LoadErrorKind::BadMesh(format!(
                                    "line {}: bad face index `{s}`",
                                    line_no + 1
                                ))
                            })?;
                        Ok(if i < 0 { n + i } else { i - 1 })
                    })
                    .collect::<Result<Vec<i64>, LoadErrorKind>>()?;
                mesh.faces.push(face);
            }
            _ => {}
        }
    }
    if mesh.vertices.is_empty() {
        return Err(LoadErrorKind::NotFormat("OBJ"));
    }
    Ok(mesh)
}

/// STL, ASCII (`solid … facet … vertex x y z`) or binary (80-byte header, count, 50-byte facets).
pub(crate) fn parse_stl(bytes: &[u8]) -> Result<Mesh, LoadErrorKind> {
    let binary_len = |n: usize| 84 + 50 * n;
    let count = bytes
        .get(80..84)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]) as usize);
    let is_binary =
        count.is_some_and(|n| binary_len(n) == bytes.len()) || !bytes.starts_with(b"solid");
    let mut mesh = Mesh::default();
    if is_binary {
        let n = count.ok_or(LoadErrorKind::NotFormat("STL"))?;
        // Checked before the vertices are allocated: 50 bytes a triangle after the 84-byte header.
        check_records(n as u64, 50, bytes.len() as u64 - 84, "triangles")?;
        mesh.vertices.reserve_exact(3 * n);
        mesh.faces.reserve_exact(n);
        for t in 0..n {
            let facet = &bytes[84 + 50 * t..][..50];
            let base = mesh.vertices.len() as i64;
            for v in 0..3 {
                let f = |k: usize| {
                    let o = 12 + 12 * v + 4 * k;
                    f32::from_le_bytes([facet[o], facet[o + 1], facet[o + 2], facet[o + 3]]) as f64
                };
                mesh.vertices.push([f(0), f(1), f(2)]);
            }
            mesh.faces.push(vec![base, base + 1, base + 2]);
        }
    } else {
        let text = String::from_utf8_lossy(bytes);
        let mut corner = Vec::new();
        for line in text.lines() {
            let mut t = line.split_whitespace();
            if t.next() == Some("vertex") {
                let p = [0, 1, 2].map(|_| t.next().and_then(|s| s.parse::<f64>().ok()));
                let [Some(x), Some(y), Some(z)] = p else {
                    return Err(LoadErrorKind::BadMesh(format!(
                        "bad vertex line `{}`",
                        line.trim()
                    )));
                };
                corner.push(mesh.vertices.len() as i64);
                mesh.vertices.push([x, y, z]);
                if corner.len() == 3 {
                    mesh.faces.push(std::mem::take(&mut corner));
                }
            }
        }
    }
    if mesh.vertices.is_empty() {
        return Err(LoadErrorKind::NoPoints { dropped: 0 });
    }
    Ok(mesh)
}

fn triangle_area(a: &[f64; 3], b: &[f64; 3], c: &[f64; 3]) -> f64 {
    let u = [b[0] - a[0], b[1] - a[1], b[2] - a[2]];
    let v = [c[0] - a[0], c[1] - a[1], c[2] - a[2]];
    let x = [
        u[1] * v[2] - u[2] * v[1],
        u[2] * v[0] - u[0] * v[2],
        u[0] * v[1] - u[1] * v[0],
    ];
    0.5 * (x[0] * x[0] + x[1] * x[1] + x[2] * x[2]).sqrt()
}

/// Samples `opts.max_points` points on the surface, area-weighted (polygons fan-triangulated),
/// with `opts.seed`; a mesh without usable faces, or `max_points == 0`, gives its vertices.
pub(crate) fn sample_mesh(
    mesh: &Mesh,
    opts: &LoadOptions,
    meta: SourceMeta,
) -> Result<PointCloud, LoadErrorKind> {
    let nv = mesh.vertices.len() as i64;
    let mut triangles: Vec<[usize; 3]> = Vec::new();
    for (fi, f) in mesh.faces.iter().enumerate() {
        if let Some(bad) = f.iter().find(|&&i| i < 0 || i >= nv) {
            return Err(LoadErrorKind::BadMesh(format!(
                "face {fi} uses vertex {bad} of {nv}"
            )));
        }
        for k in 1..f.len().saturating_sub(1) {
            triangles.push([f[0] as usize, f[k] as usize, f[k + 1] as usize]);
        }
    }
    let mut g = Gathered::default();
    for v in &mesh.vertices {
        if v.iter().all(|c| c.is_finite()) {
            extend_bounds(&mut g.bounds, v);
        } else {
            g.dropped_non_finite += 1;
        }
    }
    let finite = |t: &[usize; 3]| {
        t.iter()
            .all(|&i| mesh.vertices[i].iter().all(|c| c.is_finite()))
    };
    let areas: Vec<f64> = triangles
        .iter()
        .map(|t| {
            if finite(t) {
                triangle_area(
                    &mesh.vertices[t[0]],
                    &mesh.vertices[t[1]],
                    &mesh.vertices[t[2]],
                )
            } else {
                0.0
            }
        })
        .collect();
    let total: f64 = areas.iter().sum();
    if opts.max_points == 0 || total.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater) {
        // No surface to sample: the vertices are the cloud.
        let mut kept = Reservoir::new(opts.max_points, opts.seed);
        for (i, v) in mesh.vertices.iter().enumerate() {
            if v.iter().all(|c| c.is_finite()) {
                kept.offer((i as u64, *v));
            }
        }
        for (_, (i, p)) in kept.into_sorted() {
            g.index.push(i);
            g.points.push(p);
        }
        return Ok(g.into_cloud(meta));
    }
    let mut cumulative = Vec::with_capacity(areas.len());
    let mut acc = 0.0;
    for a in &areas {
        acc += a;
        cumulative.push(acc);
    }
    let mut rng = SplitMix64::new(opts.seed);
    for _ in 0..opts.max_points {
        let r = rng.unit() * total;
        let t = cumulative
            .partition_point(|&c| c <= r)
            .min(triangles.len() - 1);
        let [a, b, c] = triangles[t].map(|i| mesh.vertices[i]);
        // Uniform on the triangle: reflect the unit square's upper half.
        let (mut u, mut v) = (rng.unit(), rng.unit());
        if u + v > 1.0 {
            (u, v) = (1.0 - u, 1.0 - v);
        }
        g.points
            .push([0, 1, 2].map(|k| a[k] + u * (b[k] - a[k]) + v * (c[k] - a[k])));
    }
    Ok(g.into_cloud(meta))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_lie_on_the_surface_and_are_seeded() {
        // A unit square in z = 0 as a quad.
        let m = parse_obj("v 0 0 0\nv 1 0 0\nv 1 1 0\nv 0 1 0\nf 1 2 3 4\n").unwrap();
        let opts = LoadOptions {
            max_points: 500,
            ..Default::default()
        };
        let a = sample_mesh(&m, &opts, SourceMeta::memory(4)).unwrap();
        assert_eq!(a.len(), 500);
        // Re-centred on (0.5, 0.5, 0): every sample inside the square.
        assert!(a
            .positions
            .iter()
            .all(|p| p.x.abs() <= 0.5 && p.y.abs() <= 0.5 && p.z == 0.0));
        let b = sample_mesh(&m, &opts, SourceMeta::memory(4)).unwrap();
        assert_eq!(a.positions, b.positions);
        // Both triangles of the quad get about half the samples (equal areas).
        let upper = a.positions.iter().filter(|p| p.y > p.x).count();
        assert!((200..300).contains(&upper), "{upper}");
    }

    #[test]
    fn binary_and_ascii_stl() {
        let mut b = vec![0u8; 80];
        b.extend_from_slice(&1u32.to_le_bytes());
        for v in [[0f32, 0., 0.], [0., 0., 0.], [1., 0., 0.], [0., 1., 0.]] {
            for c in v {
                b.extend_from_slice(&c.to_le_bytes());
            }
        }
        b.extend_from_slice(&[0, 0]);
        let m = parse_stl(&b).unwrap();
        assert_eq!(
            m.vertices,
            vec![[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]
        );
        let a = b"solid t\nfacet normal 0 0 1\nouter loop\nvertex 0 0 0\nvertex 1 0 0\nvertex 0 1 0\nendloop\nendfacet\nendsolid t\n";
        assert_eq!(parse_stl(a).unwrap().faces, vec![vec![0, 1, 2]]);
        let err = parse_stl(&b[..100]).unwrap_err();
        assert_eq!(
            err,
            LoadErrorKind::ClaimsMoreThanFile {
                what: "1 triangles of at least 50 bytes".into(),
                claimed: 50,
                available: 16
            }
        );
    }
}
