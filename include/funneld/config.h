/* funneld — configuration: one INI file, validated against one table.
 *
 * Keys are dotted names; an INI section is a prefix ("[redis]" + "host" is
 * "redis.host"). Every key of the table has a type, bounds, a default and a
 * description (fd_config_print_reference() prints them). Keys starting with
 * "kafka." are passed through to librdkafka with the prefix stripped.
 * Scoring rules are sections "[rule.NAME]" (defaults) or
 * "[tenant.ID.rule.NAME]" (that tenant's model, replacing the default rules);
 * other per-tenant overrides live in "[tenant.ID]". */
#ifndef FUNNELD_CONFIG_H
#define FUNNELD_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "funneld/attribution.h"
#include "funneld/lifecycle.h"
#include "funneld/score.h"
#include "funneld/timebucket.h"

typedef struct fd_kv {
        char *key;
        char *value;
} fd_kv;

/* A Confluent schema id and the writer schema file it stands for. */
typedef struct fd_schema_ref {
        int32_t id;
        int kind; /* fd_event_kind: FD_EV_LEAD or FD_EV_CRM */
        char *path;
} fd_schema_ref;

/* A revenue goal and the funnel rates that turn it into stage targets
 * (goal.* keys; funnelctl pacing). */
typedef struct fd_goal {
        char *period;            /* "month", "quarter" or "year" */
        int64_t revenue_minor;   /* target per period; 0: no goal */
        char *currency;          /* ISO 4217 code of the counted revenue */
        int64_t deal_size_minor; /* average won deal; 0: not set */
        int32_t sql_to_won_pct;  /* 1..100; INT32_MIN: not set */
        int32_t mql_to_sql_pct;  /* 1..100; INT32_MIN: not set */
        int32_t lead_to_mql_pct; /* 1..100; INT32_MIN: not set (optional) */
} fd_goal;

/* When a lead goes cold (cold.* keys): an SQL that stays one longer than
 * sql_ms, an MQL not followed up within mql_sla_hours. 0: off. */
typedef struct fd_cold_conf {
        int64_t sql_ms;        /* cold.sql_days, 30 days */
        int64_t mql_sla_hours; /* cold.mql_sla_hours, 48 */
        char *clock;           /* cold.clock: "event" or "wall" */
} fd_cold_conf;

/* Settings that a tenant may override. */
typedef struct fd_tenant_conf {
        char *tenant_id;      /* NULL for the defaults */
        char *timezone;       /* IANA name, "UTC" by default */
        fd_score_model score; /* rules + MQL condition + hand-raise types */
        fd_lifecycle_conf lifecycle;
        int64_t lookback_ms;  /* attribution lookback, 90 days default */
        int64_t half_life_ms; /* time decay half-life, 7 days default */
        fd_custom_weights custom_weights; /* attribution.custom_weights */
        char **non_marketing; /* channels that are not marketing touches */
        size_t non_marketing_cnt;
        fd_calendar calendar; /* business days: weekend + holidays */
        fd_goal goal;         /* revenue goal and stage rates */
        fd_cold_conf cold;    /* cold-lead alerts */
} fd_tenant_conf;

typedef struct fd_config {
        char *path; /* the file read, or NULL for built-in defaults */

        /* kafka.* pass-through, prefix stripped, in file order */
        fd_kv *kafka;
        size_t kafka_cnt;

        char *group_id;          /* funneld.group.id, "funneld" */
        char *topic_lead;        /* topics.lead_events */
        char *topic_crm;         /* topics.crm_events */
        char *topic_spend;       /* topics.spend; "off": not read */
        char *topic_promotions;  /* topics.promotions */
        char *topic_attribution; /* topics.attribution */
        char *topic_dlq;         /* topics.dlq */
        char *topic_alerts;      /* topics.alerts */

        char *redis_host;            /* redis.host, "127.0.0.1" */
        int redis_port;              /* redis.port, 6379 */
        char *redis_socket;          /* redis.socket, NULL: TCP */
        char *redis_user;            /* redis.user, NULL */
        char *redis_password;        /* redis.password, NULL */
        int redis_db;                /* redis.db, 0 */
        char *redis_prefix;          /* redis.prefix, "fd" */
        char *replay_readers_prefix; /* replay.readers_prefix, NULL */

        char *schema_dir;          /* schemas.dir, "schemas" */
        fd_schema_ref *schema_ids; /* schemas.id.N = lead:PATH|crm:PATH */
        size_t schema_id_cnt;
        char *plain_writer_lead;           /* schemas.plain.lead_events, NULL */
        char *plain_writer_crm;            /* schemas.plain.crm_events, NULL */
        char *plain_writer_spend;          /* schemas.plain.spend, NULL */
        int32_t out_schema_id_promotion;   /* schemas.out.promotion, 3 */
        int32_t out_schema_id_attribution; /* schemas.out.attribution, 4 */
        int32_t out_schema_id_alert;       /* schemas.out.alert, 6 */

        int batch_max_events;        /* processing.batch.max_events, 2000 */
        int batch_catchup_events;    /* processing.batch.catchup_events */
        int batch_max_ms;            /* processing.batch.max_ms, 5 */
        int max_task_idle_ms;        /* processing.max_task_idle_ms, 500 */
        int merge_grace_ms;          /* processing.merge_grace_ms, 5 */
        int queue_max_events;        /* processing.queue.max_events, 20000 */
        int kafka_commit_ms;         /* processing.kafka_commit_ms, 1000 */
        int64_t allowed_lateness_ms; /* processing.allowed_lateness_ms, 0 */
        int lateness_idle_ms;        /* processing.lateness_idle_ms, 1000 */
        int lead_cache;              /* processing.lead_cache, 200000 */
        int overlap;                 /* processing.overlap, true */
        int touch_max;               /* processing.touch_max, 200 */
        int64_t dedupe_window_ms;    /* processing.dedupe_window_days, 7 d */
        int64_t max_message_bytes;   /* processing.max_message_bytes, 1 MiB */
        int64_t min_event_time_ms;   /* processing.min_event_time, 2000-01-01 */
        int64_t max_future_ms;       /* processing.max_future_days, 1 day */

        char *on_missing_offsets; /* processing.on_missing_offsets, "stop" */
        char *log_level;          /* log.level, "info" */
        char *log_format;         /* log.format, "text" */
        char *http_listen;        /* http.listen, "127.0.0.1:9464" */

        fd_model *models; /* attribution.models, all by default */
        size_t model_cnt;

        fd_tenant_conf defaults;
        fd_tenant_conf *tenants;
        size_t tenant_cnt;
} fd_config;

/* Allocates a config holding the built-in defaults (no scoring rules).
 * Free with fd_config_destroy(). */
fd_config *fd_config_new_defaults(void);

/* Reads and validates path. On error returns NULL and writes
 * "path:LINE: what is wrong; what to do" to errstr. */
fd_config *fd_config_load(const char *path, char *errstr, size_t errstr_size);

/* The input topic of events of kind (FD_EV_LEAD, FD_EV_CRM, FD_EV_SPEND);
 * NULL for spend when topics.spend is "off" or empty. */
const char *fd_config_topic(const fd_config *conf, int kind);

/* The settings for tenant_id: its overrides or the defaults. Never NULL. */
const fd_tenant_conf *fd_config_tenant(const fd_config *conf,
                                       const char *tenant_id);

/* Appends ", goal.<key>" to missing (a NUL-terminated buffer of at least
 * 128 bytes) for each setting the reverse funnel needs besides the revenue
 * target that g lacks: the deal size and the SQL-to-won and MQL-to-SQL
 * percentages. */
void fd_goal_missing(const fd_goal *g, char *missing);

/* Lists in out (comma separated) the settings that differ between the
 * running config a and a newly read b and that only take effect on a
 * restart: every global key except log.*, attribution.models and the
 * per-tenant settings and rules (which SIGHUP reloads), plus kafka.* and
 * schemas.id.*. Returns how many differ. */
size_t fd_config_restart_diff(const fd_config *a, const fd_config *b, char *out,
                              size_t out_size);

/* Prints the config reference (every key, type, default, bounds, meaning)
 * as Markdown to fp. */
void fd_config_print_reference(FILE *fp);

void fd_config_destroy(fd_config *conf);

#endif
