/* vfp_notify.c - sd_notify calls the daemons share, so that the message
 * texts live in one place. */
#include "vfp_notify.h"

#include <stdio.h>
#include <systemd/sd-daemon.h>

#include "vfp_log.h"

void vfp_notify_ready(const char *status)
{
    if (sd_notifyf(0, "READY=1\nSTATUS=%s", status) < 0)
        vfp_log_warnx("cannot tell the service manager we are ready");
}

void vfp_notify_stopping(void)
{
    sd_notify(0, "STOPPING=1\nSTATUS=stopping");
}

int64_t vfp_notify_watchdog_interval_ms(void)
{
    uint64_t usec = 0;
    if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0)
        return 0;
    /* Twice per period, as sd_watchdog_enabled(3) advises, so one late
     * wake-up does not get the daemon killed. */
    int64_t ms = (int64_t)(usec / 2000);
    return ms > 0 ? ms : 1;
}

void vfp_notify_watchdog(void)
{
    sd_notify(0, "WATCHDOG=1");
}
