/* admin_json.h - the admin API's JSON shapes (ADMIN.md) for inventory
 * rows. */
#ifndef VFLEET_ADMIN_JSON_H
#define VFLEET_ADMIN_JSON_H

#include <jansson.h>

#include "sessions.h"
#include "vfleet_db.h"

/* Milliseconds since the epoch (above 0) as RFC 3339 UTC with
 * milliseconds, "2026-11-25T08:41:18.086Z", into buf. */
#define ADMIN_JSON_TIME_MAX 80
void admin_json_time_text(int64_t ms, char buf[ADMIN_JSON_TIME_MAX]);

/* That text as a JSON string; JSON null for 0 (never). */
json_t *admin_json_time(int64_t ms);

/* A host; facts is what the session table knows (NULL: no session). */
json_t *admin_json_host(const db_host_row_t *row, const session_facts_t *facts);
json_t *admin_json_pf(const db_pf_row_t *row);
json_t *admin_json_vf(const db_vf_row_t *row);
json_t *admin_json_event(const db_event_row_t *row);
json_t *admin_json_hugepages(const db_hugepages_row_t *row);
/* A host's stored labels ("key=value\n" lines) as {"key": "value"}. */
json_t *admin_json_labels(const char *text);

#endif
