//! Delimited text point clouds: XYZ, TXT, CSV and PTS, streamed line by line.
//!
//! - The delimiter is sniffed from the first data line: `;` (then `,` may be a decimal comma), `,`,
//!   or whitespace.
//! - An optional header line names the columns (`x,y,z,intensity`, CloudCompare's `//X Y Z R G B`);
//!   x, y and z are found by name, case-insensitively, as are intensity, r g b / red green blue and
//!   nx ny nz / normal_x ….
//! - Without a header, columns go by count: 3 = xyz; 4 = + intensity; 6 = + normals when the sampled
//!   values all lie in [-1, 1] (ModelNet's `x,y,z,nx,ny,nz`), + r g b when they are 0–255 integers;
//!   7 = + intensity r g b (PTS); other columns are skipped.
//! - PTS's point-count line (one integer before the points, one per scan) is checked against the
//!   points that follow; Leica's intensity range −2048…2047 is shifted to 0…4095.
//! - `#` lines are comments. Coordinates are parsed as f64.

use super::stream::{clamp_u16, Collector, Extra, Has};
use super::{LoadErrorKind, LoadOptions};
use crate::cloud::{Format, PointCloud, SourceMeta};
use std::io::{BufRead, BufReader};
use std::path::Path;

/// Data lines read ahead to choose the meaning of unnamed columns.
const SNIFF_LINES: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Delimiter {
    Semicolon,
    Comma,
    Whitespace,
}

impl Delimiter {
    fn sniff(line: &str) -> Self {
        if line.contains(';') {
            Delimiter::Semicolon
        } else if line.contains(',') {
            Delimiter::Comma
        } else {
            Delimiter::Whitespace
        }
    }

    fn split(self, line: &str) -> Vec<&str> {
        let mut fields: Vec<&str> = match self {
            Delimiter::Semicolon => line.split(';').map(str::trim).collect(),
            Delimiter::Comma => line.split(',').map(str::trim).collect(),
            Delimiter::Whitespace => line.split_whitespace().collect(),
        };
        // A trailing delimiter leaves an empty last field.
        let keep = fields.len() - fields.iter().rev().take_while(|f| f.is_empty()).count();
        fields.truncate(keep);
        fields
    }

    fn name(self) -> &'static str {
        match self {
            Delimiter::Semicolon => "semicolon",
            Delimiter::Comma => "comma",
            Delimiter::Whitespace => "whitespace",
        }
    }
}

/// Which column holds what.
#[derive(Debug, Clone, Default)]
struct Columns {
    xyz: [usize; 3],
    intensity: Option<usize>,
    rgb: Option<[usize; 3]>,
    normal: Option<[usize; 3]>,
    /// Colours written as 0–1 floats, scaled to 0–255.
    rgb_unit: bool,
}

impl Columns {
    fn needed(&self) -> usize {
        let mut m = self.xyz.iter().max().copied().unwrap_or(0);
        for c in [self.rgb, self.normal].into_iter().flatten() {
            m = m.max(c[0]).max(c[1]).max(c[2]);
        }
        m.max(self.intensity.unwrap_or(0)) + 1
    }

    fn describe(&self, total: usize) -> String {
        let mut names = vec![String::new(); total.max(self.needed())];
        for (k, &c) in self.xyz.iter().enumerate() {
            names[c] = ["x", "y", "z"][k].into();
        }
        if let Some(i) = self.intensity {
            names[i] = "intensity".into();
        }
        for (set, labels) in [
            (self.rgb, ["r", "g", "b"]),
            (self.normal, ["nx", "ny", "nz"]),
        ] {
            if let Some(cols) = set {
                for (k, &c) in cols.iter().enumerate() {
                    names[c] = labels[k].into();
                }
            }
        }
        names
            .into_iter()
            .map(|n| if n.is_empty() { "-".into() } else { n })
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Columns from a header's names; `None` when x, y or z is missing.
fn columns_from_names(names: &[&str]) -> Result<Columns, LoadErrorKind> {
    let names: Vec<String> = names
        .iter()
        .map(|n| {
            n.trim_matches(['"', '\''])
                .trim_start_matches('/')
                .trim()
                .to_ascii_lowercase()
        })
        .collect();
    let find = |alts: &[&str]| names.iter().position(|n| alts.contains(&n.as_str()));
    let mut xyz = [0; 3];
    for (k, axis) in ["x", "y", "z"].iter().enumerate() {
        xyz[k] = find(&[axis]).ok_or(LoadErrorKind::MissingCoordinate(['x', 'y', 'z'][k]))?;
    }
    let triple = |a: [&[&str]; 3]| Some([find(a[0])?, find(a[1])?, find(a[2])?]);
    Ok(Columns {
        xyz,
        intensity: find(&["intensity", "i", "reflectance", "scalar_intensity"]),
        rgb: triple([&["r", "red"], &["g", "green"], &["b", "blue"]]),
        normal: triple([
            &["nx", "normal_x", "n_x"],
            &["ny", "normal_y", "n_y"],
            &["nz", "normal_z", "n_z"],
        ]),
        rgb_unit: false,
    })
}

/// Columns of a file without a header, from the number of columns and sampled values.
fn columns_from_sample(rows: &[Vec<f64>]) -> Columns {
    let n = rows.first().map_or(3, Vec::len);
    let mut c = Columns {
        xyz: [0, 1, 2],
        ..Columns::default()
    };
    let cols_3_to_6 = || rows.iter().flat_map(|r| r.get(3..6).unwrap_or(&[]).iter());
    match n {
        4 | 5 => c.intensity = Some(3),
        6 if cols_3_to_6().all(|v| v.abs() <= 1.0 + 1e-6) => c.normal = Some([3, 4, 5]),
        6 if cols_3_to_6().all(|v| v.fract() == 0.0 && (0.0..=255.0).contains(v)) => {
            c.rgb = Some([3, 4, 5])
        }
        n if n >= 7 => {
            c.intensity = Some(3);
            c.rgb = Some([4, 5, 6]);
        }
        _ => {}
    }
    c
}

/// Parses a field as f64, accepting a decimal comma where the delimiter is `;`.
fn number(field: &str, delim: Delimiter) -> Option<f64> {
    field.parse().ok().or_else(|| {
        (delim == Delimiter::Semicolon)
            .then(|| field.replace(',', ".").parse().ok())
            .flatten()
    })
}

fn is_integer_line(fields: &[&str]) -> bool {
    fields.len() == 1 && fields[0].parse::<u64>().is_ok()
}

struct Parser {
    delim: Delimiter,
    columns: Columns,
    pts: bool,
    shift_intensity: bool,
    claimed: u64,
    collector: Collector,
}

impl Parser {
    fn row(&mut self, line_no: u64, fields: &[&str]) -> Result<(), LoadErrorKind> {
        if self.pts && is_integer_line(fields) {
            // Another scan's count line.
            self.claimed += fields[0].parse::<u64>().unwrap_or(0);
            return Ok(());
        }
        let needed = self.columns.needed();
        if fields.len() < needed {
            return Err(LoadErrorKind::BadData(format!(
                "line {line_no}: {} values, expected at least {needed}",
                fields.len()
            )));
        }
        let get = |k: usize| {
            number(fields[k], self.delim).ok_or_else(|| {
                LoadErrorKind::BadData(format!("line {line_no}: `{}` is not a number", fields[k]))
            })
        };
        let c = &self.columns;
        let p = [get(c.xyz[0])?, get(c.xyz[1])?, get(c.xyz[2])?];
        let mut e = Extra::default();
        if let Some(i) = c.intensity {
            let v = get(i)?;
            e.intensity = (if self.shift_intensity { v + 2048.0 } else { v }) as f32;
        }
        if let Some(rgb) = c.rgb {
            let scale = if c.rgb_unit { 255.0 } else { 1.0 };
            for (out, &k) in e.color.iter_mut().zip(&rgb) {
                *out = clamp_u16((get(k)? * scale).round());
            }
        }
        if let Some(n) = c.normal {
            for (out, &k) in e.normal.iter_mut().zip(&n) {
                *out = get(k)? as f32;
            }
        }
        self.collector.push(p, e);
        Ok(())
    }
}

pub(super) fn read(path: &Path, opts: &LoadOptions) -> Result<PointCloud, LoadErrorKind> {
    let io = |e: std::io::Error| LoadErrorKind::io(e);
    let file = std::fs::File::open(path).map_err(io)?;
    let mut reader = BufReader::with_capacity(1 << 16, file);
    let ext_pts = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("pts"));
    let mut raw = Vec::new();
    let mut line_no = 0u64;
    let mut next_line =
        |reader: &mut BufReader<std::fs::File>| -> Result<Option<(u64, String)>, LoadErrorKind> {
            loop {
                raw.clear();
                if reader.read_until(b'\n', &mut raw).map_err(io)? == 0 {
                    return Ok(None);
                }
                line_no += 1;
                if raw.contains(&0) {
                    return Err(LoadErrorKind::NotFormat("XYZ/CSV text"));
                }
                let line = String::from_utf8_lossy(&raw);
                let line = line.trim_start_matches('\u{feff}').trim();
                if !line.is_empty() {
                    return Ok(Some((line_no, line.to_string())));
                }
            }
        };

    // The header (if any), the count line (if any), and the first data lines to sniff.
    let mut header: Option<String> = None;
    let mut count_line: Option<u64> = None;
    let mut sample: Vec<(u64, String)> = Vec::new();
    while sample.len() < SNIFF_LINES {
        let Some((no, line)) = next_line(&mut reader)? else {
            break;
        };
        let commented = line
            .strip_prefix("//")
            .or_else(|| line.strip_prefix('#'))
            .map(str::trim);
        if sample.is_empty() && header.is_none() && count_line.is_none() {
            let body = commented.unwrap_or(&line);
            let fields = Delimiter::sniff(body).split(body);
            let all_numbers = fields.iter().all(|f| f.parse::<f64>().is_ok());
            if commented.is_some() {
                if columns_from_names(&fields).is_ok() {
                    header = Some(body.to_string());
                }
                continue;
            }
            if is_integer_line(&fields) {
                count_line = Some(fields[0].parse().unwrap_or(0));
                continue;
            }
            if !all_numbers {
                header = Some(line);
                continue;
            }
        }
        if commented.is_some() {
            continue;
        }
        sample.push((no, line));
    }
    let Some((_, first)) = sample.first() else {
        return Err(LoadErrorKind::NoPoints { dropped: 0 });
    };
    let delim = Delimiter::sniff(first);
    let mut columns = match &header {
        Some(h) => {
            let names = if h.contains([';', ',']) {
                Delimiter::sniff(h).split(h)
            } else {
                h.split_whitespace().collect()
            };
            columns_from_names(&names)?
        }
        None => {
            let rows: Vec<Vec<f64>> = sample
                .iter()
                .map(|(_, l)| {
                    delim
                        .split(l)
                        .iter()
                        .filter_map(|f| number(f, delim))
                        .collect()
                })
                .collect();
            columns_from_sample(&rows)
        }
    };
    if let Some(rgb) = columns.rgb {
        // 0–1 float colours (Open3D's xyzrgb) are scaled to 0–255.
        let values: Vec<f64> = sample
            .iter()
            .flat_map(|(_, l)| {
                let f = delim.split(l);
                rgb.iter()
                    .filter_map(|&k| f.get(k).and_then(|v| number(v, delim)))
                    .collect::<Vec<_>>()
            })
            .collect();
        columns.rgb_unit = values.iter().all(|v| (0.0..=1.0).contains(v))
            && values.iter().any(|v| v.fract() != 0.0);
    }
    let total_columns = delim.split(first).len();
    let described = columns.describe(total_columns);
    let has = Has {
        intensity: columns.intensity.is_some(),
        color: columns.rgb.is_some(),
        normal: columns.normal.is_some(),
    };
    let pts = count_line.is_some() || ext_pts;
    let mut parser = Parser {
        delim,
        columns,
        pts,
        shift_intensity: ext_pts,
        claimed: count_line.unwrap_or(0),
        collector: Collector::new(opts, has),
    };
    for (no, line) in &sample {
        parser.row(*no, &delim.split(line))?;
    }
    while let Some((no, line)) = next_line(&mut reader)? {
        if line.starts_with('#') || line.starts_with("//") {
            continue;
        }
        parser.row(no, &delim.split(&line))?;
    }
    let found = parser.collector.seen();
    if count_line.is_some() && found != parser.claimed {
        if found < parser.claimed {
            return Err(LoadErrorKind::Truncated {
                expected: parser.claimed,
                found,
            });
        }
        return Err(LoadErrorKind::BadHeader(format!(
            "count line says {} points, the file holds {found}",
            parser.claimed
        )));
    }
    let version = format!(
        "{}{}-delimited, {}columns {described}",
        if count_line.is_some() { "PTS, " } else { "" },
        delim.name(),
        if header.is_some() { "named " } else { "" },
    );
    let meta = SourceMeta {
        format: Format::Text,
        version: Some(version),
        ..SourceMeta::memory(found)
    };
    Ok(parser.collector.finish(meta))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delimiters_and_unnamed_columns() {
        assert_eq!(Delimiter::sniff("1,2,3"), Delimiter::Comma);
        assert_eq!(Delimiter::sniff("1;2,5;3"), Delimiter::Semicolon);
        assert_eq!(Delimiter::Comma.split("1, 2,3,"), vec!["1", "2", "3"]);
        assert_eq!(number("2,5", Delimiter::Semicolon), Some(2.5));
        assert_eq!(number("2,5", Delimiter::Comma), None);
        let normals = columns_from_sample(&[vec![5.0, 6.0, 7.0, 0.0, 0.0, 1.0]]);
        assert_eq!(normals.normal, Some([3, 4, 5]));
        let rgb = columns_from_sample(&[vec![5.0, 6.0, 7.0, 0.0, 128.0, 255.0]]);
        assert_eq!(rgb.rgb, Some([3, 4, 5]));
        let c = columns_from_names(&["//X", "Y", "Z", "R", "G", "B"]).unwrap();
        assert_eq!((c.xyz, c.rgb), ([0, 1, 2], Some([3, 4, 5])));
        assert_eq!(
            columns_from_names(&["a", "y", "z"]).unwrap_err(),
            LoadErrorKind::MissingCoordinate('x')
        );
    }
}
