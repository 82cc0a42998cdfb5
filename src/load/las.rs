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
    /// The number of VLRs that really fit before the points, when the header claims more.
    vlr_count_fix: Option<u32>,
}

/// Walks the VLR headers between the public header and the point data: how many of the claimed
/// `n_vlrs` records fit there.
fn vlrs_that_fit(path: &Path, header_size: u64, offset: u64, n_vlrs: u64) -> std::io::Result<u64> {
    use std::io::{Seek, SeekFrom};
    let mut f = std::fs::File::open(path)?;
    let (mut pos, mut count) = (header_size, 0);
    while count < n_vlrs && pos + 54 <= offset {
        let mut vlr = [0u8; 54];
        f.seek(SeekFrom::Start(pos))?;
        f.read_exact(&mut vlr)?;
        let body = u16::from_le_bytes([vlr[20], vlr[21]]) as u64;
        if pos + 54 + body > offset {
            break;
        }
        pos += 54 + body;
        count += 1;
    }
    Ok(count)
}

/// A reader that shows a corrected VLR count (bytes 100–103 of the header) and the file as it is
/// otherwise, so the `las` crate reads the VLRs that exist instead of trusting a wrong count.
struct PatchedVlrCount<R> {
    inner: R,
    pos: u64,
    count: [u8; 4],
}

impl<R: Read> Read for PatchedVlrCount<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        for (i, b) in buf[..n].iter_mut().enumerate() {
            let at = self.pos + i as u64;
            if (100..104).contains(&at) {
                *b = self.count[(at - 100) as usize];
            }
        }
        self.pos += n as u64;
        Ok(n)
    }
}

impl<R: std::io::Seek> std::io::Seek for PatchedVlrCount<R> {
    fn seek(&mut self, to: std::io::SeekFrom) -> std::io::Result<u64> {
        self.pos = self.inner.seek(to)?;
        Ok(self.pos)
    }
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
    // Some writers put a wrong VLR count in the header (and readers that trust it allocate for
    // billions of records): count the records that really lie before the points instead.
    let fit = vlrs_that_fit(path, header_size, offset, n_vlrs).map_err(io)?;
    let vlr_count_fix = (fit < n_vlrs).then(|| {
        log::warn!(
            "{}: header says {n_vlrs} VLRs, {fit} lie before the points; reading {fit}",
            path.display()
        );
        fit as u32
    });
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
        vlr_count_fix,
    })
}

pub(super) fn read(path: &Path, opts: &LoadOptions) -> Result<PointCloud, LoadErrorKind> {
    let raw = check_header(path)?;
    let las_err = |e: las::Error| LoadErrorKind::BadData(e.to_string());
    let file = std::io::BufReader::new(
        std::fs::File::open(path).map_err(|e| LoadErrorKind::Io(e.to_string()))?,
    );
    let opened = match raw.vlr_count_fix {
        Some(n) => las::Reader::new(PatchedVlrCount {
            inner: file,
            pos: 0,
            count: n.to_le_bytes(),
        }),
        None => las::Reader::new(file),
    };
    let mut reader = opened
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
