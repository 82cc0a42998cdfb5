//! A bird's-eye view of a classified scene as PNG (`--plot`): points seen from above and coloured
//! by class (ground grey, shaded by height), each object's box with its label, and a legend.

use super::{horizontal_axes, Role, Scene};
use crate::cloud::PointCloud;
use std::io::BufWriter;
use std::path::Path;

/// Longest side of the map, pixels.
const MAP_SIZE: usize = 1200;
/// Width of the legend panel, pixels.
const LEGEND_WIDTH: usize = 230;
/// Margin around the map, pixels.
const MARGIN: usize = 12;
const BACKGROUND: [u8; 3] = [255, 255, 255];
const UNCLUSTERED: [u8; 3] = [70, 70, 70];
const TEXT: [u8; 3] = [20, 20, 20];

/// Distinct colours for classes (Tableau 10), cycled when there are more classes.
const PALETTE: [[u8; 3]; 10] = [
    [31, 119, 180],
    [255, 127, 14],
    [44, 160, 44],
    [214, 39, 40],
    [148, 103, 189],
    [140, 86, 75],
    [227, 119, 194],
    [188, 189, 34],
    [23, 190, 207],
    [127, 127, 127],
];

/// The colour of class `k` (0-based).
pub fn class_color(k: usize) -> [u8; 3] {
    PALETTE[k % PALETTE.len()]
}

struct Canvas {
    width: usize,
    height: usize,
    rgb: Vec<u8>,
}

impl Canvas {
    fn set(&mut self, x: i64, y: i64, c: [u8; 3]) {
        if x >= 0 && y >= 0 && (x as usize) < self.width && (y as usize) < self.height {
            let k = (y as usize * self.width + x as usize) * 3;
            self.rgb[k..k + 3].copy_from_slice(&c);
        }
    }

    fn rect(&mut self, x0: i64, y0: i64, x1: i64, y1: i64, c: [u8; 3]) {
        for x in x0..=x1 {
            self.set(x, y0, c);
            self.set(x, y1, c);
        }
        for y in y0..=y1 {
            self.set(x0, y, c);
            self.set(x1, y, c);
        }
    }

    fn fill(&mut self, x0: i64, y0: i64, w: i64, h: i64, c: [u8; 3]) {
        for y in y0..y0 + h {
            for x in x0..x0 + w {
                self.set(x, y, c);
            }
        }
    }

    /// Text in the 8×8 font8x8 glyphs, on a light backing so it reads over points.
    fn text(&mut self, x0: i64, y0: i64, s: &str, c: [u8; 3], backing: bool) {
        if backing {
            self.fill(
                x0 - 1,
                y0 - 1,
                8 * s.chars().count() as i64 + 2,
                10,
                [255, 255, 255],
            );
        }
        for (i, ch) in s.chars().enumerate() {
            let glyph = font8x8::legacy::BASIC_LEGACY
                .get(ch as usize)
                .copied()
                .unwrap_or(font8x8::legacy::BASIC_LEGACY[b'?' as usize]);
            for (row, bits) in glyph.iter().enumerate() {
                for col in 0..8 {
                    if bits & (1 << col) != 0 {
                        self.set(x0 + i as i64 * 8 + col, y0 + row as i64, c);
                    }
                }
            }
        }
    }
}

/// Renders the scene seen from above (along the cloud's up axis) into a PNG at `path`, written
/// atomically.
pub fn write_plot(
    cloud: &PointCloud,
    scene: &Scene,
    title: &str,
    path: &Path,
) -> std::io::Result<()> {
    let (a, b) = horizontal_axes(cloud.up_axis);
    let up = 3 - a - b;
    let coord = |p: &nalgebra::Point3<f32>, k: usize| p.coords[k] as f64;
    let finite: Vec<usize> = (0..cloud.len())
        .filter(|&i| cloud.positions[i].coords.iter().all(|c| c.is_finite()))
        .collect();
    let (mut lo, mut hi) = ([f64::MAX; 3], [f64::MIN; 3]);
    for &i in &finite {
        for k in 0..3 {
            lo[k] = lo[k].min(coord(&cloud.positions[i], k));
            hi[k] = hi[k].max(coord(&cloud.positions[i], k));
        }
    }
    if finite.is_empty() {
        lo = [0.0; 3];
        hi = [1.0; 3];
    }
    let span = (hi[a] - lo[a]).max(hi[b] - lo[b]).max(1e-9);
    let scale = MAP_SIZE as f64 / span;
    let map_w = (((hi[a] - lo[a]) * scale).ceil() as usize).clamp(1, MAP_SIZE);
    let map_h = (((hi[b] - lo[b]) * scale).ceil() as usize).clamp(1, MAP_SIZE);
    let top = MARGIN + 14;
    let width = map_w + 2 * MARGIN + LEGEND_WIDTH;
    let height = (map_h + top + MARGIN).max(top + 20 * (scene.classes.len() + 3));
    let mut canvas = Canvas {
        width,
        height,
        rgb: BACKGROUND.repeat(width * height),
    };
    // Map coordinates (in the cloud's re-centred frame) to pixels, north up.
    let px = |x: f64| MARGIN as i64 + ((x - lo[a]) * scale) as i64;
    let py = |y: f64| (top + map_h) as i64 - ((y - lo[b]) * scale) as i64;
    // The highest point of each pixel is the one seen from above. Points are drawn as squares
    // about as wide as their spacing, so sparse tiles read as surfaces.
    let spacing_px =
        scale * ((hi[a] - lo[a]) * (hi[b] - lo[b]) / finite.len().max(1) as f64).sqrt();
    let r = ((spacing_px / 2.0).round() as i64).clamp(0, 6);
    let mut depth = vec![f64::MIN; width * height];
    let dz = (hi[up] - lo[up]).max(1e-9);
    for &i in &finite {
        let p = &cloud.positions[i];
        let (x, y, z) = (px(coord(p, a)), py(coord(p, b)), coord(p, up));
        let color = match (scene.roles[i], scene.labels[i]) {
            (Role::Noise, _) => continue,
            (Role::Ground, _) => {
                let g = (120.0 + 110.0 * (z - lo[up]) / dz) as u8;
                [g, g, g.saturating_sub(12)]
            }
            (Role::Other, 0) => UNCLUSTERED,
            (Role::Other, l) => class_color(l as usize - 1),
        };
        for yy in y - r..=y + r {
            for xx in x - r..=x + r {
                if xx < 0 || yy < 0 || xx as usize >= width || yy as usize >= height {
                    continue;
                }
                let k = yy as usize * width + xx as usize;
                if z >= depth[k] {
                    depth[k] = z;
                    canvas.set(xx, yy, color);
                }
            }
        }
    }
    // Boxes and labels, in the file's coordinates turned back into the re-centred frame.
    // Largest objects first; a label that would cover an earlier one is left out (the box stays).
    let o = cloud.meta.offset;
    let mut order: Vec<&super::SceneObject> = scene.objects.iter().collect();
    order.sort_by_key(|obj| std::cmp::Reverse(obj.points));
    let mut taken: Vec<[i64; 4]> = Vec::new();
    for obj in order {
        let c = class_color(obj.class_index());
        let (x0, x1) = (px(obj.bounds.min[a] - o[a]), px(obj.bounds.max[a] - o[a]));
        let (y0, y1) = (py(obj.bounds.max[b] - o[b]), py(obj.bounds.min[b] - o[b]));
        canvas.rect(x0 - 1, y0 - 1, x1 + 1, y1 + 1, c);
        let label = format!("{} {:.2}", obj.class(), obj.probability());
        let rect = [x0 - 1, y0 - 12, x0 + 8 * label.len() as i64 + 1, y0 - 2];
        let overlaps = taken
            .iter()
            .any(|t| rect[0] < t[2] && t[0] < rect[2] && rect[1] < t[3] && t[1] < rect[3]);
        if !overlaps {
            canvas.text(x0, y0 - 11, &label, c, true);
            taken.push(rect);
        }
    }
    // Title and legend.
    canvas.text(MARGIN as i64, 4, title, TEXT, false);
    let lx = (map_w + 2 * MARGIN) as i64;
    let mut ly = top as i64;
    canvas.text(
        lx,
        ly,
        &format!("{} objects", scene.objects.len()),
        TEXT,
        false,
    );
    ly += 20;
    let entries = [("ground", [175u8, 175, 163]), ("no object", UNCLUSTERED)];
    for (name, color) in entries {
        canvas.fill(lx, ly, 12, 12, color);
        canvas.text(lx + 18, ly + 2, name, TEXT, false);
        ly += 20;
    }
    for (k, name) in scene.classes.iter().enumerate() {
        let n = scene
            .objects
            .iter()
            .filter(|o| o.class_index() == k)
            .count();
        canvas.fill(lx, ly, 12, 12, class_color(k));
        canvas.text(lx + 18, ly + 2, &format!("{name} ({n})"), TEXT, false);
        ly += 20;
    }
    // The bar is in the file's unit: a tile in feet gets a bar in feet.
    let length = nice_length(span / 5.0);
    let bar = (length * scale) as i64;
    ly += 10;
    canvas.fill(lx, ly, bar.max(1), 3, TEXT);
    let unit = if scene.unit.metres == 1.0 {
        "m".to_string()
    } else if scene.unit.name.to_ascii_lowercase().contains("foot") {
        "ft".to_string()
    } else {
        scene.unit.name.clone()
    };
    canvas.text(lx, ly + 6, &format!("{length} {unit}"), TEXT, false);

    let temporary = super::object::temporary_beside(path);
    let result = (|| {
        let file = std::fs::File::create(&temporary)?;
        let mut encoder = png::Encoder::new(BufWriter::new(file), width as u32, height as u32);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().map_err(std::io::Error::other)?;
        writer
            .write_image_data(&canvas.rgb)
            .map_err(std::io::Error::other)?;
        writer.finish().map_err(std::io::Error::other)?;
        std::fs::rename(&temporary, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    result
}

/// 1, 2 or 5 times a power of ten, at most `x`.
fn nice_length(x: f64) -> f64 {
    let p = 10f64.powf(x.max(1e-9).log10().floor());
    [5.0, 2.0, 1.0]
        .into_iter()
        .map(|m| m * p)
        .find(|&v| v <= x)
        .unwrap_or(p)
}

#[cfg(test)]
mod tests {
    #[test]
    fn scale_bar_lengths_are_round() {
        assert_eq!(super::nice_length(37.0), 20.0);
        assert_eq!(super::nice_length(0.07), 0.05);
        assert_eq!(super::nice_length(1.0), 1.0);
    }
}
