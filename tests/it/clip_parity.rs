//! The CLIP encoder against transformers' outputs on the tiny random model
//! (tests/data/clip, made by scripts/clip_reference.py).

use calip3d::encode::transformer::l2_normalize;
use calip3d::encode::ClipEncoder;
use candle_core::{Device, Tensor};
use std::collections::HashMap;
use std::path::PathBuf;

fn data() -> PathBuf {
    crate::common::test_data("clip")
}

fn tiny() -> ClipEncoder {
    ClipEncoder::load(data().join("tiny").to_str().unwrap(), &Device::Cpu)
        .expect("tiny model loads")
        .with_text_cache(None)
}

fn reference() -> HashMap<String, Tensor> {
    candle_core::safetensors::load(data().join("tiny_reference.safetensors"), &Device::Cpu).unwrap()
}

fn texts() -> Vec<String> {
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(data().join("tiny_reference.json")).unwrap())
            .unwrap();
    v["texts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_string())
        .collect()
}

/// Largest absolute difference; both sides are L2-normalised along the last axis first, so
/// the 1e-4 tolerance applies to features of norm 1.
fn max_diff_normalised(a: &Tensor, b: &Tensor) -> f32 {
    assert_eq!(a.dims(), b.dims());
    let d = (l2_normalize(a).unwrap() - l2_normalize(b).unwrap()).unwrap();
    d.abs()
        .unwrap()
        .flatten_all()
        .unwrap()
        .max(0)
        .unwrap()
        .to_scalar::<f32>()
        .unwrap()
}

/// Largest relative difference of the norms (normalising hides scale errors).
fn max_norm_ratio_error(a: &Tensor, b: &Tensor) -> f32 {
    let na = a
        .sqr()
        .unwrap()
        .sum(candle_core::D::Minus1)
        .unwrap()
        .sqrt()
        .unwrap();
    let nb = b
        .sqr()
        .unwrap()
        .sum(candle_core::D::Minus1)
        .unwrap()
        .sqrt()
        .unwrap();
    let r = ((na / nb).unwrap() - 1.0).unwrap().abs().unwrap();
    r.flatten_all()
        .unwrap()
        .max(0)
        .unwrap()
        .to_scalar::<f32>()
        .unwrap()
}

#[test]
fn image_features_match_transformers() {
    let clip = tiny();
    let r = reference();
    let f = clip.encode_images(&r["pixel_values"]).unwrap();
    assert_eq!(f.global.dims(), &[3, 16]);
    assert_eq!(f.spatial.dims(), &[3, 49, 16]);
    let g = max_diff_normalised(&f.global, &r["image_global"]);
    let s = max_diff_normalised(&f.spatial, &r["image_spatial"]);
    assert!(g < 1e-4, "global differs by {g}");
    assert!(s < 1e-4, "spatial differs by {s}");
    assert!(max_norm_ratio_error(&f.global, &r["image_global"]) < 1e-4);
    assert!(max_norm_ratio_error(&f.spatial, &r["image_spatial"]) < 1e-4);
}

#[test]
fn text_features_match_transformers() {
    let clip = tiny();
    let r = reference();
    let t = clip.encode_texts(&texts()).unwrap();
    assert_eq!(t.dims(), &[6, 16]);
    let d = max_diff_normalised(&t, &r["text_embeds"]);
    assert!(d < 1e-4, "text differs by {d}");
    assert!(max_norm_ratio_error(&t, &r["text_embeds"]) < 1e-4);
}

/// Each text alone: the tower then runs only up to that text's end-of-text token (short prompts
/// skip most of the 77 positions), and must still give transformers' full-context feature.
#[test]
fn text_features_of_each_text_alone_match_transformers() {
    let clip = tiny();
    let r = reference();
    let texts = texts();
    let lengths: Vec<usize> = texts
        .iter()
        .map(|t| clip.tokenizer().unwrap().encode(t).unwrap().eot + 1)
        .collect();
    assert!(
        lengths.iter().any(|&l| l < 20) && lengths.contains(&77),
        "the reference texts should include short and over-long ones: {lengths:?}"
    );
    for (i, text) in texts.iter().enumerate() {
        let alone = clip.encode_texts(std::slice::from_ref(text)).unwrap();
        let want = r["text_embeds"].narrow(0, i, 1).unwrap();
        let d = max_diff_normalised(&alone, &want);
        assert!(d < 1e-4, "{text:?} (length {}): differs by {d}", lengths[i]);
        assert!(max_norm_ratio_error(&alone, &want) < 1e-4);
    }
}

#[test]
fn token_ids_fed_to_the_text_tower_match_transformers() {
    let clip = tiny();
    let r = reference();
    let want = r["input_ids"].to_vec2::<i64>().unwrap();
    for (text, want) in texts().iter().zip(want) {
        let got = clip.tokenizer().unwrap().encode(text).unwrap();
        let got: Vec<i64> = got.ids.iter().map(|&i| i64::from(i)).collect();
        assert_eq!(got, want, "{text:?}");
    }
}

#[test]
fn class_features_average_normalised_prompts() {
    let clip = tiny();
    let t = texts();
    let classes = vec![vec![t[0].clone(), t[1].clone()], vec![t[2].clone()]];
    let k = clip.class_features(&classes).unwrap();
    assert_eq!(k.dims(), &[2, 16]);
    // Independent computation from the reference text features.
    let r = reference();
    let e = l2_normalize(&r["text_embeds"]).unwrap();
    let c0 = l2_normalize(
        &((e.get(0).unwrap() + e.get(1).unwrap()).unwrap() / 2.0)
            .unwrap()
            .unsqueeze(0)
            .unwrap(),
    )
    .unwrap();
    let c1 = e.get(2).unwrap().unsqueeze(0).unwrap();
    let want = Tensor::cat(&[c0, c1], 0).unwrap();
    let d = (k - want)
        .unwrap()
        .abs()
        .unwrap()
        .flatten_all()
        .unwrap()
        .max(0)
        .unwrap()
        .to_scalar::<f32>()
        .unwrap();
    assert!(d < 1e-4, "class features differ by {d}");
}
