//! Helpers shared by the integration tests: the tiny random CLIP fixture, generated clouds, and
//! running the `calip3d` binary.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The tiny random CLIP written by transformers (scripts/clip_reference.py).
pub fn tiny_model() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/clip/tiny")
}

/// `calip3d` with arguments, on the CPU and without a progress bar.
pub fn calip3d(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_calip3d"))
        .args(args)
        .env(
            "CALIP3D_CACHE_DIR",
            std::env::temp_dir().join("calip3d-test-cache"),
        )
        .output()
        .expect("run calip3d")
}

/// A deterministic cloud: points on the surface of an axis-aligned box, with a little structure
/// that differs by `kind` so different files give different logits.
pub fn box_cloud(kind: u32, n: usize) -> Vec<[f32; 3]> {
    let size = [1.0 + kind as f32 * 0.7, 1.0, 0.5 + kind as f32 * 0.3];
    let mut s = 0x2545_F491u32.wrapping_add(kind.wrapping_mul(7919));
    let mut rnd = move || {
        s ^= s << 13;
        s ^= s >> 17;
        s ^= s << 5;
        s as f32 / u32::MAX as f32 - 0.5
    };
    (0..n)
        .map(|i| {
            let mut p = [rnd() * size[0], rnd() * size[1], rnd() * size[2]];
            p[i % 3] = size[i % 3] * if i % 2 == 0 { 0.5 } else { -0.5 };
            p
        })
        .collect()
}

/// Writes points as an ASCII PLY.
pub fn write_ply(path: &Path, points: &[[f32; 3]]) {
    let mut s = format!(
        "ply\nformat ascii 1.0\nelement vertex {}\nproperty float x\nproperty float y\nproperty float z\nend_header\n",
        points.len()
    );
    for p in points {
        s.push_str(&format!("{} {} {}\n", p[0], p[1], p[2]));
    }
    std::fs::write(path, s).unwrap();
}

/// Parses JSON lines.
pub fn json_lines(text: &str) -> Vec<serde_json::Value> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l}: {e}")))
        .collect()
}

/// Asserts a finished `calip3d` run's exit code, showing its stderr when it differs.
#[track_caller]
pub fn assert_exit(run: &Output, code: i32) {
    assert_eq!(
        run.status.code(),
        Some(code),
        "stderr: {}",
        String::from_utf8_lossy(&run.stderr)
    );
}

/// A path below the committed test data, `tests/data/<rel>`.
pub fn test_data(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(rel)
}

/// Waits until a batch run's journal says a file is being read (the run is blocked in a FIFO),
/// checks the process is still there, then SIGKILLs it: no destructor, no flush, as a crash.
pub fn kill_inside_a_reader(mut child: std::process::Child, journal: &Path) {
    let start = std::time::Instant::now();
    while !std::fs::read_to_string(journal)
        .unwrap_or_default()
        .contains("\"event\":\"reading\"")
    {
        assert!(
            start.elapsed().as_secs() < 120,
            "the run never started reading"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert!(child.try_wait().unwrap().is_none(), "the reader is blocked");
    child.kill().unwrap();
    child.wait().unwrap();
}
