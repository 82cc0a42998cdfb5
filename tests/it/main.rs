//! Every integration test, in one crate: one link step instead of one per file. Each module
//! was a test binary of its own; `common` holds what they share.

mod batch;
mod bundled_files;
mod classify;
mod clip_architectures;
mod clip_load_errors;
mod clip_parity;
mod clip_preprocess;
mod clip_text_cache;
mod clip_tokenizer;
mod common;
mod datasets;
mod error_messages;
mod formats;
mod fuzz_regressions;
mod gpu;
mod gpu_encode;
mod laz_parity;
mod library;
mod load_generated;
mod load_limits;
mod precision;
mod projection;
mod quiet_success;
mod real_data;
mod reference;
mod scene;
mod scene_hag;
mod tune;
