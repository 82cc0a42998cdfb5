//! How closely `--precision bf16` and `int8` follow f32 on real files: for each file, the
//! cosine of every view's global feature and every patch's spatial feature against f32, the
//! largest logit difference and whether the top-1 class is the same (ModelNet40 names, the
//! realistic projection, CPU). Prints one Markdown row per precision and kernel level this CPU
//! supports up to the current one (so `CALIP3D_CPU=avx2` stops at avx2; each level set with
//! `level::with_cap`); a precision that falls back to f32 at a level is skipped there.
//!
//! ```text
//! cargo run --release --example precision_fidelity -- MODEL FILE...
//! ```
//! `scripts/bench_precision.py` runs it over the shared objects for random ViT-B/32 and B/16. A
//! random model classifies nothing well: this measures agreement with f32, not accuracy.

use calip3d::classify::{argmax, ClassList, ClassSet, Classifier, ViewFeatures};
use calip3d::encode::kernels::level;
use calip3d::encode::precision::row_cosines;
use calip3d::encode::Precision;
use calip3d::project::{DeviceChoice, Projection};
use std::path::Path;

/// What one precision's runs add up to over the files.
#[derive(Default)]
struct Fidelity {
    files: usize,
    same_top1: usize,
    global: Vec<f32>,
    spatial: Vec<f32>,
    max_logit_diff: Vec<f32>,
}

fn min(v: &[f32]) -> f32 {
    v.iter().copied().fold(f32::INFINITY, f32::min)
}

fn mean(v: &[f32]) -> f32 {
    v.iter().sum::<f32>() / v.len().max(1) as f32
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [model, files @ ..] = args.as_slice() else {
        eprintln!("usage: precision_fidelity MODEL FILE...");
        std::process::exit(1);
    };
    // f32 first (the reference), then each other precision at each level with a kernel of its own.
    let mut precisions = vec![(level::current(), Precision::F32)];
    for l in level::supported()
        .into_iter()
        .filter(|&l| l <= level::current())
    {
        for p in [Precision::Bf16, Precision::Int8] {
            if p.at(l) != Precision::F32 {
                precisions.push((l, p));
            }
        }
    }
    let classifiers = precisions
        .iter()
        .map(|&(l, p)| {
            level::with_cap(l, || {
                Classifier::builder()
                    .model(model.as_str())
                    .projection(Projection::Realistic)
                    .device(DeviceChoice::Cpu)
                    .precision(p)
                    .build()
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let class_sets = classifiers
        .iter()
        .map(|c| c.class_list(&ClassList::builtin("modelnet40").expect("built in")))
        .collect::<Result<Vec<ClassSet>, _>>()?;
    let mut results: Vec<Fidelity> = precisions.iter().map(|_| Fidelity::default()).collect();
    for file in files {
        let reference = &classifiers[0];
        let points = match reference
            .load(Path::new(file))
            .and_then(|c| reference.prepare(&c))
        {
            Ok(p) => p,
            Err(e) => {
                eprintln!("skipped: {e}");
                continue;
            }
        };
        let projected = reference.project(&[&points])?;
        // Every precision's features and logits on the same views; the first run is f32's.
        let runs = classifiers
            .iter()
            .zip(&class_sets)
            .zip(&precisions)
            .map(|((classifier, classes), &(l, _))| {
                // The tower is built at first use, under its level's cap.
                let features = level::with_cap(l, || classifier.encode(&projected.batch))?;
                let logits = classifier.score_features(&features, classes)?[0]
                    .logits
                    .clone();
                Ok((features, logits))
            })
            .collect::<calip3d::Result<Vec<(ViewFeatures, Vec<f32>)>>>()?;
        let (f32_features, f32_logits) = &runs[0];
        for ((features, logits), result) in runs.iter().zip(&mut results) {
            result.files += 1;
            result.same_top1 += usize::from(argmax(logits) == argmax(f32_logits));
            result
                .global
                .extend(row_cosines(&features.global, &f32_features.global)?);
            result
                .spatial
                .extend(row_cosines(&features.spatial, &f32_features.spatial)?);
            let diff = logits
                .iter()
                .zip(f32_logits)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f32::max);
            result.max_logit_diff.push(diff);
        }
    }
    println!(
        "| precision | level | ran | files | same top-1 as f32 | largest logit difference (mean per file) \
         | cosine to f32, global: min (mean) | spatial: min (mean) |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for ((&(l, p), classifier), r) in precisions.iter().zip(&classifiers).zip(&results) {
        let l: &dyn std::fmt::Display = if p == Precision::F32 { &"any" } else { &l };
        println!(
            "| {p} | {l} | {} | {} | {}/{} | {:.4} ({:.4}) | {:.5} ({:.6}) | {:.5} ({:.6}) |",
            classifier.encoder().precision(),
            r.files,
            r.same_top1,
            r.files,
            r.max_logit_diff.iter().copied().fold(0.0, f32::max),
            mean(&r.max_logit_diff),
            min(&r.global),
            mean(&r.global),
            min(&r.spatial),
            mean(&r.spatial),
        );
    }
    Ok(())
}
