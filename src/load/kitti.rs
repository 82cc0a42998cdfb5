//! KITTI velodyne scans (`velodyne/*.bin`): a headerless stream of little-endian float32
//! x, y, z, reflectance. z is up, as in LAS; reflectance (0–1) is kept as intensity on the u16 scale.

use super::format::KITTI_POINT_BYTES;
use super::stream::{Collector, Extra, Has};
use super::{LoadErrorKind, LoadOptions};
use crate::cloud::{Format, PointCloud, SourceMeta};
use std::io::{BufReader, Read};
use std::path::Path;

pub(super) fn read(path: &Path, opts: &LoadOptions) -> Result<PointCloud, LoadErrorKind> {
    let io = |e: std::io::Error| LoadErrorKind::io(e);
    let file = std::fs::File::open(path).map_err(io)?;
    let len = file.metadata().map_err(io)?.len();
    // No header: the size is the only claim, and it must be whole points (also under --format).
    if len % KITTI_POINT_BYTES != 0 {
        return Err(LoadErrorKind::BadData(format!(
            "{len} bytes is not a whole number of 16-byte KITTI points (x, y, z, reflectance as float32)"
        )));
    }
    let n = len / KITTI_POINT_BYTES;
    let mut c = Collector::new(
        opts,
        Has {
            intensity: true,
            ..Has::default()
        },
    );
    let mut reader = BufReader::with_capacity(1 << 16, file);
    let mut rec = [0u8; KITTI_POINT_BYTES as usize];
    for i in 0..n {
        reader.read_exact(&mut rec).map_err(|e| {
            if e.kind() == std::io::ErrorKind::UnexpectedEof {
                LoadErrorKind::Truncated {
                    expected: n,
                    found: i,
                }
            } else {
                io(e)
            }
        })?;
        let f = |k: usize| {
            f32::from_le_bytes([rec[4 * k], rec[4 * k + 1], rec[4 * k + 2], rec[4 * k + 3]])
        };
        c.push(
            [f(0) as f64, f(1) as f64, f(2) as f64],
            Extra {
                intensity: f(3),
                ..Extra::default()
            },
        );
    }
    let meta = SourceMeta {
        format: Format::Kitti,
        version: Some("float32 x y z reflectance".into()),
        ..SourceMeta::memory(n)
    };
    Ok(c.finish(meta))
}
