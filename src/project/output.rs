//! Writing depth views for people (PNG) and for tools (`.npy`).

use super::{DepthViews, ProjectError};
use std::path::{Path, PathBuf};

/// Writes `<stem>.view<k>.png` for every view into `dir`: 8-bit grey, the depth values scaled so
/// that the largest is white. Returns the paths written.
pub fn write_view_pngs(
    depth: &DepthViews,
    dir: &Path,
    stem: &str,
) -> Result<Vec<PathBuf>, ProjectError> {
    let err = |path: &Path, e: std::io::Error| ProjectError::Write {
        path: path.to_path_buf(),
        source: e,
    };
    std::fs::create_dir_all(dir).map_err(|e| err(dir, e))?;
    let mut written = Vec::new();
    for v in 0..depth.views {
        let img = depth.view(v);
        let max = img.iter().copied().fold(0f32, f32::max);
        let bytes: Vec<u8> = img
            .iter()
            .map(|&x| {
                if max > 0.0 {
                    (x / max * 255.0).round().clamp(0.0, 255.0) as u8
                } else {
                    0
                }
            })
            .collect();
        let path = dir.join(format!("{stem}.view{}.png", v + 1));
        let file = std::fs::File::create(&path).map_err(|e| err(&path, e))?;
        let mut enc = png::Encoder::new(
            std::io::BufWriter::new(file),
            depth.width as u32,
            depth.height as u32,
        );
        enc.set_color(png::ColorType::Grayscale);
        enc.set_depth(png::BitDepth::Eight);
        enc.write_header()
            .and_then(|mut w| w.write_image_data(&bytes))
            .map_err(|e| err(&path, std::io::Error::other(e)))?;
        written.push(path);
    }
    Ok(written)
}
