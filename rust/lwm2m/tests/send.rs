//! Send (LwM2M 1.1 information reporting): `Engine::send` queues a CON `POST /dp`, the poll
//! emits it with SenML CBOR or LwM2M CBOR, Mute Send (/1/x/23) refuses, one Send per server,
//! and the outcome of each.
#![cfg(feature = "send")]

mod common;

use common::*;
use lwm2m::coap::{code, content_format as cf, option, MessageType};
use lwm2m::config::MAX_SEND_PATHS;
use lwm2m::engine::{Destination, Engine, SendError, SendOutcome, SendResult};
use lwm2m::{Error, Path};

const S: u16 = 1;

fn registered(ssids: &[u16]) -> Engine<'static> {
    let mut e = engine(ssids);
    register_all(&mut e, 0);
    e
}

fn paths(list: &[&str]) -> Vec<Path> {
    list.iter().map(|p| Path::parse_str(p).unwrap()).collect()
}

/// Polls the one Send that must be due now.
fn the_send(e: &mut Engine<'_>, ssid: u16) -> Resp {
    let (o, r) = poll(e, 10).expect("the Send");
    assert_eq!(o.dest, Destination::Server(ssid));
    assert!(o.confirmable);
    assert_eq!(r.mtype, MessageType::Con);
    assert_eq!(r.code, code::POST);
    assert_eq!(r.path_of(option::URI_PATH), "/dp");
    assert!(poll(e, 10).is_none(), "one Send, once");
    r
}

fn result(ssid: u16, outcome: SendOutcome) -> Option<SendResult> {
    Some(SendResult { ssid, outcome })
}

#[test]
fn senml_cbor_payload_names_the_values_and_2_04_is_delivered() {
    let mut e = registered(&[S]);
    let ps = paths(&["/3303/0/5700", "/3/0/0"]);
    assert_eq!(e.next_wakeup().map(|t| t > 10), Some(true));
    e.send(S, &ps, cf::SENML_CBOR, 10).unwrap();
    assert_eq!(e.next_wakeup(), Some(0), "the Send is due now");
    let r = the_send(&mut e, S);
    assert_eq!(r.uint(option::CONTENT_FORMAT), Some(cf::SENML_CBOR.into()));
    // A CBOR array of SenML records, each naming its full path.
    assert_eq!(r.payload[0] & 0xe0, 0x80, "{:02x?}", r.payload);
    assert_eq!(
        values(&r, "/"),
        vec![
            (Path::parse_str("/3303/0/5700").unwrap(), V::F(21.5)),
            (Path::parse_str("/3/0/0").unwrap(), V::S("ACME".into())),
        ]
    );
    assert_eq!(e.take_send_result(), None, "no outcome before the answer");
    answer(&mut e, &r, code::CHANGED, &[], 20);
    assert_eq!(e.take_send_result(), result(S, SendOutcome::Delivered));
    assert_eq!(e.take_send_result(), None);
}

#[test]
fn lwm2m_cbor_payload_of_an_instance() {
    let mut e = registered(&[S]);
    e.send(S, &paths(&["/3303/1"]), cf::LWM2M_CBOR, 10).unwrap();
    let r = the_send(&mut e, S);
    assert_eq!(r.uint(option::CONTENT_FORMAT), Some(cf::LWM2M_CBOR.into()));
    let got = values(&r, "/");
    let read = send(
        &mut e,
        server(S),
        &get("/3303/1").accept(cf::LWM2M_CBOR),
        10,
    );
    assert_eq!(read.code, code::CONTENT);
    assert_eq!(got, values(&read, "/3303/1"), "the Read's records");
    assert!(got.contains(&(Path::parse_str("/3303/1/5700").unwrap(), V::F(21.5))));
}

#[test]
fn values_are_those_of_the_poll() {
    let mut e = registered(&[S]);
    let p = Path::parse_str("/3303/0/5700").unwrap();
    e.send(S, &[p], cf::SENML_CBOR, 10).unwrap();
    e.set_value(&p, lwm2m::Value::Float(30.25), 10).unwrap();
    let r = the_send(&mut e, S);
    assert_eq!(values(&r, "/"), vec![(p, V::F(30.25))]);
}

#[test]
fn mute_send_true_refuses_false_sends() {
    let mut e = registered(&[S]);
    assert_eq!(read_value(&mut e, server(S), "/1/0/23", 1), Ok(V::B(false)));
    let ps = paths(&["/3/0/0"]);
    assert_eq!(
        put_text(&mut e, server(S), "/1/0/23", "1", 1).code,
        code::CHANGED
    );
    assert_eq!(e.send(S, &ps, cf::SENML_CBOR, 2), Err(SendError::Muted));
    assert!(poll(&mut e, 10).is_none(), "nothing queued");
    assert_eq!(e.take_send_result(), None);
    assert_eq!(
        put_text(&mut e, server(S), "/1/0/23", "0", 3).code,
        code::CHANGED
    );
    e.send(S, &ps, cf::SENML_CBOR, 4).unwrap();
    the_send(&mut e, S);
}

#[test]
fn mute_set_while_queued_drops_it_with_an_outcome() {
    let mut e = registered(&[S]);
    e.send(S, &paths(&["/3/0/0"]), cf::SENML_CBOR, 1).unwrap();
    assert_eq!(
        put_text(&mut e, server(S), "/1/0/23", "1", 2).code,
        code::CHANGED
    );
    assert!(poll(&mut e, 10).is_none());
    assert_eq!(
        e.take_send_result(),
        result(S, SendOutcome::NotSent(SendError::Muted))
    );
    assert_eq!(e.next_wakeup().map(|t| t > 10), Some(true));
}

#[test]
fn not_registered_refuses() {
    let mut e = engine(&[S]);
    let ps = paths(&["/3/0/0"]);
    assert_eq!(
        e.send(S, &ps, cf::SENML_CBOR, 0),
        Err(SendError::NotRegistered)
    );
    e.start(0);
    let (_, reg) = poll(&mut e, 0).expect("Register");
    assert_eq!(
        e.send(S, &ps, cf::SENML_CBOR, 0),
        Err(SendError::NotRegistered)
    );
    answer(&mut e, &reg, code::CREATED, &["rd", "1"], 0);
    assert_eq!(
        e.send(7, &ps, cf::SENML_CBOR, 0),
        Err(SendError::NotRegistered)
    );
    e.send(S, &ps, cf::SENML_CBOR, 0).unwrap();
}

#[test]
fn busy_until_the_outcome_is_taken_per_server() {
    let mut e = registered(&[S, 2]);
    let ps = paths(&["/3/0/0"]);
    // Two servers: each reads only what an Access Control instance grants it.
    assert_eq!(
        e.send(S, &ps, cf::SENML_CBOR, 1),
        Err(SendError::Data(Error::Unauthorized))
    );
    bs_acl(&mut e, 0, 3, 0, &[(S, 1), (2, 1)], S);
    e.send(S, &ps, cf::SENML_CBOR, 1).unwrap();
    assert_eq!(
        e.send(S, &ps, cf::SENML_CBOR, 1),
        Err(SendError::Busy),
        "queued"
    );
    e.send(2, &ps, cf::SENML_CBOR, 1).unwrap();
    let (o1, r1) = poll(&mut e, 10).unwrap();
    let (o2, r2) = poll(&mut e, 10).unwrap();
    assert_eq!(
        (o1.dest, o2.dest),
        (Destination::Server(S), Destination::Server(2))
    );
    assert_ne!(r1.token, r2.token);
    assert_eq!(
        e.send(S, &ps, cf::SENML_CBOR, 11),
        Err(SendError::Busy),
        "in flight"
    );
    answer(&mut e, &r1, code::CHANGED, &[], 12);
    assert_eq!(
        e.send(S, &ps, cf::SENML_CBOR, 12),
        Err(SendError::Busy),
        "not taken"
    );
    assert_eq!(e.take_send_result(), result(S, SendOutcome::Delivered));
    e.send(S, &ps, cf::SENML_CBOR, 13).unwrap();
}

#[test]
fn error_answer_and_timeout_are_reported() {
    let mut e = registered(&[S]);
    let ps = paths(&["/3/0/0"]);
    e.send(S, &ps, cf::SENML_CBOR, 1).unwrap();
    let r = the_send(&mut e, S);
    assert_eq!(e.send(S, &ps, cf::SENML_CBOR, 2), Err(SendError::Busy));
    answer(&mut e, &r, code::BAD_REQUEST, &[], 2);
    assert_eq!(e.send(S, &ps, cf::SENML_CBOR, 2), Err(SendError::Busy));
    assert_eq!(
        e.take_send_result(),
        result(S, SendOutcome::Rejected(code::BAD_REQUEST))
    );
    // A late duplicate answer to the finished Send changes nothing.
    answer(&mut e, &r, code::CHANGED, &[], 3);
    assert_eq!(e.take_send_result(), None);

    e.send(S, &ps, cf::SENML_CBOR, 4).unwrap();
    let r = the_send(&mut e, S);
    e.request_failed(Destination::Server(S), &r.token, 5);
    assert_eq!(e.take_send_result(), result(S, SendOutcome::Timeout));
    assert_eq!(
        lwm2m::engine::RegistrationState::Registered,
        e.registration_state(S),
        "a failed Send leaves the registration alone"
    );
}

#[test]
fn bad_sends_are_refused_with_the_reason() {
    let mut e = registered(&[S]);
    let data = |e: Error| Err(SendError::Data(e));
    assert_eq!(e.send(S, &[], cf::SENML_CBOR, 1), data(Error::BadRequest));
    assert_eq!(
        e.send(S, &[Path::ROOT], cf::SENML_CBOR, 1),
        data(Error::BadRequest)
    );
    assert_eq!(
        e.send(S, &paths(&["/3/0/0"]), cf::LWM2M_TLV, 1),
        data(Error::NotAcceptable)
    );
    assert_eq!(
        e.send(S, &paths(&["/3303/9/5700"]), cf::SENML_CBOR, 1),
        data(Error::NotFound)
    );
    let many = vec![Path::parse_str("/3/0/0").unwrap(); MAX_SEND_PATHS + 1];
    assert_eq!(
        e.send(S, &many, cf::SENML_CBOR, 1),
        data(Error::RequestEntityTooLarge)
    );
    assert!(poll(&mut e, 10).is_none(), "nothing queued");
    // Refusals leave no Send behind: a good one goes.
    e.send(S, &many[..MAX_SEND_PATHS], cf::SENML_CBOR, 1)
        .unwrap();
    the_send(&mut e, S);
}

#[test]
fn payload_larger_than_the_poll_buffer_is_not_sent() {
    let mut e = registered(&[S]);
    e.send(S, &paths(&["/3"]), cf::SENML_CBOR, 1).unwrap();
    let mut small = [0u8; 24];
    assert!(e.poll(10, &mut small).is_none());
    assert_eq!(
        e.take_send_result(),
        result(
            S,
            SendOutcome::NotSent(SendError::Data(Error::RequestEntityTooLarge))
        )
    );
}
