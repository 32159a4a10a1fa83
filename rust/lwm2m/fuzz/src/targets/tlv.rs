//! Fuzz target: TLV decoder, with a re-encode / re-decode oracle for payloads that decode.
use lwm2m::codec::{tlv, Record, Writer};
use lwm2m::{DataType, Path};

/// Some Device (3) resources with declared types, the others unknown.
fn type_of(p: &Path) -> Option<DataType> {
    match p.resource_id()? {
        0 | 1 => Some(DataType::String),
        2 => Some(DataType::Integer),
        3 => Some(DataType::Unsigned),
        4 => Some(DataType::Float),
        5 => Some(DataType::Boolean),
        6 => Some(DataType::ObjLnk),
        7 => Some(DataType::Time),
        8 => Some(DataType::Opaque),
        9 => Some(DataType::CoreLnk),
        10 => Some(DataType::None),
        _ => None,
    }
}

/// Runs the target on one input; panics when an oracle fails.
pub fn run(data: &[u8]) {
    // First byte picks the request path depth (root .. resource instance).
    let Some((&sel, payload)) = data.split_first() else {
        return;
    };
    let base = Path::resource_instance(3, 1, 7, 2).truncated(usize::from(sel % 5));
    let mut recs: Vec<Record<'_>> = Vec::new();
    for r in tlv::Decoder::new(&base, payload, &type_of) {
        match r {
            Ok(r) => {
                assert!(r.path.starts_with(&base) && r.path.len() >= 3);
                recs.push(r);
            }
            Err(_) => return,
        }
    }
    // The root has no TLV form (the encoder answers 4.06); an empty payload decodes to nothing.
    if base.is_root() {
        return;
    }
    // The encoder wants records in ascending path order, each path once, and no resource that
    // is both single and multiple.
    recs.sort_by_key(|r| r.path);
    recs.dedup_by(|a, b| a.path == b.path);
    if recs.windows(2).any(|w| w[1].path.starts_with(&w[0].path)) {
        return;
    }
    let mut buf = vec![0u8; payload.len() * 2 + 64];
    let mut w = Writer::new(&mut buf);
    tlv::encode(&base, &&recs[..], &mut w).expect("re-encode");
    let again: Vec<_> = tlv::Decoder::new(&base, w.window_data(), &type_of)
        .collect::<Result<_, _>>()
        .expect("re-decode");
    // NaN != NaN: compare bit patterns through Debug.
    assert_eq!(format!("{again:?}"), format!("{recs:?}"));
}
