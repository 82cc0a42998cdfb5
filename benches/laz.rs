//! LAZ decoding speed, points/s: calip3d's reader ([`read_point_records`], which decodes the
//! streams with LASzip v2 GPS times through our own chunk loop and GPS time decompressor) against
//! the published `las` + `laz` reader, on the same files in the same run. Both read the whole file
//! from disk (page cache) into LAS records; ours also runs the structure checks of
//! `src/load/las.rs`. The ratio is ours / published (1.0 = as fast; issue 20 asks ≥ 0.9).
//!
//! ```text
//! cargo bench --bench laz                      # every LAZ file of ../shared/data
//! cargo bench --bench laz -- a.laz b.laz       # these files
//! CALIP3D_BENCH_ROUNDS=9 cargo bench --bench laz
//! ```
//!
//! Rounds alternate the two readers, so that a slower moment of a shared machine hits both; each
//! figure is the median round; a round decodes a small file several times (≥ 50,000 points).
//! Files that `las` decodes both ways (no v2 GPS time) are a control: their ratio shows the noise.

use calip3d::load::{read_point_records, RecordDecoder};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Every `.laz` file under `dir`, recursively, sorted.
fn laz_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = entries.filter_map(|e| Some(e.ok()?.path())).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            laz_files(&path, out);
        } else if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("laz"))
        {
            out.push(path);
        }
    }
}

fn published(path: &Path) -> usize {
    let mut reader = las::Reader::from_path(path).expect("published reader opens the file");
    reader
        .read_all()
        .expect("published reader decodes the file")
        .len()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let args: Vec<PathBuf> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .map(PathBuf::from)
        .collect();
    let mut files = args;
    if files.is_empty() {
        laz_files(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data"),
            &mut files,
        );
    }
    let rounds: usize = std::env::var("CALIP3D_BENCH_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(7);
    // Points decoded per round and reader, at least.
    let min_points: usize = 50_000;
    // Panics that the readers contain (the published decoder on some files) stay quiet.
    calip3d::install_panic_hook();
    println!(
        "{:<48} {:>9} {:>10} {:>14} {:>14} {:>7}",
        "file", "points", "decoder", "ours pts/s", "published", "ratio"
    );
    let (mut ours_total, mut theirs_total, mut points_total) = (0.0, 0.0, 0usize);
    for path in &files {
        let name = path
            .strip_prefix(Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data"))
            .unwrap_or(path)
            .display()
            .to_string();
        let Ok(first) = read_point_records(path) else {
            println!("{name:<48} (calip3d does not read it)");
            continue;
        };
        let points = first.bytes.len() / first.record_len.max(1);
        // Files the published reader cannot decode (it panics on some) are left out.
        if std::panic::catch_unwind(|| published(path)).ok() != Some(points) {
            println!("{name:<48} (the published reader does not read it)");
            continue;
        }
        // Small files are decoded several times a round, so that a round is long enough to time.
        let reps = (min_points / points.max(1)).max(1);
        let (mut ours, mut theirs) = (Vec::new(), Vec::new());
        for _ in 0..rounds {
            let t = Instant::now();
            for _ in 0..reps {
                let n = read_point_records(path).expect("decodes").bytes.len();
                assert_eq!(n, first.bytes.len());
            }
            ours.push(t.elapsed().as_secs_f64() / reps as f64);
            let t = Instant::now();
            for _ in 0..reps {
                assert_eq!(published(path), points);
            }
            theirs.push(t.elapsed().as_secs_f64() / reps as f64);
        }
        let (o, p) = (median(ours), median(theirs));
        let decoder = match first.decoder {
            RecordDecoder::GpsTimeV2 => "calip3d",
            RecordDecoder::Las => "las",
        };
        if first.decoder == RecordDecoder::GpsTimeV2 {
            ours_total += o;
            theirs_total += p;
            points_total += points;
        }
        println!(
            "{name:<48} {points:>9} {decoder:>10} {:>14.0} {:>14.0} {:>7.3}",
            points as f64 / o,
            points as f64 / p,
            p / o
        );
    }
    if points_total > 0 {
        println!(
            "files through calip3d's GPS time decoder: {points_total} points, ours {:.0} pts/s, \
             published {:.0} pts/s, ratio {:.3}",
            points_total as f64 / ours_total,
            points_total as f64 / theirs_total,
            theirs_total / ours_total
        );
    }
}
