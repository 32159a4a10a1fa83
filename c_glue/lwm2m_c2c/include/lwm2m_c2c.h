/*
 * SPDX-License-Identifier: MIT OR Apache-2.0
 */

/**
 * @defgroup    lwm2m_c2c LwM2M client with client-to-client extension
 * @brief       RIOT binding of the project's Rust LwM2M engine (crate `lwm2m`)
 *
 * Use from any firmware:
 *
 *     EXTERNAL_MODULE_DIRS += <checkout of this project>/c_glue
 *     USEMODULE += lwm2m_c2c
 *
 * The module brings gcoap, ztimer and random (see `Makefile.dep`), registers one gcoap
 * listener that hands every request not under `/.well-known/` to the engine, and runs one
 * thread that polls the engine and sends its requests with gcoap's client API.
 *
 * Configuration is compile-time, through `CFLAGS += -DCONFIG_LWM2M_...=...`. The engine's pool
 * sizes (servers, observations, ...) are Rust consts: set them as make variables of the same
 * name (`LWM2M_MAX_OBSERVATIONS=4 make ...`), which the module exports to the Rust build.
 * @{
 *
 * @file
 */

#ifndef LWM2M_C2C_H
#define LWM2M_C2C_H

#include <stdint.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * @brief   URI of the LwM2M server the client registers with
 *
 * Link-local addresses need the interface, e.g. `coap://[fe80::1%5]:5683`.
 */
#ifndef CONFIG_LWM2M_SERVER_URI
#define CONFIG_LWM2M_SERVER_URI "coap://[fe80::1%5]:5683"
#endif

/**
 * @brief   Short Server ID of that server
 */
#ifndef CONFIG_LWM2M_SERVER_SHORT_ID
#define CONFIG_LWM2M_SERVER_SHORT_ID 1
#endif

/**
 * @brief   Registration lifetime in seconds
 */
#ifndef CONFIG_LWM2M_LIFETIME
#define CONFIG_LWM2M_LIFETIME 300
#endif

/**
 * @brief   Prefix of the endpoint name derived from the CPU ID
 *          (see @ref lwm2m_c2c_default_endpoint)
 */
#ifndef CONFIG_LWM2M_ENDPOINT_PREFIX
#define CONFIG_LWM2M_ENDPOINT_PREFIX "riot-"
#endif

/**
 * @brief   Stack size of the engine's poll thread
 *
 * The engine is created on this stack (about 2.5 KiB by value before it moves to static
 * memory) and builds outgoing messages here. Measured on native64: 7.3 KiB used of 17 KiB
 * (x86_64, including native's signal handling); Cortex-M needs much less but has not been
 * measured on hardware yet.
 */
#ifndef CONFIG_LWM2M_THREAD_STACKSIZE
#define CONFIG_LWM2M_THREAD_STACKSIZE (THREAD_STACKSIZE_DEFAULT + 4096)
#endif

/**
 * @brief   Priority of the engine's poll thread
 */
#ifndef CONFIG_LWM2M_THREAD_PRIO
#define CONFIG_LWM2M_THREAD_PRIO (THREAD_PRIORITY_MAIN - 1)
#endif

/**
 * @brief   Remote endpoints (servers, observers) remembered for identity and notifications
 */
#ifndef CONFIG_LWM2M_MAX_PEERS
#define CONFIG_LWM2M_MAX_PEERS 4
#endif

/**
 * @brief   Longest poll sleep in milliseconds (the engine is also woken by events)
 */
#ifndef CONFIG_LWM2M_MAX_SLEEP_MS
#define CONFIG_LWM2M_MAX_SLEEP_MS 60000
#endif

/**
 * @name    Peer identity kinds passed to the engine with each request
 * @{
 */
#define LWM2M_C2C_ID_UNAUTHENTICATED 0  /**< nobody the transport authenticated */
#define LWM2M_C2C_ID_SERVER          1  /**< LwM2M server, by Short Server ID */
#define LWM2M_C2C_ID_BOOTSTRAP       2  /**< bootstrap server */
#define LWM2M_C2C_ID_CLIENT          3  /**< requesting client (C2C), by Short Client ID */
/** @} */

/**
 * @name    Destination kinds of the engine's outgoing messages
 * @{
 */
#define LWM2M_C2C_DEST_SERVER    0  /**< DM server by Short Server ID */
#define LWM2M_C2C_DEST_BOOTSTRAP 1  /**< bootstrap server */
#define LWM2M_C2C_DEST_ENDPOINT  2  /**< peer handle from an earlier request */
/** @} */

/**
 * @brief   Registration states reported by @ref lwm2m_c2c_state
 */
typedef enum {
    LWM2M_C2C_NOT_REGISTERED = 0,   /**< not started or no such server */
    LWM2M_C2C_REGISTERING = 1,      /**< Register under way or waiting for a retry */
    LWM2M_C2C_REGISTERED = 2,       /**< registered */
    LWM2M_C2C_UPDATING = 3,         /**< registered, Update under way */
    LWM2M_C2C_DISABLED = 4,         /**< de-registered or disabled */
} lwm2m_c2c_state_t;

/**
 * @brief   Writes the default endpoint name, @ref CONFIG_LWM2M_ENDPOINT_PREFIX followed by
 *          the hex CPU ID (or a random ID on boards without one)
 *
 * @param[out] buf  buffer
 * @param[in]  len  size of @p buf (at least 32 recommended)
 */
void lwm2m_c2c_default_endpoint(char *buf, size_t len);

/**
 * @brief   Creates the engine (Device and Temperature objects, one server account), registers
 *          the gcoap listener and starts the poll thread
 *
 * @param[in] endpoint    endpoint name (NULL: @ref lwm2m_c2c_default_endpoint)
 * @param[in] server_uri  server URI (NULL: @ref CONFIG_LWM2M_SERVER_URI)
 *
 * @return 0 on success, negative errno otherwise
 */
int lwm2m_c2c_init(const char *endpoint, const char *server_uri);

/**
 * @brief   Starts registration with the configured server
 *
 * @return 0 on success, negative errno otherwise
 */
int lwm2m_c2c_start(void);

/**
 * @brief   Sets a resource value as the firmware (e.g. a new sensor reading)
 *
 * @param[in] path   path such as `/3303/0/5700`
 * @param[in] value  `true`/`false`, an integer, a float or a string
 *
 * @return 0 on success, negative errno or negative CoAP code otherwise
 */
int lwm2m_c2c_set(const char *path, const char *value);

/**
 * @brief   Registration state toward a server
 *
 * @param[in] ssid  Short Server ID
 *
 * @return a @ref lwm2m_c2c_state_t, negative if not initialized
 */
int lwm2m_c2c_state(uint16_t ssid);

/**
 * @brief   Milliseconds since boot on the engine's clock (64 bit, does not wrap)
 */
uint64_t lwm2m_c2c_now_ms(void);

/**
 * @brief   Event hook; the default prints `EVT ts=<usec> kind=<kind> ssid=<ssid>`
 *
 * Declared weak in the module: firmware may define its own.
 *
 * @param[in] kind  `registered`, `updated`, `registering`, `reg_lost`, `disabled`, ...
 * @param[in] ssid  Short Server ID concerned
 */
void lwm2m_c2c_on_event(const char *kind, uint16_t ssid);

#ifdef __cplusplus
}
#endif

#endif /* LWM2M_C2C_H */
/** @} */
