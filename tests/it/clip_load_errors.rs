//! Broken model folders give errors that name the file and the tensor.

use calip3d::encode::ClipEncoder;
use candle_core::Device;
use safetensors::tensor::TensorView;
use safetensors::{Dtype, SafeTensors};
use std::path::{Path, PathBuf};

fn tiny_dir() -> PathBuf {
    crate::common::tiny_model()
}

/// A copy of the tiny model in a temporary folder.
fn copy_tiny() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for f in ["config.json", "model.safetensors", "tokenizer.json"] {
        std::fs::copy(tiny_dir().join(f), dir.path().join(f)).unwrap();
    }
    dir
}

fn load_err(dir: &Path) -> String {
    match ClipEncoder::load(dir.to_str().unwrap(), &Device::Cpu) {
        Ok(_) => panic!("loading {} should fail", dir.display()),
        Err(e) => e.to_string(),
    }
}

/// Rewrites the weights with tensor `name` replaced by (dtype, shape, bytes), or removed.
fn rewrite_tensor(dir: &Path, name: &str, replacement: Option<(Dtype, Vec<usize>, Vec<u8>)>) {
    let path = dir.join("model.safetensors");
    let bytes = std::fs::read(&path).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let mut views = Vec::new();
    for (n, v) in st.tensors() {
        if n == name {
            if let Some((dtype, shape, data)) = &replacement {
                views.push((n, TensorView::new(*dtype, shape.clone(), data).unwrap()));
            }
        } else {
            views.push((n, v));
        }
    }
    let out = safetensors::serialize(views, None).unwrap();
    std::fs::write(&path, out).unwrap();
}

#[test]
fn missing_weights_file_names_file_and_where_to_put_it() {
    let dir = copy_tiny();
    std::fs::remove_file(dir.path().join("model.safetensors")).unwrap();
    let err = load_err(dir.path());
    assert!(err.contains("model.safetensors"), "{err}");
    assert!(err.contains(&dir.path().display().to_string()), "{err}");
}

#[test]
fn missing_folder_is_named() {
    let err = ClipEncoder::load("./no/such/model/folder", &Device::Cpu)
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("./no/such/model/folder"), "{err}");
}

#[test]
fn wrong_shape_names_tensor_and_shapes() {
    let dir = copy_tiny();
    let data = vec![0u8; 16 * 31 * 4];
    rewrite_tensor(
        dir.path(),
        "visual_projection.weight",
        Some((Dtype::F32, vec![16, 31], data)),
    );
    let err = load_err(dir.path());
    assert!(err.contains("visual_projection.weight"), "{err}");
    assert!(
        err.contains("[16, 31]") && err.contains("[16, 32]"),
        "{err}"
    );
    assert!(err.contains("model.safetensors"), "{err}");
}

#[test]
fn config_that_disagrees_with_weights_names_tensor() {
    let dir = copy_tiny();
    let path = dir.path().join("config.json");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v["vision_config"]["intermediate_size"] = 128.into();
    std::fs::write(&path, v.to_string()).unwrap();
    let err = load_err(dir.path());
    assert!(
        err.contains("vision_model.encoder.layers.0.mlp.fc1.weight"),
        "{err}"
    );
}

#[test]
fn wrong_dtype_names_tensor_and_dtype() {
    let dir = copy_tiny();
    rewrite_tensor(
        dir.path(),
        "text_model.final_layer_norm.bias",
        Some((Dtype::I32, vec![32], vec![0u8; 32 * 4])),
    );
    let err = load_err(dir.path());
    assert!(err.contains("text_model.final_layer_norm.bias"), "{err}");
    assert!(err.contains("I32"), "{err}");
}

#[test]
fn missing_tensor_is_named() {
    let dir = copy_tiny();
    rewrite_tensor(dir.path(), "vision_model.post_layernorm.weight", None);
    let err = load_err(dir.path());
    assert!(err.contains("vision_model.post_layernorm.weight"), "{err}");
    assert!(err.contains("missing"), "{err}");
}

#[test]
fn truncated_safetensors_is_reported() {
    let dir = copy_tiny();
    let path = dir.path().join("model.safetensors");
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    let err = load_err(dir.path());
    assert!(err.contains("model.safetensors"), "{err}");
    assert!(err.contains("truncated"), "{err}");
}

#[test]
fn invalid_config_is_reported() {
    let dir = copy_tiny();
    std::fs::write(dir.path().join("config.json"), "{\"text_config\": {}}").unwrap();
    let err = load_err(dir.path());
    assert!(err.contains("config.json"), "{err}");
}
