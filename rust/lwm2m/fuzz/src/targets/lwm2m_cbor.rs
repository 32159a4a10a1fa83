//! Fuzz target: LwM2M CBOR decoder, with an oracle. The records decoded before any error are
//! sorted, encoded again and decoded again; the second decode must give them back exactly. The
//! encoder may refuse only record sets with a path at or above another one.
use lwm2m::codec::{lwm2m_cbor, Record, Writer};
use lwm2m::{DataType, Error, Path, Value};

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
    let mut recs: Vec<Record<'_>> = lwm2m_cbor::Decoder::new(&Path::ROOT, data, &type_of)
        .map_while(|r| r.ok())
        .collect();
    recs.sort_by_key(|r| r.path);
    let mut buf = vec![0u8; 64 + 16 * data.len()];
    let mut w = Writer::new(&mut buf);
    match lwm2m_cbor::encode(&Path::ROOT, &recs.as_slice(), &mut w) {
        Ok(()) => {}
        Err(Error::InternalServerError) => {
            let overlap = recs.windows(2).any(|p| p[1].path.starts_with(&p[0].path));
            assert!(overlap, "encoder refused {recs:?}");
            return;
        }
        Err(e) => panic!("re-encode: {e:?}"),
    }
    let bytes = w.window_data();
    let again: Vec<Record<'_>> = lwm2m_cbor::Decoder::new(&Path::ROOT, bytes, &type_of)
        .collect::<Result<_, _>>()
        .expect("re-decode");
    assert_eq!(again.len(), recs.len());
    for (a, b) in again.iter().zip(&recs) {
        assert!(same(a, b), "{a:?} != {b:?}");
    }
}
