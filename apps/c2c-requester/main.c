/*
 * SPDX-License-Identifier: MIT OR Apache-2.0
 */

/**
 * @file
 * @brief       Requesting client of client-to-client experiments: observes a resource of a
 *              hosting client directly, after the server authorized it
 *
 * With C2C_HOST_EP set at build time, a thread waits for the registration, then calls
 * lwm2m_c2c_observe(C2C_HOST_EP, C2C_HOST_URI, C2C_PATH). The driver runs the flow (plain
 * request, 4.01 + owner server hint, access request to the server, OSCORE-protected
 * observation) and prints one EV line per step; this application only counts the
 * notifications and starts again C2C_RETRY_MS after a failure.
 */

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "lwm2m_c2c.h"
#include "shell.h"
#include "thread.h"
#include "ztimer.h"

static kernel_pid_t _pid = KERNEL_PID_UNDEF;
static char _stack[THREAD_STACKSIZE_DEFAULT];
static volatile uint32_t _notifications;
static volatile bool _failed;

/* Runs with the engine locked: only records what happened. */
static void _result(void *arg, int handle, int status, uint8_t code, uint32_t observe,
                    const uint8_t *payload, size_t len)
{
    (void)arg;
    (void)handle;
    (void)code;
    (void)payload;
    (void)len;
    if (status < 0) {
        _failed = true;
        thread_wakeup(_pid);
    }
    else if (observe != UINT32_MAX) {
        _notifications++;
    }
}

static void *_observer(void *arg)
{
    (void)arg;
    while (lwm2m_c2c_state(CONFIG_LWM2M_SERVER_SHORT_ID) != LWM2M_C2C_REGISTERED) {
        ztimer_sleep(ZTIMER_MSEC, 100);
    }
    while (1) {
        _failed = false;
        int h = lwm2m_c2c_observe(C2C_HOST_EP, C2C_HOST_URI, C2C_PATH, _result, NULL);
        printf("c2c-requester: observe %s %s %s -> %d\n", C2C_HOST_EP, C2C_HOST_URI,
               C2C_PATH, h);
        if (h >= 0) {
            while (!_failed) {
                thread_sleep();
            }
        }
        ztimer_sleep(ZTIMER_MSEC, C2C_RETRY_MS);
    }
    return NULL;
}

int main(void)
{
    char ep[32];

    /* Give SLAAC / link-local DAD a moment so the first Register has a source address. */
    ztimer_sleep(ZTIMER_MSEC, 1000);
    lwm2m_c2c_default_endpoint(ep, sizeof(ep));
    printf("c2c-requester: endpoint %s, server %s\n", ep, CONFIG_LWM2M_SERVER_URI);
    int res = lwm2m_c2c_init(ep, CONFIG_LWM2M_SERVER_URI);
    if (res < 0) {
        printf("c2c-requester: init failed (%d)\n", res);
    }
    else {
        if (LWM2M_AUTOSTART) {
            lwm2m_c2c_start();
        }
        if (strlen(C2C_HOST_EP) > 0) {
            _pid = thread_create(_stack, sizeof(_stack), THREAD_PRIORITY_MAIN - 1, 0,
                                 _observer, NULL, "c2c");
        }
    }

    char line_buf[SHELL_DEFAULT_BUFSIZE];
    shell_run(NULL, line_buf, SHELL_DEFAULT_BUFSIZE);
    return 0;
}
