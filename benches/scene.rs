//! Scene throughput on a generated aerial tile: points/s for ground (SMRF), clustering (Euclidean)
//! and the whole scene (ground + clustering + classifying every object), and the peak memory per
//! point.
//!
//! ```text
//! cargo bench --bench scene                                  # 2 M points, tests/data/clip/tiny
//! CALIP3D_BENCH_POINTS=20000000 cargo bench --bench scene    # the 20 M-point tile of BENCHMARKS.md
//! CALIP3D_BENCH_MODEL=/tmp/clip-random cargo bench --bench scene   # ViT-B/32-sized encoder
//! CALIP3D_BENCH_LAS=/tmp/tile.las cargo bench --bench scene  # also write the tile as LAS
//! ```
//!
//! The tile: 10 points/m² of sloped, noisy ground with buildings (boxes, 12–30 m), trees (balls on
//! trunks) and cars (small boxes) on a regular layout; as many tiles as `CALIP3D_BENCH_POINTS`
//! needs, side by side.

use calip3d::classify::{classes::ClassSpec, Classifier};
use calip3d::project::DeviceChoice;
use calip3d::scene::cluster::cluster;
use calip3d::scene::ground::{smrf, SmrfParams};
use calip3d::scene::{GroundMethod, Role, SceneOptions};
use calip3d::{PointCloud, UpAxis};
use nalgebra::Point3;
use std::path::Path;
use std::time::Instant;

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> f32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 40) as f32 / (1u64 << 24) as f32
    }
}

/// A memory figure of this process from /proc/self/status (`VmHWM` peak, `VmRSS` now), bytes.
fn status(key: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

/// A generated aerial tile of about `n` points.
fn tile(n: usize) -> Vec<Point3<f32>> {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut pts = Vec::with_capacity(n + n / 10);
    // Objects per 100 m block: 2 buildings, 6 trees, 8 cars; ground fills the rest.
    let side = ((n as f64 / 13.0).sqrt()).ceil() as f32; // ≈ 10 pts/m² ground + 30 % objects
    let ground = |x: f32, y: f32| 0.03 * x + 0.01 * y;
    let blocks = (side / 100.0).ceil() as usize;
    while pts.len() < n {
        let (x, y) = (rng.next() * side, rng.next() * side);
        pts.push(Point3::new(x, y, ground(x, y) + 0.05 * (rng.next() - 0.5)));
        if pts.len() % 10 != 0 {
            continue;
        }
        // Every tenth ground point also draws three object points in a random block.
        for _ in 0..3 {
            let (bx, by) = (
                (rng.next() * blocks as f32).floor() * 100.0,
                (rng.next() * blocks as f32).floor() * 100.0,
            );
            let kind = rng.next();
            let (u, v, w) = (rng.next(), rng.next(), rng.next());
            let p = if kind < 0.5 {
                // Building roof and walls: 20 m × 20 m × 8 m at (10, 10) of the block.
                let (x, y) = (bx + 10.0 + 20.0 * u, by + 10.0 + 20.0 * v);
                let z = if w < 0.7 { 8.0 } else { 8.0 * rng.next() };
                Point3::new(x, y, ground(bx + 20.0, by + 20.0) + z)
            } else if kind < 0.8 {
                // Tree crown: a 3 m ball 6 m up at one of 6 spots.
                let k = (u * 6.0).floor();
                let (cx, cy) = (bx + 50.0 + 8.0 * k, by + 60.0);
                let (t, f) = (v * std::f32::consts::TAU, (w * 2.0 - 1.0).acos());
                Point3::new(
                    cx + 3.0 * f.sin() * t.cos(),
                    cy + 3.0 * f.sin() * t.sin(),
                    ground(cx, cy) + 6.0 + 3.0 * f.cos(),
                )
            } else {
                // Car: 4.5 m × 1.8 m × 1.5 m at one of 8 parking spots.
                let k = (u * 8.0).floor();
                let (x, y) = (bx + 10.0 + 6.0 * k + 4.5 * v, by + 85.0 + 1.8 * w);
                Point3::new(x, y, ground(x, y) + 0.3 + 1.2 * rng.next())
            };
            if p.x < side && p.y < side {
                pts.push(p);
            }
        }
    }
    pts.truncate(n);
    pts
}

fn write_las(path: &Path, pts: &[Point3<f32>]) {
    let mut b = las::Builder::from((1, 2));
    b.point_format = las::point::Format::new(1).unwrap();
    let t = |offset| las::Transform {
        scale: 0.001,
        offset,
    };
    b.transforms = las::Vector {
        x: t(500_000.0),
        y: t(5_000_000.0),
        z: t(0.0),
    };
    let mut w = las::Writer::from_path(path, b.into_header().unwrap()).unwrap();
    for p in pts {
        w.write_point(las::Point {
            x: p.x as f64 + 500_000.0,
            y: p.y as f64 + 5_000_000.0,
            z: p.z as f64,
            return_number: 1,
            number_of_returns: 1,
            gps_time: Some(0.0),
            ..Default::default()
        })
        .unwrap();
    }
    w.close().unwrap();
}

fn main() {
    let n: usize = std::env::var("CALIP3D_BENCH_POINTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000_000);
    let model = std::env::var("CALIP3D_BENCH_MODEL").unwrap_or_else(|_| {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/clip/tiny")
            .display()
            .to_string()
    });
    let t = Instant::now();
    let pts = tile(n);
    println!(
        "generated {} points in {:.1} s",
        pts.len(),
        t.elapsed().as_secs_f64()
    );
    if let Ok(path) = std::env::var("CALIP3D_BENCH_LAS") {
        write_las(Path::new(&path), &pts);
        println!("wrote {path}");
    }
    let cloud = PointCloud::from_points(pts, UpAxis::Z);
    // Reset the peak (Linux ≥ 4.0), so it measures the cloud plus the scene's own memory.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let before = status("VmRSS:");

    let t = Instant::now();
    let ground = smrf(cloud.positions(), UpAxis::Z, &SmrfParams::default()).unwrap();
    let ground_s = t.elapsed().as_secs_f64();
    let candidates: Vec<u32> = (0..cloud.len() as u32)
        .filter(|&i| !ground[i as usize])
        .collect();
    let options = SceneOptions::default();
    let params = options.cluster_params(&GroundMethod::Smrf(SmrfParams::default()));
    let t = Instant::now();
    let ids = cluster(cloud.positions(), &candidates, &params);
    let cluster_s = t.elapsed().as_secs_f64();
    let objects = ids.iter().copied().max().unwrap_or(0);
    println!(
        "ground (SMRF):       {:>12.0} points/s  ({ground_s:.2} s, {} ground)",
        cloud.len() as f64 / ground_s,
        ground.iter().filter(|&&g| g).count()
    );
    println!(
        "clustering:          {:>12.0} points/s  ({cluster_s:.2} s over {} non-ground points, {objects} objects)",
        cloud.len() as f64 / cluster_s,
        candidates.len()
    );
    drop((ground, candidates, ids));

    let classifier = Classifier::builder()
        .model(model.clone())
        .device(DeviceChoice::Cpu)
        .build()
        .unwrap();
    let classes = classifier
        .class_set(ClassSpec::from_names(
            &["car", "tree", "building", "person"],
            &["a depth map of a {}."],
        ))
        .unwrap();
    let t = Instant::now();
    let scene = classifier
        .classify_scene(
            &cloud,
            &classes,
            &SceneOptions {
                ground: GroundMethod::Smrf(SmrfParams::default()),
                ..options
            },
        )
        .unwrap();
    let total_s = t.elapsed().as_secs_f64();
    let after = status("VmHWM:");
    let ground_points = scene.roles.iter().filter(|&&r| r == Role::Ground).count();
    println!(
        "end to end:          {:>12.0} points/s  ({total_s:.2} s: ground {:.2} s, clustering {:.2} s, {} objects classified in {:.2} s = {:.3} s each; model {model})",
        cloud.len() as f64 / total_s,
        scene.timings.ground / 1e3,
        scene.timings.cluster / 1e3,
        scene.objects.len(),
        scene.timings.classify / 1e3,
        scene.timings.classify / 1e3 / scene.objects.len().max(1) as f64,
    );
    println!(
        "memory: peak {:.0} MB = {:.1} bytes/point (the cloud and model before the scene: {:.0} MB; the scene's own peak: {:.1} bytes/point); {ground_points} ground points",
        after as f64 / 1e6,
        after as f64 / cloud.len() as f64,
        before as f64 / 1e6,
        after.saturating_sub(before) as f64 / cloud.len() as f64,
    );
}
