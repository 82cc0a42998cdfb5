//! The GPU vision tower (our WGSL kernels through wgpu; Mesa's lavapipe in CI) against candle's
//! CPU tower on the tiny random CLIP, on real depth views of rendered shapes. Without any adapter
//! these tests fail, unless CALIP3D_NO_GPU_TESTS=1.

use crate::common::*;
use calip3d::classify::{classes::ClassSpec, Classifier, StageDevice, ViewFeatures};
use calip3d::encode::Precision;
use calip3d::project::{DeviceChoice, Projection};
use candle_core::Tensor;
use nalgebra::Point3;

fn gpu_tests_skipped() -> bool {
    std::env::var("CALIP3D_NO_GPU_TESTS").as_deref() == Ok("1")
}

fn classifier(device: DeviceChoice, precision: Precision) -> Option<Classifier> {
    let built = Classifier::builder()
        .model(tiny_model().to_str().unwrap())
        .projection(Projection::Realistic)
        .device(device)
        .precision(precision)
        .build();
    match built {
        Ok(c) => Some(c),
        Err(e) if device == DeviceChoice::Gpu && gpu_tests_skipped() => {
            eprintln!("skipping GPU test (CALIP3D_NO_GPU_TESTS=1): {e}");
            None
        }
        Err(e) => panic!("classifier on {device}: {e}\n(install mesa-vulkan-drivers, or set CALIP3D_NO_GPU_TESTS=1)"),
    }
}

/// Five rendered shapes of different proportions.
fn shapes() -> Vec<Vec<Point3<f32>>> {
    (0..5)
        .map(|k| {
            box_cloud(k, 2000)
                .into_iter()
                .map(|p| Point3::new(p[0], p[1], p[2]))
                .collect()
        })
        .collect()
}

fn specs(c: &Classifier, names: &[&str]) -> Vec<ClassSpec> {
    let templates = c.templates();
    let t: Vec<&str> = templates.iter().map(String::as_str).collect();
    ClassSpec::from_names(names, &t)
}

fn max_abs_diff(a: &Tensor, b: &Tensor) -> f32 {
    assert_eq!(a.dims(), b.dims());
    (a - b)
        .unwrap()
        .abs()
        .unwrap()
        .flatten_all()
        .unwrap()
        .max(0)
        .unwrap()
        .to_scalar::<f32>()
        .unwrap()
}

fn max_abs(a: &Tensor) -> f32 {
    a.abs()
        .unwrap()
        .flatten_all()
        .unwrap()
        .max(0)
        .unwrap()
        .to_scalar::<f32>()
        .unwrap()
}

/// The encodings of the same depth views (projected once, on the CPU) by both classifiers,
/// and the largest differences of global features, spatial features and CALIP logits.
fn compare(cpu: &Classifier, gpu: &Classifier) -> (ViewFeatures, [f32; 3]) {
    let clouds = shapes();
    let refs: Vec<&[Point3<f32>]> = clouds.iter().map(Vec::as_slice).collect();
    let projected = cpu.project(&refs).unwrap().batch;
    let on_cpu = cpu.encode(&projected).unwrap();
    let on_gpu = gpu.encode(&projected).unwrap();
    let names = ["box", "pole", "plate", "cup", "chair", "lamp"];
    let classes = cpu.class_set(specs(cpu, &names)).unwrap();
    let logits = |c: &Classifier, f: &ViewFeatures| {
        let p = c.score_features(f, &classes).unwrap();
        let flat: Vec<f32> = p.iter().flat_map(|p| p.logits.clone()).collect();
        Tensor::new(flat, &candle_core::Device::Cpu).unwrap()
    };
    let diffs = [
        max_abs_diff(&on_cpu.global, &on_gpu.global),
        max_abs_diff(&on_cpu.spatial, &on_gpu.spatial),
        max_abs_diff(&logits(cpu, &on_cpu), &logits(gpu, &on_gpu)),
    ];
    // The comparison means something only if the features are far from zero.
    assert!(max_abs(&on_cpu.global) > 0.1, "{}", max_abs(&on_cpu.global));
    (on_gpu, diffs)
}

#[test]
fn gpu_f32_features_and_logits_match_candle_within_1e_3() {
    let Some(gpu) = classifier(DeviceChoice::Gpu, Precision::F32) else {
        return;
    };
    let cpu = classifier(DeviceChoice::Cpu, Precision::F32).unwrap();
    let tower = gpu
        .encoder()
        .gpu_tower()
        .expect("--device gpu encodes on the GPU");
    assert!(!tower.is_f16());
    let before = tower.images_encoded();
    let (features, [global, spatial, logits]) = compare(&cpu, &gpu);
    eprintln!("GPU f32 vs candle f32: max |Δ| global {global:.2e}, spatial {spatial:.2e}, logits {logits:.2e}");
    assert!(global <= 1e-3, "global features differ by {global}");
    assert!(spatial <= 1e-3, "spatial features differ by {spatial}");
    assert!(logits <= 1e-3, "logits differ by {logits}");
    // Every view went through the GPU tower, none through candle.
    let views = features.global.dims()[0] as u64;
    assert_eq!(views, 5 * 10);
    assert_eq!(tower.images_encoded() - before, views);
}

#[test]
fn gpu_device_runs_both_stages_on_the_gpu_and_reuses_its_plan() {
    let Some(gpu) = classifier(DeviceChoice::Gpu, Precision::F32) else {
        return;
    };
    let devices = gpu.devices();
    assert_eq!(devices.project, StageDevice::Gpu);
    assert_eq!(devices.encode, StageDevice::Gpu);
    assert!(gpu.encoder().vision_backend().is_gpu());
    let cpu = classifier(DeviceChoice::Cpu, Precision::F32).unwrap();
    assert_eq!(cpu.devices().encode, StageDevice::Cpu);
    assert!(cpu.encoder().gpu_tower().is_none());
    // A robot's loop: the same call again and again builds one plan, on the first call.
    let classes = gpu.class_set(specs(&gpu, &["box", "cup"])).unwrap();
    let tower = gpu.encoder().gpu_tower().unwrap();
    let cloud = shapes().remove(0);
    let mut first = None;
    for _ in 0..3 {
        let p = gpu
            .classify_points(&cloud, calip3d::UpAxis::Y, &classes)
            .unwrap();
        assert_eq!(p.devices, devices);
        let logits = first.get_or_insert_with(|| p.logits.clone());
        assert_eq!(&p.logits, logits, "the same input gives the same logits");
    }
    assert_eq!(tower.plans_built(), 1);
    assert_eq!(tower.images_encoded(), 30);
}

#[test]
fn classify_device_gpu_json_records_where_each_stage_ran() {
    if gpu_tests_skipped() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.ply");
    write_ply(&a, &box_cloud(1, 500));
    let model = tiny_model();
    let run = |device: &str| {
        let out = calip3d(&[
            "classify",
            a.to_str().unwrap(),
            "--classes",
            "box,pole,plate",
            "--model",
            model.to_str().unwrap(),
            "--device",
            device,
            "--json",
        ]);
        assert!(
            out.status.success(),
            "--device {device}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        json_lines(&String::from_utf8(out.stdout).unwrap()).remove(0)
    };
    let gpu = run("gpu");
    assert_eq!(
        gpu["devices"],
        serde_json::json!({"project": "gpu", "encode": "gpu"})
    );
    let cpu = run("cpu");
    assert_eq!(
        cpu["devices"],
        serde_json::json!({"project": "cpu", "encode": "cpu"})
    );
    let logits = |r: &serde_json::Value| -> Vec<f64> {
        r["logits"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect()
    };
    for (g, c) in logits(&gpu).iter().zip(logits(&cpu)) {
        assert!((g - c).abs() <= 1e-3, "{g} vs {c}");
    }
}

/// f16 storage with f32 sums: the tolerance documented in BENCHMARKS.md ("GPU vision tower").
const F16_FEATURE_TOLERANCE: f32 = 1e-2;
const F16_LOGIT_TOLERANCE: f32 = 5e-2;

#[test]
fn gpu_f16_stays_within_its_documented_tolerance() {
    let Some(gpu) = classifier(DeviceChoice::Gpu, Precision::F16) else {
        return;
    };
    let tower = gpu.encoder().gpu_tower().expect("on the GPU");
    if !tower.is_f16() {
        // The f32 fallback is what runs: nothing of f16 to check on this adapter.
        eprintln!("{} has no SHADER_F16: ran f32", tower.backend());
        return;
    }
    let cpu = classifier(DeviceChoice::Cpu, Precision::F32).unwrap();
    let (_, [global, spatial, logits]) = compare(&cpu, &gpu);
    eprintln!("GPU f16 vs candle f32: max |Δ| global {global:.2e}, spatial {spatial:.2e}, logits {logits:.2e}");
    assert!(
        global <= F16_FEATURE_TOLERANCE,
        "global features differ by {global}"
    );
    assert!(
        spatial <= F16_FEATURE_TOLERANCE,
        "spatial features differ by {spatial}"
    );
    assert!(logits <= F16_LOGIT_TOLERANCE, "logits differ by {logits}");
    // f16 is not f32 in disguise: the differences are those of half-precision storage.
    assert!(global > 1e-6 || spatial > 1e-6, "f16 matched f32 exactly");
}
