//! Point records of LAS/LAZ files: through the published `las` reader, except the LAZ streams
//! whose GPS times use LASzip's v2 coding (point formats 1, 3, 4, 5 written by LASzip 2.x and
//! later, in the pointwise layout), which go through our own chunk loop with our own GPS time
//! decompressor ([`super::laz_gps`]) and `laz`'s public decompressors for the other items.
//!
//! Why: `laz` 0.13's v2 GPS time decompressor recurses once per "switch sequence" symbol, so a
//! corrupt stream overflows the stack and aborts the process (see `laz_gps.rs` and
//! docs/laz-gps-recursion.md). Everything else (LAS, LAZ without GPS time, the layered formats
//! 6–10, whose GPS time coding does not recurse) keeps going through `las` and `laz` unchanged.
//! Drop this module once a published `laz` bounds the recursion.
//!
//! The loop follows LASzip's pointwise layout: after the 8-byte chunk table offset (compressor 2),
//! each chunk is one raw point then arithmetic-coded points, the coder restarting at every chunk;
//! chunks hold the VLR's chunk size, or (variable chunks) the chunk table's counts. It reads the
//! chunk table and reacts to a missing one exactly as `laz`'s `LasZipDecompressor` does, so both
//! paths give the same points and the same errors.

use super::laz_gps::GpsTimeV2;
use laz::las::{v1, v2};
use laz::laszip::ChunkTable;
use laz::record::{RecordDecompressor, SequentialPointRecordDecompressor};
use laz::{LasZipError, LazItem, LazItemType, LazVlr};
use std::io::{Read, Seek, SeekFrom};

/// LASzip compressor types of the pointwise layout: one chunk, and fixed or variable chunks.
const POINTWISE: u16 = 1;
const POINTWISE_CHUNKED: u16 = 2;
/// The chunk size the LASzip VLR gives for variable-size chunks.
const VARIABLE_CHUNKS: u32 = u32::MAX;

/// Which decoder produced a file's point records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum RecordDecoder {
    /// The published `las` reader (and `laz` for LAZ).
    Las,
    /// calip3d's chunk loop with its own LASzip v2 GPS time decompressor.
    GpsTimeV2,
}

/// The point records of a LAS/LAZ file, decoded as [`crate::load::load`] decodes them, for
/// checking the decoders against each other.
#[derive(Debug, Clone)]
pub struct PointRecords {
    /// The records, as they would be in an uncompressed LAS file.
    pub bytes: Vec<u8>,
    /// Bytes per record (the point format's length, extra bytes included).
    pub record_len: usize,
    /// Which decoder produced them.
    pub decoder: RecordDecoder,
}

/// Points read from a LAS/LAZ source, in batches.
pub(super) enum Points {
    Las(las::Reader),
    GpsTimeV2(Box<dyn Batches>),
}

/// Our chunk loop, whatever its source.
pub(super) trait Batches {
    fn header(&self) -> &las::Header;
    fn read_points(&mut self, n: u64) -> las::Result<las::PointData>;
}

impl Points {
    /// Opens `src` (a whole LAS/LAZ file) with our decoder when its LAZ items need it, else with
    /// `las::Reader`. Errors are `las`'s for the same file.
    pub(super) fn open<R: Read + Seek + Send + Sync + 'static>(mut src: R) -> las::Result<Self> {
        let header = las::Header::new(&mut src)?;
        match gps_v2_layout(&header) {
            Some(compressor) => Ok(Points::GpsTimeV2(Box::new(GpsChunks::new(
                src, header, compressor,
            )?))),
            None => {
                src.seek(SeekFrom::Start(0))?;
                Ok(Points::Las(las::Reader::new(src)?))
            }
        }
    }

    /// The file's header.
    pub(super) fn header(&self) -> &las::Header {
        match self {
            Points::Las(r) => r.header(),
            Points::GpsTimeV2(c) => c.header(),
        }
    }

    /// The next `n` points or fewer (none at the end), as `las::Reader::read_points` gives them.
    pub(super) fn read_points(&mut self, n: u64) -> las::Result<las::PointData> {
        match self {
            Points::Las(r) => r.read_points(n),
            Points::GpsTimeV2(c) => c.read_points(n),
        }
    }

    /// Which decoder this is.
    pub(super) fn decoder(&self) -> RecordDecoder {
        match self {
            Points::Las(_) => RecordDecoder::Las,
            Points::GpsTimeV2(_) => RecordDecoder::GpsTimeV2,
        }
    }
}

/// The LASzip compressor type when `header`'s points are a pointwise LAZ stream with a v2 GPS
/// time item that we can decode whole (every item of LASzip 1.x/2.x, records as long as the
/// point format says); None for everything `las` should read.
fn gps_v2_layout(header: &las::Header) -> Option<u16> {
    if !header.point_format().is_compressed {
        return None;
    }
    // The VLR `las::Header::laz_vlr` takes: the first LASzip one.
    let data = &header
        .vlrs()
        .iter()
        .find(|v| v.user_id == LazVlr::USER_ID && v.record_id == LazVlr::RECORD_ID)?
        .data;
    let compressor = u16::from_le_bytes([*data.first()?, *data.get(1)?]);
    if compressor != POINTWISE && compressor != POINTWISE_CHUNKED {
        return None;
    }
    let vlr = LazVlr::from_buffer(data).ok()?;
    let items = vlr.items();
    let gps_v2 = items
        .iter()
        .any(|i| i.item_type() == LazItemType::GpsTime && i.version() == 2);
    let supported = items.iter().all(|i| {
        matches!(i.version(), 1 | 2)
            && matches!(
                i.item_type(),
                LazItemType::Point10
                    | LazItemType::GpsTime
                    | LazItemType::RGB12
                    | LazItemType::Byte(_)
                    | LazItemType::WavePacket13
            )
    });
    let record: u64 = items.iter().map(|i| u64::from(i.size())).sum();
    (gps_v2 && supported && record == u64::from(header.point_format().len())).then_some(compressor)
}

/// Adds a field decompressor for each item, in order: ours for the v2 GPS time, `laz`'s for the
/// others (the same ones `laz` picks for these items).
fn add_fields<R: Read>(
    record: &mut SequentialPointRecordDecompressor<'static, R>,
    items: &[LazItem],
) {
    for item in items {
        let v2 = item.version() == 2;
        match item.item_type() {
            LazItemType::Point10 if v2 => {
                record.add_field_decompressor(v2::LasPoint0Decompressor::default())
            }
            LazItemType::Point10 => {
                record.add_field_decompressor(v1::LasPoint0Decompressor::default())
            }
            LazItemType::GpsTime if v2 => record.add_field_decompressor(GpsTimeV2::default()),
            LazItemType::GpsTime => {
                record.add_field_decompressor(v1::LasGpsTimeDecompressor::default())
            }
            LazItemType::RGB12 if v2 => {
                record.add_field_decompressor(v2::LasRGBDecompressor::default())
            }
            LazItemType::RGB12 => record.add_field_decompressor(v1::LasRGBDecompressor::default()),
            LazItemType::Byte(_) if v2 => record.add_field_decompressor(
                v2::LasExtraByteDecompressor::new(usize::from(item.size())),
            ),
            LazItemType::Byte(_) => record.add_field_decompressor(
                v1::LasExtraByteDecompressor::new(usize::from(item.size())),
            ),
            // `laz` decodes version 2 wave packets with its version 1 decompressor too.
            LazItemType::WavePacket13 => {
                record.add_field_decompressor(v1::LasWavepacketDecompressor::default())
            }
            // Excluded by `gps_v2_layout`.
            _ => unreachable!("item {:?} is not of the pointwise layout", item.item_type()),
        }
    }
}

/// The chunk loop over a pointwise LAZ stream.
pub(super) struct GpsChunks<R: Read> {
    header: las::Header,
    items: Vec<LazItem>,
    record: SequentialPointRecordDecompressor<'static, R>,
    compressor: u16,
    chunk_size: u32,
    table: Option<ChunkTable>,
    /// The chunk being decoded (0-based) and the points it has left; None before the first.
    chunk: Option<(usize, u64)>,
    /// Points handed out.
    decoded: u64,
}

impl<R: Read + Seek + Send + Sync + 'static> GpsChunks<R> {
    /// Starts on `src`, positioned at the point data (as `las::Header::new` leaves it).
    fn new(mut src: R, header: las::Header, compressor: u16) -> las::Result<Self> {
        let vlr = header.laz_vlr()?;
        let variable = vlr.chunk_size() == VARIABLE_CHUNKS;
        let table = match compressor {
            POINTWISE_CHUNKED => match ChunkTable::read_from(&mut src, &vlr) {
                Ok(table) => Some(table),
                // Fixed-size chunks can be decoded without the table: skip its offset, from
                // wherever the failed read left the stream (as `laz` does).
                Err(_) if !variable => {
                    src.read_exact(&mut [0u8; 8]).map_err(LasZipError::from)?;
                    None
                }
                Err(e) => return Err(e.into()),
            },
            _ => None,
        };
        let mut record = SequentialPointRecordDecompressor::new(src);
        add_fields(&mut record, vlr.items());
        Ok(GpsChunks {
            header,
            items: vlr.items().clone(),
            record,
            compressor,
            chunk_size: vlr.chunk_size(),
            table,
            chunk: None,
            decoded: 0,
        })
    }
}

impl<R: Read> GpsChunks<R> {
    /// Points in chunk `k`; `u64::MAX` for "until the end" (one chunk, or a chunk size of 0,
    /// which `laz` never ends either).
    fn chunk_points(&self, k: usize) -> std::io::Result<u64> {
        let n = match (self.compressor, self.chunk_size) {
            (POINTWISE, _) => 0,
            (_, VARIABLE_CHUNKS) => match &self.table {
                Some(t) if k < t.len() => t[k].point_count,
                _ => {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        format!("chunk {k} is not in the chunk table"),
                    ))
                }
            },
            (_, size) => u64::from(size),
        };
        Ok(if n == 0 { u64::MAX } else { n })
    }

    /// Decodes the next point into `out` (one record).
    fn decode_one(&mut self, out: &mut [u8]) -> std::io::Result<()> {
        let (k, left) = match self.chunk {
            None => (0, self.chunk_points(0)?),
            Some((k, 0)) => {
                // A new chunk: the arithmetic coder and every field's context start over.
                self.record.reset();
                add_fields(&mut self.record, &self.items);
                (k + 1, self.chunk_points(k + 1)?)
            }
            Some(current) => current,
        };
        self.record.decompress_next(out)?;
        self.chunk = Some((k, left - 1));
        Ok(())
    }
}

impl<R: Read> Batches for GpsChunks<R> {
    fn header(&self) -> &las::Header {
        &self.header
    }

    fn read_points(&mut self, n: u64) -> las::Result<las::PointData> {
        let n = n.min(self.header.number_of_points() - self.decoded);
        let record_len = usize::from(self.header.point_format().len());
        let mut bytes = vec![0u8; usize::try_from(n)? * record_len];
        for out in bytes.chunks_exact_mut(record_len) {
            self.decode_one(out).map_err(LasZipError::from)?;
        }
        self.decoded += n;
        las::PointDataBuilder::new()
            .for_header(&self.header)
            .build_from_bytes(bytes)
    }
}
