//! A confusion-matrix heat map as PNG, labelled with a built-in 5×7 pixel font so it needs no
//! font files.

use super::EvalReport;
use std::path::Path;

const CELL: usize = 14;
const GLYPH_W: usize = 6; // 5 pixels and a space
const GLYPH_H: usize = 8;

/// 5×7 glyphs, one byte per row, bit 4 = leftmost pixel.
fn glyph(c: char) -> [u8; 7] {
    match c.to_ascii_lowercase() {
        'a' => [0x0E, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11],
        'b' => [0x1E, 0x11, 0x11, 0x1E, 0x11, 0x11, 0x1E],
        'c' => [0x0E, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0E],
        'd' => [0x1E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x1E],
        'e' => [0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x1F],
        'f' => [0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x10],
        'g' => [0x0E, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0F],
        'h' => [0x11, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11],
        'i' => [0x0E, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E],
        'j' => [0x07, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0C],
        'k' => [0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11],
        'l' => [0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1F],
        'm' => [0x11, 0x1B, 0x15, 0x15, 0x11, 0x11, 0x11],
        'n' => [0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11],
        'o' => [0x0E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E],
        'p' => [0x1E, 0x11, 0x11, 0x1E, 0x10, 0x10, 0x10],
        'q' => [0x0E, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0D],
        'r' => [0x1E, 0x11, 0x11, 0x1E, 0x14, 0x12, 0x11],
        's' => [0x0F, 0x10, 0x10, 0x0E, 0x01, 0x01, 0x1E],
        't' => [0x1F, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04],
        'u' => [0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E],
        'v' => [0x11, 0x11, 0x11, 0x11, 0x11, 0x0A, 0x04],
        'w' => [0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0A],
        'x' => [0x11, 0x11, 0x0A, 0x04, 0x0A, 0x11, 0x11],
        'y' => [0x11, 0x11, 0x11, 0x0A, 0x04, 0x04, 0x04],
        'z' => [0x1F, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1F],
        '0' => [0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E],
        '1' => [0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E],
        '2' => [0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F],
        '3' => [0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E],
        '4' => [0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02],
        '5' => [0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E],
        '6' => [0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E],
        '7' => [0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08],
        '8' => [0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E],
        '9' => [0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C],
        '.' => [0x00, 0x00, 0x00, 0x00, 0x00, 0x0C, 0x0C],
        '%' => [0x18, 0x19, 0x02, 0x04, 0x08, 0x13, 0x03],
        '_' | '-' => [0x00, 0x00, 0x00, 0x1F, 0x00, 0x00, 0x00],
        ':' => [0x00, 0x0C, 0x0C, 0x00, 0x0C, 0x0C, 0x00],
        '/' => [0x00, 0x01, 0x02, 0x04, 0x08, 0x10, 0x00],
        _ => [0; 7],
    }
}

struct Canvas {
    width: usize,
    height: usize,
    rgb: Vec<u8>,
}

impl Canvas {
    fn new(width: usize, height: usize) -> Self {
        Canvas {
            width,
            height,
            rgb: vec![255; width * height * 3],
        }
    }

    fn fill(&mut self, x0: usize, y0: usize, w: usize, h: usize, color: [u8; 3]) {
        for y in y0..(y0 + h).min(self.height) {
            for x in x0..(x0 + w).min(self.width) {
                let i = (y * self.width + x) * 3;
                self.rgb[i..i + 3].copy_from_slice(&color);
            }
        }
    }

    /// Draws text left to right, or top to bottom when `vertical`.
    fn text(&mut self, x0: usize, y0: usize, s: &str, vertical: bool, color: [u8; 3]) {
        for (k, c) in s.chars().enumerate() {
            let rows = glyph(c);
            for (dy, row) in rows.iter().enumerate() {
                for dx in 0..5 {
                    if row & (0x10 >> dx) != 0 {
                        let (x, y) = if vertical {
                            // Rotated 90° clockwise: the text reads downwards.
                            (x0 + 6 - dy, y0 + k * GLYPH_W + dx)
                        } else {
                            (x0 + k * GLYPH_W + dx, y0 + dy)
                        };
                        self.fill(x, y, 1, 1, color);
                    }
                }
            }
        }
    }
}

/// White → dark blue, for a fraction in [0, 1].
fn shade(f: f64) -> [u8; 3] {
    let f = f.clamp(0.0, 1.0);
    let lerp = |a: f64, b: f64| (a + (b - a) * f).round() as u8;
    [lerp(255.0, 8.0), lerp(255.0, 48.0), lerp(255.0, 107.0)]
}

/// Writes the row-normalised confusion matrix (rows: true class, columns: predicted) as a PNG
/// heat map with class names, the title and top-1 accuracy.
pub fn write_confusion_png(report: &EvalReport, title: &str, path: &Path) -> std::io::Result<()> {
    let k = report.classes.len();
    let label_w = report
        .classes
        .iter()
        .map(|c| c.len())
        .max()
        .unwrap_or(0)
        .min(24)
        * GLYPH_W
        + 8;
    let top = 2 * GLYPH_H + 8 + label_w;
    let (width, height) = (label_w + k * CELL + 8, top + k * CELL + 8);
    let mut c = Canvas::new(width.max(title.len() * GLYPH_W + 8), height);
    let black = [0, 0, 0];
    let caption = format!("{title}  top1 {:.1}%", report.top1 * 100.0);
    c.text(4, 4, &caption, false, black);
    for (i, name) in report.classes.iter().enumerate() {
        let name: String = name.chars().take(24).collect();
        c.text(4, top + i * CELL + (CELL - 7) / 2, &name, false, black);
        c.text(
            label_w + i * CELL + (CELL - 7) / 2,
            2 * GLYPH_H + 4,
            &name,
            true,
            black,
        );
    }
    for (t, row) in report.confusion.iter().enumerate() {
        let total: usize = row.iter().sum();
        for (p, &n) in row.iter().enumerate() {
            let f = if total == 0 {
                0.0
            } else {
                n as f64 / total as f64
            };
            c.fill(
                label_w + p * CELL,
                top + t * CELL,
                CELL - 1,
                CELL - 1,
                shade(f),
            );
            if t == p {
                // Mark the diagonal so that an empty correct cell is still visible.
                c.fill(
                    label_w + p * CELL,
                    top + t * CELL + CELL - 2,
                    CELL - 1,
                    1,
                    [200, 60, 60],
                );
            }
        }
    }
    let file = std::fs::File::create(path)?;
    let mut enc = png::Encoder::new(
        std::io::BufWriter::new(file),
        c.width as u32,
        c.height as u32,
    );
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    let mut w = enc.write_header().map_err(std::io::Error::other)?;
    w.write_image_data(&c.rgb).map_err(std::io::Error::other)?;
    Ok(())
}
