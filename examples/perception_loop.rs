//! A stand-in for a robot's perception loop: a sensor thread sends sweeps (a floor and a few
//! objects, in a y-up camera-like frame) over a channel; a perception thread segments each sweep
//! into floor and objects and classifies every object in-process with
//! [`Classifier::classify_scene`](calip3d::classify::Classifier::classify_scene).
//!
//! ```text
//! cargo run --release --example perception_loop -- MODEL
//! ```

use calip3d::classify::Classifier;
use calip3d::project::{DeviceChoice, Projection};
use calip3d::scene::{GroundMethod, PlaneParams, SceneOptions};
use calip3d::{PointCloud, UpAxis};
use nalgebra::Point3;
use std::sync::mpsc;

/// A small deterministic generator.
struct Rng(u32);
impl Rng {
    fn next(&mut self) -> f32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 17;
        self.0 ^= self.0 << 5;
        self.0 as f32 / u32::MAX as f32
    }
}

/// One sweep: a 3 m × 3 m floor at y = 0 sampled every ~1 cm, and boxes of the given sizes
/// (metres) standing on it at 1 m spacing.
fn sweep(frame: u32, boxes: &[[f32; 3]]) -> Vec<Point3<f32>> {
    let mut rng = Rng(0x9E37_79B9 ^ frame.wrapping_mul(7919));
    let mut pts: Vec<Point3<f32>> = (0..60_000)
        .map(|_| {
            Point3::new(
                rng.next() * 3.0 - 1.5,
                0.002 * (rng.next() - 0.5),
                rng.next() * 3.0 - 1.5,
            )
        })
        .collect();
    for (k, size) in boxes.iter().enumerate() {
        let cx = k as f32 - (boxes.len() as f32 - 1.0) / 2.0;
        for i in 0..4000 {
            let mut p = [rng.next() - 0.5, rng.next() - 0.5, rng.next() - 0.5];
            p[i % 3] = if i % 2 == 0 { 0.5 } else { -0.5 };
            pts.push(Point3::new(
                cx + p[0] * size[0],
                0.01 + (p[1] + 0.5) * size[1],
                p[2] * size[2],
            ));
        }
    }
    pts
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let model = std::env::args()
        .nth(1)
        .unwrap_or_else(|| calip3d::classify::DEFAULT_MODEL.into());
    let classifier = Classifier::builder()
        .model(model)
        .projection(Projection::Realistic)
        .device(DeviceChoice::Auto)
        .build()?;
    let classes = classifier.classes(&["box", "chair", "bottle", "person"])?;
    // A robot scan: the floor is the dominant plane; objects are 2 cm clusters of ≥ 100 points.
    let options = SceneOptions {
        ground: GroundMethod::Plane(PlaneParams::default()),
        ..Default::default()
    };

    let (tx, rx) = mpsc::sync_channel::<(u32, Vec<Point3<f32>>)>(2);
    let sensor = std::thread::spawn(move || {
        for frame in 0..3u32 {
            let boxes = [[0.4, 0.4, 0.4], [0.1, 0.6, 0.1], [0.5, 0.2, 0.3]];
            if tx
                .send((frame, sweep(frame, &boxes[..1 + frame as usize])))
                .is_err()
            {
                break;
            }
        }
    });
    while let Ok((frame, points)) = rx.recv() {
        let cloud = PointCloud::from_points(points, UpAxis::Y);
        let scene = classifier.classify_scene(&cloud, &classes, &options)?;
        let (floor, _, _) = scene.role_counts();
        println!(
            "frame {frame}: {} points, {floor} floor, {} objects",
            cloud.len(),
            scene.objects.len()
        );
        for o in &scene.objects {
            println!(
                "  object {} ({} points) at {:.2}, {:.2}, {:.2}: {} ({:.2})",
                o.cluster_id,
                o.points,
                o.centroid[0],
                o.centroid[1],
                o.centroid[2],
                o.class(),
                o.probability()
            );
        }
    }
    sensor.join().expect("sensor thread");
    Ok(())
}
