//! PCD, KITTI, NPY, XYZ/CSV/PTS, E57 and the OFF dialects, written by independent writers
//! (scripts/make_format_fixtures.py → tests/data/formats): the same points read back exactly as
//! through PLY (plyfile), give exactly the same logits, keep their attributes; broken files of
//! every format fail with clear errors naming the file; batch folders and `info` know them all.

use calip3d::load::{load, LoadErrorKind, LoadOptions};
use calip3d::{Format, PointCloud, UpAxis};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/formats")
}

fn expected() -> Value {
    serde_json::from_str(include_str!("../data/formats/expected.json")).expect("expected.json")
}

fn all() -> LoadOptions {
    LoadOptions {
        max_points: 0,
        ..Default::default()
    }
}

fn read(name: &str, opts: &LoadOptions) -> PointCloud {
    load(&dir().join(name), opts).unwrap_or_else(|e| panic!("{e}"))
}

/// Names of the fixture files of one kind (`points` or `mesh`).
fn files_of(kind: &str) -> Vec<String> {
    let e = expected();
    let mut names: Vec<String> = e["files"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, v)| v["kind"] == kind)
        .map(|(k, _)| k.clone())
        .collect();
    names.sort();
    names
}

fn attributes(c: &PointCloud) -> Vec<&'static str> {
    let mut a = vec![];
    if c.intensity().is_some() {
        a.push("intensity");
    }
    if c.colors().is_some() {
        a.push("rgb");
    }
    if c.normals().is_some() {
        a.push("normals");
    }
    a
}

#[test]
fn every_point_format_reads_exactly_the_points_of_the_ply() {
    let reference = read("reference.ply", &all());
    let e = expected();
    let names = files_of("points");
    assert_eq!(names.len(), 17, "{names:?}");
    for name in &names {
        let want = &e["files"][name];
        let c = read(name, &all());
        assert_eq!(c.positions(), reference.positions(), "{name}: positions");
        assert_eq!(c.meta.offset, reference.meta.offset, "{name}: offset");
        assert_eq!(c.meta.bounds, reference.meta.bounds, "{name}: bounds");
        assert_eq!(
            c.meta.dropped_non_finite,
            want["dropped"].as_u64().unwrap(),
            "{name}: dropped"
        );
        assert_eq!(
            c.meta.points_in_file,
            want["points_in_file"].as_u64().unwrap(),
            "{name}: points in file"
        );
        let attrs: Vec<&str> = want["attributes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap())
            .collect();
        assert_eq!(attributes(&c), attrs, "{name}: attributes");
        if let Some(rgb) = want.get("rgb_first") {
            let got: Vec<Vec<u16>> = c.colors().as_ref().unwrap()[..5]
                .iter()
                .map(|c| c.to_vec())
                .collect();
            let rgb: Vec<Vec<u16>> = serde_json::from_value(rgb.clone()).unwrap();
            assert_eq!(got, rgb, "{name}: colours");
        }
        if let Some(i) = want.get("intensity_first") {
            let i: Vec<u16> = serde_json::from_value(i.clone()).unwrap();
            assert_eq!(
                &c.intensity().as_ref().unwrap()[..5],
                &i[..],
                "{name}: intensity"
            );
        }
        let up = if want["up_axis"] == "z" {
            UpAxis::Z
        } else {
            UpAxis::Y
        };
        assert_eq!(c.up_axis, up, "{name}: up axis");
        // The file's own order is kept, and indices skip the dropped points.
        let index = c.source_index().unwrap();
        assert_eq!(index.len(), c.len());
        assert!(index.windows(2).all(|w| w[0] < w[1]), "{name}");
    }
    // The organised PCD drops every sixth point from the fourth on (NaN): indices say which.
    let organised = read("pcl_binary_compressed_organised.pcd", &all());
    assert_eq!(&organised.source_index().unwrap()[..5], &[0, 1, 2, 4, 5]);
    // ModelNet's x,y,z,nx,ny,nz lines keep their normals (float32 values written to 17 digits).
    let with_normals = read("modelnet_normals.txt", &all());
    let normals = with_normals.normals().unwrap();
    assert!(normals
        .iter()
        .all(|n| ((n[0] * n[0] + n[1] * n[1] + n[2] * n[2]) - 1.0).abs() < 1e-5));
    // Subsampling picks the same points whatever the format.
    let some = LoadOptions {
        max_points: 100,
        ..Default::default()
    };
    let sub = read("reference.ply", &some).positions().to_vec();
    for name in [
        "pcl_binary_compressed_organised.pcd",
        "f64_big_endian_fortran.npy",
        "leica.pts",
    ] {
        assert_eq!(read(name, &some).positions(), sub, "{name}");
    }
}

#[test]
fn every_off_dialect_samples_exactly_like_the_ply_mesh() {
    let sampled = LoadOptions::default();
    let reference = read("mesh_reference.ply", &sampled);
    let vertices = read("mesh_reference.ply", &all());
    let names = files_of("mesh");
    assert!(names.len() >= 10, "{names:?}");
    for name in &names {
        let c = read(name, &sampled);
        assert_eq!(c.meta.format, Format::Off, "{name}");
        assert_eq!(
            c.positions(),
            reference.positions(),
            "{name}: surface samples"
        );
        assert_eq!(c.meta.faces_in_file, Some(8), "{name}");
        assert_eq!(
            read(name, &all()).positions(),
            vertices.positions(),
            "{name}: vertices"
        );
    }
    let keyword = read("stcnoff_everything.off", &all()).meta.version;
    assert_eq!(keyword.as_deref(), Some("STCNOFF"));
}

#[test]
fn every_format_gives_exactly_the_logits_of_the_ply() {
    let model = crate::common::tiny_model();
    let mut files = vec!["reference.ply".to_string()];
    files.extend(files_of("points"));
    files.push("mesh_reference.ply".into());
    files.extend(files_of("mesh"));
    let paths: Vec<String> = files
        .iter()
        .map(|f| dir().join(f).display().to_string())
        .collect();
    let mut args: Vec<&str> = vec!["classify"];
    args.extend(paths.iter().map(String::as_str));
    // y up for all: KITTI and E57 default to z up, which rotates the cloud before projecting.
    args.extend([
        "--classes",
        "chair,table,lamp",
        "--model",
        model.to_str().unwrap(),
        "--device",
        "cpu",
        "--up-axis",
        "y",
        "--json",
        "--quiet",
    ]);
    let out = crate::common::calip3d(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = crate::common::json_lines(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(lines.len(), files.len());
    let logits = |name: &str| {
        let i = files.iter().position(|f| f == name).unwrap();
        lines[i]["logits"].clone()
    };
    let (points, mesh) = (logits("reference.ply"), logits("mesh_reference.ply"));
    assert_ne!(points, mesh);
    for name in files_of("points") {
        assert_eq!(logits(&name), points, "{name}");
    }
    for name in files_of("mesh") {
        assert_eq!(logits(&name), mesh, "{name}");
    }
}

#[test]
fn kitti_is_told_by_size_or_by_format() {
    let tmp = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(dir().join("kitti_000000.bin")).unwrap();
    let odd = tmp.path().join("odd.bin");
    std::fs::write(&odd, &bytes[..bytes.len() - 3]).unwrap();
    let err = load(&odd, &all()).unwrap_err().to_string();
    assert!(
        err.starts_with(&odd.display().to_string())
            && err.contains("7997 bytes is not a KITTI velodyne scan"),
        "{err}"
    );
    let renamed = tmp.path().join("scan.dat");
    std::fs::write(&renamed, &bytes).unwrap();
    assert!(matches!(
        load(&renamed, &all()).unwrap_err().kind,
        LoadErrorKind::UnknownFormat(_)
    ));
    let forced = LoadOptions {
        format: Some(Format::Kitti),
        ..all()
    };
    let c = load(&renamed, &forced).unwrap();
    assert_eq!(c.len(), 500);
    assert_eq!(c.up_axis, UpAxis::Z);
    // The CLI's --format does the same.
    let out = crate::common::calip3d(&[
        "info",
        renamed.to_str().unwrap(),
        "--format",
        "kitti",
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let j = &crate::common::json_lines(&String::from_utf8_lossy(&out.stdout))[0];
    assert_eq!(j["format"], "kitti");
    assert_eq!(j["points"], 500);
    assert_eq!(j["up_axis"], "z");
    assert_eq!(j["attributes"], serde_json::json!(["intensity"]));
    let out = crate::common::calip3d(&["info", renamed.to_str().unwrap(), "--format", "vtk"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown format `vtk`"));
}

#[test]
fn real_pcl_files_read_as_pypcd4_reads_them() {
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/pcd");
    if !shared.is_dir() {
        assert_eq!(
            std::env::var("CALIP3D_SKIP_SHARED").as_deref(),
            Ok("1"),
            "{} is missing; set CALIP3D_SKIP_SHARED=1 to skip knowingly",
            shared.display()
        );
        eprintln!("WARNING: {} missing, skipped", shared.display());
        return;
    }
    let reference: Value =
        serde_json::from_str(include_str!("../data/formats/pcl_reference.json")).unwrap();
    let reference = reference.as_object().unwrap();
    assert_eq!(reference.len(), 8);
    for (name, r) in reference {
        let c = read_path(&shared.join(name));
        assert_eq!(c.meta.format, Format::Pcd, "{name}");
        assert_eq!(
            c.meta.points_in_file,
            r["points"].as_u64().unwrap(),
            "{name}"
        );
        assert_eq!(
            c.meta.dropped_non_finite,
            r["dropped"].as_u64().unwrap(),
            "{name}"
        );
        assert_eq!(
            c.len() as u64,
            r["points"].as_u64().unwrap() - r["dropped"].as_u64().unwrap(),
            "{name}"
        );
        let b = c.meta.bounds.unwrap();
        // float32 values; serde_json's float parsing may be off by an f64 ulp.
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-12 * b.abs().max(1.0);
        for k in 0..3 {
            let (lo, hi) = (r["min"][k].as_f64().unwrap(), r["max"][k].as_f64().unwrap());
            assert!(close(b.min[k], lo), "{name} min {k}: {} vs {lo}", b.min[k]);
            assert!(close(b.max[k], hi), "{name} max {k}: {} vs {hi}", b.max[k]);
        }
        let fields: Vec<&str> = r["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f.as_str().unwrap())
            .collect();
        assert_eq!(
            c.colors().is_some(),
            fields.contains(&"rgb") || fields.contains(&"rgba"),
            "{name}"
        );
        assert_eq!(
            c.intensity().is_some(),
            fields.contains(&"intensity"),
            "{name}"
        );
        assert_eq!(
            c.normals().is_some(),
            fields.contains(&"normal_x"),
            "{name}"
        );
    }
    // cturtle's float intensities lie in [0, 1]: kept on the u16 scale, not clamped to 0.
    let turtle = read_path(&shared.join("cturtle.pcd"));
    let max = *turtle.intensity().unwrap().iter().max().unwrap();
    assert!(max > 60_000, "{max}");
}

fn read_path(p: &Path) -> PointCloud {
    load(p, &all()).unwrap_or_else(|e| panic!("{e}"))
}

/// Writes `bytes` as `name` in `tmp` and loads it: the error, which must name the file.
fn broken(tmp: &Path, name: &str, bytes: &[u8]) -> String {
    let path = tmp.join(name);
    std::fs::write(&path, bytes).unwrap();
    let err = match load(&path, &all()) {
        Ok(c) => panic!("{name} loaded {} points", c.len()),
        Err(e) => e,
    };
    assert!(
        !matches!(err.kind, LoadErrorKind::Decoder(_)),
        "{name}: a decoder panicked: {err}"
    );
    let msg = err.to_string();
    assert!(
        msg.starts_with(&path.display().to_string()),
        "{name}: the error names the file: {msg}"
    );
    msg
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(dir().join(name)).unwrap()
}

/// Replaces the first `from` in `bytes` by `to`.
fn patch(bytes: &[u8], from: &str, to: &str) -> Vec<u8> {
    let at = bytes
        .windows(from.len())
        .position(|w| w == from.as_bytes())
        .unwrap_or_else(|| panic!("no `{from}`"));
    [&bytes[..at], to.as_bytes(), &bytes[at + from.len()..]].concat()
}

#[test]
fn broken_files_of_every_new_format_fail_clearly() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let huge = (1u64 << 40).to_string();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        // PCD
        {
            let b = fixture("pypcd4_binary_rgb.pcd");
            (
                "truncated.pcd",
                b[..b.len() - 100].to_vec(),
                "truncated: header says 500 points, file holds 493",
            )
        },
        (
            "huge_binary.pcd",
            patch(
                &patch(
                    &fixture("pypcd4_binary_rgb.pcd"),
                    "POINTS 500",
                    &format!("POINTS {huge}"),
                ),
                "WIDTH 500",
                &format!("WIDTH {huge}"),
            ),
            "truncated: header says 1099511627776 points",
        ),
        (
            "huge_ascii.pcd",
            patch(
                &fixture("pypcd4_ascii.pcd"),
                "POINTS 500",
                &format!("POINTS {huge}"),
            ),
            "truncated: header says 1099511627776 points",
        ),
        (
            "huge_compressed.pcd",
            patch(
                &fixture("pcl_binary_compressed_organised.pcd"),
                "POINTS 600",
                &format!("POINTS {huge}"),
            ),
            "but 1099511627776 points of 16 bytes",
        ),
        {
            // The compressed-size word claims more than the file holds.
            let mut b = fixture("pcl_binary_compressed_organised.pcd");
            let at = b
                .windows(22)
                .position(|w| w == b"DATA binary_compressed")
                .unwrap()
                + 23;
            b[at..at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
            (
                "lying_compressed_size.pcd",
                b,
                "4294967295 compressed bytes claimed",
            )
        },
        {
            let b = fixture("pcl_binary_compressed_organised.pcd");
            (
                "truncated_compressed.pcd",
                b[..b.len() - 40].to_vec(),
                "compressed bytes claimed, the file holds",
            )
        },
        {
            // Damaged LZF data (a back reference before the start).
            let mut b = fixture("pcl_binary_compressed_organised.pcd");
            let at = b
                .windows(22)
                .position(|w| w == b"DATA binary_compressed")
                .unwrap()
                + 23
                + 8;
            b[at] = 0xFF;
            b[at + 1] = 0xFF;
            ("bad_lzf.pcd", b, "LZF")
        },
        (
            "wrong_type.pcd",
            patch(&fixture("pypcd4_ascii.pcd"), "TYPE F F F F", "TYPE F F F Q"),
            "bad header",
        ),
        (
            "bad_ascii_value.pcd",
            patch(&fixture("pypcd4_ascii.pcd"), "11.5000000000", "eleven"),
            "point 0 of 500",
        ),
        (
            "no_z.pcd",
            patch(&fixture("pypcd4_ascii.pcd"), "FIELDS x y z", "FIELDS x y w"),
            "no z coordinate",
        ),
        // NPY
        {
            let b = fixture("f32_c.npy");
            (
                "truncated.npy",
                b[..b.len() - 13].to_vec(),
                "truncated: header says 500 points, file holds 498",
            )
        },
        (
            "huge.npy",
            patch(&fixture("f32_c.npy"), "(500, 3)", &format!("({huge}, 3)")),
            "truncated: header says 1099511627776 points",
        ),
        (
            "ints.npy",
            patch(&fixture("f32_c.npy"), "<f4", "<i4"),
            "dtype `<i4` is not supported",
        ),
        (
            "two_columns.npy",
            patch(&fixture("f32_c.npy"), "(500, 3)", "(750, 2)"),
            "shape [750, 2]",
        ),
        ("not.npy", b"\x93NUMPX\x01\x00".to_vec(), "not a NPY file"),
        {
            let b = fixture("f32_c.npy");
            (
                "header_cut.npy",
                b[..40].to_vec(),
                "does not fit in a 40-byte file",
            )
        },
        // KITTI
        {
            let b = fixture("kitti_000000.bin");
            (
                "cut.bin",
                b[..b.len() - 5].to_vec(),
                "is not a KITTI velodyne scan",
            )
        },
        // text
        (
            "bad_number.xyz",
            b"1 2 3\n4 five 6\n".to_vec(),
            "line 2: `five` is not a number",
        ),
        (
            "short_row.csv",
            b"x,y,z\n1,2,3\n4,5\n".to_vec(),
            "line 3: 2 values, expected at least 3",
        ),
        ("no_x.csv", b"a,y,z\n1,2,3\n".to_vec(), "no x coordinate"),
        (
            "lying_count.pts",
            patch(&fixture("leica.pts"), "500\n", "600\n"),
            "truncated: header says 600 points, file holds 500",
        ),
        (
            "huge_count.pts",
            format!("{huge}\n1 2 3 0 1 2 3\n").into_bytes(),
            "truncated: header says 1099511627776 points",
        ),
        (
            "binary.xyz",
            b"1 2 3\n\0\0\0\n".to_vec(),
            "not a XYZ/CSV text file",
        ),
        ("only_header.csv", b"x,y,z\n".to_vec(), "no points"),
        // E57
        {
            let b = fixture("two_scans.e57");
            ("truncated.e57", b[..b.len() / 2].to_vec(), "bad header")
        },
        (
            "not.e57",
            b"ASTM-E57 but nothing else".to_vec(),
            "bad header",
        ),
        {
            // Cut at a page boundary: the XML section at the end is gone.
            let b = fixture("two_scans.e57");
            (
                "page_cut.e57",
                b[..b.len() - 1024].to_vec(),
                "cannot read 7136 bytes of XML data",
            )
        },
        {
            // A flipped byte in the first scan's data: its page checksum fails.
            let mut b = fixture("two_scans.e57");
            b[3000] ^= 0xFF;
            ("flipped.e57", b, "scan 0 (250 points)")
        },
        // OFF
        (
            "huge.off",
            format!("OFF\n{huge} 1 0\n0 0 0\n").into_bytes(),
            "1099511627776 vertices and 1 faces do not fit",
        ),
        (
            "lying_vertices.off",
            patch(&fixture("plain.off"), "7 8 0", "9 8 0"),
            "face size",
        ),
        (
            "truncated.off",
            b"OFF\n4 1 0\n0 0 0\n1 0 0\n".to_vec(),
            "truncated: header says 4 points, file holds 2",
        ),
        (
            "bad_index.off",
            b"OFF\n3 1 0\n0 0 0\n1 0 0\n0 1 0\n3 0 1 7\n".to_vec(),
            "face 0 uses vertex 7 of 3",
        ),
        (
            "binary.off",
            b"OFF BINARY\n3 1 0\n".to_vec(),
            "binary OFF is not supported",
        ),
        (
            "not_off.off",
            b"# just a comment\nPLY\n".to_vec(),
            "not a OFF file",
        ),
        (
            "face_garbage.off",
            b"OFF\n3 1 0\n0 0 0\n1 0 0\n0 1 0\n3 0 x 2\n".to_vec(),
            "line 6: expected a vertex index, found x",
        ),
    ];
    for (name, bytes, part) in &cases {
        let msg = broken(t, name, bytes);
        assert!(msg.contains(part), "{name}: `{msg}` should say `{part}`");
    }
}

#[test]
fn batch_folders_find_every_searched_format() {
    let files = calip3d::load::expand_inputs(&[dir().display().to_string()]).unwrap();
    let names: Vec<String> = files
        .iter()
        .map(|f| f.file_name().unwrap().to_string_lossy().to_string())
        .collect();
    for want in [
        "pypcd4_ascii.pcd",
        "kitti_000000.bin",
        "f32_c.npy",
        "plain.xyz",
        "leica.pts",
        "two_scans.e57",
        "plain.off",
        "reference.ply",
    ] {
        assert!(names.contains(&want.to_string()), "{want} in {names:?}");
    }
    // .txt and .csv are read when named, never picked out of a folder.
    assert!(!names
        .iter()
        .any(|n| n.ends_with(".txt") || n.ends_with(".csv")));
    assert!(!names.iter().any(|n| n.ends_with(".json")));
}

#[test]
fn info_shows_the_layout_points_and_dropped_of_the_new_formats() {
    let pcd = dir().join("pcl_binary_compressed_organised.pcd");
    let out = crate::common::calip3d(&["info", pcd.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("format      PCD 0.7 binary_compressed, organised 25×24, fields x:F32 y:F32 z:F32 rgb:F32"),
        "{text}"
    );
    assert!(text.contains("points      600 in file, 500 read"), "{text}");
    assert!(
        text.contains("dropped     100 with NaN/infinite coordinates"),
        "{text}"
    );
    assert!(text.contains("attributes  rgb"), "{text}");
    let npy = dir().join("f64_big_endian_fortran.npy");
    let csv = dir().join("header.csv");
    let out = crate::common::calip3d(&[
        "info",
        npy.to_str().unwrap(),
        csv.to_str().unwrap(),
        "--json",
    ]);
    let lines = crate::common::json_lines(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(lines[0]["format"], "npy");
    assert_eq!(lines[0]["version"], "1.0 >f8 Fortran order, shape [500, 3]");
    assert_eq!(lines[1]["format"], "text");
    assert_eq!(
        lines[1]["version"],
        "comma-delimited, named columns x y z intensity"
    );
    assert_eq!(lines[1]["attributes"], serde_json::json!(["intensity"]));
}

#[test]
fn spherical_e57_scans_are_converted_to_cartesian() {
    // pye57 writes Cartesian scans only, so this scan is written with the e57 crate's own writer:
    // the reference points as range, azimuth, elevation.
    use e57::{E57Writer, Record, RecordDataType, RecordName, RecordValue};
    let reference = read("reference.ply", &all());
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("spherical.e57");
    let mut w = E57Writer::from_file(&path, "file-guid").unwrap();
    let double = || RecordDataType::Double {
        min: None,
        max: None,
    };
    let prototype = [
        RecordName::SphericalRange,
        RecordName::SphericalAzimuth,
        RecordName::SphericalElevation,
    ]
    .map(|name| Record {
        name,
        data_type: double(),
    })
    .to_vec();
    let mut scan = w.add_pointcloud("scan-guid", prototype).unwrap();
    let o = reference.meta.offset;
    for p in reference.positions() {
        let [x, y, z] = [p.x as f64 + o[0], p.y as f64 + o[1], p.z as f64 + o[2]];
        let r = (x * x + y * y + z * z).sqrt();
        scan.add_point(vec![
            RecordValue::Double(r),
            RecordValue::Double(y.atan2(x)),
            RecordValue::Double((z / r).asin()),
        ])
        .unwrap();
    }
    scan.finalize().unwrap();
    w.finalize().unwrap();
    drop(w);
    let c = load(&path, &all()).unwrap();
    assert_eq!(c.len(), reference.len());
    let b = c.meta.bounds.unwrap();
    let rb = reference.meta.bounds.unwrap();
    for k in 0..3 {
        assert!((b.min[k] - rb.min[k]).abs() < 1e-9 && (b.max[k] - rb.max[k]).abs() < 1e-9);
    }
    for (p, q) in c.positions().iter().zip(reference.positions()) {
        assert!((p - q).norm() < 1e-6, "{p} vs {q}");
    }
}

#[test]
fn ascii_pcd_colours_written_as_integers_unpack() {
    // PCL's ASCII writer prints rgb as the packed integer; here one header says U, one says F.
    let tmp = tempfile::tempdir().unwrap();
    for ty in ["U", "F"] {
        let path = tmp.path().join(format!("rgb_{ty}.pcd"));
        let packed = (12u32 << 16) | (34 << 8) | 56;
        std::fs::write(
            &path,
            format!(
                "VERSION .7\nFIELDS x y z rgb\nSIZE 4 4 4 4\nTYPE F F F {ty}\nCOUNT 1 1 1 1\n\
                 WIDTH 2\nHEIGHT 1\nPOINTS 2\nDATA ascii\n1 2 3 {packed}\nnan nan nan 0\n"
            ),
        )
        .unwrap();
        let c = load(&path, &all()).unwrap();
        assert_eq!(c.colors(), Some(&[[12, 34, 56]][..]), "TYPE {ty}");
        assert_eq!(c.meta.dropped_non_finite, 1);
    }
}
