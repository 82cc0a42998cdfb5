//! `calip3d eval`: accuracy of the classifier on a labelled dataset, its layout detected
//! (ModelNet40 h5, ScanObjectNN, modelnet40_normal_resampled, a folder per class).

use crate::pipeline_args::PipelineArgs;
use crate::progress::files_bar;
use calip3d::classify::StreamOptions;
use calip3d::eval::plot::write_confusion_png;
use calip3d::eval::{evaluate, EvalReport, PredictionRecord, PredictionsFile};
use calip3d::load::dataset::{Dataset, DatasetOptions, Split};
use serde_json::json;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// The dataset: a folder per class (ModelNet's OFF tree too), `modelnet40_ply_hdf5_2048`,
    /// `modelnet40_normal_resampled`, a ScanObjectNN split folder, or one h5 file.
    pub dir: PathBuf,
    #[command(flatten)]
    pub pipeline: PipelineArgs,
    /// Which split: train or test (default: test; a single h5 file as given).
    #[arg(long)]
    pub split: Option<Split>,
    /// For `modelnet40_normal_resampled`: which id lists, modelnet40 (default) or modelnet10.
    #[arg(long)]
    pub subset: Option<String>,
    /// Drop the points an h5 `mask` marks as background (ScanObjectNN's objects alone).
    #[arg(long)]
    pub no_background: bool,
    /// Write one JSON line per shape: item, label, predicted, logits, probabilities.
    #[arg(long)]
    pub predictions: Option<PathBuf>,
    /// Also score plain CLIP (β2 = β3 = 0) on the same views, to measure CALIP's gain.
    #[arg(long)]
    pub compare_baseline: bool,
    /// The report as one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
    /// Write the confusion matrix as a PNG heat map.
    #[arg(long)]
    pub plot: Option<PathBuf>,
    /// Worker threads reading and projecting shapes.
    #[arg(short, long, default_value_t = calip3d::classify::DEFAULT_JOBS)]
    pub jobs: usize,
    /// No progress bar.
    #[arg(short, long)]
    pub quiet: bool,
    /// Write a Markdown report: plain CLIP vs CALIP vs CALIP + profile, and where each setting was
    /// chosen (encodes the views once more).
    #[arg(long)]
    pub report: Option<PathBuf>,
}

pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let dataset = Dataset::open(
        &args.dir,
        &DatasetOptions {
            split: args.split,
            subset: args.subset.clone(),
            drop_background: args.no_background,
        },
    )?;
    let list = args.pipeline.class_list(|| {
        dataset
            .class_names()
            .map(<[String]>::to_vec)
            .ok_or_else(|| {
                anyhow::anyhow!(
                "{}: a {} dataset names no classes; give them with --classes (e.g. scanobjectnn)",
                args.dir.display(),
                dataset.layout()
            )
            })
    })?;
    let classifier = args.pipeline.classifier(false)?;
    let classes = classifier.class_list(&list)?;
    let names = classes.names().to_vec();
    let labels = dataset.labels_in(&names)?;
    let mut predictions = args
        .predictions
        .as_deref()
        .map(PredictionsFile::create)
        .transpose()?;

    let bar = files_bar(labels.len(), args.quiet);
    let mut scored: Vec<(usize, Vec<f32>, Vec<f32>)> = Vec::new();
    let mut failures: Vec<(String, String)> = Vec::new();
    let options = StreamOptions::new(args.jobs, StreamOptions::default().views_per_encode);
    evaluate(&classifier, &classes, &dataset, &options, |i, outcome| {
        bar.inc(1);
        let item = dataset.items()[i].source.to_string();
        if let Some(file) = predictions.as_mut() {
            file.write(&PredictionRecord::new(
                item.clone(),
                labels[i],
                &names,
                &outcome,
            ))?;
        }
        match outcome {
            Ok(p) => scored.push((labels[i], p.logits, p.baseline_logits)),
            Err(e) => failures.push((item, e.to_string())),
        }
        Ok(())
    })?;
    bar.finish_and_clear();
    if let Some(file) = predictions {
        file.finish()?;
    }
    if let Some(report) = &args.report {
        // The report re-scores the same items (files or h5 shapes).
        let items: Vec<_> = dataset
            .items()
            .iter()
            .zip(&labels)
            .map(|(item, &label)| (item.source.clone(), label))
            .collect();
        let dir = args.dir.display().to_string();
        calip3d::tune::report::write_eval_report(
            &classifier,
            &list,
            &dir,
            &items,
            args.no_background,
            report,
            &mut |_, _| {},
        )?;
    }

    let calip = EvalReport::from_scores(&names, scored.iter().map(|(l, s, _)| (*l, s.as_slice())));
    let baseline = args.compare_baseline.then(|| {
        EvalReport::from_scores(&names, scored.iter().map(|(l, _, b)| (*l, b.as_slice())))
    });
    let method = if args.pipeline.baseline {
        "clip"
    } else {
        "calip"
    };
    if let Some(plot) = &args.plot {
        write_confusion_png(&calip, method, plot)?;
        if let Some(b) = &baseline {
            write_confusion_png(b, "clip baseline", &plot.with_extension("baseline.png"))?;
        }
    }
    if args.json {
        let failed: Vec<_> = failures
            .iter()
            .map(|(f, e)| json!({"item": f, "error": e}))
            .collect();
        let report = json!({
            "dir": args.dir.display().to_string(),
            "layout": dataset.layout().to_string(),
            "split": dataset.split().map(|s| s.to_string()),
            "projection": classifier.projection().to_string(),
            "model": classifier.model_id(),
            method: calip,
            "baseline": baseline,
            "failed": failed,
        });
        println!("{report}");
    } else {
        let split = dataset
            .split()
            .map(|s| format!(", {s} split"))
            .unwrap_or_default();
        println!("{} ({}{split})", args.dir.display(), dataset.layout());
        print_report(method, &calip);
        if let Some(b) = &baseline {
            print_report("clip baseline (β2 = β3 = 0)", b);
            println!(
                "CALIP − CLIP: top-1 {:+.2} points, top-5 {:+.2} points",
                (calip.top1 - b.top1) * 100.0,
                (calip.top5 - b.top5) * 100.0
            );
        }
        for (f, e) in &failures {
            eprintln!("failed: {f}: {e}");
        }
    }
    Ok(crate::exit::after_inputs(failures.len()))
}

fn print_report(method: &str, r: &EvalReport) {
    println!(
        "{method}: {} samples, top-1 {:.2}%, top-5 {:.2}%, mean class accuracy {:.2}%",
        r.samples,
        r.top1 * 100.0,
        r.top5 * 100.0,
        r.mean_class_accuracy * 100.0
    );
    let width = r.classes.iter().map(|c| c.len()).max().unwrap_or(5);
    for c in r.per_class.iter().filter(|c| c.samples > 0) {
        println!(
            "  {:<width$}  {:>3}/{:<3}  {:6.2}%",
            c.class,
            c.correct,
            c.samples,
            c.accuracy.unwrap_or(0.0) * 100.0
        );
    }
}
