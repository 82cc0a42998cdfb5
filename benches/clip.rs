//! CLIP encoder throughput on CPU: images/s through the vision tower (global + spatial features)
//! in each [`Precision`], measured interleaved (f32, bf16, int8, f32, …) so that a noisy machine
//! moves all alike, with each precision's fidelity to f32 on the same images (smallest cosine of
//! the global and spatial features); then texts/s through the text tower (always f32).
//!
//! `cargo bench --bench clip` uses a random-weight ViT-B/32 written to a temporary folder; set
//! `CLIP_BENCH_MODEL=DIR` to use another model folder, `CLIP_BENCH_BATCH` (default 32),
//! `CLIP_BENCH_ITERS` (default 5) and `CLIP_BENCH_PRECISIONS` (default `f32,bf16,int8`). Threads:
//! `RAYON_NUM_THREADS`. Compare with `scripts/bench_clip_torch.py` (`scripts/bench_clip.sh` runs
//! both).
//!
//! When a GPU adapter exists (Mesa's lavapipe counts), the GPU vision tower runs too, in f32 and
//! f16 where the adapter has `SHADER_F16`, at `CLIP_BENCH_GPU_BATCH` images per pass (default
//! the CPU batch), with its images/s against the first CPU precision of the same run and its
//! fidelity to it. `CLIP_BENCH_GPU=0` skips it; `CLIP_BENCH_PRECISIONS=none` skips the CPU.

use calip3d::encode::kernels::cpu_features;
use calip3d::encode::precision::row_cosines;
use calip3d::encode::random::{write_random_clip, ClipArch};
use calip3d::encode::{ClipEncoder, ImageFeatures, Precision};
use calip3d::project::DeviceChoice;
use candle_core::{Device, Tensor};
use std::time::Instant;

fn env_usize(key: &str, default: usize) -> usize {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Smooth image-like inputs, as tests/clip_architectures.rs's formula images.
fn pixels(n: usize, s: usize) -> candle_core::Result<Tensor> {
    let v: Vec<f32> = (0..n * 3 * s * s)
        .map(|i| {
            let (b, c, y, x) = (i / (3 * s * s), i / (s * s) % 3, i / s % s, i % s);
            (0.1 * x as f32 + 0.07 * (c + 1) as f32 * y as f32 + 1.3 * b as f32).sin()
                * (0.05 * y as f32 - 0.3 * c as f32).cos()
        })
        .collect();
    Tensor::from_vec(v, (n, 3, s, s), &Device::Cpu)
}

/// Smallest row cosine of `a` and `b` over the last dimension.
fn min_cosine(a: &Tensor, b: &Tensor) -> anyhow::Result<f32> {
    Ok(row_cosines(a, b)?.into_iter().fold(f32::INFINITY, f32::min))
}

/// The GPU vision tower's images/s in f32 and f16 (where the adapter has it), with the smallest
/// cosines to `reference` (candle f32) on the first batch; empty without an adapter.
fn gpu_case(
    model: &str,
    reference: &ClipEncoder,
    s: usize,
    iters: usize,
) -> anyhow::Result<Vec<(String, f64)>> {
    if std::env::var("CLIP_BENCH_GPU").as_deref() == Ok("0") {
        return Ok(Vec::new());
    }
    let batch = env_usize("CLIP_BENCH_GPU_BATCH", env_usize("CLIP_BENCH_BATCH", 32));
    let x = pixels(batch, s)?;
    let check = pixels(batch.min(8), s)?;
    let expected: ImageFeatures = reference.encode_images(&check)?;
    let mut out = Vec::new();
    for precision in [Precision::F32, Precision::F16] {
        let encoder = match ClipEncoder::load_with(model, &Device::Cpu, precision)
            .map_err(anyhow::Error::from)
            .and_then(|e| Ok(e.with_vision_device(DeviceChoice::Gpu)?))
        {
            Ok(e) => e,
            Err(e) => {
                println!("GPU: skipped ({e})");
                return Ok(out);
            }
        };
        let Some(tower) = encoder.gpu_tower() else {
            return Ok(out);
        };
        let name = if tower.is_f16() { "f16" } else { "f32" };
        if precision != Precision::F32 && !tower.is_f16() {
            break; // no SHADER_F16: the f32 row is all there is
        }
        let got = encoder.encode_images(&check)?;
        encoder.encode_images(&x)?; // builds the plan of this batch size
        let start = Instant::now();
        for _ in 0..iters {
            std::hint::black_box(encoder.encode_images(&x)?.spatial.dims());
        }
        let ips = (batch * iters) as f64 / start.elapsed().as_secs_f64();
        println!(
            "GPU {} {name}: {ips:.2} images/s (batch {batch}), min cos global {:.5}, spatial {:.5}",
            encoder.vision_backend(),
            min_cosine(&got.global, &expected.global)?,
            min_cosine(&got.spatial, &expected.spatial)?,
        );
        out.push((name.to_string(), ips));
    }
    Ok(out)
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
    let precisions: Vec<Precision> = std::env::var("CLIP_BENCH_PRECISIONS")
        .unwrap_or_else(|_| "f32,bf16,int8".into())
        .split(',')
        .filter(|p| *p != "none")
        .map(|p| p.parse().map_err(anyhow::Error::msg))
        .collect::<anyhow::Result<_>>()?;
    let threads = std::env::var("RAYON_NUM_THREADS").unwrap_or_else(|_| "all".into());
    println!("CPU features (run time): {}", cpu_features());
    let encoders = precisions
        .iter()
        .map(|&p| {
            Ok((
                p,
                ClipEncoder::load_with(&model, &Device::Cpu, p)?.with_text_cache(None),
            ))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let reference = ClipEncoder::load(&model, &Device::Cpu)?.with_text_cache(None);
    let s = reference.image_size();
    let x = pixels(batch, s)?;
    let gpu = gpu_case(&model, &reference, s, iters)?;
    if encoders.is_empty() {
        return Ok(());
    }
    // Warm-up (builds each tower) and fidelity against the first precision (f32 by default).
    let feats = encoders
        .iter()
        .map(|(_, e)| e.encode_images(&x))
        .collect::<Result<Vec<_>, _>>()?;
    let mut secs = vec![0f64; encoders.len()];
    for _ in 0..iters {
        for ((_, e), t) in encoders.iter().zip(&mut secs) {
            let start = Instant::now();
            std::hint::black_box(e.encode_images(&x)?.spatial.dims());
            *t += start.elapsed().as_secs_f64();
        }
    }
    println!("| precision asked | ran | images/s | ms/image | vs {} | min cos global | min cos spatial |", precisions[0]);
    println!("|---|---|---|---|---|---|---|");
    for (((p, e), t), f) in encoders.iter().zip(&secs).zip(&feats) {
        let ips = (batch * iters) as f64 / t;
        println!(
            "| {p} | {} | {ips:.2} | {:.1} | {:.2}× | {:.5} | {:.5} |",
            e.precision(),
            1e3 * t / (batch * iters) as f64,
            secs[0] / t,
            min_cosine(&f.global, &feats[0].global)?,
            min_cosine(&f.spatial, &feats[0].spatial)?,
        );
    }
    println!("(batch {batch}, {iters} interleaved iterations, threads {threads})");
    for (name, ips) in gpu {
        let cpu = (batch * iters) as f64 / secs[0];
        println!(
            "GPU {name}: {:.2}× the CPU's {} images/s",
            ips / cpu,
            precisions[0]
        );
    }
    let clip = &encoders[0].1;
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
        "text (f32): {:.2} texts/s ({:.1} ms/text, batch {batch})",
        (batch * iters) as f64 / secs,
        1e3 * secs / (batch * iters) as f64
    );
    Ok(())
}
