//! calip3d: zero-shot 3D point-cloud classification with CLIP and CALIP's parameter-free
//! attention. No training: any class names you type.
//!
//! The pipeline, one module per stage, each using only the stages before it:
//! [`load`] (PLY, LAS/LAZ/COPC, PCD, KITTI, NPY, text, E57, meshes, the benchmark datasets →
//! [`PointCloud`]) → [`project`] (multi-view depth maps, WGSL compute on the GPU or the same
//! images on the CPU) → [`encode`] (CLIP vision and text towers) → [`attend`] (CALIP's
//! attention, view aggregation, few-shot adapters) → [`classify`] (classes, profiles, the
//! [`Classifier`](classify::Classifier)) → then the uses: [`eval`] (accuracy on a labelled
//! dataset), [`batch`] (many files, crash-safe results), [`scene`] (the objects of a LiDAR tile
//! or a robot's scan) and [`tune`] (settings and adapters chosen on the training split).
//!
//! From points to a label:
//!
//! ```no_run
//! use calip3d::classify::{Classifier, Settings};
//! use calip3d::UpAxis;
//!
//! let mut settings = Settings::default(); // every value has a documented default
//! settings.model = Some("openai/clip-vit-base-patch32".into());
//! let classifier = Classifier::new(&settings)?;
//! let classes = classifier.classes(&["chair", "table", "lamp"])?;
//! let xyz: Vec<f32> = vec![0.0, 0.0, 0.0, 0.1, 0.4, 0.2 /* … x, y, z of each point */];
//! let prediction = classifier.classify_xyz(&xyz, UpAxis::Z, &classes)?;
//! let (label, probability) = prediction.best();
//! println!("{label} ({probability:.2})");
//! # Ok::<(), calip3d::Error>(())
//! ```
//!
//! [`Settings`](classify::Settings) is the one settings type: the CLI's flags, the
//! [builder](classify::ClassifierBuilder), the Python package's keywords and a tuning profile
//! all become one, merged as defaults < profile < explicit values. Class lists are typed values
//! ([`ClassList`](classify::classes::ClassList)): names, a classes file or a built-in list.
//!
//! The [`Classifier`](classify::Classifier) is `Send + Sync`: build it once, share it between
//! threads. Errors are values ([`Error`]); nothing prints.

#![warn(missing_docs)]

pub mod atomic;
pub mod attend;
pub mod classify;
pub mod cloud;
mod csv;
pub mod encode;
pub mod eval;
pub mod load;
pub mod npy;
pub mod project;
pub mod scene;
pub mod tune;

pub use cloud::{Bounds, Format, LengthMismatch, PointCloud, SourceMeta, UpAxis};
pub mod batch;
mod error;

pub use error::{chain_message, error_message, Error, Result};

use std::cell::Cell;

thread_local! {
    /// Set while [`contain_panics`] runs on this thread, so the CLI's panic hook stays quiet.
    static CONTAINING: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f`, turning a panic inside it (e.g. in a third-party decoder fed a malformed file) into
/// an error message instead of unwinding through the caller.
pub(crate) fn contain_panics<T>(f: impl FnOnce() -> T) -> std::result::Result<T, String> {
    let was = CONTAINING.with(|c| c.replace(true));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    CONTAINING.with(|c| c.set(was));
    result.map_err(|payload| {
        payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "panicked".into())
    })
}

/// Installs a panic hook for programs: silent for panics that calip3d contains and reports as
/// errors, one line without a backtrace for any other.
pub fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        if !CONTAINING.with(|c| c.get()) {
            eprintln!("internal error (a bug in calip3d, please report it): {info}");
        }
    }));
}
