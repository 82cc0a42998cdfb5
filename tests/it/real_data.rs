//! Every file of the shared real-data folder (`../shared/data`, written by other tools) either
//! loads with the expected point count and bounds or fails with the expected clear error, never a
//! panic, and within a few seconds. Counts and bounds are checked against laspy / plyfile
//! (scripts/loader_reference.py → tests/data/loader_reference.json) and objects/index.csv.

use calip3d::load::{load, LoadOptions};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The shared folder, or None (with a loud message) when CALIP3D_SKIP_SHARED=1 allows its absence.
fn shared() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data");
    if dir.is_dir() {
        return Some(dir);
    }
    let msg = format!(
        "{} is missing: the real-data tests cannot run",
        dir.display()
    );
    if std::env::var("CALIP3D_SKIP_SHARED").as_deref() == Ok("1") {
        eprintln!("WARNING: {msg} (skipped because CALIP3D_SKIP_SHARED=1)");
        return None;
    }
    panic!("{msg}; set CALIP3D_SKIP_SHARED=1 to skip them knowingly");
}

/// Files that must fail, with a part of their message.
const EXPECTED_ERRORS: &[(&str, &str)] = &[
    (
        "lidar/pdal/1.2-no-points.las",
        "truncated: header says 1065 points, file holds 0",
    ),
    // Its VLR count is garbage (no VLR fits before the points); read without VLRs, its header
    // still promises one point more than the file holds.
    (
        "lidar/pdal/garbage_nVariableLength.las",
        "truncated: header says 719 points, file holds 718",
    ),
    (
        "lidar/pdal/simple-laszip-compressor-version-1.2r0.laz",
        "the decoder failed: Variable-size chunks, but no chunk table",
    ),
    ("lidar/pdal/no-points.las", "no points"),
    ("ply/pdal/no_vertex.ply", "no vertex element"),
    ("ply/pdal/sized_dims.ply", "no z coordinate"),
    ("ply/pdal/unsized_dims.ply", "no z coordinate"),
    (
        "ply/ply-rs-bw/all_atomic_types_ok_ascii.ply",
        "no x coordinate",
    ),
    (
        "ply/ply-rs-bw/exponent_values_ok_ascii.ply",
        "no z coordinate",
    ),
    ("ply/ply-rs-bw/header_min_ok_ascii.ply", "no vertex element"),
    (
        "ply/ply-rs-bw/leading_spaces_ok_ascii.ply",
        "no z coordinate",
    ),
];

fn all_files(root: &Path, dir: &str, exts: &[&str]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.join(dir)];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p
                .extension()
                .and_then(|x| x.to_str())
                .is_some_and(|x| exts.contains(&x))
            {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

#[test]
fn lidar_and_ply_files_load_with_the_reference_counts_or_fail_clearly() {
    let Some(root) = shared() else { return };
    let reference: Value = serde_json::from_str(include_str!("../data/loader_reference.json"))
        .expect("reference JSON");
    let all = LoadOptions {
        max_points: 0,
        ..Default::default()
    };
    let mut files = all_files(&root, "lidar", &["las", "laz"]);
    files.extend(all_files(&root, "ply", &["ply"]));
    assert!(files.len() >= 60, "only {} files", files.len());
    for path in files {
        let rel = path
            .strip_prefix(&root)
            .unwrap()
            .to_string_lossy()
            .to_string();
        let result = load(&path, &all);
        let expected_error = EXPECTED_ERRORS
            .iter()
            .find(|(f, _)| *f == rel)
            .map(|(_, e)| *e);
        match (result, expected_error) {
            (Err(e), Some(part)) => {
                let msg = e.to_string();
                assert!(msg.contains(part), "{rel}: `{msg}` should say `{part}`");
                assert!(
                    msg.starts_with(&path.display().to_string()),
                    "{rel}: the error names the file: {msg}"
                );
            }
            (Err(e), None) => panic!("{rel} should load: {e}"),
            (Ok(_), Some(part)) => panic!("{rel} should fail with `{part}`"),
            (Ok(cloud), None) => {
                let r = &reference[&rel];
                if r.get("reference_failed").is_some() {
                    // The reference reader could not read it; the count is the header's.
                    assert!(cloud.len() as u64 <= cloud.meta.points_in_file, "{rel}");
                    continue;
                }
                assert_eq!(
                    cloud.meta.points_in_file,
                    r["header_points"].as_u64().unwrap(),
                    "{rel}: header count"
                );
                let faces = cloud.meta.faces_in_file.unwrap_or(0);
                if faces == 0 {
                    assert_eq!(
                        cloud.len() as u64,
                        r["read"].as_u64().unwrap(),
                        "{rel}: points read"
                    );
                }
                let b = cloud.meta.bounds.expect("bounds");
                for k in 0..3 {
                    let (lo, hi) = (r["min"][k].as_f64().unwrap(), r["max"][k].as_f64().unwrap());
                    assert!(
                        (b.min[k] - lo).abs() <= 1e-6 * (1.0 + lo.abs()),
                        "{rel}: min[{k}] {} vs {lo}",
                        b.min[k]
                    );
                    assert!(
                        (b.max[k] - hi).abs() <= 1e-6 * (1.0 + hi.abs()),
                        "{rel}: max[{k}] {} vs {hi}",
                        b.max[k]
                    );
                }
            }
        }
    }
}

#[test]
fn every_labelled_object_loads_with_its_vertex_count_and_the_point_budget() {
    let Some(root) = shared() else { return };
    let index = std::fs::read_to_string(root.join("objects/index.csv")).unwrap();
    let mut rows = 0;
    for line in index.lines().skip(1) {
        let f: Vec<&str> = line.splitn(9, ',').collect();
        let (rel, vertices, faces): (&str, u64, u64) =
            (f[0], f[4].parse().unwrap(), f[5].parse().unwrap());
        let path = root.join("objects").join(rel);
        let cloud = load(&path, &LoadOptions::default()).unwrap_or_else(|e| panic!("{rel}: {e}"));
        if !rel.ends_with(".obj") {
            // OBJ vertex counts in the index come from another tool that merges vertices.
            assert_eq!(cloud.meta.points_in_file, vertices, "{rel}: vertices");
        }
        let expected = if faces > 0 {
            1024
        } else {
            vertices.min(1024) as usize
        };
        assert_eq!(cloud.len(), expected, "{rel}");
        assert!(
            cloud
                .positions()
                .iter()
                .all(|p| p.coords.iter().all(|c| c.is_finite())),
            "{rel}"
        );
        let again = load(&path, &LoadOptions::default()).unwrap();
        assert_eq!(
            again.positions(),
            cloud.positions(),
            "{rel}: the same file gives the same points"
        );
        rows += 1;
    }
    assert_eq!(rows, 107);
}
