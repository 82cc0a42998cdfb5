//! `calip3d embed`: print CLIP features of texts and images.

use anyhow::Context;
use calip3d::encode::ClipEncoder;
use candle_core::{Device, Tensor};
use serde_json::json;
use std::path::PathBuf;
use std::process::ExitCode;

/// Print the projected, unnormalised CLIP features of texts and images.
#[derive(clap::Args)]
pub struct Args {
    /// CLIP model: a local folder (config.json, model.safetensors, tokenizer.json) or a Hugging Face
    /// repo id.
    #[arg(long, default_value = calip3d::classify::DEFAULT_MODEL)]
    pub model: String,
    /// A text to encode (repeatable).
    #[arg(long = "text")]
    pub texts: Vec<String>,
    /// A PNG image to encode with CLIP's standard preprocessing (repeatable).
    #[arg(long = "image")]
    pub images: Vec<PathBuf>,
    /// Print JSON: {"texts":[{"text","embedding"}], "images":[{"path","embedding","spatial"}]}.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    if args.texts.is_empty() && args.images.is_empty() {
        anyhow::bail!("nothing to embed: give at least one --text or --image");
    }
    let clip = ClipEncoder::load(&args.model, &Device::Cpu)
        .with_context(|| format!("loading CLIP model {}", args.model))?;
    let text_rows: Vec<Vec<f32>> = if args.texts.is_empty() {
        Vec::new()
    } else {
        clip.encode_texts(&args.texts)?.to_vec2()?
    };
    let mut images = Vec::new();
    if !args.images.is_empty() {
        let pixels = args
            .images
            .iter()
            .map(|p| clip.preprocess_image(p))
            .collect::<Result<Vec<_>, _>>()?;
        let f = clip.encode_images(&Tensor::stack(&pixels, 0)?)?;
        let global: Vec<Vec<f32>> = f.global.to_vec2()?;
        let spatial: Vec<Vec<Vec<f32>>> = f.spatial.to_vec3()?;
        images = args
            .images
            .iter()
            .zip(global.into_iter().zip(spatial))
            .collect();
    }
    if args.json {
        let out = json!({
            "model": clip.model_id(),
            "texts": args.texts.iter().zip(&text_rows)
                .map(|(t, e)| json!({"text": t, "embedding": e})).collect::<Vec<_>>(),
            "images": images.iter()
                .map(|(p, (g, s))| json!({"path": p, "embedding": g, "spatial": s}))
                .collect::<Vec<_>>(),
        });
        println!("{}", serde_json::to_string(&out)?);
    } else {
        let norm = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>().sqrt();
        println!(
            "model {} (embedding width {})",
            clip.model_id(),
            clip.embed_dim()
        );
        for (t, e) in args.texts.iter().zip(&text_rows) {
            println!(
                "text  {t:?}: norm {:.4}, first {:?}",
                norm(e),
                &e[..e.len().min(4)]
            );
        }
        for (p, (g, s)) in &images {
            println!(
                "image {}: norm {:.4}, {} spatial features, first {:?}",
                p.display(),
                norm(g),
                s.len(),
                &g[..g.len().min(4)]
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
