//! Benchmark datasets in their own layouts (fixtures written by h5py / numpy with the datasets'
//! writer settings: scripts/make_dataset_fixtures.py): listing per split, reading shapes, `eval`
//! on each with a predictions file, and broken h5 files.

use crate::common::{calip3d, json_lines, tiny_model, write_ply};
use calip3d::load::dataset::{Dataset, DatasetOptions, ItemSource, Layout, Split};
use calip3d::load::{load, LoadOptions};
use std::path::{Path, PathBuf};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/datasets")
}

fn open(path: &Path, split: Option<Split>) -> Dataset {
    let options = DatasetOptions {
        split,
        ..Default::default()
    };
    Dataset::open(path, &options).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn modelnet40() -> Vec<String> {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/classes/modelnet40.txt"),
    )
    .unwrap()
    .split_whitespace()
    .map(String::from)
    .collect()
}

fn all_points() -> LoadOptions {
    LoadOptions {
        max_points: 0,
        ..Default::default()
    }
}

/// Item names without the fixture folder, e.g. `ply_data_test0.h5#1`.
fn short_names(d: &Dataset) -> Vec<String> {
    d.items()
        .iter()
        .map(|i| {
            let s = i.source.to_string();
            s.rsplit('/').next().unwrap().to_string()
        })
        .collect()
}

#[test]
fn modelnet40_h5_lists_each_split_from_the_authors_relative_paths() {
    let dir = fixtures().join("modelnet40_ply_hdf5_2048");
    let test = open(&dir, None);
    assert_eq!(test.layout(), Layout::ModelNetHdf5);
    assert_eq!(test.split(), Some(Split::Test));
    assert_eq!(test.class_names().unwrap(), modelnet40().as_slice());
    assert_eq!(
        short_names(&test),
        [
            "ply_data_test0.h5#0",
            "ply_data_test0.h5#1",
            "ply_data_test0.h5#2",
            "ply_data_test0.h5#3",
            "ply_data_test1.h5#0",
            "ply_data_test1.h5#1"
        ]
    );
    let names = modelnet40();
    let label = |n: &str| names.iter().position(|c| c == n).unwrap();
    let labels: Vec<usize> = test.items().iter().map(|i| i.label).collect();
    assert_eq!(
        labels,
        ["bed", "bottle", "table", "bowl", "cone", "bottle"].map(label)
    );
    // Units: whole files' rows, every item once, in order.
    let covered: Vec<usize> = test.read_units().iter().flat_map(|u| u.clone()).collect();
    assert_eq!(covered, (0..6).collect::<Vec<_>>());

    let train = open(&dir, Some(Split::Train));
    assert_eq!(train.items().len(), 4);
    let labels: Vec<usize> = train.items().iter().map(|i| i.label).collect();
    assert_eq!(labels, ["bed", "bowl", "bottle", "table"].map(label));
}

#[test]
fn h5_shapes_read_as_the_same_cloud_as_their_ply() {
    let dir = fixtures().join("modelnet40_ply_hdf5_2048");
    let test = open(&dir, None);
    for (item, ply) in [(1, "modelnet40_test0_1.ply"), (4, "modelnet40_test1_0.ply")] {
        let from_ply = load(&fixtures().join("ply").join(ply), &all_points()).unwrap();
        let from_h5 = test.read(item..item + 1, &all_points()).remove(0).unwrap();
        assert_eq!(from_h5.len(), 256);
        assert_eq!(from_h5.positions(), from_ply.positions(), "{ply}");
        assert_eq!(from_h5.meta.offset, from_ply.meta.offset);
        assert_eq!(from_h5.meta.format, calip3d::Format::Hdf5);
        assert!(from_h5
            .meta
            .path
            .unwrap()
            .to_string_lossy()
            .ends_with(&format!("ply_data_test{}.h5#{}", item / 4, item % 4)));
    }
    // A point budget keeps the same points as the PLY reader's.
    let budget = LoadOptions {
        max_points: 100,
        seed: 7,
        ..Default::default()
    };
    let from_ply = load(&fixtures().join("ply/modelnet40_test0_1.ply"), &budget).unwrap();
    let from_h5 = test.read(0..4, &budget).remove(1).unwrap();
    assert_eq!(from_h5.len(), 100);
    assert_eq!(from_h5.positions(), from_ply.positions());
}

#[test]
fn scanobjectnn_split_folder_and_files_with_and_without_background() {
    let dir = fixtures().join("scanobjectnn/main_split");
    let test = open(&dir, None);
    assert_eq!(test.layout(), Layout::ScanObjectNN);
    assert_eq!(test.class_names(), None);
    let scan: Vec<String> = [
        "bag", "bin", "box", "cabinet", "chair", "desk", "display", "door", "shelf", "table",
        "bed", "pillow", "sink", "sofa", "toilet",
    ]
    .map(String::from)
    .to_vec();
    assert_eq!(test.labels_in(&scan).unwrap(), [9, 2, 1]);
    assert_eq!(open(&dir, Some(Split::Train)).items().len(), 4);
    // Only 2 classes given: label 9 is past them.
    let err = test.labels_in(&scan[..2]).unwrap_err().to_string();
    assert!(
        err.contains(
            "test_objectdataset_augmentedrot_scale75.h5#0: label 9 is past the 2 classes given"
        ),
        "{err}"
    );

    // The download's root holds split folders: the error says which to give.
    let err = Dataset::open(&fixtures().join("scanobjectnn"), &DatasetOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("holds ScanObjectNN split folders (main_split); give one of them"),
        "{err}"
    );

    // One file names its split: --split picks its sibling.
    let file = dir.join("test_objectdataset_augmentedrot_scale75.h5");
    let single = open(&file, None);
    assert_eq!(single.layout(), Layout::Hdf5File);
    assert_eq!(single.items().len(), 3);
    let sibling = open(&file, Some(Split::Train));
    assert!(matches!(&sibling.items()[0].source,
        ItemSource::Hdf5 { file, index: 0 } if file.ends_with("training_objectdataset_augmentedrot_scale75.h5")));

    let with_bg = test.read(2..3, &all_points()).remove(0).unwrap();
    let ply = load(
        &fixtures().join("ply/scanobjectnn_test_2.ply"),
        &all_points(),
    )
    .unwrap();
    assert_eq!(with_bg.positions(), ply.positions());
    let options = DatasetOptions {
        drop_background: true,
        ..Default::default()
    };
    let no_bg = Dataset::open(&dir, &options).unwrap();
    let object = no_bg.read(2..3, &all_points()).remove(0).unwrap();
    let ply = load(
        &fixtures().join("ply/scanobjectnn_test_2_nobg.ply"),
        &all_points(),
    )
    .unwrap();
    assert_eq!((with_bg.len(), object.len()), (128, 96));
    assert_eq!(object.positions(), ply.positions());
}

#[test]
fn normal_resampled_lists_modelnet40_and_modelnet10() {
    let dir = fixtures().join("modelnet40_normal_resampled");
    let test = open(&dir, None);
    assert_eq!(test.layout(), Layout::NormalResampled);
    assert_eq!(
        short_names(&test),
        [
            "airplane_0627.txt",
            "chair_0890.txt",
            "bed_0516.txt",
            "bed_0517.txt"
        ]
    );
    let names = modelnet40();
    let label = |n: &str| names.iter().position(|c| c == n).unwrap();
    let labels: Vec<usize> = test.items().iter().map(|i| i.label).collect();
    assert_eq!(labels, ["airplane", "chair", "bed", "bed"].map(label));
    assert_eq!(open(&dir, Some(Split::Train)).items().len(), 3);

    let options = DatasetOptions {
        subset: Some("modelnet10".into()),
        ..Default::default()
    };
    let mn10 = Dataset::open(&dir, &options).unwrap();
    assert_eq!(mn10.class_names().unwrap().len(), 10);
    let labels: Vec<usize> = mn10.items().iter().map(|i| i.label).collect();
    assert_eq!(labels, [2, 1, 1], "chair, bed, bed in ModelNet10's order");

    let cloud = test.read(1..2, &all_points()).remove(0).unwrap();
    assert_eq!(cloud.len(), 100);
    let normals = cloud.normals().expect("normals kept");
    let n = normals[0];
    assert!(((n[0] * n[0] + n[1] * n[1] + n[2] * n[2]).sqrt() - 1.0).abs() < 1e-4);
}

#[test]
fn class_folders_with_train_and_test_take_the_split() {
    let dir = tempfile::tempdir().unwrap();
    for (c, split, n) in [
        ("chair", "train", 2),
        ("chair", "test", 1),
        ("lamp", "test", 2),
    ] {
        let d = dir.path().join(c).join(split);
        std::fs::create_dir_all(&d).unwrap();
        for i in 0..n {
            write_ply(
                &d.join(format!("{c}_{i}.ply")),
                &crate::common::box_cloud(i, 50),
            );
        }
    }
    let test = open(dir.path(), None);
    assert_eq!(test.layout(), Layout::ClassFolders);
    assert_eq!(test.split(), Some(Split::Test));
    assert_eq!(
        short_names(&test),
        ["chair_0.ply", "lamp_0.ply", "lamp_1.ply"]
    );
    let train = open(dir.path(), Some(Split::Train));
    assert_eq!(short_names(&train), ["chair_0.ply", "chair_1.ply"]);
    // Names match the classes given with `_` and space alike; an unknown class is an error.
    let classes = ["lamp".to_string(), "chair".to_string()];
    assert_eq!(test.labels_in(&classes).unwrap(), [1, 0, 0]);
    let err = test.labels_in(&classes[..1]).unwrap_err().to_string();
    assert!(
        err.contains("class `chair` of the dataset is not one of the 1 classes given"),
        "{err}"
    );
}

/// Runs `eval` with a predictions file; returns (report, records).
fn eval_with_predictions(
    dataset: &Path,
    extra: &[&str],
) -> (serde_json::Value, Vec<serde_json::Value>) {
    let out_dir = tempfile::tempdir().unwrap();
    let predictions = out_dir.path().join("predictions.jsonl");
    let model = tiny_model();
    let mut args = vec![
        "eval",
        dataset.to_str().unwrap(),
        "--model",
        model.to_str().unwrap(),
        "--device",
        "cpu",
        "--json",
        "--quiet",
        "--predictions",
        predictions.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let out = calip3d(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let records = json_lines(&std::fs::read_to_string(&predictions).unwrap());
    // Only the finished file is left: the temporary one was renamed into place.
    let left: Vec<_> = std::fs::read_dir(out_dir.path())
        .unwrap()
        .flatten()
        .collect();
    assert_eq!(left.len(), 1);
    (report, records)
}

/// The records add up to the report: one per sample, top-1 = the fraction predicted right.
fn check_adds_up(report: &serde_json::Value, records: &[serde_json::Value], samples: usize) {
    let r = &report["calip"];
    assert_eq!(r["samples"], samples);
    assert_eq!(records.len(), samples);
    let right = records
        .iter()
        .filter(|p| p["label"] == p["predicted"])
        .count();
    assert!((r["top1"].as_f64().unwrap() - right as f64 / samples as f64).abs() < 1e-12);
    let classes = r["classes"].as_array().unwrap().len();
    for p in records {
        let probabilities = p["probabilities"].as_array().unwrap();
        assert_eq!(p["logits"].as_array().unwrap().len(), classes);
        let sum: f64 = probabilities.iter().map(|v| v.as_f64().unwrap()).sum();
        assert!((sum - 1.0).abs() < 1e-4);
    }
    let confusion: Vec<Vec<u64>> = serde_json::from_value(r["confusion"].clone()).unwrap();
    let per_label = |name: &str| records.iter().filter(|p| p["label"] == name).count() as u64;
    let names: Vec<String> = serde_json::from_value(r["classes"].clone()).unwrap();
    for (i, n) in names.iter().enumerate() {
        assert_eq!(confusion[i].iter().sum::<u64>(), per_label(n), "{n}");
    }
}

fn logits_of(record: &serde_json::Value) -> Vec<f64> {
    record["logits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect()
}

fn classify_logits(ply: &Path, classes: &str, extra: &[&str]) -> Vec<f64> {
    let model = tiny_model();
    let mut args = vec![
        "classify",
        ply.to_str().unwrap(),
        "--classes",
        classes,
        "--model",
        model.to_str().unwrap(),
        "--device",
        "cpu",
        "--json",
    ];
    args.extend_from_slice(extra);
    let out = calip3d(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    logits_of(&json_lines(&String::from_utf8_lossy(&out.stdout))[0])
}

/// Equal up to the last bits of f32 (the encoder batches several shapes in `eval`, one in
/// `classify`; the sums then round differently by an ulp or so).
fn assert_close(a: &[f64], b: &[f64]) {
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(b) {
        assert!((x - y).abs() <= 1e-6 * y.abs().max(1.0), "{x} vs {y}");
    }
}

#[test]
fn eval_on_modelnet40_h5_adds_up_and_matches_classify() {
    let dir = fixtures().join("modelnet40_ply_hdf5_2048");
    let (report, records) =
        eval_with_predictions(&dir, &["--classes", "modelnet40", "--jobs", "3"]);
    assert_eq!(report["layout"], "modelnet40_ply_hdf5_2048");
    assert_eq!(report["split"], "test");
    check_adds_up(&report, &records, 6);
    let record = records
        .iter()
        .find(|r| r["item"].as_str().unwrap().ends_with("ply_data_test0.h5#1"))
        .unwrap();
    assert_eq!(record["label"], "bottle");
    let ply = fixtures().join("ply/modelnet40_test0_1.ply");
    assert_close(
        &logits_of(record),
        &classify_logits(&ply, "modelnet40", &[]),
    );

    let (report, records) =
        eval_with_predictions(&dir, &["--classes", "dataset", "--split", "train"]);
    assert_eq!(report["split"], "train");
    check_adds_up(&report, &records, 4);
}

#[test]
fn eval_on_scanobjectnn_without_background_matches_classify() {
    let dir = fixtures().join("scanobjectnn/main_split");
    let (report, records) =
        eval_with_predictions(&dir, &["--classes", "scanobjectnn", "--no-background"]);
    assert_eq!(report["layout"], "scanobjectnn");
    check_adds_up(&report, &records, 3);
    let record = records
        .iter()
        .find(|r| {
            r["item"]
                .as_str()
                .unwrap()
                .ends_with("test_objectdataset_augmentedrot_scale75.h5#2")
        })
        .unwrap();
    assert_eq!(record["label"], "bin");
    let ply = fixtures().join("ply/scanobjectnn_test_2_nobg.ply");
    assert_close(
        &logits_of(record),
        &classify_logits(&ply, "scanobjectnn", &[]),
    );

    let (_, records) =
        eval_with_predictions(&dir, &["--classes", "scanobjectnn", "--split", "train"]);
    assert_eq!(records.len(), 4);
    // Without --classes the file names none.
    let out = calip3d(&[
        "eval",
        dir.to_str().unwrap(),
        "--classes",
        "dataset",
        "--quiet",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("a scanobjectnn dataset names no classes"),
        "{stderr}"
    );
}

#[test]
fn eval_on_normal_resampled_adds_up() {
    let dir = fixtures().join("modelnet40_normal_resampled");
    let (report, records) = eval_with_predictions(&dir, &["--classes", "modelnet40"]);
    assert_eq!(report["layout"], "modelnet40_normal_resampled");
    check_adds_up(&report, &records, 4);
    let (_, records) =
        eval_with_predictions(&dir, &["--classes", "modelnet10", "--subset", "modelnet10"]);
    assert_eq!(records.len(), 3);
}

/// Opening a broken file as a dataset: the error, which names the file.
fn broken(name: &str) -> String {
    let path = fixtures().join("broken").join(name);
    let options = DatasetOptions {
        drop_background: name.starts_with("mask"),
        ..Default::default()
    };
    let err = Dataset::open(&path, &options).expect_err(name).to_string();
    assert!(err.contains(name), "{err}");
    err
}

#[test]
fn broken_h5_files_get_clear_errors() {
    let err = broken("truncated.h5");
    assert!(err.contains("HDF5"), "{err}");
    assert!(broken("not_hdf5.h5").contains("not a HDF5 file"));
    let err = broken("huge_claim.h5");
    assert!(
        err.contains("states shape [10000000, 2048, 3] of float32, more than a file of"),
        "{err}"
    );
    let err = broken("label_count_mismatch.h5");
    assert!(
        err.contains("array `label` has shape [2, 1], expected (3,) or (3, 1)"),
        "{err}"
    );
    let err = broken("data_int.h5");
    assert!(
        err.contains("array `data` is int32, expected float32 or float64"),
        "{err}"
    );
    let err = broken("label_float.h5");
    assert!(
        err.contains("array `label` is float32, expected integers"),
        "{err}"
    );
    let err = broken("two_columns.h5");
    assert!(
        err.contains("array `data` has shape [3, 64, 2], expected (shapes, points, 3)"),
        "{err}"
    );
    let err = broken("missing_label.h5");
    assert!(
        err.contains("no array `label` (the file has: data)"),
        "{err}"
    );
    let err = broken("mask_mismatch.h5");
    assert!(
        err.contains("array `mask` has shape [3, 10], expected [3, 64]"),
        "{err}"
    );
    // A label past ModelNet40's classes, through the CLI.
    let path = fixtures().join("broken/label_out_of_range.h5");
    let out = calip3d(&[
        "eval",
        path.to_str().unwrap(),
        "--classes",
        "modelnet40",
        "--model",
        tiny_model().to_str().unwrap(),
        "--device",
        "cpu",
        "--quiet",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("label_out_of_range.h5#2: label 250 is past the 40 classes given"),
        "{stderr}"
    );
}

#[test]
fn info_lists_h5_arrays_and_shape_counts() {
    let file = fixtures().join("modelnet40_ply_hdf5_2048/ply_data_test0.h5");
    let out = calip3d(&["info", file.to_str().unwrap(), "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let info = &json_lines(&String::from_utf8_lossy(&out.stdout))[0];
    assert_eq!(info["format"], "hdf5");
    assert_eq!(info["shapes"], 4);
    let arrays: Vec<(String, Vec<u64>, String)> = info["arrays"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["name"].as_str().unwrap().to_string(),
                serde_json::from_value(a["shape"].clone()).unwrap(),
                a["dtype"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        arrays,
        [
            ("data".to_string(), vec![4, 256, 3], "float32".to_string()),
            ("label".to_string(), vec![4, 1], "uint8".to_string()),
            ("normal".to_string(), vec![4, 256, 3], "float32".to_string()),
        ]
    );
    let out = calip3d(&["info", file.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("shapes      4"), "{text}");
    assert!(text.contains("label   (4, 1)  uint8"), "{text}");
    // A broken file: exit 2 (an input failed), the file named.
    let bad = fixtures().join("broken/truncated.h5");
    let out = calip3d(&["info", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("truncated.h5"));
}
