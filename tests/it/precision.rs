//! `Precision::{Bf16, Int8}` stay close to f32: the same random ViT-B/32 (seed 0) encodes the same
//! images in each precision, and the features' cosine to f32, the largest logit difference and the
//! top-1 class are compared, at every kernel level the CPU supports. Behaviour only; speed is in
//! benches/clip.rs. (Exact integer sums across the int8 kernels' levels: `kernels::int8`'s unit
//! tests.)

use calip3d::classify::{classes::ClassSpec, Classifier};
use calip3d::encode::kernels::level;
use calip3d::encode::precision::row_cosines;
use calip3d::encode::random::{write_random_clip, ClipArch};
use calip3d::encode::{ClipEncoder, Precision};
use calip3d::project::DeviceChoice;
use calip3d::{PointCloud, UpAxis};
use candle_core::{Device, Tensor};

/// Smooth, image-like inputs (as clip_architectures.rs's formula images).
fn pixels(n: usize) -> Tensor {
    let s = 224;
    let v: Vec<f32> = (0..n * 3 * s * s)
        .map(|i| {
            let (b, c, y, x) = (i / (3 * s * s), i / (s * s) % 3, i / s % s, i % s);
            ((0.1 * x as f32 + 0.07 * (c + 1) as f32 * y as f32 + 1.3 * b as f32).sin()
                * (0.05 * y as f32 - 0.3 * c as f32).cos())
                * 0.8
        })
        .collect();
    Tensor::from_vec(v, (n, 3, s, s), &Device::Cpu).unwrap()
}

/// Smallest row cosine between `a` and `b` over the last dimension.
fn min_cosine(a: &Tensor, b: &Tensor) -> f32 {
    row_cosines(a, b)
        .unwrap()
        .into_iter()
        .fold(f32::INFINITY, f32::min)
}

#[test]
fn low_precision_features_stay_close_to_f32_on_vit_b32() {
    let dir = tempfile::tempdir().unwrap();
    write_random_clip(ClipArch::VitB32, dir.path(), 0).unwrap();
    let model = dir.path().to_str().unwrap();
    let x = pixels(2);
    let f32_feats = ClipEncoder::load(model, &Device::Cpu)
        .unwrap()
        .encode_images(&x)
        .unwrap();
    for (p, bound) in [(Precision::Bf16, 0.99), (Precision::Int8, 0.99)] {
        let clip = ClipEncoder::load_with(model, &Device::Cpu, p).unwrap();
        let f = clip.encode_images(&x).unwrap();
        let (g, s) = (
            min_cosine(&f.global, &f32_feats.global),
            min_cosine(&f.spatial, &f32_feats.spatial),
        );
        eprintln!(
            "{p} (runs {}): cosine to f32: global {g}, spatial {s}",
            clip.precision()
        );
        assert!(g >= bound && s >= bound, "{p}: global {g}, spatial {s}");
        // Not the same numbers: the low-precision path really ran.
        if clip.precision() != Precision::F32 {
            assert!(
                g < 1.0 - 1e-7 || s < 1.0 - 1e-7,
                "{p} gave f32's features exactly"
            );
        }
    }
}

/// The tiny model's logits for six box clouds in precision `p`, with the precision that ran.
fn tiny_logits(p: Precision) -> (Precision, Vec<Vec<f32>>, Vec<String>) {
    let model = crate::common::tiny_model();
    let names = ["chair", "table", "lamp", "airplane", "car"];
    let c = Classifier::builder()
        .model(model.to_str().unwrap())
        .device(DeviceChoice::Cpu)
        .precision(p)
        .build()
        .unwrap();
    let set = c
        .class_set(ClassSpec::from_names(&names, &["a depth map of a {}."]))
        .unwrap();
    let (logits, best) = (0..6)
        .map(|k| {
            let pts: Vec<f32> = crate::common::box_cloud(k, 512)
                .into_iter()
                .flatten()
                .collect();
            let pred = c
                .classify(&PointCloud::from_xyz(&pts, UpAxis::Y), &set)
                .unwrap();
            let best = pred.best().0.to_string();
            (pred.logits, best)
        })
        .unzip();
    (c.encoder().precision(), logits, best)
}

/// Every kernel level this CPU supports (the cap set programmatically, so AVX2 code is tested on
/// AVX-512 machines too): int8 and bf16 keep f32's top-1 with logits within 1.0 (documented
/// tolerance), and where a level has no fast kernel the tower runs f32 exactly.
#[test]
fn int8_and_bf16_pick_the_f32_class_with_close_logits_on_the_tiny_model_at_every_level() {
    let (_, reference, reference_best) = tiny_logits(Precision::F32);
    let mut int8_runs = Vec::new();
    for l in level::supported() {
        for p in [Precision::Bf16, Precision::Int8] {
            let (ran, got, best) = level::with_cap(l, || tiny_logits(p));
            assert_eq!(ran, p.at(l), "{p} at {l}");
            if ran == Precision::F32 {
                // The fallback is f32 itself, not an approximation of it.
                assert_eq!(got, reference, "{p} at {l} fell back to f32");
                continue;
            }
            let same = best
                .iter()
                .zip(&reference_best)
                .filter(|(a, b)| a == b)
                .count();
            let worst = got
                .iter()
                .flatten()
                .zip(reference.iter().flatten())
                .map(|(a, b)| (a - b).abs())
                .fold(0f32, f32::max);
            eprintln!("{p} at {l}: same top-1 on {same}/6, largest logit difference {worst}");
            assert!(worst > 0.0, "{p} at {l} gave f32's logits exactly");
            assert!(worst < 1.0, "{p} at {l}: logits differ by {worst}");
            assert!(same >= 5, "{p} at {l}: top-1 agrees on {same} of 6 clouds");
            if p == Precision::Int8 {
                int8_runs.push((l, got));
            }
        }
    }
    // The int8 levels sum the same integers exactly, so they give the same logits bit for bit.
    for (l, got) in &int8_runs {
        assert_eq!(got, &int8_runs[0].1, "int8 at {l} vs {}", int8_runs[0].0);
    }
}

/// `CALIP3D_CPU` caps the kernel level of the CLI, and `-v` names the level, the kernel and the
/// fallback: int8 at the scalar level runs f32 and gives f32's output exactly; at avx2 (where the
/// CPU has it) it runs the AVX2 int8 kernel.
#[test]
fn calip3d_cpu_caps_the_level_and_v_names_the_kernel() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("box.ply");
    crate::common::write_ply(&file, &crate::common::box_cloud(1, 512));
    let model = crate::common::tiny_model();
    let run = |cap: &str, precision: &str| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_calip3d"))
            .args([
                "classify",
                "--classes",
                "chair,table,lamp",
                "--device",
                "cpu",
                "-v",
            ])
            .args(["--model", model.to_str().unwrap(), "--precision", precision])
            .arg(&file)
            .env("CALIP3D_CPU", cap)
            .env("CALIP3D_CACHE_DIR", dir.path().join("cache"))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "{cap} {precision}: {err}");
        let line = err
            .lines()
            .find(|l| l.contains("vision tower:"))
            .unwrap_or_else(|| panic!("no vision tower line in {err}"))
            .to_string();
        (String::from_utf8_lossy(&out.stdout).into_owned(), line)
    };
    let (f32_out, _) = run("scalar", "f32");
    let (out, line) = run("scalar", "int8");
    assert!(
        line.contains("f32 matrix products, kernel level scalar"),
        "{line}"
    );
    assert!(line.contains("int8 has no SIMD kernel"), "{line}");
    assert_eq!(out, f32_out, "int8 at the scalar level is f32");
    if level::detected() >= level::Level::Avx2 {
        let (_, line) = run("AVX2", "int8");
        assert!(
            line.contains("int8 matrix products, kernel level avx2"),
            "{line}"
        );
        assert!(line.contains("own int8 kernel, AVX2"), "{line}");
    }
}
