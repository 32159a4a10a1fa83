#![no_main]
//! Fuzz target: coap_message parser (filled in with the parser).
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = data;
});
