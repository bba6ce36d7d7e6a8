/* controller_internal.h - helpers the controller's source files share.
 * Not for other modules. */
#ifndef VFLEET_CONTROLLER_INTERNAL_H
#define VFLEET_CONTROLLER_INTERNAL_H

#include <stdint.h>

#include "vfleet_db.h"

/* Wall-clock milliseconds since the Unix epoch. */
int64_t controller_now_ms(void);

/* Records an audit event; failures are logged, never fatal. */
void controller_event(db_t *db, const char *kind, const char *host,
                      const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
