//! Scenes (METHOD.md §8): a synthetic tile built from the shared objects, ground against the
//! providers' classes, clustering against scikit-learn/scipy (scripts/scene_reference.py →
//! tests/data/scene/), the labelled LAS against laspy, and bad input.

use crate::common::{calip3d, json_lines, kill_inside_a_reader, tiny_model};
use calip3d::classify::{classes::ClassSpec, ClassSet, Classifier};
use calip3d::load::{load, LoadOptions};
use calip3d::project::DeviceChoice;
use calip3d::scene::cluster::{cluster, ClusterMethod, ClusterParams};
use calip3d::scene::ground::{smrf, SmrfParams};
use calip3d::scene::{GroundMethod, Role, SceneOptions};
use calip3d::{PointCloud, UpAxis};
use nalgebra::Point3;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The shared folder, or None (loudly) when CALIP3D_SKIP_SHARED=1 allows its absence.
fn shared() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data");
    if dir.is_dir() {
        return Some(dir);
    }
    let msg = format!(
        "{} is missing: the scene tests on real data cannot run",
        dir.display()
    );
    if std::env::var("CALIP3D_SKIP_SHARED").as_deref() == Ok("1") {
        eprintln!("WARNING: {msg} (skipped because CALIP3D_SKIP_SHARED=1)");
        return None;
    }
    panic!("{msg}; set CALIP3D_SKIP_SHARED=1 to skip them knowingly");
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/scene")
        .join(name)
}

fn classifier() -> Classifier {
    Classifier::builder()
        .model(tiny_model().display().to_string())
        .device(DeviceChoice::Cpu)
        .build()
        .unwrap()
}

const CLASSES: [&str; 4] = ["car", "tree", "person", "lamp"];

fn class_set(c: &Classifier) -> ClassSet {
    c.class_set(ClassSpec::from_names(&CLASSES, &["a depth map of a {}."]))
        .unwrap()
}

fn all_points() -> LoadOptions {
    LoadOptions {
        max_points: 0,
        ..Default::default()
    }
}

/// A deterministic xorshift in [0, 1).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// UTM-sized origin of the synthetic tile (zone 10N easting/northing, metres).
const ORIGIN: [f64; 3] = [500_000.0, 5_000_000.0, 0.0];

fn ground_z(x: f64, y: f64) -> f64 {
    100.0 + 0.05 * x + 0.02 * y
}

/// The synthetic tile: shared objects scaled to metres, standing on a sloped, noisy ground, in
/// UTM-sized coordinates, written as LAS 1.2 format 1 (scale 1 mm) in shuffled order. Returns
/// the file and each point's tag: 0 for ground, k + 1 for object k.
fn synthetic_tile(dir: &Path, shared: &Path) -> (PathBuf, Vec<usize>) {
    // (file, longest side in metres, where it stands on the 60 m × 60 m ground)
    let objects = [
        ("objects/car/turk_big_porsche.ply", 4.5, [12.0, 12.0]),
        ("objects/tree/turk_fracttree.ply", 8.0, [42.0, 14.0]),
        ("objects/person/odedstein_human_man.obj", 1.8, [14.0, 44.0]),
        ("objects/lamp/turk_street_lamp.ply", 5.0, [44.0, 44.0]),
    ];
    let mut rng = Rng(0x5EED_1234_ABCD_0001);
    let mut points: Vec<([f64; 3], usize)> = Vec::new();
    for i in 0..120 {
        for j in 0..120 {
            let x = i as f64 * 0.5 + 0.2 * (rng.next() - 0.5);
            let y = j as f64 * 0.5 + 0.2 * (rng.next() - 0.5);
            let z = ground_z(x, y) + 0.04 * (rng.next() - 0.5);
            points.push(([x, y, z], 0));
        }
    }
    for (k, (file, size, at)) in objects.iter().enumerate() {
        let opts = LoadOptions {
            max_points: 2500,
            up_axis: Some(UpAxis::Y),
            seed: 7,
            ..Default::default()
        };
        let cloud = load(&shared.join(file), &opts).unwrap();
        // y-up → z-up, then scale the longest side to `size` metres.
        let pts: Vec<[f64; 3]> = cloud
            .positions()
            .iter()
            .map(|p| [p.x as f64, -(p.z as f64), p.y as f64])
            .collect();
        let (mut lo, mut hi) = ([f64::MAX; 3], [f64::MIN; 3]);
        for p in &pts {
            for d in 0..3 {
                lo[d] = lo[d].min(p[d]);
                hi[d] = hi[d].max(p[d]);
            }
        }
        let s = size / (0..3).map(|d| hi[d] - lo[d]).fold(0.0, f64::max);
        let base = ground_z(at[0], at[1]) + 0.3;
        for p in pts {
            let x = at[0] + (p[0] - (lo[0] + hi[0]) / 2.0) * s;
            let y = at[1] + (p[1] - (lo[1] + hi[1]) / 2.0) * s;
            let z = base + (p[2] - lo[2]) * s;
            points.push(([x, y, z], k + 1));
        }
    }
    // Shuffle (Fisher–Yates) so that objects and ground interleave in the file.
    for i in (1..points.len()).rev() {
        let j = (rng.next() * (i + 1) as f64) as usize;
        points.swap(i, j);
    }
    let path = dir.join("synthetic.las");
    let mut builder = las::Builder::from((1, 2));
    builder.point_format = las::point::Format::new(1).unwrap();
    let t = |offset| las::Transform {
        scale: 0.001,
        offset,
    };
    builder.transforms = las::Vector {
        x: t(ORIGIN[0]),
        y: t(ORIGIN[1]),
        z: t(ORIGIN[2]),
    };
    let mut w = las::Writer::from_path(&path, builder.into_header().unwrap()).unwrap();
    for (n, (p, tag)) in points.iter().enumerate() {
        w.write_point(las::Point {
            x: p[0] + ORIGIN[0],
            y: p[1] + ORIGIN[1],
            z: p[2] + ORIGIN[2],
            intensity: (n % 4000) as u16,
            return_number: 1,
            number_of_returns: 1,
            gps_time: Some(n as f64 * 0.001),
            classification: las::point::Classification::new(if *tag == 0 { 2 } else { 1 }).unwrap(),
            ..Default::default()
        })
        .unwrap();
    }
    w.close().unwrap();
    (path, points.into_iter().map(|(_, t)| t).collect())
}

/// The coordinates the file holds, read back with the las crate.
fn file_xyz(path: &Path) -> Vec<[f64; 3]> {
    las_points(path)
        .into_iter()
        .map(|p| [p.x, p.y, p.z])
        .collect()
}

fn las_points(path: &Path) -> Vec<las::Point> {
    let mut r = las::Reader::from_path(path).unwrap();
    r.read_all().unwrap().points().map(|p| p.unwrap()).collect()
}

#[test]
fn synthetic_scene_finds_every_object_whole_and_classifies_it_as_in_memory() {
    let Some(shared) = shared() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (path, tags) = synthetic_tile(dir.path(), &shared);
    let classifier = classifier();
    let classes = class_set(&classifier);
    let cloud = load(&path, &all_points()).unwrap();
    assert_eq!(cloud.len(), tags.len());
    let scene = classifier
        .classify_scene(&cloud, &classes, &SceneOptions::default())
        .unwrap();
    assert_eq!(
        scene.ground,
        GroundMethod::Classified,
        "class-2 points: auto is classified"
    );
    assert_eq!(scene.objects.len(), 4, "one cluster per object");
    let xyz = file_xyz(&path);
    for k in 1..=4 {
        let members: Vec<usize> = (0..tags.len()).filter(|&i| tags[i] == k).collect();
        let id = scene.cluster_ids[members[0]];
        assert!(id > 0, "object {k} is in a cluster");
        // Completeness: all its points in that one cluster; purity: nothing else in it.
        assert!(
            members.iter().all(|&i| scene.cluster_ids[i] == id),
            "object {k} split"
        );
        let in_cluster = scene.cluster_ids.iter().filter(|&&c| c == id).count();
        assert_eq!(
            in_cluster,
            members.len(),
            "object {k}: cluster holds other points"
        );
        let object = &scene.objects[id as usize - 1];
        assert_eq!(object.cluster_id, id);
        assert_eq!(object.points, members.len());
        // The centroid in the file's CRS (UTM-sized), against the file's own f64 coordinates.
        for (d, (centroid, min)) in object.centroid.iter().zip(&object.bounds.min).enumerate() {
            let truth = members.iter().map(|&i| xyz[i][d]).sum::<f64>() / members.len() as f64;
            assert!(
                (centroid - truth).abs() < 1e-3,
                "object {k} centroid[{d}] {centroid} vs {truth}"
            );
            let lo = members.iter().map(|&i| xyz[i][d]).fold(f64::MAX, f64::min);
            assert!((min - lo).abs() < 1e-3);
        }
        assert!(object.centroid[0] > 500_000.0 && object.centroid[1] > 5_000_000.0);
        // The same points, re-centred in f64 and classified on their own in memory.
        let local: Vec<[f64; 3]> = members
            .iter()
            .map(|&i| cloud.positions()[i].coords.map(|c| c as f64).into())
            .collect();
        let mean: Vec<f64> = (0..3)
            .map(|d| local.iter().map(|p| p[d]).sum::<f64>() / local.len() as f64)
            .collect();
        let alone = PointCloud::from_points(
            local.iter().map(|p| {
                Point3::new(
                    (p[0] - mean[0]) as f32,
                    (p[1] - mean[1]) as f32,
                    (p[2] - mean[2]) as f32,
                )
            }),
            UpAxis::Z,
        );
        let p = classifier.classify(&alone, &classes).unwrap();
        for (a, b) in p.logits.iter().zip(&object.prediction.logits) {
            assert!(
                (a - b).abs() < 1e-4,
                "object {k}: logits {:?} vs {:?}",
                p.logits,
                object.prediction.logits
            );
        }
        let label = object.class_index() as u16 + 1;
        assert!(members.iter().all(|&i| scene.labels[i] == label));
    }
    for (i, &t) in tags.iter().enumerate() {
        if t == 0 {
            assert_eq!(scene.roles[i], Role::Ground);
            assert_eq!(
                (scene.cluster_ids[i], scene.labels[i]),
                (0, 0),
                "ground point {i}"
            );
        }
    }
    // SMRF on the same tile finds the same ground (objects stand 0.3 m above it).
    let g = smrf(cloud.positions(), UpAxis::Z, &SmrfParams::default()).unwrap();
    let agree = g
        .iter()
        .zip(&tags)
        .filter(|(g, t)| **g == (**t == 0))
        .count();
    let agreement = agree as f64 / tags.len() as f64;
    // The lowest 0.27 m of each object (0.3 m up, within threshold 0.5 m + 1.25 × slope) is
    // ground to SMRF: about 3 % of the points.
    assert!(
        agreement > 0.95,
        "SMRF agreement on the synthetic tile {agreement}"
    );
}

/// Raw point records of an uncompressed LAS: (record length, records).
fn raw_records(path: &Path) -> (usize, Vec<Vec<u8>>) {
    let b = std::fs::read(path).unwrap();
    let offset = u32::from_le_bytes(b[96..100].try_into().unwrap()) as usize;
    let len = u16::from_le_bytes(b[105..107].try_into().unwrap()) as usize;
    let n = u32::from_le_bytes(b[107..111].try_into().unwrap()) as usize;
    let recs = (0..n)
        .map(|i| b[offset + i * len..offset + (i + 1) * len].to_vec())
        .collect();
    (len, recs)
}

/// The extra-bytes descriptors of a LAS: (type, name, description).
fn descriptors(header: &las::Header) -> Vec<(u8, String, String)> {
    let vlr = header
        .vlrs()
        .iter()
        .find(|v| v.user_id == "LASF_Spec" && v.record_id == 4)
        .expect("an extra-bytes VLR");
    let text = |b: &[u8]| {
        String::from_utf8_lossy(b)
            .trim_end_matches('\0')
            .to_string()
    };
    vlr.data
        .chunks(192)
        .map(|d| (d[2], text(&d[4..36]), text(&d[160..192])))
        .collect()
}

#[test]
fn scene_command_writes_objects_labelled_las_laz_and_plot() {
    let Some(shared) = shared() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (path, tags) = synthetic_tile(dir.path(), &shared);
    let d = |n: &str| dir.path().join(n).display().to_string();
    let model = tiny_model().display().to_string();
    let input = path.display().to_string();
    let out = calip3d(&[
        "scene",
        &input,
        "--classes",
        "car,tree,person,lamp",
        "--model",
        &model,
        "--device",
        "cpu",
        "--objects",
        &d("objects.jsonl"),
        "--out-cloud",
        &d("labelled.las"),
        "--plot",
        &d("top.png"),
        "--asprs",
        "--asprs-map",
        "car=20,tree=5",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let records = json_lines(&std::fs::read_to_string(d("objects.jsonl")).unwrap());
    assert_eq!(records.len(), 4);
    for (k, r) in records.iter().enumerate() {
        assert_eq!(r["cluster_id"], k as u64 + 1);
        for key in [
            "file",
            "points",
            "centroid",
            "bbox",
            "class",
            "probability",
            "top",
            "classes",
            "logits",
        ] {
            assert!(!r[key].is_null(), "{key} in {r}");
        }
        assert_eq!(r["top"].as_array().unwrap().len(), 4);
        assert!(r["bbox"]["min"][0].as_f64().unwrap() > 500_000.0);
    }
    // LAS: every record starts with the input's bytes, except the rewritten classification
    // (byte 15 of format 1); then ClusterID, calip3d_class, calip3d_prob, HeightAboveGround.
    let (len_in, input_recs) = raw_records(&path);
    let (len_out, output_recs) = raw_records(Path::new(&d("labelled.las")));
    assert_eq!(len_out, len_in + 14);
    assert_eq!(output_recs.len(), input_recs.len());
    let header = las::Reader::from_path(d("labelled.las"))
        .unwrap()
        .header()
        .clone();
    let names: Vec<(u8, String)> = descriptors(&header)
        .into_iter()
        .map(|(t, n, _)| (t, n))
        .collect();
    assert_eq!(
        names,
        [
            (5, "ClusterID".to_string()),
            (3, "calip3d_class".into()),
            (9, "calip3d_prob".into()),
            (9, "HeightAboveGround".into())
        ]
    );
    let classes_vlr = header
        .vlrs()
        .iter()
        .find(|v| v.user_id == "calip3d")
        .unwrap();
    let v: Value = serde_json::from_slice(&classes_vlr.data).unwrap();
    assert_eq!(v["calip3d_class"], serde_json::json!(CLASSES));
    let code = |r: &[Value], id: u32| -> u8 {
        match r[id as usize - 1]["class"].as_str().unwrap() {
            "car" => 20,
            "tree" => 5,
            _ => 1,
        }
    };
    for ((a, b), &tag) in input_recs.iter().zip(&output_recs).zip(&tags) {
        assert_eq!(a[..15], b[..15]);
        assert_eq!(a[16..], b[16..len_in]);
        let cluster = u32::from_le_bytes(b[len_in..len_in + 4].try_into().unwrap());
        let class = u16::from_le_bytes(b[len_in + 4..len_in + 6].try_into().unwrap());
        let prob = f32::from_le_bytes(b[len_in + 6..len_in + 10].try_into().unwrap());
        let height = f32::from_le_bytes(b[len_in + 10..len_in + 14].try_into().unwrap());
        if tag == 0 {
            // Class-2 points are their own nearest ground point.
            assert_eq!((cluster, class, prob, height, b[15]), (0, 0, 0.0, 0.0, 2));
        } else {
            assert!(
                cluster > 0 && class > 0 && prob > 0.0 && height > 0.2,
                "{height}"
            );
            assert_eq!(b[15], code(&records, cluster));
            let r = &records[cluster as usize - 1];
            assert_eq!(CLASSES[class as usize - 1], r["class"].as_str().unwrap());
        }
    }
    assert_eq!(
        header.transforms(),
        las::Reader::from_path(&path).unwrap().header().transforms()
    );
    // LAZ holds the same points as the LAS.
    let out = calip3d(&[
        "scene",
        &input,
        "--classes",
        "car,tree,person,lamp",
        "--model",
        &model,
        "--device",
        "cpu",
        "--out-cloud",
        &d("labelled.laz"),
        "-q",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let laz: Vec<las::Point> = las_points(Path::new(&d("labelled.laz")));
    let las_in: Vec<las::Point> = las_points(&path);
    assert_eq!(laz.len(), las_in.len());
    for (a, b) in las_in.iter().zip(&laz) {
        assert_eq!(
            (a.x, a.y, a.z, a.intensity, a.gps_time),
            (b.x, b.y, b.z, b.intensity, b.gps_time)
        );
        assert_eq!(b.extra_bytes.len(), 14);
    }
    // The plot is a PNG of the map plus the legend.
    let png = std::fs::read(d("top.png")).unwrap();
    assert_eq!(&png[1..4], b"PNG");
    let width = u32::from_be_bytes(png[16..20].try_into().unwrap());
    assert!(width > 1000, "{width}");
}

#[test]
fn labelled_warsaw_matches_the_laspy_reference() {
    let Some(shared) = shared() else { return };
    let reference: Value = serde_json::from_str(
        &std::fs::read_to_string(fixture("labelled_warsaw_laspy.json")).unwrap(),
    )
    .unwrap();
    // What laspy saw in the committed file.
    assert!(reference["original_dimensions_equal"]
        .as_object()
        .unwrap()
        .values()
        .all(|v| v == true));
    assert_eq!(reference["records_start_with_input_bytes"], true);
    assert_eq!(reference["scales_equal"], true);
    assert_eq!(reference["offsets_equal"], true);
    assert_eq!(reference["point_format"], reference["input_point_format"]);
    let extra = &reference["extra_dimensions"];
    assert_eq!(extra["ClusterID"]["type"], "uint32");
    assert_eq!(extra["calip3d_class"]["type"], "uint16");
    assert_eq!(extra["calip3d_prob"]["type"], "float32");
    assert_eq!(extra["HeightAboveGround"]["type"], "float32");
    assert!(extra["ClusterID"]["description"]
        .as_str()
        .unwrap()
        .contains("0 = none"));
    assert_eq!(
        reference["class_names"]["calip3d_class"],
        serde_json::json!(CLASSES)
    );
    // calip3d writes the same file today.
    let dir = tempfile::tempdir().unwrap();
    let out_path = dir.path().join("labelled.las");
    let input = shared.join("lidar/pdal/warsaw_small.las");
    let out = calip3d(&[
        "scene",
        &input.display().to_string(),
        "--classes",
        "car,tree,person,lamp",
        "--model",
        &tiny_model().display().to_string(),
        "--device",
        "cpu",
        "--ground",
        "classified",
        "--out-cloud",
        &out_path.display().to_string(),
        "-q",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (len, ours) = raw_records(&out_path);
    let (_, committed) = raw_records(&fixture("labelled_warsaw.las"));
    let (len_in, input_recs) = raw_records(&input);
    assert_eq!(ours.len(), committed.len());
    let clusters = reference["cluster_ids"].as_array().unwrap();
    let labels = reference["calip3d_class"].as_array().unwrap();
    for (i, ((a, b), src)) in ours.iter().zip(&committed).zip(&input_recs).enumerate() {
        assert_eq!(a[..len_in], src[..], "record {i}: input bytes");
        assert_eq!(
            a[..len - 8],
            b[..len - 8],
            "record {i}: all before the probability"
        );
        assert_eq!(a[len - 4..], b[len - 4..], "record {i}: HeightAboveGround");
        let pa = f32::from_le_bytes(a[len - 8..len - 4].try_into().unwrap());
        let pb = f32::from_le_bytes(b[len - 8..len - 4].try_into().unwrap());
        assert!((pa - pb).abs() < 1e-4, "record {i}: {pa} vs {pb}");
        let cluster = u32::from_le_bytes(a[len_in..len_in + 4].try_into().unwrap());
        assert_eq!(cluster as u64, clusters[i].as_u64().unwrap());
        let class = u16::from_le_bytes(a[len_in + 4..len_in + 6].try_into().unwrap());
        assert_eq!(class as u64, labels[i].as_u64().unwrap());
    }
    // Header and VLRs are the committed ones.
    let head = |p: &Path| {
        let b = std::fs::read(p).unwrap();
        let offset = u32::from_le_bytes(b[96..100].try_into().unwrap()) as usize;
        b[..offset].to_vec()
    };
    assert_eq!(head(&out_path), head(&fixture("labelled_warsaw.las")));
}

/// Provider ground (ASPRS 2) against SMRF with PDAL's defaults: (agreement, ground recall).
fn smrf_agreement(path: &Path) -> (f64, f64) {
    let cloud = load(path, &all_points()).unwrap();
    let g = smrf(cloud.positions(), UpAxis::Z, &SmrfParams::default()).unwrap();
    let truth: Vec<bool> = cloud
        .classification()
        .unwrap()
        .iter()
        .map(|&c| c == 2)
        .collect();
    let agree = g.iter().zip(&truth).filter(|(a, b)| a == b).count();
    let tp = g.iter().zip(&truth).filter(|(a, b)| **a && **b).count();
    let n_truth = truth.iter().filter(|&&t| t).count();
    (
        agree as f64 / truth.len() as f64,
        tp as f64 / n_truth as f64,
    )
}

#[test]
fn smrf_agrees_with_the_providers_ground_class() {
    let Some(shared) = shared() else { return };
    // Lower bounds a little under the measured figures (README "Scenes"): 4_6_crop 0.9731
    // agreement, 0.9813 ground recall; autzen_trim 0.4529 and 0.9640 — its class 1 is
    // "unclassified", and 60 % of those points lie within 0.5 m of the nearest class-2 point's
    // height (scripts/scene_reference.py's tiles, measured with laspy/scipy).
    for (file, min_agreement, min_recall) in [
        ("lidar/pdal/autzen_trim.las", 0.445, 0.955),
        ("lidar/pdal/4_6_crop.las", 0.965, 0.975),
    ] {
        let (agreement, recall) = smrf_agreement(&shared.join(file));
        eprintln!("{file}: SMRF agreement {agreement:.4}, ground recall {recall:.4}");
        assert!(agreement >= min_agreement, "{file}: agreement {agreement}");
        assert!(recall >= min_recall, "{file}: ground recall {recall}");
    }
}

/// FNV-1a over u32 little-endian labels, as the reference script hashes them.
fn fnv1a(labels: &[u32]) -> String {
    let mut h: u64 = 0xCBF2_9CE4_8422_2325;
    for l in labels {
        for b in l.to_le_bytes() {
            h ^= b as u64;
            h = h.wrapping_mul(0x0000_0100_0000_01B3);
        }
    }
    format!("{h:016x}")
}

#[test]
fn euclidean_and_dbscan_partitions_equal_scipy_and_scikit_learn_on_real_tiles() {
    let Some(shared) = shared() else { return };
    for tile in ["4_6_crop", "autzen_trim"] {
        let reference: Value = serde_json::from_str(
            &std::fs::read_to_string(fixture(&format!("clusters_{tile}.json"))).unwrap(),
        )
        .unwrap();
        let cloud = load(
            &shared.join(format!("lidar/pdal/{tile}.las")),
            &all_points(),
        )
        .unwrap();
        let classes = cloud.classification().unwrap();
        let candidates: Vec<u32> = (0..cloud.len() as u32)
            .filter(|&i| ![2, 7, 18].contains(&classes[i as usize]))
            .collect();
        assert_eq!(
            candidates.len() as u64,
            reference["candidates"].as_u64().unwrap()
        );
        for (name, method) in [
            ("euclidean", ClusterMethod::Euclidean),
            ("dbscan", ClusterMethod::Dbscan),
        ] {
            let r = &reference[name];
            let params = ClusterParams {
                method,
                radius: reference["radius"].as_f64().unwrap(),
                min_points: r["min_points"].as_u64().unwrap() as usize,
                max_points: usize::MAX,
            };
            let ids = cluster(cloud.positions(), &candidates, &params);
            let n = ids.iter().copied().max().unwrap_or(0) as usize;
            assert_eq!(n as u64, r["clusters"].as_u64().unwrap(), "{tile} {name}");
            let mut sizes = vec![0u64; n];
            for &id in &ids {
                if id > 0 {
                    sizes[id as usize - 1] += 1;
                }
            }
            let expected: Vec<u64> = r["sizes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_u64().unwrap())
                .collect();
            assert_eq!(sizes, expected, "{tile} {name}: sizes");
            if let Some(labels) = r["labels"].as_array() {
                let first_difference = labels
                    .iter()
                    .zip(&ids)
                    .position(|(a, &b)| a.as_u64().unwrap() != b as u64);
                assert_eq!(
                    first_difference, None,
                    "{tile} {name}: first differing point"
                );
            }
            assert_eq!(
                fnv1a(&ids),
                r["fnv1a"].as_str().unwrap(),
                "{tile} {name}: labels"
            );
        }
    }
}

#[test]
fn bad_scenes_give_an_empty_object_list_or_a_clear_message() {
    let classifier = classifier();
    let classes = class_set(&classifier);
    let opts = SceneOptions::default();
    // Empty cloud in memory.
    let empty = PointCloud::from_xyz(&[], UpAxis::Z);
    let s = classifier.classify_scene(&empty, &classes, &opts).unwrap();
    assert!(s.objects.is_empty() && s.cluster_ids.is_empty());
    // All ground.
    let mut flat = PointCloud::from_points(
        (0..400).map(|i| Point3::new((i % 20) as f32, (i / 20) as f32, 0.0)),
        UpAxis::Z,
    );
    flat.set_classification(Some(vec![2; 400])).unwrap();
    let s = classifier.classify_scene(&flat, &classes, &opts).unwrap();
    assert!(s.objects.is_empty());
    assert!(s.roles.iter().all(|&r| r == Role::Ground));
    // SMRF on a flat plane: everything is ground, no objects.
    let mut plane = flat.clone();
    plane.set_classification(None).unwrap();
    let s = classifier.classify_scene(&plane, &classes, &opts).unwrap();
    assert!(matches!(s.ground, GroundMethod::Smrf(_)));
    assert!(s.objects.is_empty() && s.roles.iter().all(|&r| r == Role::Ground));
    // Scattered points, none with enough neighbours for --min-points.
    let scattered = PointCloud::from_points(
        (0..60).map(|i| Point3::new(i as f32 * 10.0, 0.0, 0.0)),
        UpAxis::Y,
    );
    let s = classifier
        .classify_scene(
            &scattered,
            &classes,
            &SceneOptions {
                ground: GroundMethod::None,
                ..opts.clone()
            },
        )
        .unwrap();
    assert!(s.objects.is_empty());
    // Non-finite coordinates never reach a scene: a cloud drops (and counts) them when built.
    let nan = PointCloud::from_points(
        (0..300).map(|i| {
            let p = Point3::new((i % 10) as f32 * 0.01, (i / 10) as f32 * 0.01, 0.5);
            if i == 5 {
                Point3::new(f32::NAN, 0.0, f32::INFINITY)
            } else {
                p
            }
        }),
        UpAxis::Y,
    );
    assert_eq!((nan.len(), nan.meta.dropped_non_finite), (299, 1));
    let s = classifier
        .classify_scene(
            &nan,
            &classes,
            &SceneOptions {
                ground: GroundMethod::None,
                ..opts.clone()
            },
        )
        .unwrap();
    assert_eq!(s.objects.len(), 1);
    assert_eq!(s.objects[0].points, 299);
    // --ground classified on a cloud without classes is a clear error.
    let e = classifier
        .classify_scene(
            &plane,
            &classes,
            &SceneOptions {
                ground: GroundMethod::Classified,
                ..opts
            },
        )
        .unwrap_err()
        .to_string();
    assert!(e.contains("needs per-point classes"), "{e}");
}

#[test]
fn scene_command_on_bad_files_says_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let model = tiny_model().display().to_string();
    let run = |file: &Path, extra: &[&str]| {
        let f = file.display().to_string();
        let mut args = vec![
            "scene",
            f.as_str(),
            "--classes",
            "car,tree",
            "--model",
            &model,
            "--device",
            "cpu",
        ];
        args.extend_from_slice(extra);
        calip3d(&args)
    };
    // An empty file and a LAS without points: exit 1 with the file named.
    let empty = dir.path().join("empty.las");
    std::fs::write(&empty, b"").unwrap();
    let out = run(&empty, &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("empty.las") && !err.contains("panicked"),
        "{err}"
    );
    // NaN coordinates in a PLY: dropped on load, the scene runs and writes an empty objects file.
    let ply = dir.path().join("nan.ply");
    let mut pts = crate::common::box_cloud(1, 300);
    pts[3] = [f32::NAN, 0.0, f32::INFINITY];
    let mut bytes = format!(
        "ply\nformat binary_little_endian 1.0\nelement vertex {}\nproperty float x\nproperty float y\nproperty float z\nend_header\n",
        pts.len()
    )
    .into_bytes();
    for p in &pts {
        for c in p {
            bytes.extend_from_slice(&c.to_le_bytes());
        }
    }
    std::fs::write(&ply, bytes).unwrap();
    let objects = dir.path().join("o.csv");
    let o = objects.display().to_string();
    let out = run(
        &ply,
        &[
            "--ground",
            "none",
            "--min-points",
            "100000",
            "--objects",
            &o,
            "--out-cloud",
            &dir.path().join("o.ply").display().to_string(),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let csv = std::fs::read_to_string(&objects).unwrap();
    assert_eq!(csv.lines().count(), 1, "header only: {csv}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("0 objects"));
    // An objects file with an unknown extension fails before anything is written.
    let out = run(
        &ply,
        &["--objects", &dir.path().join("o.txt").display().to_string()],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains(".jsonl or .csv"));
    // A class code that LAS format 1 cannot hold.
    if let Some(shared) = shared() {
        let f = shared.join("lidar/pdal/4_6_crop.las");
        let out = run(
            &f,
            &[
                "--out-cloud",
                &dir.path().join("x.las").display().to_string(),
                "--asprs",
                "--asprs-map",
                "car=64",
            ],
        );
        assert_eq!(out.status.code(), Some(1));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("class 64 does not fit LAS point format 3"),
            "{err}"
        );
        assert!(!dir.path().join("x.las").exists());
    }
}

#[test]
fn batch_scene_writes_objects_and_a_summary_per_file_and_resumes() {
    let Some(shared) = shared() else { return };
    let dir = tempfile::tempdir().unwrap();
    let good = shared.join("lidar/pdal/4_6_crop.las").display().to_string();
    let broken = dir.path().join("broken.las");
    std::fs::write(&broken, b"LASF not really").unwrap();
    let out_path = dir.path().join("scenes.jsonl");
    let model = tiny_model().display().to_string();
    let args = |resume: bool| {
        let mut a = vec![
            "batch".to_string(),
            good.clone(),
            broken.display().to_string(),
            "--scene".into(),
            "--classes".into(),
            "car,tree".into(),
            "--model".into(),
            model.clone(),
            "--device".into(),
            "cpu".into(),
            "--out".into(),
            out_path.display().to_string(),
            "-q".into(),
        ];
        if resume {
            a.push("--resume".into());
        }
        a
    };
    let a = args(false);
    let out = calip3d(&a.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let records = json_lines(&std::fs::read_to_string(&out_path).unwrap());
    let summaries: Vec<&Value> = records
        .iter()
        .filter(|r| r["record"] == "summary")
        .collect();
    assert_eq!(summaries.len(), 2);
    let ok = summaries.iter().find(|r| r["ok"] == true).unwrap();
    assert_eq!(ok["file"], good.as_str());
    let n_objects = records.iter().filter(|r| r["record"] == "object").count();
    assert_eq!(ok["objects"].as_u64().unwrap() as usize, n_objects);
    assert!(n_objects > 0);
    let failed = summaries.iter().find(|r| r["ok"] == false).unwrap();
    assert!(failed["error"].as_str().unwrap().contains("broken.las"));
    assert!(!calip3d::batch::journal_path(&out_path).exists());
    // Resume: the good file is skipped (its records kept as they were), the broken one retried
    // and its failed summary replaced, not duplicated.
    let a = args(true);
    let out = calip3d(&a.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(out.status.code(), Some(2));
    let again = json_lines(&std::fs::read_to_string(&out_path).unwrap());
    assert_eq!(again.len(), records.len(), "no duplicates");
    let objects = |r: &[Value]| -> Vec<Value> {
        r.iter()
            .filter(|r| r["record"] == "object")
            .cloned()
            .collect()
    };
    assert_eq!(objects(&again), objects(&records));
    assert_eq!(
        again
            .iter()
            .filter(|r| r["record"] == "summary" && r["ok"] == false)
            .count(),
        1
    );
}

/// `batch --scene` killed while its reader is inside a file (a FIFO nobody writes to) resumes:
/// the file gets a failed summary saying the reader crashed, every other file has its objects and
/// summary exactly once, and a second resume changes nothing.
#[test]
fn batch_scene_killed_inside_a_reader_resumes_without_that_file() {
    use std::process::{Command, Stdio};
    let Some(shared) = shared() else { return };
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("a_stuck.las"); // sorted first: read first, and blocks
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let good = dir.path().join("b_good.las");
    std::os::unix::fs::symlink(shared.join("lidar/pdal/4_6_crop.las"), &good).unwrap();
    let out_path = dir.path().join("scenes.csv");
    let journal = calip3d::batch::journal_path(&out_path);
    let model = tiny_model();
    let args = |resume: bool| {
        let mut a: Vec<String> = [
            "batch",
            "--scene",
            "--classes",
            "car,tree",
            "--device",
            "cpu",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        a.extend([
            fifo.display().to_string(),
            good.display().to_string(),
            "--model".into(),
            model.display().to_string(),
            "--out".into(),
            out_path.display().to_string(),
            "-q".into(),
        ]);
        if resume {
            a.push("--resume".into());
        }
        a
    };
    let child = Command::new(env!("CARGO_BIN_EXE_calip3d"))
        .args(args(false))
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    kill_inside_a_reader(child, &journal);
    // The results file was only ever replaced whole: still just its header.
    let header = std::fs::read_to_string(&out_path).unwrap();
    assert_eq!(header.lines().count(), 1, "{header}");

    let run = |resume| {
        let a = args(resume);
        calip3d(&a.iter().map(String::as_str).collect::<Vec<_>>())
    };
    let resumed = run(true);
    assert_eq!(
        resumed.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&resumed.stderr)
    );
    let text = std::fs::read_to_string(&out_path).unwrap();
    let rows: Vec<&str> = text.lines().collect();
    assert_eq!(rows[0], header.trim_end());
    let stuck: Vec<&&str> = rows.iter().filter(|r| r.contains("a_stuck.las")).collect();
    assert_eq!(stuck.len(), 1, "{text}");
    assert!(
        stuck[0].starts_with("summary,") && stuck[0].contains("the reader crashed"),
        "{text}"
    );
    let good_rows: Vec<&&str> = rows.iter().filter(|r| r.contains("b_good.las")).collect();
    let good_summaries = good_rows
        .iter()
        .filter(|r| r.starts_with("summary,"))
        .count();
    assert_eq!(good_summaries, 1, "{text}");
    assert!(good_rows.len() > 1, "objects of the good tile: {text}");
    assert!(!journal.exists());
    // A second resume neither blocks in the FIFO again nor changes a byte.
    let again = run(true);
    assert_eq!(again.status.code(), Some(2));
    assert_eq!(std::fs::read_to_string(&out_path).unwrap(), text);
}

/// A robot-style scan, as a ROS tool would save it: an ASCII PCD, z up, metres, a floor seen at
/// 1.5 cm spacing with 3 mm noise and three objects standing on it. `calip3d scene` finds the
/// floor as the dominant plane and each object as one cluster, and writes objects, a labelled PLY
/// and a plot.
#[test]
fn scene_command_on_a_robot_scan_in_pcd() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = calip3d::load::SplitMix64::new(7);
    let mut u = move || rng.next_f32() as f64;
    let mut points: Vec<[f64; 3]> = Vec::new();
    let floor = 240; // 3.6 m × 3.6 m
    for i in 0..floor {
        for j in 0..floor {
            let (x, y) = (i as f64 * 0.015 - 1.8, j as f64 * 0.015 - 1.8);
            points.push([x, y, 0.003 * (u() - 0.5)]);
        }
    }
    let floor_points = points.len();
    // Boxes (centre x, y; half sizes; height) sampled on their sides and top, 1 cm apart.
    let boxes = [
        ([1.0, 0.0], [0.25, 0.25], 0.8),
        ([-1.0, 0.6], [0.15, 0.15], 1.2),
        ([0.0, -1.2], [0.5, 0.3], 0.45),
    ];
    let mut sizes = Vec::new();
    for (c, h, top) in boxes {
        let before = points.len();
        let step = 0.01;
        let (nx, ny, nz) = (
            (2.0 * h[0] / step) as usize,
            (2.0 * h[1] / step) as usize,
            (top / step) as usize,
        );
        for k in 1..=nz {
            let z = k as f64 * step;
            for i in 0..=nx {
                let x = c[0] - h[0] + i as f64 * step;
                points.push([x, c[1] - h[1], z]);
                points.push([x, c[1] + h[1], z]);
            }
            for j in 1..ny {
                let y = c[1] - h[1] + j as f64 * step;
                points.push([c[0] - h[0], y, z]);
                points.push([c[0] + h[0], y, z]);
            }
        }
        for i in 1..nx {
            for j in 1..ny {
                points.push([
                    c[0] - h[0] + i as f64 * step,
                    c[1] - h[1] + j as f64 * step,
                    top,
                ]);
            }
        }
        sizes.push(points.len() - before);
    }
    let pcd = dir.path().join("sweep.pcd");
    let mut text = format!(
        "# .PCD v0.7 - Point Cloud Data file format\nVERSION 0.7\nFIELDS x y z\nSIZE 4 4 4\n\
         TYPE F F F\nCOUNT 1 1 1\nWIDTH {n}\nHEIGHT 1\nVIEWPOINT 0 0 0 1 0 0 0\nPOINTS {n}\n\
         DATA ascii\n",
        n = points.len()
    );
    for p in &points {
        text.push_str(&format!("{:.5} {:.5} {:.5}\n", p[0], p[1], p[2]));
    }
    std::fs::write(&pcd, text).unwrap();

    let d = |n: &str| dir.path().join(n).display().to_string();
    let model = tiny_model().display().to_string();
    let out = calip3d(&[
        "scene",
        &pcd.display().to_string(),
        "--up-axis",
        "z",
        "--classes",
        "chair,table,lamp",
        "--model",
        &model,
        "--device",
        "cpu",
        "--objects",
        &d("objects.jsonl"),
        "--out-cloud",
        &d("labelled.ply"),
        "--plot",
        &d("top.png"),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let objects = json_lines(&std::fs::read_to_string(d("objects.jsonl")).unwrap());
    assert_eq!(objects.len(), 3, "{objects:?}");
    // Each box is one object at its place; a box's bottom row may go to the floor plane.
    for ((c, _, top), size) in boxes.iter().zip(&sizes) {
        let o = objects
            .iter()
            .find(|o| {
                let m = o["centroid"].as_array().unwrap();
                (m[0].as_f64().unwrap() - c[0]).abs() < 0.1
                    && (m[1].as_f64().unwrap() - c[1]).abs() < 0.1
            })
            .unwrap_or_else(|| panic!("no object at {c:?}: {objects:?}"));
        let n = o["points"].as_u64().unwrap() as usize;
        assert!(n <= *size && n * 100 >= size * 95, "{n} of {size} points");
        let max_z = o["bbox"]["max"][2].as_f64().unwrap();
        assert!((max_z - top).abs() < 0.01, "{max_z} vs {top}");
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("plane"), "{stderr}");
    // The labelled PLY keeps every point, with the scene's properties.
    let labelled = std::fs::read(d("labelled.ply")).unwrap();
    let header = String::from_utf8_lossy(&labelled[..labelled.len().min(2048)]).to_string();
    assert!(
        header.contains(&format!("element vertex {}", points.len())),
        "{header}"
    );
    for prop in [
        "ClusterID",
        "calip3d_class",
        "calip3d_prob",
        "HeightAboveGround",
    ] {
        assert!(header.contains(prop), "{prop}: {header}");
    }
    assert!(std::fs::metadata(d("top.png")).unwrap().len() > 1000);
    assert!(floor_points > 50_000);
}
