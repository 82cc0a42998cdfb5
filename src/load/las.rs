//! LAS and LAZ (1.0–1.4, point formats 0–10, COPC as LAZ) with the `las` crate, streamed through
//! a reservoir so memory is bounded by the point budget, not by the file.

use super::{extend_bounds, Gathered, LoadErrorKind, LoadOptions, Reservoir};
use crate::cloud::{Format, PointCloud, SourceMeta};
use std::io::Read;
use std::path::Path;

/// Points decoded per call to the `las` reader.
const CHUNK: u64 = 65_536;

/// What the public header block says, read by hand so that lies are caught before any reader
/// allocates for them.
#[derive(Debug)]
struct RawHeader {
    version: (u8, u8),
    point_format: u8,
    compressed: bool,
    points: u64,
}

fn check_header(path: &Path) -> Result<RawHeader, LoadErrorKind> {
    let io = |e: std::io::Error| LoadErrorKind::Io(e.to_string());
    let file_len = std::fs::metadata(path).map_err(io)?.len();
    let mut h = vec![0u8; 375.min(file_len as usize)];
    std::fs::File::open(path)
        .map_err(io)?
        .read_exact(&mut h)
        .map_err(io)?;
    if h.len() < 227 || &h[..4] != b"LASF" {
        return Err(LoadErrorKind::BadHeader(format!(
            "header is {} bytes, a LAS header needs at least 227",
            h.len()
        )));
    }
    let u16_at = |o: usize| u16::from_le_bytes([h[o], h[o + 1]]) as u64;
    let u32_at = |o: usize| u32::from_le_bytes([h[o], h[o + 1], h[o + 2], h[o + 3]]) as u64;
    let version = (h[24], h[25]);
    let header_size = u16_at(94);
    let offset = u32_at(96);
    let n_vlrs = u32_at(100);
    let format_byte = h[104];
    let record_len = u16_at(105);
    let mut points = u32_at(107);
    if version >= (1, 4) && h.len() >= 255 && header_size >= 375 {
        let p = u64::from_le_bytes(h[247..255].try_into().expect("8 bytes"));
        if p > 0 {
            points = p;
        }
    }
    let point_format = format_byte & 0x3F;
    let compressed = format_byte & 0x80 != 0;
    if point_format > 10 {
        return Err(LoadErrorKind::UnknownPointFormat(point_format));
    }
    if header_size < 227 || offset < header_size || offset > file_len {
        return Err(LoadErrorKind::BadHeader(format!(
            "header size {header_size} and point data offset {offset} do not fit a {file_len}-byte file"
        )));
    }
    let room = offset - header_size;
    if n_vlrs * 54 > room {
        return Err(LoadErrorKind::BadHeader(format!(
            "header says {n_vlrs} VLRs, but only {room} bytes lie before the points (at least {} needed)",
            n_vlrs * 54
        )));
    }
    if !compressed && record_len > 0 {
        let found = (file_len - offset) / record_len;
        if found < points {
            return Err(LoadErrorKind::Truncated {
                expected: points,
                found,
            });
        }
    }
    Ok(RawHeader {
        version,
        point_format,
        compressed,
        points,
    })
}

pub(super) fn read(path: &Path, opts: &LoadOptions) -> Result<PointCloud, LoadErrorKind> {
    let raw = check_header(path)?;
    let las_err = |e: las::Error| LoadErrorKind::BadData(e.to_string());
    let mut reader = las::Reader::from_path(path)
        .map_err(|e| LoadErrorKind::BadHeader(format!("cannot read the header and VLRs: {e}")))?;
    let header = reader.header().clone();
    let format = header.point_format();

    let mut g = Gathered::default();
    let mut kept = Reservoir::new(opts.max_points, opts.seed);
    let mut index = 0u64;
    loop {
        let data = reader.read_points(CHUNK).map_err(las_err)?;
        if data.is_empty() {
            break;
        }
        for point in data.points() {
            let point = point.map_err(las_err)?;
            let p = [point.x, point.y, point.z];
            if p.iter().all(|c| c.is_finite()) {
                extend_bounds(&mut g.bounds, &p);
                let rgb = point.color.map(|c| [c.red, c.green, c.blue]);
                kept.offer((
                    index,
                    p,
                    point.intensity,
                    rgb,
                    u8::from(point.classification),
                ));
            } else {
                g.dropped_non_finite += 1;
            }
            index += 1;
        }
    }
    if index < raw.points {
        return Err(LoadErrorKind::Truncated {
            expected: raw.points,
            found: index,
        });
    }
    let kept = kept.into_sorted();
    g.intensity = Some(kept.iter().map(|(_, k)| k.2).collect());
    g.colors = format
        .has_color
        .then(|| kept.iter().map(|(_, k)| k.3.unwrap_or([0; 3])).collect());
    g.classification = Some(kept.iter().map(|(_, k)| k.4).collect());
    g.index = kept.iter().map(|(_, k)| k.0).collect();
    g.points = kept.into_iter().map(|(_, k)| k.1).collect();
    let meta = SourceMeta {
        format: if raw.compressed {
            Format::Laz
        } else {
            Format::Las
        },
        version: Some(format!("{}.{}", raw.version.0, raw.version.1)),
        point_format: Some(raw.point_format),
        ..SourceMeta::memory(raw.points)
    };
    Ok(g.into_cloud(meta))
}
