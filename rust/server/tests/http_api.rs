//! The HTTP/JSON API over loopback TCP.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::thread;

use common::*;
use lwm2m::coap::{code, option};
use serde_json::{json, Value};

fn http(addr: SocketAddr, method: &str, target: &str, body: &str) -> (u16, Value) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(WAIT)).unwrap();
    write!(
        s,
        "{method} {target} HTTP/1.1\r\nHost: test\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    let status: u16 = resp.split(' ').nth(1).unwrap().parse().unwrap();
    let body = resp.split_once("\r\n\r\n").unwrap().1;
    (status, serde_json::from_str(body).unwrap())
}

#[test]
fn clients_read_and_errors() {
    let server = start(|cfg| cfg.http_addr = Some("127.0.0.1:0".into()));
    let api = server.http_addr().unwrap();
    assert_eq!(http(api, "GET", "/api/clients", ""), (200, json!([])));

    let mut c = FakeClient::new(server.coap_addr());
    c.register("web-1", 300, "");
    let (status, list) = http(api, "GET", "/api/clients", "");
    assert_eq!(status, 200);
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["endpoint"], "web-1");
    assert_eq!(list[0]["lifetime"], 300);
    assert_eq!(
        http(api, "GET", "/api/clients/web-1", "").1["endpoint"],
        "web-1"
    );
    assert_eq!(http(api, "GET", "/api/clients/nobody", "").0, 404);
    assert_eq!(http(api, "GET", "/api/clients/nobody/3/0", "").0, 404);
    assert_eq!(http(api, "GET", "/api/clients/web-1/3/x", "").0, 400);
    assert_eq!(http(api, "GET", "/api/nothing", "").0, 404);

    // A read through HTTP, answered by the fake client in text.
    let t = thread::spawn(move || http(api, "GET", "/api/clients/web-1/3/0/1?format=text", ""));
    let req = c.recv_request();
    assert_eq!(req.uri_path(), vec!["3", "0", "1"]);
    assert_eq!(req.uint(option::ACCEPT), Some(0));
    c.respond(
        &req,
        code::CONTENT,
        &[(option::CONTENT_FORMAT, uint(0))],
        b"Model-9",
    );
    let (status, body) = t.join().unwrap();
    assert_eq!(status, 200);
    assert_eq!(body["code"], "2.05");
    assert_eq!(
        body["values"],
        json!([{"path":"/3/0/1","value":"Model-9","type":"string"}])
    );

    // A write with a JSON body.
    let t = thread::spawn(move || {
        http(
            api,
            "PUT",
            "/api/clients/web-1/3/0/14?format=text",
            r#""+05""#,
        )
    });
    let req = c.recv_request();
    assert_eq!((req.code, req.payload.as_slice()), (code::PUT, &b"+05"[..]));
    c.respond(&req, code::CHANGED, &[], b"");
    assert_eq!(t.join().unwrap().1["code"], "2.04");
    server.shutdown();
}

#[test]
fn event_stream_reports_registration() {
    let server = start(|cfg| cfg.http_addr = Some("127.0.0.1:0".into()));
    let api = server.http_addr().unwrap();
    let mut s = TcpStream::connect(api).unwrap();
    s.set_read_timeout(Some(WAIT)).unwrap();
    s.write_all(b"GET /api/events HTTP/1.1\r\nHost: test\r\n\r\n")
        .unwrap();
    let mut r = BufReader::new(s);
    let mut line = String::new();
    r.read_line(&mut line).unwrap();
    assert!(line.starts_with("HTTP/1.1 200"), "{line}");
    loop {
        line.clear();
        r.read_line(&mut line).unwrap();
        if line == "\r\n" {
            break;
        }
    }
    // The subscription exists once the headers are out; now register.
    let mut c = FakeClient::new(server.coap_addr());
    c.register("streamed", 300, "");
    // Chunk size line, then the JSON line.
    line.clear();
    r.read_line(&mut line).unwrap();
    assert!(usize::from_str_radix(line.trim(), 16).unwrap() > 0);
    line.clear();
    r.read_line(&mut line).unwrap();
    let ev: Value = serde_json::from_str(line.trim()).unwrap();
    assert_eq!(ev["event"], "registered");
    assert_eq!(ev["endpoint"], "streamed");
    server.shutdown();
}
