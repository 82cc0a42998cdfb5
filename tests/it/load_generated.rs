//! Files written by the tests themselves: every PLY encoding, LAS versions and point formats, and
//! broken headers.

use calip3d::load::{load, LoadOptions};
use calip3d::{Format, UpAxis};

const CUBE: [[f32; 3]; 8] = [
    [0.0, 0.0, 0.0],
    [1.0, 0.0, 0.0],
    [1.0, 1.0, 0.0],
    [0.0, 1.0, 0.0],
    [0.0, 0.0, 1.0],
    [1.0, 0.0, 1.0],
    [1.0, 1.0, 1.0],
    [0.0, 1.0, 1.0],
];

fn all() -> LoadOptions {
    LoadOptions {
        max_points: 0,
        ..Default::default()
    }
}

/// The cube's corners as PLY, with an extra element and a list property that must be skipped.
fn cube_ply(encoding: &str) -> Vec<u8> {
    let mut out = format!(
        "ply\nformat {encoding} 1.0\ncomment made by a test\nelement vertex 8\nproperty double x\nproperty double y\n\
         property double z\nproperty uchar red\nproperty uchar green\nproperty uchar blue\n\
         element tag 1\nproperty list uchar int ids\nend_header\n"
    )
    .into_bytes();
    for (i, p) in CUBE.iter().enumerate() {
        let rgb = [i as u8 * 10, 7, 255];
        match encoding {
            "ascii" => out.extend(
                format!(
                    "{} {} {} {} {} {}\n",
                    p[0], p[1], p[2], rgb[0], rgb[1], rgb[2]
                )
                .bytes(),
            ),
            _ => {
                for c in p {
                    let v = *c as f64;
                    out.extend(if encoding == "binary_big_endian" {
                        v.to_be_bytes()
                    } else {
                        v.to_le_bytes()
                    });
                }
                out.extend(rgb);
            }
        }
    }
    match encoding {
        "ascii" => out.extend(b"2 5 6\n"),
        "binary_big_endian" => out.extend(
            [2u8]
                .into_iter()
                .chain(5i32.to_be_bytes())
                .chain(6i32.to_be_bytes()),
        ),
        _ => out.extend(
            [2u8]
                .into_iter()
                .chain(5i32.to_le_bytes())
                .chain(6i32.to_le_bytes()),
        ),
    }
    out
}

#[test]
fn a_cube_reads_back_from_every_ply_encoding() {
    let dir = tempfile::tempdir().unwrap();
    for encoding in ["ascii", "binary_little_endian", "binary_big_endian"] {
        let path = dir.path().join(format!("{encoding}.ply"));
        std::fs::write(&path, cube_ply(encoding)).unwrap();
        let c = load(&path, &all()).unwrap_or_else(|e| panic!("{encoding}: {e}"));
        assert_eq!(c.meta.format, Format::Ply);
        assert_eq!(c.meta.version.as_deref(), Some(&*format!("{encoding} 1.0")));
        assert_eq!(c.len(), 8, "{encoding}");
        assert_eq!(c.up_axis, UpAxis::Y);
        // Re-centred on the bounds' centre (0.5, 0.5, 0.5).
        assert_eq!(c.meta.offset, [0.5; 3]);
        for (p, q) in c.positions().iter().zip(CUBE) {
            assert_eq!([p.x + 0.5, p.y + 0.5, p.z + 0.5], q, "{encoding}");
        }
        assert_eq!(c.colors().as_ref().unwrap()[3], [30, 7, 255]);
        assert_eq!(c.source_index(), Some(&[0, 1, 2, 3, 4, 5, 6, 7][..]));
    }
}

#[test]
fn las_versions_and_point_formats_read_back() {
    let dir = tempfile::tempdir().unwrap();
    for (version, format) in [
        ((1, 0), 0),
        ((1, 1), 1),
        ((1, 2), 2),
        ((1, 2), 3),
        ((1, 4), 6),
        ((1, 4), 7),
        ((1, 4), 8),
        ((1, 4), 10),
    ] {
        let path = dir
            .path()
            .join(format!("v{}{}_f{format}.las", version.0, version.1));
        let mut b = las::Builder::from(version);
        b.point_format = las::point::Format::new(format).unwrap();
        b.transforms = las::Vector {
            x: las::Transform {
                scale: 0.01,
                offset: 600_000.0,
            },
            y: las::Transform {
                scale: 0.01,
                offset: 5_000_000.0,
            },
            z: las::Transform {
                scale: 0.01,
                offset: 0.0,
            },
        };
        let mut w = las::Writer::from_path(&path, b.into_header().unwrap()).unwrap();
        for i in 0..100 {
            let mut p = las::Point {
                x: 600_000.0 + i as f64,
                y: 5_000_000.0 + 2.0 * i as f64,
                z: 10.0 + 0.5 * i as f64,
                intensity: i as u16,
                classification: las::point::Classification::Ground,
                ..Default::default()
            };
            let f = las::point::Format::new(format).unwrap();
            if f.has_gps_time {
                p.gps_time = Some(i as f64);
            }
            if f.has_color {
                p.color = Some(las::Color::new(i as u16, 2, 3));
            }
            if f.has_nir {
                p.nir = Some(0);
            }
            if f.has_waveform {
                p.waveform = Some(Default::default());
            }
            w.write_point(p).unwrap();
        }
        w.close().unwrap();
        drop(w);
        let c = load(&path, &all()).unwrap_or_else(|e| panic!("format {format}: {e}"));
        assert_eq!(c.meta.point_format, Some(format));
        assert_eq!(
            c.meta.version.as_deref(),
            Some(&*format!("{}.{}", version.0, version.1))
        );
        assert_eq!((c.len(), c.meta.points_in_file), (100, 100));
        assert_eq!(c.up_axis, UpAxis::Z, "LAS is z-up by default");
        let b = c.meta.bounds.unwrap();
        assert_eq!(b.min, [600_000.0, 5_000_000.0, 10.0]);
        assert_eq!(b.max, [600_099.0, 5_000_198.0, 59.5]);
        // Re-centred in f64 before going to f32: small exact coordinates survive.
        assert_eq!(c.meta.offset, [600_049.5, 5_000_099.0, 34.75]);
        assert_eq!(c.positions()[0].x, -49.5);
        assert_eq!(c.classification().as_ref().unwrap()[0], 2);
        assert_eq!(c.intensity().as_ref().unwrap()[99], 99);
        assert_eq!(
            c.colors().is_some(),
            las::point::Format::new(format).unwrap().has_color
        );

        // A budget keeps a deterministic subset, in file order.
        let some = load(
            &path,
            &LoadOptions {
                max_points: 10,
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(some.len(), 10);
        let idx = some.source_index().unwrap();
        assert!(idx.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(
            load(
                &path,
                &LoadOptions {
                    max_points: 10,
                    ..Default::default()
                }
            )
            .unwrap()
            .positions(),
            some.positions()
        );
        let z = load(
            &path,
            &LoadOptions {
                up_axis: Some(UpAxis::Y),
                ..all()
            },
        )
        .unwrap();
        assert_eq!(z.up_axis, UpAxis::Y);
    }
}

#[test]
fn broken_headers_and_bodies_give_clear_errors_fast() {
    let dir = tempfile::tempdir().unwrap();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("magic.ply", b"plx\nformat ascii 1.0\n".to_vec(), "not a PLY file"),
        ("empty.ply", vec![], "empty file"),
        ("huge.ply", b"ply\nformat binary_little_endian 1.0\nelement vertex 4000000000\nproperty float x\nproperty float y\nproperty float z\nend_header\n\0\0\0\0".to_vec(), "vertex"),
        ("short.ply", b"ply\nformat ascii 1.0\nelement vertex 3\nproperty float x\nproperty float y\nproperty float z\nend_header\n1 2 3\n".to_vec(), "claims 3 `vertex` elements"),
        ("nan.ply", nan_ply(), "no points (2 dropped for NaN or infinite coordinates)"),
        ("format11.las", las_header(11, 0), "unknown point format 11"),
        ("liar.las", las_header(0, 5000), "truncated: header says 5000 points, file holds 0"),
        ("huge.off", b"OFF\n999999999 999999999 0\n0 0 0\n".to_vec(), "do not fit"),
        ("faces.off", b"OFF\n3 1 0\n0 0 0\n1 0 0\n0 1 0\n3 0 1 7\n".to_vec(), "face 0 uses vertex 7 of 3"),
        ("text.vtk", b"1 2 3\n".to_vec(), "unknown file type `vtk`"),
    ];
    for (name, bytes, part) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let err = load(&path, &LoadOptions::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains(part), "{name}: `{err}` should say `{part}`");
        assert!(
            err.contains(name),
            "{name}: the error names the file: {err}"
        );
    }
    let missing = load(
        std::path::Path::new("/nonexistent/scan.las"),
        &LoadOptions::default(),
    )
    .unwrap_err();
    assert!(
        missing
            .to_string()
            .starts_with("/nonexistent/scan.las: cannot read"),
        "{missing}"
    );
}

/// A binary PLY whose two points have a NaN and an infinite coordinate.
fn nan_ply() -> Vec<u8> {
    let mut b = b"ply\nformat binary_little_endian 1.0\nelement vertex 2\nproperty float x\nproperty float y\nproperty float z\nend_header\n".to_vec();
    for v in [f32::NAN, 0.0, 0.0, 0.0, f32::INFINITY, 0.0] {
        b.extend(v.to_le_bytes());
    }
    b
}

/// A minimal LAS 1.2 header with the given point format byte and point count, and no points.
fn las_header(format: u8, points: u32) -> Vec<u8> {
    let mut h = vec![0u8; 227];
    h[..4].copy_from_slice(b"LASF");
    h[24] = 1;
    h[25] = 2;
    h[94..96].copy_from_slice(&227u16.to_le_bytes());
    h[96..100].copy_from_slice(&227u32.to_le_bytes());
    h[104] = format;
    h[105..107].copy_from_slice(&20u16.to_le_bytes());
    h[107..111].copy_from_slice(&points.to_le_bytes());
    for (i, scale) in [131usize, 139, 147].iter().zip([0.01f64; 3]) {
        h[*i..*i + 8].copy_from_slice(&scale.to_le_bytes());
    }
    h
}
