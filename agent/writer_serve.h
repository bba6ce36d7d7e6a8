/* writer_serve.h - the privileged writer process's side of the writer
 * channel: every request checked again (writer_msg_check_req), then
 * carried out through a vf_writer_t, one answer each. */
#ifndef VFLEET_WRITER_SERVE_H
#define VFLEET_WRITER_SERVE_H

#include <stddef.h>

#include "vf_writer.h"
#include "writer_msg.h"

/* Answers the `len` bytes of buf, received as one request, into *rep: a
 * refusal (rep->refused, rep->why; logged) when they do not pass the
 * check, else the writer's results. */
void writer_serve_handle(vf_writer_t *writer, const void *buf, size_t len,
                         writer_msg_rep_t *rep);

/* Answers requests on fd until the other end closes it (0) or the channel
 * fails (-1). */
int writer_serve_run(int fd, vf_writer_t *writer);

#endif
