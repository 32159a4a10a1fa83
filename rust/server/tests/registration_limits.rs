//! Registry bounds (`--max-registrations`, `--max-lifetime`): a full registry refuses new
//! endpoints with 5.03 and says so in an event, registered endpoints still get in, and a
//! lifetime above the maximum is shortened (issue 13, item 3).

mod common;

use common::*;
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
    let server = start(|c| {
        c.registrations = RegistryLimits {
            max_lifetime: 3600,
            ..RegistryLimits::default()
        }
    });
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
    let r = c.request(
        code::POST,
        &[
            (option::URI_PATH, b"rd".to_vec()),
            (option::URI_PATH, id.into_bytes()),
            (option::URI_QUERY, b"lt=100000".to_vec()),
        ],
        b"",
    );
    assert_eq!(r.code, code::CHANGED);
    assert_eq!(server.client("forever").unwrap().lifetime, 3600);
    // One within the bound is kept.
    let mut d = FakeClient::new(server.coap_addr());
    d.register("short", 60, "</3/0>");
    assert_eq!(server.client("short").unwrap().lifetime, 60);
}
