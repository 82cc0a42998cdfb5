//! CLIP's byte-level BPE tokenizer: `<|startoftext|> … <|endoftext|>` in a fixed context of 77
//! ids; long texts are truncated keeping the end token, short ones padded.

use super::error::ModelError;
use std::path::{Path, PathBuf};
use tokenizers::{Tokenizer, TruncationParams};

/// Token id of `<|startoftext|>` in OpenAI's vocabulary.
pub const START_TOKEN: u32 = 49406;
/// Token id of `<|endoftext|>` in OpenAI's vocabulary.
pub const END_TOKEN: u32 = 49407;

/// One tokenised text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tokens {
    /// Exactly `context_length` ids, padded after the end token.
    pub ids: Vec<u32>,
    /// Position of the end-of-text token.
    pub eot: usize,
}

/// A CLIP tokenizer loaded from a `tokenizer.json`.
pub struct ClipTokenizer {
    inner: Tokenizer,
    path: PathBuf,
    context: usize,
    end: u32,
    pad: u32,
}

impl ClipTokenizer {
    /// Loads `path` for a context of `context` tokens (77 for CLIP).
    pub fn from_file(path: &Path, context: usize) -> Result<Self, ModelError> {
        if !path.exists() {
            return Err(ModelError::MissingFile {
                path: path.to_path_buf(),
                hint: "a CLIP tokenizer.json is needed beside config.json".into(),
            });
        }
        let err = |reason: String| ModelError::Tokenizer {
            path: path.to_path_buf(),
            reason,
        };
        let mut inner = Tokenizer::from_file(path).map_err(|e| err(e.to_string()))?;
        let end = inner
            .token_to_id("<|endoftext|>")
            .ok_or_else(|| err("no <|endoftext|> token".into()))?;
        inner
            .token_to_id("<|startoftext|>")
            .ok_or_else(|| err("no <|startoftext|> token".into()))?;
        // The post-processor adds start and end; truncation leaves room for both, so the end
        // token survives truncation.
        inner
            .with_truncation(Some(TruncationParams {
                max_length: context,
                ..Default::default()
            }))
            .map_err(|e| err(e.to_string()))?;
        // Padding is ours (to the full context); the file's pad id is kept if it names one.
        // Padding never changes a feature: attention is causal and the feature is read at the
        // end token, before any padding.
        let pad = inner.get_padding().map(|p| p.pad_id).unwrap_or(end);
        inner.with_padding(None);
        Ok(Self {
            inner,
            path: path.to_path_buf(),
            context,
            end,
            pad,
        })
    }

    /// The ids of `text` without padding: start, BPE tokens (truncated), end.
    pub fn ids(&self, text: &str) -> Result<Vec<u32>, ModelError> {
        let enc = self
            .inner
            .encode(text, true)
            .map_err(|e| ModelError::Tokenizer {
                path: self.path.clone(),
                reason: format!("cannot encode {text:?}: {e}"),
            })?;
        Ok(enc.get_ids().to_vec())
    }

    /// `text` as a padded row of `context_length` ids with the end token's position.
    pub fn encode(&self, text: &str) -> Result<Tokens, ModelError> {
        let mut ids = self.ids(text)?;
        let eot = ids
            .iter()
            .position(|&i| i == self.end)
            .unwrap_or(ids.len().saturating_sub(1));
        ids.resize(self.context, self.pad);
        Ok(Tokens { ids, eot })
    }

    /// Context length.
    pub fn context_length(&self) -> usize {
        self.context
    }
}

/// OpenAI's CLIP tokenizer (`assets/clip/tokenizer.json`, MIT, see `assets/clip/NOTICE.md`),
/// bundled for writing model folders.
pub const BUNDLED_TOKENIZER_JSON: &[u8] = include_bytes!("../../assets/clip/tokenizer.json");
