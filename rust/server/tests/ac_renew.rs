//! The policy's two lifetimes: `lifetime=` per grant (install or refresh) and `renew=`, how
//! long after the first grant refreshes are granted. A refresh beyond the bound is refused
//! and the accounts end at their lifetime.

mod common;

use common::*;
use lwm2m::c2c::rights;
use lwm2m::coap::code;
use lwm2m::Path;
use lwm2m_server::{Event, Policy};

fn refused_event(events: &std::sync::mpsc::Receiver<Event>) -> String {
    match wait_event(
        events,
        |e| matches!(e, Event::AccessRequest { decision, .. } if decision == "denied"),
    ) {
        Event::AccessRequest {
            reason, code: c, ..
        } => {
            assert_eq!(c, code::FORBIDDEN);
            reason
        }
        _ => unreachable!(),
    }
}

#[test]
fn renew_no_refuses_every_refresh() {
    let policy = "allow requester=switch host=lamp path=/3311 rights=read lifetime=60 renew=no";
    let (server, events, mut host, mut req) = c2c_setup(policy, |_| {});
    let g = [(Path::instance(3311, 0), rights::READ)];
    let (h, r, _) = authorize(&mut host, &mut req, "lamp", &g, true);
    assert_eq!(int(val(&h, Path::resource(11001, 1, 1))), 60);
    assert_eq!(int(val(&r, Path::resource(11001, 0, 1))), 60);
    // The refresh (no `c`) and a request for new credentials are both refused.
    for query in [&["ep=lamp"][..], &["ep=lamp", "c"]] {
        let a = req.ac_error(&ac_options(query, Some(60)), &rights_map(&g));
        assert_eq!(a.code, code::FORBIDDEN, "{query:?}");
        assert!(refused_event(&events).contains("renew=no"));
    }
    // Nothing was written to the clients for them.
    assert!(host
        .recv_where_for(std::time::Duration::from_millis(300), |m| code::is_request(
            m.code
        ))
        .is_none());
    assert_eq!(server.grants().as_array().unwrap().len(), 1);
    server.shutdown();
}

#[test]
fn refresh_beyond_the_bound_is_refused_and_the_account_ends() {
    // First grant under a rule without bound: lifetime 3 s.
    let (server, events, mut host, mut req) = c2c_setup(
        "allow requester=switch host=lamp path=/3311 rights=read lifetime=3",
        |_| {},
    );
    let g = [(Path::instance(3311, 0), rights::READ)];
    let (h, _, _) = authorize(&mut host, &mut req, "lamp", &g, true);
    assert_eq!(int(val(&h, Path::resource(11001, 1, 1))), 3);
    // The operator tightens the policy: refreshes only within 1 s of the first grant.
    server.set_policy(
        Policy::parse("allow requester=switch host=lamp path=/3311 rights=read lifetime=3 renew=1")
            .unwrap(),
    );
    // Past the bound, while the accounts still run (3 s): the refresh is refused.
    std::thread::sleep(std::time::Duration::from_millis(1200));
    assert_eq!(server.grants().as_array().unwrap().len(), 1);
    let a = req.ac_error(&ac_options(&["ep=lamp"], Some(60)), &rights_map(&g));
    assert_eq!(a.code, code::FORBIDDEN);
    assert!(refused_event(&events).contains("renewal limit"));
    // The accounts end: the server forgets the pair and its grants.
    wait_event(&events, |e| matches!(e, Event::GrantsExpired { .. }));
    assert!(server.grants().as_array().unwrap().is_empty());
    // A refresh after the end has nothing to renew.
    let a = req.ac_error(&ac_options(&["ep=lamp"], Some(60)), &rights_map(&g));
    assert_eq!(a.code, code::BAD_REQUEST);
    server.shutdown();
}

#[test]
fn renew_bound_caps_the_first_grant() {
    let policy = "allow requester=switch host=lamp path=/3311 rights=read lifetime=600 renew=30";
    let (server, _events, mut host, mut req) = c2c_setup(policy, |_| {});
    let g = [(Path::instance(3311, 0), rights::READ)];
    let (h, _, _) = authorize(&mut host, &mut req, "lamp", &g, true);
    assert_eq!(int(val(&h, Path::resource(11001, 1, 1))), 30);
    // A refresh is cut to what is left of the 30 s, on both clients.
    let (h, r, _) = authorize(&mut host, &mut req, "lamp", &g, false);
    let written = int(val(&h, Path::resource(11001, 1, 1)));
    assert!((29..=30).contains(&written), "{written}");
    assert_eq!(int(val(&r, Path::resource(11001, 0, 1))), written);
    server.shutdown();
}
