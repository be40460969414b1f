/* funneld — fault injection for the crash tests.
 *
 * FUNNELD_FAULT="POINT:N" makes the process kill itself with SIGKILL the
 * N-th time it passes POINT. Points: "commit" (inside the atomic write:
 * MULTI and the batch's commands sent, EXEC not), "outbox" (derived events
 * produced and delivered, the outbox not yet trimmed). Unset: no effect
 * beyond one getenv at the first call. Only the test suite sets it. */
#ifndef FD_FAULT_H
#define FD_FAULT_H

/* 1 when FUNNELD_FAULT names point (whatever its count). */
int fd_fault_armed(const char *point);

/* Kills the process when point is the configured one and its count is due. */
void fd_fault_point(const char *point);

#endif
