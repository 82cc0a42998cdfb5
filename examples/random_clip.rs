//! Writes a CLIP model folder with random weights and OpenAI's real configuration, in Hugging Face
//! layout (config.json, model.safetensors, tokenizer.json), for tests and benchmarks.
//!
//! `cargo run --release --example random_clip -- --arch vit-b-32|vit-b-16|vit-l-14 --out DIR [--seed S]`

use calip3d::encode::random::{write_random_clip, ClipArch};
use std::path::PathBuf;

fn main() -> anyhow::Result<()> {
    let mut arch = None;
    let mut out = None;
    let mut seed = 0u64;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || {
            args.next()
                .ok_or_else(|| anyhow::anyhow!("{a} needs a value"))
        };
        match a.as_str() {
            "--arch" => arch = Some(value()?.parse::<ClipArch>().map_err(anyhow::Error::msg)?),
            "--out" => out = Some(PathBuf::from(value()?)),
            "--seed" => seed = value()?.parse()?,
            _ => anyhow::bail!(
                "unknown argument {a}; usage: random_clip --arch vit-b-32|vit-b-16|vit-l-14 --out DIR [--seed S]"
            ),
        }
    }
    let arch = arch.ok_or_else(|| anyhow::anyhow!("--arch is required"))?;
    let out = out.ok_or_else(|| anyhow::anyhow!("--out is required"))?;
    write_random_clip(arch, &out, seed)?;
    println!("wrote random {arch:?} CLIP to {}", out.display());
    Ok(())
}
