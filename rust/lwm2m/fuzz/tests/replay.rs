//! Replays every committed corpus file (`seeds/<target>/`) through its target: the fuzzers'
//! findings stay fixed in `cargo test`, without libFuzzer or nightly.
use std::path::Path;

use lwm2m_fuzz::replay::{replay_dir, run_caught};
use lwm2m_fuzz::targets::{self, ALL};

fn seeds(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("seeds")
        .join(name)
}

#[test]
fn every_corpus_file_passes_its_target() {
    let mut failures = Vec::new();
    for (name, target) in ALL {
        let r = replay_dir(target, &seeds(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(r.inputs > 0, "{name}: empty corpus");
        println!("{name}: {} inputs", r.inputs);
        failures.extend(r.failures);
    }
    assert!(failures.is_empty(), "failing inputs: {failures:#?}");
}

#[test]
fn every_target_has_a_corpus_and_a_fuzz_binary() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for (name, _) in ALL {
        assert!(seeds(name).is_dir(), "{name}: no seeds folder");
        let bin = root.join("fuzz_targets").join(format!("{name}.rs"));
        assert!(bin.is_file(), "{name}: no fuzz_targets/{name}.rs");
    }
    let bins = std::fs::read_dir(root.join("fuzz_targets"))
        .unwrap()
        .count();
    assert_eq!(bins, ALL.len(), "fuzz_targets/ and targets::ALL differ");
}

/// The replay can fail: an input that breaks an oracle is reported with its file name.
#[test]
fn a_violating_input_is_reported() {
    // A decodable access request (Read on /3311/0); the oracle passes its grants and fails
    // grants no valid payload decodes to (a rights bit outside `rights::ALL`).
    let data = [0xa1, 0x82, 0x19, 0x0c, 0xef, 0x00, 0x01];
    let grants = lwm2m::c2c::access_request::decode(&data).unwrap();
    targets::access_request::check(&data, &grants);
    fn crafted(d: &[u8]) {
        let mut g = lwm2m::c2c::access_request::decode(d).unwrap();
        g[0].rights = 0x80;
        targets::access_request::check(d, &g);
    }
    let err = run_caught(crafted, &data).unwrap_err();
    assert!(err.contains("decoded grants encode"), "{err}");

    // Through the replay of a folder: the failing file is named.
    let dir = std::env::temp_dir().join(format!("lwm2m-fuzz-replay-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("good"), data).unwrap();
    std::fs::write(dir.join("bad"), [0xff]).unwrap();
    fn strict(d: &[u8]) {
        // The real target, plus a property the crafted file `bad` violates.
        targets::access_request::run(d);
        assert!(
            lwm2m::c2c::access_request::decode(d).is_ok(),
            "not an access request"
        );
    }
    let r = replay_dir(strict, &dir).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(r.inputs, 2);
    assert_eq!(r.failures.len(), 1, "{:?}", r.failures);
    assert!(r.failures[0].0.ends_with("bad"));
    assert_eq!(r.failures[0].1, "not an access request");
}

/// The `dtls_record` seed `seed-handshake` gets the real client a session, so the target's
/// bounds are checked with a session in place, not only against handshakes.
#[test]
fn dtls_seed_reaches_a_session() {
    let data = std::fs::read(seeds("dtls_record").join("seed-handshake")).unwrap();
    assert_eq!(targets::dtls_record::drive(&data), 1);
}
