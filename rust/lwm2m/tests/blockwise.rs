//! Block-wise transfers (RFC 7959): Block2 reads, Block1 writes.

mod common;

use common::*;
use lwm2m::coap::{code, content_format as cf, option, Block};
use lwm2m::engine::Engine;
use lwm2m::Value;

const S: u16 = 1;

fn block_of(r: &Resp, n: u16) -> Block {
    Block::decode(r.opt(n).expect("block option")).unwrap()
}

fn block_req(r: Req, n: u16, b: Block) -> Req {
    r.uint(n, b.to_uint())
}

/// Reads `path` block by block with a response buffer of `size` bytes, asking for `szx` (or
/// leaving the first choice to the engine); returns the blocks.
fn read_blocks(e: &mut Engine<'_>, path: &str, size: usize, szx: Option<u8>) -> Vec<Resp> {
    get_blocks(e, path, cf::LWM2M_TLV, size, szx)
}

/// GETs `path` with Accept `accept` block by block (see [`read_blocks`]).
fn get_blocks(
    e: &mut Engine<'_>,
    path: &str,
    accept: u16,
    size: usize,
    szx: Option<u8>,
) -> Vec<Resp> {
    let mut out = vec![];
    let mut num = 0;
    loop {
        let mut r = get(path).accept(accept);
        if let Some(szx) = szx.or(out.last().map(|b: &Resp| block_of(b, option::BLOCK2).szx)) {
            r = block_req(
                r,
                option::BLOCK2,
                Block {
                    num,
                    more: false,
                    szx,
                },
            );
        }
        let resp = send_with(e, server(S), &r, 0, size);
        assert_eq!(resp.code, code::CONTENT);
        let b = block_of(&resp, option::BLOCK2);
        assert_eq!(b.num, num);
        let more = b.more;
        out.push(resp);
        if !more {
            return out;
        }
        num += 1;
        assert!(num < 100);
    }
}

fn full_read(e: &mut Engine<'_>, path: &str) -> Vec<u8> {
    let r = send(e, server(S), &get(path).accept(cf::LWM2M_TLV), 0);
    assert_eq!(r.code, code::CONTENT);
    assert_eq!(r.opt(option::BLOCK2), None);
    r.payload
}

#[test]
fn block2_read_of_a_large_instance() {
    let mut e = engine(&[S]);
    let full = full_read(&mut e, "/3303");
    assert!(full.len() > 64, "{}", full.len());
    // A 100-byte response buffer holds at most 64-byte blocks.
    let blocks = read_blocks(&mut e, "/3303", 100, None);
    assert!(blocks.len() >= 2);
    assert_eq!(blocks[0].uint(option::SIZE2), Some(full.len() as u32));
    let mut joined: Vec<u8> = vec![];
    for (i, b) in blocks.iter().enumerate() {
        assert_eq!(block_of(b, option::BLOCK2).szx, 2);
        assert_eq!(b.uint(option::CONTENT_FORMAT), Some(cf::LWM2M_TLV.into()));
        if i > 0 {
            assert_eq!(b.opt(option::SIZE2), None);
        }
        if i + 1 < blocks.len() {
            assert_eq!(b.payload.len(), 64);
        }
        joined.extend(&b.payload);
    }
    assert_eq!(joined, full);
}

#[test]
fn block2_client_chosen_smaller_size_is_honoured() {
    let mut e = engine(&[S]);
    let full = full_read(&mut e, "/3303");
    let blocks = read_blocks(&mut e, "/3303", RESP_BUF, Some(0));
    assert_eq!(blocks.len(), full.len().div_ceil(16));
    let joined: Vec<u8> = blocks.iter().flat_map(|b| b.payload.clone()).collect();
    assert_eq!(joined, full);
    assert!(blocks.iter().all(|b| block_of(b, option::BLOCK2).szx == 0));
}

#[test]
fn block2_larger_request_size_is_reduced_to_what_fits() {
    let mut e = engine(&[S]);
    let full = full_read(&mut e, "/3303");
    // The client asks for 1024-byte blocks; the engine answers with 64-byte ones.
    let r = block_req(
        get("/3303").accept(cf::LWM2M_TLV),
        option::BLOCK2,
        Block {
            num: 0,
            more: false,
            szx: 6,
        },
    );
    let resp = send_with(&mut e, server(S), &r, 0, 100);
    let b = block_of(&resp, option::BLOCK2);
    assert_eq!((b.num, b.more, b.szx), (0, true, 2));
    assert_eq!(resp.payload, full[..64]);
}

#[test]
fn block2_past_the_end_is_an_error() {
    let mut e = engine(&[S]);
    let r = block_req(
        get("/3303").accept(cf::LWM2M_TLV),
        option::BLOCK2,
        Block {
            num: 50,
            more: false,
            szx: 0,
        },
    );
    let resp = send(&mut e, server(S), &r, 0);
    assert_eq!(resp.code, code::BAD_OPTION);
}

#[test]
fn block2_discover_larger_than_the_buffer() {
    let mut e = engine(&[S]);
    let r = send(&mut e, server(S), &get("/3303").accept(cf::LINK_FORMAT), 0);
    assert_eq!(r.code, code::CONTENT);
    assert_eq!(r.opt(option::BLOCK2), None);
    let full = r.payload;
    assert!(full.len() > 64, "{}", full.len());
    // Used to be 5.00: the link list went into one response only.
    let blocks = get_blocks(&mut e, "/3303", cf::LINK_FORMAT, 100, None);
    assert!(blocks.len() >= 2);
    assert_eq!(blocks[0].uint(option::SIZE2), Some(full.len() as u32));
    assert!(blocks
        .iter()
        .all(|b| b.uint(option::CONTENT_FORMAT) == Some(cf::LINK_FORMAT.into())));
    let joined: Vec<u8> = blocks.iter().flat_map(|b| b.payload.clone()).collect();
    assert_eq!(joined, full);
}

fn with_buffer(size: usize) -> Engine<'static> {
    let mut e = engine(&[S]);
    e.set_block1_buffer(Box::leak(vec![0u8; size].into_boxed_slice()));
    create_light(&mut e, server(S), 0);
    e
}

fn light_body() -> Vec<u8> {
    tlv(
        "/3311/0",
        &[
            ("/3311/0/5706", Value::String("light blue")),
            ("/3311/0/5750", Value::String("living room ceiling")),
            ("/3311/0/5851", Value::Integer(42)),
        ],
    )
}

fn put_block(e: &mut Engine<'_>, path: &str, body: &[u8], num: u32, szx: u8) -> Resp {
    let size = 16usize << szx;
    let start = (num as usize * size).min(body.len());
    let end = (start + size).min(body.len());
    let more = end < body.len();
    let r = req(code::PUT, path)
        .cf(cf::LWM2M_TLV)
        .uint(option::BLOCK1, Block { num, more, szx }.to_uint())
        .body(&body[start..end]);
    send(e, server(S), &r, 0)
}

#[test]
fn block1_write_in_several_blocks() {
    let mut e = with_buffer(256);
    let body = light_body();
    let n = body.len().div_ceil(16) as u32;
    assert!(n >= 3, "{}", body.len());
    for num in 0..n {
        let r = put_block(&mut e, "/3311/0", &body, num, 0);
        let b = block_of(&r, option::BLOCK1);
        assert_eq!(b.num, num);
        if num + 1 < n {
            assert_eq!(r.code, code::CONTINUE, "block {num}");
            assert!(b.more);
            // Nothing applied before the last block.
            assert_eq!(peek(&e, "/3311/0/5851"), Some(V::I(100)));
        } else {
            assert_eq!(r.code, code::CHANGED);
            assert!(!b.more);
        }
    }
    assert_eq!(peek(&e, "/3311/0/5706"), Some(V::S("light blue".into())));
    assert_eq!(
        peek(&e, "/3311/0/5750"),
        Some(V::S("living room ceiling".into()))
    );
    assert_eq!(peek(&e, "/3311/0/5851"), Some(V::I(42)));
}

#[test]
fn block1_create() {
    let mut e = with_buffer(256);
    let body = tlv(
        "/3311",
        &[
            ("/3311/3/5706", Value::String("a long colour")),
            ("/3311/3/5851", Value::Integer(1)),
        ],
    );
    let n = body.len().div_ceil(16) as u32;
    let mut last = None;
    for num in 0..n {
        let size = 16usize;
        let end = ((num as usize + 1) * size).min(body.len());
        let r = req(code::POST, "/3311")
            .cf(cf::LWM2M_TLV)
            .uint(
                option::BLOCK1,
                Block {
                    num,
                    more: num + 1 < n,
                    szx: 0,
                }
                .to_uint(),
            )
            .body(&body[num as usize * size..end]);
        last = Some(send(&mut e, server(S), &r, 0));
    }
    let r = last.unwrap();
    assert_eq!(r.code, code::CREATED);
    assert_eq!(r.path_of(option::LOCATION_PATH), "/3311/3");
    assert!(r.opt(option::BLOCK1).is_some());
    assert_eq!(peek(&e, "/3311/3/5851"), Some(V::I(1)));
}

#[test]
fn block1_out_of_order_is_4_08() {
    let mut e = with_buffer(256);
    let body = light_body();
    assert_eq!(
        put_block(&mut e, "/3311/0", &body, 0, 0).code,
        code::CONTINUE
    );
    assert_eq!(
        put_block(&mut e, "/3311/0", &body, 2, 0).code,
        code::REQUEST_ENTITY_INCOMPLETE
    );
    // The transfer is over: block 1 is now out of order too.
    assert_eq!(
        put_block(&mut e, "/3311/0", &body, 1, 0).code,
        code::REQUEST_ENTITY_INCOMPLETE
    );
    // A block for another path does not continue the transfer.
    assert_eq!(
        put_block(&mut e, "/3311/0", &body, 0, 0).code,
        code::CONTINUE
    );
    assert_eq!(
        put_block(&mut e, "/3311/1", &body, 1, 0).code,
        code::REQUEST_ENTITY_INCOMPLETE
    );
    assert_eq!(peek(&e, "/3311/0/5851"), Some(V::I(100)));
}

#[test]
fn block1_intermediate_block_of_wrong_size_is_4_00() {
    let mut e = with_buffer(256);
    let r = req(code::PUT, "/3311/0")
        .cf(cf::LWM2M_TLV)
        .uint(
            option::BLOCK1,
            Block {
                num: 0,
                more: true,
                szx: 1,
            }
            .to_uint(),
        )
        .body(&[0u8; 20]);
    assert_eq!(send(&mut e, server(S), &r, 0).code, code::BAD_REQUEST);
}

#[test]
fn block1_too_large_is_4_13_with_size1() {
    let mut e = with_buffer(32);
    let body = light_body();
    assert_eq!(
        put_block(&mut e, "/3311/0", &body, 0, 0).code,
        code::CONTINUE
    );
    assert_eq!(
        put_block(&mut e, "/3311/0", &body, 1, 0).code,
        code::CONTINUE
    );
    let r = put_block(&mut e, "/3311/0", &body, 2, 0);
    assert_eq!(r.code, code::REQUEST_ENTITY_TOO_LARGE);
    assert_eq!(r.uint(option::SIZE1), Some(32));
    assert_eq!(peek(&e, "/3311/0/5851"), Some(V::I(100)));
}

#[test]
fn block1_without_buffer_is_4_13() {
    let mut e = engine(&[S]);
    create_light(&mut e, server(S), 0);
    let r = put_block(&mut e, "/3311/0", &light_body(), 0, 0);
    assert_eq!(r.code, code::REQUEST_ENTITY_TOO_LARGE);
}

#[test]
fn oversized_value_is_4_13() {
    let mut e = engine(&[S]);
    create_light(&mut e, server(S), 0);
    let long = "x".repeat(200);
    assert_eq!(
        put_text(&mut e, server(S), "/3311/0/5706", &long, 0).code,
        code::REQUEST_ENTITY_TOO_LARGE
    );
    assert_eq!(peek(&e, "/3311/0/5706"), Some(V::S(String::new())));
}
