//! Objects by height above ground (issue 21): the synthetic aerial tile of
//! scripts/make_aerial_tile.py (nine shared shapes 1.5–3 m tall on a 2 % slope with σ 2 cm
//! ground noise, UTM coordinates), in metres and in US survey feet.

use crate::common::{calip3d, tiny_model};
use calip3d::classify::{classes::ClassSpec, Classifier};
use calip3d::load::{load, LoadOptions};
use calip3d::project::DeviceChoice;
use calip3d::scene::{GroundMethod, Role, Scene, SceneOptions, SmrfParams};
use std::path::{Path, PathBuf};

/// The shared folder; the tile is built from its shapes, so these tests need it.
fn shared() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data");
    if dir.is_dir() {
        return Some(dir);
    }
    let msg = format!(
        "{} is missing: the aerial tile cannot be built",
        dir.display()
    );
    if std::env::var("CALIP3D_SKIP_SHARED").as_deref() == Ok("1") {
        eprintln!("WARNING: {msg} (skipped because CALIP3D_SKIP_SHARED=1)");
        return None;
    }
    panic!("{msg}; set CALIP3D_SKIP_SHARED=1 to skip it knowingly");
}

/// Runs scripts/make_aerial_tile.py into `dir` (python3 with laspy and numpy, as in CI).
fn make_tiles(dir: &Path, shared: &Path) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/make_aerial_tile.py");
    let out = std::process::Command::new("python3")
        .arg(&script)
        .arg("--shared")
        .arg(shared)
        .arg("--out")
        .arg(dir)
        .output()
        .expect("python3 runs scripts/make_aerial_tile.py");
    assert!(
        out.status.success(),
        "make_aerial_tile.py: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Each point's truth (its point source ID: 0 ground, k object k) and file coordinates.
fn truth(path: &Path) -> (Vec<u16>, Vec<[f64; 3]>) {
    let mut r = las::Reader::from_path(path).unwrap();
    r.read_all()
        .unwrap()
        .points()
        .map(|p| {
            let p = p.unwrap();
            (p.point_source_id, [p.x, p.y, p.z])
        })
        .unzip()
}

const OBJECTS: usize = 9;

/// Height above the script's true ground (`ground_z`), m, of a point in file units.
fn true_height(p: [f64; 3], metres: f64) -> f64 {
    let [x, y, z] = p.map(|c| c * metres);
    z - (100.0 + 0.02 * (x - 500_000.0) + 0.005 * (y - 5_000_000.0))
}
const US_FOOT: f64 = 1200.0 / 3937.0;

/// The checks of issue 21 on one scene: every object one cluster with purity and completeness ≥
/// 0.95, ≤ 1 % ground in objects, centroids within 5 cm (`metres` per file unit), heights within
/// 10 cm of the shape's. Returns each object's point set (sorted indices).
fn check_objects(
    scene: &Scene,
    source: &[u16],
    xyz: &[[f64; 3]],
    metres: f64,
    what: &str,
) -> Vec<Vec<usize>> {
    assert_eq!(
        scene.objects.len(),
        OBJECTS,
        "{what}: one cluster per object"
    );
    let mut sets = Vec::new();
    let mut ground_in_objects = 0usize;
    let mut in_objects = 0usize;
    for k in 1..=OBJECTS as u16 {
        let members: Vec<usize> = (0..source.len()).filter(|&i| source[i] == k).collect();
        // The cluster holding most of the object's points.
        let mut votes = vec![0usize; scene.objects.len() + 1];
        for &i in &members {
            votes[scene.cluster_ids[i] as usize] += 1;
        }
        let id = (1..votes.len()).max_by_key(|&c| votes[c]).unwrap();
        let cluster: Vec<usize> = (0..source.len())
            .filter(|&i| scene.cluster_ids[i] as usize == id)
            .collect();
        let completeness = votes[id] as f64 / members.len() as f64;
        let purity = votes[id] as f64 / cluster.len() as f64;
        eprintln!(
            "{what}: object {k}: {} points, cluster {id} of {}: completeness {completeness:.4}, \
             purity {purity:.4}",
            members.len(),
            cluster.len()
        );
        assert!(
            completeness >= 0.95,
            "{what}: object {k} completeness {completeness}"
        );
        assert!(purity >= 0.95, "{what}: object {k} purity {purity}");
        ground_in_objects += cluster.iter().filter(|&&i| source[i] == 0).count();
        in_objects += cluster.len();
        // The centroid in the file's CRS: across, against all the object's points; in 3D,
        // against those more than 0.1 m above the true ground (a lamp post's foot moves the
        // centroid of a 3 m lamp up by 6 cm).
        let object = &scene.objects[id - 1];
        let standing: Vec<usize> = members
            .iter()
            .copied()
            .filter(|&i| true_height(xyz[i], metres) > 0.1)
            .collect();
        for (d, over) in [(0, &members), (1, &members), (2, &standing)] {
            let truth = over.iter().map(|&i| xyz[i][d]).sum::<f64>() / over.len() as f64;
            let error = (object.centroid[d] - truth).abs() * metres;
            assert!(
                error < 0.05,
                "{what}: object {k} centroid[{d}] off by {error} m"
            );
        }
        assert!(object.centroid[0] * metres > 500_000.0);
        // Its top above the ground model: the shape's height, ± the slope under its footprint.
        let top = members.iter().map(|&i| xyz[i][2]).fold(f64::MIN, f64::max);
        let base = members.iter().map(|&i| xyz[i][2]).fold(f64::MAX, f64::min);
        let height = object.height.unwrap() * metres;
        assert!(
            (height - (top - base) * metres).abs() < 0.1,
            "{what}: object {k} height {height} m vs {} m",
            (top - base) * metres
        );
        assert!(object.footprint_area > 0.0);
        let obb = object.obb;
        assert!(
            obb.size[0] >= obb.size[1] && obb.size[2] * metres > 1.3,
            "{what}: {obb:?}"
        );
        sets.push(cluster);
    }
    let share = ground_in_objects as f64 / in_objects as f64;
    eprintln!("{what}: ground points in objects {share:.4}");
    assert!(share <= 0.01, "{what}: {share} of object points are ground");
    sets
}

#[test]
fn aerial_tile_keeps_every_object_whole_in_metres_and_in_feet() {
    let Some(shared) = shared() else { return };
    let dir = tempfile::tempdir().unwrap();
    make_tiles(dir.path(), &shared);
    let classifier = Classifier::builder()
        .model(tiny_model().display().to_string())
        .device(DeviceChoice::Cpu)
        .build()
        .unwrap();
    let classes = classifier
        .class_set(ClassSpec::from_names(
            &["car", "tree", "person", "house"],
            &["a depth map of a {}."],
        ))
        .unwrap();
    let all = LoadOptions {
        max_points: 0,
        ..Default::default()
    };
    let mut reference: Option<Vec<Vec<usize>>> = None;
    for (file, metres, unit) in [
        ("aerial_m.las", 1.0, "metre"),
        ("aerial_ftus.las", US_FOOT, "US survey foot"),
    ] {
        let path = dir.path().join(file);
        let (source, xyz) = truth(&path);
        let cloud = load(&path, &all).unwrap();
        assert_eq!(cloud.meta.crs_unit.as_ref().unwrap().name, unit);
        for ground in [
            GroundMethod::Auto,
            GroundMethod::Smrf(SmrfParams::default()),
        ] {
            let options = SceneOptions {
                ground,
                ..Default::default()
            };
            let scene = classifier
                .classify_scene(&cloud, &classes, &options)
                .unwrap();
            let what = format!("{file} --ground {}", ground.name());
            let GroundMethod::Smrf(p) = scene.ground else {
                panic!("{what}: auto picks SMRF on a tile without class 2");
            };
            // Every metric default in the file's unit.
            assert!(
                (p.cell * metres - 1.0).abs() < 1e-9,
                "{what}: cell {}",
                p.cell
            );
            assert!((p.window * metres - 18.0).abs() < 1e-9);
            assert!((scene.min_height * metres - 0.1).abs() < 1e-9);
            assert!((scene.cluster.radius * metres - 1.0).abs() < 1e-9);
            assert_eq!(
                (scene.unit.name.as_str(), scene.unit.found.as_str()),
                (unit, "wkt")
            );
            let mut g: Vec<f64> = (0..source.len())
                .filter(|&i| source[i] == 0)
                .map(|i| f64::from(scene.height[i]) * metres)
                .collect();
            g.sort_by(f64::total_cmp);
            let q = |f: f64| g[((g.len() - 1) as f64 * f) as usize];
            eprintln!(
                "{what}: provider-free ground HAG, m: median {:.4}, 99 % {:.4}, 99.9 % {:.4}, max {:.4}",
                q(0.5),
                q(0.99),
                q(0.999),
                q(1.0)
            );
            let sets = check_objects(&scene, &source, &xyz, metres, &what);
            // Ground in the output is the height cut-off.
            for (i, r) in scene.roles.iter().enumerate() {
                let h = f64::from(scene.height[i]);
                assert_eq!(
                    *r == Role::Ground,
                    h <= scene.min_height,
                    "{what}: point {i}"
                );
            }
            match &reference {
                None => reference = Some(sets),
                Some(r) => assert!(r == &sets, "{what}: other point sets than in metres"),
            }
        }
    }
}

#[test]
fn scene_command_writes_height_above_ground_and_the_unit() {
    let Some(shared) = shared() else { return };
    let dir = tempfile::tempdir().unwrap();
    make_tiles(dir.path(), &shared);
    let d = |n: &str| dir.path().join(n).display().to_string();
    let out = calip3d(&[
        "scene",
        &d("aerial_ftus.las"),
        "--classes",
        "car,tree,person,house",
        "--model",
        &tiny_model().display().to_string(),
        "--device",
        "cpu",
        "--out-cloud",
        &d("labelled.las"),
        "--plot",
        &d("top.png"),
        "--objects",
        &d("objects.jsonl"),
        "-q",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let objects = crate::common::json_lines(&std::fs::read_to_string(d("objects.jsonl")).unwrap());
    assert_eq!(objects.len(), OBJECTS);
    for o in &objects {
        let h = o["height"].as_f64().unwrap() * US_FOOT;
        assert!((1.3..3.2).contains(&h), "{o}");
        assert_eq!(o["obb"]["size"].as_array().unwrap().len(), 3);
    }
    // HeightAboveGround, in feet, for every point: ground within 0.1 m, object tops 1.5–3 m.
    let mut r = las::Reader::from_path(d("labelled.las")).unwrap();
    let n_extra = r.header().point_format().extra_bytes as usize;
    assert_eq!(n_extra, 14);
    let (source, _) = truth(&dir.path().join("aerial_ftus.las"));
    let mut max_ground = f32::MIN;
    let mut top = [f32::MIN; OBJECTS + 1];
    let data = r.read_all().unwrap();
    for (i, p) in data.points().enumerate() {
        let p = p.unwrap();
        let h = f32::from_le_bytes(p.extra_bytes[10..14].try_into().unwrap()) * US_FOOT as f32;
        let k = source[i] as usize;
        top[k] = top[k].max(h);
        if k == 0 {
            max_ground = max_ground.max(h);
        }
    }
    assert!(
        max_ground < 0.2,
        "ground up to {max_ground} m above the model"
    );
    assert!(top[1..].iter().all(|&t| (1.4..3.1).contains(&t)), "{top:?}");
}

/// A tile, the share of its provider ground found, and per provider class the share called ground.
type TileFigures = (&'static str, f64, &'static [(u8, f64)]);

/// Shared classified tiles with their measured figures under `--ground smrf` with defaults:
/// (file, provider ground found, [(class, share of it called ground)]). The goals of issue 21
/// (recall ≥ 0.95, ≤ 2 % of objects called ground) are not met yet: README "Scenes" says why.
const FIGURES: [TileFigures; 3] = [
    // Class 9 is water, which lies at ground level.
    (
        "lidar/las-rs/32-1-472-150-76.laz",
        0.3648,
        &[(1, 0.0071), (9, 0.8266)],
    ),
    (
        "lidar/las-rs/autzen.copc.laz",
        0.8356,
        &[(5, 0.2174), (6, 0.0)],
    ),
    ("lidar/las-rs/autzen.laz", 0.8750, &[(1, 0.6463)]),
];

/// Provider ground found, and provider points of other classes called ground, under `--ground
/// smrf` with defaults (ground: at most `--min-height` above SMRF's surface).
#[test]
fn smrf_ground_figures_on_shared_classified_tiles() {
    let Some(shared) = shared() else { return };
    let all = LoadOptions {
        max_points: 0,
        ..Default::default()
    };
    let options = SceneOptions {
        ground: GroundMethod::Smrf(SmrfParams::default()),
        ..Default::default()
    };
    for (file, min_recall, classes_called) in FIGURES {
        let path = shared.join(file);
        let cloud = load(&path, &all).unwrap();
        let classes = cloud.classification().unwrap().to_vec();
        let n_ground = classes.iter().filter(|&&c| c == 2).count();
        let split = calip3d::scene::split_ground(&cloud, &options).unwrap();
        let ours: Vec<bool> = split.roles.iter().map(|&r| r == Role::Ground).collect();
        let found = (0..classes.len())
            .filter(|&i| classes[i] == 2 && ours[i])
            .count();
        let recall = found as f64 / n_ground as f64;
        let mut false_ground = Vec::new();
        for c in 0..=255u8 {
            let n = classes.iter().filter(|&&k| k == c).count();
            if c == 2 || n == 0 {
                continue;
            }
            let called = (0..classes.len())
                .filter(|&i| classes[i] == c && ours[i])
                .count();
            false_ground.push((c, called, n));
        }
        let name = path.strip_prefix(&shared).unwrap().display().to_string();
        eprintln!(
            "{name}: {} points, unit {} ({}): provider ground found {found}/{n_ground} = {recall:.4}; \
             other classes called ground (class: called/points) {false_ground:?}",
            cloud.len(),
            split.resolved.unit.name,
            split.resolved.unit.found,
        );
        assert!(recall >= min_recall - 0.005, "{name}: recall {recall}");
        for &(c, share) in classes_called {
            let (_, called, n) = false_ground.iter().find(|f| f.0 == c).unwrap();
            let found = *called as f64 / *n as f64;
            assert!(
                found <= share + 0.005,
                "{name}: class {c}: {found} called ground"
            );
        }
    }
}
