//! The on-disk class-feature cache: hits return what was stored, keys separate models and
//! prompts, and a cached result equals a fresh computation.

use calip3d::encode::{ClipEncoder, TextFeatureCache};
use candle_core::Device;
use std::path::PathBuf;

fn prompts(words: &[&str]) -> Vec<Vec<String>> {
    words
        .iter()
        .map(|w| {
            vec![
                format!("a photo of a {w}."),
                format!("a depth map of a {w}."),
            ]
        })
        .collect()
}

#[test]
fn put_then_get_round_trips_and_keys_are_separate() {
    let dir = tempfile::tempdir().unwrap();
    let cache = TextFeatureCache::new(dir.path());
    let p = prompts(&["cat", "dog"]);
    assert!(cache.get("m", &p).is_none());
    cache.put("m", &p, &[1.0, 2.0, 3.0, 4.0], 2, 2).unwrap();
    assert_eq!(cache.get("m", &p), Some((vec![1.0, 2.0, 3.0, 4.0], 2, 2)));
    assert!(cache.get("other-model", &p).is_none());
    assert!(cache.get("m", &prompts(&["cat", "bird"])).is_none());
    // Moving a prompt to another class changes the key.
    let regrouped = vec![p.concat()];
    assert!(cache.get("m", &regrouped).is_none());
}

#[test]
fn encoder_uses_cache_and_matches_fresh_features() {
    let dir = tempfile::tempdir().unwrap();
    let model = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/clip/tiny");
    let load = || ClipEncoder::load(model.to_str().unwrap(), &Device::Cpu).unwrap();
    let fresh = load().with_text_cache(None);
    let cached = load().with_text_cache(Some(TextFeatureCache::new(dir.path())));
    let p = prompts(&["chair", "table", "lamp"]);
    let a = fresh.class_features(&p).unwrap().to_vec2::<f32>().unwrap();
    let b = cached.class_features(&p).unwrap().to_vec2::<f32>().unwrap();
    assert_eq!(a, b);
    let files: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(files.len(), 1, "one cache entry written");
    // A hit is served from disk: overwrite the entry's payload and see it come back.
    let c = TextFeatureCache::new(dir.path());
    let entry = std::fs::read_to_string(files[0].as_ref().unwrap().path()).unwrap();
    let v: serde_json::Value = serde_json::from_str(&entry).unwrap();
    let model_key = v["model"].as_str().unwrap().to_string();
    c.put(&model_key, &p, &[0.5; 3 * 16], 3, 16).unwrap();
    let poisoned = cached.class_features(&p).unwrap().to_vec2::<f32>().unwrap();
    assert_eq!(poisoned, vec![vec![0.5; 16]; 3]);
    assert_eq!(
        cached
            .class_features(&p[..1])
            .unwrap()
            .to_vec2::<f32>()
            .unwrap()[0],
        a[0]
    );
}

#[test]
fn class_with_no_prompts_is_an_error() {
    let model = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/clip/tiny");
    let clip = ClipEncoder::load(model.to_str().unwrap(), &Device::Cpu)
        .unwrap()
        .with_text_cache(None);
    let err = clip
        .class_features(&[vec!["a cat".into()], vec![]])
        .unwrap_err()
        .to_string();
    assert!(err.contains("class 1"), "{err}");
}
