//! OpenAI's ViT configurations load and compute like transformers: random weights written by
//! `encode::random` (seed 0), references by `scripts/clip_reference.py features` on the same
//! folders (tests/data/clip/vit_*_reference.safetensors).

use calip3d::encode::random::{write_random_clip, ClipArch};
use calip3d::encode::transformer::l2_normalize;
use calip3d::encode::ClipEncoder;
use candle_core::{Device, Tensor};
use std::path::PathBuf;

/// The formula images of `clip_reference.py`'s `formula_pixels`.
fn formula_pixels(n: usize, size: usize) -> Tensor {
    let mut v = Vec::with_capacity(n * 3 * size * size);
    for b in 0..n {
        for c in 0..3 {
            for y in 0..size {
                for x in 0..size {
                    let (b, c, y, x) = (b as f64, c as f64, y as f64, x as f64);
                    let p = (0.1 * x + 0.07 * (c + 1.0) * y + 1.3 * b).sin()
                        * (0.05 * y - 0.3 * c).cos();
                    v.push(p as f32);
                }
            }
        }
    }
    Tensor::from_vec(v, (n, 3, size, size), &Device::Cpu).unwrap()
}

fn texts() -> Vec<String> {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/clip/tiny_reference.json");
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    v["texts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_string())
        .collect()
}

/// Largest absolute difference after L2-normalising both (features of norm 1).
fn max_diff(a: &Tensor, b: &Tensor) -> f32 {
    assert_eq!(a.dims(), b.dims());
    (l2_normalize(a).unwrap() - l2_normalize(b).unwrap())
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

fn check_against_transformers(arch: ClipArch, reference: &str, images: usize, patches: usize) {
    let dir = tempfile::tempdir().unwrap();
    write_random_clip(arch, dir.path(), 0).unwrap();
    let clip = ClipEncoder::load(dir.path().to_str().unwrap(), &Device::Cpu)
        .unwrap()
        .with_text_cache(None);
    assert_eq!(
        (clip.image_size(), clip.embed_dim(), clip.num_patches()),
        (224, 512, patches)
    );
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/clip")
        .join(reference);
    let r = candle_core::safetensors::load(path, &Device::Cpu).unwrap();
    let f = clip.encode_images(&formula_pixels(images, 224)).unwrap();
    assert_eq!(f.spatial.dims(), &[images, patches, 512]);
    let (g, s) = (
        max_diff(&f.global, &r["image_global"]),
        max_diff(&f.spatial, &r["image_spatial"]),
    );
    eprintln!("{arch:?}: max |diff| after normalising: global {g:e}, spatial {s:e}");
    assert!(g < 1e-4 && s < 1e-4, "{arch:?}: global {g}, spatial {s}");
    let t = max_diff(&clip.encode_texts(&texts()).unwrap(), &r["text_embeds"]);
    assert!(t < 1e-4, "{arch:?}: text {t}");
}

#[test]
fn vit_b32_matches_transformers() {
    check_against_transformers(ClipArch::VitB32, "vit_b32_reference.safetensors", 2, 49);
}

#[test]
fn vit_b16_matches_transformers() {
    check_against_transformers(ClipArch::VitB16, "vit_b16_reference.safetensors", 1, 196);
}

/// ViT-L/14's random weights are 1.7 GB: run with `cargo test --release -- --ignored`.
#[test]
#[ignore]
fn vit_l14_loads_and_has_openai_shapes() {
    let dir = tempfile::tempdir().unwrap();
    write_random_clip(ClipArch::VitL14, dir.path(), 0).unwrap();
    let clip = ClipEncoder::load(dir.path().to_str().unwrap(), &Device::Cpu)
        .unwrap()
        .with_text_cache(None);
    assert_eq!((clip.embed_dim(), clip.num_patches()), (768, 256));
    let f = clip.encode_images(&formula_pixels(1, 224)).unwrap();
    assert_eq!(f.global.dims(), &[1, 768]);
    assert_eq!(f.spatial.dims(), &[1, 256, 768]);
    let t = clip.encode_texts(&texts()).unwrap();
    assert_eq!(t.dims(), &[6, 768]);
}
