//! `calip3d info`: what a point-cloud file holds.

use crate::pipeline_args::UpAxisArg;
use calip3d::load::hdf5::{is_hdf5, H5File};
use calip3d::load::{load, LoadOptions};
use calip3d::PointCloud;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// Point-cloud files.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// One JSON object per file per line.
    #[arg(long)]
    pub json: bool,
    /// Points to read (0 = all; meshes: 0 gives the vertices, N samples N surface points).
    #[arg(long, default_value_t = 0)]
    pub max_points: usize,
    /// Up axis (default: z for LAS/LAZ, KITTI and E57, y otherwise).
    #[arg(long, value_enum)]
    pub up_axis: Option<UpAxisArg>,
    /// Read the files as this format instead of detecting it (e.g. `kitti` for a `.bin`).
    #[arg(long)]
    pub format: Option<calip3d::Format>,
}

/// Names of the per-point attributes a cloud carries.
fn attributes(c: &PointCloud) -> Vec<&'static str> {
    let mut a = vec![];
    if c.intensity().is_some() {
        a.push("intensity");
    }
    if c.colors().is_some() {
        a.push("rgb");
    }
    if c.classification().is_some() {
        a.push("classification");
    }
    if c.normals().is_some() {
        a.push("normals");
    }
    a
}

pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let opts = LoadOptions {
        max_points: args.max_points,
        up_axis: args.up_axis.map(Into::into),
        format: args.format,
        ..Default::default()
    };
    let mut failed = 0usize;
    for path in &args.files {
        let file = path.display().to_string();
        if is_hdf5_path(path) {
            failed += usize::from(!hdf5_info(path, args.json));
            continue;
        }
        match load(path, &opts) {
            Ok(c) => {
                let m = &c.meta;
                let bounds = m.bounds.map(|b| json!({"min": b.min, "max": b.max}));
                if args.json {
                    let j = json!({
                        "path": file,
                        "format": m.format,
                        "version": m.version,
                        "point_format": m.point_format,
                        "points": m.points_in_file,
                        "faces": m.faces_in_file,
                        "read": c.len(),
                        "dropped_non_finite": m.dropped_non_finite,
                        "bounds": bounds,
                        "offset": m.offset,
                        "up_axis": c.up_axis,
                        "attributes": attributes(&c),
                    });
                    println!("{j}");
                } else {
                    let fmt = calip3d::load::format::spec(m.format).map_or("in memory", |s| s.name);
                    println!("{file}");
                    let version = m.version.clone().unwrap_or_default();
                    let pf = m
                        .point_format
                        .map(|p| format!(", point format {p}"))
                        .unwrap_or_default();
                    println!("  format      {fmt} {version}{pf}");
                    println!(
                        "  up axis     {}",
                        serde_json::to_value(c.up_axis)?.as_str().unwrap_or("")
                    );
                    let faces = m
                        .faces_in_file
                        .map(|f| format!(", {f} faces"))
                        .unwrap_or_default();
                    println!(
                        "  points      {} in file{faces}, {} read",
                        m.points_in_file,
                        c.len()
                    );
                    if m.dropped_non_finite > 0 {
                        println!(
                            "  dropped     {} with NaN/infinite coordinates",
                            m.dropped_non_finite
                        );
                    }
                    if let Some(b) = m.bounds {
                        println!("  bounds      min {:?}", b.min);
                        println!("              max {:?}", b.max);
                    }
                    println!("  attributes  {}", attributes(&c).join(", "));
                }
            }
            Err(e) => {
                failed += 1;
                if args.json {
                    println!("{}", json!({"path": file, "error": e.kind.to_string()}));
                } else {
                    eprintln!("error: {e}");
                }
            }
        }
    }
    Ok(crate::exit::after_inputs(failed))
}

/// An HDF5 file by its signature, or by its extension (so that a broken one gets HDF5's errors).
fn is_hdf5_path(path: &Path) -> bool {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    is_hdf5(path) || matches!(ext.as_deref(), Some("h5" | "hdf5"))
}

/// Prints an HDF5 file's arrays with their shapes and types, and its shape count (the first
/// dimension of `data`, as the benchmark files store shapes). False when the file is broken.
fn hdf5_info(path: &Path, as_json: bool) -> bool {
    let file = path.display().to_string();
    let listed = H5File::open(path).and_then(|h| h.arrays());
    match listed {
        Ok(arrays) => {
            let shapes = arrays
                .iter()
                .find(|a| a.name == "data" && a.shape.len() == 3)
                .map(|a| a.rows());
            if as_json {
                let list: Vec<_> = arrays
                    .iter()
                    .map(
                        |a| json!({"name": a.name, "shape": a.shape, "dtype": a.dtype.to_string()}),
                    )
                    .collect();
                println!(
                    "{}",
                    json!({"path": file, "format": "hdf5", "arrays": list, "shapes": shapes})
                );
            } else {
                println!("{file}");
                println!("  format      HDF5");
                if let Some(n) = shapes {
                    println!("  shapes      {n}");
                }
                let width = arrays.iter().map(|a| a.name.len()).max().unwrap_or(0);
                for a in &arrays {
                    let dims: Vec<String> = a.shape.iter().map(u64::to_string).collect();
                    println!(
                        "  array       {:<width$}  ({})  {}",
                        a.name,
                        dims.join(", "),
                        a.dtype
                    );
                }
            }
            true
        }
        Err(e) => {
            if as_json {
                println!("{}", json!({"path": file, "error": e.kind.to_string()}));
            } else {
                eprintln!("error: {e}");
            }
            false
        }
    }
}
