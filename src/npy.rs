//! Minimal numpy `.npy` writing (format 1.0, little-endian float32, C order) and reading, so depth
//! views and features can be checked with Python tools.

use std::io::{Read, Write};
use std::path::Path;

/// Writes `data` with `shape` as a float32 `.npy` file.
pub fn write_f32(path: &Path, shape: &[usize], data: &[f32]) -> std::io::Result<()> {
    assert_eq!(
        shape.iter().product::<usize>(),
        data.len(),
        "shape does not match data"
    );
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let shape_str = if dims.len() == 1 {
        format!("({},)", dims[0])
    } else {
        format!("({})", dims.join(", "))
    };
    let mut header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {shape_str}, }}");
    // Magic (6) + version (2) + length (2) + header + newline, padded to a multiple of 64.
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
    f.write_all(b"\x93NUMPY\x01\x00")?;
    f.write_all(&(header.len() as u16).to_le_bytes())?;
    f.write_all(header.as_bytes())?;
    f.write_all(bytemuck::cast_slice(data))?;
    f.flush()
}

/// Reads a float32 or float64 `.npy` file (either byte order, C order; f64 converted):
/// `(shape, data)`. The header is parsed by the point-cloud loader's NPY reader.
pub fn read_f32(path: &Path) -> std::io::Result<(Vec<usize>, Vec<f32>)> {
    use crate::load::npy::{decode_float, float_dtype, parse_header};
    let bad = |m: &str| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("{}: {m}", path.display()),
        )
    };
    let mut bytes = Vec::new();
    std::fs::File::open(path)?.read_to_end(&mut bytes)?;
    let header = parse_header(&mut &bytes[..], bytes.len() as u64).map_err(|m| bad(&m))?;
    if header.fortran_order {
        return Err(bad("Fortran order is not supported"));
    }
    let (size, little) =
        float_dtype(&header.descr).ok_or_else(|| bad("only f4 and f8 are supported"))?;
    let shape: Vec<usize> = header.shape.iter().map(|&d| d as usize).collect();
    let n = shape
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .ok_or_else(|| bad("shape overflows"))?;
    let body = &bytes[header.data_offset as usize..];
    if body.len() / size < n {
        return Err(bad("truncated data"));
    }
    let data = body
        .chunks_exact(size)
        .take(n)
        .map(|c| decode_float(c, little) as f32)
        .collect();
    Ok((shape, data))
}

#[cfg(test)]
mod tests {
    #[test]
    fn round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.npy");
        super::write_f32(&p, &[2, 3], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.5]).unwrap();
        let (shape, data) = super::read_f32(&p).unwrap();
        assert_eq!(shape, [2, 3]);
        assert_eq!(data, [1.0, 2.0, 3.0, 4.0, 5.0, 6.5]);
        assert_eq!(
            std::fs::metadata(&p).unwrap().len() % 64,
            24,
            "header padded to 64 bytes"
        );
    }
}
