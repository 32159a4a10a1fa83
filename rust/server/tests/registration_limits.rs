//! Registry bounds (`--max-registrations`, `--max-lifetime`): a full registry refuses new
//! endpoints with 5.03 and says so in an event, registered endpoints still get in, and a
//! lifetime above the maximum is shortened and written to the client's Server object (issue
//! 13, item 3; the host client updating by it: rust/host/tests/with_server.rs).

mod common;

use common::*;
use lwm2m::coap::content_format as cf;
use lwm2m::coap::{code, option};
use lwm2m_server::registration::RegistryLimits;
use lwm2m_server::Event;

fn register_opts(ep: &str, lt: u64) -> Vec<(u16, Vec<u8>)> {
    let mut opts = vec![(option::URI_PATH, b"rd".to_vec())];
    for q in [format!("ep={ep}"), format!("lt={lt}"), "lwm2m=1.1".into()] {
        opts.push((option::URI_QUERY, q.into_bytes()));
    }
    opts
}

fn update_opts(id: &str, lt: u64) -> Vec<(u16, Vec<u8>)> {
    vec![
        (option::URI_PATH, b"rd".to_vec()),
        (option::URI_PATH, id.as_bytes().to_vec()),
        (option::URI_QUERY, format!("lt={lt}").into_bytes()),
    ]
}

fn with_max_lifetime(max_lifetime: u32) -> lwm2m_server::ServerHandle {
    start(|c| {
        c.registrations = RegistryLimits {
            max_lifetime,
            ..RegistryLimits::default()
        }
    })
}

#[test]
fn a_full_registry_refuses_new_endpoints_only() {
    let server = start(|c| {
        c.registrations = RegistryLimits {
            max_registrations: 3,
            ..RegistryLimits::default()
        }
    });
    let events = server.subscribe();
    let mut clients: Vec<FakeClient> = (0..4)
        .map(|_| FakeClient::new(server.coap_addr()))
        .collect();
    for (i, c) in clients.iter_mut().take(3).enumerate() {
        c.register(&format!("node-{i}"), 60, "</3/0>");
    }
    let r = clients[3].request(code::POST, &register_opts("node-3", 60), b"</3/0>");
    assert_eq!(r.code, code::SERVICE_UNAVAILABLE);
    assert!(String::from_utf8_lossy(&r.payload).contains("registration limit"));
    let ev = wait_event(&events, |e| matches!(e, Event::RegistrationLimited { .. }));
    assert_eq!(ev.endpoint(), "node-3");
    assert_eq!(server.clients().len(), 3);
    // A registered endpoint registering again (e.g. after a reboot) replaces itself.
    clients[0].register("node-0", 60, "</3/0>");
    assert_eq!(server.clients().len(), 3);
    // A de-registration makes room.
    let id = clients[1].register("node-1", 60, "</3/0>");
    let r = clients[1].request(
        code::DELETE,
        &[
            (option::URI_PATH, b"rd".to_vec()),
            (option::URI_PATH, id.into_bytes()),
        ],
        b"",
    );
    assert_eq!(r.code, code::DELETED);
    clients[3].register("node-3", 60, "</3/0>");
    assert_eq!(server.clients().len(), 3);
}

#[test]
fn lifetimes_above_the_maximum_are_shortened() {
    let server = with_max_lifetime(3600);
    let events = server.subscribe();
    let mut c = FakeClient::new(server.coap_addr());
    let r = c.request(
        code::POST,
        &register_opts("forever", 4_294_967_295),
        b"</3/0>",
    );
    assert_eq!(r.code, code::CREATED);
    let ev = wait_event(&events, |e| matches!(e, Event::RegistrationLimited { .. }));
    assert!(
        ev.to_json()["reason"]
            .as_str()
            .unwrap()
            .contains("4294967295"),
        "{ev:?}"
    );
    assert_eq!(server.client("forever").unwrap().lifetime, 3600);
    // An Update asking for more is shortened too.
    let id = r.strs(option::LOCATION_PATH)[1].clone();
    let r = c.request(code::POST, &update_opts(&id, 100_000), b"");
    assert_eq!(r.code, code::CHANGED);
    assert_eq!(server.client("forever").unwrap().lifetime, 3600);
    // One within the bound is kept.
    let mut d = FakeClient::new(server.coap_addr());
    d.register("short", 60, "</3/0>");
    assert_eq!(server.client("short").unwrap().lifetime, 60);
}

/// The text of the next `registration-limited` event.
fn limited(events: &std::sync::mpsc::Receiver<Event>) -> String {
    let ev = wait_event(events, |e| matches!(e, Event::RegistrationLimited { .. }));
    ev.to_json()["reason"].as_str().unwrap().to_owned()
}

#[test]
fn a_shortened_lifetime_is_written_to_the_server_object() {
    let server = with_max_lifetime(3600);
    let events = server.subscribe();
    let mut c = FakeClient::new(server.coap_addr());
    let r = c.request(code::POST, &register_opts("one", 100_000), b"</1/0>,</3/0>");
    assert_eq!(r.code, code::CREATED);
    assert!(limited(&events).contains("shortened to 3600 s"));
    // After the reply: PUT /1/0/1 "3600" in text/plain.
    let w = c.recv_request();
    assert_eq!(
        (w.code, w.uri_path().join("/")),
        (code::PUT, "1/0/1".into())
    );
    assert_eq!(w.uint(option::CONTENT_FORMAT), Some(cf::TEXT.into()));
    assert_eq!(w.payload, b"3600");
    c.respond(&w, code::CHANGED, &[], b"");
    assert_eq!(limited(&events), "lifetime 3600 s written to /1/0/1: 2.04");
    // An Update asking for more is shortened and written again; a 4.05 is reported.
    let id = r.strs(option::LOCATION_PATH)[1].clone();
    let r = c.request(code::POST, &update_opts(&id, 7200), b"");
    assert_eq!(r.code, code::CHANGED);
    assert!(limited(&events).contains("lifetime 7200 s shortened"));
    let w = c.recv_request();
    assert_eq!(w.uri_path().join("/"), "1/0/1");
    c.respond(&w, code::METHOD_NOT_ALLOWED, &[], b"");
    assert_eq!(limited(&events), "lifetime 3600 s written to /1/0/1: 4.05");
    // Several Server instances (one per server): which is ours is not known, nothing written.
    let mut d = FakeClient::new(server.coap_addr());
    let r = d.request(code::POST, &register_opts("two", 100_000), b"</1/0>,</1/1>");
    assert_eq!(r.code, code::CREATED);
    assert!(limited(&events).contains("shortened"));
    assert_eq!(
        limited(&events),
        "lifetime not written: which of /1/0, /1/1 is this server's is not known"
    );
    let sent = d.recv_where_for(std::time::Duration::from_millis(300), |m| {
        code::is_request(m.code)
    });
    assert_eq!(sent, None);
}
