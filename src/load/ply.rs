//! PLY: ASCII and binary (either endianness) through ply-rs-bw, any scalar type for x/y/z; extra
//! elements and list properties are skipped; a face element makes it a mesh to sample.

use super::limits::{check_records, remaining};
use super::mesh::{sample_mesh, Mesh};
use super::{extend_bounds, Gathered, LoadErrorKind, LoadOptions, Reservoir};
use crate::cloud::{Format, PointCloud, SourceMeta};
use ply_rs_bw::parser::{Parser, Reader};
use ply_rs_bw::ply::{
    ElementDef, Encoding, Header, Property, PropertyAccess, PropertyType, ScalarType,
};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::Path;

#[derive(Default)]
struct Vertex {
    xyz: [Option<f64>; 3],
    normal: [Option<f32>; 3],
    rgb: [Option<u16>; 3],
    intensity: Option<u16>,
    class: Option<u8>,
}

fn as_f64(p: &Property) -> Option<f64> {
    Some(match *p {
        Property::Char(v) => v as f64,
        Property::UChar(v) => v as f64,
        Property::Short(v) => v as f64,
        Property::UShort(v) => v as f64,
        Property::Int(v) => v as f64,
        Property::UInt(v) => v as f64,
        Property::Float(v) => v as f64,
        Property::Double(v) => v,
        _ => return None,
    })
}

impl PropertyAccess for Vertex {
    fn new() -> Self {
        Vertex::default()
    }
    fn set_property(&mut self, name: &str, p: Property) -> ply_rs_bw::ply::PropertyAccessResult {
        use ply_rs_bw::ply::PropertyAccessResult::{Ignored, Set};
        let Some(v) = as_f64(&p) else { return Ignored };
        match name {
            "x" => self.xyz[0] = Some(v),
            "y" => self.xyz[1] = Some(v),
            "z" => self.xyz[2] = Some(v),
            "nx" => self.normal[0] = Some(v as f32),
            "ny" => self.normal[1] = Some(v as f32),
            "nz" => self.normal[2] = Some(v as f32),
            "red" | "r" | "diffuse_red" => self.rgb[0] = Some(v as u16),
            "green" | "g" | "diffuse_green" => self.rgb[1] = Some(v as u16),
            "blue" | "b" | "diffuse_blue" => self.rgb[2] = Some(v as u16),
            "intensity" | "scalar_intensity" | "scalar_Intensity" => {
                self.intensity = Some(v.clamp(0.0, 65535.0) as u16)
            }
            "class" | "classification" | "scalar_Classification" | "label" => {
                self.class = Some(v.clamp(0.0, 255.0) as u8)
            }
            _ => return Ignored,
        }
        Set
    }
}

#[derive(Default)]
struct Face {
    indices: Vec<i64>,
}

impl PropertyAccess for Face {
    fn new() -> Self {
        Face::default()
    }
    fn set_property(&mut self, name: &str, p: Property) -> ply_rs_bw::ply::PropertyAccessResult {
        use ply_rs_bw::ply::PropertyAccessResult::{Ignored, Set};
        if name != "vertex_indices" && name != "vertex_index" {
            return Ignored;
        }
        self.indices = match p {
            Property::ListChar(v) => v.into_iter().map(i64::from).collect(),
            Property::ListUChar(v) => v.into_iter().map(i64::from).collect(),
            Property::ListShort(v) => v.into_iter().map(i64::from).collect(),
            Property::ListUShort(v) => v.into_iter().map(i64::from).collect(),
            Property::ListInt(v) => v.into_iter().map(i64::from).collect(),
            Property::ListUInt(v) => v.into_iter().map(i64::from).collect(),
            _ => return Ignored,
        };
        Set
    }
}

/// An element we do not use: parsed to move past it, nothing kept.
struct Skip;

impl PropertyAccess for Skip {
    fn new() -> Self {
        Skip
    }
}

/// The fewest bytes one element can take: the sum of its scalar sizes and list counts' sizes
/// (empty lists) in binary, at least one character and a separator per property in ASCII; at
/// least 1, so that a count of property-less elements cannot claim more than the file holds.
fn min_element_bytes(def: &ElementDef, encoding: Encoding) -> u64 {
    let size = |t: &ScalarType| match t {
        ScalarType::Char | ScalarType::UChar => 1,
        ScalarType::Short | ScalarType::UShort => 2,
        ScalarType::Int | ScalarType::UInt | ScalarType::Float => 4,
        ScalarType::Double => 8,
    };
    let bytes: u64 = match encoding {
        Encoding::Ascii => 2 * def.properties.len() as u64,
        _ => def
            .properties
            .values()
            .map(|p| match &p.data_type {
                PropertyType::Scalar(t) | PropertyType::List(t, _) => size(t),
            })
            .sum(),
    };
    bytes.max(1)
}

/// Bytes up to and including the `end_header` line, or None when it is not in the first MiB.
fn header_len<R: Read + Seek>(src: &mut R) -> std::io::Result<Option<u64>> {
    let mut head = Vec::new();
    src.by_ref().take(1 << 20).read_to_end(&mut head)?;
    src.seek(SeekFrom::Start(0))?;
    let Some(at) = head.windows(10).position(|w| w == b"end_header") else {
        return Ok(None);
    };
    Ok(head[at..]
        .iter()
        .position(|&b| b == b'\n')
        .map(|nl| (at + nl + 1) as u64))
}

/// Checks every element count against the bytes after the header (before any is read).
fn check_counts(header: &Header, body: u64) -> Result<(), LoadErrorKind> {
    // The last ASCII line may lack its newline.
    let mut left = body + u64::from(header.encoding == Encoding::Ascii);
    for (name, def) in &header.elements {
        let min = min_element_bytes(def, header.encoding);
        let what = format!("`{name}` elements");
        left -= check_records(def.count as u64, min, left, &what)?;
    }
    Ok(())
}

pub(super) fn read(path: &Path, opts: &LoadOptions) -> Result<PointCloud, LoadErrorKind> {
    let io = |e: std::io::Error| LoadErrorKind::io(e);
    let file = std::fs::File::open(path).map_err(io)?;
    let len = file.metadata().map_err(io)?.len();
    read_from(BufReader::new(file), len, opts)
}

/// Reads PLY from `src`, which holds `file_len` bytes.
pub(super) fn read_from<R: BufRead + Seek>(
    mut src: R,
    file_len: u64,
    opts: &LoadOptions,
) -> Result<PointCloud, LoadErrorKind> {
    let header_bytes = header_len(&mut src).map_err(LoadErrorKind::io)?;
    let mut reader = Reader::new(src);
    let header = Parser::<Skip>::new()
        .read_header(&mut reader)
        .map_err(|e| LoadErrorKind::BadHeader(e.to_string()))?;
    if let Some(header_bytes) = header_bytes {
        check_counts(&header, remaining(file_len, header_bytes))?;
    }
    let version = format!(
        "{} {}.{}",
        match header.encoding {
            Encoding::Ascii => "ascii",
            Encoding::BinaryBigEndian => "binary_big_endian",
            Encoding::BinaryLittleEndian => "binary_little_endian",
        },
        header.version.major,
        header.version.minor
    );
    // Some writers call the element `point`.
    let vertex_name = ["vertex", "point"]
        .into_iter()
        .find(|n| header.elements.contains_key(*n))
        .ok_or_else(|| LoadErrorKind::BadHeader("no vertex element".into()))?;
    let vertex_def = &header.elements[vertex_name];
    for (k, axis) in ["x", "y", "z"].iter().enumerate() {
        if !vertex_def.properties.contains_key(*axis) {
            return Err(LoadErrorKind::MissingCoordinate(['x', 'y', 'z'][k]));
        }
    }
    let n_vertices = vertex_def.count as u64;
    let has_faces = header.elements.get("face").is_some_and(|f| f.count > 0);

    let mut vertices: Vec<Vertex> = Vec::new();
    let mut faces: Vec<Face> = Vec::new();
    for (name, def) in &header.elements {
        let bad = |e: ply_rs_bw::parser::ParseError| {
            LoadErrorKind::BadData(format!("element `{name}` ({} declared): {e}", def.count))
        };
        match name.as_str() {
            n if n == vertex_name => {
                vertices = Parser::<Vertex>::new()
                    .read_payload_for_element(&mut reader, def, &header)
                    .map_err(bad)?
            }
            "face" => {
                faces = Parser::<Face>::new()
                    .read_payload_for_element(&mut reader, def, &header)
                    .map_err(bad)?
            }
            // Elements after the ones we need are never read.
            _ if !vertices.is_empty() && (!has_faces || !faces.is_empty()) => break,
            _ => {
                Parser::<Skip>::new()
                    .read_payload_for_element(&mut reader, def, &header)
                    .map_err(bad)?;
            }
        }
    }
    if (vertices.len() as u64) < n_vertices {
        return Err(LoadErrorKind::Truncated {
            expected: n_vertices,
            found: vertices.len() as u64,
        });
    }
    let meta = SourceMeta {
        version: Some(version),
        points_in_file: n_vertices,
        faces_in_file: header.elements.get("face").map(|f| f.count as u64),
        ..SourceMeta::memory(n_vertices)
    };
    let meta = SourceMeta {
        format: Format::Ply,
        ..meta
    };

    if has_faces && opts.max_points > 0 {
        let mesh = Mesh {
            vertices: vertices
                .iter()
                .map(|v| v.xyz.map(|c| c.unwrap_or(f64::NAN)))
                .collect(),
            faces: faces.into_iter().map(|f| f.indices).collect(),
        };
        return sample_mesh(&mesh, opts, meta);
    }

    // A point cloud: keep a reservoir sample with its attributes.
    let mut g = Gathered::default();
    let mut kept = Reservoir::new(opts.max_points, opts.seed);
    for (i, v) in vertices.into_iter().enumerate() {
        let p = v.xyz.map(|c| c.unwrap_or(f64::NAN));
        if p.iter().all(|c| c.is_finite()) {
            extend_bounds(&mut g.bounds, &p);
            kept.offer((i as u64, p, v));
        } else {
            g.dropped_non_finite += 1;
        }
    }
    let kept = kept.into_sorted();
    let all =
        |f: &dyn Fn(&Vertex) -> bool| !kept.is_empty() && kept.iter().all(|(_, (_, _, v))| f(v));
    let (has_n, has_rgb) = (
        all(&|v| v.normal.iter().all(Option::is_some)),
        all(&|v| v.rgb.iter().all(Option::is_some)),
    );
    let (has_i, has_c) = (all(&|v| v.intensity.is_some()), all(&|v| v.class.is_some()));
    g.normals = has_n.then(|| {
        kept.iter()
            .map(|(_, (_, _, v))| v.normal.map(|c| c.unwrap_or(0.0)))
            .collect()
    });
    g.colors = has_rgb.then(|| {
        kept.iter()
            .map(|(_, (_, _, v))| v.rgb.map(|c| c.unwrap_or(0)))
            .collect()
    });
    g.intensity = has_i.then(|| {
        kept.iter()
            .map(|(_, (_, _, v))| v.intensity.unwrap_or(0))
            .collect()
    });
    g.classification = has_c.then(|| {
        kept.iter()
            .map(|(_, (_, _, v))| v.class.unwrap_or(0))
            .collect()
    });
    g.index = kept.iter().map(|(_, (i, _, _))| *i).collect();
    g.points = kept.into_iter().map(|(_, (_, p, _))| p).collect();
    Ok(g.into_cloud(meta))
}
