//! `POST /ac` bounded (issue 13 item 4): the per-requester rate limit (5.03 with Max-Age) and
//! no re-keying of accounts that still hold.

mod common;

use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use common::*;
use lwm2m::c2c::rights;
use lwm2m::coap::{code, option, MessageType};
use lwm2m::Path;
use lwm2m_server::access::limit::AcRateLimit;
use lwm2m_server::Event;

const POLICY: &str = "allow host=lamp path=/3311 rights=read,write lifetime=600";
const BURST: u32 = 3;
const REFILL: Duration = Duration::from_secs(10);

fn limited(cfg: &mut lwm2m_server::Config) {
    cfg.c2c.rate_limit = AcRateLimit {
        burst: BURST,
        refill: REFILL,
    };
}

/// The decisions of the access-request events received so far.
fn decisions(events: &Receiver<Event>) -> Vec<String> {
    drain(events)
        .into_iter()
        .filter_map(|e| match e {
            Event::AccessRequest { decision, .. } => Some(decision),
            _ => None,
        })
        .collect()
}

/// True if the fake client receives any request within a short while.
fn gets_a_request(c: &mut FakeClient) -> bool {
    c.recv_where_for(Duration::from_millis(300), |m| code::is_request(m.code))
        .is_some()
}

#[test]
fn a_thousand_requests_from_one_requester_are_bounded_and_others_served() {
    let (_server, events, mut host, mut req) = c2c_setup(POLICY, limited);
    let g = [(Path::instance(3311, 0), rights::READ)];
    let opts = ac_options(&["ep=lamp", "c"], Some(60));
    let start = Instant::now();
    // The first one installs (one token).
    authorize(&mut host, &mut req, "lamp", &g, true);
    let (mut created, mut unavailable) = (1u32, 0u32);
    for i in 0..999 {
        let r = req.ac_error(&opts, &rights_map(&g));
        assert_eq!(r.mtype, MessageType::Ack, "request {i} answered at once");
        match r.code {
            code::CREATED => created += 1,
            code::SERVICE_UNAVAILABLE => {
                unavailable += 1;
                let age = r.uint(option::MAX_AGE).expect("5.03 carries Max-Age");
                assert!(
                    (1..=REFILL.as_secs() as u32).contains(&age),
                    "Max-Age {age}"
                );
            }
            other => panic!("request {i}: unexpected {other:#x}"),
        }
    }
    // Tokens: the burst plus one per refill period that passed (counted, not asserted).
    let refills = (start.elapsed().as_secs() / REFILL.as_secs()) as u32;
    assert!(created <= BURST + refills, "{created} answered 2.01");
    assert_eq!(created + unavailable, 1000);
    // Nothing more was written to either client: the one install only.
    assert!(!gets_a_request(&mut host));
    assert!(!gets_a_request(&mut req));
    let d = decisions(&events);
    assert_eq!(d.iter().filter(|d| *d == "allowed").count(), 1);
    assert_eq!(
        d.iter().filter(|d| *d == "rate-limited").count() as u32,
        unavailable
    );

    // Another requester has its own bucket.
    let mut other = FakeClient::new(host.server);
    other.register("knob", 300, REQUESTER_LINKS);
    authorize(&mut host, &mut other, "lamp", &g, true);
}

#[test]
fn a_valid_grant_is_answered_without_writing() {
    let (_server, events, mut host, mut req) = c2c_setup(POLICY, |_| {});
    let g = [(Path::instance(3311, 0), rights::READ | rights::WRITE)];
    authorize(&mut host, &mut req, "lamp", &g, true);
    drain(&events);
    // Same pair, same registrations, rights covered (all of them, or fewer): 2.01 at once.
    for asked in [g[0].1, rights::READ] {
        let r = req.ac_error(
            &ac_options(&["ep=lamp", "c"], Some(60)),
            &rights_map(&[(g[0].0, asked)]),
        );
        assert_eq!((r.mtype, r.code), (MessageType::Ack, code::CREATED));
        assert!(!gets_a_request(&mut host), "nothing written to the host");
        assert!(
            !gets_a_request(&mut req),
            "nothing written to the requester"
        );
    }
    assert_eq!(decisions(&events), ["existing", "existing"]);
    // A right not granted yet is a new install.
    let g2 = [(Path::instance(3311, 1), rights::READ)];
    authorize(&mut host, &mut req, "lamp", &g2, true);
    assert_eq!(decisions(&events), ["allowed"]);
}

#[test]
fn a_client_that_registered_again_gets_a_new_install() {
    let (_server, events, mut host, mut req) = c2c_setup(POLICY, |_| {});
    let g = [(Path::instance(3311, 0), rights::READ)];
    authorize(&mut host, &mut req, "lamp", &g, true);
    // The requester rebooted: it lost its accounts and registers again.
    std::thread::sleep(Duration::from_millis(20));
    req.register("switch", 300, REQUESTER_LINKS);
    drain(&events);
    authorize(&mut host, &mut req, "lamp", &g, true);
    assert_eq!(decisions(&events), ["allowed"]);
    // The same for the host.
    std::thread::sleep(Duration::from_millis(20));
    host.register("lamp", 300, HOST_LINKS);
    authorize(&mut host, &mut req, "lamp", &g, true);
    assert_eq!(decisions(&events), ["allowed"]);
    // And then, nothing changed: answered from the grant.
    let r = req.ac_error(&ac_options(&["ep=lamp", "c"], Some(60)), &rights_map(&g));
    assert_eq!((r.mtype, r.code), (MessageType::Ack, code::CREATED));
    assert!(!gets_a_request(&mut host));
    assert_eq!(decisions(&events), ["existing"]);
}
