//! The compile-time knobs' checks (`knobs.rs`, run by `build.rs` on the environment): a bad
//! value stops the build with a message naming the knob.

#[path = "../knobs.rs"]
mod knobs;

use knobs::{value, KNOBS, U16_KNOBS};

#[test]
fn unset_knobs_take_their_defaults_and_every_default_passes() {
    for (name, default, doc) in KNOBS {
        assert_eq!(value(name, None, *default), Ok(*default), "{name}");
        assert!(!doc.is_empty(), "{name} has no documentation");
    }
}

#[test]
fn a_value_from_the_environment_is_trimmed_and_taken() {
    assert_eq!(value("LWM2M_URI_LEN", Some(" 200\n"), 128), Ok(200));
    assert_eq!(value("LWM2M_URI_LEN", Some("65535"), 128), Ok(65535));
}

#[test]
fn length_knobs_over_u16_are_refused_with_the_knobs_name() {
    assert_eq!(
        value("LWM2M_URI_LEN", Some("70000"), 128),
        Err(
            "LWM2M_URI_LEN=70000 is larger than 65535: object state keeps its lengths as u16 \
             (objects::Len)"
                .into()
        )
    );
    for name in U16_KNOBS {
        let err = value(name, Some("65536"), 1).expect_err(name);
        assert!(err.starts_with(&format!("{name}=65536 ")), "{err}");
    }
}

#[test]
fn other_knobs_may_be_larger_than_u16() {
    let (name, default, _) = KNOBS
        .iter()
        .find(|(n, _, _)| !U16_KNOBS.contains(n))
        .expect("a knob that is not a length");
    assert_eq!(value(name, Some("70000"), *default), Ok(70000));
}

#[test]
fn zero_and_text_are_refused() {
    assert_eq!(
        value("LWM2M_MAX_CLIENTS", Some("0"), 4),
        Err("LWM2M_MAX_CLIENTS must be at least 1".into())
    );
    assert_eq!(
        value("LWM2M_MAX_CLIENTS", Some("four"), 4),
        Err("LWM2M_MAX_CLIENTS=\"four\" is not a number".into())
    );
    assert!(value("LWM2M_MAX_CLIENTS", Some("-1"), 4).is_err());
}

#[test]
fn every_length_knob_is_a_knob() {
    for name in U16_KNOBS {
        assert!(
            KNOBS.iter().any(|(n, _, _)| n == name),
            "{name} is in U16_KNOBS but not in KNOBS"
        );
    }
}
