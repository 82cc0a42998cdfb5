//! `calip3d classify` (under construction).

use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {}

pub fn run(_args: &Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`calip3d classify` is not implemented yet")
}
