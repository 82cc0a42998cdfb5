//! [`Prediction`]: what the classifier says about one cloud, and its JSON form.

use serde::Serialize;
use serde_json::{json, Map, Value};
use std::sync::Arc;

/// Wall-clock milliseconds spent in each stage for one cloud. Stages batched over many clouds
/// (encoding, attention) are shared out by the cloud's number of views.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
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
    /// Where the time went.
    pub timings: Timings,
}

impl Prediction {
    /// The most probable class and its probability.
    pub fn best(&self) -> (&str, f32) {
        let i = super::eval::argmax(&self.probabilities);
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

    /// The `classify --json` object: `file`, `classes`, `logits`, `probabilities`, `top`,
    /// `projection`, `model`, `timings_ms` (and `view_logits` when present).
    pub fn to_json(
        &self,
        file: &str,
        projection: &str,
        model: &str,
        top_k: usize,
    ) -> Map<String, Value> {
        let top: Vec<Value> = self
            .top(top_k)
            .into_iter()
            .map(|(class, probability)| json!({"class": class, "probability": probability}))
            .collect();
        let mut m = Map::new();
        m.insert("file".into(), json!(file));
        m.insert("classes".into(), json!(&*self.classes));
        m.insert("logits".into(), json!(self.logits));
        m.insert("probabilities".into(), json!(self.probabilities));
        m.insert("top".into(), Value::Array(top));
        m.insert("projection".into(), json!(projection));
        m.insert("model".into(), json!(model));
        m.insert("timings_ms".into(), json!(self.timings));
        if let Some(v) = &self.view_logits {
            m.insert("view_logits".into(), json!(v));
        }
        m
    }
}

/// `softmax` of a row of logits, computed stably in f64.
pub fn softmax(logits: &[f32]) -> Vec<f32> {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
    let exps: Vec<f64> = logits.iter().map(|&l| (l as f64 - max).exp()).collect();
    let sum: f64 = exps.iter().sum();
    exps.iter().map(|e| (e / sum) as f32).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_k_orders_by_probability_and_json_has_the_keys() {
        let p = Prediction {
            classes: vec!["a".to_string(), "b".into(), "c".into()].into(),
            logits: vec![1.0, 3.0, 2.0],
            probabilities: softmax(&[1.0, 3.0, 2.0]),
            baseline_logits: vec![0.0; 3],
            view_logits: None,
            timings: Timings::default(),
        };
        assert_eq!(p.best().0, "b");
        let top: Vec<&str> = p.top(2).into_iter().map(|t| t.0).collect();
        assert_eq!(top, ["b", "c"]);
        let sum: f32 = p.probabilities.iter().sum();
        assert!((sum - 1.0).abs() < 1e-6);
        let j = p.to_json("x.ply", "realistic", "m", 2);
        for key in [
            "file",
            "classes",
            "logits",
            "probabilities",
            "top",
            "projection",
            "model",
            "timings_ms",
        ] {
            assert!(j.contains_key(key), "{key}");
        }
        assert_eq!(j["top"][0]["class"], "b");
    }
}
