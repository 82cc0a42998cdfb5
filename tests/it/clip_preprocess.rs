//! CLIP's image preprocessing against transformers' PIL-based CLIPImageProcessor
//! (tests/data/clip/preprocess_reference.safetensors, f16).

use calip3d::encode::{normalize_pixels, preprocess_image};
use candle_core::{DType, Device, Tensor};
use std::path::PathBuf;

fn data() -> PathBuf {
    crate::common::test_data("clip")
}

#[test]
fn matches_clip_image_processor() {
    let r = candle_core::safetensors::load(
        data().join("preprocess_reference.safetensors"),
        &Device::Cpu,
    )
    .unwrap();
    let want = r["pixel_values"].to_dtype(DType::F32).unwrap();
    for (i, name) in ["photo_rgb.png", "small_rgba.png"].iter().enumerate() {
        let got = preprocess_image(&data().join(name), 224, &Device::Cpu).unwrap();
        assert_eq!(got.dims(), &[3, 224, 224]);
        let diff = (got - want.get(i).unwrap())
            .unwrap()
            .abs()
            .unwrap()
            .flatten_all()
            .unwrap();
        let max = diff.max(0).unwrap().to_scalar::<f32>().unwrap();
        let mean = diff.mean(0).unwrap().to_scalar::<f32>().unwrap();
        // One 8-bit level is 1/255/0.26 ≈ 0.015 after normalisation; PIL's fixed-point
        // arithmetic may round a few samples the other way; f16 storage adds ≈ 0.002.
        eprintln!("{name}: max {max}, mean {mean}");
        assert!(max < 0.02, "{name}: max difference {max}");
        assert!(mean < 0.002, "{name}: mean difference {mean}");
    }
}

#[test]
fn unreadable_image_is_named() {
    let err = preprocess_image(&data().join("tiny/config.json"), 224, &Device::Cpu)
        .unwrap_err()
        .to_string();
    assert!(err.contains("config.json") && err.contains("PNG"), "{err}");
}

#[test]
fn normalize_pixels_applies_clip_mean_and_std() {
    let ones = Tensor::ones((1, 3, 2, 2), DType::F32, &Device::Cpu).unwrap();
    let v = normalize_pixels(&ones)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1::<f32>()
        .unwrap();
    let want = [
        (1.0 - 0.481_454_66) / 0.268_629_54,
        (1.0 - 0.457_827_5) / 0.261_302_6,
        (1.0 - 0.408_210_73) / 0.275_777_1,
    ];
    for c in 0..3 {
        for k in 0..4 {
            assert!((v[c * 4 + k] - want[c]).abs() < 1e-6);
        }
    }
}
