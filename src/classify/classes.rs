//! Class lists: names with their prompts, from a file, a comma list or a built-in list.
//!
//! A classes file has one class per line; blank lines and `#` comments are ignored; a line
//! `name: prompt one | prompt two` gives that class its own prompts (`{}` stands for the name).
//!
//! ```
//! use calip3d::classify::classes::parse_classes;
//! let specs = parse_classes("chair\n# furniture\nnight_stand: a {} by a bed | a bedside table\n",
//!     "classes.txt", &["a depth map of a {}.".to_string()])?;
//! assert_eq!(specs[0].prompts, ["a depth map of a chair."]);
//! assert_eq!(specs[1].prompts, ["a night stand by a bed", "a bedside table"]);
//! # Ok::<(), calip3d::classify::classes::ClassesError>(())
//! ```

use crate::project::Projection;
use std::collections::HashSet;
use std::path::Path;

/// Built-in class lists, usable by name.
pub const BUILTIN: &[(&str, &str)] = &[
    (
        "modelnet40",
        include_str!("../../assets/classes/modelnet40.txt"),
    ),
    (
        "modelnet10",
        include_str!("../../assets/classes/modelnet10.txt"),
    ),
    (
        "scanobjectnn",
        include_str!("../../assets/classes/scanobjectnn.txt"),
    ),
];

/// One class: its name and the prompts whose text features are averaged into its feature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassSpec {
    /// The class name as given (`_` reads as a space in prompts).
    pub name: String,
    /// The prompts whose features are averaged.
    pub prompts: Vec<String>,
}

impl ClassSpec {
    /// Classes from names, each prompted with every template.
    pub fn from_names(names: &[&str], templates: &[&str]) -> Vec<ClassSpec> {
        names
            .iter()
            .map(|n| ClassSpec {
                name: n.to_string(),
                prompts: templates.iter().map(|t| fill(t, n)).collect(),
            })
            .collect()
    }
}

/// What is wrong with a class list; `source` is the file name or "--classes".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClassesError {
    #[error("{0}: classes file not found")]
    /// A classes file that does not exist.
    NotFound(String),
    #[error("{origin}: cannot read classes file: {message}")]
    /// A classes file that cannot be read.
    Unreadable {
        /// The file name.
        origin: String,
        /// Why.
        message: String,
    },
    #[error("{origin}: no classes")]
    /// No class at all.
    Empty {
        /// The file name, or `--classes`.
        origin: String,
    },
    #[error("{origin}:{line}: empty class name")]
    /// A blank class name.
    EmptyName {
        /// The file name, or `--classes`.
        origin: String,
        /// Line (or item) number, from 1.
        line: usize,
    },
    #[error("{origin}:{line}: duplicate class `{name}`")]
    /// The same class twice (case-insensitive).
    Duplicate {
        /// The file name, or `--classes`.
        origin: String,
        /// Line (or item) number, from 1.
        line: usize,
        /// The class name as given (`_` reads as a space in prompts).
        name: String,
    },
    #[error("{origin}:{line}: empty prompt for class `{name}`")]
    /// A class with an empty custom prompt.
    EmptyPrompt {
        /// The file name, or `--classes`.
        origin: String,
        /// Line (or item) number, from 1.
        line: usize,
        /// The class name as given (`_` reads as a space in prompts).
        name: String,
    },
    #[error("template `{0}` has no `{{}}` for the class name")]
    /// A template without `{}`.
    BadTemplate(String),
}

/// The default prompt templates of a projection (METHOD.md §2–§3); `{}` is the class name.
///
/// The realistic projection uses a fixed ensemble rather than per-class sentences chosen on a
/// test set, as PointCLIP V2 did.
pub fn default_templates(projection: Projection) -> Vec<String> {
    let t: &[&str] = match projection {
        Projection::PointClip => &["point cloud depth map of a {}."],
        Projection::Realistic => &[
            "a depth map of a {}.",
            "a grayscale rendering of a 3D model of a {}.",
            "point cloud depth map of a {}.",
        ],
    };
    t.iter().map(|s| s.to_string()).collect()
}

/// A template filled with a class name; `_` in names reads as a space.
fn fill(template: &str, name: &str) -> String {
    template.replace("{}", &name.replace('_', " "))
}

/// A class list as a typed value, what the library takes: names, a classes file, or a built-in
/// list. [`Self::specs`] turns it into classes with their prompts.
///
/// ```
/// use calip3d::classify::classes::ClassList;
/// let list = ClassList::from_names(["chair", "night_stand"]);
/// let specs = list.specs(&["a {}.".to_string()])?;
/// assert_eq!(specs[1].prompts, ["a night stand."]);
/// assert_eq!(ClassList::builtin("modelnet10").unwrap().specs(&["{}".into()])?.len(), 10);
/// # Ok::<(), calip3d::classify::classes::ClassesError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClassList {
    /// Class names, each prompted with every template.
    Names(Vec<String>),
    /// A classes file (one class per line, `name: prompt | prompt`, `#` comments).
    File(std::path::PathBuf),
    /// A built-in list ([`BUILTIN`]) by its name.
    Builtin(&'static str),
}

impl ClassList {
    /// Class names, each prompted with every template.
    pub fn from_names<S: AsRef<str>>(names: impl IntoIterator<Item = S>) -> Self {
        ClassList::Names(names.into_iter().map(|n| n.as_ref().to_string()).collect())
    }

    /// A classes file.
    pub fn from_file(path: impl Into<std::path::PathBuf>) -> Self {
        ClassList::File(path.into())
    }

    /// The built-in list of that name (case-insensitive): `modelnet40`, `modelnet10`,
    /// `scanobjectnn`.
    pub fn builtin(name: &str) -> Option<Self> {
        BUILTIN
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(n, _)| ClassList::Builtin(n))
    }

    /// The list that the text form of `--classes` (and of the Python package's `classes="…"`)
    /// names: an existing file, else a built-in list's name, else a comma list. Text that looks
    /// like a file (`.txt`, or a path with `/`) but does not exist is an error, not a class.
    pub fn from_arg(arg: &str) -> Result<Self, ClassesError> {
        if Path::new(arg).is_file() {
            return Ok(ClassList::File(arg.into()));
        }
        if let Some(list) = Self::builtin(arg) {
            return Ok(list);
        }
        if arg.ends_with(".txt") || arg.contains('/') || arg.contains(std::path::MAIN_SEPARATOR) {
            return Err(ClassesError::NotFound(arg.to_string()));
        }
        let names: Vec<&str> = arg.split(',').map(str::trim).collect();
        if names.iter().all(|n| n.is_empty()) {
            return Err(ClassesError::Empty {
                origin: "--classes".into(),
            });
        }
        Ok(Self::from_names(names))
    }

    /// The classes with their prompts: each template filled with the class name, unless a file
    /// gives the class its own prompts.
    pub fn specs(&self, templates: &[String]) -> Result<Vec<ClassSpec>, ClassesError> {
        if let Some(t) = templates.iter().find(|t| !t.contains("{}")) {
            return Err(ClassesError::BadTemplate(t.clone()));
        }
        match self {
            ClassList::Names(names) => {
                parse_classes_strict(&names.join("\n"), "--classes", templates)
            }
            ClassList::File(path) => {
                let origin = path.display().to_string();
                let text = std::fs::read_to_string(path).map_err(|e| match e.kind() {
                    std::io::ErrorKind::NotFound => ClassesError::NotFound(origin.clone()),
                    _ => ClassesError::Unreadable {
                        origin: origin.clone(),
                        message: e.to_string(),
                    },
                })?;
                parse_classes(&text, &origin, templates)
            }
            ClassList::Builtin(name) => {
                let (_, list) = BUILTIN
                    .iter()
                    .find(|(n, _)| n == name)
                    .expect("built from BUILTIN");
                parse_classes(list, name, templates)
            }
        }
    }
}

/// Parses a classes file's text; `source` names it in errors.
pub fn parse_classes(
    text: &str,
    source: &str,
    templates: &[String],
) -> Result<Vec<ClassSpec>, ClassesError> {
    parse(text, source, templates, false)
}

/// Like [`parse_classes`], but blank entries are errors (a comma list "a,,b").
fn parse_classes_strict(
    text: &str,
    source: &str,
    templates: &[String],
) -> Result<Vec<ClassSpec>, ClassesError> {
    parse(text, source, templates, true)
}

fn parse(
    text: &str,
    source: &str,
    templates: &[String],
    strict: bool,
) -> Result<Vec<ClassSpec>, ClassesError> {
    let mut specs = Vec::new();
    let mut seen = HashSet::new();
    for (i, raw) in text.lines().enumerate() {
        let line_no = i + 1;
        let line = raw.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            if strict {
                return Err(ClassesError::EmptyName {
                    origin: source.into(),
                    line: line_no,
                });
            }
            continue;
        }
        let (name, prompts) = match line.split_once(':') {
            Some((name, prompts)) => {
                let name = name.trim();
                let prompts: Vec<String> =
                    prompts.split('|').map(|p| fill(p.trim(), name)).collect();
                if prompts.iter().any(|p| p.trim().is_empty()) {
                    return Err(ClassesError::EmptyPrompt {
                        origin: source.into(),
                        line: line_no,
                        name: name.into(),
                    });
                }
                (name, prompts)
            }
            None => (line, templates.iter().map(|t| fill(t, line)).collect()),
        };
        if name.is_empty() {
            return Err(ClassesError::EmptyName {
                origin: source.into(),
                line: line_no,
            });
        }
        if !seen.insert(name.to_lowercase()) {
            return Err(ClassesError::Duplicate {
                origin: source.into(),
                line: line_no,
                name: name.into(),
            });
        }
        specs.push(ClassSpec {
            name: name.into(),
            prompts,
        });
    }
    if specs.is_empty() {
        return Err(ClassesError::Empty {
            origin: source.into(),
        });
    }
    Ok(specs)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `--classes ARG` names.
    fn resolve(arg: &str, templates: &[String]) -> Result<Vec<ClassSpec>, ClassesError> {
        ClassList::from_arg(arg)?.specs(templates)
    }

    fn t() -> Vec<String> {
        vec!["a {}.".to_string(), "the {} model".to_string()]
    }

    #[test]
    fn files_have_comments_blank_lines_and_own_prompts() {
        let text =
            "# my classes\n\nchair\nflower_pot   # a comment\nlamp: a {} at night | a glowing {}\n";
        let s = parse_classes(text, "c.txt", &t()).unwrap();
        let names: Vec<&str> = s.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["chair", "flower_pot", "lamp"]);
        assert_eq!(s[0].prompts, ["a chair.", "the chair model"]);
        assert_eq!(s[1].prompts, ["a flower pot.", "the flower pot model"]);
        assert_eq!(s[2].prompts, ["a lamp at night", "a glowing lamp"]);
    }

    #[test]
    fn errors_name_the_source_and_line() {
        let e = parse_classes("chair\ntable\nChair\n", "c.txt", &t()).unwrap_err();
        assert_eq!(e.to_string(), "c.txt:3: duplicate class `Chair`");
        let e = parse_classes(": a thing\n", "c.txt", &t()).unwrap_err();
        assert_eq!(e.to_string(), "c.txt:1: empty class name");
        let e = parse_classes("lamp: a {} | \n", "c.txt", &t()).unwrap_err();
        assert_eq!(e.to_string(), "c.txt:1: empty prompt for class `lamp`");
        let e = parse_classes("# nothing\n\n", "c.txt", &t()).unwrap_err();
        assert_eq!(e.to_string(), "c.txt: no classes");
        let e = resolve("chair,,lamp", &t()).unwrap_err();
        assert_eq!(e.to_string(), "--classes:2: empty class name");
        let e = resolve("missing/classes.txt", &t()).unwrap_err();
        assert_eq!(e.to_string(), "missing/classes.txt: classes file not found");
        let e = resolve("chair", &["no placeholder".to_string()]).unwrap_err();
        assert!(e.to_string().contains("no placeholder"));
    }

    #[test]
    fn comma_lists_builtins_and_files_resolve() {
        let s = resolve(" chair , table ", &t()).unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(s[1].prompts[0], "a table.");
        assert_eq!(resolve("modelnet40", &t()).unwrap().len(), 40);
        assert_eq!(resolve("ModelNet10", &t()).unwrap().len(), 10);
        assert_eq!(resolve("scanobjectnn", &t()).unwrap().len(), 15);
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("mine.txt");
        std::fs::write(&f, "cup\nbowl\n").unwrap();
        assert_eq!(resolve(f.to_str().unwrap(), &t()).unwrap()[1].name, "bowl");
    }

    #[test]
    fn default_templates_follow_the_method() {
        assert_eq!(
            default_templates(Projection::PointClip),
            ["point cloud depth map of a {}."]
        );
        let s = ClassSpec::from_names(&["night_stand"], &["point cloud depth map of a {}."]);
        assert_eq!(s[0].prompts, ["point cloud depth map of a night stand."]);
        assert_eq!(default_templates(Projection::Realistic).len(), 3);
    }
}
