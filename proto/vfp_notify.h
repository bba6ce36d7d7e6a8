/* vfp_notify.h - the daemons' service-manager notifications (systemd's
 * sd_notify): ready, watchdog keep-alive, stopping. Every call is a no-op
 * when the daemon was not started by systemd (no NOTIFY_SOCKET). */
#ifndef VFLEET_VFP_NOTIFY_H
#define VFLEET_VFP_NOTIFY_H

#include <stdint.h>

/* The daemon serves: READY=1 with a one-line status. */
void vfp_notify_ready(const char *status);

/* The daemon is stopping: STOPPING=1. */
void vfp_notify_stopping(void);

/* How often the main loop must call vfp_notify_watchdog: half the unit's
 * WatchdogSec, in milliseconds, or 0 when no watchdog is asked for. */
int64_t vfp_notify_watchdog_interval_ms(void);

/* The main loop is alive: WATCHDOG=1. */
void vfp_notify_watchdog(void);

#endif
