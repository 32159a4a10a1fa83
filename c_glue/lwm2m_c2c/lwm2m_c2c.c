/*
 * SPDX-License-Identifier: MIT OR Apache-2.0
 */

/**
 * @ingroup     lwm2m_c2c
 * @{
 *
 * @file
 * @brief       C side of the RIOT driver: gcoap listener and client requests, peer table,
 *              poll thread, clock and events. The engine itself is Rust (rust/riot).
 *
 * @}
 */

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "irq.h"
#include "luid.h"
#include "msg.h"
#include "net/gcoap.h"
#include "net/sock/util.h"
#include "net/netif.h"
#include "random.h"
#include "thread.h"
#include "ztimer.h"
#if IS_USED(MODULE_PERIPH_CPUID)
#include "periph/cpuid.h"
#endif
#if IS_USED(MODULE_PUF_SRAM)
#include "puf_sram.h"
#endif

#if LWM2M_C2C_DTLS
#include "dtls.h"
#include "net/credman.h"
#include "net/dsm.h"
#include "net/sock/dtls.h"
#include "net/sock/dtls/creds.h"
#endif

#include "lwm2m_c2c.h"

/* The poll thread is woken with this message type whenever the engine may have work. */
#define WAKE_MSG_TYPE   (0x4c32)

typedef struct {
    sock_udp_ep_t ep;
    uint16_t ssid;          /* 0: not a server (plain UDP, NoSec accounts only) */
    uint8_t tl;             /* GCOAP_SOCKET_TYPE_UDP or _DTLS: how to reach it again */
    bool used;
} peer_t;

static peer_t _peers[CONFIG_LWM2M_MAX_PEERS];
static mutex_t _peers_lock = MUTEX_INIT;
static char _stack[CONFIG_LWM2M_THREAD_STACKSIZE];
static msg_t _queue[4];
static kernel_pid_t _pid = KERNEL_PID_UNDEF;
static uint16_t _next_mid;

/* Initialization runs on the poll thread, whose stack is sized for the engine (built by value
 * before it moves to its static home); the caller waits for the result. */
static struct {
    const char *endpoint;
    const char *server_uri;
    int result;
    mutex_t done;
} _init = { .done = MUTEX_INIT_LOCKED };

static ssize_t _request_handler(coap_pkt_t *pdu, uint8_t *buf, size_t len,
                                coap_request_ctx_t *ctx);
static int _matcher(gcoap_listener_t *listener, const coap_resource_t **resource,
                    coap_pkt_t *pdu);

/* One resource stands for the whole LwM2M tree; _matcher sends everything but
 * /.well-known/ to it, whatever the method (FETCH and iPATCH included). */
static const coap_resource_t _resources[] = {
    { "/", COAP_GET | COAP_POST | COAP_PUT | COAP_DELETE | COAP_FETCH | COAP_PATCH |
      COAP_IPATCH | COAP_MATCH_SUBTREE, _request_handler, NULL },
};

static gcoap_listener_t _listener = {
    .resources = _resources,
    .resources_len = ARRAY_SIZE(_resources),
    .tl_type = GCOAP_SOCKET_TYPE_UNDEF,
    .link_encoder = NULL,
    .next = NULL,
    .request_matcher = _matcher,
};

uint64_t lwm2m_c2c_now_ms(void)
{
    /* ZTIMER_MSEC is 32 bit: extend it, assuming at least one call per 49 days (the poll
     * thread sleeps at most CONFIG_LWM2M_MAX_SLEEP_MS). */
    static uint32_t last;
    static uint64_t high;
    unsigned state = irq_disable();
    uint32_t now = ztimer_now(ZTIMER_MSEC);
    if (now < last) {
        high += (uint64_t)1 << 32;
    }
    last = now;
    uint64_t res = high | now;
    irq_restore(state);
    return res;
}

__attribute__((weak)) void lwm2m_c2c_on_event(const char *kind, uint16_t ssid)
{
    printf("EVT ts=%" PRIu32 " kind=%s ssid=%u\n", ztimer_now(ZTIMER_USEC), kind,
           (unsigned)ssid);
}

/* Called by the Rust side for every measurable event: one `EV <ms> <text>` line. */
void lwm2m_c2c_glue_ev(const char *text)
{
    lwm2m_c2c_ev("%s", text);
}

void lwm2m_c2c_ev(const char *fmt, ...)
{
    /* One printf per line, so lines of different threads do not interleave. */
    char line[192];
    int n = snprintf(line, sizeof(line), "EV %" PRIu32 " ", ztimer_now(ZTIMER_MSEC));
    if (n < 0 || (size_t)n >= sizeof(line)) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line + n, sizeof(line) - n, fmt, ap);
    va_end(ap);
    printf("%s\n", line);
}

/* Called by the Rust side on registration state changes. */
void lwm2m_c2c_glue_event(const char *kind, uint16_t ssid)
{
    lwm2m_c2c_on_event(kind, ssid);
}

void lwm2m_c2c_glue_wake(void)
{
    if (_pid != KERNEL_PID_UNDEF) {
        msg_t m = { .type = WAKE_MSG_TYPE };
        /* A full queue already means a pending wakeup. */
        msg_try_send(&m, _pid);
    }
}

/* Returns the handle of a remote on transport `tl`, remembering it if new (oldest non-server
 * slot is reused). */
static int _peer_handle(const sock_udp_ep_t *ep, uint8_t tl, uint16_t ssid)
{
    int free_slot = -1;
    mutex_lock(&_peers_lock);
    for (unsigned i = 0; i < ARRAY_SIZE(_peers); i++) {
        if (_peers[i].used && _peers[i].tl == tl && sock_udp_ep_equal(&_peers[i].ep, ep)) {
            if (ssid) {
                _peers[i].ssid = ssid;
            }
            mutex_unlock(&_peers_lock);
            return i;
        }
        if (free_slot < 0 && (!_peers[i].used || (!_peers[i].ssid && ssid))) {
            free_slot = i;
        }
    }
    if (free_slot >= 0) {
        _peers[free_slot].ep = *ep;
        _peers[free_slot].tl = tl;
        _peers[free_slot].ssid = ssid;
        _peers[free_slot].used = true;
    }
    mutex_unlock(&_peers_lock);
    return free_slot;
}

static uint16_t _server_ssid(int handle)
{
    if (handle < 0 || (unsigned)handle >= ARRAY_SIZE(_peers)) {
        return 0;
    }
    mutex_lock(&_peers_lock);
    uint16_t ssid = _peers[handle].used ? _peers[handle].ssid : 0;
    mutex_unlock(&_peers_lock);
    return ssid;
}

static int _parse_uri(const uint8_t *uri, size_t uri_len, sock_udp_ep_t *ep);

#if LWM2M_C2C_DTLS
/* DTLS (LWM2M_DTLS=1). Credentials: one credman PSK entry and one tag on gcoap's DTLS sock per
 * Security instance (kind LWM2M_C2C_CRED_SERVER) or, on a hosting node, Client Security
 * instance (LWM2M_C2C_CRED_CLIENT) in PSK mode (the Rust side decides which; it calls
 * _psk_set / _psk_remove). credman keeps pointers, so the identity and key bytes live here.
 *
 * Which credential a session used: tinydtls asks the sock for the key of the handshake's PSK
 * identity (get_psk_info(DTLS_PSK_KEY), in both roles) and reports the completed handshake
 * (event DTLS_EVENT_CONNECTED). The handler table of gcoap's tinydtls context is replaced by a
 * copy whose two entries call RIOT's functions and note, per session, the credential whose
 * identity the key was asked for ("pending", set when any handshake of the session asks, which
 * also drops what the session had before) and make it the session's credential once that
 * handshake completed. tinydtls destroys a session's old peer before a new handshake on it,
 * so application data arriving on a session was protected with the keys of the last completed
 * handshake: the one recorded. No RIOT source is changed. */

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

static psk_slot_t _psk[CONFIG_LWM2M_DTLS_CREDENTIALS];
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

/* Client role: offer the credential of the account whose server is at `ep`. */
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
        if (_psk[i].used && _psk[i].kind == LWM2M_C2C_CRED_SERVER &&
            sock_udp_ep_equal(&_psk[i].ep, ep)) {
            tag = _tag(_psk[i].kind, _psk[i].inst);
            break;
        }
    }
    mutex_unlock(&_dtls_lock);
    return tag;
}

static void _dtls_init(void)
{
    sock_dtls_t *sock = gcoap_get_sock_dtls();
    _riot_handler = *sock->dtls_ctx->h;
    _our_handler = _riot_handler;
    _our_handler.get_psk_info = _get_psk_info;
    _our_handler.event = _event;
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
        (kind == LWM2M_C2C_CRED_SERVER && _parse_uri(uri, uri_len, &ep) < 0) ||
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
static int _dtls_session_inst(const sock_udp_ep_t *remote)
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

/* Whether a credential for the server at `ep` is loaded (else no handshake is started: RIOT
 * would fall back to the sock's first credential, another account's). */
static bool _psk_for(const sock_udp_ep_t *ep)
{
    bool found = false;
    mutex_lock(&_dtls_lock);
    for (unsigned i = 0; i < ARRAY_SIZE(_psk); i++) {
        if (_psk[i].used && _psk[i].kind == LWM2M_C2C_CRED_SERVER &&
            sock_udp_ep_equal(&_psk[i].ep, ep)) {
            found = true;
            break;
        }
    }
    mutex_unlock(&_dtls_lock);
    return found;
}
#endif /* LWM2M_C2C_DTLS */

static int _matcher(gcoap_listener_t *listener, const coap_resource_t **resource,
                    coap_pkt_t *pdu)
{
    char uri[CONFIG_NANOCOAP_URI_MAX];
    /* Leave /.well-known/core to gcoap's own listener (registered after ours). */
    if (coap_get_uri_path(pdu, uri) > 0 && strncmp(uri, "/.well-known/", 13) == 0) {
        return GCOAP_RESOURCE_NO_PATH;
    }
    /* The engine keeps the observations (it parses the Observe option from the datagram
     * itself). Hide the option from gcoap's own observe bookkeeping, which is never used and,
     * over DTLS, dereferences the NULL aux of the first registration (RIOT 2026.07,
     * gcoap.c _handle_req: `&aux->local`). */
    coap_clear_observe(pdu);
    *resource = &listener->resources[0];
    return GCOAP_RESOURCE_FOUND;
}

static ssize_t _request_handler(coap_pkt_t *pdu, uint8_t *buf, size_t len,
                                coap_request_ctx_t *ctx)
{
    const sock_udp_ep_t *remote = coap_request_ctx_get_remote_udp(ctx);
    uint8_t id_kind = LWM2M_C2C_ID_UNAUTHENTICATED;
    uint16_t ssid = 0;
    int handle = -1;

    /* Peer identity.
     * - Plain UDP: a request from the address and port of a NoSec server we sent to counts as
     *   that server (the Rust side checks the account is NoSec).
     * - DTLS (LWM2M_DTLS=1): the Security instance whose PSK credential the session's
     *   handshake used; the address only finds the session.
     * - OSCORE: the kid of the security context that verified the request (Rust side). */
    uint8_t tl = GCOAP_SOCKET_TYPE_UDP;
#if LWM2M_C2C_DTLS
    if (coap_request_ctx_get_tl_type(ctx) == GCOAP_SOCKET_TYPE_DTLS) {
        tl = GCOAP_SOCKET_TYPE_DTLS;
    }
#endif
    if (remote) {
        handle = _peer_handle(remote, tl, 0);
        if (tl == GCOAP_SOCKET_TYPE_UDP) {
            ssid = _server_ssid(handle);
            if (ssid) {
                id_kind = LWM2M_C2C_ID_SERVER;
            }
        }
#if LWM2M_C2C_DTLS
        else {
            int cred = _dtls_session_inst(remote);
            if (cred >= 0) {
                id_kind = (cred >> 16) == LWM2M_C2C_CRED_CLIENT ? LWM2M_C2C_ID_DTLS_CLIENT
                                                               : LWM2M_C2C_ID_DTLS;
                ssid = (uint16_t)cred;
            }
        }
#endif
    }

    /* Read what the event line needs before the response overwrites the buffer. */
    char path[CONFIG_NANOCOAP_URI_MAX];
    if (coap_get_uri_path(pdu, path) <= 0) {
        strcpy(path, "?");
    }
    unsigned method = coap_get_code_raw(pdu);
    /* OSCORE requests are authenticated (and their events printed) by the Rust side. */
    bool oscore = coap_find_option(pdu, COAP_OPT_OSCORE) != NULL;

    ssize_t res = lwm2m_riot_handle_request(id_kind, ssid, handle < 0 ? UINT32_MAX : (uint32_t)handle,
                                            pdu->buf, coap_get_total_len(pdu), buf, len,
                                            lwm2m_c2c_now_ms());
    if (res >= 2 && !oscore) {
        /* peer=dtls / dtls-client: `ssid=` is then the (Client) Security instance whose
         * credential the session used. */
        printf("EVT ts=%" PRIu32 " kind=request peer=%s ssid=%u method=%u path=%s code=%u.%02u\n",
               ztimer_now(ZTIMER_USEC),
               id_kind == LWM2M_C2C_ID_SERVER ? "server" :
               id_kind == LWM2M_C2C_ID_DTLS ? "dtls" :
               id_kind == LWM2M_C2C_ID_DTLS_CLIENT ? "dtls-client" :
               tl == GCOAP_SOCKET_TYPE_UDP ? "unauth" : "dtls-unauth",
               (unsigned)ssid, method, path, buf[1] >> 5, buf[1] & 0x1f);
    }
    lwm2m_c2c_glue_wake();
    return res;
}

static void _resp_handler(const gcoap_request_memo_t *memo, coap_pkt_t *pdu,
                          const sock_udp_ep_t *remote)
{
    (void)remote;
    uint32_t ctx = (uint32_t)(uintptr_t)memo->context;
    uint8_t kind = ctx >> 24;
    uint32_t id = ctx & 0xffffff;

    if (memo->state == GCOAP_MEMO_RESP) {
        lwm2m_riot_handle_response(pdu->buf, coap_get_total_len(pdu), lwm2m_c2c_now_ms());
    }
    else {
        /* Timeout or error: the memo holds the request, whose token the engine matches. */
        const uint8_t *req = gcoap_request_memo_get_buf((gcoap_request_memo_t *)memo);
        size_t tkl = req[0] & 0x0f;
        lwm2m_riot_request_failed(kind, id, req + 4, tkl > 8 ? 0 : tkl, lwm2m_c2c_now_ms());
    }
    lwm2m_c2c_glue_wake();
}

static int _parse_uri(const uint8_t *uri, size_t uri_len, sock_udp_ep_t *ep)
{
    char url[CONFIG_SOCK_URLPATH_MAXLEN + CONFIG_SOCK_HOSTPORT_MAXLEN];
    char hostport[CONFIG_SOCK_HOSTPORT_MAXLEN];
    char urlpath[CONFIG_SOCK_URLPATH_MAXLEN];

    if (uri == NULL || uri_len >= sizeof(url)) {
        return -EINVAL;
    }
    memcpy(url, uri, uri_len);
    url[uri_len] = '\0';
    if (sock_urlsplit(url, hostport, urlpath) < 0 ||
        sock_udp_str2ep(ep, hostport) < 0) {
        return -EINVAL;
    }
    if (ep->port == 0) {
        ep->port = strncmp(url, "coaps:", 6) == 0 ? 5684 : 5683;
    }
    return 0;
}

/* Called by the Rust side for every message the engine wants sent. */
ptrdiff_t lwm2m_c2c_glue_send(uint8_t kind, uint32_t id, const uint8_t *uri, size_t uri_len,
                            uint8_t *buf, size_t len, bool confirmable)
{
    sock_udp_ep_t ep;
    gcoap_socket_type_t tl = GCOAP_SOCKET_TYPE_UDP;
    (void)confirmable; /* the type is already in the header */

    if (len < 4) {
        return -EINVAL;
    }
    if (kind == LWM2M_C2C_DEST_ENDPOINT) {
        if (id >= ARRAY_SIZE(_peers)) {
            return -EINVAL;
        }
        mutex_lock(&_peers_lock);
        bool used = _peers[id].used;
        ep = _peers[id].ep;
        tl = _peers[id].tl;
        mutex_unlock(&_peers_lock);
        if (!used) {
            return -EINVAL;
        }
#if LWM2M_C2C_DTLS
        /* Notifications go back over the peer's session; without one gcoap would start a
         * handshake as client, with no credential meant for that peer. */
        if (tl == GCOAP_SOCKET_TYPE_DTLS && _dtls_session_inst(&ep) < 0) {
            return -ENOTCONN;
        }
#endif
    }
    else {
        /* Servers, the bootstrap server, and hosting clients (LWM2M_C2C_DEST_PEER) by URI. */
        if (_parse_uri(uri, uri_len, &ep) < 0) {
            return -EINVAL;
        }
        bool coaps = uri_len >= 6 && strncmp((const char *)uri, "coaps:", 6) == 0;
        if (coaps) {
#if LWM2M_C2C_DTLS
            /* Servers only (client-to-client requests stay plain UDP, protected by OSCORE). */
            if (kind == LWM2M_C2C_DEST_PEER || !_psk_for(&ep)) {
                return -ENOTCONN;
            }
            tl = GCOAP_SOCKET_TYPE_DTLS;
#else
            return -ENOTSUP;
#endif
        }
        else if (kind == LWM2M_C2C_DEST_SERVER) {
            /* Remember a NoSec server's address so its requests get its identity. */
            _peer_handle(&ep, GCOAP_SOCKET_TYPE_UDP, (uint16_t)id);
        }
    }
    /* The engine leaves the message ID to the message layer. */
    uint16_t mid = _next_mid++;
    buf[2] = mid >> 8;
    buf[3] = mid & 0xff;

    uintptr_t ctx = ((uintptr_t)kind << 24) | (id & 0xffffff);
    bool is_request = buf[1] >= 0x01 && buf[1] < 0x20;
    /* Notifications (2.05 responses with the observer's token, NON or CON) go out through the
     * same client path, from gcoap's socket (so from port 5683, as the observer expects), but
     * without a response handler: for a CON message gcoap takes an empty ACK as "separate
     * response follows", keeps the memo and its resend buffer for the whole retransmission
     * window and then reports a timeout, which would end the observation. Without a handler
     * it frees both on the ACK. The price: gcoap reports neither RST nor a missing ACK for
     * notifications, so the engine cannot end an observation on them (RFC 7641 4.5). */
    gcoap_resp_handler_t handler = is_request ? _resp_handler : NULL;
    /* Over DTLS the first request to a server waits here (on the engine's thread, holding the
     * engine lock) for the handshake, at most CONFIG_GCOAP_DTLS_HANDSHAKE_TIMEOUT_MSEC; gcoap's
     * thread runs it. */
    return gcoap_req_send(buf, len, &ep, NULL, handler, (void *)ctx, tl);
}

static void *_thread(void *arg)
{
    (void)arg;
    msg_init_queue(_queue, ARRAY_SIZE(_queue));
    _init.result = lwm2m_riot_init(_init.endpoint, _init.server_uri,
                                   CONFIG_LWM2M_SERVER_SHORT_ID, CONFIG_LWM2M_LIFETIME,
                                   CONFIG_LWM2M_PSK_ID, CONFIG_LWM2M_PSK_KEY);
    mutex_unlock(&_init.done);
    if (_init.result < 0) {
        return NULL;
    }
    while (1) {
        uint64_t now = lwm2m_c2c_now_ms();
        uint64_t delay = lwm2m_riot_poll(now);
        if (delay > CONFIG_LWM2M_MAX_SLEEP_MS) {
            delay = CONFIG_LWM2M_MAX_SLEEP_MS;
        }
        if (delay == 0) {
            /* Something is due but could not go out (e.g. no free gcoap memo): retry soon. */
            delay = 10;
        }
        msg_t m;
        ztimer_msg_receive_timeout(ZTIMER_MSEC, &m, (uint32_t)delay);
    }
    return NULL;
}

void lwm2m_c2c_default_endpoint(char *buf, size_t len)
{
    uint8_t id[8];
    size_t id_len = 0;

    /* Prefer the EUI-64 / MAC of the first interface: unique per node even on native. */
    netif_t *netif = netif_iter(NULL);
    if (netif) {
        int res = netif_get_opt(netif, NETOPT_ADDRESS_LONG, 0, id, sizeof(id));
        if (res <= 0) {
            res = netif_get_opt(netif, NETOPT_ADDRESS, 0, id, sizeof(id));
        }
        id_len = res > 0 ? (size_t)res : 0;
    }
#if IS_USED(MODULE_PERIPH_CPUID)
    if (id_len == 0) {
        uint8_t cpuid[CPUID_LEN];
        cpuid_get(cpuid);
        id_len = CPUID_LEN < sizeof(id) ? CPUID_LEN : sizeof(id);
        memcpy(id, cpuid, id_len);
    }
#endif
    if (id_len == 0) {
        luid_get(id, sizeof(id));
        id_len = sizeof(id);
    }
    int n = snprintf(buf, len, "%s", CONFIG_LWM2M_ENDPOINT_PREFIX);
    for (size_t i = 0; i < id_len && n > 0 && (size_t)n + 2 < len; i++) {
        n += snprintf(buf + n, len - n, "%02x", id[i]);
    }
}

int lwm2m_c2c_init(const char *endpoint, const char *server_uri)
{
    char ep[32];

    if (_pid != KERNEL_PID_UNDEF) {
        return -EALREADY;
    }
    if (endpoint == NULL) {
        lwm2m_c2c_default_endpoint(ep, sizeof(ep));
        endpoint = ep;
    }
    if (server_uri == NULL) {
        server_uri = CONFIG_LWM2M_SERVER_URI;
    }
#if IS_USED(MODULE_PUF_SRAM)
    /* Whether the PRNG seed (tokens, message IDs) came from a fresh SRAM power-up pattern
     * (0) or was derived after a soft reset (1); see boards/iotlab-m3.mk. */
    printf("EVT ts=%" PRIu32 " kind=seed puf_sram_state=%" PRIu32 " softresets=%" PRIu32 "\n",
           ztimer_now(ZTIMER_USEC), puf_sram_state, puf_sram_softreset_cnt);
#endif
    _init.endpoint = endpoint;
    _init.server_uri = server_uri;
#if LWM2M_C2C_DTLS
    _dtls_init();
#endif
    _next_mid = random_uint32();
    kernel_pid_t pid = thread_create(_stack, sizeof(_stack), CONFIG_LWM2M_THREAD_PRIO,
                                     0, _thread, NULL, "lwm2m");
    if (pid < 0) {
        return -ENOMEM;
    }
    mutex_lock(&_init.done);
    if (_init.result < 0) {
        return _init.result;
    }
    _pid = pid;
    gcoap_register_listener(&_listener);
    return 0;
}
