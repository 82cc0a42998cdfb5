//! [`FewShotAdapter`]: a few-shot addition to zero-shot CALIP, fitted on K labelled clouds per
//! class, with where it came from; saved as safetensors with that provenance as metadata.

use super::adapter::{BatchNorm, InterViewAdapter, Linear};
use super::cache::TipCache;
use candle_core::{DType, Device, Tensor};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The key of the provenance JSON in the safetensors metadata.
const META_KEY: &str = "calip3d.fewshot";
/// Format tag of adapter files.
pub const FEWSHOT_FORMAT: &str = "calip3d-fewshot/1";

/// Which few-shot method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FewShotMethod {
    /// Tip-Adapter's training-free cache over view-aggregated global features.
    Cache,
    /// PointCLIP's trained inter-view adapter.
    Adapter,
}

impl std::fmt::Display for FewShotMethod {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            FewShotMethod::Cache => "cache",
            FewShotMethod::Adapter => "adapter",
        })
    }
}

/// What a few-shot adapter was made for and from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FewShotMeta {
    /// [`FEWSHOT_FORMAT`].
    pub format: String,
    /// The method.
    pub method: FewShotMethod,
    /// The CLIP model's identity (`Classifier::model_id`).
    pub model: String,
    /// The projection.
    pub projection: String,
    /// Views per cloud.
    pub views: usize,
    /// The classes, in the order of the logits.
    pub classes: Vec<String>,
    /// Shots per class.
    pub shots: usize,
    /// Seed of the shot draw (and of training).
    pub seed: u64,
    /// The dataset and split the shots came from.
    pub dataset: String,
    /// The split the shots came from ("train" unless `search_on_test`).
    pub split: String,
    /// True when fitted or searched on the test split (`--search-on-test`): not a fair result.
    pub search_on_test: bool,
    /// Validation top-1 before and after, when measured.
    pub validation_top1: Option<(f64, f64)>,
}

/// The fitted part of a [`FewShotAdapter`].
#[derive(Debug, Clone)]
pub enum FewShotKind {
    /// Tip-Adapter's cache.
    Cache(TipCache),
    /// PointCLIP's inter-view adapter.
    InterView(InterViewAdapter),
}

/// Why an adapter file could not be read or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FewShotError {
    /// The file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a valid calip3d adapter.
    #[error("{path}: not a calip3d few-shot adapter: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

/// A fitted few-shot adapter and its provenance.
#[derive(Debug, Clone)]
pub struct FewShotAdapter {
    /// Provenance.
    pub meta: FewShotMeta,
    /// The fitted part.
    pub kind: FewShotKind,
}

fn f32_bytes(t: &Tensor) -> candle_core::Result<Vec<u8>> {
    let v = t.flatten_all()?.to_dtype(DType::F32)?.to_vec1::<f32>()?;
    Ok(v.iter().flat_map(|x| x.to_le_bytes()).collect())
}

/// f32 safetensors bytes of named tensors with string metadata.
pub(crate) fn safetensors_bytes(
    named: &[(String, Tensor)],
    metadata: HashMap<String, String>,
) -> Result<Vec<u8>, String> {
    let mut data = Vec::new();
    for (name, t) in named {
        let bytes = f32_bytes(t).map_err(|e| e.to_string())?;
        data.push((name.clone(), t.dims().to_vec(), bytes));
    }
    let views: Vec<(String, safetensors::tensor::TensorView<'_>)> = data
        .iter()
        .map(|(n, shape, bytes)| {
            safetensors::tensor::TensorView::new(safetensors::Dtype::F32, shape.clone(), bytes)
                .map(|v| (n.clone(), v))
                .map_err(|e| e.to_string())
        })
        .collect::<Result<_, _>>()?;
    safetensors::serialize(views, Some(metadata)).map_err(|e| e.to_string())
}

impl FewShotAdapter {
    /// The named tensors of the adapter (for saving).
    fn tensors(&self) -> Vec<(String, Tensor)> {
        match &self.kind {
            FewShotKind::Cache(c) => {
                let labels: Vec<f32> = c.labels().iter().map(|&l| l as f32).collect();
                let n = labels.len();
                let mut out = vec![("cache.keys".to_string(), c.keys().clone())];
                if let Ok(t) = Tensor::from_vec(labels, n, &Device::Cpu) {
                    out.push(("cache.labels".to_string(), t));
                }
                out
            }
            FewShotKind::InterView(a) => {
                let bn = |p: &str, b: &BatchNorm| {
                    vec![
                        (format!("{p}.weight"), b.weight.clone()),
                        (format!("{p}.bias"), b.bias.clone()),
                        (format!("{p}.running_mean"), b.running_mean.clone()),
                        (format!("{p}.running_var"), b.running_var.clone()),
                    ]
                };
                let lin = |p: &str, l: &Linear| {
                    vec![
                        (format!("{p}.weight"), l.weight.clone()),
                        (format!("{p}.bias"), l.bias.clone()),
                    ]
                };
                let mut out = bn("bn_in", &a.bn_in);
                out.extend(lin("global", &a.global));
                out.extend(bn("bn_global", &a.bn_global));
                out.extend(lin("view_in", &a.view_in));
                out.extend(lin("view_out", &a.view_out));
                out
            }
        }
    }

    /// Writes the adapter as safetensors (atomically), with its provenance, α/β and the residual
    /// ratio in the metadata.
    pub fn save(&self, path: &Path) -> Result<(), FewShotError> {
        let invalid = |message: String| FewShotError::Invalid {
            path: path.to_path_buf(),
            message,
        };
        let mut metadata = HashMap::new();
        let meta = serde_json::to_string(&self.meta).map_err(|e| invalid(e.to_string()))?;
        metadata.insert(META_KEY.to_string(), meta);
        match &self.kind {
            FewShotKind::Cache(c) => {
                metadata.insert("alpha".into(), c.alpha.to_string());
                metadata.insert("beta".into(), c.beta.to_string());
            }
            FewShotKind::InterView(a) => {
                metadata.insert("residual".into(), a.residual.to_string());
            }
        }
        let bytes = safetensors_bytes(&self.tensors(), metadata).map_err(invalid)?;
        crate::atomic::write(path, &bytes).map_err(|source| FewShotError::Io {
            path: path.to_path_buf(),
            source,
        })
    }

    /// Reads an adapter written by [`Self::save`]; every shape is checked against the metadata.
    pub fn load(path: &Path) -> Result<Self, FewShotError> {
        let invalid = |message: String| FewShotError::Invalid {
            path: path.to_path_buf(),
            message,
        };
        let bytes = std::fs::read(path).map_err(|source| FewShotError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let (_, header) =
            safetensors::SafeTensors::read_metadata(&bytes).map_err(|e| invalid(e.to_string()))?;
        let extra = header.metadata().clone().unwrap_or_default();
        let meta_json = extra
            .get(META_KEY)
            .ok_or_else(|| invalid(format!("no `{META_KEY}` metadata")))?;
        let meta: FewShotMeta =
            serde_json::from_str(meta_json).map_err(|e| invalid(format!("metadata: {e}")))?;
        if meta.format != FEWSHOT_FORMAT {
            return Err(invalid(format!(
                "format `{}`, expected `{FEWSHOT_FORMAT}`",
                meta.format
            )));
        }
        if meta.classes.is_empty() || meta.views == 0 {
            return Err(invalid("no classes or no views".into()));
        }
        let st =
            safetensors::SafeTensors::deserialize(&bytes).map_err(|e| invalid(e.to_string()))?;
        let get = |name: &str| -> Result<Tensor, FewShotError> {
            let view = st
                .tensor(name)
                .map_err(|_| invalid(format!("tensor `{name}` is missing")))?;
            if view.dtype() != safetensors::Dtype::F32 {
                return Err(invalid(format!("tensor `{name}` is not f32")));
            }
            let values: Vec<f32> = view
                .data()
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect();
            if values.iter().any(|v| !v.is_finite()) {
                return Err(invalid(format!("tensor `{name}` has non-finite values")));
            }
            Tensor::from_vec(values, view.shape(), &Device::Cpu)
                .map_err(|e| invalid(format!("tensor `{name}`: {e}")))
        };
        let number = |key: &str| -> Result<f32, FewShotError> {
            extra
                .get(key)
                .and_then(|s| s.parse::<f32>().ok())
                .filter(|x| x.is_finite())
                .ok_or_else(|| invalid(format!("metadata `{key}` is missing or not a number")))
        };
        let kind = match meta.method {
            FewShotMethod::Cache => {
                let keys = get("cache.keys")?;
                let labels = get("cache.labels")?
                    .to_vec1::<f32>()
                    .map_err(|e| invalid(e.to_string()))?;
                let k = meta.classes.len();
                let labels: Vec<usize> = labels
                    .iter()
                    .map(|&l| {
                        (l >= 0.0 && l.fract() == 0.0 && (l as usize) < k)
                            .then_some(l as usize)
                            .ok_or_else(|| invalid(format!("cache label {l} is not a class index")))
                    })
                    .collect::<Result<_, _>>()?;
                let cache = TipCache::new(&keys, &labels, k, number("alpha")?, number("beta")?)
                    .map_err(|e| invalid(e.to_string()))?;
                FewShotKind::Cache(cache)
            }
            FewShotMethod::Adapter => {
                let bn = |p: &str| -> Result<BatchNorm, FewShotError> {
                    Ok(BatchNorm {
                        weight: get(&format!("{p}.weight"))?,
                        bias: get(&format!("{p}.bias"))?,
                        running_mean: get(&format!("{p}.running_mean"))?,
                        running_var: get(&format!("{p}.running_var"))?,
                    })
                };
                let lin = |p: &str| -> Result<Linear, FewShotError> {
                    Ok(Linear {
                        weight: get(&format!("{p}.weight"))?,
                        bias: get(&format!("{p}.bias"))?,
                    })
                };
                let view_in = lin("view_in")?;
                let dim = view_in.weight.dims().first().copied().unwrap_or(0);
                let adapter = InterViewAdapter {
                    views: meta.views,
                    dim,
                    bn_in: bn("bn_in")?,
                    global: lin("global")?,
                    bn_global: bn("bn_global")?,
                    view_in,
                    view_out: lin("view_out")?,
                    residual: number("residual")?,
                };
                adapter.validate().map_err(|e| invalid(e.to_string()))?;
                FewShotKind::InterView(adapter)
            }
        };
        Ok(FewShotAdapter { meta, kind })
    }
}
