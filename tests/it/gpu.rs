//! The GPU projection (wgpu; Mesa's software Vulkan in CI) against the CPU reference, on hand-made
//! and real clouds. Without any adapter these tests fail, unless CALIP3D_NO_GPU_TESTS=1.

use calip3d::load::{load, LoadOptions};
use calip3d::project::{
    cpu_clip_input, cpu_depth_views, Backend, DeviceChoice, Projection, Projector,
};
use nalgebra::Point3;
use std::path::Path;

fn gpu(projection: Projection) -> Option<Projector> {
    match Projector::new(projection, projection.views(), DeviceChoice::Gpu) {
        Ok(p) => {
            // A projector forced to the GPU runs there or fails: it never reports the CPU, so
            // the comparisons below cannot compare the CPU path with itself.
            assert!(
                p.backend().is_gpu(),
                "DeviceChoice::Gpu gave {}",
                p.backend()
            );
            eprintln!("{}", p.backend());
            Some(p)
        }
        Err(e) if std::env::var("CALIP3D_NO_GPU_TESTS").as_deref() == Ok("1") => {
            eprintln!("skipping GPU test (CALIP3D_NO_GPU_TESTS=1): {e}");
            None
        }
        Err(e) => panic!("GPU projection unavailable: {e}\n(install mesa-vulkan-drivers, or set CALIP3D_NO_GPU_TESTS=1)"),
    }
}

/// Fraction of values equal within `tol`, and the largest difference.
fn agreement(a: &[f32], b: &[f32], tol: f32) -> (f64, f32) {
    assert_eq!(a.len(), b.len());
    let worst = a
        .iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0f32, f32::max);
    let equal = a
        .iter()
        .zip(b)
        .filter(|(x, y)| (*x - *y).abs() <= tol)
        .count();
    (equal as f64 / a.len() as f64, worst)
}

fn objects() -> Vec<Vec<Point3<f32>>> {
    // CALIP3D_SHARED_DATA points elsewhere when the test binary runs away from the checkout.
    let data = std::env::var_os("CALIP3D_SHARED_DATA")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data"))
        .join("objects");
    let files = [
        "chair/modelnet_chair_0001.off",
        "airplane/modelnet40_airplane_0001.off",
        "lamp/turk_street_lamp.ply",
        "car/pcl_car6_scan.ply",
        "bathtub/modelnet40_bathtub_0001.off",
    ];
    if !data.exists() {
        panic!(
            "{} is missing: the GPU agreement test needs the real objects there \
             (or set CALIP3D_NO_GPU_TESTS=1 to skip the GPU tests)",
            data.display()
        );
    }
    files
        .iter()
        .map(|f| {
            load(&data.join(f), &LoadOptions::default())
                .unwrap()
                .y_up_positions()
        })
        .collect()
}

#[test]
fn hand_made_cases_match_on_the_gpu() {
    for projection in [Projection::PointClip, Projection::Realistic] {
        let Some(p) = gpu(projection) else { return };
        let single = [Point3::new(3.0f32, -1.0, 7.0)];
        let pair = [
            Point3::new(0.0f32, 0.0, 0.0),
            Point3::new(0.3, 0.1, -0.2),
            Point3::new(-0.5, 0.4, 0.1),
        ];
        let got = p.depth_views(&[&single, &pair]).unwrap();
        for (cloud, g) in [&single[..], &pair[..]].iter().zip(&got) {
            let cpu = cpu_depth_views(projection, &projection.views(), cloud);
            assert_eq!(g.data.len(), cpu.data.len());
            let (frac, worst) = agreement(&g.data, &cpu.data, 1e-4);
            assert_eq!(frac, 1.0, "{projection}: worst difference {worst}");
        }
    }
}

#[test]
fn gpu_and_cpu_agree_on_real_objects() {
    let clouds = objects();
    let refs: Vec<&[Point3<f32>]> = clouds.iter().map(Vec::as_slice).collect();
    for projection in [Projection::PointClip, Projection::Realistic] {
        let Some(p) = gpu(projection) else { return };
        let depth_gpu = p.depth_views(&refs).unwrap();
        let depth_cpu: Vec<_> = refs
            .iter()
            .map(|c| cpu_depth_views(projection, &projection.views(), c))
            .collect();
        let a: Vec<f32> = depth_gpu.iter().flat_map(|d| d.data.clone()).collect();
        let b: Vec<f32> = depth_cpu.iter().flat_map(|d| d.data.clone()).collect();
        let (frac, worst) = agreement(&a, &b, 1e-4);
        eprintln!(
            "{projection}: depth pixels equal within 1e-4: {:.5}%, worst difference {worst}",
            frac * 100.0
        );
        assert!(
            frac >= 0.999,
            "{projection}: only {frac} of the pixels agree"
        );

        let clip_gpu = p.clip_input(&refs, 224, false).unwrap().data;
        let clip_cpu = cpu_clip_input(&depth_cpu, 224, false);
        let (frac, worst) = agreement(&clip_gpu, &clip_cpu, 1e-4);
        eprintln!(
            "{projection}: CLIP input equal within 1e-4: {:.5}%, worst difference {worst}",
            frac * 100.0
        );
        assert!(
            frac >= 0.999,
            "{projection}: only {frac} of the CLIP input agrees"
        );
        let normalized = p.clip_input(&refs[..1], 224, true).unwrap().data;
        let expected = cpu_clip_input(&depth_cpu[..1], 224, true);
        assert!(agreement(&normalized, &expected, 1e-3).0 >= 0.999);
    }
}

#[test]
fn buffers_are_reused_across_calls_with_different_batch_sizes() {
    let Some(p) = gpu(Projection::Realistic) else {
        return;
    };
    let a: Vec<Point3<f32>> = (0..500)
        .map(|i| Point3::new((i as f32).sin(), (i as f32 * 0.7).cos(), i as f32 / 500.0))
        .collect();
    let big: Vec<&[Point3<f32>]> = (0..8).map(|_| a.as_slice()).collect();
    let first = p.depth_views(&big).unwrap();
    let small = p.depth_views(&[&a]).unwrap();
    assert_eq!(first[7], small[0]);
    assert_eq!(first[0], first[7]);
}

#[test]
fn classification_on_the_gpu_matches_the_cpu() {
    use calip3d::classify::Classifier;
    if gpu(Projection::Realistic).is_none() {
        return;
    }
    let model = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/clip/tiny");
    let cloud = calip3d::PointCloud::from_points(objects().remove(0), calip3d::UpAxis::Y);
    for projection in [Projection::PointClip, Projection::Realistic] {
        let logits: Vec<Vec<f32>> = [DeviceChoice::Cpu, DeviceChoice::Gpu]
            .into_iter()
            .map(|device| {
                let c = Classifier::builder()
                    .model(model.display().to_string())
                    .projection(projection)
                    .device(device)
                    .build()
                    .unwrap();
                let set = c.classes(&["chair", "airplane", "lamp"]).unwrap();
                c.classify(&cloud, &set).unwrap().logits
            })
            .collect();
        for (a, b) in logits[0].iter().zip(&logits[1]) {
            assert!(
                (a - b).abs() < 1e-3,
                "{projection}: cpu {:?} vs gpu {:?}",
                logits[0],
                logits[1]
            );
        }
    }
}

#[test]
fn the_cpu_choice_never_reports_a_gpu_and_gpu_reports_its_adapter() {
    let cpu = Projector::new(
        Projection::Realistic,
        Projection::Realistic.views(),
        DeviceChoice::Cpu,
    )
    .unwrap();
    assert_eq!(cpu.backend(), &Backend::Cpu);
    let Some(p) = gpu(Projection::Realistic) else {
        return;
    };
    let Backend::Gpu { adapter, api, .. } = p.backend() else {
        panic!("not a GPU: {}", p.backend());
    };
    assert!(!adapter.is_empty());
    assert!(api == "Vulkan" || api == "Gl", "{api}");
}
