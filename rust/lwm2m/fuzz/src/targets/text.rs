//! Fuzz target: text/plain decoder; decoded values must encode again and decode to the same.
use lwm2m::codec::{text, Record, Writer};
use lwm2m::{DataType, Path, Value};

fn type_of(p: &Path) -> Option<DataType> {
    match p.resource_id()? {
        0 => Some(DataType::String),
        1 => Some(DataType::Integer),
        2 => Some(DataType::Unsigned),
        3 => Some(DataType::Float),
        4 => Some(DataType::Boolean),
        5 => Some(DataType::ObjLnk),
        6 => Some(DataType::Time),
        7 => Some(DataType::Opaque),
        8 => Some(DataType::CoreLnk),
        9 => Some(DataType::None),
        _ => None,
    }
}

/// Runs the target on one input; panics when an oracle fails.
pub fn run(data: &[u8]) {
    let Some((&sel, payload)) = data.split_first() else {
        return;
    };
    let base = Path::resource(3, 0, u16::from(sel % 12));
    let recs: Vec<Record<'_>> = match text::Decoder::new(&base, payload, &type_of).collect() {
        Ok(r) => r,
        Err(_) => return,
    };
    assert_eq!(recs.len(), 1);
    if matches!(recs[0].value, Value::Opaque(_)) {
        return;
    }
    let mut buf = vec![0u8; 64 + payload.len()];
    let mut w = Writer::new(&mut buf);
    text::encode(&base, &&recs[..], &mut w).expect("re-encode");
    let again: Vec<_> = text::Decoder::new(&base, w.window_data(), &type_of)
        .collect::<Result<_, _>>()
        .expect("re-decode");
    assert_eq!(format!("{again:?}"), format!("{recs:?}"));
}
