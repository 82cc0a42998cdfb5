//! calip3d against the independent implementation of METHOD.md in scripts/reference_pipeline.py
//! (numpy, PyTorch, transformers): depth views, CALIP's attention, and the whole pipeline.

use calip3d::attend::{aggregate_views, CalipAttention, CalipParams};
use calip3d::classify::classes::ClassSpec;
use calip3d::classify::Classifier;
use calip3d::project::{cpu_depth_views, DeviceChoice, Projection};
use calip3d::{PointCloud, UpAxis};
use candle_core::{Device, Tensor};
use nalgebra::Point3;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn data(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(p)
}

fn reference_clouds() -> Vec<Vec<Point3<f32>>> {
    let (shape, xyz) = calip3d::npy::read_f32(&data("projection/clouds.npy")).unwrap();
    assert_eq!(shape[2], 3);
    xyz.chunks(shape[1] * 3)
        .map(|c| c.chunks(3).map(|p| Point3::new(p[0], p[1], p[2])).collect())
        .collect()
}

#[test]
fn depth_views_match_the_numpy_reference() {
    let clouds = reference_clouds();
    for (projection, file) in [
        (Projection::PointClip, "pointclip_views.npy"),
        (Projection::Realistic, "realistic_views.npy"),
    ] {
        let (shape, expected) =
            calip3d::npy::read_f32(&data(&format!("projection/{file}"))).unwrap();
        let got: Vec<f32> = clouds
            .iter()
            .flat_map(|c| cpu_depth_views(projection, &projection.views(), c).data)
            .collect();
        assert_eq!(got.len(), expected.len(), "{shape:?}");
        let diffs: Vec<f32> = got
            .iter()
            .zip(&expected)
            .map(|(a, b)| (a - b).abs())
            .collect();
        let worst = diffs.iter().copied().fold(0f32, f32::max);
        let equal = diffs.iter().filter(|&&d| d <= 1e-4).count() as f64 / diffs.len() as f64;
        eprintln!(
            "{projection}: {:.4}% of pixels within 1e-4 of numpy, worst {worst}",
            equal * 100.0
        );
        assert!(equal >= 0.999, "{projection}: {equal}");
    }
}

fn tensor(v: &Value) -> Tensor {
    fn flat(v: &Value, out: &mut Vec<f32>, shape: &mut Vec<usize>, depth: usize) {
        match v {
            Value::Array(a) => {
                if shape.len() == depth {
                    shape.push(a.len());
                }
                a.iter().for_each(|x| flat(x, out, shape, depth + 1));
            }
            x => out.push(x.as_f64().unwrap() as f32),
        }
    }
    let (mut data, mut shape) = (Vec::new(), Vec::new());
    flat(v, &mut data, &mut shape, 0);
    Tensor::from_vec(data, shape, &Device::Cpu).unwrap()
}

fn assert_close(got: &Tensor, want: &Value, tol: f32, what: &str) {
    let want = tensor(want);
    assert_eq!(got.dims(), want.dims(), "{what}");
    let diff = (got - &want)
        .unwrap()
        .abs()
        .unwrap()
        .flatten_all()
        .unwrap()
        .max(0)
        .unwrap();
    let diff = diff.to_scalar::<f32>().unwrap();
    assert!(diff <= tol, "{what}: max difference {diff}");
}

#[test]
fn calip_attention_matches_the_numpy_reference() {
    let r: Value =
        serde_json::from_str(&std::fs::read_to_string(data("calip/reference.json")).unwrap())
            .unwrap();
    let params = CalipParams {
        beta2: r["beta2"].as_f64().unwrap() as f32,
        beta3: r["beta3"].as_f64().unwrap() as f32,
        ..CalipParams::default()
    };
    let att = CalipAttention::new(params);
    let (g, s, t) = (
        tensor(&r["global"]),
        tensor(&r["spatial"]),
        tensor(&r["text"]),
    );
    let terms = att.terms(&g, &s, &t).unwrap();
    assert_close(&terms.clip, &r["clip"], 1e-5, "plain CLIP term");
    assert_close(
        &terms.text_guided,
        &r["text_guided"],
        1e-5,
        "visually guided text term (F_t^a)",
    );
    assert_close(
        &terms.visual_guided,
        &r["visual_guided"],
        1e-5,
        "text-aware visual term (F_s^a pooled)",
    );
    let logits = att.logits(&g, &s, &t).unwrap();
    assert_close(&logits, &r["logits"], 1e-3, "per-view logits");
    let weights: Vec<f32> = r["weights"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_f64().unwrap() as f32)
        .collect();
    let agg = aggregate_views(&logits, 3, &weights).unwrap();
    assert_close(&agg, &r["aggregated"], 1e-3, "weighted view mean");
    let probs = calip3d::classify::softmax(&agg.to_vec2::<f32>().unwrap()[0]);
    let want: Vec<f64> = r["probabilities"][0]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    for (a, b) in probs.iter().zip(&want) {
        assert!((*a as f64 - b).abs() < 1e-5);
    }
}

/// Strings of a JSON array.
fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

/// Classifies `cloud` with the tiny CLIP as one case of an expected.json describes it (projection,
/// β2, β3, the prompts of each class) and returns the largest difference from its `logits`.
fn worst_logit_difference(
    cloud: &PointCloud,
    case: &Value,
    names: &[String],
    betas: &Value,
) -> f64 {
    let projection: Projection = case["projection"].as_str().unwrap().parse().unwrap();
    let params = CalipParams {
        beta2: betas["beta2"].as_f64().unwrap() as f32,
        beta3: betas["beta3"].as_f64().unwrap() as f32,
        ..CalipParams::default()
    };
    let classifier = Classifier::builder()
        .model(crate::common::tiny_model().display().to_string())
        .projection(projection)
        .device(DeviceChoice::Cpu)
        .params(params)
        .build()
        .unwrap();
    let specs: Vec<ClassSpec> = names
        .iter()
        .zip(case["prompts"].as_array().unwrap())
        .map(|(name, prompts)| ClassSpec {
            name: name.clone(),
            prompts: strings(prompts),
        })
        .collect();
    let got = classifier
        .classify(cloud, &classifier.class_set(specs).unwrap())
        .unwrap()
        .logits;
    let want: Vec<f64> = case["logits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert_eq!(got.len(), want.len());
    eprintln!("{projection}: logits {got:?} (expected {want:?})");
    got.iter()
        .zip(&want)
        .map(|(a, b)| (*a as f64 - b).abs())
        .fold(0.0, f64::max)
}

#[test]
fn the_whole_pipeline_matches_the_independent_python_implementation() {
    let e: Value =
        serde_json::from_str(&std::fs::read_to_string(data("e2e/expected.json")).unwrap()).unwrap();
    let cloud = PointCloud::from_points(reference_clouds().remove(0), UpAxis::Y);
    let names = strings(&e["classes"]);
    for case in e["cases"].as_array().unwrap() {
        let worst = worst_logit_difference(&cloud, case, &names, case);
        eprintln!(
            "{} {}: worst difference {worst:.2e}",
            case["projection"], case["method"]
        );
        assert!(
            worst < 1e-3,
            "{} {}: worst {worst}",
            case["projection"],
            case["method"]
        );
    }
}

/// A second, separately written Python implementation of METHOD.md (scripts/e2e_reference_second.py,
/// with its own cloud built so that f32 and f64 put every point in the same cell) agrees too.
#[test]
fn the_whole_pipeline_matches_a_second_independent_implementation() {
    let e: Value =
        serde_json::from_str(&std::fs::read_to_string(data("e2e_second/expected.json")).unwrap())
            .unwrap();
    let cloud = calip3d::load::load(
        &data("e2e_second/cloud.ply"),
        &calip3d::load::LoadOptions::default(),
    )
    .unwrap();
    assert_eq!(cloud.len(), 972);
    for (name, case) in e["cases"].as_object().unwrap() {
        let classes = case["prompts"].as_array().unwrap().len();
        let names: Vec<String> = (0..classes).map(|i| format!("class{i}")).collect();
        let worst = worst_logit_difference(&cloud, case, &names, &case["params"]);
        eprintln!("{name}: worst logit difference {worst:.2e}");
        assert!(worst < 1e-3, "{name}: worst {worst}");
    }
}
