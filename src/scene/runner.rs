//! Scenes over many files (`calip3d batch --scene`): the next file is read while the current one
//! is split and classified, and each file's outcome goes to a callback as soon as it is known.

use super::{Scene, SceneOptions};
use crate::classify::{ClassSet, Classifier};
use crate::cloud::PointCloud;
use crate::error::{Error, Result};
use crate::load::{load, LoadOptions};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::mpsc::sync_channel;

/// A contained panic as an error that names the file.
fn contained<T>(path: &Path, what: &str, r: std::thread::Result<Result<T>>) -> Result<T> {
    r.unwrap_or_else(|_| {
        Err(Error::Internal(format!(
            "{}: internal error while {what}",
            path.display()
        )))
    })
}

/// One file's scene, with the cloud it was computed on (to write labels back, plot, …).
pub struct SceneFileOutcome {
    /// The cloud, every point of the file.
    pub cloud: PointCloud,
    /// Its ground, objects and labels.
    pub scene: Scene,
}

/// Runs a scene over each of `files` (read with every point: `load.max_points` is ignored),
/// handing each file's outcome to `sink` in input order. A bad file is an `Err` outcome and
/// never stops the run; only an error from `sink` (e.g. the results file cannot be written) does.
/// Returns the number of files that succeeded and failed.
///
/// ```no_run
/// # use calip3d::{classify::{Classifier, classes}, load::LoadOptions, scene::{run_scene_batch, SceneOptions}};
/// # let classifier = Classifier::builder().build()?;
/// # let classes = classifier.class_set(classes::resolve("car,tree", &["a {}.".to_string()])?)?;
/// let files = vec!["a.laz".into(), "b.laz".into()];
/// run_scene_batch(&classifier, &classes, &files, &LoadOptions::default(), &SceneOptions::default(),
///     |file, outcome| {
///         match outcome {
///             Ok(o) => println!("{}: {} objects", file.display(), o.scene.objects.len()),
///             Err(e) => eprintln!("{e}"),
///         }
///         Ok(())
///     })?;
/// # Ok::<(), calip3d::Error>(())
/// ```
pub fn run_scene_batch(
    classifier: &Classifier,
    classes: &ClassSet,
    files: &[PathBuf],
    load_options: &LoadOptions,
    options: &SceneOptions,
    mut sink: impl FnMut(&Path, Result<SceneFileOutcome>) -> Result<()>,
) -> Result<(usize, usize)> {
    let load_options = LoadOptions {
        max_points: 0,
        ..load_options.clone()
    };
    let (tx, rx) = sync_channel::<Result<PointCloud>>(1);
    let (mut ok, mut failed) = (0, 0);
    std::thread::scope(|scope| -> Result<()> {
        // Owned here, so an early return drops it and the reading thread stops.
        let rx = rx;
        let load_options = &load_options;
        scope.spawn(move || {
            for path in files {
                let cloud = catch_unwind(AssertUnwindSafe(|| {
                    load(path, load_options).map_err(Error::from)
                }));
                if tx.send(contained(path, "reading", cloud)).is_err() {
                    break;
                }
            }
        });
        for path in files {
            let Ok(cloud) = rx.recv() else { break };
            let outcome = cloud.and_then(|cloud| {
                let scene = catch_unwind(AssertUnwindSafe(|| {
                    classifier.classify_scene(&cloud, classes, options)
                }));
                contained(path, "classifying the scene", scene)
                    .map(|scene| SceneFileOutcome { cloud, scene })
            });
            if outcome.is_ok() {
                ok += 1;
            } else {
                failed += 1;
            }
            sink(path, outcome)?;
        }
        Ok(())
    })?;
    Ok((ok, failed))
}
