//! `calip3d classify`: classify point-cloud files and print the top classes or JSON lines.

use crate::pipeline_args::PipelineArgs;
use crate::progress::files_bar;
use calip3d::classify::Prediction;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

#[derive(clap::Args)]
pub struct Args {
    /// Point-cloud files (any format `calip3d info` reads; see README).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    #[command(flatten)]
    pub pipeline: PipelineArgs,
    /// Number of classes to show.
    #[arg(short = 'k', long, default_value_t = calip3d::classify::DEFAULT_TOP_K)]
    pub top_k: usize,
    /// One JSON object per file per line on stdout.
    #[arg(long)]
    pub json: bool,
    /// Also write each file's depth views as PNG into this folder.
    #[arg(long)]
    pub save_views: Option<PathBuf>,
    /// Include per-view logits in the JSON.
    #[arg(long)]
    pub view_logits: bool,
    /// No progress bar.
    #[arg(short, long)]
    pub quiet: bool,
}

pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let classifier = args.pipeline.classifier(args.view_logits)?;
    let classes = args.pipeline.class_set(&classifier)?;
    let bar = files_bar(args.files.len(), args.quiet);
    let mut failed = 0usize;
    let mut stdout = std::io::stdout().lock();
    for path in &args.files {
        let file = path.display().to_string();
        let result = classify_one(&classifier, &classes, path, args.save_views.as_deref());
        bar.inc(1);
        match result {
            Ok(p) if args.json => {
                let record = p.record(&file, args.top_k);
                writeln!(stdout, "{}", serde_json::to_string(&record)?)?;
            }
            Ok(p) => bar.suspend(|| print_table(&mut stdout, &file, &p, args.top_k))?,
            Err(e) => {
                failed += 1;
                if args.json {
                    writeln!(
                        stdout,
                        "{}",
                        serde_json::json!({"file": file, "error": e.to_string()})
                    )?;
                }
                bar.suspend(|| eprintln!("error: {e}"));
            }
        }
    }
    bar.finish_and_clear();
    Ok(crate::exit::after_inputs(failed))
}

fn classify_one(
    classifier: &calip3d::classify::Classifier,
    classes: &calip3d::classify::ClassSet,
    path: &std::path::Path,
    save_views: Option<&std::path::Path>,
) -> calip3d::Result<Prediction> {
    let t = Instant::now();
    let cloud = classifier.load(path)?;
    let load_ms = t.elapsed().as_secs_f64() * 1e3;
    let mut p = classifier.classify(&cloud, classes)?;
    p.timings.load = load_ms;
    if let Some(dir) = save_views {
        let points = classifier.prepare(&cloud)?;
        let views = classifier.projector().depth_views(&[&points])?;
        let stem = path.file_stem().unwrap_or_default().to_string_lossy();
        calip3d::project::write_view_pngs(&views[0], dir, &stem)?;
    }
    Ok(p)
}

fn print_table(out: &mut impl Write, file: &str, p: &Prediction, k: usize) -> std::io::Result<()> {
    writeln!(out, "{file}")?;
    let width = p.top(k).iter().map(|(c, _)| c.len()).max().unwrap_or(0);
    for (class, prob) in p.top(k) {
        let bar = "#".repeat((prob * 30.0).round() as usize);
        writeln!(out, "  {class:<width$}  {prob:6.4}  {bar}")?;
    }
    Ok(())
}
