//! OFF meshes, parsed by lines as Geomview's spec describes them:
//!
//! - the header keyword `[ST][C][N][4][n]OFF` (texture coordinates, colours, normals, homogeneous
//!   coordinates, a dimension other than 3), optionally followed on its line by the counts —
//!   ModelNet's `OFF3514 3546 0`, where the vertex count sticks to the keyword, is one case;
//! - `#` comments and blank lines anywhere;
//! - vertex lines `x y z [w] [nx ny nz] [r g b [a]] [s t]`: the coordinates (divided by `w` for `4OFF`)
//!   are the first values, the rest is skipped;
//! - face lines `n i0 … i(n-1) [colour]`: what follows the indices (a colour-map index, RGB or RGBA)
//!   is skipped.
//!
//! A vertex or face whose values run onto the next lines is read on. Binary OFF is refused clearly.
//! The mesh is sampled on its surface like every mesh (`mesh::sample_mesh`).

use super::mesh::{sample_mesh, text, Mesh};
use super::{LoadErrorKind, LoadOptions};
use crate::cloud::{Format, PointCloud, SourceMeta};
use std::path::Path;

/// Faces with more vertices than this are taken for a corrupt count.
const MAX_FACE_VERTICES: usize = 1024;

/// What the header keyword's prefixes say.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Keyword {
    texture: bool,
    color: bool,
    normal: bool,
    homogeneous: bool,
    dimension: bool,
}

/// Splits `[ST][C][N][4][n]OFF` off the front of `s`: the flags and what follows `OFF`.
fn keyword(s: &str) -> Option<(Keyword, &str)> {
    let mut rest = s;
    let mut take = |prefix: &str| match rest.strip_prefix(prefix) {
        Some(r) => {
            rest = r;
            true
        }
        None => false,
    };
    let k = Keyword {
        texture: take("ST"),
        color: take("C"),
        normal: take("N"),
        homogeneous: take("4"),
        dimension: take("n"),
    };
    rest.strip_prefix("OFF").map(|r| (k, r))
}

/// Whether the first bytes of a file are an OFF keyword.
pub(crate) fn is_off_keyword(head: &[u8]) -> bool {
    let s = String::from_utf8_lossy(head);
    keyword(&s).is_some_and(|(_, rest)| {
        rest.is_empty() || rest.starts_with(|c: char| c.is_ascii_whitespace() || c.is_ascii_digit())
    })
}

/// Non-empty lines without their comments, with their numbers.
struct Lines<'a> {
    inner: std::iter::Enumerate<std::str::Lines<'a>>,
}

impl<'a> Lines<'a> {
    fn next_tokens(&mut self) -> Option<(usize, Vec<&'a str>)> {
        for (i, line) in self.inner.by_ref() {
            let tokens: Vec<&str> = line
                .split('#')
                .next()
                .unwrap_or("")
                .split_whitespace()
                .collect();
            if !tokens.is_empty() {
                return Some((i + 1, tokens));
            }
        }
        None
    }

    /// Adds the next lines' tokens to `pending` until it holds `need` (or the text ends).
    fn fill(&mut self, need: usize, pending: &mut Vec<&'a str>) {
        while pending.len() < need {
            match self.next_tokens() {
                Some((_, t)) => pending.extend(t),
                None => break,
            }
        }
    }

    /// At least `n` tokens: this line's, and the next lines' when it has fewer.
    fn at_least(&mut self, n: usize) -> Option<(usize, Vec<&'a str>)> {
        let (no, mut tokens) = self.next_tokens()?;
        while tokens.len() < n {
            match self.next_tokens() {
                Some((_, more)) => tokens.extend(more),
                None => break,
            }
        }
        Some((no, tokens))
    }
}

fn num<T: std::str::FromStr>(tok: Option<&str>, what: &str) -> Result<T, LoadErrorKind> {
    tok.and_then(|t| t.parse().ok()).ok_or_else(|| {
        LoadErrorKind::BadMesh(format!(
            "expected {what}, found {}",
            tok.unwrap_or("end of file")
        ))
    })
}

/// Parses OFF text into vertices and faces.
pub(crate) fn parse_off(text: &str) -> Result<(Mesh, String), LoadErrorKind> {
    let mut lines = Lines {
        inner: text.lines().enumerate(),
    };
    let (_, first) = lines.next_tokens().ok_or(LoadErrorKind::EmptyFile)?;
    let (kw, glued) = keyword(first[0]).ok_or(LoadErrorKind::NotFormat("OFF"))?;
    let mut pending: Vec<&str> = Vec::new();
    if !glued.is_empty() {
        pending.push(glued);
    }
    pending.extend(&first[1..]);
    if pending.first() == Some(&"BINARY") {
        return Err(LoadErrorKind::BadHeader(
            "binary OFF is not supported; save it as text OFF".into(),
        ));
    }
    let dim: usize = if kw.dimension {
        lines.fill(1, &mut pending);
        let d = num(pending.first().copied(), "a dimension")?;
        pending.remove(0);
        if !(1..=16).contains(&d) {
            return Err(LoadErrorKind::BadHeader(format!("dimension {d}")));
        }
        d
    } else {
        3
    };
    // The counts line: vertices, faces, and (usually) edges, which nothing needs.
    lines.fill(2, &mut pending);
    let nv: usize = num(pending.first().copied(), "vertex count")?;
    let nf: usize = num(pending.get(1).copied(), "face count")?;
    // Every vertex takes at least 6 bytes ("0 0 0\n") and every face 4: a larger count is a lie.
    if nv > text.len() / 6 + 1 || nf > text.len() / 4 + 1 {
        return Err(LoadErrorKind::BadHeader(format!(
            "{nv} vertices and {nf} faces do not fit in {} bytes",
            text.len()
        )));
    }
    let coords = dim + usize::from(kw.homogeneous);
    let mut mesh = Mesh {
        vertices: Vec::with_capacity(nv),
        faces: Vec::with_capacity(nf),
    };
    for i in 0..nv {
        let truncated = LoadErrorKind::Truncated {
            expected: nv as u64,
            found: i as u64,
        };
        let Some((no, t)) = lines.at_least(coords) else {
            return Err(truncated);
        };
        if t.len() < coords {
            return Err(truncated);
        }
        let mut v = [0.0f64; 4];
        for (k, tok) in t[..coords].iter().enumerate() {
            let value: f64 = tok.parse().map_err(|_| {
                LoadErrorKind::BadMesh(format!("line {no}: expected a coordinate, found {tok}"))
            })?;
            // x, y, z are the first three; a homogeneous w is the last.
            if k < 3.min(dim) {
                v[k] = value;
            } else if kw.homogeneous && k == coords - 1 {
                v[3] = value;
            }
        }
        let mut p = [v[0], v[1], v[2]];
        if kw.homogeneous {
            p = p.map(|c| c / v[3]);
        }
        mesh.vertices.push(p);
    }
    for _ in 0..nf {
        let (no, t) = match lines.next_tokens() {
            Some((no, t)) => {
                let k: usize = num(Some(t[0]), "a face size")?;
                if k > MAX_FACE_VERTICES {
                    return Err(LoadErrorKind::BadMesh(format!("a face with {k} vertices")));
                }
                let mut t = t;
                // The indices may run onto the next lines.
                while t.len() < k + 1 {
                    match lines.next_tokens() {
                        Some((_, more)) => t.extend(more),
                        None => break,
                    }
                }
                (no, t)
            }
            None => return Err(num::<usize>(None, "a face size").unwrap_err()),
        };
        let k: usize = num(Some(t[0]), "a face size")?;
        let face = (1..=k)
            .map(|j| {
                let tok = t.get(j).copied();
                tok.and_then(|s| s.parse::<i64>().ok()).ok_or_else(|| {
                    LoadErrorKind::BadMesh(format!(
                        "line {no}: expected a vertex index, found {}",
                        tok.unwrap_or("end of file")
                    ))
                })
            })
            .collect::<Result<_, _>>()?;
        mesh.faces.push(face);
    }
    let mut name = String::new();
    for (on, s) in [
        (kw.texture, "ST"),
        (kw.color, "C"),
        (kw.normal, "N"),
        (kw.homogeneous, "4"),
        (kw.dimension, "n"),
    ] {
        if on {
            name.push_str(s);
        }
    }
    name.push_str("OFF");
    Ok((mesh, name))
}

pub(super) fn read(path: &Path, opts: &LoadOptions) -> Result<PointCloud, LoadErrorKind> {
    let bytes = std::fs::read(path).map_err(LoadErrorKind::io)?;
    read_bytes(&bytes, opts)
}

/// Reads an OFF file's contents.
pub(super) fn read_bytes(bytes: &[u8], opts: &LoadOptions) -> Result<PointCloud, LoadErrorKind> {
    let (mesh, keyword) = parse_off(&text(bytes, "OFF")?)?;
    let meta = SourceMeta {
        format: Format::Off,
        version: Some(keyword),
        points_in_file: mesh.vertices.len() as u64,
        faces_in_file: Some(mesh.faces.len() as u64),
        ..SourceMeta::memory(mesh.vertices.len() as u64)
    };
    sample_mesh(&mesh, opts, meta)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modelnet_one_line_header_and_polygons() {
        let (m, _) = parse_off("OFF4 2 0\n0 0 0\n1 0 0\n1 1 0\n0 1 0\n3 0 1 2\n3 0 2 3\n").unwrap();
        assert_eq!(m.vertices.len(), 4);
        assert_eq!(m.faces, vec![vec![0, 1, 2], vec![0, 2, 3]]);
        let err = parse_off("OFF\n4 1 0\n0 0 0\n1 0 0\n").unwrap_err();
        assert_eq!(
            err,
            LoadErrorKind::Truncated {
                expected: 4,
                found: 2
            }
        );
    }

    #[test]
    fn keywords_and_per_element_colours() {
        let (m, name) = parse_off(
            "# a comment\n\nCOFF\n3 1 0\n0 0 0 1.566 0.2 0.3 1\n1 0 0 255 0 0 255\n0 1 0 0 0 255 255\n3 0 1 2 0.5 0.5 0.5 1\n",
        )
        .unwrap();
        assert_eq!(name, "COFF");
        assert_eq!(
            m.vertices,
            vec![[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]
        );
        assert_eq!(m.faces, vec![vec![0, 1, 2]]);
        let (m, name) = parse_off("4nOFF 3\n1 0\n2 4 6 2\n").unwrap();
        assert_eq!(name, "4nOFF");
        assert_eq!(m.vertices, vec![[1.0, 2.0, 3.0]]);
        assert!(is_off_keyword(b"STCNOFF\n"));
        assert!(is_off_keyword(b"OFF3514 3546 0"));
        assert!(!is_off_keyword(b"OFFICE"));
    }
}
