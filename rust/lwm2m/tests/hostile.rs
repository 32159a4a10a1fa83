//! Hostile input: malformed paths and options, and random requests that must always get a
//! well-formed response and leave state untouched when they fail.

mod common;

use common::*;
use lwm2m::coap::{code, content_format as cf, option, Block};
use lwm2m::engine::Engine;
use lwm2m::Value;
use proptest::prelude::*;

const S: u16 = 1;

#[test]
fn unknown_critical_option_is_4_02() {
    let mut e = engine(&[S]);
    for n in [9u16, 13, 2049, 65001] {
        let r = send(&mut e, server(S), &get("/3/0/0").opt(n, b"x"), 0);
        assert_eq!(r.code, code::BAD_OPTION, "option {n}");
        assert!(r.payload.is_empty());
    }
    // Unknown elective options are ignored.
    let r = send(&mut e, server(S), &get("/3/0/0").opt(2048, b"x"), 0);
    assert_eq!(r.code, code::CONTENT);
    // Even an unauthenticated peer gets 4.02 first; nothing is read.
    let r = send(&mut e, unauth(), &get("/3/0/0").opt(2049, b""), 0);
    assert_eq!(r.code, code::BAD_OPTION);
}

#[test]
fn malformed_option_values() {
    let mut e = engine(&[S]);
    create_light(&mut e, server(S), 0);
    let cases = [
        get("/3/0/0").opt(option::ACCEPT, &[1, 0, 0]),
        get("/3/0/0").opt(option::ACCEPT, &[1, 2, 3, 4, 5]),
        get("/3/0/0").opt(option::OBSERVE, &[1, 2, 3, 4, 5]),
        get("/3/0/0").opt(option::BLOCK2, &[0x0f]),
        get("/3/0/0").opt(option::BLOCK2, &[1, 2, 3, 4]),
        req(code::PUT, "/3311/0/5851")
            .opt(option::CONTENT_FORMAT, &[1, 0, 0])
            .body(b"1"),
        req(code::PUT, "/3311/0/5851")
            .cf(0)
            .opt(option::BLOCK1, &[0x07])
            .body(b"1"),
    ];
    for r in cases {
        let resp = send(&mut e, server(S), &r, 0);
        assert_eq!(resp.code, code::BAD_OPTION, "{r:?}");
    }
    assert_eq!(peek(&e, "/3311/0/5851"), Some(V::I(100)));
}

#[test]
fn out_of_range_ids_are_4_04() {
    let mut e = engine(&[S]);
    for path in [
        "/65535",
        "/3/65535",
        "/3/0/65535",
        "/70000",
        "/3/70000/1",
        "/01",
        "/3/00",
        "/a",
        "/3/0/x",
        "/-1",
        "/3/0/1/0/0",
        "/bs/x",
    ] {
        for c in [code::GET, code::PUT, code::POST, code::DELETE] {
            let r = send(&mut e, server(S), &req(c, path).cf(cf::TEXT).body(b"1"), 0);
            assert_eq!(r.code, code::NOT_FOUND, "{c} {path}");
        }
    }
    // Empty segments inside the path.
    let mut r = get("/3");
    r.opts.push((option::URI_PATH, vec![]));
    r.opts.push((option::URI_PATH, b"0".to_vec()));
    assert_eq!(send(&mut e, server(S), &r, 0).code, code::NOT_FOUND);
    // Uri-Path "rd" (a server's interface) is not the client's.
    assert_eq!(
        send(&mut e, server(S), &get("/rd"), 0).code,
        code::NOT_FOUND
    );
}

#[test]
fn responses_and_empty_codes_are_not_requests() {
    let mut e = engine(&[S]);
    for c in [code::CONTENT, code::NOT_FOUND, 0x20, 0xe0] {
        let r = send(&mut e, server(S), &req(c, "/3/0/0"), 0);
        assert_eq!(r.code, code::BAD_REQUEST, "{c:#x}");
    }
    let r = send(&mut e, server(S), &req(code::PATCH, "/3/0/0"), 0);
    assert_eq!(r.code, code::METHOD_NOT_ALLOWED);
    let r = send(&mut e, server(S), &req(0x1f, "/3/0/0"), 0);
    assert_eq!(r.code, code::METHOD_NOT_ALLOWED);
}

#[test]
fn tiny_response_buffer_gives_an_error_not_a_panic() {
    let mut e = engine(&[S]);
    for size in [6usize, 8, 12, 20, 30] {
        for r in [
            get("/3303").accept(cf::LWM2M_TLV),
            get("/3").accept(cf::LINK_FORMAT),
            get("/3/0/0"),
        ] {
            let resp = send_with(&mut e, server(S), &r, 0, size);
            assert!(
                resp.code == code::CONTENT || resp.code >= code::INTERNAL_SERVER_ERROR,
                "{size}: {:#x}",
                resp.code
            );
        }
    }
}

// ---------------------------------------------------------------- random requests

/// State a failed request must not change.
fn snapshot(e: &Engine<'_>) -> Vec<Option<V>> {
    let mut v: Vec<Option<V>> = [
        "/3311/0/5851",
        "/3311/0/5706",
        "/3311/0/5850",
        "/3303/0/5750",
        "/3303/1/5750",
        "/1/0/1",
        "/1/0/3",
        "/1/1/1",
        "/3/0/14",
        "/3/0/15",
        "/0/0/0",
        "/2/0/3",
        "/2/0/2/2",
    ]
    .iter()
    .map(|p| peek(e, p))
    .collect();
    for o in [0u16, 1, 2, 3311] {
        let obj = e.object(o).unwrap();
        let mut n = 0;
        let mut cur = None;
        while let Some(i) = obj.next_instance(cur) {
            cur = Some(i);
            n += 1;
        }
        v.push(Some(V::I(n)));
    }
    v.push(Some(V::I(e.observation_count() as i64)));
    v
}

fn hostile_engine() -> Engine<'static> {
    let mut e = engine(&[1, 2]);
    e.add_bootstrap_server("coap://bs", 3, b"", b"").unwrap();
    e.set_block1_buffer(Box::leak(vec![0u8; 64].into_boxed_slice()));
    bs_acl(&mut e, 0, 3311, 65535, &[(1, 0x1f), (2, 0x10)], 1);
    bs_acl(&mut e, 1, 3303, 0, &[(0, 1), (2, 0x1f)], 2);
    bs_acl(&mut e, 2, 3, 0, &[(0, 0x1f)], 65535);
    assert_eq!(create_light(&mut e, server(1), 0).code, code::CREATED);
    e
}

fn segment() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => prop::sample::select(vec![
            "0", "1", "2", "3", "3303", "3311", "5700", "5750", "5851", "5706", "4", "5", "14",
            "65534", "65535", "70000", "01", "a", "", "bs",
        ])
        .prop_map(|s| s.as_bytes().to_vec()),
        1 => prop::collection::vec(any::<u8>(), 0..8),
    ]
}

fn format() -> impl Strategy<Value = u16> {
    prop::sample::select(vec![
        cf::TEXT,
        cf::LINK_FORMAT,
        cf::OPAQUE,
        cf::SENML_CBOR,
        cf::SENML_JSON,
        cf::LWM2M_TLV,
        cf::LWM2M_CBOR,
        1234,
    ])
}

fn opt() -> impl Strategy<Value = (u16, Vec<u8>)> {
    let small = prop::collection::vec(any::<u8>(), 0..5);
    prop_oneof![
        format().prop_map(|f| (option::ACCEPT, f.to_be_bytes().to_vec())),
        (0u32..3).prop_map(|v| (option::OBSERVE, v.to_be_bytes()[3..].to_vec())),
        prop::sample::select(vec![
            "pmin=1", "pmax=2", "gt=5", "lt=1", "st=0.5", "epmin=1", "epmax=2", "pmin", "gt=x",
            "ep=x",
        ])
        .prop_map(|q| (option::URI_QUERY, q.as_bytes().to_vec())),
        (0u32..40, any::<bool>(), 0u8..7).prop_map(|(num, more, szx)| (
            option::BLOCK1,
            Block { num, more, szx }.to_uint().to_be_bytes()[1..].to_vec()
        )),
        (0u32..40, any::<bool>(), 0u8..7).prop_map(|(num, more, szx)| (
            option::BLOCK2,
            Block { num, more, szx }.to_uint().to_be_bytes()[1..].to_vec()
        )),
        (any::<u16>(), small.clone()),
        (
            prop::sample::select(vec![1u16, 3, 5, 7, 9, 35, 39, 60, 258, 2049]),
            small
        ),
    ]
}

fn value() -> impl Strategy<Value = (u8, i64, String)> {
    (0u8..5, any::<i64>(), "[a-z ]{0,30}")
}

fn payload() -> impl Strategy<Value = (Option<u16>, Vec<u8>)> {
    let paths = prop::sample::select(vec![
        "/3311/0/5851",
        "/3311/0/5706",
        "/3311/0/5850",
        "/3311/4/5851",
        "/3303/0/5750",
        "/3303/0/5700",
        "/1/0/1",
        "/1/1/1",
        "/0/0/0",
        "/2/0/3",
        "/2/0/2/2",
        "/3/0/14",
        "/3/0/0",
    ]);
    let records = prop::collection::vec((paths, value()), 1..4);
    prop_oneof![
        1 => Just((None, vec![])),
        2 => (prop::option::of(format()), prop::collection::vec(any::<u8>(), 0..40)),
        2 => ("[0-9a-z.'=,-]{0,12}").prop_map(|s| (Some(cf::TEXT), s.into_bytes())),
        8 => ("-?[0-9]{1,3}|[0-9]{1,2}|[a-z]{1,20}").prop_map(|s| (Some(cf::TEXT), s.into_bytes())),
        3 => (prop::sample::select(vec![cf::SENML_CBOR, cf::LWM2M_CBOR, cf::LWM2M_TLV]), records)
            .prop_map(|(f, recs)| {
                let mut recs = recs;
                recs.sort_by(|a, b| a.0.cmp(b.0));
                recs.dedup_by(|a, b| a.0 == b.0);
                let vals: Vec<(&str, Value<'_>)> = recs
                    .iter()
                    .map(|(p, (k, i, s))| {
                        let v = match k {
                            0 => Value::Integer(*i % 200),
                            1 => Value::String(s),
                            2 => Value::Boolean(*i % 2 == 0),
                            3 => Value::Float(*i as f64 / 7.0),
                            _ => Value::Opaque(s.as_bytes()),
                        };
                        (*p, v)
                    })
                    .collect();
                // TLV needs one instance below the base; use the first record's.
                let base = if f == cf::LWM2M_TLV {
                    let first = lwm2m::Path::parse_str(vals[0].0).unwrap();
                    let keep: Vec<_> = vals
                        .iter()
                        .filter(|(p, _)| lwm2m::Path::parse_str(p).unwrap().starts_with(&first.truncated(2)))
                        .copied()
                        .collect();
                    return (Some(f), encode(f, &first.truncated(2).to_string(), &keep));
                } else {
                    "/"
                };
                (Some(f), encode(f, base, &vals))
            }),
    ]
}

#[derive(Debug, Clone)]
struct Random {
    code: u8,
    path: Vec<Vec<u8>>,
    opts: Vec<(u16, Vec<u8>)>,
    payload: (Option<u16>, Vec<u8>),
    peer: u8,
}

fn request() -> impl Strategy<Value = Random> {
    (
        prop_oneof![
            6 => prop::sample::select(vec![
                code::GET, code::POST, code::PUT, code::PUT, code::PUT, code::DELETE, code::FETCH,
                code::IPATCH,
            ]),
            1 => any::<u8>(),
        ],
        prop_oneof![
            3 => prop::sample::select(vec![
                "/3311/0/5851", "/3311/0/5706", "/3311/0/5850", "/3311/0", "/3311", "/3303/0/5750",
                "/3303/1", "/1/0/1", "/1/1/3", "/2/0/2/2", "/2/0", "/3/0/14", "/0/0/0", "/1/0", "/",
                "/3311/1", "/bs",
            ])
            .prop_map(|p| p.split('/').filter(|s| !s.is_empty()).map(|s| s.as_bytes().to_vec()).collect()),
            1 => prop::collection::vec(segment(), 0..5),
        ],
        prop_oneof![2 => Just(vec![]), 1 => prop::collection::vec(opt(), 0..4)],
        payload(),
        0u8..6,
    )
        .prop_map(|(code, path, opts, payload, peer)| Random {
            code,
            path,
            opts,
            payload,
            peer,
        })
}

impl Random {
    fn to_req(&self) -> Req {
        let mut r = Req {
            code: self.code,
            token: vec![self.peer, 0xaa],
            opts: vec![],
            payload: self.payload.1.clone(),
        };
        for s in &self.path {
            r.opts.push((option::URI_PATH, s.clone()));
        }
        r.opts.extend(self.opts.iter().cloned());
        if let Some(f) = self.payload.0 {
            r = r.cf(f);
        }
        r
    }
    fn peer(&self) -> lwm2m::engine::Peer {
        match self.peer {
            0 | 1 => server(1),
            2 | 3 => server(2),
            4 => bootstrap(),
            _ => unauth(),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, .. ProptestConfig::default() })]

    #[test]
    fn random_requests_get_well_formed_answers(reqs in prop::collection::vec(request(), 1..6)) {
        let mut e = hostile_engine();
        let mut now = 0;
        for r in &reqs {
            now += 700;
            let before = snapshot(&e);
            // `send_raw` asserts that the response parses, has a response code and the token.
            // An empty code with a token is not a CoAP message at all.
            let Some(resp) = send_raw(&mut e, r.peer(), &r.to_req().bytes(), now, 300) else {
                prop_assert_eq!(r.code, 0);
                continue;
            };
            if resp.code >= code::BAD_REQUEST {
                prop_assert_eq!(&before, &snapshot(&e), "{:?} -> {:#x}", r, resp.code);
                prop_assert!(resp.opt(option::OBSERVE).is_none());
            }
            if r.peer == 5 {
                prop_assert!(resp.code >= code::BAD_REQUEST, "unauthenticated: {:#x}", resp.code);
                prop_assert_eq!(&before, &snapshot(&e));
            }
            for (_, m) in poll_all(&mut e, now) {
                prop_assert!(lwm2m::coap::code::is_request(m.code) || lwm2m::coap::code::is_response(m.code));
            }
        }
    }

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 4..80), peer in 0u8..6) {
        let mut e = hostile_engine();
        let p = Random { code: 0, path: vec![], opts: vec![], payload: (None, vec![]), peer }.peer();
        let before = snapshot(&e);
        if let Some(resp) = send_raw(&mut e, p, &bytes, 0, 200) {
            if resp.code >= code::BAD_REQUEST {
                prop_assert_eq!(before, snapshot(&e));
            }
        }
    }
}
