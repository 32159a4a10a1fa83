//! Operator side: revoking grants (deletes observed at the fake clients) and reloading the
//! policy.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use common::*;
use lwm2m::c2c::rights;
use lwm2m::coap::code;
use lwm2m::Path;
use lwm2m_server::{cli, Event, ServerError};

const POLICY: &str = "allow requester=switch host=lamp path=/3311";

#[test]
fn revoking_the_last_grant_deletes_grant_and_accounts() {
    let (server, events, mut host, mut req) = c2c_setup(POLICY, |_| {});
    let g = [(Path::instance(3311, 0), rights::READ)];
    let (h, _, _) = authorize(&mut host, &mut req, "lamp", &g, true);
    let sid = int(val(&h, Path::resource(11001, 1, 0)));
    let grants = server.grants();
    let id = grants[0]["id"].as_u64().unwrap();
    let listed = cli::run_command(&server, &cli::parse_command("grants").unwrap());
    assert!(listed.contains("\"/3311/0\""), "{listed}");

    let s = server.clone();
    let revoke = std::thread::spawn(move || {
        cli::run_command(&s, &cli::parse_command(&format!("revoke {id}")).unwrap())
    });
    assert_eq!(
        host.answer_deletes(3),
        vec!["11002/0", "11001/1", "11000/1"]
    );
    assert_eq!(req.answer_deletes(2), vec!["11001/0", "11000/0"]);
    let report: serde_json::Value = serde_json::from_str(&revoke.join().unwrap()).unwrap();
    assert_eq!(report["accounts_removed"], true);
    assert_eq!(report["failures"].as_array().unwrap().len(), 0);
    assert_eq!(server.grants().as_array().unwrap().len(), 0);
    let ev = wait_event(&events, |e| matches!(e, Event::GrantRevoked { .. }));
    assert!(matches!(ev, Event::GrantRevoked { grant, accounts_removed: true, .. } if grant == id));

    // A new authorization reuses the instance IDs but not yet the Short Client ID.
    let (h, _, _) = authorize(&mut host, &mut req, "lamp", &g, true);
    assert_eq!(instances(&h, 11001), vec![1]);
    assert_ne!(int(val(&h, Path::resource(11001, 1, 0))), sid);
    assert_eq!(
        server.revoke(999),
        Err(ServerError::UnknownId(999)),
        "unknown grant"
    );
    server.shutdown();
}

#[test]
fn revoking_one_of_two_grants_keeps_the_accounts() {
    let (server, _events, mut host, mut req) = c2c_setup(POLICY, |c| {
        c.http_addr = Some("127.0.0.1:0".into());
    });
    let api = server.http_addr().unwrap();
    let g = [
        (Path::instance(3311, 0), rights::READ),
        (Path::instance(3311, 1), rights::WRITE),
    ];
    authorize(&mut host, &mut req, "lamp", &g, true);
    let (_, list) = http_json(api, "GET", "/api/grants", "");
    assert_eq!(list.as_array().unwrap().len(), 2);
    let second = list
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["path"] == "/3311/1")
        .unwrap()["id"]
        .as_u64()
        .unwrap();
    let t =
        std::thread::spawn(move || http_json(api, "DELETE", &format!("/api/grants/{second}"), ""));
    assert_eq!(host.answer_deletes(1), vec!["11002/1"]);
    let (status, report) = t.join().unwrap();
    assert_eq!(status, 200);
    assert_eq!(report["accounts_removed"], false);
    let m = req.recv_where_for(std::time::Duration::from_millis(250), |m| {
        code::is_request(m.code)
    });
    assert!(m.is_none(), "the requester keeps its account");
    let (_, list) = http_json(api, "GET", "/api/grants", "");
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(http_json(api, "DELETE", "/api/grants/77", "").0, 404);
    assert_eq!(http_json(api, "DELETE", "/api/grants/x", "").0, 400);
    server.shutdown();
}

#[test]
fn policy_reload_by_api_and_flag_keeps_old_policy_on_errors() {
    let file = std::env::temp_dir().join(format!("ac-policy-{}.txt", std::process::id()));
    std::fs::write(&file, "deny\n").unwrap();
    let flag = Arc::new(AtomicBool::new(false));
    let (f2, fl2) = (file.clone(), flag.clone());
    let (server, events, mut host, mut req) = c2c_setup("deny", move |c| {
        c.http_addr = Some("127.0.0.1:0".into());
        c.c2c.policy_file = Some(f2);
        c.c2c.reload_flag = Some(fl2);
    });
    let api = server.http_addr().unwrap();
    let g = [(Path::instance(3311, 0), rights::READ)];
    let opts = ac_options(&["ep=lamp", "c"], Some(60));
    assert_eq!(req.ac_error(&opts, &rights_map(&g)).code, code::FORBIDDEN);

    // A broken file: 400 with the line, the old policy stays.
    std::fs::write(&file, "allow\nallow rights=sometimes\n").unwrap();
    let (status, body) = http_json(api, "POST", "/api/policy/reload", "");
    assert_eq!(status, 400);
    assert!(body["error"].as_str().unwrap().contains("line 2"), "{body}");
    let ev = wait_event(&events, |e| matches!(e, Event::PolicyReloadFailed { .. }));
    assert!(matches!(ev, Event::PolicyReloadFailed { error } if error.contains("line 2")));
    assert_eq!(req.ac_error(&opts, &rights_map(&g)).code, code::FORBIDDEN);

    // Fixed: the API reload takes it.
    std::fs::write(&file, "# ok now\nallow host=lamp path=/3311 rights=read\n").unwrap();
    assert_eq!(
        http_json(api, "POST", "/api/policy/reload", ""),
        (200, serde_json::json!({"rules": 1}))
    );
    authorize(&mut host, &mut req, "lamp", &g, true);

    // The signal flag: the event loop reloads by itself.
    std::fs::write(&file, "deny\ndeny\n").unwrap();
    flag.store(true, Ordering::Relaxed);
    // (The API reload above reported 1 rule.)
    let ev = wait_event(
        &events,
        |e| matches!(e, Event::PolicyReloaded { rules } if *rules != 1),
    );
    assert_eq!(ev, Event::PolicyReloaded { rules: 2 });
    assert!(!flag.load(Ordering::Relaxed));
    let (_, p) = http_json(api, "GET", "/api/policy", "");
    assert_eq!(p.as_array().unwrap().len(), 2);
    let g1 = [(Path::instance(3311, 1), rights::READ)];
    assert_eq!(
        req.ac_error(&ac_options(&["ep=lamp"], Some(60)), &rights_map(&g1))
            .code,
        code::FORBIDDEN
    );
    let _ = std::fs::remove_file(&file);
    server.shutdown();
}
