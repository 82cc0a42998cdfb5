//! CALIP's parameter-free cross-modal attention (METHOD.md §5) and view aggregation (§6), and the
//! few-shot additions of §9 in feature space (Tip-Adapter's cache, PointCLIP's inter-view adapter).
//!
//! Everything here is a pure function of tensors, batched over all views of all clouds.

mod adapter;
mod aggregate;
mod attention;
mod cache;
mod fewshot;
pub(crate) use fewshot::safetensors_bytes;

pub use adapter::{
    AdapterMode, BatchNorm, BatchStats, InterViewAdapter, Linear, NormStats, ADAPTER_RESIDUAL,
    BATCH_NORM_EPS,
};
pub use aggregate::{aggregate_views, V2_MODELNET40_WEIGHTS};
pub use attention::{l2_normalize, CalipAttention, CalipParams, CalipTerms};
pub use cache::TipCache;
pub use fewshot::{
    FewShotAdapter, FewShotError, FewShotKind, FewShotMeta, FewShotMethod, FEWSHOT_FORMAT,
};
