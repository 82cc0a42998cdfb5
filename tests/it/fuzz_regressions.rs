//! Inputs that once crashed a reader (found by the fuzzers in `fuzz/`, see FUZZING.md, or by the
//! mutation study of issue 9), replayed through the public `load`: each now gets its clear error,
//! with no abort and no allocation for what its header claims. CI replays them; it does not fuzz.

use calip3d::load::{load, LoadOptions};
use std::path::Path;

/// Every file of tests/data/fuzz/ and a part of the error it must give.
const FIXTURES: &[(&str, &str)] = &[
    // laz's ChunkTable::read allocated 2³¹ × 16 bytes before reading a single entry.
    (
        "laz_chunk_table_2e31_chunks.laz",
        "claims 2147483648 chunks in the chunk table",
    ),
    // las::raw::Vlr::read_from allocated the EVLR's 4 GiB record length.
    (
        "las_evlr_4gib_record.las",
        "claims an EVLR record of 4294967296 bytes",
    ),
    // laz's layered decoder resized a buffer to a chunk's 4 GiB layer size.
    ("laz_layer_4gib.laz", "claims layers of chunk 0"),
    // Found by `fuzz/las`: a LAS 1.4 header of 356 bytes (so its 64-bit point count was not
    // checked) and 63004-byte records; the `las` crate was asked for 65536 points at a time and
    // allocated 65536 × 63004 bytes. Both point counts are checked now, and the reader asks for
    // 4 MiB of records at a time.
    ("las_chunk_buffer_4gib.las", "truncated: header says"),
    // Found by `fuzz/laz`: a LAS 1.4 header whose header size (289) is less than 1.4's 375; the
    // `las` crate reads the VLRs after the 375 bytes, the checks walked them from byte 289, so
    // they checked another LASzip VLR than the one the decoder used, and a 4 GB layer was
    // allocated. The checks walk the VLRs from where the `las` crate reads them now.
    ("laz_header_size_short_4gib.laz", "claims layers of chunk 0"),
    // Found by `fuzz/laz`: a point-format-1 LAZ whose GPS time stream keeps asking to switch
    // time sequences; laz's v2 decompressor recursed once per switch until the stack overflowed
    // (an abort: SIGSEGV under libFuzzer, "has overflowed its stack" in `calip3d info`). Bounded
    // here by our own GPS time decompressor (src/load/laz_gps.rs).
    (
        "laz_gps_sequence_switch_recursion.laz",
        "corrupt GPS time: the stream keeps switching sequences",
    ),
];

#[test]
fn every_fixture_gives_its_clear_error() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/fuzz");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != "README.md")
        .collect();
    files.sort();
    let mut listed: Vec<String> = FIXTURES.iter().map(|(f, _)| f.to_string()).collect();
    listed.sort();
    assert_eq!(files, listed, "every fixture has its expected error here");
    for (name, message) in FIXTURES {
        let path = dir.join(name);
        for max_points in [0, 1024] {
            let opts = LoadOptions {
                max_points,
                ..Default::default()
            };
            let err = load(&path, &opts).expect_err(name).to_string();
            assert!(err.contains(name), "{err}");
            assert!(err.contains(message), "{name}: {err}");
        }
    }
}
