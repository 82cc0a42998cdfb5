//! Point Cloud Library PCD files (VERSION .5–.7; ascii, binary and binary_compressed) through the
//! `pcd-rs` crate's dynamic reader, so any field layout reads: x/y/z of any type, `rgb`/`rgba`
//! (packed float or uint) kept as 8-bit colours, `intensity` and `normal_*` kept, other fields and
//! `_` padding skipped. Organised clouds (HEIGHT > 1) keep their finite points; NaN points are
//! dropped and counted.
//!
//! pcd-rs trusts the header: it allocates the compressed and decompressed sizes a
//! binary_compressed file states and indexes the decompressed buffer by POINTS. So the header and
//! those sizes are checked here against the file before pcd-rs reads the data.

use super::stream::{Collector, Extra, Has};
use super::{LoadErrorKind, LoadOptions};
use crate::cloud::{Format, PointCloud, SourceMeta};
use pcd_rs::{DataKind, DynReader, Field, PcdMeta};
use std::io::{BufReader, Read, Seek};
use std::path::Path;

/// LZF's largest expansion: a 3-byte back reference yields at most 264 bytes.
const LZF_MAX_RATIO: u64 = 88;

fn first(f: &Field) -> Option<f64> {
    Some(match f {
        Field::I8(v) => *v.first()? as f64,
        Field::I16(v) => *v.first()? as f64,
        Field::I32(v) => *v.first()? as f64,
        Field::I64(v) => *v.first()? as f64,
        Field::U8(v) => *v.first()? as f64,
        Field::U16(v) => *v.first()? as f64,
        Field::U32(v) => *v.first()? as f64,
        Field::U64(v) => *v.first()? as f64,
        Field::F32(v) => *v.first()? as f64,
        Field::F64(v) => *v.first()?,
    })
}

/// A packed `rgb`/`rgba` value: PCL stores 0x00RRGGBB (or AARRGGBB) in a float's or a uint's bits.
/// PCL's ASCII writer prints the packed value as an integer; some headers still say `F` for it, and
/// a float whose bits are a colour is tiny (< 1e-37), so a whole number ≥ 1 is that integer.
fn packed_rgb(f: &Field) -> Option<[u16; 3]> {
    let bits = match f {
        Field::F32(v) => {
            let v = *v.first()?;
            if v >= 1.0 && v.fract() == 0.0 && v <= u32::MAX as f32 {
                v as u32
            } else {
                v.to_bits()
            }
        }
        Field::U32(v) => *v.first()?,
        Field::I32(v) => *v.first()? as u32,
        _ => return None,
    };
    Some([(bits >> 16) & 0xFF, (bits >> 8) & 0xFF, bits & 0xFF].map(|c| c as u16))
}

/// Checks what the header says against the file, before pcd-rs allocates for it.
fn check_sizes(path: &Path, meta: &PcdMeta, data_offset: u64) -> Result<(), LoadErrorKind> {
    let io = |e: std::io::Error| LoadErrorKind::io(e);
    let file_len = std::fs::metadata(path).map_err(io)?.len();
    let body = file_len.saturating_sub(data_offset);
    let n = meta.num_points;
    let bad = |m: String| LoadErrorKind::BadHeader(m);
    if meta.width.checked_mul(meta.height) != Some(n) {
        // PCL refuses these; other writers produce them, and POINTS is what the data holds.
        log::warn!(
            "{}: WIDTH {} × HEIGHT {} is not POINTS {n}; reading POINTS",
            path.display(),
            meta.width,
            meta.height
        );
    }
    let mut record = 0u64;
    let mut values = 0u64;
    for f in meta.field_defs.iter() {
        let size = (f.kind.byte_size() as u64).checked_mul(f.count);
        record = size
            .and_then(|s| record.checked_add(s))
            .ok_or_else(|| bad(format!("field `{}` COUNT {} overflows", f.name, f.count)))?;
        values = values.saturating_add(f.count);
    }
    match meta.data {
        DataKind::Binary => {
            if n.checked_mul(record).is_none_or(|b| b > body) {
                return Err(LoadErrorKind::Truncated {
                    expected: n,
                    found: body / record.max(1),
                });
            }
        }
        DataKind::Ascii => {
            // Every value takes at least two bytes ("0 " or "0\n").
            if n.checked_mul(values.saturating_mul(2))
                .is_none_or(|b| b > body)
            {
                return Err(LoadErrorKind::Truncated {
                    expected: n,
                    found: body / values.saturating_mul(2).max(1),
                });
            }
        }
        DataKind::BinaryCompressed => {
            let mut f = std::fs::File::open(path).map_err(io)?;
            f.seek(std::io::SeekFrom::Start(data_offset)).map_err(io)?;
            let mut sizes = [0u8; 8];
            if n == 0 {
                return Ok(());
            }
            f.read_exact(&mut sizes)
                .map_err(|_| bad("no compressed-size words after DATA".into()))?;
            let compressed = u32::from_le_bytes([sizes[0], sizes[1], sizes[2], sizes[3]]) as u64;
            let uncompressed = u32::from_le_bytes([sizes[4], sizes[5], sizes[6], sizes[7]]) as u64;
            let expected = n.checked_mul(record);
            if expected != Some(uncompressed) {
                return Err(bad(format!(
                    "binary_compressed data of {uncompressed} bytes, but {n} points of {record} bytes"
                )));
            }
            if compressed > body.saturating_sub(8) {
                return Err(LoadErrorKind::BadData(format!(
                    "{compressed} compressed bytes claimed, the file holds {}",
                    body.saturating_sub(8)
                )));
            }
            if uncompressed > compressed.saturating_mul(LZF_MAX_RATIO) {
                return Err(LoadErrorKind::BadData(format!(
                    "{compressed} compressed bytes cannot hold {uncompressed} bytes of points"
                )));
            }
        }
    }
    Ok(())
}

pub(super) fn read(path: &Path, opts: &LoadOptions) -> Result<PointCloud, LoadErrorKind> {
    let io = |e: std::io::Error| LoadErrorKind::io(e);
    let pcd_err = |e: pcd_rs::Error| LoadErrorKind::BadData(e.to_string());
    let mut head = BufReader::new(std::fs::File::open(path).map_err(io)?);
    let meta =
        PcdMeta::from_reader(&mut head).map_err(|e| LoadErrorKind::BadHeader(e.to_string()))?;
    let data_offset = head.stream_position().map_err(io)?;
    check_sizes(path, &meta, data_offset)?;

    // pcd-rs leaves `_` padding fields out of its records.
    let names: Vec<&str> = meta
        .field_defs
        .iter()
        .map(|f| f.name.as_str())
        .filter(|n| *n != "_")
        .collect();
    let slot = |alts: &[&str]| names.iter().position(|n| alts.contains(n));
    let mut xyz = [0usize; 3];
    for (k, axis) in ["x", "y", "z"].iter().enumerate() {
        xyz[k] = slot(&[axis]).ok_or(LoadErrorKind::MissingCoordinate(['x', 'y', 'z'][k]))?;
    }
    let rgb = slot(&["rgb", "rgba"]);
    let intensity = slot(&["intensity"]);
    let normal = (|| {
        Some([
            slot(&["normal_x"])?,
            slot(&["normal_y"])?,
            slot(&["normal_z"])?,
        ])
    })();
    let has = Has {
        intensity: intensity.is_some(),
        color: rgb.is_some(),
        normal: normal.is_some(),
    };

    let reader = DynReader::open(path).map_err(pcd_err)?;
    let mut c = Collector::new(opts, has);
    for (i, record) in reader.enumerate() {
        let record = record.map_err(|e| {
            LoadErrorKind::BadData(format!("point {i} of {}: {e}", meta.num_points))
        })?;
        let r = &record.0;
        let value = |k: usize| r.get(k).and_then(first).unwrap_or(f64::NAN);
        let mut e = Extra::default();
        if let Some(k) = rgb {
            e.color = r.get(k).and_then(packed_rgb).unwrap_or_default();
        }
        if let Some(k) = intensity {
            e.intensity = value(k) as f32;
        }
        if let Some(n) = normal {
            e.normal = n.map(|k| value(k) as f32);
        }
        c.push(xyz.map(value), e);
    }
    if c.seen() < meta.num_points {
        return Err(LoadErrorKind::Truncated {
            expected: meta.num_points,
            found: c.seen(),
        });
    }
    let data = match meta.data {
        DataKind::Ascii => "ascii",
        DataKind::Binary => "binary",
        DataKind::BinaryCompressed => "binary_compressed",
    };
    let layout: Vec<String> = meta
        .field_defs
        .iter()
        .map(|f| {
            let kind = format!("{:?}", f.kind);
            if f.count > 1 {
                format!("{}:{kind}×{}", f.name, f.count)
            } else {
                format!("{}:{kind}", f.name)
            }
        })
        .collect();
    let organised = if meta.height > 1 {
        format!(", organised {}×{}", meta.width, meta.height)
    } else {
        String::new()
    };
    let meta_out = SourceMeta {
        format: Format::Pcd,
        version: Some(format!(
            "{} {data}{organised}, fields {}",
            meta.version,
            layout.join(" ")
        )),
        ..SourceMeta::memory(meta.num_points)
    };
    Ok(c.finish(meta_out))
}
