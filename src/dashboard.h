/* funneld — a text rendering of the live funnel, read from Redis through the
 * documented keys only (the demo's screen). */
#ifndef FD_DASHBOARD_H
#define FD_DASHBOARD_H

#include <stdint.h>
#include <stdio.h>

#include "funneld/config.h"

/* Prints stages, conversion rates and the top channels by attributed revenue
 * (linear model) of every tenant in conf's Redis. elapsed_s < 0 prints the
 * final summary. Clears the screen first when fp is a terminal. */
void fd_dashboard_print(FILE *fp, const fd_config *conf, double elapsed_s,
                        int64_t generated);

#endif
