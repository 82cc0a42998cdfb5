//! [`Settings`]: the one settings type of the pipeline. The CLI's flags, [`ClassifierBuilder`],
//! the Python package's keywords and the Ray runner's arguments all convert into it, and
//! [`Classifier::new`] is the one place that reads a profile and an adapter, refuses those chosen
//! on the test split, and merges in one order: **defaults < profile < explicit values**.
//!
//! ```no_run
//! use calip3d::classify::{Classifier, Settings};
//! let mut settings = Settings::default();
//! settings.model = Some("path/to/clip-vit-base-patch32".into());
//! settings.beta2 = Some(0.9); // overrides the profile's β2, if a profile is given
//! settings.profile = Some("profile.json".into());
//! let classifier = Classifier::new(&settings)?;
//! # Ok::<(), calip3d::Error>(())
//! ```

use super::profile::{Profile, TEST_SEARCH_STAMP};
use super::{Classifier, StreamOptions};
use crate::attend::{CalipParams, FewShotAdapter};
use crate::cloud::{Format, UpAxis};
use crate::encode::Precision;
use crate::error::{Error, Result};
use crate::load::LoadOptions;
use crate::project::{DeviceChoice, Projection, ViewSet};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Everything that configures a [`Classifier`] and the streams it runs. `None` (or `false`)
/// means "not given": the profile's value, else the default, is used. Serialised, it is the
/// JSON form of the same flags (`{"beta2": 0.9, "projection": "pointclip"}`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct Settings {
    /// CLIP model: a local folder in the Hugging Face layout or a Hub repo id
    /// (default [`super::DEFAULT_MODEL`]).
    pub model: Option<String>,
    /// Projection (default realistic, PointCLIP V2's 10 views).
    #[serde(with = "as_text")]
    pub projection: Option<Projection>,
    /// Views to render instead of the projection's preset.
    #[serde(skip)]
    pub views: Option<ViewSet>,
    /// Where to project (default auto).
    #[serde(with = "as_text")]
    pub device: Option<DeviceChoice>,
    /// The vision tower's arithmetic (default f32).
    #[serde(with = "as_text")]
    pub precision: Option<Precision>,
    /// CALIP's temperature, α_s = α_t.
    pub alpha: Option<f32>,
    /// Weight of the visually guided text term.
    pub beta2: Option<f32>,
    /// Weight of the text-aware visual term.
    pub beta3: Option<f32>,
    /// Plain CLIP: β2 = β3 = 0 (an explicit β2 or β3 is an error with it).
    pub baseline: bool,
    /// Per-view weights of the logit average (default all 1).
    pub view_weights: Option<Vec<f32>>,
    /// Prompt templates with `{}` for the class name (default: the profile's, else the
    /// projection's).
    pub templates: Option<Vec<String>>,
    /// CLIP's mean/std normalisation of the depth images (off, as the originals).
    pub normalize_input: bool,
    /// Keep each view's logits in the predictions.
    pub keep_view_logits: bool,
    /// Point budget of a cloud to classify (default 1024; 0 keeps all).
    pub max_points: Option<usize>,
    /// Up axis of the inputs (default: the format's).
    pub up_axis: Option<UpAxis>,
    /// Read every input as this format instead of detecting it.
    pub format: Option<Format>,
    /// A profile from `calip3d tune`.
    pub profile: Option<PathBuf>,
    /// A few-shot adapter from `calip3d fit`.
    pub adapter: Option<PathBuf>,
    /// Use a profile or adapter chosen on the test split; every output is then stamped.
    pub allow_test_search: bool,
    /// Worker threads and encoder batch of batch, eval and tune.
    pub stream: StreamOptions,
}

impl Settings {
    /// CALIP's α and β: the defaults, then the profile's, then the explicit values.
    pub fn params(&self, profile: Option<&Profile>) -> Result<CalipParams> {
        self.params_over(profile.map(Profile::params).unwrap_or_default())
    }

    /// `base` with the explicit values of these settings applied.
    pub(crate) fn params_over(&self, base: CalipParams) -> Result<CalipParams> {
        if self.baseline && (self.beta2.is_some() || self.beta3.is_some()) {
            return Err(Error::InvalidSetting(
                "the baseline sets β2 = β3 = 0; do not give β2 or β3 with it".into(),
            ));
        }
        let mut p = base;
        if self.baseline {
            p.beta2 = 0.0;
            p.beta3 = 0.0;
        }
        if let Some(a) = self.alpha {
            p.alpha_s = a;
            p.alpha_t = a;
        }
        if let Some(b) = self.beta2 {
            p.beta2 = b;
        }
        if let Some(b) = self.beta3 {
            p.beta3 = b;
        }
        Ok(p)
    }

    /// The per-view weights: explicit, else the profile's, else none (all 1).
    pub fn view_weights(&self, profile: Option<&Profile>) -> Option<Vec<f32>> {
        self.view_weights
            .clone()
            .or_else(|| profile.map(|p| p.settings.view_weights.clone()))
    }

    /// The prompt templates: explicit, else the profile's, else the projection's defaults.
    pub fn templates(&self, profile: Option<&Profile>) -> Vec<String> {
        self.templates
            .clone()
            .or_else(|| profile.map(|p| p.settings.templates.clone()))
            .unwrap_or_else(|| super::classes::default_templates(self.projection()))
    }

    /// The projection (default realistic).
    pub fn projection(&self) -> Projection {
        self.projection.unwrap_or_default()
    }

    /// How files are read.
    pub fn load_options(&self) -> LoadOptions {
        let defaults = LoadOptions::default();
        LoadOptions {
            max_points: self.max_points.unwrap_or(defaults.max_points),
            up_axis: self.up_axis,
            format: self.format,
            ..defaults
        }
    }

    /// Reads the profile named by [`Self::profile`]; one chosen on the test split is refused
    /// unless [`Self::allow_test_search`], and said at warn level when allowed.
    pub fn load_profile(&self) -> Result<Option<Profile>> {
        let Some(path) = &self.profile else {
            return Ok(None);
        };
        let profile = Profile::load(path)?;
        if profile.search_on_test {
            if !self.allow_test_search {
                return Err(Error::TestSearch {
                    path: path.clone(),
                    what: "profile was searched",
                });
            }
            log::warn!("{}: {TEST_SEARCH_STAMP}", path.display());
        }
        Ok(Some(profile))
    }

    /// Reads the adapter named by [`Self::adapter`], with the same rule as [`Self::load_profile`].
    pub fn load_adapter(&self) -> Result<Option<FewShotAdapter>> {
        let Some(path) = &self.adapter else {
            return Ok(None);
        };
        let adapter = FewShotAdapter::load(path)?;
        if adapter.meta.search_on_test {
            if !self.allow_test_search {
                return Err(Error::TestSearch {
                    path: path.clone(),
                    what: "adapter was fitted",
                });
            }
            log::warn!("{}: {TEST_SEARCH_STAMP}", path.display());
        }
        Ok(Some(adapter))
    }
}

impl Classifier {
    /// Builds a classifier from [`Settings`]: reads the profile and adapter they name (refusing
    /// those chosen on the test split unless allowed), merges defaults < profile < explicit
    /// values, loads the model and sets up the projection.
    pub fn new(settings: &Settings) -> Result<Classifier> {
        let profile = settings.load_profile()?;
        let adapter = settings.load_adapter()?;
        super::ClassifierBuilder::from_settings(settings.clone(), profile, adapter).build()
    }
}

/// Serde for `Option<T>` through `T`'s text form (`Display` / `FromStr`), as on the command line.
mod as_text {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::fmt::Display;
    use std::str::FromStr;

    pub fn serialize<T: Display, S: Serializer>(v: &Option<T>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(v) => s.collect_str(v),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, T, D>(d: D) -> Result<Option<T>, D::Error>
    where
        T: FromStr,
        T::Err: Display,
        D: Deserializer<'de>,
    {
        Option::<String>::deserialize(d)?
            .map(|s| s.parse().map_err(serde::de::Error::custom))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_values_override_the_profile_which_overrides_the_defaults() {
        let text = r#"{"alpha": 0.7, "view_weights": [1, 2]}"#;
        let explicit: Settings = serde_json::from_str(text).unwrap();
        let none = Settings::default();
        assert_eq!(none.params(None).unwrap(), CalipParams::default());
        let p = explicit.params(None).unwrap();
        assert_eq!((p.alpha_s, p.alpha_t), (0.7, 0.7));
        assert_eq!(p.beta2, CalipParams::default().beta2);
        assert_eq!(explicit.view_weights(None), Some(vec![1.0, 2.0]));
        let baseline = Settings {
            baseline: true,
            ..Default::default()
        };
        let b = baseline.params(None).unwrap();
        assert_eq!((b.beta2, b.beta3), (0.0, 0.0));
        let both = Settings {
            baseline: true,
            beta2: Some(1.0),
            ..Default::default()
        };
        assert!(both
            .params(None)
            .unwrap_err()
            .to_string()
            .contains("baseline"));
    }

    #[test]
    fn settings_round_trip_as_json_and_refuse_unknown_keys() {
        let s = Settings {
            projection: Some(Projection::PointClip),
            device: Some(DeviceChoice::Cpu),
            precision: Some(Precision::Int8),
            up_axis: Some(UpAxis::Z),
            beta3: Some(0.25),
            templates: Some(vec!["a {}.".into()]),
            ..Default::default()
        };
        let text = serde_json::to_string(&s).unwrap();
        assert!(text.contains(r#""projection":"pointclip""#), "{text}");
        assert!(text.contains(r#""precision":"int8""#), "{text}");
        assert_eq!(serde_json::from_str::<Settings>(&text).unwrap(), s);
        let err = serde_json::from_str::<Settings>(r#"{"beta4": 1}"#).unwrap_err();
        assert!(err.to_string().contains("beta4"), "{err}");
        let err = serde_json::from_str::<Settings>(r#"{"device": "tpu"}"#).unwrap_err();
        assert!(err.to_string().contains("unknown device"), "{err}");
    }
}
