//! CLIP encoder throughput on CPU: images/s through the vision tower (global + spatial features)
//! in each [`Precision`] at each kernel level this CPU supports (`CALIP3D_CPU`'s levels, set by
//! [`level::with_cap`]), measured interleaved (f32, bf16 at avx2, int8 at avx2, …, f32, …) so that
//! a noisy machine moves all alike, as ratios to f32 in the same run, with each precision's
//! fidelity to f32 on the same images (smallest cosine of the global and spatial features); then
//! texts/s through the text tower (always f32). f32 is measured once: its products are candle's
//! (the `gemm` crate), which picks its own SIMD whatever the cap. A precision that falls back to
//! f32 at a level is listed as such, not measured again.
//!
//! `cargo bench --bench clip` uses a random-weight ViT-B/32 written to a temporary folder; set
//! `CLIP_BENCH_MODEL=DIR` to use another model folder, `CLIP_BENCH_BATCH` (default 32),
//! `CLIP_BENCH_ITERS` (default 5), `CLIP_BENCH_PRECISIONS` (default `f32,bf16,int8`; f32 always
//! runs, as the baseline) and `CLIP_BENCH_LEVELS` (default: every supported level). Threads:
//! `RAYON_NUM_THREADS`. Compare with `scripts/bench_clip_torch.py` (`scripts/bench_clip.sh` runs
//! both).
//!
//! When a GPU adapter exists (Mesa's lavapipe counts), the GPU vision tower runs too, in f32 and
//! f16 where the adapter has `SHADER_F16`, at `CLIP_BENCH_GPU_BATCH` images per pass (default
//! the CPU batch), with its images/s against the first CPU precision of the same run and its
//! fidelity to it. `CLIP_BENCH_GPU=0` skips it; `CLIP_BENCH_PRECISIONS=none` skips the CPU.

use calip3d::encode::kernels::{cpu_features, level};
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
    let levels: Vec<level::Level> = match std::env::var("CLIP_BENCH_LEVELS") {
        Ok(v) => v
            .split(',')
            .map(|l| level::Level::parse(l).ok_or_else(|| anyhow::anyhow!("unknown level {l:?}")))
            .collect::<anyhow::Result<_>>()?,
        Err(_) => level::supported(),
    };
    let threads = std::env::var("RAYON_NUM_THREADS").unwrap_or_else(|_| "all".into());
    println!(
        "CPU features (run time): {}; kernel level detected: {}",
        cpu_features(),
        level::detected()
    );
    // (level, asked, encoder): f32 first, then every other precision at every level where it
    // has a kernel of its own. The tower is built (under the cap) by the warm-up below.
    let mut runs = vec![(
        level::current(),
        Precision::F32,
        ClipEncoder::load_with(&model, &Device::Cpu, Precision::F32)?.with_text_cache(None),
    )];
    let mut fallbacks = Vec::new();
    for &l in &levels {
        for &p in precisions.iter().filter(|&&p| p != Precision::F32) {
            if p.at(l) == Precision::F32 {
                fallbacks.push((l, p));
                continue;
            }
            let e = level::with_cap(l, || ClipEncoder::load_with(&model, &Device::Cpu, p))?;
            runs.push((l, p, e.with_text_cache(None)));
        }
    }
    let s = runs[0].2.image_size();
    let x = pixels(batch, s)?;
    let gpu = gpu_case(&model, &runs[0].2, s, iters)?;
    // Warm-up (builds each tower at its level) and fidelity against f32.
    let feats = runs
        .iter()
        .map(|(l, _, e)| level::with_cap(*l, || e.encode_images(&x)))
        .collect::<Result<Vec<_>, _>>()?;
    let mut secs = vec![0f64; runs.len()];
    for _ in 0..iters {
        for ((_, _, e), t) in runs.iter().zip(&mut secs) {
            let start = Instant::now();
            std::hint::black_box(e.encode_images(&x)?.spatial.dims());
            *t += start.elapsed().as_secs_f64();
        }
    }
    println!("| level | precision asked | ran | kernel | images/s | ms/image | vs f32 | min cos global | min cos spatial |");
    println!("|---|---|---|---|---|---|---|---|---|");
    for (((l, p, e), t), f) in runs.iter().zip(&secs).zip(&feats) {
        let ips = (batch * iters) as f64 / t;
        let shown = if *p == Precision::F32 {
            "any".to_string()
        } else {
            l.to_string()
        };
        println!(
            "| {shown} | {p} | {} | {} | {ips:.2} | {:.1} | {:.2}× | {:.5} | {:.5} |",
            e.precision(),
            p.kernel(*l),
            1e3 * t / (batch * iters) as f64,
            secs[0] / t,
            min_cosine(&f.global, &feats[0].global)?,
            min_cosine(&f.spatial, &feats[0].spatial)?,
        );
    }
    for (l, p) in fallbacks {
        println!(
            "| {l} | {p} | f32 | fallback: {} | = f32 | | 1.00× | 1 | 1 |",
            p.kernel(l)
        );
    }
    println!("(batch {batch}, {iters} interleaved iterations, threads {threads})");
    for (name, ips) in gpu {
        let cpu = (batch * iters) as f64 / secs[0];
        println!("GPU {name}: {:.2}× the CPU's f32 images/s", ips / cpu);
    }
    let clip = &runs[0].2;
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
