/* funneld — leads going cold: deadlines, their index, the alerts. */
#include "cold.h"

#include <stdio.h>
#include <string.h>

#include "fmt.h"
#include "funneld/timebucket.h"
#include "keys.h"
#include "log.h"

int fd_cold_wall(const fd_tenant_conf *tconf)
{
        return tconf->cold.clock && strcmp(tconf->cold.clock, "wall") == 0;
}

int64_t fd_cold_due(const fd_lead *lead, int64_t *window)
{
        const fd_cold_conf *c = &lead->tconf->cold;
        fd_stage s = lead->lc.stage;
        int64_t w = s == FD_STAGE_SQL   ? c->sql_ms
                    : s == FD_STAGE_MQL ? c->mql_sla_hours * FD_HOUR_MS
                                        : 0;

        if (w <= 0 || lead->cold == s || lead->lc.entered_at[s] == 0)
                return 0;
        if (window)
                *window = w;
        return lead->lc.entered_at[s] + w;
}

/* Appends the deadline set of partition: P:due[:wall]:G:<p>. */
static int due_key(fd_processor *proc, int wall, int32_t partition)
{
        return fd_key_due(&proc->writes, proc->prefix,
                          fd_store_group(proc->store), wall, (int)partition);
}

/* The lead's removal from a deadline set: noted, ZREMed at flush with the
 * batch's others (apply.c). */
static int due_remove(fd_processor *proc, const fd_lead *lead, int wall,
                      int32_t partition)
{
        return fd_apply_note_due(proc, wall, partition, lead, INT64_MIN);
}

/* The lead's deadline in the set of its tenant's clock: noted, ZADDed at
 * flush with the batch's others. */
static int due_add(fd_processor *proc, const fd_lead *lead, int64_t due,
                   int32_t partition)
{
        return fd_apply_note_due(proc, fd_cold_wall(lead->tconf), partition,
                                 lead, due);
}

/* The ZREM/ZADD of P:{T}:cold:leads:<stage> (the leads cold now). */
static int cold_list(fd_processor *proc, const fd_lead *lead, fd_stage stage,
                     int64_t at, int add)
{
        fd_resp *w = &proc->writes;
        return fd_resp_cmd(w, add ? 4 : 3) ||
               fd_resp_str(w, add ? "ZADD" : "ZREM") ||
               fd_resp_fmt(w, "%s:{%s}:cold:leads:%s", proc->prefix,
                           lead->tenant_id, fd_stage_name(stage)) ||
               (add && fd_resp_i64(w, at)) || fd_resp_str(w, lead->lead_id);
}

int fd_cold_changed(fd_processor *proc, fd_lead *lead, int64_t due0,
                    int32_t partition)
{
        int64_t due;

        if (lead->cold != FD_STAGE_NONE && lead->cold != lead->lc.stage) {
                if (cold_list(proc, lead, lead->cold, 0, 0))
                        return -1;
                lead->cold = FD_STAGE_NONE;
                lead->dirty = 1;
        }
        due = fd_cold_due(lead, NULL);
        if (due == due0)
                return 0;
        if (due)
                return due_add(proc, lead, due, partition) ||
                       (!fd_cold_wall(lead->tconf) &&
                        fd_apply_fresh_due(proc, lead, partition, due));
        return due_remove(proc, lead, fd_cold_wall(lead->tconf), partition);
}

/* a * pct / 100 rounded half up, without overflow for a <= 10^15. */
static int64_t pct_of(int64_t a, int64_t pct, int64_t scale)
{
        return a / scale * pct + (a % scale * pct + scale / 2) / scale;
}

int64_t fd_cold_value(const fd_goal *g, fd_stage stage)
{
        if (g->deal_size_minor <= 0 || g->sql_to_won_pct == INT32_MIN)
                return 0;
        if (stage == FD_STAGE_SQL)
                return pct_of(g->deal_size_minor, g->sql_to_won_pct, 100);
        if (g->mql_to_sql_pct == INT32_MIN)
                return 0;
        return pct_of(g->deal_size_minor,
                      (int64_t)g->sql_to_won_pct * g->mql_to_sql_pct, 10000);
}

/* Counts the alert in P:{T}:cold, P:{T}:cold:<month of the deadline> and
 * P:{T}:cold:daily:<stage>, and in the group's stats. */
static int count_alert(fd_processor *proc, const fd_lead *lead, fd_stage s,
                       int64_t due, int64_t value)
{
        const char *p = proc->prefix, *t = lead->tenant_id;
        const char *sn = fd_stage_name(s);
        const char *periods[2] = {"", NULL};
        char month[16], field[600];
        fd_bucket b;
        int rc = 0;

        fd_apply_bucket(lead->tconf, due, &b);
        fd_fmt(month, sizeof(month), ":%s", b.month);
        periods[1] = month;
        for (int i = 0; i < 2; i++) {
                rc |= fd_apply_count(proc, sn, 1, "%s:{%s}:cold%s", p, t,
                                     periods[i]);
                fd_fmt(field, sizeof(field), "%s:channel:%s", sn,
                       lead->source_channel ? lead->source_channel : "unknown");
                rc |= fd_apply_count(proc, field, 1, "%s:{%s}:cold%s", p, t,
                                     periods[i]);
                if (!value)
                        continue;
                fd_fmt(field, sizeof(field), "%s:value:%s", sn,
                       lead->tconf->goal.currency);
                rc |= fd_apply_count(proc, field, value, "%s:{%s}:cold%s", p, t,
                                     periods[i]);
                fd_fmt(field, sizeof(field), "value:%s",
                       lead->tconf->goal.currency);
                rc |= fd_apply_count(proc, field, value, "%s:{%s}:cold%s", p, t,
                                     periods[i]);
        }
        rc |= fd_apply_count(proc, b.day, 1, "%s:{%s}:cold:daily:%s", p, t, sn);
        rc |= fd_apply_count(proc, "alerts", 1, "%s:stats:%s", p,
                             fd_store_group(proc->store));
        return rc ? -1 : 0;
}

/* Publishes the AlertEvent through partition's outbox. */
static int emit_alert(fd_processor *proc, const fd_lead *lead, fd_stage s,
                      int64_t due, int64_t window, int64_t value,
                      int32_t partition)
{
        char event_id[512], errstr[256];
        const char *sn = fd_stage_name(s);
        fd_alert a = {
                .event_id = event_id,
                .tenant_id = lead->tenant_id,
                .lead_id = lead->lead_id,
                .alert = s == FD_STAGE_SQL ? "sql_cold" : "mql_sla_missed",
                .stage = sn,
                .cycle = lead->lc.cycle,
                .entered_at = lead->lc.entered_at[s],
                .occurred_at = due,
                .window_ms = window,
                .clock = fd_cold_wall(lead->tconf) ? "wall" : "event",
                .source_channel = lead->source_channel,
                .opportunity_id = lead->opportunity_id,
                .fit_score = lead->fit,
                .engagement_score = lead->engagement,
                .value_minor = value,
                .currency = value ? lead->tconf->goal.currency : NULL,
        };
        fd_fmt(event_id, sizeof(event_id), "%s:%s:%d:%s:cold", lead->tenant_id,
               lead->lead_id, (int)lead->lc.cycle, sn);
        fd_buf_reset(&proc->enc);
        if (fd_codec_encode_alert(proc->codec, proc->conf->out_schema_id_alert,
                                  &a, &proc->enc, errstr, sizeof(errstr))) {
                FD_ERROR("process", "cannot encode an alert: %s", errstr);
                return -1;
        }
        return fd_apply_outbox(proc, proc->conf->topic_alerts, lead->lead_id,
                               proc->enc.data, proc->enc.len, NULL, 0,
                               partition);
}

int fd_cold_check(fd_processor *proc, fd_lead *lead, int64_t clock,
                  int32_t partition)
{
        int64_t window = 0;
        int64_t due = fd_cold_due(lead, &window);
        fd_stage s = lead->lc.stage;
        int wall = fd_cold_wall(lead->tconf);
        int64_t value;

        if (!due || due >= (wall ? proc->wall_now : clock))
                return 0;
        value = fd_cold_value(&lead->tconf->goal, s);
        if (emit_alert(proc, lead, s, due, window, value, partition) ||
            count_alert(proc, lead, s, due, value) ||
            cold_list(proc, lead, s, due, 1) ||
            due_remove(proc, lead, wall, partition))
                return -1;
        lead->cold = s;
        lead->dirty = 1;
        proc->batch_stats.alerts++;
        return 1;
}

int fd_cold_fix_entry(fd_processor *proc, const fd_due *due)
{
        fd_resp *w = &proc->writes;
        const fd_lead *lead = due->lead;
        int64_t want = fd_cold_due(lead, NULL);

        if (want == due->at && fd_cold_wall(lead->tconf) == due->wall)
                return 0;
        /* The entry as read goes: through the batch's notes when it is the
         * lead's own member (they are written in the order of their last
         * change), now when it is spelled otherwise. */
        size_t tl = strlen(lead->tenant_id);
        int own = strncmp(due->member, lead->tenant_id, tl) == 0 &&
                  due->member[tl] == ':' &&
                  strcmp(due->member + tl + 1, lead->lead_id) == 0;
        if (own ? due_remove(proc, lead, due->wall, due->partition)
                : fd_resp_cmd(w, 3) || fd_resp_str(w, "ZREM") ||
                            due_key(proc, due->wall, due->partition) ||
                            fd_resp_str(w, due->member))
                return -1;
        return want ? due_add(proc, lead, want, due->partition) : 0;
}
