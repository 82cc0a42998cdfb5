//! Where to project.

/// GPU, CPU, or whichever is there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeviceChoice {
    /// A hardware GPU when wgpu finds one, else the CPU (said at info level, `-v`).
    #[default]
    Auto,
    /// The CPU path, always available.
    Cpu,
    /// The GPU, a software one (Mesa's lavapipe) included; an error when there is none or it
    /// fails, never a silent CPU run.
    Gpu,
}

impl std::fmt::Display for DeviceChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            DeviceChoice::Auto => "auto",
            DeviceChoice::Cpu => "cpu",
            DeviceChoice::Gpu => "gpu",
        })
    }
}

impl std::str::FromStr for DeviceChoice {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "auto" => Ok(DeviceChoice::Auto),
            "cpu" => Ok(DeviceChoice::Cpu),
            "gpu" => Ok(DeviceChoice::Gpu),
            _ => Err(format!("unknown device `{s}` (expected auto, cpu or gpu)")),
        }
    }
}

/// Where a projector's calls actually run.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase", tag = "kind")]
#[non_exhaustive]
pub enum Backend {
    /// The CPU path.
    Cpu,
    /// A wgpu adapter.
    Gpu {
        /// The adapter's name, e.g. "NVIDIA GeForce RTX 4090" or "llvmpipe (LLVM 15.0.6, 256 bits)".
        adapter: String,
        /// The graphics API: "Vulkan" or "Gl".
        api: String,
        /// The driver and its version, as the driver reports them.
        driver: String,
        /// Whether the adapter is a software rasteriser (Mesa's lavapipe or llvmpipe).
        software: bool,
    },
}

impl Backend {
    /// Whether this is a GPU adapter (software or not).
    pub fn is_gpu(&self) -> bool {
        matches!(self, Backend::Gpu { .. })
    }
}

impl std::fmt::Display for Backend {
    /// `cpu`, or `GPU <adapter> [<api>, <driver>[, software]]`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Backend::Cpu => f.write_str("cpu"),
            Backend::Gpu {
                adapter,
                api,
                driver,
                software,
            } => {
                write!(f, "GPU {adapter} [{api}")?;
                if !driver.is_empty() {
                    write!(f, ", {driver}")?;
                }
                if *software {
                    f.write_str(", software")?;
                }
                f.write_str("]")
            }
        }
    }
}
