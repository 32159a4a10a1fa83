#![no_main]
//! Fuzz target: tlv parser (filled in with the parser).
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = data;
});
