//! HDF5 files as the benchmark datasets store them (ModelNet40 `ply_hdf5_2048`, ScanObjectNN):
//! numeric arrays read by rows of their first dimension, through the pure-Rust `hdf5-reader`
//! (chunked, deflate). Every size a file states is checked against what the file can hold before
//! anything is allocated for it.
//!
//! ```no_run
//! use calip3d::load::hdf5::H5File;
//! let file = H5File::open("ply_data_test0.h5".as_ref())?;
//! for array in file.arrays()? {
//!     println!("{} {:?} {}", array.name, array.shape, array.dtype);
//! }
//! let first_two_shapes: Vec<f32> = file.read_f32("data", 0..2)?;
//! # Ok::<(), calip3d::load::LoadError>(())
//! ```

use super::{LoadError, LoadErrorKind};
use hdf5_reader::{Datatype, Hdf5File, OpenOptions, SliceInfo, SliceInfoElem};
use std::ops::Range;
use std::path::{Path, PathBuf};

/// The HDF5 signature at the start of a file without a user block.
const SIGNATURE: &[u8; 8] = b"\x89HDF\r\n\x1a\n";

/// Deflate's largest compression ratio (about 1032:1): a compressed array cannot decode to more
/// than this many times the bytes of the file that holds it.
const MAX_DEFLATE_RATIO: u64 = 1032;

/// Decompressed chunks kept per open file. The datasets' chunks are a few kB to a MB; a small
/// cache serves consecutive row reads without holding much per worker.
const CHUNK_CACHE_BYTES: usize = 8 << 20;

/// The element type of an HDF5 array.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ElementType {
    /// IEEE float of this many bits.
    Float(u8),
    /// Integer of this many bits.
    Int {
        /// Bits.
        bits: u8,
        /// Signed or not.
        signed: bool,
    },
    /// Strings, compounds and the other non-numeric types.
    Other(&'static str),
}

impl std::fmt::Display for ElementType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ElementType::Float(bits) => write!(f, "float{bits}"),
            ElementType::Int { bits, signed: true } => write!(f, "int{bits}"),
            ElementType::Int {
                bits,
                signed: false,
            } => write!(f, "uint{bits}"),
            ElementType::Other(name) => f.write_str(name),
        }
    }
}

impl ElementType {
    fn of(dtype: &Datatype) -> Self {
        match dtype {
            Datatype::FloatingPoint { size, .. } => ElementType::Float(size.saturating_mul(8)),
            Datatype::FixedPoint { size, signed, .. } => ElementType::Int {
                bits: size.saturating_mul(8),
                signed: *signed,
            },
            Datatype::String { .. } => ElementType::Other("string"),
            Datatype::Compound { .. } => ElementType::Other("compound"),
            Datatype::Array { .. } => ElementType::Other("array"),
            Datatype::Enum { .. } => ElementType::Other("enum"),
            Datatype::VarLen { .. } => ElementType::Other("variable-length"),
            Datatype::Opaque { .. } => ElementType::Other("opaque"),
            Datatype::Reference { .. } => ElementType::Other("reference"),
            Datatype::Bitfield { .. } => ElementType::Other("bitfield"),
        }
    }

    /// Bytes per element, for the numeric types.
    fn bytes(self) -> u64 {
        match self {
            ElementType::Float(bits) | ElementType::Int { bits, .. } => u64::from(bits / 8),
            ElementType::Other(_) => 1,
        }
    }
}

/// One array (HDF5 dataset) of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct H5Array {
    /// Its path in the file, without the leading `/` for arrays at the root (`data`, `label`).
    pub name: String,
    /// Its dimensions, as the file states them.
    pub shape: Vec<u64>,
    /// Its element type.
    pub dtype: ElementType,
    /// Rows of the first dimension per chunk, for chunked arrays: reading whole chunks avoids
    /// decompressing one twice.
    pub chunk_rows: Option<u64>,
}

impl H5Array {
    /// Elements in one row of the first dimension (the product of the other dimensions).
    pub fn row_len(&self) -> u64 {
        self.shape
            .iter()
            .skip(1)
            .fold(1u64, |a, &d| a.saturating_mul(d))
    }
    /// Rows of the first dimension (0 for a scalar).
    pub fn rows(&self) -> u64 {
        self.shape.first().copied().unwrap_or(0)
    }
}

/// An open HDF5 file.
pub struct H5File {
    path: PathBuf,
    file: Hdf5File,
    len: u64,
}

impl H5File {
    /// Opens `path`; a file that is not HDF5, or whose superblock is broken, is an error naming it.
    pub fn open(path: &Path) -> Result<Self, LoadError> {
        let err = |kind| LoadError::new(path, kind);
        let len = std::fs::metadata(path)
            .map_err(|e| err(LoadErrorKind::io(e)))?
            .len();
        if len == 0 {
            return Err(err(LoadErrorKind::EmptyFile));
        }
        let options = OpenOptions::default().with_chunk_cache_bytes(CHUNK_CACHE_BYTES);
        let opened = crate::contain_panics(|| Hdf5File::open_with_options(path, options))
            .map_err(|m| err(LoadErrorKind::Decoder(m)))?;
        match opened {
            Ok(file) => Ok(H5File {
                path: path.to_path_buf(),
                file,
                len,
            }),
            Err(e) if is_hdf5(path) => Err(err(LoadErrorKind::BadData(format!("HDF5: {e}")))),
            Err(_) => Err(err(LoadErrorKind::NotFormat("HDF5"))),
        }
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn error(&self, message: String) -> LoadError {
        LoadError::new(&self.path, LoadErrorKind::BadData(message))
    }

    /// Every array of the file, groups walked depth first, in the file's order.
    pub fn arrays(&self) -> Result<Vec<H5Array>, LoadError> {
        let root = self
            .file
            .root_group()
            .map_err(|e| self.error(format!("HDF5 root group: {e}")))?;
        let mut out = Vec::new();
        // (group, its path prefix, depth): bounded depth, in case of a cyclic group structure.
        let mut stack = vec![(root, String::new(), 0usize)];
        while let Some((group, prefix, depth)) = stack.pop() {
            let (groups, datasets) = crate::contain_panics(|| group.members())
                .map_err(|m| LoadError::new(&self.path, LoadErrorKind::Decoder(m)))?
                .map_err(|e| self.error(format!("HDF5 group `/{prefix}`: {e}")))?;
            for d in &datasets {
                out.push(describe(d, &prefix));
            }
            if depth < 16 {
                for g in groups.into_iter().rev() {
                    let name = format!("{prefix}{}/", g.name().trim_start_matches('/'));
                    stack.push((g, name, depth + 1));
                }
            }
        }
        Ok(out)
    }

    /// The array `name`; a missing one is an error that lists those the file has.
    pub fn array(&self, name: &str) -> Result<H5Array, LoadError> {
        match self.dataset(name)? {
            Ok(d) => Ok(describe(&d, "")),
            Err(e) => {
                let names: Vec<String> = self.arrays()?.into_iter().map(|a| a.name).collect();
                if names.iter().any(|n| n == name) {
                    return Err(self.error(format!("array `{name}`: {e}")));
                }
                Err(self.error(format!(
                    "no array `{name}` (the file has: {})",
                    if names.is_empty() {
                        "none".to_string()
                    } else {
                        names.join(", ")
                    }
                )))
            }
        }
    }

    /// Opens an array, a panic of the decoder contained as an error.
    fn dataset(
        &self,
        name: &str,
    ) -> Result<hdf5_reader::error::Result<hdf5_reader::Dataset>, LoadError> {
        crate::contain_panics(|| self.file.dataset(&format!("/{name}")))
            .map_err(|m| LoadError::new(&self.path, LoadErrorKind::Decoder(m)))
    }

    /// Refuses an array whose stated size the file cannot hold, even deflated at the best ratio.
    pub fn check_size(&self, array: &H5Array) -> Result<(), LoadError> {
        let bytes = array
            .shape
            .iter()
            .try_fold(array.dtype.bytes(), |a, &d| a.checked_mul(d));
        let limit = self.len.saturating_mul(MAX_DEFLATE_RATIO);
        match bytes {
            Some(b) if b <= limit => Ok(()),
            _ => Err(self.error(format!(
                "array `{}` states shape {:?} of {}, more than a file of {} bytes can hold",
                array.name, array.shape, array.dtype, self.len
            ))),
        }
    }

    /// Rows `rows` of the first dimension of a float32 or float64 array, flattened in C order.
    pub fn read_f32(&self, name: &str, rows: Range<u64>) -> Result<Vec<f32>, LoadError> {
        let array = self.array(name)?;
        match array.dtype {
            ElementType::Float(32) => self.read_rows::<f32>(&array, rows),
            ElementType::Float(64) => Ok(self
                .read_rows::<f64>(&array, rows)?
                .into_iter()
                .map(|v| v as f32)
                .collect()),
            other => Err(self.error(format!(
                "array `{name}` is {other}, expected float32 or float64"
            ))),
        }
    }

    /// Rows `rows` of the first dimension of an integer array, as i64, flattened in C order.
    pub fn read_i64(&self, name: &str, rows: Range<u64>) -> Result<Vec<i64>, LoadError> {
        let array = self.array(name)?;
        let widen = |v: Vec<u64>| -> Result<Vec<i64>, LoadError> {
            v.into_iter()
                .map(|x| {
                    i64::try_from(x)
                        .map_err(|_| self.error(format!("array `{name}` holds {x}, out of range")))
                })
                .collect()
        };
        match array.dtype {
            ElementType::Int { bits: 8, signed } => Ok(if signed {
                cast(self.read_rows::<i8>(&array, rows)?)
            } else {
                cast(self.read_rows::<u8>(&array, rows)?)
            }),
            ElementType::Int { bits: 16, signed } => Ok(if signed {
                cast(self.read_rows::<i16>(&array, rows)?)
            } else {
                cast(self.read_rows::<u16>(&array, rows)?)
            }),
            ElementType::Int { bits: 32, signed } => Ok(if signed {
                cast(self.read_rows::<i32>(&array, rows)?)
            } else {
                cast(self.read_rows::<u32>(&array, rows)?)
            }),
            ElementType::Int {
                bits: 64,
                signed: true,
            } => self.read_rows::<i64>(&array, rows),
            ElementType::Int {
                bits: 64,
                signed: false,
            } => widen(self.read_rows::<u64>(&array, rows)?),
            other => Err(self.error(format!("array `{name}` is {other}, expected integers"))),
        }
    }

    fn read_rows<T: hdf5_reader::H5Type + Copy>(
        &self,
        array: &H5Array,
        rows: Range<u64>,
    ) -> Result<Vec<T>, LoadError> {
        self.check_size(array)?;
        if array.shape.is_empty() || rows.start >= rows.end || rows.end > array.rows() {
            return Err(self.error(format!(
                "array `{}` of shape {:?} has no rows {}..{}",
                array.name, array.shape, rows.start, rows.end
            )));
        }
        let mut selections = vec![SliceInfoElem::Slice {
            start: rows.start,
            end: rows.end,
            step: 1,
        }];
        selections.extend(SliceInfo::all(array.shape.len() - 1).selections);
        let selection = SliceInfo { selections };
        let dataset = self
            .dataset(&array.name)?
            .map_err(|e| self.error(format!("array `{}`: {e}", array.name)))?;
        let values = crate::contain_panics(|| dataset.read_slice::<T>(&selection))
            .map_err(|m| LoadError::new(&self.path, LoadErrorKind::Decoder(m)))?
            .map_err(|e| self.error(format!("array `{}`: {e}", array.name)))?;
        let expected = (rows.end - rows.start).saturating_mul(array.row_len());
        if values.len() as u64 != expected {
            return Err(self.error(format!(
                "array `{}`: read {} values, expected {expected}",
                array.name,
                values.len()
            )));
        }
        Ok(values.iter().copied().collect())
    }
}

fn cast<T: Into<i64>>(v: Vec<T>) -> Vec<i64> {
    v.into_iter().map(Into::into).collect()
}

fn describe(d: &hdf5_reader::Dataset, prefix: &str) -> H5Array {
    H5Array {
        name: format!("{prefix}{}", d.name().trim_start_matches('/')),
        shape: d.shape().to_vec(),
        dtype: ElementType::of(d.dtype()),
        chunk_rows: d.chunks().and_then(|c| c.first().map(|&r| u64::from(r))),
    }
}

/// Whether `path` starts with the HDF5 signature (files with a user block put it later; those
/// are still opened by [`H5File::open`]).
pub fn is_hdf5(path: &Path) -> bool {
    use std::io::Read;
    let mut head = [0u8; 8];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .map(|()| &head == SIGNATURE)
        .unwrap_or(false)
}
