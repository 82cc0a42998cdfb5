//! Classification: class lists, the [`Classifier`] pipeline, predictions and tuning profiles.

pub mod classes;
mod classifier;
mod prediction;
pub mod profile;
mod settings;
pub(crate) mod stream;

pub use classes::ClassList;
pub use classifier::{
    ClassSet, Classifier, ClassifierBuilder, ProjectedClouds, Scoring, ViewFeatures, DEFAULT_MODEL,
};
pub use prediction::{
    argmax, softmax, Devices, Prediction, PredictionRecord, RankedClass, StageDevice, Timings,
    DEFAULT_JOBS, DEFAULT_TOP_K,
};
pub use profile::Profile;
pub use settings::Settings;
pub use stream::StreamOptions;
