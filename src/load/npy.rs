//! numpy `.npy` point arrays: shape (N, C) with C ≥ 3 (the first three columns are x, y, z; leading
//! dimensions of size 1 are allowed), float32 or float64 in either byte order, C or Fortran order.
//! Streamed row by row (or column by column), with the header's shape checked against the file
//! size first. [`parse_header`] is also what `crate::npy` reads headers with.

use super::stream::{Collector, Has};
use super::{LoadErrorKind, LoadOptions};
use crate::cloud::{Format, PointCloud, SourceMeta};
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;

/// What an `.npy` header says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NpyHeader {
    /// Format version, e.g. (1, 0).
    pub version: (u8, u8),
    /// The dtype string, e.g. `<f4`.
    pub descr: String,
    /// Column-major data.
    pub fortran_order: bool,
    /// The array's shape.
    pub shape: Vec<u64>,
    /// Where the data starts.
    pub data_offset: u64,
}

/// The value of `key` in the header dict, as written (`'<f4'`, `False`, `(3, 4)`).
fn dict_value<'a>(dict: &'a str, key: &str) -> Option<&'a str> {
    let at = [format!("'{key}'"), format!("\"{key}\"")]
        .iter()
        .find_map(|k| dict.find(k.as_str()).map(|i| i + k.len()))?;
    let rest = dict[at..].trim_start().strip_prefix(':')?.trim_start();
    let end = if rest.starts_with('(') {
        rest.find(')')? + 1
    } else if let Some(q) = rest.chars().next().filter(|c| *c == '\'' || *c == '"') {
        rest[1..].find(q)? + 2
    } else {
        rest.find([',', '}']).unwrap_or(rest.len())
    };
    Some(rest[..end].trim())
}

/// Reads the magic, version and header dict of an `.npy` file of `file_len` bytes.
pub(crate) fn parse_header(r: &mut impl Read, file_len: u64) -> Result<NpyHeader, String> {
    let mut pre = [0u8; 10];
    r.read_exact(&mut pre)
        .map_err(|_| format!("{file_len} bytes is too short for an .npy header"))?;
    if &pre[..6] != b"\x93NUMPY" {
        return Err("not an .npy file (no \\x93NUMPY magic)".into());
    }
    let version = (pre[6], pre[7]);
    let (len, offset) = match version.0 {
        1 => (u16::from_le_bytes([pre[8], pre[9]]) as u64, 10),
        2 | 3 => {
            let mut two = [0u8; 2];
            r.read_exact(&mut two)
                .map_err(|_| "truncated header".to_string())?;
            (
                u32::from_le_bytes([pre[8], pre[9], two[0], two[1]]) as u64,
                12,
            )
        }
        v => return Err(format!("unknown .npy format version {v}")),
    };
    if offset + len > file_len {
        return Err(format!(
            "header length {len} does not fit in a {file_len}-byte file"
        ));
    }
    let mut text = vec![0u8; len as usize];
    r.read_exact(&mut text)
        .map_err(|_| "truncated header".to_string())?;
    let text = String::from_utf8_lossy(&text);
    let descr = dict_value(&text, "descr").ok_or("no 'descr' in the header")?;
    if !(descr.starts_with('\'') || descr.starts_with('"')) {
        return Err(format!(
            "structured dtype {descr}: save a plain float array of shape (N, 3)"
        ));
    }
    let descr = descr[1..descr.len() - 1].to_string();
    let fortran_order = match dict_value(&text, "fortran_order") {
        Some("True") => true,
        Some("False") => false,
        other => return Err(format!("bad 'fortran_order' {other:?}")),
    };
    let shape_txt = dict_value(&text, "shape").ok_or("no 'shape' in the header")?;
    let shape = shape_txt
        .trim_start_matches('(')
        .trim_end_matches(')')
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.trim_end_matches('L').parse::<u64>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| format!("bad shape {shape_txt}"))?;
    Ok(NpyHeader {
        version,
        descr,
        fortran_order,
        shape,
        data_offset: offset + len,
    })
}

/// Size and byte order of a float dtype: `<f4` → (4, little).
pub(crate) fn float_dtype(descr: &str) -> Option<(usize, bool)> {
    let little = match descr.as_bytes().first()? {
        b'<' | b'=' => true,
        b'>' => false,
        _ => return None,
    };
    match &descr[1..] {
        "f4" => Some((4, little)),
        "f8" => Some((8, little)),
        _ => None,
    }
}

/// One float of `size` bytes in the given byte order, as f64.
pub(crate) fn decode_float(b: &[u8], little: bool) -> f64 {
    match (b.len(), little) {
        (4, true) => f32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f64,
        (4, false) => f32::from_be_bytes([b[0], b[1], b[2], b[3]]) as f64,
        (_, true) => f64::from_le_bytes(b[..8].try_into().unwrap_or([0; 8])),
        (_, false) => f64::from_be_bytes(b[..8].try_into().unwrap_or([0; 8])),
    }
}

pub(super) fn read(path: &Path, opts: &LoadOptions) -> Result<PointCloud, LoadErrorKind> {
    let io = |e: std::io::Error| LoadErrorKind::io(e);
    let mut file = std::fs::File::open(path).map_err(io)?;
    let file_len = file.metadata().map_err(io)?.len();
    let h =
        parse_header(&mut BufReader::new(&mut file), file_len).map_err(LoadErrorKind::BadHeader)?;
    let (size, little) = float_dtype(&h.descr).ok_or_else(|| {
        LoadErrorKind::BadHeader(format!(
            "dtype `{}` is not supported: expected float32 or float64 (<f4, >f4, <f8, >f8)",
            h.descr
        ))
    })?;
    let shape_txt = format!("{:?}", h.shape);
    let dims: Vec<u64> = {
        // Leading dimensions of size 1 (a batch of one cloud) are dropped.
        let first = h.shape.len().saturating_sub(2);
        if h.shape[..first].iter().any(|&d| d != 1) || h.shape.len() < 2 {
            return Err(LoadErrorKind::BadHeader(format!(
                "shape {shape_txt}: expected (N, 3) or (N, C) with C ≥ 3"
            )));
        }
        h.shape[first..].to_vec()
    };
    let (n, cols) = (dims[0], dims[1]);
    if cols < 3 {
        return Err(LoadErrorKind::BadHeader(format!(
            "shape {shape_txt}: expected (N, 3) or (N, C) with C ≥ 3"
        )));
    }
    let row = cols
        .checked_mul(size as u64)
        .ok_or_else(|| LoadErrorKind::BadHeader(format!("shape {shape_txt} overflows")))?;
    let body = file_len - h.data_offset;
    let needed = n.checked_mul(row);
    if needed.is_none_or(|b| b > body) {
        return Err(LoadErrorKind::Truncated {
            expected: n,
            found: body / row,
        });
    }
    let mut c = Collector::new(opts, Has::default());
    if h.fortran_order {
        // Column-major: x, y and z are three runs of n values; read them side by side.
        let mut columns = Vec::with_capacity(3);
        for k in 0..3u64 {
            let mut f = std::fs::File::open(path).map_err(io)?;
            f.seek(SeekFrom::Start(h.data_offset + k * n * size as u64))
                .map_err(io)?;
            columns.push(BufReader::with_capacity(1 << 15, f));
        }
        let mut v = [0u8; 8];
        for _ in 0..n {
            let mut p = [0.0; 3];
            for (k, col) in columns.iter_mut().enumerate() {
                col.read_exact(&mut v[..size]).map_err(io)?;
                p[k] = decode_float(&v[..size], little);
            }
            c.push(p, Default::default());
        }
    } else {
        file.seek(SeekFrom::Start(h.data_offset)).map_err(io)?;
        let mut reader = BufReader::with_capacity(1 << 16, file);
        // The row fits in the file (checked above), so this allocation is bounded by it.
        let mut buf = vec![0u8; row as usize];
        for _ in 0..n {
            reader.read_exact(&mut buf).map_err(io)?;
            let p = [0, 1, 2].map(|k| decode_float(&buf[k * size..(k + 1) * size], little));
            c.push(p, Default::default());
        }
    }
    let meta = SourceMeta {
        format: Format::Npy,
        version: Some(format!(
            "{}.{} {} {} order, shape {}",
            h.version.0,
            h.version.1,
            h.descr,
            if h.fortran_order { "Fortran" } else { "C" },
            shape_txt
        )),
        ..SourceMeta::memory(n)
    };
    Ok(c.finish(meta))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_dicts_parse_in_both_quote_styles_and_versions() {
        let mut f = b"\x93NUMPY\x01\x00".to_vec();
        let dict = b"{'descr': '>f8', 'fortran_order': True, 'shape': (5, 3), }\n";
        f.extend((dict.len() as u16).to_le_bytes());
        f.extend(dict);
        let h = parse_header(&mut &f[..], f.len() as u64).unwrap();
        assert_eq!(
            (h.descr.as_str(), h.fortran_order, h.shape.as_slice()),
            (">f8", true, &[5u64, 3][..])
        );
        assert_eq!(h.data_offset, f.len() as u64);
        assert_eq!(float_dtype(">f8"), Some((8, false)));
        assert_eq!(float_dtype("<i4"), None);
        let err = parse_header(&mut &f[..12], 12).unwrap_err();
        assert!(err.contains("does not fit in a 12-byte file"), "{err}");
    }
}
