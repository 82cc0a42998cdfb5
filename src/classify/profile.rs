//! [`Profile`]: settings chosen by `calip3d tune` on a validation subset of a training split, with
//! where they were chosen, what they were made for and how much they helped.
//!
//! A profile is applied by [`ClassifierBuilder::profile`](super::ClassifierBuilder::profile);
//! settings given explicitly afterwards override it.

use crate::attend::CalipParams;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Format tag of profile files.
pub const PROFILE_FORMAT: &str = "calip3d-profile/1";

/// The settings a profile applies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProfileSettings {
    /// CALIP's temperature, α_s = α_t.
    pub alpha: f32,
    /// Weight of the visually guided text term.
    pub beta2: f32,
    /// Weight of the text-aware visual term.
    pub beta3: f32,
    /// Per-view weights of the logit average.
    pub view_weights: Vec<f32>,
    /// Prompt templates (`{}` is the class name).
    pub templates: Vec<String>,
}

/// What a profile was made for: applying it elsewhere is an error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MadeFor {
    /// The CLIP model's identity (`Classifier::model_id`).
    pub model: String,
    /// The projection.
    pub projection: String,
    /// Views per cloud.
    pub views: usize,
}

/// Where a profile's settings were searched.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchedOn {
    /// The dataset (its folder).
    pub dataset: String,
    /// The split the validation subset was carved from ("train"; "test" only with
    /// `--search-on-test`).
    pub split: String,
    /// Fraction of each class of the split in the validation subset.
    pub val_fraction: f64,
    /// Seed of the stratified draw.
    pub seed: u64,
    /// Items in the split.
    pub split_size: usize,
    /// Items in the validation subset (the only ones scored).
    pub validation_size: usize,
    /// The classes the settings were searched with.
    pub classes: Vec<String>,
}

/// Top-1 and mean class accuracy on the validation subset.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Accuracy {
    /// Fraction predicted right.
    pub top1: f64,
    /// Mean of per-class accuracies.
    pub mean_class: f64,
}

/// Validation accuracy with calip3d's defaults and with the profile.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ValidationAccuracy {
    /// With the defaults (CALIP's published β, uniform weights, the default templates).
    pub before: Accuracy,
    /// With the profile's settings.
    pub after: Accuracy,
}

/// Settings searched by `calip3d tune`, with their provenance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    /// [`PROFILE_FORMAT`].
    pub format: String,
    /// True when the settings were searched on the test split (`--search-on-test`): results
    /// made with this profile are not a fair zero-shot measurement.
    pub search_on_test: bool,
    /// The settings.
    pub settings: ProfileSettings,
    /// The model and projection the settings were searched for.
    pub made_for: MadeFor,
    /// Where they were searched.
    pub searched_on: SearchedOn,
    /// How much they helped there.
    pub validation: ValidationAccuracy,
}

/// Why a profile cannot be read or used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProfileError {
    /// The file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a valid profile.
    #[error("{path}: not a calip3d profile: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The profile was made for another model, projection or view set.
    #[error("profile was made for {what} `{made_for}`, not `{used_with}`")]
    MadeForOther {
        /// "model", "projection" or "views".
        what: &'static str,
        /// What the profile names.
        made_for: String,
        /// What it is used with.
        used_with: String,
    },
    /// A class that the profile was not searched with.
    #[error(
        "class `{class}` is not one of the {count} classes the profile was searched with ({known})"
    )]
    UnknownClass {
        /// The class.
        class: String,
        /// How many classes the profile has.
        count: usize,
        /// Its classes, comma separated.
        known: String,
    },
}

impl Profile {
    /// CALIP's parameters with the profile's α and β (β1 = 1).
    pub fn params(&self) -> CalipParams {
        CalipParams {
            alpha_s: self.settings.alpha,
            alpha_t: self.settings.alpha,
            beta2: self.settings.beta2,
            beta3: self.settings.beta3,
            ..CalipParams::default()
        }
    }

    /// Checks the values a file could get wrong: finite, in range, templates with `{}`.
    pub fn validate(&self) -> Result<(), String> {
        if self.format != PROFILE_FORMAT {
            return Err(format!(
                "format `{}`, expected `{PROFILE_FORMAT}`",
                self.format
            ));
        }
        let s = &self.settings;
        if !(s.alpha.is_finite() && s.alpha > 0.0) {
            return Err(format!("alpha {} is not a positive number", s.alpha));
        }
        if !(s.beta2.is_finite() && s.beta3.is_finite()) {
            return Err("beta2 and beta3 must be finite".into());
        }
        if s.view_weights.len() != self.made_for.views
            || s.view_weights.iter().any(|w| !w.is_finite() || *w < 0.0)
            || s.view_weights.iter().sum::<f32>() <= 0.0
        {
            return Err(format!(
                "view weights {:?} are not {} finite, non-negative weights, not all zero",
                s.view_weights, self.made_for.views
            ));
        }
        if s.templates.is_empty() {
            return Err("no templates".into());
        }
        if let Some(t) = s.templates.iter().find(|t| !t.contains("{}")) {
            return Err(format!("template `{t}` has no `{{}}` for the class name"));
        }
        if self.searched_on.classes.is_empty() {
            return Err("no classes".into());
        }
        Ok(())
    }

    /// Reads and validates a profile.
    pub fn load(path: &Path) -> Result<Self, ProfileError> {
        let invalid = |message: String| ProfileError::Invalid {
            path: path.to_path_buf(),
            message,
        };
        let text = std::fs::read_to_string(path).map_err(|source| ProfileError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let profile: Profile = serde_json::from_str(&text).map_err(|e| invalid(e.to_string()))?;
        profile.validate().map_err(invalid)?;
        Ok(profile)
    }

    /// Writes the profile as pretty JSON, atomically.
    pub fn save(&self, path: &Path) -> Result<(), ProfileError> {
        let mut text = serde_json::to_string_pretty(self).map_err(|e| ProfileError::Invalid {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        text.push('\n');
        crate::atomic::write(path, text.as_bytes()).map_err(|source| ProfileError::Io {
            path: path.to_path_buf(),
            source,
        })
    }

    /// Checks that the profile was made for this model, projection and number of views.
    pub fn check_made_for(
        &self,
        model: &str,
        projection: &str,
        views: usize,
    ) -> Result<(), ProfileError> {
        let m = &self.made_for;
        let pairs: [(&'static str, String, String); 3] = [
            ("model", m.model.clone(), model.to_string()),
            ("projection", m.projection.clone(), projection.to_string()),
            ("views", m.views.to_string(), views.to_string()),
        ];
        for (what, made_for, used_with) in pairs {
            if made_for != used_with {
                return Err(ProfileError::MadeForOther {
                    what,
                    made_for,
                    used_with,
                });
            }
        }
        Ok(())
    }

    /// Checks that every class is one the profile was searched with (a subset is fine).
    pub fn check_classes(&self, classes: &[String]) -> Result<(), ProfileError> {
        let known = &self.searched_on.classes;
        let key = |c: &str| c.replace('_', " ").to_lowercase();
        match classes
            .iter()
            .find(|c| !known.iter().any(|k| key(k) == key(c)))
        {
            Some(class) => Err(ProfileError::UnknownClass {
                class: class.clone(),
                count: known.len(),
                known: known.join(", "),
            }),
            None => Ok(()),
        }
    }

    /// The stamp of outputs made with a profile searched on the test set, or `None`.
    pub fn stamp(&self) -> Option<&'static str> {
        self.search_on_test.then_some(TEST_SEARCH_STAMP)
    }
}

/// The stamp on every output made with settings searched on the test split.
pub const TEST_SEARCH_STAMP: &str =
    "SEARCHED ON THE TEST SET (--search-on-test): not a fair zero-shot result";
