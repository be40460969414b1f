/* funneld — milliseconds from the two clocks: monotonic for intervals and
 * deadlines, real time for what is shown or stored. */
#ifndef FD_CLOCK_H
#define FD_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline int64_t fd_clock_ms(clockid_t clock)
{
        struct timespec ts;
        clock_gettime(clock, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Monotonic ms (intervals). */
static inline int64_t fd_mono_ms(void)
{
        return fd_clock_ms(CLOCK_MONOTONIC);
}

/* Unix time in ms. */
static inline int64_t fd_wall_ms(void)
{
        return fd_clock_ms(CLOCK_REALTIME);
}

#endif
