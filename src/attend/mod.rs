//! CALIP's parameter-free cross-modal attention (METHOD.md §5) and view aggregation (§6).
//!
//! Everything here is a pure function of tensors, batched over all views of all clouds.

mod aggregate;
mod attention;

pub use aggregate::{aggregate_views, V2_MODELNET40_WEIGHTS};
pub use attention::{l2_normalize, CalipAttention, CalipParams, CalipTerms};
