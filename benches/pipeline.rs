//! End-to-end throughput on the CPU: 1024-point objects through projection, a random-weight
//! ViT-B/32 CLIP (the real architecture; see examples/random_clip.rs) and CALIP, for both
//! projections, with the share of each stage.
//!
//! ```text
//! cargo bench --bench pipeline -- [MODEL_DIR] [CLOUDS]
//! ```
//! A MODEL_DIR without config.json (or none) gets a random ViT-B/32. scripts/bench_pipeline.sh
//! runs this and the Python pipeline (scripts/bench_pipeline_torch.py) on the same weights.

use calip3d::classify::{ClassList, Classifier, Prediction};
use calip3d::encode::random::{write_random_clip, ClipArch};
use calip3d::project::{DeviceChoice, Projection};
use calip3d::{PointCloud, UpAxis};
use std::time::Instant;

fn cloud(n: usize, seed: u64) -> PointCloud {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut rnd = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s >> 40) as f32 / (1u64 << 24) as f32 - 0.5
    };
    let xyz: Vec<f32> = (0..n * 3).map(|_| rnd()).collect();
    PointCloud::from_xyz(&xyz, UpAxis::Y)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let tmp = tempfile::tempdir()?;
    // A folder without a model gets a random ViT-B/32 (so the Python side can read the same one).
    let dir = args
        .first()
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| tmp.path().to_path_buf());
    if !dir.join("config.json").exists() {
        write_random_clip(ClipArch::VitB32, &dir, 0)?;
    }
    let model = dir.display().to_string();
    let n: usize = args.get(1).map(|s| s.parse()).transpose()?.unwrap_or(16);
    let clouds: Vec<PointCloud> = (0..n as u64).map(|i| cloud(1024, i)).collect();
    let refs: Vec<&PointCloud> = clouds.iter().collect();
    println!("| projection | clouds | clouds/s | project | encode | attend |");
    println!("|---|---|---|---|---|---|");
    for projection in [Projection::PointClip, Projection::Realistic] {
        let classifier = Classifier::builder()
            .model(&model)
            .projection(projection)
            .device(DeviceChoice::Cpu)
            .build()?;
        let set = classifier.class_list(&ClassList::builtin("modelnet40").expect("built in"))?;
        classifier.classify_many(&refs[..2], &set)?; // warm-up
        let t = Instant::now();
        let predictions: Vec<Prediction> = classifier.classify_many(&refs, &set)?;
        let secs = t.elapsed().as_secs_f64();
        let sum = |f: fn(&Prediction) -> f64| predictions.iter().map(f).sum::<f64>();
        let (p, e, a) = (
            sum(|p| p.timings.project),
            sum(|p| p.timings.encode),
            sum(|p| p.timings.attend),
        );
        let total = p + e + a;
        println!(
            "| {projection} | {n} | {:.2} | {:.1}% | {:.1}% | {:.1}% |",
            n as f64 / secs,
            100.0 * p / total,
            100.0 * e / total,
            100.0 * a / total
        );
    }
    Ok(())
}
