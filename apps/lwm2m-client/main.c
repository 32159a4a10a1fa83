/*
 * SPDX-License-Identifier: MIT OR Apache-2.0
 */

/**
 * @file
 * @brief       LwM2M client application: engine from the lwm2m_c2c module, plus the shell
 */

#include <stdio.h>

#include "container.h"
#include "lwm2m_c2c.h"
#include "msg.h"
#include "shell.h"
#include "ztimer.h"

/* The shell runs on main's thread: `ping` needs a message queue there for the replies. */
static msg_t _main_msg_queue[8];

int main(void)
{
    char ep[32];

    msg_init_queue(_main_msg_queue, ARRAY_SIZE(_main_msg_queue));

    /* Give SLAAC / link-local DAD a moment so the first Register has a source address. */
    ztimer_sleep(ZTIMER_MSEC, 1000);
#ifdef LWM2M_ENDPOINT
    snprintf(ep, sizeof(ep), "%s", LWM2M_ENDPOINT);
#else
    lwm2m_c2c_default_endpoint(ep, sizeof(ep));
#endif
    printf("lwm2m-client: endpoint %s, server %s\n", ep, CONFIG_LWM2M_SERVER_URI);
    int res = lwm2m_c2c_init(ep, CONFIG_LWM2M_SERVER_URI);
    if (res < 0) {
        printf("lwm2m-client: init failed (%d)\n", res);
    }
    else if (LWM2M_AUTOSTART) {
        lwm2m_c2c_start();
    }

    char line_buf[SHELL_DEFAULT_BUFSIZE];
    shell_run(NULL, line_buf, SHELL_DEFAULT_BUFSIZE);
    return 0;
}
