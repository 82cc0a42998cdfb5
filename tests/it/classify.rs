//! `calip3d classify` and `calip3d eval` end to end on the tiny random CLIP.

use crate::common::*;
use calip3d::attend::CalipParams;
use calip3d::classify::{classes, Classifier};
use calip3d::project::{DeviceChoice, Projection};
use calip3d::{PointCloud, UpAxis};

#[test]
fn classify_prints_json_lines_with_the_documented_keys_and_a_table() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.ply");
    let b = dir.path().join("b.ply");
    write_ply(&a, &box_cloud(0, 400));
    write_ply(&b, &box_cloud(2, 400));
    let model = tiny_model();
    let m = model.to_str().unwrap();
    let out = calip3d(&[
        "classify",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        "--classes",
        "box,pole,plate,cup",
        "--model",
        m,
        "--device",
        "cpu",
        "--json",
        "-k",
        "2",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = json_lines(&String::from_utf8(out.stdout).unwrap());
    assert_eq!(lines.len(), 2);
    for (line, file) in lines.iter().zip([&a, &b]) {
        assert_eq!(line["file"], file.to_str().unwrap());
        assert_eq!(
            line["classes"],
            serde_json::json!(["box", "pole", "plate", "cup"])
        );
        assert_eq!(line["projection"], "realistic");
        assert_eq!(line["model"], m);
        let probs: Vec<f64> = line["probabilities"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        assert!((probs.iter().sum::<f64>() - 1.0).abs() < 1e-5);
        assert_eq!(line["logits"].as_array().unwrap().len(), 4);
        let top = line["top"].as_array().unwrap();
        assert_eq!(top.len(), 2);
        let best = probs.iter().cloned().fold(f64::MIN, f64::max);
        assert!((top[0]["probability"].as_f64().unwrap() - best).abs() < 1e-6);
        for key in ["load", "project", "encode", "attend"] {
            assert!(line["timings_ms"][key].as_f64().unwrap() >= 0.0, "{key}");
        }
    }
    let out = calip3d(&[
        "classify",
        a.to_str().unwrap(),
        "--classes",
        "box,pole",
        "--model",
        m,
        "--device",
        "cpu",
    ]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with(a.to_str().unwrap()), "{text}");
    assert_eq!(text.lines().count(), 3, "{text}");
}

#[test]
fn bad_files_and_classes_exit_non_zero_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.ply");
    std::fs::write(&bad, "not a ply").unwrap();
    let model = tiny_model();
    let m = model.to_str().unwrap();
    let out = calip3d(&[
        "classify",
        bad.to_str().unwrap(),
        "--classes",
        "a,b",
        "--model",
        m,
        "--device",
        "cpu",
    ]);
    // The input failed (exit 2, README "Exit status"); the class list and model below are setup
    // errors (exit 1).
    assert_exit(&out, 2);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.ply"), "{err}");
    assert!(
        !err.contains("panicked") && !err.contains("RUST_BACKTRACE"),
        "{err}"
    );

    let out = calip3d(&[
        "classify",
        bad.to_str().unwrap(),
        "--classes",
        "a,a",
        "--model",
        m,
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr)
        .to_lowercase()
        .contains("duplicate"));

    let out = calip3d(&[
        "classify",
        bad.to_str().unwrap(),
        "--classes",
        "a,b",
        "--model",
        "/nonexistent/model",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/model"));
}

/// One exit-code convention: `classify good broken` and `info good broken` print the good file's
/// result and exit 2; a setup error (an unknown class list file) is exit 1 before any file.
#[test]
fn a_failed_input_among_good_ones_prints_the_good_results_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.ply");
    write_ply(&good, &box_cloud(0, 400));
    let broken = dir.path().join("broken.ply");
    std::fs::write(
        &broken,
        "ply\nformat ascii 1.0\nelement vertex 5\nproperty float x\n",
    )
    .unwrap();
    let model = tiny_model();
    let (g, b, m) = (
        good.to_str().unwrap(),
        broken.to_str().unwrap(),
        model.to_str().unwrap(),
    );
    let out = calip3d(&[
        "classify",
        g,
        b,
        "--classes",
        "box,pole",
        "--model",
        m,
        "--device",
        "cpu",
        "--json",
    ]);
    assert_exit(&out, 2);
    let lines = json_lines(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert_eq!(lines[0]["file"], g);
    assert_eq!(lines[0]["classes"].as_array().unwrap().len(), 2);
    assert_eq!(lines[1]["file"], b);
    assert!(lines[1]["error"].as_str().unwrap().contains("broken.ply"));
    assert!(String::from_utf8_lossy(&out.stderr).contains("broken.ply"));

    let out = calip3d(&["info", g, b]);
    assert_exit(&out, 2);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("good.ply") && text.contains("400"), "{text}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("broken.ply"));

    let missing = dir.path().join("no-such-classes.txt");
    let out = calip3d(&[
        "classify",
        g,
        "--classes",
        missing.to_str().unwrap(),
        "--model",
        m,
        "--device",
        "cpu",
    ]);
    assert_exit(&out, 1);
    assert!(out.stdout.is_empty());
}

/// Plain CLIP computed here from the encoder's outputs: 100 · cos(global image feature, class
/// feature), averaged over the views.
#[test]
fn baseline_is_plain_clip_and_the_beta_terms_change_the_logits() {
    let build = |params: CalipParams| {
        Classifier::builder()
            .model(tiny_model().display().to_string())
            .projection(Projection::PointClip)
            .device(DeviceChoice::Cpu)
            .params(params)
            .build()
            .unwrap()
    };
    let baseline = build(CalipParams::baseline());
    let calip = build(CalipParams::default());
    let templates = classes::default_templates(Projection::PointClip);
    let specs = classes::ClassList::from_names(["box", "pole", "plate"])
        .specs(&templates)
        .unwrap();
    let set = baseline.class_set(specs.clone()).unwrap();
    let cloud = PointCloud::from_xyz(&box_cloud(1, 600).concat(), UpAxis::Y);
    let p = baseline.classify(&cloud, &set).unwrap();

    let points = baseline.prepare(&cloud).unwrap();
    let views = baseline.project(&[&points]).unwrap().batch;
    let s = views.size;
    let pixels = candle_core::Tensor::from_slice(
        &views.data,
        (views.data.len() / (3 * s * s), 3, s, s),
        &candle_core::Device::Cpu,
    )
    .unwrap();
    let global = baseline
        .encoder()
        .encode_images(&pixels)
        .unwrap()
        .global
        .to_vec2::<f32>()
        .unwrap();
    let text = set.features().to_vec2::<f32>().unwrap();
    let norm = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>().sqrt();
    for (k, t) in text.iter().enumerate() {
        let mean: f32 = global
            .iter()
            .map(|g| 100.0 * g.iter().zip(t).map(|(a, b)| a * b).sum::<f32>() / (norm(g) * norm(t)))
            .sum::<f32>()
            / global.len() as f32;
        assert!(
            (p.logits[k] - mean).abs() < 1e-3,
            "class {k}: {} vs {mean}",
            p.logits[k]
        );
    }
    // CALIP's prediction carries the same plain-CLIP logits, and its own differ from them.
    let set2 = calip.class_set(specs).unwrap();
    let q = calip.classify(&cloud, &set2).unwrap();
    for (a, b) in q.baseline_logits.iter().zip(&p.logits) {
        assert!((a - b).abs() < 1e-4);
    }
    assert!(q
        .logits
        .iter()
        .zip(&p.logits)
        .any(|(a, b)| (a - b).abs() > 1e-3));
}

#[test]
fn eval_reports_accuracy_and_a_confusion_matrix_that_add_up() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("set");
    for (c, kind) in [("box", 0u32), ("pole", 1), ("plate", 2)] {
        std::fs::create_dir_all(data.join(c).join("test")).unwrap();
        for i in 0..3 {
            write_ply(
                &data.join(c).join("test").join(format!("{c}{i}.ply")),
                &box_cloud(kind, 200 + 40 * i),
            );
        }
    }
    let plot = dir.path().join("confusion.png");
    let model = tiny_model();
    let out = calip3d(&[
        "eval",
        data.to_str().unwrap(),
        "--classes",
        "box,pole,plate,cup",
        "--model",
        model.to_str().unwrap(),
        "--device",
        "cpu",
        "--json",
        "--compare-baseline",
        "--plot",
        plot.to_str().unwrap(),
        "--quiet",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for method in ["calip", "baseline"] {
        let r = &report[method];
        assert_eq!(r["samples"], 9);
        let confusion: Vec<Vec<u64>> = serde_json::from_value(r["confusion"].clone()).unwrap();
        assert_eq!(confusion.len(), 4);
        assert_eq!(confusion.iter().flatten().sum::<u64>(), 9);
        for (i, row) in confusion.iter().enumerate() {
            let expected = if i < 3 { 3 } else { 0 };
            assert_eq!(row.iter().sum::<u64>(), expected, "row {i}");
        }
        let diagonal: u64 = (0..4).map(|i| confusion[i][i]).sum();
        assert!((r["top1"].as_f64().unwrap() - diagonal as f64 / 9.0).abs() < 1e-12);
        assert!(r["top5"].as_f64().unwrap() >= r["top1"].as_f64().unwrap());
        assert_eq!(
            r["top5"], 1.0,
            "4 classes: the truth is always in the top 5"
        );
    }
    let png = std::fs::read(&plot).unwrap();
    assert_eq!(&png[1..4], b"PNG");
}
