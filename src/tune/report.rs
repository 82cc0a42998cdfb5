//! `calip3d eval --report`: a Markdown table as papers present results — plain CLIP, CALIP and
//! CALIP with the classifier's profile (and adapter), top-1, mean class accuracy and per class —
//! with the split on which each setting was chosen.

use super::features::EncodedItems;
use crate::attend::CalipParams;
use crate::classify::classes::{self, ClassList};
use crate::classify::profile::TEST_SEARCH_STAMP;
use crate::classify::{Classifier, Scoring};
use crate::error::{Error, Result};
use crate::eval::EvalReport;
use crate::load::dataset::{read_item, ItemSource};
use std::fmt::Write;
use std::path::Path;

/// One row of the report: a method, its scores and where its settings were chosen.
#[derive(Debug, Clone)]
pub struct ReportRow {
    /// The method's name.
    pub method: String,
    /// Where its settings come from.
    pub chosen_on: String,
    /// Its scores.
    pub report: EvalReport,
}

/// Scores the rows of the report on encoded evaluation items: plain CLIP and CALIP with the
/// defaults, and the classifier's own settings (profile, flags, adapter) when they differ.
/// `list` names the classes, in label order.
pub fn report_rows(
    classifier: &Classifier,
    items: &EncodedItems,
    list: &ClassList,
) -> Result<Vec<ReportRow>> {
    let defaults = classes::default_templates(classifier.projection());
    let default_classes = classifier.class_set(list.specs(&defaults)?)?;
    let names = default_classes.names().to_vec();
    let uniform = vec![1.0f32; items.features.views_per_cloud];
    let score =
        |classes: &crate::classify::ClassSet, scoring: &Scoring<'_>| -> Result<EvalReport> {
            let p = classifier.score_features_with(&items.features, classes, scoring)?;
            Ok(EvalReport::from_scores(
                &names,
                items
                    .labels
                    .iter()
                    .zip(&p)
                    .map(|(l, p)| (*l, p.logits.as_slice())),
            ))
        };
    let fixed = "fixed, not chosen on this data";
    let mut rows = vec![
        ReportRow {
            method: "CLIP (PointCLIP zero-shot, β2 = β3 = 0)".into(),
            chosen_on: fixed.into(),
            report: score(
                &default_classes,
                &Scoring {
                    params: CalipParams::baseline(),
                    view_weights: &uniform,
                    adapter: None,
                },
            )?,
        },
        ReportRow {
            method: "CALIP (β2 = 1.12, β3 = 0.02, uniform views)".into(),
            chosen_on: "fixed: CALIP's published ImageNet values, not chosen on this data".into(),
            report: score(
                &default_classes,
                &Scoring {
                    params: CalipParams::default(),
                    view_weights: &uniform,
                    adapter: None,
                },
            )?,
        },
    ];
    let own_templates = classifier.templates();
    let differs = classifier.profile().is_some()
        || classifier.adapter().is_some()
        || *classifier.params() != CalipParams::default()
        || classifier.view_weights() != uniform.as_slice()
        || own_templates != defaults;
    if differs {
        let own_classes = classifier.class_list(list)?;
        let mut method = match classifier.profile() {
            Some(_) => "CALIP + profile".to_string(),
            None => "CALIP (settings given as flags)".to_string(),
        };
        let mut chosen_on = match classifier.profile() {
            Some(p) => {
                let s = &p.searched_on;
                let mut text = format!(
                    "{} split of {}: validation subset of {} of {} items (fraction {}, seed {})",
                    s.split, s.dataset, s.validation_size, s.split_size, s.val_fraction, s.seed
                );
                if p.search_on_test {
                    text = format!("**{TEST_SEARCH_STAMP}**; {text}");
                }
                text
            }
            None => "given on the command line".into(),
        };
        if let Some(a) = classifier.adapter() {
            let m = &a.meta;
            method.push_str(&format!(" + {} ({}-shot)", m.method, m.shots));
            chosen_on.push_str(&format!(
                "; {} fitted on {} shots per class of the {} split of {}{}",
                m.method,
                m.shots,
                m.split,
                m.dataset,
                if m.search_on_test {
                    format!(" (**{TEST_SEARCH_STAMP}**)")
                } else {
                    String::new()
                }
            ));
        }
        let report = score(
            &own_classes,
            &Scoring {
                params: *classifier.params(),
                view_weights: classifier.view_weights(),
                adapter: classifier.adapter(),
            },
        )?;
        rows.push(ReportRow {
            method,
            chosen_on,
            report,
        });
    }
    Ok(rows)
}

/// The Markdown text of the report.
pub fn markdown(rows: &[ReportRow], dataset: &str, model: &str, projection: &str) -> String {
    let mut s = String::new();
    let samples = rows.first().map_or(0, |r| r.report.samples);
    let _ = writeln!(s, "# calip3d evaluation\n");
    let _ = writeln!(
        s,
        "Data: `{dataset}` ({samples} clouds). Model: `{model}`. Projection: {projection}.\n"
    );
    let _ = writeln!(
        s,
        "Protocol: settings are chosen on the training split and reported here; nothing below was \
         chosen on this data unless stamped.\n"
    );
    let _ = writeln!(
        s,
        "| method | top-1 (%) | top-5 (%) | mean class acc. (%) | chosen on |"
    );
    let _ = writeln!(s, "|---|---:|---:|---:|---|");
    for r in rows {
        let _ = writeln!(
            s,
            "| {} | {:.2} | {:.2} | {:.2} | {} |",
            r.method,
            r.report.top1 * 100.0,
            r.report.top5 * 100.0,
            r.report.mean_class_accuracy * 100.0,
            r.chosen_on
        );
    }
    let _ = writeln!(s, "\n## Per class (top-1, %)\n");
    let _ = write!(s, "| class | samples |");
    for r in rows {
        let _ = write!(s, " {} |", r.method);
    }
    let _ = write!(s, "\n|---|---:|");
    for _ in rows {
        let _ = write!(s, "---:|");
    }
    s.push('\n');
    if let Some(first) = rows.first() {
        for (i, c) in first.report.per_class.iter().enumerate() {
            if c.samples == 0 {
                continue;
            }
            let _ = write!(s, "| {} | {} |", c.class, c.samples);
            for r in rows {
                let a = r.report.per_class[i].accuracy.unwrap_or(0.0);
                let _ = write!(s, " {:.2} |", a * 100.0);
            }
            s.push('\n');
        }
    }
    s
}

/// Encodes the evaluation items once, scores every row and writes the Markdown report
/// atomically to `path`. `items` are `(where, label)` in the order of `list`'s classes, in
/// any dataset layout (files, h5 shapes); `drop_background` as the evaluation's.
pub fn write_eval_report(
    classifier: &Classifier,
    list: &ClassList,
    dataset: &str,
    items: &[(ItemSource, usize)],
    drop_background: bool,
    path: &Path,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Vec<ReportRow>> {
    let items: Vec<super::LabelledItem> = items
        .iter()
        .map(|(source, l)| super::LabelledItem {
            id: source.to_string(),
            source: source.clone(),
            label: *l,
        })
        .collect();
    let source = ItemList { drop_background };
    let encoded = super::encode_items(classifier, &source, &items, |n| progress(n, items.len()))?;
    let rows = report_rows(classifier, &encoded, list)?;
    let text = markdown(
        &rows,
        dataset,
        classifier.model_id(),
        &classifier.projection().to_string(),
    );
    crate::atomic::write(path, text.as_bytes()).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(rows)
}

/// Items already listed; only [`SplitSource::load`] is used.
struct ItemList {
    drop_background: bool,
}

impl super::SplitSource for ItemList {
    fn name(&self) -> String {
        String::new()
    }
    fn classes(&self) -> &[String] {
        &[]
    }
    fn items(&self, _split: super::Split) -> Result<Vec<super::LabelledItem>> {
        Ok(Vec::new())
    }
    fn load(
        &self,
        item: &super::LabelledItem,
        options: &crate::load::LoadOptions,
    ) -> Result<crate::PointCloud> {
        Ok(read_item(&item.source, self.drop_background, options)?)
    }
}
