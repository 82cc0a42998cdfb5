//! The exit statuses of every subcommand, in one place (README, "Exit status"):
//! 0 when every input was processed, 1 for a usage or setup error (bad flags, a missing model, an
//! unknown class list, an output that cannot be written: nothing was processed), and 2 when the
//! command ran over its inputs and at least one of them failed (each failure is reported; the
//! others' results are printed or written as usual).

use std::process::ExitCode;

/// The status of a usage or setup error (`main` maps every `Err` to it).
pub const SETUP_ERROR: u8 = 1;
/// The status of a run in which some inputs failed.
pub const INPUTS_FAILED: u8 = 2;

/// The status of a run that processed its inputs, `failed` of which failed.
pub fn after_inputs(failed: usize) -> ExitCode {
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(INPUTS_FAILED)
    }
}
