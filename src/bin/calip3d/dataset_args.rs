//! Options of the commands that read a dataset's training split: `tune` and `fit`.

use crate::pipeline_args::PipelineArgs;
use calip3d::classify::classes::ClassList;
use calip3d::tune::{self, DatasetSplits, Split, ValidationOptions};

/// Where the validation subset comes from: shared by `tune` and `fit`.
#[derive(clap::Args, Debug, Clone)]
pub struct ValidationArgs {
    /// The split to carve the validation subset from. `test` needs --search-on-test.
    #[arg(long, default_value = "train")]
    pub split: Split,
    /// Fraction of each class of the split that is the validation subset.
    #[arg(long, default_value_t = tune::split::DEFAULT_VAL_FRACTION)]
    pub val_fraction: f64,
    /// Seed of the validation (and shot) draw.
    #[arg(long, default_value_t = tune::split::DEFAULT_SEED)]
    pub seed: u64,
}

impl ValidationArgs {
    /// The library's options.
    pub fn options(&self, search_on_test: bool) -> ValidationOptions {
        ValidationOptions {
            split: self.split,
            val_fraction: self.val_fraction,
            seed: self.seed,
            search_on_test,
        }
    }
}

/// The dataset of `DATASET --classes C` (`dataset` or `folders` takes the dataset's own class
/// names) and its class list, in label order.
pub fn dataset(
    dir: &std::path::Path,
    pipeline: &PipelineArgs,
) -> anyhow::Result<(DatasetSplits, ClassList)> {
    let list = pipeline.class_list(|| Ok(DatasetSplits::class_names(dir)?))?;
    let names: Vec<String> = list
        .specs(&["{}".to_string()])?
        .into_iter()
        .map(|s| s.name)
        .collect();
    Ok((DatasetSplits::new(dir, names), list))
}
