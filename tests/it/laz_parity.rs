//! calip3d's LAZ decoding against the published `las` + `laz` reader: every LAZ file of the shared
//! real-data folder and of tests/data gives the same point records, byte for byte (every
//! dimension: coordinates, intensity, flags, classification, GPS time bits, color, extra bytes),
//! or both readers fail. The streams with LASzip v2 GPS times (point formats 1 and 3 here) go
//! through our own chunk loop and GPS time decompressor (src/load/laz_points.rs, laz_gps.rs); the
//! test also checks that they did. The fuzz fixtures are left out: the published reader aborts
//! on them (tests/it/fuzz_regressions.rs checks their errors).

use calip3d::load::{read_point_records, RecordDecoder};
use std::collections::BTreeSet;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

/// Every `.laz` file under `dir`, recursively, sorted.
fn laz_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n != "fuzz") {
                laz_files(&path, out);
            }
        } else if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("laz"))
        {
            out.push(path);
        }
    }
}

/// The records and point format the published reader gives, or its error (a panic included).
fn published(path: &Path) -> Result<(Vec<u8>, u8), String> {
    catch_unwind(AssertUnwindSafe(|| {
        let mut reader = las::Reader::from_path(path).map_err(|e| e.to_string())?;
        let format = reader
            .header()
            .point_format()
            .to_u8()
            .map_err(|e| e.to_string())?;
        let data = reader.read_all().map_err(|e| e.to_string())?;
        Ok((data.raw_bytes().to_vec(), format))
    }))
    .unwrap_or_else(|_| Err("panicked".into()))
}

#[test]
fn every_laz_file_decodes_as_the_published_reader_decodes_it() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    laz_files(&root.join("tests/data"), &mut files);
    let shared = root.join("../shared/data");
    if shared.is_dir() {
        laz_files(&shared, &mut files);
    } else if std::env::var("CALIP3D_SKIP_SHARED").as_deref() != Ok("1") {
        panic!(
            "{} is missing; set CALIP3D_SKIP_SHARED=1 to skip it knowingly",
            shared.display()
        );
    }
    assert!(files.len() >= 2, "{files:?}");
    // (point format, decoder) of every file both readers decoded.
    let mut seen = BTreeSet::new();
    let mut ours_points = 0usize;
    for path in &files {
        let name = path.display();
        let ours = read_point_records(path);
        let theirs = published(path);
        match (ours, theirs) {
            (Ok(ours), Ok((bytes, format))) => {
                assert_eq!(
                    ours.record_len * (bytes.len() / ours.record_len),
                    bytes.len()
                );
                assert!(!bytes.is_empty(), "{name}: no points");
                assert_eq!(ours.bytes.len(), bytes.len(), "{name}: point count");
                if let Some(i) = (0..bytes.len()).find(|&i| ours.bytes[i] != bytes[i]) {
                    panic!(
                        "{name}: point {} differs at byte {} of its record",
                        i / ours.record_len,
                        i % ours.record_len
                    );
                }
                if ours.decoder == RecordDecoder::GpsTimeV2 {
                    ours_points += bytes.len() / ours.record_len;
                }
                seen.insert((format, ours.decoder));
            }
            (Err(ours), Err(theirs)) => eprintln!("{name}: both fail: {ours} / {theirs}"),
            (Ok(_), Err(theirs)) => panic!("{name}: only the published reader fails: {theirs}"),
            (Err(ours), Ok(_)) => panic!("{name}: only calip3d fails: {ours}"),
        }
    }
    eprintln!(
        "{} files, {ours_points} points through our decoder: {seen:?}",
        files.len()
    );
    if shared.is_dir() {
        for format in [1, 3] {
            assert!(
                seen.contains(&(format, RecordDecoder::GpsTimeV2)),
                "point format {format} went through our decoder: {seen:?}"
            );
        }
        for format in [6, 7, 8] {
            assert!(
                seen.contains(&(format, RecordDecoder::Las)),
                "point format {format} went through `las`: {seen:?}"
            );
        }
    }
}

/// The fuzz-found file whose GPS time stream keeps switching sequences: a clear error from the
/// library, whichever way it is read.
#[test]
fn the_switching_fixture_fails_cleanly_in_every_library_entry() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/fuzz/laz_gps_sequence_switch_recursion.laz");
    let err = read_point_records(&path).unwrap_err().to_string();
    assert!(
        err.contains("laz_gps_sequence_switch_recursion.laz"),
        "{err}"
    );
    assert!(
        err.contains("corrupt GPS time: the stream keeps switching sequences"),
        "{err}"
    );
    let bytes = std::fs::read(&path).unwrap();
    let opts = calip3d::load::LoadOptions::default();
    let err = calip3d::load::load_bytes(&bytes, "laz", &opts)
        .unwrap_err()
        .to_string();
    assert!(err.contains("corrupt GPS time: "), "{err}");
}

/// The same file through the CLI: `info` and `classify` exit 2 (an input failed) naming the file
/// and the problem,
/// `batch` records it as a failed file among good ones (exit 2), and nothing overflows a stack.
#[test]
fn the_switching_fixture_fails_cleanly_in_the_cli() {
    use crate::common::{assert_exit, box_cloud, calip3d, json_lines, tiny_model, write_ply};
    const NAME: &str = "laz_gps_sequence_switch_recursion.laz";
    const MESSAGE: &str = "corrupt GPS time: the stream keeps switching sequences";
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("scans");
    std::fs::create_dir(&data).unwrap();
    let fixture = data.join(NAME);
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/fuzz")
            .join(NAME),
        &fixture,
    )
    .unwrap();
    write_ply(&data.join("good.ply"), &box_cloud(0, 300));
    let f = fixture.to_str().unwrap();
    let model = tiny_model();
    let m = model.to_str().unwrap();
    let common = ["--classes", "box,pole", "--model", m, "--device", "cpu"];

    let run = calip3d(&["info", f]);
    assert_exit(&run, 2);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr.contains(NAME) && stderr.contains(MESSAGE),
        "{stderr}"
    );

    let mut args = vec!["classify", f];
    args.extend(common);
    let run = calip3d(&args);
    assert_exit(&run, 2);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr.contains(NAME) && stderr.contains(MESSAGE),
        "{stderr}"
    );

    let out = dir.path().join("results.jsonl");
    let (d, o) = (data.to_str().unwrap(), out.to_str().unwrap());
    let mut args = vec!["batch", d, "--quiet", "--out", o];
    args.extend(common);
    let run = calip3d(&args);
    assert_exit(&run, 2);
    let records = json_lines(&std::fs::read_to_string(&out).unwrap());
    assert_eq!(records.len(), 2, "{records:?}");
    let bad = records
        .iter()
        .find(|r| r["file"].as_str().unwrap().ends_with(NAME))
        .unwrap();
    assert_eq!(bad["ok"], false);
    assert!(bad["error"].as_str().unwrap().contains(MESSAGE), "{bad}");
    assert_eq!(records.iter().filter(|r| r["ok"] == true).count(), 1);
}
