/*
 * SPDX-License-Identifier: MIT OR Apache-2.0
 */

/**
 * @ingroup     lwm2m_c2c
 * @{
 *
 * @file
 * @brief       Firmware Update storage (LWM2M_FOTA): the image the engine streams from a
 *              Write of /5/0/0 goes into the inactive riotboot slot (LWM2M_FOTA=riotboot) or
 *              into a file (LWM2M_FOTA=file, e.g. native64's host directory)
 *
 * The engine checks the package (length, SHA-256) before it calls finish; only then does the
 * riotboot backend write the slot's magic number, so a corrupt or truncated image never
 * becomes bootable. Update (Execute /5/0/2) reboots into the new slot after a delay that lets
 * the response go out; the file backend only reports it. With riotboot the running slot and
 * its version (APP_VER) are the Device object's Firmware Version (/3/0/3), so the server sees
 * the new image in the registration after the reboot.
 *
 * @}
 */

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "lwm2m_c2c.h"
#if LWM2M_C2C_FOTA_PULL
#include "net/sock/util.h"
#include "lwm2m_c2c_internal.h"
#endif

#if LWM2M_C2C_FOTA_RIOTBOOT
#include "periph/pm.h"
#include "riotboot/flashwrite.h"
#include "riotboot/slot.h"
#include "ztimer.h"

/**
 * @brief   Milliseconds between the answer to Execute /5/0/2 and the reboot into the new slot
 */
#ifndef CONFIG_LWM2M_FOTA_REBOOT_DELAY_MS
#define CONFIG_LWM2M_FOTA_REBOOT_DELAY_MS 2000
#endif

static riotboot_flashwrite_t _writer;
static ztimer_t _reboot_timer;

static void _reboot(void *arg)
{
    (void)arg;
    pm_reboot();
}

size_t lwm2m_c2c_glue_fw_capacity(void)
{
    return riotboot_slot_size(riotboot_slot_other());
}

int lwm2m_c2c_glue_fw_begin(size_t len)
{
    int slot = riotboot_slot_other();
    if (len > riotboot_slot_size(slot)) {
        return -ENOSPC;
    }
    printf("lwm2m: firmware into riotboot slot %d (%u bytes)\n", slot, (unsigned)len);
    return riotboot_flashwrite_init(&_writer, slot) < 0 ? -EIO : 0;
}

int lwm2m_c2c_glue_fw_write(size_t offset, const uint8_t *data, size_t len)
{
    /* The slot image starts with its riotboot header, whose magic number flashwrite writes
     * last (at finish): the first RIOTBOOT_FLASHWRITE_SKIPLEN bytes are checked, not
     * written. */
    if (offset == 0 && len >= sizeof(riotboot_hdr_t)) {
        /* The bootloader starts the valid slot of the higher version: an image not above the
         * running one would never boot (and would make lwm2m_c2c_glue_fw_boot_result lie). */
        riotboot_hdr_t hdr;
        memcpy(&hdr, data, sizeof(hdr));
        uint32_t running = riotboot_slot_get_hdr(riotboot_slot_current())->version;
        if (hdr.version <= running) {
            printf("lwm2m: firmware version %" PRIu32 " is not above the running %" PRIu32 "\n",
                   hdr.version, running);
            return -EINVAL;
        }
    }
    if (offset < RIOTBOOT_FLASHWRITE_SKIPLEN) {
        static const uint8_t magic[4] = { 'R', 'I', 'O', 'T' };
        size_t skip = RIOTBOOT_FLASHWRITE_SKIPLEN - offset;
        skip = skip < len ? skip : len;
        if (memcmp(data, magic + offset, skip) != 0) {
            puts("lwm2m: firmware is not a riotboot slot image");
            return -EINVAL;
        }
        data += skip;
        len -= skip;
    }
    if (len == 0) {
        return 0;
    }
    return riotboot_flashwrite_putbytes(&_writer, data, len, true) < 0 ? -EIO : 0;
}

int lwm2m_c2c_glue_fw_finish(void)
{
    if (riotboot_flashwrite_flush(&_writer) < 0 || riotboot_flashwrite_finish(&_writer) < 0) {
        return -EIO;
    }
    printf("lwm2m: firmware stored in slot %d\n", _writer.target_slot);
    return 0;
}

void lwm2m_c2c_glue_fw_abort(void)
{
    /* The magic number was never written: the partial slot does not validate and the
     * bootloader keeps the running one. */
}

const char *lwm2m_c2c_glue_fw_running(void)
{
    /* Built once: the engine keeps a pointer to it. */
    static char version[32];
    if (version[0] == '\0') {
        int slot = riotboot_slot_current();
        snprintf(version, sizeof(version), "riotboot slot %d v%" PRIu32, slot,
                 riotboot_slot_get_hdr(slot)->version);
    }
    return version;
}

int lwm2m_c2c_glue_fw_boot_result(void)
{
    /* The other slot holds a valid image of a lower version: the running one replaced it,
     * and only images above the running version are taken (lwm2m_c2c_glue_fw_write), so an
     * update brought the running image in (or it was flashed over an older slot by hand). */
    int other = riotboot_slot_other();
    if (riotboot_slot_validate(other) != 0) {
        return 0;
    }
    return riotboot_slot_get_hdr(other)->version <
           riotboot_slot_get_hdr(riotboot_slot_current())->version;
}

int lwm2m_c2c_glue_fw_update(void)
{
    printf("lwm2m: rebooting into slot %d in %u ms\n", riotboot_slot_other(),
           (unsigned)CONFIG_LWM2M_FOTA_REBOOT_DELAY_MS);
    _reboot_timer.callback = _reboot;
    ztimer_set(ZTIMER_MSEC, &_reboot_timer, CONFIG_LWM2M_FOTA_REBOOT_DELAY_MS);
    return 0;
}

#elif LWM2M_C2C_FOTA_FILE
#include <fcntl.h>
#include "vfs.h"
#include "vfs_default.h"

/**
 * @brief   Where the file backend keeps the image (the `.part` file while it arrives)
 */
#ifndef CONFIG_LWM2M_FOTA_FILE
#define CONFIG_LWM2M_FOTA_FILE VFS_DEFAULT_DATA "/lwm2m-firmware.bin"
#endif
/**
 * @brief   Largest image the file backend takes (a larger one gets Update Result 2)
 */
#ifndef CONFIG_LWM2M_FOTA_FILE_MAX
#define CONFIG_LWM2M_FOTA_FILE_MAX (1024UL * 1024UL)
#endif

#define PART CONFIG_LWM2M_FOTA_FILE ".part"

static int _fd = -1;

size_t lwm2m_c2c_glue_fw_capacity(void)
{
    return CONFIG_LWM2M_FOTA_FILE_MAX;
}

int lwm2m_c2c_glue_fw_begin(size_t len)
{
    (void)len;
    if (_fd >= 0) {
        vfs_close(_fd);
    }
    _fd = vfs_open(PART, O_CREAT | O_TRUNC | O_WRONLY, 0644);
    return _fd < 0 ? -EIO : 0;
}

int lwm2m_c2c_glue_fw_write(size_t offset, const uint8_t *data, size_t len)
{
    (void)offset;
    while (len > 0) {
        ssize_t n = vfs_write(_fd, data, len);
        if (n <= 0) {
            return n == -ENOSPC ? -ENOSPC : -EIO;
        }
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

int lwm2m_c2c_glue_fw_finish(void)
{
    int res = vfs_close(_fd);
    _fd = -1;
    if (res < 0) {
        return -EIO;
    }
    vfs_unlink(CONFIG_LWM2M_FOTA_FILE);
    if (vfs_rename(PART, CONFIG_LWM2M_FOTA_FILE) < 0) {
        return -EIO;
    }
    printf("lwm2m: firmware stored in %s\n", CONFIG_LWM2M_FOTA_FILE);
    return 0;
}

void lwm2m_c2c_glue_fw_abort(void)
{
    if (_fd >= 0) {
        vfs_close(_fd);
        _fd = -1;
    }
    vfs_unlink(PART);
}

const char *lwm2m_c2c_glue_fw_running(void)
{
    return NULL;
}

int lwm2m_c2c_glue_fw_boot_result(void)
{
    /* A file is installed by whoever reads it: nothing to learn at boot. */
    return 0;
}

int lwm2m_c2c_glue_fw_update(void)
{
    /* Nothing boots from a file: report the Update as done (Update Result 1). */
    printf("lwm2m: firmware update: %s is the new image\n", CONFIG_LWM2M_FOTA_FILE);
    return 1;
}
#endif

#if LWM2M_C2C_FOTA_PULL
/**
 * @brief   Block2 size a Firmware Update pull asks for (LWM2M_FOTA_PULL=1): 16 ... 1024, a
 *          power of two (others are rounded down to one). 256 by default: a 512-byte block
 *          and its header do not fit gcoap's 512-byte PDU buffer (CONFIG_GCOAP_PDU_BUF_SIZE)
 */
#ifndef CONFIG_LWM2M_FOTA_PULL_BLOCK
#define CONFIG_LWM2M_FOTA_PULL_BLOCK 256
#endif

/**
 * @brief   Times a pull asks for the same block again after gcoap gave up on it (its CON
 *          retransmissions timed out) before it ends with Update Result 4
 */
#ifndef CONFIG_LWM2M_FOTA_PULL_RETRIES
#define CONFIG_LWM2M_FOTA_PULL_RETRIES 4
#endif

uint16_t lwm2m_c2c_glue_fota_pull_block(void)
{
    return CONFIG_LWM2M_FOTA_PULL_BLOCK;
}

uint8_t lwm2m_c2c_glue_fota_pull_retries(void)
{
    return CONFIG_LWM2M_FOTA_PULL_RETRIES;
}

/* Whether the URIs a and b (not NUL-terminated) name the same address and port (the default
 * port of their scheme if none): the pull's test for "on this server account". The zone of an
 * IPv6 address (the interface) is not compared: it is the writer's, not this node's. Host
 * names do not parse (no DNS here). */
bool lwm2m_c2c_glue_same_endpoint(const uint8_t *a, size_t a_len, const uint8_t *b,
                                  size_t b_len)
{
    sock_udp_ep_t ea, eb;
    if (lwm2m_c2c_parse_uri(a, a_len, &ea) < 0 || lwm2m_c2c_parse_uri(b, b_len, &eb) < 0) {
        return false;
    }
    return sock_udp_ep_equal(&ea, &eb);
}
#endif
