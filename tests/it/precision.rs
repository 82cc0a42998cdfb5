//! `Precision::{Bf16, Int8}` stay close to f32: the same random ViT-B/32 (seed 0) encodes the same
//! images in each precision, and the features' cosine to f32, the largest logit difference and the
//! top-1 class are compared. Behaviour only; speed is in benches/clip.rs.

use calip3d::classify::{classes::ClassSpec, Classifier};
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

#[test]
fn int8_and_bf16_pick_the_f32_class_with_close_logits_on_the_tiny_model() {
    let model = crate::common::tiny_model();
    let names = ["chair", "table", "lamp", "airplane", "car"];
    let specs = || ClassSpec::from_names(&names, &["a depth map of a {}."]);
    let classify = |p: Precision| {
        let c = Classifier::builder()
            .model(model.to_str().unwrap())
            .device(DeviceChoice::Cpu)
            .precision(p)
            .build()
            .unwrap();
        let set = c.class_set(specs()).unwrap();
        (0..6)
            .map(|k| {
                let pts: Vec<f32> = crate::common::box_cloud(k, 512)
                    .into_iter()
                    .flatten()
                    .collect();
                c.classify(&PointCloud::from_xyz(&pts, UpAxis::Y), &set)
                    .unwrap()
            })
            .collect::<Vec<_>>()
    };
    let reference = classify(Precision::F32);
    for p in [Precision::Bf16, Precision::Int8] {
        let got = classify(p);
        let mut same = 0;
        let mut worst = 0f32;
        for (g, r) in got.iter().zip(&reference) {
            same += usize::from(g.best().0 == r.best().0);
            for (a, b) in g.logits.iter().zip(&r.logits) {
                worst = worst.max((a - b).abs());
            }
        }
        eprintln!("{p}: same top-1 on {same}/6, largest logit difference {worst}");
        assert!(worst < 1.0, "{p}: logits differ by {worst}");
        assert!(same >= 5, "{p}: top-1 agrees on {same} of 6 clouds");
    }
}
