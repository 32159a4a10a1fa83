//! Fuzz targets of the LwM2M engine, the server's `/ac` and policy parsing, the DTLS record
//! layer and OSCORE, each as a plain function (`targets::<name>::run`), so that the cargo-fuzz
//! binaries in `fuzz_targets/` and the corpus replay in `tests/replay.rs` run the same code.
//!
//! The committed corpora are in `seeds/<target>/`; [`replay`] feeds every file of one through
//! its target and reports which inputs failed.

pub mod replay;
pub mod targets;
