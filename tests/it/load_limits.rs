//! Files whose headers claim more than they hold: each gets a clear error naming the file and
//! what was claimed, from the library and from `calip3d info` (exit code 1), and nothing is
//! allocated for the claim. The files are written here: by the `las` crate (LAS/LAZ), then with
//! one field overwritten.

use calip3d::load::{load, LoadErrorKind, LoadOptions};
use las::{Builder, Point, Writer};
use std::io::Cursor;
use std::path::Path;

/// 2⁴⁰: a point count no file here can hold.
const HUGE: u64 = 1 << 40;

/// A LAS/LAZ file of `n` points in `version` and point `format`, written by the `las` crate.
fn las_file(version: (u8, u8), format: u8, compressed: bool, n: usize) -> Vec<u8> {
    let mut builder = Builder::from(version);
    builder.point_format = las::point::Format::new(format).unwrap();
    builder.point_format.is_compressed = compressed;
    let mut w = Writer::new(Cursor::new(Vec::new()), builder.into_header().unwrap()).unwrap();
    for i in 0..n {
        let f = i as f64;
        w.write_point(Point {
            x: f,
            y: 2.0 * f,
            z: -f,
            gps_time: Some(f),
            ..Default::default()
        })
        .unwrap();
    }
    w.close().unwrap();
    w.into_inner().unwrap().into_inner()
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}

/// The offset to the point data (header bytes 96–99).
fn point_offset(b: &[u8]) -> usize {
    u32_at(b, 96) as usize
}

/// The LAZ chunk table's position: the first 8 bytes of the point data.
fn chunk_table_at(b: &[u8]) -> usize {
    let at = point_offset(b);
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap()) as usize
}

fn all() -> LoadOptions {
    LoadOptions {
        max_points: 0,
        ..Default::default()
    }
}

/// Writes `bytes` to `name` in a fresh folder, loads it, and checks that both the library error
/// and `calip3d info` name the file and say `message`; returns the error kind.
fn refused(name: &str, bytes: &[u8], message: &str) -> LoadErrorKind {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    let err = load(&path, &all()).expect_err(name);
    let text = err.to_string();
    assert!(text.starts_with(&path.display().to_string()), "{text}");
    assert!(text.contains(message), "{name}: {text}");
    check_info(&path, message);
    err.kind
}

/// `calip3d info FILE` fails with exit code 2 (an input failed) and the message, without a panic
/// or an abort.
fn check_info(path: &Path, message: &str) {
    let out = crate::common::calip3d(&["info", path.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains(&path.display().to_string()), "{stderr}");
    assert!(stderr.contains(message), "{stderr}");
    assert!(
        !stderr.contains("panicked") && !stderr.contains("internal error"),
        "{stderr}"
    );
}

#[test]
fn the_las_writer_files_read_back() {
    // The crafted files below differ from these in one field only.
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes) in [
        ("a.las", las_file((1, 4), 1, false, 3)),
        ("b.laz", las_file((1, 2), 1, true, 10)),
        ("c.laz", las_file((1, 4), 6, true, 10)),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let cloud = load(&path, &all()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(cloud.meta.points_in_file, cloud.len() as u64, "{name}");
    }
}

#[test]
fn a_laz_chunk_table_of_2_to_the_31_chunks_is_refused() {
    let mut b = las_file((1, 2), 1, true, 10);
    let table = chunk_table_at(&b);
    b[table + 4..table + 8].copy_from_slice(&(1u32 << 31).to_le_bytes());
    let data = (table - point_offset(&b) - 8) as u64;
    let kind = refused(
        "chunks.laz",
        &b,
        "the header claims 2147483648 chunks in the chunk table of at least 1 bytes",
    );
    assert_eq!(
        kind,
        LoadErrorKind::ClaimsMoreThanFile {
            what: "2147483648 chunks in the chunk table of at least 1 bytes".into(),
            claimed: 1 << 31,
            available: data,
        }
    );
}

#[test]
fn a_laz_chunk_table_past_the_end_is_refused() {
    let mut b = las_file((1, 2), 1, true, 10);
    let at = point_offset(&b);
    let past = b.len() as u64 + 1000;
    b[at..at + 8].copy_from_slice(&past.to_le_bytes());
    refused("table.laz", &b, &format!("a chunk table at byte {past}"));
}

#[test]
fn a_layered_laz_chunk_whose_layers_claim_4_gb_is_refused() {
    // Point format 6: the chunk starts with a raw 30-byte point, its point count, then nine
    // layer sizes; the first one now claims 4 GB.
    let mut b = las_file((1, 4), 6, true, 10);
    let layer = point_offset(&b) + 8 + 30 + 4;
    b[layer..layer + 4].copy_from_slice(&u32::MAX.to_le_bytes());
    refused("layers.laz", &b, "the header claims layers of chunk 0");
}

#[test]
fn an_evlr_that_claims_a_4_gb_record_is_refused() {
    // A VLR's length is a u16 (at most 64 KiB, checked against the point offset); an EVLR's is
    // a u64. This one claims 4 GiB and holds nothing.
    let mut b = las_file((1, 4), 1, false, 3);
    let start = b.len() as u64;
    b[235..243].copy_from_slice(&start.to_le_bytes());
    b[243..247].copy_from_slice(&1u32.to_le_bytes());
    let mut evlr = vec![0u8; 60];
    evlr[2..9].copy_from_slice(b"calip3d");
    evlr[20..28].copy_from_slice(&(4u64 << 30).to_le_bytes());
    b.extend(evlr);
    let kind = refused(
        "evlr.las",
        &b,
        "the header claims an EVLR record of 4294967296 bytes",
    );
    assert_eq!(
        kind,
        LoadErrorKind::ClaimsMoreThanFile {
            what: "an EVLR record of 4294967296 bytes".into(),
            claimed: (4 << 30) + 60,
            available: 60,
        }
    );
}

#[test]
fn more_evlrs_than_fit_are_refused() {
    let mut b = las_file((1, 4), 1, false, 3);
    let start = b.len() as u64;
    b[235..243].copy_from_slice(&start.to_le_bytes());
    b[243..247].copy_from_slice(&u32::MAX.to_le_bytes());
    b.extend([0u8; 60]);
    refused(
        "evlrs.las",
        &b,
        "the header claims 4294967295 EVLRs of at least 60 bytes",
    );
}

#[test]
fn a_las_header_that_claims_2_to_the_40_points_is_refused() {
    // LAS 1.4: the legacy count 0, the 64-bit count 2⁴⁰.
    let mut b = las_file((1, 4), 1, false, 3);
    b[107..111].copy_from_slice(&0u32.to_le_bytes());
    b[247..255].copy_from_slice(&HUGE.to_le_bytes());
    let kind = refused(
        "huge.las",
        &b,
        "truncated: header says 1099511627776 points, file holds 3",
    );
    assert_eq!(
        kind,
        LoadErrorKind::Truncated {
            expected: HUGE,
            found: 3
        }
    );
}

#[test]
fn a_laz_header_that_claims_2_to_the_40_points_is_refused() {
    // The chunk table says how many points the chunks hold (10, in one chunk).
    for format in [1, 6] {
        let mut b = las_file((1, 4), format, true, 10);
        b[107..111].copy_from_slice(&0u32.to_le_bytes());
        b[247..255].copy_from_slice(&HUGE.to_le_bytes());
        let kind = refused(
            "huge.laz",
            &b,
            "truncated: header says 1099511627776 points, file holds",
        );
        let LoadErrorKind::Truncated { expected, found } = kind else {
            panic!("{kind:?}")
        };
        assert_eq!(expected, HUGE);
        assert!(found < 1 << 20, "format {format}: {found}");
    }
}

#[test]
fn a_ply_header_that_claims_2_to_the_40_vertices_is_refused() {
    for (encoding, available) in [("ascii", 7), ("binary_little_endian", 12)] {
        let mut b = format!(
            "ply\nformat {encoding} 1.0\nelement vertex {HUGE}\nproperty float x\n\
             property float y\nproperty float z\nend_header\n"
        )
        .into_bytes();
        b.extend(if encoding == "ascii" {
            b"0 0 0\n".to_vec()
        } else {
            [0u8; 12].to_vec()
        });
        let per = if encoding == "ascii" { 6 } else { 12 };
        let kind = refused(
            "huge.ply",
            &b,
            &format!("the header claims 1099511627776 `vertex` elements of at least {per} bytes"),
        );
        assert_eq!(
            kind,
            LoadErrorKind::ClaimsMoreThanFile {
                what: format!("1099511627776 `vertex` elements of at least {per} bytes"),
                claimed: HUGE as u128 * per,
                available,
            }
        );
    }
}

#[test]
fn a_ply_face_count_that_does_not_fit_is_refused() {
    // Each face takes at least its list count's byte; the vertices take the rest.
    let mut b = b"ply\nformat binary_little_endian 1.0\nelement vertex 1\nproperty float x\n\
        property float y\nproperty float z\nelement face 1000\nproperty list uchar int vertex_indices\n\
        end_header\n"
        .to_vec();
    b.extend([0u8; 12 + 10]);
    refused(
        "faces.ply",
        &b,
        "the header claims 1000 `face` elements of at least 1 bytes (1000 bytes), more than the 10 bytes",
    );
}

#[test]
fn a_binary_stl_that_claims_more_triangles_than_it_holds_is_refused() {
    let mut b = vec![0u8; 80];
    b.extend(u32::MAX.to_le_bytes());
    b.extend([0u8; 50]);
    let kind = refused(
        "huge.stl",
        &b,
        "the header claims 4294967295 triangles of at least 50 bytes",
    );
    assert_eq!(
        kind,
        LoadErrorKind::ClaimsMoreThanFile {
            what: "4294967295 triangles of at least 50 bytes".into(),
            claimed: u32::MAX as u128 * 50,
            available: 50,
        }
    );
}

#[test]
fn an_off_header_that_claims_2_to_the_40_vertices_is_refused() {
    let b = format!("OFF\n{HUGE} 1 0\n0 0 0\n1 0 0\n0 1 0\n3 0 1 2\n");
    let kind = refused("huge.off", b.as_bytes(), "vertices");
    assert!(matches!(kind, LoadErrorKind::BadHeader(_)), "{kind:?}");
}
