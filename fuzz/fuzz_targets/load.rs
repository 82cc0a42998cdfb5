//! The top-level reader on arbitrary bytes: the format comes from the first bytes (no extension).
#![no_main]

libfuzzer_sys::fuzz_target!(init: calip3d_fuzz::init(), |data: &[u8]| {
    calip3d_fuzz::read(data, "");
});
