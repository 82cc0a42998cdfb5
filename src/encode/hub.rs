//! Model files from the Hugging Face Hub, kept in the standard Hugging Face cache
//! (`$HF_HOME/hub`, default `~/.cache/huggingface/hub`) and reused offline.

use super::error::ModelError;
use std::path::PathBuf;

/// Path of `file` of model repository `repo`: from the local Hugging Face cache when it is
/// there (no network), otherwise downloaded into it.
pub fn hub_file(repo: &str, file: &str) -> Result<PathBuf, ModelError> {
    let cache = hf_hub::Cache::from_env();
    if let Some(path) = cache.model(repo.to_string()).get(file) {
        return Ok(path);
    }
    if std::env::var_os("HF_HUB_OFFLINE").is_some_and(|v| v != "0") {
        return Err(ModelError::Hub {
            repo: repo.into(),
            file: file.into(),
            reason: format!(
                "not in the cache {} and HF_HUB_OFFLINE is set",
                cache.path().display()
            ),
        });
    }
    let hub_err = |reason: String| ModelError::Hub {
        repo: repo.into(),
        file: file.into(),
        reason,
    };
    let api = hf_hub::api::sync::ApiBuilder::from_cache(cache)
        .with_progress(false)
        .build()
        .map_err(|e| hub_err(e.to_string()))?;
    api.model(repo.to_string()).get(file).map_err(|e| {
        hub_err(format!(
            "{e}; without network, download the folder elsewhere (config.json, model.safetensors, \
             tokenizer.json) and pass its path instead"
        ))
    })
}
