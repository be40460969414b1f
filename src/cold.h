/* funneld — leads going cold (cold.* settings).
 *
 * A lead in stage mql or sql has a deadline: its entry into that stage plus
 * the stage's window (cold.mql_sla_hours, cold.sql_days), unless its alert
 * for the stage already fired. The deadline is derived from the lead's state
 * and indexed per input partition in the sorted set P:due:G:<p> (event
 * clock) or P:due:wall:G:<p> (wall clock), member "T:lead_id", score the
 * deadline, so that a batch finds the leads that went cold without reading
 * them all. An alert fires once the clock is past the deadline: an
 * AlertEvent through the outbox, the counters of P:{T}:cold*, the lead in
 * P:{T}:cold:leads:<stage> and its hash field `cold`. */
#ifndef FD_COLD_H
#define FD_COLD_H

#include <stdint.h>

#include "apply.h"
#include "lead.h"

/* The lead's deadline (0: none) and, when window is not NULL, the window
 * it came from. */
int64_t fd_cold_due(const fd_lead *lead, int64_t *window);

/* The funnel value a lead going cold in stage takes away, in minor units of
 * the goal's currency: goal.deal_size_minor times goal.sql_to_won_pct (and
 * goal.mql_to_sql_pct for an MQL), rounded half up; 0 when the goal lacks
 * one of them. */
int64_t fd_cold_value(const fd_goal *g, fd_stage stage);

/* 1 when the tenant's deadlines follow the wall clock (cold.clock). */
int fd_cold_wall(const fd_tenant_conf *tconf);

/* The lead's stage or cycle may have changed (due0: its deadline before):
 * takes it off P:{T}:cold:leads:<stage> when it left the stage its alert
 * fired in, and moves its entry in the deadline set of partition. */
int fd_cold_changed(fd_processor *proc, fd_lead *lead, int64_t due0,
                    int32_t partition);

/* Raises the lead's alert when its clock is past its deadline: clock is the
 * event clock of the lead's partition (ignored for a wall-clock tenant,
 * whose clock is proc->wall_now). 1 when it fired, 0 when not, -1 on
 * error. */
int fd_cold_check(fd_processor *proc, fd_lead *lead, int64_t clock,
                  int32_t partition);

/* A deadline-set entry read in round one whose score or set does not match
 * the lead's deadline (the config changed, or it was set from another
 * partition): removes it and indexes the lead where it belongs. */
int fd_cold_fix_entry(fd_processor *proc, const fd_due *due);

#endif
