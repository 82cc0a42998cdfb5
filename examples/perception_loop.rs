//! A stand-in for a robot's perception loop: a sensor thread sends segmented object clouds over
//! a channel, a classifier thread labels them as they come, in batches when several are waiting.
//!
//! ```text
//! cargo run --release --example perception_loop -- MODEL
//! ```

use calip3d::classify::{classes, Classifier};
use calip3d::project::{DeviceChoice, Projection};
use calip3d::{PointCloud, UpAxis};
use std::sync::mpsc;
use std::sync::Arc;

/// A synthetic "segmented object": points on a box of the given size, as a sensor would deliver
/// them in a flat xyz buffer (e.g. a ROS PointCloud2 payload).
fn object_xyz(size: [f32; 3], n: usize) -> Vec<f32> {
    let mut xyz = Vec::with_capacity(n * 3);
    let mut s = 0x9E37_79B9u32;
    let mut rnd = || {
        s ^= s << 13;
        s ^= s >> 17;
        s ^= s << 5;
        s as f32 / u32::MAX as f32 - 0.5
    };
    for i in 0..n {
        let mut p = [rnd() * size[0], rnd() * size[1], rnd() * size[2]];
        p[i % 3] = size[i % 3] * if i % 2 == 0 { 0.5 } else { -0.5 };
        xyz.extend_from_slice(&p);
    }
    xyz
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let model = std::env::args()
        .nth(1)
        .unwrap_or_else(|| calip3d::classify::DEFAULT_MODEL.into());
    let classifier = Arc::new(
        Classifier::builder()
            .model(model)
            .projection(Projection::PointClip)
            .device(DeviceChoice::Auto)
            .build()?,
    );
    let templates = classes::default_templates(Projection::PointClip);
    let classes =
        Arc::new(classifier.class_set(classes::resolve("box,pole,car,person", &templates)?)?);

    let (tx, rx) = mpsc::channel::<(u32, Vec<f32>)>();
    let sensor = std::thread::spawn(move || {
        for frame in 0..6u32 {
            let size = if frame % 2 == 0 {
                [1.0, 1.0, 1.0]
            } else {
                [0.1, 2.0, 0.1]
            };
            if tx.send((frame, object_xyz(size, 800))).is_err() {
                break;
            }
        }
    });

    let worker = {
        let (classifier, classes) = (classifier.clone(), classes.clone());
        std::thread::spawn(move || -> calip3d::Result<()> {
            while let Ok(first) = rx.recv() {
                // Take whatever else is already waiting, and classify it in one batch.
                let mut frames = vec![first];
                frames.extend(rx.try_iter());
                let clouds: Vec<PointCloud> = frames
                    .iter()
                    .map(|(_, xyz)| PointCloud::from_xyz(xyz, UpAxis::Y))
                    .collect();
                let refs: Vec<&PointCloud> = clouds.iter().collect();
                for ((frame, _), p) in frames
                    .iter()
                    .zip(classifier.classify_many(&refs, &classes)?)
                {
                    let (class, probability) = p.best();
                    println!("frame {frame}: {class} ({probability:.2})");
                }
            }
            Ok(())
        })
    };
    sensor.join().expect("sensor thread");
    worker.join().expect("classifier thread")?;
    Ok(())
}
