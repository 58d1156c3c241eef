/* The source's sending machinery: sealed records staged per stream, the
 * coordinator's commands to the stream workers, and post-copy service. */
#ifndef OM_MIG_SEND_H
#define OM_MIG_SEND_H
#include "mig_common.h"

int om_put_record(struct om_ssa *ssa, struct om_mig_stream *st, uint32_t sid, uint8_t type, uint64_t page,
                  uint64_t version, const void *pt, uint32_t len);
int om_flush(struct om_ssa *ssa, struct om_mig_stream *st);
/* Runs cmd on every stream (stream 0 here) and waits until all are done;
 * MIG_CMD_QUIT ends the workers. */
int om_mig_command(struct om_ssa *ssa, struct om_mig_session *s, uint32_t cmd);
int64_t om_mig_send_worker(struct om_ssa *ssa, struct om_mig_session *s, uint32_t i);
/* Stopped, post-copy: the pending bitmap, on stream 0. */
int om_mig_send_pending(struct om_ssa *ssa, struct om_mig_session *s);
/* After switchover: push the pending pages, answer page requests first,
 * until the destination confirms it holds them all. */
int om_mig_serve_postcopy(struct om_ssa *ssa, struct om_mig_session *s);
#endif
