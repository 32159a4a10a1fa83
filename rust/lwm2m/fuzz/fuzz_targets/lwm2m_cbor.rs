#![no_main]
//! cargo-fuzz entry point; the body is `lwm2m_fuzz::targets::lwm2m_cbor::run`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| lwm2m_fuzz::targets::lwm2m_cbor::run(data));
