/*
 * SPDX-License-Identifier: MIT OR Apache-2.0
 */

/**
 * @ingroup     lwm2m_c2c
 * @{
 *
 * @file
 * @brief       Functions shared by the glue's C files (lwm2m_c2c.c, lwm2m_c2c_dtls.c); not
 *              part of the module's API.
 *
 * @}
 */

#ifndef LWM2M_C2C_INTERNAL_H
#define LWM2M_C2C_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/sock/udp.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * @brief   Parses a `coap://` / `coaps://` URI into an endpoint (default port 5683 / 5684).
 * @return  0, or -EINVAL
 */
int lwm2m_c2c_parse_uri(const uint8_t *uri, size_t uri_len, sock_udp_ep_t *ep);

#if LWM2M_C2C_DTLS || defined(DOXYGEN)
/**
 * @brief   Hooks the glue into gcoap's tinydtls context (handler table, client PSK choice).
 */
void lwm2m_c2c_dtls_init(void);

/**
 * @brief   The credential (kind << 16 | instance) the DTLS session with `remote` was
 *          established with, -1 if none.
 */
int lwm2m_c2c_dtls_session_cred(const sock_udp_ep_t *remote);

/**
 * @brief   Whether a credential of `kind` (LWM2M_C2C_CRED_*) is loaded for the peer at `ep`.
 */
bool lwm2m_c2c_dtls_psk_for(const sock_udp_ep_t *ep, uint8_t kind);

/**
 * @brief   The credential of the DTLS session the response `buf` from `remote` came over, -1
 *          when it is not the datagram tinydtls decrypted last. Consumes the record.
 */
int lwm2m_c2c_dtls_rx_cred(const uint8_t *buf, size_t len, const sock_udp_ep_t *remote);
#endif

#ifdef __cplusplus
}
#endif

#endif /* LWM2M_C2C_INTERNAL_H */
