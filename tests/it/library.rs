//! The library API as robotics code uses it: one classifier shared by threads, clouds from memory.

use crate::common::*;
use calip3d::classify::Classifier;
use calip3d::project::{DeviceChoice, Projection};
use calip3d::{PointCloud, UpAxis};
use nalgebra::Point3;
use std::sync::Arc;

fn classifier(projection: Projection) -> Classifier {
    Classifier::builder()
        .model(tiny_model().display().to_string())
        .projection(projection)
        .device(DeviceChoice::Cpu)
        .keep_view_logits(true)
        .build()
        .unwrap()
}

#[test]
fn the_same_cloud_classified_from_several_threads_gives_identical_results() {
    let c = Arc::new(classifier(Projection::Realistic));
    let set = Arc::new(c.classes(&["box", "pole", "plate", "chair"]).unwrap());
    let xyz: Vec<f32> = box_cloud(1, 700).into_iter().flatten().collect();
    let reference = c.classify_xyz(&xyz, UpAxis::Y, &set).unwrap();
    assert_eq!(reference.view_logits.as_ref().unwrap().len(), 10);
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let (c, set, xyz) = (c.clone(), set.clone(), xyz.clone());
            std::thread::spawn(move || {
                (0..3)
                    .map(|_| c.classify_xyz(&xyz, UpAxis::Y, &set).unwrap())
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    for t in threads {
        for p in t.join().unwrap() {
            assert_eq!(p.logits, reference.logits);
            assert_eq!(p.probabilities, reference.probabilities);
        }
    }
}

#[test]
fn points_flat_buffers_and_clouds_agree_and_batches_match_singles() {
    let c = classifier(Projection::PointClip);
    let set = c.classes(&["box", "pole"]).unwrap();
    let pts: Vec<Point3<f32>> = box_cloud(2, 500)
        .iter()
        .map(|p| Point3::new(p[0], p[1], p[2]))
        .collect();
    let xyz: Vec<f32> = pts.iter().flat_map(|p| [p.x, p.y, p.z]).collect();
    let a = c.classify_points(&pts, UpAxis::Y, &set).unwrap();
    let b = c.classify_xyz(&xyz, UpAxis::Y, &set).unwrap();
    assert_eq!(a.logits, b.logits);
    // z-up input is rotated to y-up: the same points declared z-up are a different view of them.
    let z = c.classify_points(&pts, UpAxis::Z, &set).unwrap();
    assert_ne!(z.logits, a.logits);

    let other = PointCloud::from_xyz(&box_cloud(0, 300).concat(), UpAxis::Y);
    let first = PointCloud::from_points(pts.iter().copied(), UpAxis::Y);
    let both = c.classify_many(&[&first, &other], &set).unwrap();
    let single = c.classify(&other, &set).unwrap();
    for (x, y) in both[1].logits.iter().zip(&single.logits) {
        assert!(
            (x - y).abs() < 1e-3,
            "{:?} vs {:?}",
            both[1].logits,
            single.logits
        );
    }
}

#[test]
fn bad_inputs_are_errors_not_panics() {
    let c = classifier(Projection::PointClip);
    let set = c.classes(&["box", "pole"]).unwrap();
    let empty = c.classify_xyz(&[], UpAxis::Y, &set).unwrap_err();
    assert!(empty.to_string().contains("no points"), "{empty}");
    let nan = c
        .classify_xyz(&[f32::NAN, 0.0, 0.0], UpAxis::Y, &set)
        .unwrap_err();
    assert!(nan.to_string().contains("no points"), "{nan}");
    let weights = Classifier::builder()
        .model(tiny_model().display().to_string())
        .projection(Projection::PointClip)
        .view_weights(vec![1.0; 3])
        .build()
        .err()
        .unwrap();
    assert!(
        weights
            .to_string()
            .contains("3 view weights given for 6 views"),
        "{weights}"
    );
}

#[test]
fn classifier_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Classifier>();
    check::<calip3d::classify::ClassSet>();
}
