//! Sizes a file states, checked against what the file can hold before anything is allocated for
//! them. Every reader (and every format added later: PCD, NPY, HDF5, E57, …) uses these helpers,
//! so that a header claiming 2⁴⁰ points gets the same quick, clear
//! [`LoadErrorKind::ClaimsMoreThanFile`] everywhere instead of an allocation that aborts.
//!
//! The arithmetic is in `u128`: the product of two `u64` sizes read from a file never overflows,
//! so a lie cannot wrap around into a small, plausible number.

use super::LoadErrorKind;

/// The bytes of a file of `file_len` bytes that lie at or after `offset` (0 when `offset` is past
/// the end).
///
/// ```ignore
/// assert_eq!(remaining(100, 30), 70);
/// assert_eq!(remaining(100, 130), 0);
/// ```
pub fn remaining(file_len: u64, offset: u64) -> u64 {
    file_len.saturating_sub(offset)
}

/// Checks that `count` records of at least `record_bytes` bytes each fit in the `available` bytes
/// of the file, and returns the bytes they need. `what` names a record in the plural, as the
/// error shows it: `check_records(n, 20, k, "points of 20 bytes")`.
///
/// ```ignore
/// assert_eq!(check_records(10, 20, 200, "points")?, 200);
/// assert!(check_records(1 << 40, 20, 1000, "points").is_err());
/// ```
pub fn check_records(
    count: u64,
    record_bytes: u64,
    available: u64,
    what: &str,
) -> Result<u64, LoadErrorKind> {
    let claimed = count as u128 * record_bytes as u128;
    if claimed > available as u128 {
        return Err(LoadErrorKind::ClaimsMoreThanFile {
            what: format!("{count} {what} of at least {record_bytes} bytes"),
            claimed,
            available,
        });
    }
    Ok(claimed as u64)
}

/// Checks that one block of `bytes` bytes (a record, a table, an offset plus a length) fits in the
/// `available` bytes of the file. `what` names the block: `"a VLR record"`.
pub fn check_bytes(bytes: u128, available: u64, what: &str) -> Result<(), LoadErrorKind> {
    if bytes > available as u128 {
        return Err(LoadErrorKind::ClaimsMoreThanFile {
            what: what.to_string(),
            claimed: bytes,
            available,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_that_do_not_fit_are_refused_with_what_they_claim() {
        assert_eq!(check_records(10, 20, 200, "points"), Ok(200));
        assert_eq!(check_records(0, u64::MAX, 0, "points"), Ok(0));
        let err = check_records(1 << 40, 20, 1000, "points").unwrap_err();
        assert_eq!(
            err,
            LoadErrorKind::ClaimsMoreThanFile {
                what: "1099511627776 points of at least 20 bytes".into(),
                claimed: 21_990_232_555_520,
                available: 1000,
            }
        );
        assert_eq!(
            err.to_string(),
            "the header claims 1099511627776 points of at least 20 bytes (21990232555520 bytes), \
             more than the 1000 bytes the file holds there"
        );
        // u64::MAX × u64::MAX does not wrap around.
        assert!(check_records(u64::MAX, u64::MAX, u64::MAX, "points").is_err());
    }

    #[test]
    fn blocks_and_remaining_bytes() {
        assert!(check_bytes(100, 100, "a record").is_ok());
        assert!(check_bytes(101, 100, "a record").is_err());
        assert_eq!(remaining(100, 30), 70);
        assert_eq!(remaining(100, 130), 0);
    }
}
