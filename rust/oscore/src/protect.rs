//! Protecting and unprotecting whole CoAP datagrams (RFC 8613 sections 5 and 8): requests and
//! responses, the Echo exchange of appendix B.1.2, and the Observe handling of 4.1.3.5.

use super::*;

/// Outer header fields copied from a datagram before it is decrypted in place.
struct Header {
    mtype: MessageType,
    mid: u16,
    token: [u8; 8],
    tkl: usize,
}

impl Header {
    fn of(m: &Message<'_>) -> Self {
        let mut token = [0; 8];
        token[..m.token.len()].copy_from_slice(m.token);
        Header {
            mtype: m.mtype,
            mid: m.message_id,
            token,
            tkl: m.token.len(),
        }
    }
    fn token(&self) -> &[u8] {
        self.token.get(..self.tkl).unwrap_or(&[])
    }
    /// Writes header and token, returning the code byte and the rest of the buffer.
    fn write<'b>(&self, out: &'b mut [u8]) -> Result<(&'b mut u8, &'b mut [u8]), Error> {
        let n = MessageBuilder::new(out, self.mtype, 0, self.mid, self.token())?.finish();
        let (head, tail) = out.split_at_mut(n);
        let code = head.get_mut(1).ok_or(Error::BufferTooSmall)?;
        Ok((code, tail))
    }
}

/// Copies the decrypted message into `out` as plain CoAP.
///
/// `outer_observe` is the value of the outer Observe option of a response: RFC 8613 section
/// 4.1.3.5 puts the notification number there and leaves the inner Observe value empty, so
/// when the (authenticated) inner message has an Observe option, the plain message carries
/// the outer value instead. Without an inner Observe option the outer one is ignored.
fn write_plain(
    out: &mut [u8],
    h: &Header,
    pm: &liboscore::ProtectedMessage,
    outer_observe: Option<&[u8]>,
) -> Result<usize, Error> {
    let mut b = MessageBuilder::new(out, h.mtype, pm.code(), h.mid, h.token())?;
    for o in pm.options() {
        match (o.number(), outer_observe) {
            (option::OSCORE, _) => {}
            (option::OBSERVE, Some(v)) => b.option(option::OBSERVE, v)?,
            (n, _) => b.option(n, o.value())?,
        }
    }
    let p = pm.payload();
    if !p.is_empty() {
        b.payload(p)?;
    }
    Ok(b.finish())
}

/// Feeds the plain message's code, options (plus an Echo option, in order) and payload into
/// the message being protected.
fn write_inner(
    pm: &mut liboscore::ProtectedMessage,
    m: &Message<'_>,
    echo: Option<&[u8]>,
) -> Result<(), Error> {
    pm.set_code(m.code);
    // liboscore 0.2.7 writes the inner Observe option only when an option numbered 9 or above
    // follows; after a Location-Path (8) it is then out of order and liboscore panics
    // ("Truncation failed") when it finishes the message. Refuse that combination up front.
    if m.option(option::OBSERVE).is_some() && m.option(option::LOCATION_PATH).is_some() {
        return Err(Error::Malformed);
    }
    let mut echo = echo;
    for o in m.options() {
        if o.number == option::OSCORE {
            return Err(Error::Malformed);
        }
        if o.number > option::ECHO {
            if let Some(e) = echo.take() {
                pm.add_option(option::ECHO, e)
                    .map_err(|_| Error::BufferTooSmall)?;
            }
        }
        pm.add_option(o.number, o.value)
            .map_err(|_| Error::BufferTooSmall)?;
    }
    if let Some(e) = echo {
        pm.add_option(option::ECHO, e)
            .map_err(|_| Error::BufferTooSmall)?;
    }
    if !m.payload.is_empty() {
        pm.set_payload(m.payload)
            .map_err(|_| Error::BufferTooSmall)?;
    }
    Ok(())
}

/// Zeroes `out` when `r` is an error, so a failed operation never leaves plaintext behind.
fn scrub<T>(out: &mut [u8], r: Result<T, Error>) -> Result<T, Error> {
    if r.is_err() {
        out.fill(0);
    }
    r
}

/// Protects a plain CoAP request. Returns the protected length and the id for
/// [`unprotect_response`].
pub fn protect_request(
    ctx: &mut SecurityContext,
    store: &mut dyn SeqnoStore,
    plain: &[u8],
    out: &mut [u8],
) -> Result<(usize, RequestId), Error> {
    protect_request_with_echo(ctx, store, plain, None, out)
}

/// [`protect_request`] adding an Echo option (the value from [`echo_challenge`]) to the
/// encrypted options.
pub fn protect_request_with_echo(
    ctx: &mut SecurityContext,
    store: &mut dyn SeqnoStore,
    plain: &[u8],
    echo: Option<&[u8]>,
    out: &mut [u8],
) -> Result<(usize, RequestId), Error> {
    let r = protect_request_inner(ctx, store, plain, echo, out);
    scrub(out, r)
}

fn protect_request_inner(
    ctx: &mut SecurityContext,
    store: &mut dyn SeqnoStore,
    plain: &[u8],
    echo: Option<&[u8]>,
    out: &mut [u8],
) -> Result<(usize, RequestId), Error> {
    let m = Message::parse(plain).map_err(|_| Error::Malformed)?;
    if !code::is_request(m.code) {
        return Err(Error::Malformed);
    }
    let h = Header::of(&m);
    ctx.reserve(store, 1)?;
    let (code_byte, tail) = h.write(out)?;
    let mut msg = inmemory_write::Message::new(code_byte, tail);
    let (rid, inner) =
        liboscore::protect_request(&mut msg, &mut ctx.ctx, |pm| write_inner(pm, &m, echo))
            .map_err(|_| Error::BufferTooSmall)?;
    inner?;
    let mut len = 4 + h.tkl + msg.finish();
    // RFC 8613 section 4.2: an Observe registration goes as FETCH (liboscore always writes
    // POST); the outer code is not authenticated, so it may be changed after encryption.
    if m.option(option::OBSERVE).is_some() {
        out[1] = code::FETCH;
    }
    if ctx.send_kid_context {
        if let Some(c) = ctx.id_context() {
            let mut cb = [0; MAX_ID_CONTEXT_LEN];
            cb[..c.len()].copy_from_slice(c);
            len = insert_kid_context(out, len, &cb[..c.len()])?;
        }
    }
    Ok((len, RequestId::from_raw(&rid, ctx.sender_id())))
}

/// Size of an option header for this delta and value length (RFC 7252 section 3.1).
fn option_header_len(delta: usize, len: usize) -> usize {
    let ext = |v: usize| match v {
        0..13 => 0,
        13..269 => 1,
        _ => 2,
    };
    1 + ext(delta) + ext(len)
}

/// Rewrites the OSCORE option of a protected request in `buf[..len]` to carry `kid_context`.
/// The ID Context is not part of the AAD (RFC 8613 section 5.4), so the ciphertext stays valid.
fn insert_kid_context(buf: &mut [u8], len: usize, kid_context: &[u8]) -> Result<usize, Error> {
    let msg = buf.get(..len).ok_or(Error::Malformed)?;
    let m = Message::parse(msg).map_err(|_| Error::Malformed)?;
    let prev = m
        .options()
        .map(|o| o.number)
        .take_while(|&n| n < option::OSCORE)
        .last()
        .unwrap_or(0);
    let old = m.option(option::OSCORE).ok_or(Error::Malformed)?;
    let value_at = old.as_ptr() as usize - msg.as_ptr() as usize;
    let old_len = old.len();
    let mut value = [0u8; MAX_OPTION_LEN];
    let (&flags, rest) = old.split_first().ok_or(Error::Malformed)?;
    let n = usize::from(flags & 7);
    let (piv, kid) = rest.split_at_checked(n).ok_or(Error::Malformed)?;
    if flags & 0x10 != 0 || kid_context.len() > MAX_ID_CONTEXT_LEN || kid.len() > MAX_ID_LEN {
        return Err(Error::Malformed);
    }
    value[0] = flags | 0x10;
    value[1..1 + n].copy_from_slice(piv);
    value[1 + n] = kid_context.len() as u8;
    let c_end = 2 + n + kid_context.len();
    value[2 + n..c_end].copy_from_slice(kid_context);
    value[c_end..c_end + kid.len()].copy_from_slice(kid);
    let new_len = c_end + kid.len();

    let delta = usize::from(option::OSCORE - prev);
    let opt_at = value_at - option_header_len(delta, old_len);
    let new_value_at = opt_at + option_header_len(delta, new_len);
    let tail_at = value_at + old_len;
    let new_tail_at = new_value_at + new_len;
    let total = new_tail_at + (len - tail_at);
    if total > buf.len() {
        return Err(Error::BufferTooSmall);
    }
    buf.copy_within(tail_at..len, new_tail_at);
    // Both lengths are below 269 and the delta is at most 9: a one- or two-byte header.
    let (l, ext) = if new_len < 13 {
        (new_len as u8, None)
    } else {
        (13, Some((new_len - 13) as u8))
    };
    buf[opt_at] = (delta as u8) << 4 | l;
    if let Some(e) = ext {
        buf[opt_at + 1] = e;
    }
    buf[new_value_at..new_tail_at].copy_from_slice(&value[..new_len]);
    Ok(total)
}

/// Verifies and decrypts a protected request (decrypted in place in `protected`, whose content
/// is unspecified afterwards) and writes the plain CoAP request to `out`. Returns its length
/// and the request id, whose [`RequestId::kid`] is the verified requester.
///
/// Rejects a kid other than the context's Recipient ID ([`Error::UnknownKid`]), tampering
/// ([`Error::Invalid`]) and replays ([`Error::Replay`]); after [`SecurityContext::resume`] a
/// request without the right Echo value gets [`Error::EchoRequired`].
pub fn unprotect_request(
    ctx: &mut SecurityContext,
    protected: &mut [u8],
    out: &mut [u8],
) -> Result<(usize, RequestId), Error> {
    let r = unprotect_request_inner(ctx, protected, out);
    scrub(out, r)
}

fn unprotect_request_inner(
    ctx: &mut SecurityContext,
    protected: &mut [u8],
    out: &mut [u8],
) -> Result<(usize, RequestId), Error> {
    let m = Message::parse(protected).map_err(|_| Error::Malformed)?;
    if !code::is_request(m.code) {
        return Err(Error::Malformed);
    }
    let h = Header::of(&m);
    let value = m.option(option::OSCORE).ok_or(Error::NotProtected)?;
    let mut opt = [0u8; MAX_OPTION_LEN];
    let opt = opt.get_mut(..value.len()).ok_or(Error::Malformed)?;
    opt.copy_from_slice(value);
    let parsed = parse_oscore_option(opt)?;
    let kid = parsed.kid.ok_or(Error::Malformed)?;
    if parsed.piv.is_empty() {
        return Err(Error::Malformed);
    }
    if kid != ctx.recipient_id()
        || parsed
            .kid_context
            .is_some_and(|c| Some(c) != ctx.id_context())
    {
        return Err(Error::UnknownKid);
    }
    let seqno = parsed.piv.iter().fold(0u64, |a, &b| a << 8 | u64::from(b));

    // After a reboot the window is unknown: open it just for this sequence number so liboscore
    // verifies the request, then keep it only if the request echoes our challenge.
    let recovering = !ctx.replay_window_known();
    let echo = ctx.echo;
    let echo = echo.get(..usize::from(ctx.echo_len)).unwrap_or(&[]);
    if recovering {
        let p = primitive(&mut ctx.ctx);
        p.replay_window_left_edge = seqno as i64;
        p.replay_window = 0;
    }

    let (head, tail) = protected.split_at_mut(4 + h.tkl);
    let code_byte = head.get_mut(1).ok_or(Error::Malformed)?;
    let mut msg = inmemory_write::Message::new_from_existing(code_byte, tail);
    let oscore_opt = liboscore::OscoreOption::parse(opt).map_err(|_| Error::Malformed)?;
    let result = liboscore::unprotect_request(&mut msg, oscore_opt, &mut ctx.ctx, |pm| {
        let fresh = !recovering
            || (!echo.is_empty()
                && pm
                    .options()
                    .any(|o| o.number() == option::ECHO && o.value() == echo));
        if fresh {
            write_plain(out, &h, pm, None).map(Some)
        } else {
            Ok(None)
        }
    });
    let restore = |ctx: &mut SecurityContext| {
        if recovering {
            let p = primitive(&mut ctx.ctx);
            p.replay_window_left_edge = SEQNO_MAX as i64;
            p.replay_window = 0;
        }
    };
    match result {
        Ok((rid, Ok(Some(len)))) => {
            if recovering {
                ctx.echo_len = 0;
            }
            Ok((len, RequestId::from_raw(&rid, kid)))
        }
        Ok((mut rid, Ok(None))) => {
            restore(ctx);
            // The request may be a replay: its nonce must not protect our answer.
            rid.is_first_use = false;
            Err(Error::EchoRequired(RequestId::from_raw(&rid, kid)))
        }
        Ok((_, Err(e))) => {
            restore(ctx);
            Err(e)
        }
        Err(liboscore::UnprotectRequestError::Duplicate) => Err(Error::Replay),
        Err(_) => {
            restore(ctx);
            Err(Error::Invalid)
        }
    }
}

/// Protects a plain CoAP response to the request `id` (from [`unprotect_request`]).
pub fn protect_response(
    ctx: &mut SecurityContext,
    store: &mut dyn SeqnoStore,
    id: &mut RequestId,
    plain: &[u8],
    out: &mut [u8],
) -> Result<usize, Error> {
    let r = (|| {
        let m = Message::parse(plain).map_err(|_| Error::Malformed)?;
        if !code::is_response(m.code) {
            return Err(Error::Malformed);
        }
        let observe = m.option(option::OBSERVE).is_some();
        protect_response_msg(
            ctx,
            store,
            id,
            &Header::of(&m),
            observe,
            |pm| write_inner(pm, &m, None),
            out,
        )
    })();
    scrub(out, r)
}

fn protect_response_msg(
    ctx: &mut SecurityContext,
    store: &mut dyn SeqnoStore,
    id: &mut RequestId,
    h: &Header,
    observe: bool,
    writer: impl FnOnce(&mut liboscore::ProtectedMessage) -> Result<(), Error>,
    out: &mut [u8],
) -> Result<usize, Error> {
    ctx.reserve(store, u64::from(!id.first_use))?;
    let (code_byte, tail) = h.write(out)?;
    let mut msg = inmemory_write::Message::new(code_byte, tail);
    let mut raw_id = id.to_raw();
    let inner = liboscore::protect_response(&mut msg, &mut ctx.ctx, &mut raw_id, writer);
    id.first_use = raw_id.is_first_use;
    inner.map_err(|_| Error::BufferTooSmall)??;
    let len = 4 + h.tkl + msg.finish();
    // RFC 8613 section 4.2: 2.04 Changed, or 2.05 Content for notifications (liboscore always
    // writes 2.05). The outer code is not authenticated.
    if !observe {
        out[1] = code::CHANGED;
    }
    Ok(len)
}

/// Builds the protected 4.01 Unauthorized with an Echo option (RFC 8613 B.1.2) that answers a
/// request rejected with [`Error::EchoRequired`]. `protected_request` supplies the message
/// type, ID and token to answer (the outer header, which in-place decryption leaves intact);
/// a CON request gets a piggybacked ACK.
pub fn echo_response(
    ctx: &mut SecurityContext,
    store: &mut dyn SeqnoStore,
    id: &mut RequestId,
    protected_request: &[u8],
    out: &mut [u8],
) -> Result<usize, Error> {
    let r = (|| {
        let head = protected_request.get(..4).ok_or(Error::Malformed)?;
        let tkl = usize::from(head[0] & 0xf);
        let token = protected_request
            .get(4..4 + tkl)
            .filter(|_| tkl <= 8)
            .ok_or(Error::Malformed)?;
        let mut h = Header {
            mtype: if head[0] >> 4 & 3 == 0 {
                MessageType::Ack
            } else {
                MessageType::Non
            },
            mid: u16::from_be_bytes([head[2], head[3]]),
            token: [0; 8],
            tkl,
        };
        h.token[..tkl].copy_from_slice(token);
        let (echo, n) = ctx.echo_value(store)?;
        id.first_use = false;
        protect_response_msg(
            ctx,
            store,
            id,
            &h,
            false,
            |pm| {
                pm.set_code(code::UNAUTHORIZED);
                pm.add_option(option::ECHO, &echo[..n])
                    .map_err(|_| Error::BufferTooSmall)
            },
            out,
        )
    })();
    scrub(out, r)
}

/// Verifies and decrypts a protected response to the request `id` (from [`protect_request`]),
/// decrypting in place in `protected`, and writes the plain CoAP response to `out`.
///
/// A notification's plain form carries the outer Observe value (the notification number,
/// RFC 8613 section 4.1.3.5.2) in place of the empty inner one.
pub fn unprotect_response(
    ctx: &mut SecurityContext,
    id: &RequestId,
    protected: &mut [u8],
    out: &mut [u8],
) -> Result<usize, Error> {
    let r = (|| {
        let m = Message::parse(protected).map_err(|_| Error::Malformed)?;
        let h = Header::of(&m);
        let value = m.option(option::OSCORE).ok_or(Error::NotProtected)?;
        let mut opt = [0u8; MAX_OPTION_LEN];
        let opt = opt.get_mut(..value.len()).ok_or(Error::Malformed)?;
        opt.copy_from_slice(value);
        parse_oscore_option(opt)?;
        // The outer Observe value (at most 3 bytes), copied before in-place decryption.
        let mut observe = [0u8; 3];
        let outer_observe = match m.option(option::OBSERVE) {
            Some(v) => {
                let o = observe.get_mut(..v.len()).ok_or(Error::Malformed)?;
                o.copy_from_slice(v);
                Some(v.len())
            }
            None => None,
        };
        let outer_observe = outer_observe.and_then(|n| observe.get(..n));
        let (head, tail) = protected.split_at_mut(4 + h.tkl);
        let code_byte = head.get_mut(1).ok_or(Error::Malformed)?;
        let mut msg = inmemory_write::Message::new_from_existing(code_byte, tail);
        let oscore_opt = liboscore::OscoreOption::parse(opt).map_err(|_| Error::Malformed)?;
        let mut raw_id = id.to_raw();
        liboscore::unprotect_response(&mut msg, &mut ctx.ctx, oscore_opt, &mut raw_id, |pm| {
            write_plain(out, &h, pm, outer_observe)
        })
        .map_err(|_| Error::Invalid)?
    })();
    scrub(out, r)
}
