//! Fuzz target: the CoAP message parser, with the builder as an oracle. Every delta and length
//! has exactly one wire encoding, so re-building a parsed message must give back the same
//! bytes, and re-parsing them the same fields.
use lwm2m::coap::{decode_uint, encode_uint, option, Block, Message, MessageBuilder};

/// Runs the target on one input; panics when an oracle fails.
pub fn run(data: &[u8]) {
    let Ok(m) = Message::parse(data) else {
        return;
    };
    let opts: Vec<_> = m.options().collect();
    let mut prev = 0;
    for o in &opts {
        assert!(o.number >= prev);
        prev = o.number;
        if let Ok(v) = decode_uint(o.value) {
            let mut b = [0; 4];
            let e = encode_uint(v, &mut b);
            let skip = o.value.iter().take_while(|&&b| b == 0).count();
            assert_eq!(e, &o.value[skip..]);
        }
        if matches!(o.number, option::BLOCK1 | option::BLOCK2) {
            if let Some(b) = Block::decode(o.value) {
                let mut e = [0; 4];
                assert_eq!(Block::decode(encode_uint(b.to_uint(), &mut e)), Some(b));
            }
        }
    }

    let mut buf = vec![0u8; data.len()];
    let mut b = MessageBuilder::new(&mut buf, m.mtype, m.code, m.message_id, m.token).unwrap();
    for o in &opts {
        b.option(o.number, o.value).unwrap();
    }
    b.payload(m.payload).unwrap();
    let n = b.finish();
    assert_eq!(&buf[..n], data);

    let r = Message::parse(&buf[..n]).unwrap();
    assert_eq!(
        (r.mtype, r.code, r.message_id, r.token, r.payload),
        (m.mtype, m.code, m.message_id, m.token, m.payload)
    );
    assert!(r.options().eq(opts.iter().copied()));
}
