//! The front ends on a [`crate::ServerHandle`]: the HTTP/JSON API ([`http`], served by
//! `http_server`) and the line console ([`cli`]).

pub mod cli;
pub mod http;
mod http_server;
