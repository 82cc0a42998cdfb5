//! A successful run prints nothing on stderr, also on a machine without a display: no
//! "error: XDG_RUNTIME_DIR is invalid or not set" from probing a window system (Mesa's
//! device-select Vulkan layer connects to Wayland when wgpu enables `VK_KHR_wayland_surface`).

use crate::common::*;
use std::process::{Command, Output};

/// `calip3d` with `args`, as on a headless machine: no XDG_RUNTIME_DIR, WAYLAND_DISPLAY or
/// DISPLAY, and no logging asked for.
fn headless(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_calip3d"))
        .args(args)
        .env(
            "CALIP3D_CACHE_DIR",
            std::env::temp_dir().join("calip3d-test-cache"),
        )
        .env_remove("XDG_RUNTIME_DIR")
        .env_remove("WAYLAND_DISPLAY")
        .env_remove("DISPLAY")
        .env_remove("RUST_LOG")
        .output()
        .expect("run calip3d")
}

fn classify(device: &str) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let cloud = dir.path().join("box.ply");
    write_ply(&cloud, &box_cloud(1, 300));
    let model = tiny_model();
    headless(&[
        "classify",
        cloud.to_str().unwrap(),
        "--classes",
        "box,pole",
        "--model",
        model.to_str().unwrap(),
        "--device",
        device,
        "--json",
    ])
}

fn assert_quiet(device: &str, out: &Output) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "--device {device} failed: {stderr}");
    assert_eq!(stderr, "", "--device {device} printed on stderr");
    assert_eq!(
        json_lines(&String::from_utf8_lossy(&out.stdout)).len(),
        1,
        "--device {device}: one prediction"
    );
}

#[test]
fn classify_on_the_cpu_prints_nothing_on_stderr() {
    assert_quiet("cpu", &classify("cpu"));
}

#[test]
fn classify_with_auto_prints_nothing_on_stderr() {
    assert_quiet("auto", &classify("auto"));
}

#[test]
fn classify_on_the_gpu_prints_nothing_on_stderr() {
    if std::env::var("CALIP3D_NO_GPU_TESTS").as_deref() == Ok("1") {
        return;
    }
    assert_quiet("gpu", &classify("gpu"));
}

#[test]
fn auto_says_where_it_projects_at_info_level() {
    let dir = tempfile::tempdir().unwrap();
    let cloud = dir.path().join("box.ply");
    write_ply(&cloud, &box_cloud(1, 300));
    let model = tiny_model();
    let out = headless(&[
        "-v",
        "classify",
        cloud.to_str().unwrap(),
        "--classes",
        "box,pole",
        "--model",
        model.to_str().unwrap(),
        "--json",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("projecting on the "), "{stderr}");
    assert!(!stderr.contains("XDG_RUNTIME_DIR"), "{stderr}");
}
