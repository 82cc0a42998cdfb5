//! The small permissively licensed files bundled in tests/data/files (see NOTICE.md): they keep
//! real-file coverage when ../shared is absent.

use calip3d::load::{load, LoadOptions};
use calip3d::Format;
use std::path::Path;

fn file(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/files")
        .join(name)
}

fn all() -> LoadOptions {
    LoadOptions {
        max_points: 0,
        ..Default::default()
    }
}

#[test]
fn bundled_files_load_as_their_headers_say() {
    // (file, format, points in file, points read); numbers from laspy / plyfile.
    for (name, format, stored, read) in [
        ("simple.laz", Format::Laz, 1065, 1065),
        ("autzen.copc.laz", Format::Laz, 107, 107),
        ("tetrahedron_big_endian.ply", Format::Ply, 4, 4),
        ("points_ascii_with_lists.ply", Format::Ply, 5, 5),
        ("trimesh_cylinder.stl", Format::Stl, 1248, 1248),
    ] {
        let c = load(&file(name), &all()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (c.meta.format, c.meta.points_in_file, c.len()),
            (format, stored, read),
            "{name}"
        );
    }
    let err = load(&file("1.2-no-points.las"), &all()).unwrap_err();
    assert!(
        err.to_string()
            .ends_with("1.2-no-points.las: truncated: header says 1065 points, file holds 0"),
        "{err}"
    );
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/samples/fuze_bottle.obj");
    assert_eq!(load(&sample, &LoadOptions::default()).unwrap().len(), 1024);
}
