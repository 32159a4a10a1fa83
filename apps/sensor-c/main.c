/*
 * SPDX-License-Identifier: MIT OR Apache-2.0
 */

/**
 * @file
 * @brief       LwM2M sensor written in C: an IPSO Temperature object (3303) defined in C with
 *              the lwm2m_c2c API, its value updated by a periodic ztimer
 *
 * The object is a table of resource definitions plus read / write / execute callbacks; the
 * Rust engine does access control, content formats and observation. The "sensor" is simulated
 * (a bounded random walk) so the firmware runs on any board.
 */

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "lwm2m_c2c.h"
#include "mutex.h"
#include "random.h"
#include "shell.h"
#include "thread.h"
#include "ztimer.h"
#include "ztimer/periodic.h"

#ifndef SENSOR_PERIOD_MS
#define SENSOR_PERIOD_MS 5000   /**< reading interval */
#endif

#define TEMP_OBJ        3303
#define RANGE_MIN_CC    (-4000) /* centi-degrees Celsius */
#define RANGE_MAX_CC    8500
#define APP_TYPE_LEN    24

/* Sensor state, shared by the ztimer-driven reader and the engine's callbacks. Integers in
 * centi-degrees keep the reader free of floating point. */
static struct {
    mutex_t lock;
    int32_t value, min, max;
    char app_type[APP_TYPE_LEN];
    size_t app_type_len;
} _sensor = { .lock = MUTEX_INIT, .value = 2150, .min = 2150, .max = 2150 };

static const lwm2m_c2c_resource_t _temp_res[] = {
    { 5601, LWM2M_C2C_OP_R, LWM2M_C2C_TYPE_FLOAT },         /* Min Measured Value */
    { 5602, LWM2M_C2C_OP_R, LWM2M_C2C_TYPE_FLOAT },         /* Max Measured Value */
    { 5603, LWM2M_C2C_OP_R, LWM2M_C2C_TYPE_FLOAT },         /* Min Range Value */
    { 5604, LWM2M_C2C_OP_R, LWM2M_C2C_TYPE_FLOAT },         /* Max Range Value */
    { 5605, LWM2M_C2C_OP_E, LWM2M_C2C_TYPE_NONE },          /* Reset Min and Max */
    { 5700, LWM2M_C2C_OP_R, LWM2M_C2C_TYPE_FLOAT },         /* Sensor Value */
    { 5701, LWM2M_C2C_OP_R, LWM2M_C2C_TYPE_STRING },        /* Sensor Units */
    { 5750, LWM2M_C2C_OP_R | LWM2M_C2C_OP_W, LWM2M_C2C_TYPE_STRING }, /* Application Type */
};

static int _read(void *arg, uint16_t inst, uint16_t res, lwm2m_c2c_value_t *out)
{
    (void)arg;
    (void)inst; /* one instance: the engine has checked inst == 0 */
    static const char units[] = "Cel";
    int rc = 0;

    mutex_lock(&_sensor.lock);
    switch (res) {
    case 5601: out->value.f = _sensor.min / 100.0; break;
    case 5602: out->value.f = _sensor.max / 100.0; break;
    case 5603: out->value.f = RANGE_MIN_CC / 100.0; break;
    case 5604: out->value.f = RANGE_MAX_CC / 100.0; break;
    case 5700: out->value.f = _sensor.value / 100.0; break;
    case 5701:
        out->value.bytes.ptr = (const uint8_t *)units;
        out->value.bytes.len = sizeof(units) - 1;
        break;
    case 5750:
        /* Object-owned storage: stays valid while the engine encodes it (it holds its lock,
         * and only a write through the engine changes it). */
        out->value.bytes.ptr = (const uint8_t *)_sensor.app_type;
        out->value.bytes.len = _sensor.app_type_len;
        break;
    default:
        rc = -ENOENT;
    }
    mutex_unlock(&_sensor.lock);
    return rc;
}

static void _store(int32_t cc)
{
    _sensor.value = cc;
    if (cc < _sensor.min) {
        _sensor.min = cc;
    }
    if (cc > _sensor.max) {
        _sensor.max = cc;
    }
}

/* Servers may write only 5750 (the engine enforces the table's operations); 5700 is written
 * locally, by `lwm2m set /3303/0/5700 <value>` on the shell. */
static int _write(void *arg, uint16_t inst, uint16_t res, const lwm2m_c2c_value_t *v,
                  bool check_only)
{
    (void)arg;
    (void)inst;
    if (res == 5750) {
        if (v->value.bytes.len > APP_TYPE_LEN) {
            return -ENOSPC;
        }
        if (!check_only) {
            mutex_lock(&_sensor.lock);
            memcpy(_sensor.app_type, v->value.bytes.ptr, v->value.bytes.len);
            _sensor.app_type_len = v->value.bytes.len;
            mutex_unlock(&_sensor.lock);
        }
        return 0;
    }
    if (res == 5700) {
        double f = v->value.f;
        if (!(f >= RANGE_MIN_CC / 100.0 && f <= RANGE_MAX_CC / 100.0)) {
            return -ERANGE;
        }
        if (!check_only) {
            mutex_lock(&_sensor.lock);
            _store((int32_t)(f * 100.0 + (f < 0 ? -0.5 : 0.5)));
            mutex_unlock(&_sensor.lock);
        }
        return 0;
    }
    return -EPERM;
}

static int _execute(void *arg, uint16_t inst, uint16_t res, const uint8_t *args, size_t len)
{
    (void)arg;
    (void)inst;
    (void)args;
    (void)len;
    if (res != 5605) {
        return -EPERM;
    }
    mutex_lock(&_sensor.lock);
    _sensor.min = _sensor.max = _sensor.value;
    mutex_unlock(&_sensor.lock);
    return 0;
}

static const lwm2m_c2c_object_t _temp_obj = {
    .id = TEMP_OBJ,
    .instances = 1,
    .multiple = true,
    .resources = _temp_res,
    .resources_len = ARRAY_SIZE(_temp_res),
    .read = _read,
    .write = _write,
    .execute = _execute,
    .arg = NULL,
};

/* The periodic ztimer fires in interrupt context, where the engine must not be entered: it
 * only wakes the sensor thread, which takes the reading and reports the change. */
static kernel_pid_t _sensor_pid;
static char _sensor_stack[THREAD_STACKSIZE_DEFAULT];

static bool _tick(void *arg)
{
    (void)arg;
    thread_wakeup(_sensor_pid);
    return ZTIMER_PERIODIC_KEEP_GOING;
}

static void *_sensor_thread(void *arg)
{
    (void)arg;
    while (1) {
        thread_sleep();
        /* Simulated reading: random walk of up to +-0.5 degC per period within 15..30 degC. */
        int32_t step = (int32_t)random_uint32_range(0, 101) - 50;
        mutex_lock(&_sensor.lock);
        int32_t cc = _sensor.value + step;
        if (cc < 1500 || cc > 3000) {
            cc = _sensor.value - step;
        }
        _store(cc);
        mutex_unlock(&_sensor.lock);
        lwm2m_c2c_changed(TEMP_OBJ, 0, 5700);
    }
    return NULL;
}

int main(void)
{
    char ep[32];
    static ztimer_periodic_t timer;

    /* Give SLAAC / link-local DAD a moment so the first Register has a source address. */
    ztimer_sleep(ZTIMER_MSEC, 1000);
    lwm2m_c2c_default_endpoint(ep, sizeof(ep));
    printf("sensor-c: endpoint %s, server %s\n", ep, CONFIG_LWM2M_SERVER_URI);

    int res = lwm2m_c2c_add_object(&_temp_obj);
    if (res == 0) {
        res = lwm2m_c2c_init(ep, CONFIG_LWM2M_SERVER_URI);
    }
    if (res < 0) {
        printf("sensor-c: init failed (%d)\n", res);
    }
    else {
        _sensor_pid = thread_create(_sensor_stack, sizeof(_sensor_stack),
                                    THREAD_PRIORITY_MAIN - 1, THREAD_CREATE_SLEEPING,
                                    _sensor_thread, NULL, "sensor");
        ztimer_periodic_init(ZTIMER_MSEC, &timer, _tick, NULL, SENSOR_PERIOD_MS);
        ztimer_periodic_start(&timer);
        if (LWM2M_AUTOSTART) {
            lwm2m_c2c_start();
        }
    }

    char line_buf[SHELL_DEFAULT_BUFSIZE];
    shell_run(NULL, line_buf, SHELL_DEFAULT_BUFSIZE);
    return 0;
}
