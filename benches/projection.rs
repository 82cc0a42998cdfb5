//! Projection throughput: points and clouds per second, CPU and GPU, both projections, for
//! 1024-point objects in batches of 1, 64 and 1024 and for one 10-million-point scan. Each case
//! produces the full CLIP input (resized, 3 channels), i.e. what the encoder consumes.
//!
//! ```text
//! cargo bench --bench projection                 # everything
//! CALIP3D_BENCH_QUICK=1 cargo bench --bench projection   # skip the largest CPU cases
//! ```

use calip3d::project::{DeviceChoice, Projection, Projector};
use nalgebra::Point3;
use std::time::Instant;

fn cloud(n: usize, seed: u64) -> Vec<Point3<f32>> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut rnd = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s >> 40) as f32 / (1u64 << 24) as f32 - 0.5
    };
    (0..n)
        .map(|_| Point3::new(rnd(), rnd() * 0.6, rnd() * 1.4))
        .collect()
}

/// Runs `f` at least twice and for at least `min_secs`, returns the best time per run in seconds.
fn time(min_secs: f64, mut f: impl FnMut()) -> f64 {
    f(); // warm-up: buffers, pipelines, caches
    let (mut best, mut total, mut runs) = (f64::INFINITY, 0.0, 0);
    while runs < 2 || total < min_secs {
        let t = Instant::now();
        f();
        let e = t.elapsed().as_secs_f64();
        best = best.min(e);
        total += e;
        runs += 1;
        if runs >= 20 {
            break;
        }
    }
    best
}

fn main() {
    let quick = std::env::var("CALIP3D_BENCH_QUICK").is_ok();
    let objects: Vec<Vec<Point3<f32>>> = (0..1024).map(|i| cloud(1024, i)).collect();
    let scan = cloud(10_000_000, 99);
    println!("| device | projection | case | clouds/s | Mpoints/s | ms/cloud |");
    println!("|---|---|---|---|---|---|");
    for device in [DeviceChoice::Cpu, DeviceChoice::Gpu] {
        for projection in [Projection::PointClip, Projection::Realistic] {
            let p = match Projector::new(projection, projection.views(), device) {
                Ok(p) => p,
                Err(e) => {
                    println!("| {device:?} | {projection} | unavailable: {e} | | | |");
                    continue;
                }
            };
            let backend = p.backend();
            for batch in [1usize, 64, 1024] {
                if quick && device == DeviceChoice::Cpu && batch == 1024 {
                    continue;
                }
                let refs: Vec<&[Point3<f32>]> =
                    objects[..batch].iter().map(Vec::as_slice).collect();
                let secs = time(2.0, || {
                    p.clip_input(&refs, 224, false).unwrap();
                });
                let clouds = batch as f64 / secs;
                println!(
                    "| {backend} | {projection} | {batch} × 1024 pts | {clouds:.1} | {:.2} | {:.3} |",
                    clouds * 1024.0 / 1e6,
                    1e3 / clouds
                );
            }
            // The depth images alone (what is computed, without the 224² CLIP tensor to read back).
            if quick && device == DeviceChoice::Cpu {
                continue;
            }
            let refs: Vec<&[Point3<f32>]> = objects.iter().map(Vec::as_slice).collect();
            let secs = time(2.0, || {
                p.depth_views(&refs).unwrap();
            });
            println!(
                "| {backend} | {projection} | 1024 × 1024 pts, depth only | {:.1} | {:.2} | {:.3} |",
                1024.0 / secs,
                1024.0 * 1024.0 / secs / 1e6,
                secs * 1e3 / 1024.0
            );
            let secs = time(1.0, || {
                p.clip_input(&[&scan], 224, false).unwrap();
            });
            println!(
                "| {backend} | {projection} | 1 × 10 M pts | {:.2} | {:.1} | {:.1} |",
                1.0 / secs,
                10.0 / secs,
                secs * 1e3
            );
        }
    }
}
