/*
 * SPDX-License-Identifier: MIT OR Apache-2.0
 */

/**
 * @ingroup     lwm2m_c2c
 * @{
 *
 * @file
 * @brief       DTLS part of the C glue (LWM2M_DTLS=1): PSK credentials in credman, which
 *              credential each DTLS session used, which session a response came over.
 *
 * @}
 */

#include <errno.h>
#include <string.h>

#include "dtls.h"
#include "mutex.h"
#include "net/credman.h"
#include "net/dsm.h"
#include "net/gcoap.h"
#include "net/sock/dtls.h"
#include "net/sock/dtls/creds.h"
#include "net/sock/util.h"

#include "lwm2m_c2c.h"
#include "lwm2m_c2c_internal.h"

/* DTLS (LWM2M_DTLS=1). Credentials: one credman PSK entry and one tag on gcoap's DTLS sock per
 * Security instance (kind LWM2M_C2C_CRED_SERVER) or, on a hosting node, Client Security
 * instance (LWM2M_C2C_CRED_CLIENT) in PSK mode (the Rust side decides which; it calls
 * _psk_set / _psk_remove). credman keeps pointers, so the identity and key bytes live here.
 *
 * Which credential a session used: tinydtls asks the sock for the key of the handshake's PSK
 * identity (get_psk_info(DTLS_PSK_KEY), in both roles) and reports the completed handshake
 * (event DTLS_EVENT_CONNECTED). The handler table of gcoap's tinydtls context is replaced by a
 * copy whose get_psk_info and event entries call RIOT's functions and note, per session, the
 * credential whose identity the key was asked for ("pending", set when any handshake of the
 * session asks, which also drops what the session had before) and make it the session's
 * credential once that handshake completed. tinydtls destroys a session's old peer before a
 * new handshake on it, so application data arriving on a session was protected with the keys
 * of the last completed handshake: the one recorded. Its read entry notes the last decrypted
 * datagram and its session (lwm2m_c2c_dtls_rx_cred()). No RIOT source is changed. */

typedef struct {
    bool used;
    uint8_t kind;                       /* LWM2M_C2C_CRED_SERVER or _CLIENT */
    uint16_t inst;
    sock_udp_ep_t ep;                   /* server kind: the server's address from its URI */
    uint8_t id[CONFIG_LWM2M_PSK_ID_MAX];
    size_t id_len;
    uint8_t key[CONFIG_LWM2M_PSK_KEY_MAX];
    size_t key_len;
} psk_slot_t;

typedef struct {
    bool used;
    session_t session;
    int pending;                        /* credential (_cred()) of the handshake under way, -1 */
    int inst;                           /* credential of the completed handshake, -1 */
} dtls_rec_t;

/* The last application datagram tinydtls decrypted (requesting side: a response or
 * notification is trusted as DTLS only if it is that datagram, see lwm2m_c2c_dtls_rx_cred()). */
typedef struct {
    bool valid;
    session_t session;
    size_t len;
    uint64_t hash;                      /* FNV-1a of the plaintext */
} dtls_rx_t;

static psk_slot_t _psk[CONFIG_LWM2M_DTLS_CREDENTIALS];
static dtls_rx_t _rx;
static dtls_rec_t _recs[CONFIG_DTLS_PEER_MAX + 2];
static mutex_t _dtls_lock = MUTEX_INIT;
static dtls_handler_t _riot_handler;    /* RIOT's table (sock_dtls.c), called by ours */
static dtls_handler_t _our_handler;

static credman_tag_t _tag(uint8_t kind, uint16_t inst)
{
    return CONFIG_LWM2M_DTLS_TAG_BASE + kind * 0x100 + inst;
}

/* A credential as one number: kind and instance (instances are below 0x10000). */
static int _cred(const psk_slot_t *slot)
{
    return ((int)slot->kind << 16) | slot->inst;
}

/* Caller holds _dtls_lock. */
static dtls_rec_t *_rec(const session_t *session, bool create)
{
    dtls_rec_t *free_rec = NULL;
    for (unsigned i = 0; i < ARRAY_SIZE(_recs); i++) {
        if (_recs[i].used && dtls_session_equals(&_recs[i].session, session)) {
            return &_recs[i];
        }
        if (!free_rec && !_recs[i].used) {
            free_rec = &_recs[i];
        }
    }
    if (!create) {
        return NULL;
    }
    if (!free_rec) {
        /* Reuse the record of a session tinydtls no longer has. */
        sock_dtls_t *sock = gcoap_get_sock_dtls();
        for (unsigned i = 0; i < ARRAY_SIZE(_recs); i++) {
            if (!dtls_get_peer(sock->dtls_ctx, &_recs[i].session)) {
                free_rec = &_recs[i];
                break;
            }
        }
    }
    if (free_rec) {
        memset(free_rec, 0, sizeof(*free_rec));
        free_rec->used = true;
        free_rec->session = *session;
        free_rec->pending = -1;
        free_rec->inst = -1;
    }
    return free_rec;
}

static int _get_psk_info(struct dtls_context_t *ctx, const session_t *session,
                         dtls_credentials_type_t type, const unsigned char *desc,
                         size_t desc_len, unsigned char *result, size_t result_length)
{
    int res = _riot_handler.get_psk_info(ctx, session, type, desc, desc_len, result,
                                         result_length);
    if (type != DTLS_PSK_KEY && type != DTLS_PSK_HINT) {
        return res;
    }
    mutex_lock(&_dtls_lock);
    /* A handshake on this session: whatever it had is gone (tinydtls replaced the peer). */
    dtls_rec_t *rec = _rec(session, true);
    if (rec) {
        rec->inst = -1;
        if (type == DTLS_PSK_KEY) {
            rec->pending = -1;
            for (unsigned i = 0; res > 0 && desc && i < ARRAY_SIZE(_psk); i++) {
                if (_psk[i].used && _psk[i].id_len == desc_len &&
                    memcmp(_psk[i].id, desc, desc_len) == 0) {
                    rec->pending = _cred(&_psk[i]);
                    break;
                }
            }
        }
    }
    mutex_unlock(&_dtls_lock);
    return res;
}

static int _event(struct dtls_context_t *ctx, session_t *session, dtls_alert_level_t level,
                  unsigned short code)
{
    mutex_lock(&_dtls_lock);
    dtls_rec_t *rec = _rec(session, false);
    if (rec) {
        if (level) {
            /* An alert from the peer (close_notify included): trust nothing of the session. */
            rec->inst = -1;
            rec->pending = -1;
        }
        else if (code == DTLS_EVENT_CONNECTED) {
            rec->inst = rec->pending;
            rec->pending = -1;
        }
        else if (code == DTLS_EVENT_CONNECT) {
            /* A handshake we start. */
            rec->inst = -1;
        }
    }
    mutex_unlock(&_dtls_lock);
    return _riot_handler.event(ctx, session, level, code);
}

static uint64_t _fnv(const uint8_t *buf, size_t len)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < len; i++) {
        h = (h ^ buf[i]) * 0x100000001b3ull;
    }
    return h;
}

/* tinydtls hands decrypted application data to RIOT's sock here; note which session it came
 * over and what it was, so the response handler (which gcoap gives only the remote address,
 * the same for a plain UDP datagram from that address and port) can tell that a response
 * really came over the session. */
static int _read(struct dtls_context_t *ctx, session_t *session, uint8_t *buf, size_t len)
{
    int res = _riot_handler.read(ctx, session, buf, len);
    if (res >= 0) {
        mutex_lock(&_dtls_lock);
        _rx.valid = true;
        _rx.session = *session;
        _rx.len = len;
        _rx.hash = _fnv(buf, len);
        mutex_unlock(&_dtls_lock);
    }
    return res;
}

/* Client role: offer the credential of the account whose peer (a server, or a hosting client
 * bound by lwm2m_c2c_glue_psk_bind()) is at `ep`. */
static credman_tag_t _client_psk_cb(sock_dtls_t *sock, sock_udp_ep_t *ep, credman_tag_t tags[],
                                    unsigned tags_len, const char *hint, size_t hint_len)
{
    (void)sock;
    (void)tags;
    (void)tags_len;
    (void)hint;
    (void)hint_len;
    credman_tag_t tag = CREDMAN_TAG_EMPTY;
    mutex_lock(&_dtls_lock);
    for (unsigned i = 0; i < ARRAY_SIZE(_psk); i++) {
        if (_psk[i].used && sock_udp_ep_equal(&_psk[i].ep, ep)) {
            tag = _tag(_psk[i].kind, _psk[i].inst);
            break;
        }
    }
    mutex_unlock(&_dtls_lock);
    return tag;
}

void lwm2m_c2c_dtls_init(void)
{
    sock_dtls_t *sock = gcoap_get_sock_dtls();
    _riot_handler = *sock->dtls_ctx->h;
    _our_handler = _riot_handler;
    _our_handler.get_psk_info = _get_psk_info;
    _our_handler.event = _event;
    _our_handler.read = _read;
    dtls_set_handler(sock->dtls_ctx, &_our_handler);
    sock_dtls_set_client_psk_cb(sock, _client_psk_cb);
}

/* Ends the sessions established (or being established) with credential `inst` (_cred()).
 * Caller holds _dtls_lock. */
static void _end_sessions(int inst)
{
    sock_dtls_t *sock = gcoap_get_sock_dtls();
    for (unsigned i = 0; i < ARRAY_SIZE(_recs); i++) {
        if (_recs[i].used && (_recs[i].inst == inst || _recs[i].pending == inst)) {
            sock_dtls_session_t s = { .dtls_session = _recs[i].session };
            dsm_remove(sock, &s);
            sock_dtls_session_destroy(sock, &s);
            _recs[i].used = false;
        }
    }
}

/* Caller holds _dtls_lock. */
static void _psk_drop(psk_slot_t *slot)
{
    sock_dtls_remove_credential(gcoap_get_sock_dtls(), _tag(slot->kind, slot->inst));
    credman_delete(_tag(slot->kind, slot->inst), CREDMAN_TYPE_PSK);
    _end_sessions(_cred(slot));
    memset(slot, 0, sizeof(*slot));
}

/* Called by the Rust side: (re)loads the PSK credential of (Client) Security instance `inst`
 * (`kind`: LWM2M_C2C_CRED_*; `uri` only for servers). */
int lwm2m_c2c_glue_psk_set(uint8_t kind, uint16_t inst, const uint8_t *uri, size_t uri_len,
                           const uint8_t *id, size_t id_len, const uint8_t *key,
                           size_t key_len)
{
    sock_udp_ep_t ep = { 0 };
    if (id_len == 0 || id_len > CONFIG_LWM2M_PSK_ID_MAX || key_len == 0 ||
        key_len > CONFIG_LWM2M_PSK_KEY_MAX ||
        (kind == LWM2M_C2C_CRED_SERVER && lwm2m_c2c_parse_uri(uri, uri_len, &ep) < 0) ||
        kind > LWM2M_C2C_CRED_CLIENT) {
        return -EINVAL;
    }
    int res = 0;
    mutex_lock(&_dtls_lock);
    psk_slot_t *slot = NULL;
    for (unsigned i = 0; i < ARRAY_SIZE(_psk); i++) {
        if (_psk[i].used && _psk[i].kind == kind && _psk[i].inst == inst) {
            _psk_drop(&_psk[i]);
        }
    }
    for (unsigned i = 0; i < ARRAY_SIZE(_psk); i++) {
        if (_psk[i].used && _psk[i].id_len == id_len && memcmp(_psk[i].id, id, id_len) == 0) {
            /* Two accounts with one identity: a session could not tell them apart. */
            res = -EEXIST;
            goto out;
        }
        if (!slot && !_psk[i].used) {
            slot = &_psk[i];
        }
    }
    if (!slot) {
        res = -ENOMEM;
        goto out;
    }
    slot->kind = kind;
    slot->inst = inst;
    slot->ep = ep;
    memcpy(slot->id, id, id_len);
    slot->id_len = id_len;
    memcpy(slot->key, key, key_len);
    slot->key_len = key_len;
    credman_credential_t c = {
        .type = CREDMAN_TYPE_PSK,
        .tag = _tag(kind, inst),
        .params.psk = {
            .key = { .s = slot->key, .len = key_len },
            .id = { .s = slot->id, .len = id_len },
        },
    };
    if (credman_add(&c) != CREDMAN_OK) {
        res = -ENOMEM;
    }
    else if (sock_dtls_add_credential(gcoap_get_sock_dtls(), c.tag) < 0) {
        credman_delete(c.tag, CREDMAN_TYPE_PSK);
        res = -ENOMEM;
    }
    if (res == 0) {
        slot->used = true;
    }
    else {
        memset(slot, 0, sizeof(*slot));
    }
out:
    mutex_unlock(&_dtls_lock);
    return res;
}

/* Called by the Rust side: the (Client) Security instance `inst` is gone, no longer a PSK
 * account, or its account closed. */
void lwm2m_c2c_glue_psk_remove(uint8_t kind, uint16_t inst)
{
    mutex_lock(&_dtls_lock);
    for (unsigned i = 0; i < ARRAY_SIZE(_psk); i++) {
        if (_psk[i].used && _psk[i].kind == kind && _psk[i].inst == inst) {
            _psk_drop(&_psk[i]);
        }
    }
    mutex_unlock(&_dtls_lock);
}

/* The credential (_cred(): kind << 16 | instance) the DTLS session with `remote` was
 * established with, -1 if none (no completed handshake recorded, or the credential was
 * removed since). */
int lwm2m_c2c_dtls_session_cred(const sock_udp_ep_t *remote)
{
    sock_dtls_session_t s;
    sock_dtls_session_set_udp_ep(&s, remote);
    int inst = -1;
    mutex_lock(&_dtls_lock);
    dtls_rec_t *rec = _rec(&s.dtls_session, false);
    if (rec && rec->inst >= 0) {
        for (unsigned i = 0; i < ARRAY_SIZE(_psk); i++) {
            if (_psk[i].used && _cred(&_psk[i]) == rec->inst) {
                inst = rec->inst;
                break;
            }
        }
    }
    mutex_unlock(&_dtls_lock);
    return inst;
}

/* Whether a credential of `kind` for the peer at `ep` is loaded (else no handshake is started:
 * RIOT would fall back to the sock's first credential, another account's). */
bool lwm2m_c2c_dtls_psk_for(const sock_udp_ep_t *ep, uint8_t kind)
{
    bool found = false;
    mutex_lock(&_dtls_lock);
    for (unsigned i = 0; i < ARRAY_SIZE(_psk); i++) {
        if (_psk[i].used && _psk[i].kind == kind &&
            sock_udp_ep_equal(&_psk[i].ep, ep)) {
            found = true;
            break;
        }
    }
    mutex_unlock(&_dtls_lock);
    return found;
}

/* Called by the Rust side (requesting client) before a request over DTLS to a hosting client:
 * the credential of Client Security instance `inst` is the one to offer to the host at `uri`
 * (the URI given to the operation). No other Client Security credential stays bound to it. */
int lwm2m_c2c_glue_psk_bind(uint16_t inst, const uint8_t *uri, size_t uri_len)
{
    sock_udp_ep_t ep;
    if (lwm2m_c2c_parse_uri(uri, uri_len, &ep) < 0) {
        return -EINVAL;
    }
    int res = -ENOENT;
    mutex_lock(&_dtls_lock);
    for (unsigned i = 0; i < ARRAY_SIZE(_psk); i++) {
        if (!_psk[i].used || _psk[i].kind != LWM2M_C2C_CRED_CLIENT) {
            continue;
        }
        if (_psk[i].inst == inst) {
            _psk[i].ep = ep;
            res = 0;
        }
        else if (sock_udp_ep_equal(&_psk[i].ep, &ep)) {
            memset(&_psk[i].ep, 0, sizeof(_psk[i].ep));
        }
    }
    mutex_unlock(&_dtls_lock);
    return res;
}

/* Called by the Rust side when it ends an observation made over DTLS (its account closed):
 * gcoap keeps the memo of an Observe request for as long as notifications come (gcoap.c,
 * _process_coap_pdu), so it is freed here. */
void lwm2m_c2c_glue_obs_forget(const uint8_t *uri, size_t uri_len, const uint8_t *token,
                               size_t token_len)
{
    sock_udp_ep_t ep;
    if (lwm2m_c2c_parse_uri(uri, uri_len, &ep) == 0) {
        gcoap_obs_req_forget(&ep, token, token_len);
    }
}

/* The credential (_cred()) of the DTLS session a response from `remote` came over, -1 when it
 * is not the datagram tinydtls decrypted last (it came as plain UDP, perhaps with a forged
 * source address and port) or its session has no credential recorded. Consumes the record. */
int lwm2m_c2c_dtls_rx_cred(const uint8_t *buf, size_t len, const sock_udp_ep_t *remote)
{
    sock_dtls_session_t s;
    sock_dtls_session_set_udp_ep(&s, remote);
    mutex_lock(&_dtls_lock);
    bool same = _rx.valid && _rx.len == len && dtls_session_equals(&_rx.session, &s.dtls_session)
                && _rx.hash == _fnv(buf, len);
    if (same) {
        _rx.valid = false;
    }
    mutex_unlock(&_dtls_lock);
    return same ? lwm2m_c2c_dtls_session_cred(remote) : -1;
}
