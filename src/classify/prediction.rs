//! [`Prediction`]: what the classifier says about one cloud, and [`PredictionRecord`], its
//! JSON/CSV form.

use crate::project::Projection;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Wall-clock milliseconds spent in each stage for one cloud. Stages batched over many clouds
/// (encoding, attention) are shared out by the cloud's number of views.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Timings {
    /// Reading the file.
    pub load: f64,
    /// Projecting the views.
    pub project: f64,
    /// The CLIP vision tower.
    pub encode: f64,
    /// CALIP attention and aggregation.
    pub attend: f64,
}

/// Where a pipeline stage ran.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StageDevice {
    /// The CPU.
    #[default]
    Cpu,
    /// A GPU adapter (lavapipe included).
    Gpu,
}

impl StageDevice {
    /// `Gpu` for a GPU backend, else `Cpu`.
    pub fn of(backend: &crate::project::Backend) -> Self {
        if backend.is_gpu() {
            StageDevice::Gpu
        } else {
            StageDevice::Cpu
        }
    }
}

/// Where each stage of a prediction ran: `{"project": "gpu", "encode": "cpu"}` in records.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Devices {
    /// The projection of the views.
    pub project: StageDevice,
    /// The CLIP vision tower.
    pub encode: StageDevice,
}

/// The classification of one cloud.
#[derive(Debug, Clone, PartialEq)]
pub struct Prediction {
    /// Class names, in the order of `logits` and `probabilities`.
    pub classes: Arc<[String]>,
    /// Aggregated CALIP logits (METHOD.md §6), one per class.
    pub logits: Vec<f32>,
    /// `softmax(logits)`.
    pub probabilities: Vec<f32>,
    /// Plain CLIP logits of the same views (β2 = β3 = 0), aggregated the same way.
    pub baseline_logits: Vec<f32>,
    /// Per-view logits `[view][class]`, when asked for.
    pub view_logits: Option<Vec<Vec<f32>>>,
    /// The model that made it (repo id or folder).
    pub model: Arc<str>,
    /// The projection its views were rendered with.
    pub projection: Projection,
    /// Where the time went.
    pub timings: Timings,
    /// Where each stage ran.
    pub devices: Devices,
    /// [`TEST_SEARCH_STAMP`](super::profile::TEST_SEARCH_STAMP) when a profile or adapter chosen on the
    /// test split made it; it goes into every record of it.
    pub stamp: Option<&'static str>,
}

/// One entry of a ranking: a class and its probability.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RankedClass {
    /// Class name.
    pub class: String,
    /// Its probability.
    pub probability: f32,
}

/// A [`Prediction`] as `classify --json` and batch results files write it: one JSON object with
/// `file`, `classes`, `logits`, `probabilities`, `top`, `projection`, `model`, `timings_ms`,
/// `devices` (and `view_logits` when kept).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PredictionRecord {
    /// The input file (or any name the caller gives an in-memory cloud).
    pub file: String,
    /// Class names, in the order of `logits` and `probabilities`.
    pub classes: Vec<String>,
    /// Aggregated logits.
    pub logits: Vec<f32>,
    /// `softmax(logits)`.
    pub probabilities: Vec<f32>,
    /// The most probable classes, most probable first.
    pub top: Vec<RankedClass>,
    /// `pointclip` or `realistic`.
    pub projection: Projection,
    /// The model (repo id or folder).
    pub model: String,
    /// Milliseconds per stage.
    pub timings_ms: Timings,
    /// Where each stage ran (records written before it existed read as all CPU).
    #[serde(default)]
    pub devices: Devices,
    /// Per-view logits `[view][class]`, when kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub view_logits: Option<Vec<Vec<f32>>>,
    /// Present when settings chosen on the test split made the prediction
    /// ([`TEST_SEARCH_STAMP`](super::profile::TEST_SEARCH_STAMP)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stamp: Option<String>,
}

impl Prediction {
    /// The most probable class and its probability.
    pub fn best(&self) -> (&str, f32) {
        let i = argmax(&self.probabilities);
        (&self.classes[i], self.probabilities[i])
    }

    /// The `k` most probable classes, most probable first.
    pub fn top(&self, k: usize) -> Vec<(&str, f32)> {
        let mut order: Vec<usize> = (0..self.classes.len()).collect();
        order.sort_by(|&a, &b| {
            self.probabilities[b]
                .total_cmp(&self.probabilities[a])
                .then(a.cmp(&b))
        });
        order
            .into_iter()
            .take(k)
            .map(|i| (self.classes[i].as_str(), self.probabilities[i]))
            .collect()
    }

    /// The record of this prediction for `file`, with the `top_k` most probable classes.
    ///
    /// ```
    /// # use calip3d::classify::{Prediction, Timings, softmax};
    /// # let p = Prediction { classes: vec!["a".to_string(), "b".into()].into(), logits: vec![1.0, 2.0],
    /// #   probabilities: softmax(&[1.0, 2.0]), baseline_logits: vec![0.0; 2], view_logits: None,
    /// #   model: "m".into(), projection: Default::default(), timings: Timings::default(),
    /// #   devices: Default::default(), stamp: None };
    /// let record = p.record("scan.ply", 1);
    /// assert_eq!(record.top[0].class, "b");
    /// let json = serde_json::to_string(&record).unwrap();
    /// assert!(json.starts_with(r#"{"file":"scan.ply","classes":["a","b"]"#));
    /// ```
    pub fn record(&self, file: &str, top_k: usize) -> PredictionRecord {
        PredictionRecord {
            file: file.to_string(),
            classes: self.classes.to_vec(),
            logits: self.logits.clone(),
            probabilities: self.probabilities.clone(),
            top: self
                .top(top_k)
                .into_iter()
                .map(|(class, probability)| RankedClass {
                    class: class.to_string(),
                    probability,
                })
                .collect(),
            projection: self.projection,
            model: self.model.to_string(),
            timings_ms: self.timings,
            devices: self.devices,
            view_logits: self.view_logits.clone(),
            stamp: self.stamp.map(str::to_string),
        }
    }
}

/// Worker threads that read and project files in `batch` and `eval` unless asked otherwise
/// (`--jobs`): the calling thread encodes meanwhile, so two keep a 2-core machine busy.
pub const DEFAULT_JOBS: usize = 2;

/// Classes listed per record unless asked otherwise (`-k`).
pub const DEFAULT_TOP_K: usize = 5;

/// `softmax` of a row of logits, computed stably in f64.
pub fn softmax(logits: &[f32]) -> Vec<f32> {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
    let exps: Vec<f64> = logits.iter().map(|&l| (l as f64 - max).exp()).collect();
    let sum: f64 = exps.iter().sum();
    exps.iter().map(|e| (e / sum) as f32).collect()
}

/// Index of the largest value (the first one on ties; 0 for an empty slice).
pub fn argmax(values: &[f32]) -> usize {
    values
        .iter()
        .enumerate()
        .fold((0, f32::NEG_INFINITY), |best, (i, &v)| {
            if v > best.1 {
                (i, v)
            } else {
                best
            }
        })
        .0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_k_orders_by_probability_and_the_record_has_the_keys() {
        let p = Prediction {
            classes: vec!["a".to_string(), "b".into(), "c".into()].into(),
            logits: vec![1.0, 3.0, 2.0],
            probabilities: softmax(&[1.0, 3.0, 2.0]),
            baseline_logits: vec![0.0; 3],
            view_logits: None,
            model: "m".into(),
            projection: Projection::Realistic,
            timings: Timings::default(),
            devices: Devices::default(),
            stamp: None,
        };
        assert_eq!(p.best().0, "b");
        let top: Vec<&str> = p.top(2).into_iter().map(|t| t.0).collect();
        assert_eq!(top, ["b", "c"]);
        let sum: f32 = p.probabilities.iter().sum();
        assert!((sum - 1.0).abs() < 1e-6);
        let text = serde_json::to_string(&p.record("x.ply", 2)).unwrap();
        let keys = [
            "file",
            "classes",
            "logits",
            "probabilities",
            "top",
            "projection",
            "model",
            "timings_ms",
            "devices",
        ];
        let at: Vec<usize> = keys
            .iter()
            .map(|k| text.find(&format!("\"{k}\":")).expect(k))
            .collect();
        assert!(at.windows(2).all(|w| w[0] < w[1]), "field order: {text}");
        assert!(!text.contains("view_logits"));
        let j: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(j["top"][0]["class"], "b");
        assert_eq!(j["projection"], "realistic");
        assert_eq!(
            j["devices"],
            serde_json::json!({"project": "cpu", "encode": "cpu"})
        );
        let back: PredictionRecord = serde_json::from_value(j).unwrap();
        assert_eq!(back, p.record("x.ply", 2));
    }

    #[test]
    fn argmax_takes_the_first_of_ties() {
        assert_eq!(argmax(&[1.0, 3.0, 3.0]), 1);
        assert_eq!(argmax(&[]), 0);
    }
}
