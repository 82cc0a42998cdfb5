//! Encoding a split once: the view features of its items and the text features of every
//! candidate template, kept in memory so that a search only re-scores (METHOD.md §9).

use super::split::{LabelledItem, SplitSource};
use crate::classify::classes::{self, ClassList};
use crate::classify::{stream, ClassSet, Classifier, StreamOptions, ViewFeatures};
use crate::error::Result;
use candle_core::Tensor;

/// Encoded items of a split, with their labels; items that failed to read are listed apart.
#[derive(Debug, Clone)]
pub struct EncodedItems {
    /// The view features of the items that were read, in order.
    pub features: ViewFeatures,
    /// Label of each encoded item.
    pub labels: Vec<usize>,
    /// Id of each encoded item.
    pub ids: Vec<String>,
    /// `(id, error)` of items that could not be read or projected.
    pub failed: Vec<(String, String)>,
}

impl EncodedItems {
    /// The features of some of the encoded items (positions into [`Self::labels`]).
    pub fn select(&self, positions: &[usize]) -> Result<EncodedItems> {
        let v = self.features.views_per_cloud;
        let rows: Vec<u32> = positions
            .iter()
            .flat_map(|&i| (i * v..(i + 1) * v).map(|r| r as u32))
            .collect();
        let idx = Tensor::from_vec(rows.clone(), rows.len(), self.features.global.device())?;
        Ok(EncodedItems {
            features: ViewFeatures {
                global: self.features.global.index_select(&idx, 0)?,
                spatial: self.features.spatial.index_select(&idx, 0)?,
                views_per_cloud: v,
                encode_ms: 0.0,
            },
            labels: positions.iter().map(|&i| self.labels[i]).collect(),
            ids: positions.iter().map(|&i| self.ids[i].clone()).collect(),
            failed: Vec::new(),
        })
    }
}

/// `items` of a split as a stream source: each item its own read unit.
struct Listed<'a> {
    source: &'a dyn SplitSource,
    items: &'a [LabelledItem],
}

impl stream::Source for Listed<'_> {
    fn units(&self) -> usize {
        self.items.len()
    }
    fn unit_items(&self, unit: usize) -> std::ops::Range<usize> {
        unit..unit + 1
    }
    fn read_unit(
        &self,
        unit: usize,
        load: &crate::load::LoadOptions,
    ) -> Vec<Result<crate::PointCloud>> {
        vec![self.source.load(&self.items[unit], load)]
    }
    fn name(&self, item: usize) -> String {
        self.items[item].id.clone()
    }
}

/// Reads, projects and encodes `items` once through the pipeline loop; `progress` is called with
/// the number of items done after each step.
pub fn encode_items(
    classifier: &Classifier,
    source: &dyn SplitSource,
    items: &[LabelledItem],
    progress: impl FnMut(usize),
) -> Result<EncodedItems> {
    let listed = Listed { source, items };
    let stream::Collected {
        items: encoded,
        features,
        failed,
    } = stream::collect_features(classifier, &listed, &StreamOptions::default(), progress)?;
    let failed: Vec<(String, String)> = failed
        .into_iter()
        .map(|(i, e)| (items[i].id.clone(), e))
        .collect();
    let Some(features) = features else {
        return Err(crate::Error::InvalidSetting(format!(
            "none of the {} items could be read{}",
            items.len(),
            failed
                .first()
                .map(|(id, e)| format!(" (first: {id}: {e})"))
                .unwrap_or_default()
        )));
    };
    Ok(EncodedItems {
        features,
        labels: encoded.iter().map(|&i| items[i].label).collect(),
        ids: encoded.iter().map(|&i| items[i].id.clone()).collect(),
        failed,
    })
}

/// The built-in pool of prompt templates that `calip3d tune` chooses from. The first entry
/// stands for the projection's default ensemble; each other entry is one template set.
///
/// - the projection's defaults (realistic: the three-template ensemble of METHOD.md §3;
///   pointclip: PointCLIP's template);
/// - `point cloud depth map of a {}.` (PointCLIP);
/// - `a depth map of a {}.`;
/// - `a grayscale rendering of a 3D model of a {}.`;
/// - `a photo of a {}.` (CLIP's default);
/// - `a 3D model of a {}.`;
/// - `a rendering of a {}.`.
pub const TEMPLATE_POOL: &[&[&str]] = &[
    &[],
    &["point cloud depth map of a {}."],
    &["a depth map of a {}."],
    &["a grayscale rendering of a 3D model of a {}."],
    &["a photo of a {}."],
    &["a 3D model of a {}."],
    &["a rendering of a {}."],
];

/// Each distinct template set of [`TEMPLATE_POOL`] for the classifier's projection, with the
/// classes of `list` encoded under it. Classes with their own prompts keep them under every
/// template.
pub fn template_class_sets(
    classifier: &Classifier,
    list: &ClassList,
) -> Result<Vec<(Vec<String>, ClassSet)>> {
    let defaults = classes::default_templates(classifier.projection());
    let mut sets: Vec<Vec<String>> = Vec::new();
    for entry in TEMPLATE_POOL {
        let t: Vec<String> = if entry.is_empty() {
            defaults.clone()
        } else {
            entry.iter().map(|s| s.to_string()).collect()
        };
        if !sets.contains(&t) {
            sets.push(t);
        }
    }
    sets.into_iter()
        .map(|t| {
            let specs = list.specs(&t)?;
            Ok((t, classifier.class_set(specs)?))
        })
        .collect()
}
