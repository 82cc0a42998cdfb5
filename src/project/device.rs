//! Where to project.

/// GPU, CPU, or whichever is there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeviceChoice {
    /// A hardware GPU when wgpu finds one, else the CPU.
    #[default]
    Auto,
    /// The CPU path, always available.
    Cpu,
    /// The GPU, a software one (Mesa's lavapipe) included; an error when there is none.
    Gpu,
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
