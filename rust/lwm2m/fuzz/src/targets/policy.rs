//! Fuzz target: the server's policy parser (`lwm2m_server::Policy::parse`). A policy that
//! parses must print (`Rule::to_line`) to text that parses to the same rules; a parse error
//! names a line of the input. Every parsed policy then decides on grants taken from the input
//! without panicking, and never grants the protected objects.
use lwm2m::c2c::access_request::Grant;
use lwm2m::Path;
use lwm2m_server::policy::{Decision, PROTECTED_OBJECTS};
use lwm2m_server::Policy;

/// Runs the target on one input; panics when an oracle fails.
pub fn run(data: &[u8]) {
    let Ok(text) = core::str::from_utf8(data) else {
        return;
    };
    let policy = match Policy::parse(text) {
        Ok(p) => p,
        Err(e) => {
            assert!(
                (1..=text.lines().count()).contains(&e.line),
                "error on line {} of {}",
                e.line,
                text.lines().count()
            );
            return;
        }
    };
    check_round_trip(&policy);
    let _ = policy.to_json();
    // Grants from the input's bytes: object, instance and rights.
    for (i, c) in data.chunks(3).take(8).enumerate() {
        let object = PROTECTED_OBJECTS[i % PROTECTED_OBJECTS.len()]
            .wrapping_add(u16::from(c[0] & 0x3) * 1000 + u16::from(c[0] >> 2));
        let path = match c.get(1) {
            Some(&inst) => Path::instance(object, u16::from(inst)),
            None => Path::object(object),
        };
        let rights = c.get(2).copied().unwrap_or(1) & 0x1f;
        let g = Grant {
            path,
            rights: rights.max(1),
        };
        let requester = text.split_whitespace().nth(i).unwrap_or("req");
        let d = policy.decide(requester, "host", &[g]);
        if PROTECTED_OBJECTS.contains(&object) {
            assert!(
                matches!(d, Decision::Deny { .. }),
                "protected {path} granted"
            );
        }
    }
}

/// The oracle: the printed rules parse to the same rules (line numbers aside).
pub fn check_round_trip(policy: &Policy) {
    let printed: String = policy.rules.iter().map(|r| r.to_line() + "\n").collect();
    let again = Policy::parse(&printed).expect("printed policy parses");
    assert_eq!(again.rules.len(), policy.rules.len());
    for (a, b) in again.rules.iter().zip(&policy.rules) {
        let mut a = a.clone();
        a.line = b.line;
        assert_eq!(&a, b, "printed as {:?}", b.to_line());
    }
}
