//! Fuzz target: SenML CBOR decoder, with an oracle. The records decoded before any error are
//! sorted, encoded again and decoded again; the second decode must give them back exactly.
use lwm2m::codec::{senml_cbor, Record, Writer};
use lwm2m::{DataType, Path, Value};

/// A fixed declared type per resource ID, so decoded values always take the same shape.
fn type_of(p: &Path) -> Option<DataType> {
    use DataType::*;
    let types = [
        String, Integer, Unsigned, Float, Boolean, Opaque, Time, ObjLnk, CoreLnk,
    ];
    types.get(usize::from(p.resource_id()? % 10)).copied()
}

fn same(a: &Record<'_>, b: &Record<'_>) -> bool {
    a.path == b.path
        && match (a.value, b.value) {
            (Value::Float(x), Value::Float(y)) => x.to_bits() == y.to_bits(),
            (x, y) => x == y,
        }
}

/// Runs the target on one input; panics when an oracle fails.
pub fn run(data: &[u8]) {
    for p in senml_cbor::decode_paths(data) {
        if p.is_err() {
            break;
        }
    }
    let mut recs: Vec<Record<'_>> = senml_cbor::Decoder::new(&Path::ROOT, data, &type_of)
        .map_while(|r| r.ok())
        .collect();
    recs.sort_by_key(|r| r.path);
    let mut buf = vec![0u8; 64 + 16 * data.len()];
    let mut w = Writer::new(&mut buf);
    senml_cbor::encode(&Path::ROOT, &recs.as_slice(), &mut w).expect("re-encode");
    let bytes = w.window_data();
    let again: Vec<Record<'_>> = senml_cbor::Decoder::new(&Path::ROOT, bytes, &type_of)
        .collect::<Result<_, _>>()
        .expect("re-decode");
    assert_eq!(again.len(), recs.len());
    for (a, b) in again.iter().zip(&recs) {
        assert!(same(a, b), "{a:?} != {b:?}");
    }
}
