/*
 * SPDX-License-Identifier: MIT OR Apache-2.0
 */

/**
 * @ingroup     lwm2m_c2c
 * @{
 *
 * @file
 * @brief       Shell command `lwm2m start|status|set <path> <value>`, and with
 *              LWM2M_C2C=auth `lwm2m c2c read|observe <host-ep> <host-uri> <path>` and
 *              `lwm2m c2c access <ssid> <host-ep> <path> [<rights> [c]]`, and with
 *              LWM2M_SEND=1 `lwm2m send [-l] <path>...` (Send to the configured server)
 *
 * @}
 */

#include <stdio.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "shell.h"
#include "lwm2m_c2c.h"

static const char *_state_name(int s)
{
    static const char *names[] = {
        "not_registered", "registering", "registered", "updating", "disabled",
    };
    return (s >= 0 && (unsigned)s < ARRAY_SIZE(names)) ? names[s] : "uninitialized";
}

static int _cmd(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "start") == 0) {
        int res = lwm2m_c2c_init(NULL, NULL);
        if (res < 0 && res != -EALREADY) {
            printf("lwm2m: init failed (%d)\n", res);
            return 1;
        }
        res = lwm2m_c2c_start();
        printf("lwm2m: start %s\n", res < 0 ? "failed" : "ok");
        return res < 0;
    }
    if (argc >= 2 && strcmp(argv[1], "status") == 0) {
        char ep[40];
        if (lwm2m_c2c_endpoint(ep, sizeof(ep)) < 0) {
            strcpy(ep, "-");
        }
        int s = lwm2m_c2c_state(CONFIG_LWM2M_SERVER_SHORT_ID);
        printf("STATUS ep=%s ssid=%u state=%s observations=%d\n", ep,
               (unsigned)CONFIG_LWM2M_SERVER_SHORT_ID, _state_name(s), lwm2m_c2c_observations());
        return 0;
    }
    if (argc == 4 && strcmp(argv[1], "set") == 0) {
        int res = lwm2m_c2c_set(argv[2], argv[3]);
        if (res < 0) {
            printf("lwm2m: set failed (%d)\n", res);
            return 1;
        }
        printf("lwm2m: set %s = %s\n", argv[2], argv[3]);
        return 0;
    }
#if LWM2M_C2C_QUEUE_MODE
    if (argc == 2 && strcmp(argv[1], "wake") == 0) {
        /* Queue Mode: an Update to every server now, then the stored notifications. */
        int res = lwm2m_c2c_wake();
        printf("lwm2m: wake -> %d\n", res);
        return res < 0;
    }
#endif
#if LWM2M_C2C_SEND
    if (argc >= 3 && strcmp(argv[1], "send") == 0) {
        /* `-l`: LwM2M CBOR instead of SenML CBOR. The outcome comes as EV send_result. */
        bool lwm2m_cbor = strcmp(argv[2], "-l") == 0;
        int first = lwm2m_cbor ? 3 : 2;
        int res = lwm2m_c2c_send(CONFIG_LWM2M_SERVER_SHORT_ID, (const char *const *)&argv[first],
                                 (size_t)(argc - first),
                                 lwm2m_cbor ? LWM2M_C2C_FORMAT_LWM2M_CBOR
                                            : LWM2M_C2C_FORMAT_SENML_CBOR);
        printf("lwm2m: send -> %d\n", res);
        return res < 0;
    }
#endif
#if defined(LWM2M_C2C_REQUESTING)
    if (argc == 6 && strcmp(argv[1], "c2c") == 0 &&
        (strcmp(argv[2], "read") == 0 || strcmp(argv[2], "observe") == 0)) {
        /* Results are printed by the module (EV response_rx / notification_rx lines). */
        int h = argv[2][0] == 'r'
                ? lwm2m_c2c_read(argv[3], argv[4], argv[5], NULL, NULL)
                : lwm2m_c2c_observe(argv[3], argv[4], argv[5], NULL, NULL);
        printf("lwm2m: c2c %s -> %d\n", argv[2], h);
        return h < 0;
    }
    if (argc >= 6 && argc <= 8 && strcmp(argv[1], "c2c") == 0 &&
        strcmp(argv[2], "access") == 0) {
        /* Rights as a number (LWM2M_C2C_RIGHT_* bits, default Read); `nc`: no credentials
         * wanted (an account with the host exists). */
        unsigned long rights = argc >= 7 ? strtoul(argv[6], NULL, 0) : LWM2M_C2C_RIGHT_READ;
        bool creds = !(argc == 8 && strcmp(argv[7], "nc") == 0);
        int res = lwm2m_c2c_request_access((uint16_t)atoi(argv[3]), argv[4], argv[5],
                                           (uint8_t)rights, creds);
        printf("lwm2m: c2c access -> %d\n", res);
        return res < 0;
    }
    printf("usage: %s start|status|set <path> <value>\n"
           "       %s c2c read|observe <host-ep> <host-uri> <path>\n"
           "       %s c2c access <ssid> <host-ep> <path> [<rights> [nc]]\n",
           argv[0], argv[0], argv[0]);
#else
    printf("usage: %s start|status|set <path> <value>\n", argv[0]);
#endif
#if LWM2M_C2C_SEND
    printf("       %s send [-l] <path>...\n", argv[0]);
#endif
#if LWM2M_C2C_QUEUE_MODE
    printf("       %s wake\n", argv[0]);
#endif
    return 1;
}

SHELL_COMMAND(lwm2m, "LwM2M client: start|status|set <path> <value>|c2c ...", _cmd);
