//! CLIP encoder throughput on CPU (f32): images/s through the vision tower (global + spatial
//! features) and texts/s through the text tower.
//!
//! `cargo bench --bench clip` uses a random-weight ViT-B/32 written to a temporary folder; set
//! `CLIP_BENCH_MODEL=DIR` to use another model folder, `CLIP_BENCH_BATCH` (default 32) and
//! `CLIP_BENCH_ITERS` (default 5). Threads: `RAYON_NUM_THREADS`. Compare with
//! `scripts/bench_clip_torch.py` (`scripts/bench_clip.sh` runs both).

use calip3d::encode::random::{write_random_clip, ClipArch};
use calip3d::encode::ClipEncoder;
use candle_core::{Device, Tensor};
use std::time::Instant;

fn env_usize(key: &str, default: usize) -> usize {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() -> anyhow::Result<()> {
    let tmp = tempfile::tempdir()?;
    let model = match std::env::var("CLIP_BENCH_MODEL") {
        Ok(dir) => dir,
        Err(_) => {
            write_random_clip(ClipArch::VitB32, tmp.path(), 0)?;
            tmp.path().display().to_string()
        }
    };
    let batch = env_usize("CLIP_BENCH_BATCH", 32);
    let iters = env_usize("CLIP_BENCH_ITERS", 5);
    let clip = ClipEncoder::load(&model, &Device::Cpu)?.with_text_cache(None);
    let s = clip.image_size();
    let pixels = Tensor::randn(0f32, 1.0, (batch, 3, s, s), &Device::Cpu)?;
    clip.encode_images(&pixels)?; // warm-up
    let t = Instant::now();
    for _ in 0..iters {
        let f = clip.encode_images(&pixels)?;
        std::hint::black_box(f.spatial.dims());
    }
    let secs = t.elapsed().as_secs_f64();
    let threads = std::env::var("RAYON_NUM_THREADS").unwrap_or_else(|_| "all".into());
    println!(
        "candle  vision: {:.2} images/s ({:.1} ms/image, batch {batch}, {iters} iterations, threads {threads})",
        (batch * iters) as f64 / secs,
        1e3 * secs / (batch * iters) as f64
    );
    let texts: Vec<String> = (0..batch)
        .map(|i| format!("a grayscale rendering of a 3D model of object number {i}."))
        .collect();
    clip.encode_texts(&texts)?;
    let t = Instant::now();
    for _ in 0..iters {
        std::hint::black_box(clip.encode_texts(&texts)?.dims());
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "candle  text:   {:.2} texts/s ({:.1} ms/text, batch {batch})",
        (batch * iters) as f64 / secs,
        1e3 * secs / (batch * iters) as f64
    );
    Ok(())
}
