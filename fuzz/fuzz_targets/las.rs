//! The LAS reader on arbitrary bytes.
#![no_main]

libfuzzer_sys::fuzz_target!(init: calip3d_fuzz::init(), |data: &[u8]| {
    calip3d_fuzz::read(data, "las");
});
