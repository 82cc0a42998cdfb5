//! The objects file (`--objects FILE.jsonl|.csv`): one record per object, and for batches one
//! summary record per file.

use super::{Scene, SceneObject};
use serde_json::{json, Value};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// How object records are written, from the file's extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectsFormat {
    /// One JSON object per line.
    Jsonl,
    /// Comma-separated, with a header row; lists are joined with `;`.
    Csv,
}

impl ObjectsFormat {
    /// The format of `path`: `.jsonl`/`.ndjson` or `.csv`.
    pub fn from_path(path: &Path) -> std::io::Result<Self> {
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("jsonl" | "ndjson") => Ok(Self::Jsonl),
            Some("csv") => Ok(Self::Csv),
            _ => Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "an objects file must end in .jsonl or .csv",
            )),
        }
    }
}

/// The CSV form's header row, with its newline.
pub(crate) const CSV_HEADER_LINE: &str = "record,file,cluster_id,points,centroid_x,centroid_y,centroid_z,min_x,min_y,min_z,max_x,max_y,max_z,height,footprint_area,obb_x,obb_y,obb_z,obb_length,obb_width,obb_height,obb_yaw,class,probability,top,classes,logits,objects,unit,error\n";
/// Columns of the CSV form.
pub(crate) const CSV_HEADER: &str = CSV_HEADER_LINE.trim_ascii_end();

/// The JSON record of one object: `file`, `cluster_id`, `points`, `centroid`, `bbox {min,max}`
/// (file coordinates), `height` (its top above the ground model), `footprint_area`, `obb
/// {centre, size, yaw}`, `class`, `probability`, `top` (k entries), `classes`, `logits`.
pub fn object_json(file: &str, object: &SceneObject, top_k: usize) -> Value {
    let p = &object.prediction;
    let top: Vec<Value> = p
        .top(top_k)
        .into_iter()
        .map(|(class, probability)| json!({"class": class, "probability": probability}))
        .collect();
    let mut record = json!({
        "record": "object",
        "file": file,
        "cluster_id": object.cluster_id,
        "points": object.points,
        "centroid": object.centroid,
        "bbox": {"min": object.bounds.min, "max": object.bounds.max},
        "height": object.height,
        "footprint_area": object.footprint_area,
        "obb": object.obb,
        "class": object.class(),
        "probability": object.probability(),
        "top": top,
        "classes": &*p.classes,
        "logits": p.logits,
    });
    if let Some(stamp) = p.stamp {
        record["stamp"] = stamp.into();
    }
    record
}

/// The JSON summary of one file of a batch: what was found, or why it failed.
pub fn summary_json(file: &str, outcome: Result<(&Scene, usize), &str>) -> Value {
    match outcome {
        Ok((scene, points)) => {
            let (ground, noise, other) = scene.role_counts();
            json!({
                "record": "summary",
                "file": file,
                "ok": true,
                "points": points,
                "ground_points": ground,
                "noise_points": noise,
                "other_points": other,
                "objects": scene.objects.len(),
                "ground": scene.ground.name(),
                "ground_parameters": ground_parameters(&scene.ground),
                "min_height": scene.min_height,
                "unit": scene.unit,
                "cluster": scene.cluster,
                "timings_ms": scene.timings,
            })
        }
        Err(e) => json!({"record": "summary", "file": file, "ok": false, "error": e}),
    }
}

/// The parameters the ground method ran with, in the file's units.
fn ground_parameters(ground: &super::GroundMethod) -> Value {
    match ground {
        super::GroundMethod::Smrf(p) => json!(p),
        super::GroundMethod::Plane(p) => json!(p),
        _ => Value::Null,
    }
}

fn joined<T: ToString>(v: impl IntoIterator<Item = T>) -> String {
    v.into_iter()
        .map(|x| x.to_string())
        .collect::<Vec<_>>()
        .join(";")
}

fn object_csv(file: &str, o: &SceneObject, top_k: usize) -> String {
    let p = &o.prediction;
    let top = joined(p.top(top_k).into_iter().map(|(c, pr)| format!("{c}:{pr}")));
    let mut cols = vec![
        "object".to_string(),
        crate::csv::field(file),
        o.cluster_id.to_string(),
    ];
    cols.push(o.points.to_string());
    cols.extend(o.centroid.iter().map(|v| v.to_string()));
    cols.extend(o.bounds.min.iter().map(|v| v.to_string()));
    cols.extend(o.bounds.max.iter().map(|v| v.to_string()));
    cols.push(o.height.map(|h| h.to_string()).unwrap_or_default());
    cols.push(o.footprint_area.to_string());
    cols.extend(o.obb.centre.iter().map(|v| v.to_string()));
    cols.extend(o.obb.size.iter().map(|v| v.to_string()));
    cols.push(o.obb.yaw.to_string());
    cols.push(crate::csv::field(o.class()));
    cols.push(o.probability().to_string());
    cols.push(crate::csv::field(&top));
    cols.push(crate::csv::field(&joined(p.classes.iter())));
    cols.push(joined(p.logits.iter()));
    cols.push(String::new());
    cols.push(String::new());
    cols.push(String::new());
    cols.join(",")
}

fn summary_csv(file: &str, outcome: Result<(&Scene, usize), &str>) -> String {
    let names: Vec<&str> = CSV_HEADER.split(',').collect();
    let mut cols = vec![String::new(); names.len()];
    let mut set = |name: &str, value: String| {
        let k = names.iter().position(|n| *n == name).expect("a CSV column");
        cols[k] = value;
    };
    set("record", "summary".into());
    set("file", crate::csv::field(file));
    match outcome {
        Ok((scene, points)) => {
            set("points", points.to_string());
            set("objects", scene.objects.len().to_string());
            set(
                "unit",
                crate::csv::field(&format!("{} ({})", scene.unit.name, scene.unit.found)),
            );
        }
        Err(e) => set("error", crate::csv::field(e)),
    }
    cols.join(",")
}

/// One object's record in `format` (no newline).
pub fn object_line(
    format: ObjectsFormat,
    file: &str,
    object: &SceneObject,
    top_k: usize,
) -> String {
    match format {
        ObjectsFormat::Jsonl => object_json(file, object, top_k).to_string(),
        ObjectsFormat::Csv => object_csv(file, object, top_k),
    }
}

/// A batch file's records in `format`: one per object, then its summary (`outcome` is the scene
/// with the file's point count, or why the file failed).
pub fn file_lines(
    format: ObjectsFormat,
    file: &str,
    outcome: Result<(&Scene, usize), &str>,
    top_k: usize,
) -> Vec<String> {
    let mut lines = Vec::new();
    if let Ok((scene, _)) = outcome {
        lines.extend(
            scene
                .objects
                .iter()
                .map(|o| object_line(format, file, o, top_k)),
        );
    }
    lines.push(match format {
        ObjectsFormat::Jsonl => summary_json(file, outcome).to_string(),
        ObjectsFormat::Csv => summary_csv(file, outcome),
    });
    lines
}

/// Writes the object records of one scene to a new file atomically (a temporary file in the same
/// folder, renamed by [`ObjectsWriter::finish`]). Batches write theirs through
/// [`batch::ResultsFile`](crate::batch::ResultsFile) and its journal.
pub struct ObjectsWriter {
    format: ObjectsFormat,
    path: PathBuf,
    temporary: Option<PathBuf>,
    out: BufWriter<File>,
}

/// A temporary path beside `path` for an atomic write.
pub(crate) fn temporary_beside(path: &Path) -> PathBuf {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    path.with_file_name(format!(".{name}.{}.tmp", std::process::id()))
}

impl ObjectsWriter {
    /// A new objects file at `path`, written to a temporary file until [`Self::finish`].
    pub fn create(path: &Path) -> std::io::Result<Self> {
        let format = ObjectsFormat::from_path(path)?;
        let temporary = temporary_beside(path);
        let mut out = BufWriter::new(File::create(&temporary)?);
        if format == ObjectsFormat::Csv {
            writeln!(out, "{CSV_HEADER}")?;
        }
        Ok(ObjectsWriter {
            format,
            path: path.to_path_buf(),
            temporary: Some(temporary),
            out,
        })
    }

    /// The file the records end up in.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes the records of a scene's objects.
    pub fn write_objects(
        &mut self,
        file: &str,
        scene: &Scene,
        top_k: usize,
    ) -> std::io::Result<()> {
        for o in &scene.objects {
            writeln!(self.out, "{}", object_line(self.format, file, o, top_k))?;
        }
        Ok(())
    }

    /// Flushes, and for a new file renames the temporary file into place.
    pub fn finish(mut self) -> std::io::Result<()> {
        self.out.flush()?;
        self.out.get_ref().sync_all()?;
        if let Some(t) = self.temporary.take() {
            std::fs::rename(&t, &self.path)?;
        }
        Ok(())
    }
}

impl Drop for ObjectsWriter {
    fn drop(&mut self) {
        // A writer dropped before finish (an error on the way) leaves no half-written file.
        if let Some(t) = self.temporary.take() {
            let _ = std::fs::remove_file(t);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_rows_have_the_header_width_and_quoted_fields_read_back() {
        let n = CSV_HEADER.split(',').count();
        let row = summary_csv("a,b.las", Err("broken"));
        assert_eq!(row.matches(',').count() - 1, n - 1, "{row}"); // one comma inside quotes
    }
}
