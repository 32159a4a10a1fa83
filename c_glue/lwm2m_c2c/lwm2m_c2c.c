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

#include "lwm2m_c2c.h"
#include "lwm2m_c2c_internal.h"

/* The poll thread is woken with this message type whenever the engine may have work. */
#define WAKE_MSG_TYPE   (0x4c32)

typedef struct {
    sock_udp_ep_t ep;
    uint64_t last_used;     /* lwm2m_c2c_now_ms() of its last request: reuse oldest first */
    uint16_t ssid;          /* 0: not a server (plain UDP, NoSec accounts only) */
    uint8_t tl;             /* GCOAP_SOCKET_TYPE_UDP or _DTLS: how to reach it again */
    bool used;
} peer_t;

static peer_t _peers[CONFIG_LWM2M_MAX_PEERS];
static mutex_t _peers_lock = MUTEX_INIT;
static char _lwm2m_stack[CONFIG_LWM2M_THREAD_STACKSIZE];
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

static void _peer_take(unsigned i, const sock_udp_ep_t *ep, uint8_t tl, uint16_t ssid,
                       uint64_t now)
{
    _peers[i].ep = *ep;
    _peers[i].tl = tl;
    _peers[i].ssid = ssid;
    _peers[i].last_used = now;
    _peers[i].used = true;
}

/* The least recently used slot of a remote that is not a server, not in `tried`; -1: none. */
static int _peer_lru(const bool *tried)
{
    int lru = -1;
    for (unsigned i = 0; i < ARRAY_SIZE(_peers); i++) {
        if (!tried[i] && _peers[i].used && !_peers[i].ssid &&
            (lru < 0 || _peers[i].last_used < _peers[lru].last_used)) {
            lru = i;
        }
    }
    return lru;
}

/* Returns the handle of a remote on transport `tl`, remembering it if new; -1 when the table
 * is full.
 * - A server (`ssid`, from lwm2m_c2c_glue_send, inside the engine) takes a free slot, else the
 *   least recently used slot of a remote that is not a server, without asking the engine (it
 *   cannot be asked from inside; servers come first).
 * - Any other remote (from the request handler) takes a free slot, else the least recently
 *   used slot of a remote that is not a server and that the engine no longer refers to
 *   (lwm2m_riot_endpoint_in_use); what the driver kept for the old remote is then dropped
 *   (lwm2m_riot_endpoint_forget). The engine is asked without _peers_lock held: its sends
 *   take that lock. */
static int _peer_handle(const sock_udp_ep_t *ep, uint8_t tl, uint16_t ssid)
{
    static unsigned _reused, _full;
    uint64_t now = lwm2m_c2c_now_ms();
    bool tried[ARRAY_SIZE(_peers)] = { false };
    int slot = -1;
    mutex_lock(&_peers_lock);
    for (unsigned i = 0; i < ARRAY_SIZE(_peers); i++) {
        if (_peers[i].used && _peers[i].tl == tl && sock_udp_ep_equal(&_peers[i].ep, ep)) {
            if (ssid) {
                _peers[i].ssid = ssid;
            }
            _peers[i].last_used = now;
            mutex_unlock(&_peers_lock);
            return i;
        }
        if (slot < 0 && !_peers[i].used) {
            slot = i;
        }
    }
    if (slot < 0 && ssid) {
        slot = _peer_lru(tried);
    }
    if (slot >= 0) {
        _peer_take(slot, ep, tl, ssid, now);
    }
    mutex_unlock(&_peers_lock);
    if (slot >= 0 || ssid) {
        return slot;
    }
    for (;;) {
        mutex_lock(&_peers_lock);
        int lru = _peer_lru(tried);
        uint64_t stamp = lru >= 0 ? _peers[lru].last_used : 0;
        mutex_unlock(&_peers_lock);
        if (lru < 0) {
            lwm2m_c2c_ev("peer_table_full peers=%u full=%u", (unsigned)ARRAY_SIZE(_peers),
                         ++_full);
            return -1;
        }
        tried[lru] = true;
        if (lwm2m_riot_endpoint_in_use(lru)) {
            continue;
        }
        mutex_lock(&_peers_lock);
        /* Still the same idle remote (a server may have taken the slot meanwhile). */
        bool same = _peers[lru].used && !_peers[lru].ssid && _peers[lru].last_used == stamp;
        if (same) {
            _peer_take(lru, ep, tl, 0, now);
        }
        mutex_unlock(&_peers_lock);
        if (same) {
            unsigned dropped = lwm2m_riot_endpoint_forget(lru);
            lwm2m_c2c_ev("peer_reused slot=%d dropped=%u reused=%u", lru, dropped, ++_reused);
            return lru;
        }
    }
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
            int cred = lwm2m_c2c_dtls_session_cred(remote);
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

    /* The address without port: the engine's owner server hints are rate limited per address. */
    const uint8_t *addr = remote ? (const uint8_t *)&remote->addr : NULL;
    size_t addr_len = !remote ? 0 : remote->family == AF_INET6 ? 16 : 4;
    ssize_t res = lwm2m_riot_handle_request(id_kind, ssid, handle < 0 ? UINT32_MAX : (uint32_t)handle,
                                            addr, addr_len, pdu->buf, coap_get_total_len(pdu),
                                            buf, len, lwm2m_c2c_now_ms());
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
    uint32_t ctx = (uint32_t)(uintptr_t)memo->context;
    uint8_t kind = ctx >> 24;
    uint32_t id = ctx & 0xffffff;

    if (memo->state == GCOAP_MEMO_RESP) {
        /* The credential of the DTLS session the response came over, -1: not over DTLS. */
        int cred = -1;
#if LWM2M_C2C_DTLS
        if (memo->socket.type == GCOAP_SOCKET_TYPE_DTLS && remote) {
            cred = lwm2m_c2c_dtls_rx_cred(pdu->buf, coap_get_total_len(pdu), remote);
        }
#else
        (void)remote;
#endif
        lwm2m_riot_handle_response(pdu->buf, coap_get_total_len(pdu), cred,
                                   lwm2m_c2c_now_ms());
    }
    else {
        /* Timeout or error: the memo holds the request, whose token the engine matches. */
        const uint8_t *req = gcoap_request_memo_get_buf((gcoap_request_memo_t *)memo);
        size_t tkl = req[0] & 0x0f;
        lwm2m_riot_request_failed(kind, id, req + 4, tkl > 8 ? 0 : tkl, lwm2m_c2c_now_ms());
    }
    lwm2m_c2c_glue_wake();
}

int lwm2m_c2c_parse_uri(const uint8_t *uri, size_t uri_len, sock_udp_ep_t *ep)
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

#if LWM2M_C2C_QUEUE_MODE
/* Queue Mode: the first interface sleeps while the engine does (rust/riot/src/queue.rs). */
static bool _radio_asleep;

int lwm2m_c2c_glue_radio(bool on)
{
    netif_t *netif = netif_iter(NULL);
    if (netif == NULL) {
        return -ENODEV;
    }
    netopt_state_t state = on ? NETOPT_STATE_IDLE : NETOPT_STATE_SLEEP;
    int res = netif_set_opt(netif, NETOPT_STATE, 0, &state, sizeof(state));
    _radio_asleep = !on && res >= 0;
    return res;
}
#endif

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
#if LWM2M_C2C_QUEUE_MODE
    if (_radio_asleep) {
        lwm2m_c2c_glue_radio(true);
    }
#endif
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
        if (tl == GCOAP_SOCKET_TYPE_DTLS && lwm2m_c2c_dtls_session_cred(&ep) < 0) {
            return -ENOTCONN;
        }
#endif
    }
    else {
        /* Servers, the bootstrap server, and hosting clients (LWM2M_C2C_DEST_PEER) by URI. */
        if (lwm2m_c2c_parse_uri(uri, uri_len, &ep) < 0) {
            return -EINVAL;
        }
        bool coaps = uri_len >= 6 && strncmp((const char *)uri, "coaps:", 6) == 0;
        if (coaps) {
#if LWM2M_C2C_DTLS
            /* Servers, and hosting clients whose account's credential the requester bound to
             * this address (lwm2m_c2c_glue_psk_bind()). */
            uint8_t cred_kind = kind == LWM2M_C2C_DEST_PEER ? LWM2M_C2C_CRED_CLIENT
                                                             : LWM2M_C2C_CRED_SERVER;
            if (!lwm2m_c2c_dtls_psk_for(&ep, cred_kind)) {
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
#if LWM2M_C2C_OSCORE
    /* Factory OSCORE material of the initial server account (refused without storage). */
    if (_init.result == 0 && CONFIG_LWM2M_SERVER_OSCORE[0] != '\0') {
        _init.result = lwm2m_riot_server_oscore(CONFIG_LWM2M_SERVER_SHORT_ID,
                                                CONFIG_LWM2M_SERVER_OSCORE);
    }
#endif
#if LWM2M_C2C_QUEUE_MODE
    if (_init.result == 0) {
        _init.result = lwm2m_c2c_set_queue_mode(CONFIG_LWM2M_QUEUE_AWAKE_MS);
    }
#endif
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
    lwm2m_c2c_dtls_init();
#endif
    _next_mid = random_uint32();
    kernel_pid_t pid = thread_create(_lwm2m_stack, sizeof(_lwm2m_stack), CONFIG_LWM2M_THREAD_PRIO,
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
