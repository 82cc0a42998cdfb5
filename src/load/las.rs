//! LAS and LAZ (1.0–1.4, point formats 0–10, COPC as LAZ) with the `las` crate, streamed through
//! a reservoir so memory is bounded by the point budget, not by the file.
//!
//! Before the `las` crate opens a file, [`check_header`] reads its raw structures (`las::raw`) and
//! checks every size they state against the file: the header, each VLR and EVLR, the points, and
//! for LAZ the LASzip VLR, the chunk table and each layered chunk's layer sizes. The `las` and
//! `laz` crates allocate what those fields say (`Vlr::read_from`, `ChunkTable::read`, the layered
//! decoders' buffers), so a lie there would be an allocation that aborts the process.

use super::laz_points::{PointRecords, Points};
use super::limits::{check_bytes, check_records, remaining};
use super::{extend_bounds, Gathered, LoadErrorKind, LoadOptions, Reservoir};
use crate::cloud::{Format, PointCloud, SourceMeta};
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

/// Bytes of point records decoded per call to the `las` reader, which allocates a buffer of the
/// points asked for × the record length (up to 64 KiB a record) before reading any.
const CHUNK_BYTES: u64 = 4 << 20;
/// Bytes of a VLR header (before its record).
const VLR_HEADER: u64 = 54;
/// Bytes of an EVLR header (before its record).
const EVLR_HEADER: u64 = 60;
/// Bytes of the fixed part of the LASzip VLR's record, before its 6-byte items.
const LASZIP_VLR_FIXED: u64 = 34;
/// The LASzip VLR's user id and record id.
const LASZIP_USER_ID: &[u8] = b"laszip encoded";
const LASZIP_RECORD_ID: u16 = 22204;
/// LASzip compressor types that have a chunk table, and the layered one (LAS 1.4 formats 6–10).
const POINTWISE_CHUNKED: u16 = 2;
const LAYERED_CHUNKED: u16 = 3;

/// What the public header block says, checked against the file.
#[derive(Debug)]
struct RawHeader {
    version: (u8, u8),
    point_format: u8,
    compressed: bool,
    points: u64,
    /// The number of VLRs that really fit before the points, when the header claims more.
    vlr_count_fix: Option<u32>,
}

/// Reads `buf.len()` bytes at `pos`.
fn read_at<R: Read + Seek>(src: &mut R, pos: u64, buf: &mut [u8]) -> std::io::Result<()> {
    src.seek(SeekFrom::Start(pos))?;
    src.read_exact(buf)
}

fn u32_at<R: Read + Seek>(src: &mut R, pos: u64) -> std::io::Result<u32> {
    let mut b = [0u8; 4];
    read_at(src, pos, &mut b)?;
    Ok(u32::from_le_bytes(b))
}

/// Walks the VLRs between the public header and the point data: how many of the claimed
/// `n_vlrs` records fit there, and the LASzip VLR's record if one of them is it. Each record's
/// length is checked before `las::raw::Vlr` reads (and allocates) it.
fn walk_vlrs<R: Read + Seek>(
    src: &mut R,
    header_size: u64,
    offset: u64,
    n_vlrs: u64,
) -> std::io::Result<(u64, Option<Vec<u8>>)> {
    let (mut pos, mut count, mut laszip) = (header_size, 0, None);
    while count < n_vlrs && pos + VLR_HEADER <= offset {
        let mut head = [0u8; VLR_HEADER as usize];
        read_at(src, pos, &mut head)?;
        let body = u16::from_le_bytes([head[20], head[21]]) as u64;
        if pos + VLR_HEADER + body > offset {
            break;
        }
        let user_id = head[2..18].split(|&b| b == 0).next().unwrap_or(&[]);
        let record_id = u16::from_le_bytes([head[18], head[19]]);
        if user_id == LASZIP_USER_ID && record_id == LASZIP_RECORD_ID {
            src.seek(SeekFrom::Start(pos))?;
            let vlr = las::raw::Vlr::read_from(&mut *src, false).map_err(std::io::Error::other)?;
            laszip = Some(vlr.data);
        }
        pos += VLR_HEADER + body;
        count += 1;
    }
    Ok((count, laszip))
}

/// Checks the EVLRs: the claimed count fits after their start, and each one's record length
/// (a `u64`, which `las::raw::Vlr::read_from` would allocate) fits in the rest of the file.
fn check_evlrs<R: Read + Seek>(
    src: &mut R,
    evlr: &las::raw::header::Evlr,
    file_len: u64,
) -> Result<(), LoadErrorKind> {
    let io = |e: std::io::Error| LoadErrorKind::io(e);
    let start = evlr.start_of_first_evlr;
    let n = evlr.number_of_evlrs as u64;
    check_records(n, EVLR_HEADER, remaining(file_len, start), "EVLRs")?;
    let mut pos = start;
    for _ in 0..n {
        let mut head = [0u8; EVLR_HEADER as usize];
        read_at(src, pos, &mut head).map_err(io)?;
        let body = u64::from_le_bytes(head[20..28].try_into().expect("8 bytes"));
        let record = EVLR_HEADER as u128 + body as u128;
        check_bytes(
            record,
            remaining(file_len, pos),
            &format!("an EVLR record of {body} bytes"),
        )?;
        pos += record as u64;
    }
    Ok(())
}

/// Layer sizes a layered LAZ chunk states for one item (`laz`'s v3/v4 field decompressors each
/// read this many `u32`s), or None for an item the layered decoder does not take.
fn layers_of(item: &laz::LazItem) -> Option<u64> {
    use laz::LazItemType::*;
    if !matches!(item.version(), 3 | 4) {
        return None;
    }
    Some(match item.item_type() {
        Point14 => 9,
        RGB14 | WavePacket14 => 1,
        RGBNIR14 => 2,
        Byte14(n) => n as u64,
        _ => return None,
    })
}

/// Checks the LAZ structures that the `laz` crate allocates for, before it reads them: the LASzip
/// VLR's item count, the chunk table (its offset, and a chunk count that fits in the point data
/// before it) and, for layered chunks (formats 6–10), the layer sizes at the start of every chunk
/// the decoder will reach. Returns how many points the chunks hold, when they say.
fn check_laz<R: Read + Seek>(
    src: &mut R,
    laszip: &[u8],
    offset: u64,
    file_len: u64,
    points: u64,
) -> Result<Option<u64>, LoadErrorKind> {
    let io = |e: std::io::Error| LoadErrorKind::io(e);
    let available = laszip.len() as u64;
    check_bytes(LASZIP_VLR_FIXED as u128, available, "a LASzip VLR")?;
    let n_items = u16::from_le_bytes([laszip[32], laszip[33]]) as u64;
    check_records(n_items, 6, available - LASZIP_VLR_FIXED, "LASzip items")?;
    let vlr = laz::LazVlr::from_buffer(laszip)
        .map_err(|e| LoadErrorKind::BadHeader(format!("bad LASzip VLR: {e}")))?;
    let compressor = u16::from_le_bytes([laszip[0], laszip[1]]);
    if compressor != POINTWISE_CHUNKED && compressor != LAYERED_CHUNKED {
        return Ok(None);
    }
    // The 8 bytes at the start of the point data give the chunk table's offset; a writer that
    // could not seek back leaves it there and puts it in the file's last 8 bytes instead.
    check_bytes(8, remaining(file_len, offset), "a chunk table offset")?;
    let mut at = [0u8; 8];
    read_at(src, offset, &mut at).map_err(io)?;
    let mut table_pos = i64::from_le_bytes(at);
    if table_pos <= offset as i64 && file_len >= 8 {
        read_at(src, file_len - 8, &mut at).map_err(io)?;
        table_pos = i64::from_le_bytes(at);
    }
    let data_start = offset + 8;
    let table = if table_pos > offset as i64 {
        let table_pos = table_pos as u64;
        check_bytes(
            table_pos as u128 + 8,
            file_len,
            &format!("a chunk table at byte {table_pos}"),
        )?;
        let chunks = u32_at(src, table_pos + 4).map_err(io)? as u64;
        // Every chunk holds at least one byte of point data before the table.
        check_records(
            chunks,
            1,
            remaining(table_pos, data_start),
            "chunks in the chunk table",
        )?;
        src.seek(SeekFrom::Start(offset)).map_err(io)?;
        // A table that does not decode is left to `laz`, which reports it.
        laz::laszip::ChunkTable::read_from(&mut *src, &vlr).ok()
    } else {
        None
    };
    let variable = vlr.uses_variable_size_chunks();
    if compressor == POINTWISE_CHUNKED {
        let held = |t: laz::laszip::ChunkTable| {
            (0..t.len()).fold(0u64, |n, k| n.saturating_add(t[k].point_count))
        };
        return Ok(table.map(held));
    }
    let Some(layers) = vlr.items().iter().map(layers_of).sum::<Option<u64>>() else {
        return Ok(None);
    };
    // Walk the chunks as the decoder will: a raw first point, a point count, the layer sizes,
    // then the layers, which it reads into buffers of those sizes.
    // (`LazVlr::items_size` sums in u16, which a crafted VLR overflows.)
    let first_point: u64 = vlr.items().iter().map(|i| i.size() as u64).sum();
    let (mut pos, mut covered, mut k) = (data_start, 0u64, 0usize);
    let head = first_point + 4 + 4 * layers;
    while covered < points && pos + head <= file_len {
        let mut sizes = vec![0u8; (4 + 4 * layers) as usize];
        read_at(src, pos + first_point, &mut sizes).map_err(io)?;
        let in_chunk = u32::from_le_bytes(sizes[..4].try_into().expect("4 bytes")) as u64;
        let sum: u128 = sizes[4..]
            .chunks_exact(4)
            .map(|s| u32::from_le_bytes(s.try_into().expect("4 bytes")) as u128)
            .sum();
        check_bytes(
            sum,
            remaining(file_len, pos + head),
            &format!("layers of chunk {k}"),
        )?;
        covered = covered.saturating_add(match (&table, variable) {
            (_, false) => vlr.chunk_size() as u64,
            (Some(t), true) if k < t.len() => t[k].point_count,
            (Some(_), true) => break,
            (None, true) => in_chunk,
        });
        pos += head + sum as u64;
        k += 1;
    }
    Ok(Some(covered))
}

/// Reads the public header (`las::raw::Header`) and checks it, its VLRs and EVLRs, the points and,
/// for LAZ, the LASzip structures against the `file_len` bytes of the file.
fn check_header<R: Read + Seek>(
    src: &mut R,
    file_len: u64,
    name: &str,
) -> Result<RawHeader, LoadErrorKind> {
    let io = |e: std::io::Error| LoadErrorKind::io(e);
    let mut magic = [0u8; 4];
    if file_len < 227 || read_at(src, 0, &mut magic).is_err() || &magic != b"LASF" {
        return Err(LoadErrorKind::BadHeader(format!(
            "header is {} bytes, a LAS header needs at least 227",
            file_len.min(375)
        )));
    }
    src.seek(SeekFrom::Start(0)).map_err(io)?;
    let raw = las::raw::Header::read_from(&mut *src)
        .map_err(|e| LoadErrorKind::BadHeader(format!("cannot read the header: {e}")))?;
    // The `las` crate reads the VLRs from here: after the header fields of the file's version
    // even when `header_size` says less (fuzz finding 2).
    let vlr_start = src.stream_position().map_err(io)?;
    let version = (raw.version.major, raw.version.minor);
    let header_size = raw.header_size as u64;
    let offset = raw.offset_to_point_data as u64;
    let n_vlrs = raw.number_of_variable_length_records as u64;
    let record_len = raw.point_data_record_length as u64;
    let legacy_points = raw.number_of_point_records as u64;
    let large_points = raw
        .large_file
        .filter(|_| header_size >= 375)
        .map_or(0, |l| l.number_of_point_records);
    let points = if large_points > 0 {
        large_points
    } else {
        legacy_points
    };
    // The count the `las` crate reads: the legacy one unless it is 0, and the 64-bit one
    // whatever the header size says. Both must fit.
    let las_points = match raw.large_file {
        Some(l) if legacy_points == 0 => l.number_of_point_records,
        _ => legacy_points,
    };
    let point_format = raw.point_data_record_format & 0x3F;
    let compressed = raw.point_data_record_format & 0x80 != 0;
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
    let (fit, laszip) = walk_vlrs(src, vlr_start, offset, n_vlrs).map_err(io)?;
    let vlr_count_fix = (fit < n_vlrs).then(|| {
        log::warn!("{name}: header says {n_vlrs} VLRs, {fit} lie before the points; reading {fit}");
        fit as u32
    });
    if let Some(evlr) = &raw.evlr {
        check_evlrs(src, evlr, file_len)?;
    }
    if !compressed && record_len > 0 {
        let found = remaining(file_len, offset) / record_len;
        let expected = points.max(las_points);
        if found < expected {
            return Err(LoadErrorKind::Truncated { expected, found });
        }
    }
    if let (true, Some(laszip)) = (compressed, &laszip) {
        let decoded = points.max(las_points);
        if let Some(found) = check_laz(src, laszip, offset, file_len, decoded)? {
            if found < points {
                return Err(LoadErrorKind::Truncated {
                    expected: points,
                    found,
                });
            }
        }
    }
    src.seek(SeekFrom::Start(0)).map_err(io)?;
    Ok(RawHeader {
        version,
        point_format,
        compressed,
        points,
        vlr_count_fix,
    })
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

impl<R: Seek> Seek for PatchedVlrCount<R> {
    fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
        self.pos = self.inner.seek(to)?;
        Ok(self.pos)
    }
}

/// Reads the LAS/LAZ file at `path`, streaming it.
pub(super) fn read(path: &Path, opts: &LoadOptions) -> Result<PointCloud, LoadErrorKind> {
    let io = |e: std::io::Error| LoadErrorKind::io(e);
    let file = std::fs::File::open(path).map_err(io)?;
    let len = file.metadata().map_err(io)?.len();
    read_from(
        std::io::BufReader::new(file),
        len,
        opts,
        &path.display().to_string(),
    )
}

/// Reads LAS/LAZ from `src`, which holds `file_len` bytes; `name` names it in warnings.
pub(super) fn read_from<R: Read + Seek + Send + Sync + 'static>(
    src: R,
    file_len: u64,
    opts: &LoadOptions,
    name: &str,
) -> Result<PointCloud, LoadErrorKind> {
    let (raw, mut reader) = open(src, file_len, name)?;
    let las_err = |e: las::Error| LoadErrorKind::BadData(e.to_string());
    let header = reader.header().clone();
    let format = header.point_format();
    let chunk = (CHUNK_BYTES / u64::from(format.len()).max(1)).max(1);

    let mut g = Gathered::default();
    let mut kept = Reservoir::new(opts.max_points, opts.seed);
    let mut index = 0u64;
    loop {
        let data = reader.read_points(chunk).map_err(las_err)?;
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
        crs_unit: super::crs::linear_unit(header.vlrs().iter().chain(header.evlrs())),
        ..SourceMeta::memory(raw.points)
    };
    Ok(g.into_cloud(meta))
}

/// Checks the file in `src`, then opens its points (`laz_points`: `las`, or our decoder for LAZ
/// streams with v2 GPS times), showing them a corrected VLR count when the header's is wrong.
fn open<R: Read + Seek + Send + Sync + 'static>(
    mut src: R,
    file_len: u64,
    name: &str,
) -> Result<(RawHeader, Points), LoadErrorKind> {
    let raw = check_header(&mut src, file_len, name)?;
    let opened = match raw.vlr_count_fix {
        Some(n) => Points::open(PatchedVlrCount {
            inner: src,
            pos: 0,
            count: n.to_le_bytes(),
        }),
        None => Points::open(src),
    };
    let points = opened
        .map_err(|e| LoadErrorKind::BadHeader(format!("cannot read the header and VLRs: {e}")))?;
    Ok((raw, points))
}

/// Every point record of the LAS/LAZ file at `path`, decoded as [`read`] decodes them.
pub(super) fn read_records(path: &Path) -> Result<PointRecords, LoadErrorKind> {
    let io = |e: std::io::Error| LoadErrorKind::io(e);
    let file = std::fs::File::open(path).map_err(io)?;
    let len = file.metadata().map_err(io)?.len();
    let name = path.display().to_string();
    let (_, mut points) = open(std::io::BufReader::new(file), len, &name)?;
    let record_len = usize::from(points.header().point_format().len());
    let chunk = (CHUNK_BYTES / record_len.max(1) as u64).max(1);
    let mut bytes = Vec::new();
    loop {
        let data = points
            .read_points(chunk)
            .map_err(|e| LoadErrorKind::BadData(e.to_string()))?;
        if data.is_empty() {
            break;
        }
        bytes.extend_from_slice(data.raw_bytes());
    }
    Ok(PointRecords {
        bytes,
        record_len,
        decoder: points.decoder(),
    })
}
