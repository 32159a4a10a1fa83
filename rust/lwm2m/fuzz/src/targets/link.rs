//! Fuzz target: link-format parser and attribute iterator on arbitrary UTF-8.
use lwm2m::codec::link;

/// Runs the target on one input; panics when an oracle fails.
pub fn run(data: &[u8]) {
    let Ok(doc) = core::str::from_utf8(data) else {
        return;
    };
    let mut errors = 0;
    for l in link::parse(doc) {
        match l {
            Ok(l) => {
                for (name, value) in l.attributes() {
                    assert!(!name.is_empty());
                    let _ = value;
                }
            }
            Err(_) => errors += 1,
        }
    }
    assert!(errors <= 1);
}
