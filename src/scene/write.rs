//! The labelled cloud (`--out-cloud FILE.las|.laz|.ply`): every input point, in input order, with
//! four new dimensions.
//!
//! | dimension | type | meaning |
//! |---|---|---|
//! | `ClusterID` | u32 | the object's cluster ID; 0 for ground, noise and points in no object |
//! | `calip3d_class` | u16 | 1 + the object's class index in the class list; 0 for none |
//! | `calip3d_prob` | f32 | the probability of that class; 0 for none |
//! | `HeightAboveGround` | f32 | height above the ground model (PDAL's name); NaN without one |
//!
//! LAS/LAZ from a LAS/LAZ input keep the input's version, point format, scale and offset, VLRs
//! (the CRS among them), EVLRs and every point dimension as they were; the new dimensions are
//! LAS extra bytes described in the standard extra-bytes VLR (`LASF_Spec`, record 4), which PDAL,
//! laspy and LAStools read. The class names are stored in a VLR of user ID `calip3d`, record 1,
//! whose data is UTF-8 JSON: `{"calip3d_class": ["car", "tree", …]}` (value `k` is entry `k - 1`).
//! Other inputs written as LAS become LAS 1.4, point format 0, scale 0.1 mm.
//!
//! PLY output is binary little-endian with `double x, y, z` in the file's coordinates, `uchar
//! classification` when the input has classes, and the four dimensions as properties; the class
//! names are in a header comment `calip3d_class: car,tree,…`. PLY holds the points the loader
//! kept (non-finite points are dropped on load).
//!
//! With `--asprs` ([`AsprsCodes`]) the ASPRS `Classification` is rewritten too: 2 for ground, 1
//! for everything else, and per-class codes for the objects of mapped classes. Noise (7, 18)
//! stays noise.
//!
//! Every write goes to a temporary file in the output's folder, renamed into place at the end.

use super::object::temporary_beside;
use super::{Role, Scene};
use crate::cloud::PointCloud;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// The names and data types of the new dimensions, in file order.
pub const DIMENSIONS: [(&str, &str); 4] = [
    ("ClusterID", "u32"),
    ("calip3d_class", "u16"),
    ("calip3d_prob", "f32"),
    ("HeightAboveGround", "f32"),
];

/// Bytes the new dimensions add to each point record.
const EXTRA_BYTES: u16 = 4 + 2 + 4 + 4;

/// User ID of the VLR that holds the class names.
pub const CLASSES_VLR_USER_ID: &str = "calip3d";
/// Record ID of the VLR that holds the class names.
pub const CLASSES_VLR_RECORD_ID: u16 = 1;

/// Why the labelled cloud could not be written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WriteError {
    /// The output's extension is not .las, .laz or .ply.
    #[error("{0}: the labelled cloud must end in .las, .laz or .ply")]
    UnknownFormat(PathBuf),
    /// Reading the input again or writing the output failed.
    #[error("{path}: {message}")]
    Failed {
        /// The file that failed.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// The input changed since it was loaded (its points no longer match).
    #[error("{path}: the file has {found} points now, {expected} when it was loaded")]
    Changed {
        /// The input.
        path: PathBuf,
        /// Points when loaded.
        expected: u64,
        /// Points now.
        found: u64,
    },
    /// A class code given to `--asprs-map` is not a usable ASPRS class.
    #[error("--asprs-map: {0}")]
    BadCode(String),
}

fn failed(path: &Path, e: impl std::fmt::Display) -> WriteError {
    WriteError::Failed {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

/// ASPRS class codes to write with `--asprs`: one per class of the class list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AsprsCodes {
    /// The code of each class's objects (1, "unclassified", when not mapped).
    pub per_class: Vec<u8>,
}

impl AsprsCodes {
    /// Codes from `car=64,tree=5` for the class names `classes`; classes not named get 1.
    pub fn parse(map: &str, classes: &[String]) -> Result<Self, WriteError> {
        let mut per_class = vec![1u8; classes.len()];
        for entry in map.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (name, code) = entry
                .split_once('=')
                .ok_or_else(|| WriteError::BadCode(format!("{entry:?} is not class=code")))?;
            let k = classes
                .iter()
                .position(|c| c == name.trim())
                .ok_or_else(|| {
                    WriteError::BadCode(format!(
                        "{:?} is not one of the classes ({})",
                        name.trim(),
                        classes.join(", ")
                    ))
                })?;
            per_class[k] = code.trim().parse().map_err(|_| {
                WriteError::BadCode(format!("{:?} is not a class code 0–255", code.trim()))
            })?;
        }
        Ok(AsprsCodes { per_class })
    }

    fn code(&self, role: Role, label: u16, original: u8) -> u8 {
        match role {
            Role::Ground => 2,
            Role::Noise => original,
            Role::Other if label > 0 => self.per_class[label as usize - 1],
            Role::Other => 1,
        }
    }

    /// Checks the codes fit a LAS point format (formats 0–5 hold classes 0–31, and 12 is the
    /// overlap flag there).
    fn check_format(&self, point_format: u8) -> Result<(), WriteError> {
        for &c in &self.per_class {
            if point_format < 6 && (c > 31 || c == 12) {
                return Err(WriteError::BadCode(format!(
                    "class {c} does not fit LAS point format {point_format} (classes 0–31 except 12); \
                     formats 6–10 hold 0–255"
                )));
            }
        }
        Ok(())
    }
}

/// The new dimensions of one point, little-endian, as they follow the record.
fn label_bytes(cluster: u32, class: u16, prob: f32, height: f32) -> [u8; EXTRA_BYTES as usize] {
    let mut b = [0u8; EXTRA_BYTES as usize];
    b[..4].copy_from_slice(&cluster.to_le_bytes());
    b[4..6].copy_from_slice(&class.to_le_bytes());
    b[6..10].copy_from_slice(&prob.to_le_bytes());
    b[10..].copy_from_slice(&height.to_le_bytes());
    b
}

/// One 192-byte extra-bytes descriptor (LAS 1.4 R15, table 24).
fn descriptor(data_type: u8, options: u8, name: &str, description: &str) -> Vec<u8> {
    let mut d = vec![0u8; 192];
    d[2] = data_type;
    d[3] = options;
    let n = name.len().min(32);
    d[4..4 + n].copy_from_slice(&name.as_bytes()[..n]);
    let s = description.len().min(32);
    d[160..160 + s].copy_from_slice(&description.as_bytes()[..s]);
    d
}

/// Bytes a descriptor describes (type 0 holds its size in `options`).
fn described_size(d: &[u8]) -> usize {
    let base = |t: u8| match t {
        1 | 2 => 1,
        3 | 4 => 2,
        5 | 6 | 9 => 4,
        7 | 8 | 10 => 8,
        _ => 0,
    };
    match d[2] {
        0 => d[3] as usize,
        t @ 1..=10 => base(t),
        t @ 11..=20 => 2 * base(t - 10),
        t @ 21..=30 => 3 * base(t - 20),
        _ => 0,
    }
}

/// Adds our descriptors to the extra-bytes VLR, first describing any extra bytes the input has
/// without a description, so readers find ours at the right offset.
fn add_descriptors(vlrs: &mut Vec<las::Vlr>, existing_extra: u16) {
    let is_eb = |v: &las::Vlr| v.user_id == "LASF_Spec" && v.record_id == 4;
    let pos = vlrs.iter().position(is_eb);
    let mut data = pos.map(|p| vlrs[p].data.clone()).unwrap_or_default();
    data.truncate(data.len() / 192 * 192);
    let described: usize = data.chunks(192).map(described_size).sum();
    let mut undescribed = (existing_extra as usize).saturating_sub(described);
    while undescribed > 0 {
        let n = undescribed.min(255);
        data.extend(descriptor(0, n as u8, "undocumented", ""));
        undescribed -= n;
    }
    data.extend(descriptor(5, 0, "ClusterID", "calip3d object, 0 = none"));
    data.extend(descriptor(
        3,
        0,
        "calip3d_class",
        "1 + class index, 0 = none",
    ));
    data.extend(descriptor(
        9,
        0,
        "calip3d_prob",
        "calip3d class probability",
    ));
    data.extend(descriptor(
        9,
        0,
        "HeightAboveGround",
        "height above the ground model",
    ));
    let vlr = las::Vlr {
        user_id: "LASF_Spec".into(),
        record_id: 4,
        description: "Extra Bytes Record".into(),
        data,
    };
    match pos {
        Some(p) => vlrs[p] = vlr,
        None => vlrs.push(vlr),
    }
}

fn classes_vlr(classes: &[String]) -> las::Vlr {
    las::Vlr {
        user_id: CLASSES_VLR_USER_ID.into(),
        record_id: CLASSES_VLR_RECORD_ID,
        description: "calip3d class names".into(),
        data: serde_json::json!({ "calip3d_class": classes })
            .to_string()
            .into_bytes(),
    }
}

/// Writes the labelled cloud to `output` (.las, .laz or .ply). `cloud` is the cloud the scene
/// was computed on; a LAS/LAZ input is read again from `cloud.meta.path` so that its records are
/// copied as they are.
pub fn write_labelled(
    cloud: &PointCloud,
    scene: &Scene,
    output: &Path,
    asprs: Option<&AsprsCodes>,
) -> Result<(), WriteError> {
    let ext = output
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    let temporary = temporary_beside(output);
    let result = match ext.as_str() {
        "las" | "laz" => {
            let from_las = matches!(cloud.meta.format, crate::Format::Las | crate::Format::Laz);
            match (&cloud.meta.path, from_las) {
                (Some(input), true) => {
                    copy_las(input, cloud, scene, &temporary, ext == "laz", asprs)
                }
                _ => new_las(cloud, scene, &temporary, ext == "laz", asprs),
            }
        }
        "ply" => write_ply(cloud, scene, &temporary),
        _ => return Err(WriteError::UnknownFormat(output.to_path_buf())),
    };
    match result.and_then(|_| std::fs::rename(&temporary, output).map_err(|e| failed(output, e))) {
        Ok(()) => Ok(()),
        Err(e) => {
            let _ = std::fs::remove_file(&temporary);
            Err(e)
        }
    }
}

/// The point of the scene at each file index, walking `source_index` alongside the file.
struct Cursor<'a> {
    source_index: Option<&'a [u64]>,
    next: usize,
}

impl Cursor<'_> {
    /// The cloud index of file point `i` (asked in increasing `i`), if the loader kept it.
    fn at(&mut self, i: u64) -> Option<usize> {
        match self.source_index {
            None => Some(i as usize),
            Some(s) => {
                while self.next < s.len() && s[self.next] < i {
                    self.next += 1;
                }
                (self.next < s.len() && s[self.next] == i).then_some(self.next)
            }
        }
    }
}

/// The new dimensions and ASPRS code of cloud point `k` (None: a point the loader dropped).
fn point_labels(
    scene: &Scene,
    probabilities: &[f32],
    k: Option<usize>,
) -> ([u8; EXTRA_BYTES as usize], Role, u16) {
    match k {
        Some(k) if k < scene.cluster_ids.len() => (
            label_bytes(
                scene.cluster_ids[k],
                scene.labels[k],
                probabilities[k],
                scene.height.get(k).copied().unwrap_or(f32::NAN),
            ),
            scene.roles[k],
            scene.labels[k],
        ),
        _ => (label_bytes(0, 0, 0.0, f32::NAN), Role::Noise, 0),
    }
}

fn open_writer(
    path: &Path,
    header: las::Header,
) -> Result<las::Writer<BufWriter<std::fs::File>>, WriteError> {
    let file = std::fs::File::create(path).map_err(|e| failed(path, e))?;
    las::Writer::new(BufWriter::new(file), header).map_err(|e| failed(path, e))
}

fn copy_las(
    input: &Path,
    cloud: &PointCloud,
    scene: &Scene,
    temporary: &Path,
    compress: bool,
    asprs: Option<&AsprsCodes>,
) -> Result<(), WriteError> {
    let mut reader = las::Reader::from_path(input).map_err(|e| failed(input, e))?;
    let header = reader.header().clone();
    if let Some(a) = asprs {
        a.check_format(
            header
                .point_format()
                .to_u8()
                .map_err(|e| failed(input, e))?,
        )?;
    }
    let expected = header.number_of_points();
    let mut builder = las::Builder::from(header);
    let existing_extra = builder.point_format.extra_bytes;
    builder.point_format.extra_bytes = existing_extra
        .checked_add(EXTRA_BYTES)
        .ok_or_else(|| failed(input, "too many extra bytes to add ours"))?;
    builder.point_format.is_compressed = compress;
    add_descriptors(&mut builder.vlrs, existing_extra);
    builder
        .vlrs
        .retain(|v| !(v.user_id == CLASSES_VLR_USER_ID && v.record_id == CLASSES_VLR_RECORD_ID));
    builder.vlrs.push(classes_vlr(&scene.classes));
    let header = builder.into_header().map_err(|e| failed(temporary, e))?;
    let mut writer = open_writer(temporary, header)?;
    let probabilities = scene.probabilities();
    let mut cursor = Cursor {
        source_index: cloud.source_index.as_deref(),
        next: 0,
    };
    let mut i = 0u64;
    loop {
        let data = reader.read_points(65_536).map_err(|e| failed(input, e))?;
        if data.is_empty() {
            break;
        }
        for point in data.points() {
            let mut point = point.map_err(|e| failed(input, e))?;
            let (bytes, role, label) = point_labels(scene, &probabilities, cursor.at(i));
            point.extra_bytes.extend_from_slice(&bytes);
            if let Some(a) = asprs {
                let code = a.code(role, label, u8::from(point.classification));
                point.classification =
                    las::point::Classification::new(code).map_err(|e| failed(input, e))?;
            }
            writer
                .write_point(point)
                .map_err(|e| failed(temporary, e))?;
            i += 1;
        }
    }
    if i != expected {
        return Err(WriteError::Changed {
            path: input.to_path_buf(),
            expected,
            found: i,
        });
    }
    writer.close().map_err(|e| failed(temporary, e))
}

/// Scale of LAS written from a cloud that was not LAS: 0.1 mm.
const NEW_LAS_SCALE: f64 = 1e-4;

fn new_las(
    cloud: &PointCloud,
    scene: &Scene,
    temporary: &Path,
    compress: bool,
    asprs: Option<&AsprsCodes>,
) -> Result<(), WriteError> {
    if let Some(a) = asprs {
        a.check_format(0)?;
    }
    let mut builder = las::Builder::from((1, 4));
    builder.point_format = las::point::Format::new(0).map_err(|e| failed(temporary, e))?;
    builder.point_format.extra_bytes = EXTRA_BYTES;
    builder.point_format.is_compressed = compress;
    builder.generating_software = "calip3d".into();
    let o = cloud.meta.offset;
    builder.transforms = las::Vector {
        x: las::Transform {
            scale: NEW_LAS_SCALE,
            offset: o[0],
        },
        y: las::Transform {
            scale: NEW_LAS_SCALE,
            offset: o[1],
        },
        z: las::Transform {
            scale: NEW_LAS_SCALE,
            offset: o[2],
        },
    };
    add_descriptors(&mut builder.vlrs, 0);
    builder.vlrs.push(classes_vlr(&scene.classes));
    let header = builder.into_header().map_err(|e| failed(temporary, e))?;
    let mut writer = open_writer(temporary, header)?;
    let probabilities = scene.probabilities();
    for (k, p) in cloud.positions.iter().enumerate() {
        let (bytes, role, label) = point_labels(scene, &probabilities, Some(k));
        let original = cloud.classification.as_ref().map_or(0, |c| c[k]);
        let code = asprs.map_or(original.min(31), |a| a.code(role, label, original));
        let point = las::Point {
            x: p.x as f64 + o[0],
            y: p.y as f64 + o[1],
            z: p.z as f64 + o[2],
            intensity: cloud.intensity.as_ref().map_or(0, |v| v[k]),
            classification: las::point::Classification::new(code)
                .unwrap_or(las::point::Classification::CreatedNeverClassified),
            extra_bytes: bytes.to_vec(),
            return_number: 1,
            number_of_returns: 1,
            ..Default::default()
        };
        writer
            .write_point(point)
            .map_err(|e| failed(temporary, e))?;
    }
    writer.close().map_err(|e| failed(temporary, e))
}

fn write_ply(cloud: &PointCloud, scene: &Scene, temporary: &Path) -> Result<(), WriteError> {
    let io = |e: std::io::Error| failed(temporary, e);
    let file = std::fs::File::create(temporary).map_err(io)?;
    let mut out = BufWriter::new(file);
    let mut header = format!(
        "ply\nformat binary_little_endian 1.0\ncomment written by calip3d scene\n\
         comment calip3d_class: {}\ncomment calip3d_class is 1 + the index in that list, 0 = none\n\
         element vertex {}\nproperty double x\nproperty double y\nproperty double z\n",
        scene.classes.join(","),
        cloud.len()
    );
    if cloud.classification.is_some() {
        header.push_str("property uchar classification\n");
    }
    header.push_str(
        "property uint ClusterID\nproperty ushort calip3d_class\nproperty float calip3d_prob\n\
         property float HeightAboveGround\nend_header\n",
    );
    out.write_all(header.as_bytes()).map_err(io)?;
    let probabilities = scene.probabilities();
    let o = cloud.meta.offset;
    for (k, p) in cloud.positions.iter().enumerate() {
        for (c, off) in [p.x, p.y, p.z].into_iter().zip(o) {
            out.write_all(&(c as f64 + off).to_le_bytes()).map_err(io)?;
        }
        if let Some(c) = &cloud.classification {
            out.write_all(&[c[k]]).map_err(io)?;
        }
        let (bytes, ..) = point_labels(scene, &probabilities, Some(k));
        out.write_all(&bytes).map_err(io)?;
    }
    out.flush().map_err(io)?;
    out.get_ref().sync_all().map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asprs_map_parses_and_checks_the_point_format() {
        let classes: Vec<String> = ["car", "tree"].map(String::from).to_vec();
        let a = AsprsCodes::parse("car=64, tree=5", &classes).unwrap();
        assert_eq!(a.per_class, vec![64, 5]);
        assert!(a.check_format(6).is_ok());
        let e = a.check_format(3).unwrap_err().to_string();
        assert!(
            e.contains("class 64 does not fit LAS point format 3"),
            "{e}"
        );
        assert!(AsprsCodes::parse("boat=3", &classes)
            .unwrap_err()
            .to_string()
            .contains("not one of the classes"));
        assert_eq!(a.code(Role::Ground, 0, 9), 2);
        assert_eq!(a.code(Role::Noise, 0, 7), 7);
        assert_eq!(a.code(Role::Other, 0, 9), 1);
        assert_eq!(a.code(Role::Other, 2, 9), 5);
    }

    #[test]
    fn descriptors_cover_undescribed_bytes_first() {
        let mut vlrs = Vec::new();
        add_descriptors(&mut vlrs, 3);
        let d = &vlrs[0].data;
        assert_eq!(d.len(), 5 * 192);
        assert_eq!((d[2], d[3]), (0, 3));
        assert_eq!(&d[192 + 4..192 + 13], b"ClusterID");
        let sizes: Vec<usize> = d.chunks(192).map(described_size).collect();
        assert_eq!(sizes, vec![3, 4, 2, 4, 4]);
    }
}
