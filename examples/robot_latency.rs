//! A robot's loop at steady state: one segmented object (2,048 points) classified again and
//! again in-process; prints the p50 and p99 latency over the calls after a warm-up call (which
//! builds the GPU tower's buffers). scripts/gpu_bench.sh runs it.
//!
//! ```text
//! cargo run --release --example robot_latency -- MODEL [auto|cpu|gpu] [CALLS] [PRECISION]
//! ```

use calip3d::classify::Classifier;
use calip3d::project::{DeviceChoice, Projection};
use calip3d::UpAxis;
use nalgebra::Point3;
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let model = args
        .get(1)
        .cloned()
        .unwrap_or_else(|| calip3d::classify::DEFAULT_MODEL.into());
    let device: DeviceChoice = args.get(2).map_or(Ok(DeviceChoice::Auto), |d| d.parse())?;
    let calls: usize = args.get(3).map_or(Ok(200), |c| c.parse())?;
    let precision = args.get(4).map_or(Ok(Default::default()), |p| p.parse())?;
    let classifier = Classifier::builder()
        .model(model)
        .projection(Projection::Realistic)
        .device(device)
        .precision(precision)
        .build()?;
    let classes = classifier.classes(&["box", "chair", "bottle", "person"])?;
    // A 40 × 30 × 20 cm box's surface, deterministic.
    let mut s = 0x9E37_79B9u32;
    let mut rnd = move || {
        s ^= s << 13;
        s ^= s >> 17;
        s ^= s << 5;
        s as f32 / u32::MAX as f32 - 0.5
    };
    let object: Vec<Point3<f32>> = (0..2048)
        .map(|i| {
            let mut p = [rnd() * 0.4, rnd() * 0.3, rnd() * 0.2];
            p[i % 3] = [0.2, 0.15, 0.1][i % 3] * if i % 2 == 0 { 1.0 } else { -1.0 };
            Point3::new(p[0], p[1], p[2])
        })
        .collect();
    classifier.classify_points(&object, UpAxis::Y, &classes)?;
    let mut ms: Vec<f64> = (0..calls)
        .map(|_| {
            let t = Instant::now();
            classifier
                .classify_points(&object, UpAxis::Y, &classes)
                .map(|_| t.elapsed().as_secs_f64() * 1e3)
        })
        .collect::<Result<_, _>>()?;
    ms.sort_by(f64::total_cmp);
    let at = |q: f64| ms[((ms.len() as f64 * q).ceil() as usize).clamp(1, ms.len()) - 1];
    let d = classifier.devices();
    println!(
        "robot loop: {calls} calls, p50 {:.2} ms, p99 {:.2} ms (project {:?}, encode {:?}: {})",
        at(0.5),
        at(0.99),
        d.project,
        d.encode,
        classifier.encoder().vision_backend()
    );
    Ok(())
}
