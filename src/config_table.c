/* funneld — the one table of settings: parsing, validation, defaults,
 * copying and the Markdown reference are all driven by fd_cfg_keys[]. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "config_internal.h"
#include "funneld/attribution.h"
#include "funneld/timebucket.h"

#define G(field)       0, offsetof(fd_config, field), 0
#define GL(field, cnt) 0, offsetof(fd_config, field), offsetof(fd_config, cnt)
#define T(field)       1, offsetof(fd_tenant_conf, field), 0
#define TL(field, cnt)                                                         \
        1, offsetof(fd_tenant_conf, field), offsetof(fd_tenant_conf, cnt)

const fd_cfg_key fd_cfg_keys[] = {
        {"funneld.group.id", FD_CFG_STRING, "funneld", 0, 0, NULL, G(group_id),
         "Kafka consumer group of all funneld instances that share the work."},
        {"topics.lead_events", FD_CFG_STRING, "funnel.lead-events", 0, 0, NULL,
         G(topic_lead), "Input topic of LeadEvent (Avro)."},
        {"topics.crm_events", FD_CFG_STRING, "funnel.crm-events", 0, 0, NULL,
         G(topic_crm),
         "Input topic of CrmStageEvent (Avro); must be co-partitioned with "
         "the lead events topic."},
        {"topics.spend", FD_CFG_STRING, "funnel.spend", 0, 0, NULL,
         G(topic_spend),
         "Input topic of SpendEvent (Avro): cost per channel, campaign and "
         "day. When it exists it must have the lead events topic's "
         "partition count; when it does not, funneld warns and runs without "
         "cost data (create it and restart to read it); `off`: not read."},
        {"topics.promotions", FD_CFG_STRING, "funnel.promotions", 0, 0, NULL,
         G(topic_promotions), "Output topic of PromotionEvent (MQL, SQL)."},
        {"topics.attribution", FD_CFG_STRING, "funnel.attribution", 0, 0, NULL,
         G(topic_attribution),
         "Output topic of AttributionEvent (closed-won revenue credit)."},
        {"topics.alerts", FD_CFG_STRING, "funnel.alerts", 0, 0, NULL,
         G(topic_alerts),
         "Output topic of AlertEvent (leads going cold: cold.* settings)."},
        {"topics.dlq", FD_CFG_STRING, "funnel.dlq", 0, 0, NULL, G(topic_dlq),
         "Dead-letter topic: undecodable or invalid input, original bytes "
         "with reason headers."},
        {"redis.host", FD_CFG_STRING, "127.0.0.1", 0, 0, NULL, G(redis_host),
         "Redis server host name or address."},
        {"redis.port", FD_CFG_INT, "6379", 1, 65535, NULL, G(redis_port),
         "Redis server TCP port."},
        {"redis.socket", FD_CFG_STRING, NULL, 0, 0, NULL, G(redis_socket),
         "Path of redis-server's Unix domain socket (its `unixsocket` "
         "setting); when set, funneld and funnelctl connect there instead of "
         "redis.host/redis.port. With Redis on the same machine a Unix "
         "socket costs Redis and funneld less CPU per command than TCP over "
         "loopback (docs/PERFORMANCE.md)."},
        {"redis.user", FD_CFG_STRING, NULL, 0, 0, NULL, G(redis_user),
         "Redis ACL user (AUTH user password); unset: AUTH with the password "
         "only, or no AUTH."},
        {"redis.password", FD_CFG_STRING, NULL, 0, 0, NULL, G(redis_password),
         "Redis password; unset: no AUTH."},
        {"redis.db", FD_CFG_INT, "0", 0, 1023, NULL, G(redis_db),
         "Redis logical database number (SELECT)."},
        {"redis.prefix", FD_CFG_STRING, "fd", 0, 0, NULL, G(redis_prefix),
         "Prefix of every Redis key funneld writes (see docs/REDIS.md)."},
        {"replay.readers_prefix", FD_CFG_STRING, NULL, 0, 0, NULL,
         G(replay_readers_prefix),
         "Makes this instance a re-scoring replay for the live namespace "
         "named here (the live instances' redis.prefix): it needs a "
         "redis.prefix and a funneld.group.id of its own, builds its state "
         "from the earliest offsets under the new rules without publishing "
         "derived events, and once caught up writes P:active of the live "
         "namespace (`prefix`, `group`, `switched_at`), which funnelctl, the "
         "JSON API and dashboards follow; from then on it publishes like a "
         "live instance, and the old instances can be stopped (README, "
         "\"Re-scoring\")."},
        {"schemas.dir", FD_CFG_STRING, "schemas", 0, 0, NULL, G(schema_dir),
         "Directory of the `*.avsc` reader and output schemas."},
        {"schemas.plain.lead_events", FD_CFG_STRING, NULL, 0, 0, NULL,
         G(plain_writer_lead),
         "Writer schema file for lead events sent as plain Avro binary "
         "(without the Confluent header); unset: plain Avro is rejected."},
        {"schemas.plain.crm_events", FD_CFG_STRING, NULL, 0, 0, NULL,
         G(plain_writer_crm),
         "Writer schema file for CRM events sent as plain Avro binary; "
         "unset: plain Avro is rejected."},
        {"schemas.plain.spend", FD_CFG_STRING, NULL, 0, 0, NULL,
         G(plain_writer_spend),
         "Writer schema file for spend events sent as plain Avro binary; "
         "unset: plain Avro is rejected."},
        {"schemas.out.promotion", FD_CFG_I32, "3", 1, INT32_MAX, NULL,
         G(out_schema_id_promotion),
         "Confluent schema id written in front of each PromotionEvent."},
        {"schemas.out.attribution", FD_CFG_I32, "4", 1, INT32_MAX, NULL,
         G(out_schema_id_attribution),
         "Confluent schema id written in front of each AttributionEvent."},
        {"schemas.out.alert", FD_CFG_I32, "6", 1, INT32_MAX, NULL,
         G(out_schema_id_alert),
         "Confluent schema id written in front of each AlertEvent."},
        {"processing.batch.max_events", FD_CFG_INT, "2000", 1, 100000, NULL,
         G(batch_max_events),
         "Most input events applied to Redis in one atomic batch."},
        {"processing.batch.catchup_events", FD_CFG_INT, "8000", 1, 100000, NULL,
         G(batch_catchup_events),
         "Most input events in one batch while funneld works off a backlog: "
         "while the lag of its partitions (their high watermarks as last "
         "fetched, minus what it has applied) is at least four times this. "
         "Larger transactions merge more counter updates per Redis command "
         "and hold Redis longer (docs/PERFORMANCE-LOG.md, run S); live flow "
         "keeps batch.max_events. At or below batch.max_events: off."},
        {"processing.batch.max_ms", FD_CFG_INT, "5", 1, 60000, NULL,
         G(batch_max_ms),
         "Longest time (ms) an event waits in funneld's buffers (the "
         "event-time merge's waits included) before its batch is applied, "
         "unless the batch fills up first. Larger batches merge more "
         "counter updates per Redis command at moderate rates and cost "
         "that much latency; under a backlog batches fill up before it, "
         "whatever it is. Below merge_grace_ms it changes little: an event "
         "the merge holds waits the grace anyway."},
        {"processing.max_task_idle_ms", FD_CFG_INT, "500", 0, 600000, NULL,
         G(max_task_idle_ms),
         "How long (ms) a partition pair waits for its lagging input topic "
         "before it processes the other one (as Kafka Streams' "
         "max.task.idle.ms)."},
        {"processing.merge_grace_ms", FD_CFG_INT, "5", 0, 600000, NULL,
         G(merge_grace_ms),
         "How long (ms) an event has been buffered, at least, before the "
         "event-time merge applies it while the other input topic of its "
         "partition pair has nothing buffered and is at its end: an "
         "earlier event of that topic may still be on its way from a "
         "producer that batches each partition on its own (linger.ms). "
         "Set it to your producers' linger.ms when that is larger; lower "
         "it for less latency and a looser order between the topics (at "
         "1 ms, 3.5 % of the benchmark's events came after a later event "
         "of the other topic had been applied, at 0 12 %; "
         "docs/PERFORMANCE-LOG.md, run AF). At most max_task_idle_ms."},
        {"processing.kafka_commit_ms", FD_CFG_INT, "1000", 0, 600000, NULL,
         G(kafka_commit_ms),
         "How often (ms), at most, funneld also commits the offsets it has "
         "written to Redis to its consumer group in Kafka, for lag tools "
         "(kafka-consumer-groups, Burrow) and for processing."
         "on_missing_offsets; always before its partitions are revoked and "
         "when it stops. funneld itself reads its offsets from Redis only. "
         "0: after every batch, which costs the broker CPU per batch "
         "(docs/PERFORMANCE-LOG.md, run X)."},
        {"processing.queue.max_events", FD_CFG_INT, "20000", 4, 10000000, NULL,
         G(queue_max_events),
         "Messages buffered per input partition before funneld pauses "
         "fetching it (resumed below a quarter of this); bounds memory "
         "while the event-time merge waits for a lagging partition."},
        {"processing.allowed_lateness_ms", FD_CFG_I64, "0", 0,
         INT64_C(2592000000), NULL, G(allowed_lateness_ms),
         "How far (ms of event time) an event may arrive behind a later "
         "event of its partition and still be applied in event-time order: "
         "each input partition holds an event until the partition has "
         "delivered an event this much later (or has been quiet for "
         "processing.lateness_idle_ms, or its buffer is full), and applies "
         "what it holds in order of occurred_at, then event_id. Results "
         "inside the bound do not depend on arrival order; an event that "
         "comes later still is applied when it comes and counted as late "
         "(`late` in P:stats:G). 0: events are applied in the order of each "
         "partition."},
        {"processing.lateness_idle_ms", FD_CFG_INT, "1000", 1, 86400000, NULL,
         G(lateness_idle_ms),
         "With processing.allowed_lateness_ms: a partition that delivered "
         "nothing for this long (wall clock) releases what it holds, so a "
         "quiet stream is not held back."},
        {"processing.lead_cache", FD_CFG_INT, "200000", 0, 100000000, NULL,
         G(lead_cache),
         "Most lead states kept in memory between batches, so that a lead "
         "seen again is not read back from Redis (about 0.5 KiB each); "
         "emptied when partitions move, after a failed write and on "
         "reload; 0: read every lead from Redis."},
        {"processing.overlap", FD_CFG_BOOL, "true", 0, 0, NULL, G(overlap),
         "Applies the next batch while Redis runs the previous one's "
         "transaction (both on one connection, in order); needs "
         "processing.lead_cache of at least twice the batch's leads (else "
         "that batch is written before the next is read). "
         "false: each batch is written before the next is read."},
        {"processing.touch_max", FD_CFG_INT, "200", 1, 10000, NULL,
         G(touch_max),
         "Most touches kept per lead for attribution (oldest dropped)."},
        {"processing.dedupe_window_days", FD_CFG_DAYS, "7", 7, 3650, NULL,
         G(dedupe_window_ms),
         "How long an event_id is remembered at least: a duplicate inside "
         "the window changes nothing (ids are kept in sets per 4 days of "
         "processing time, so one is remembered less than the window plus "
         "4 days)."},
        {"processing.max_message_bytes", FD_CFG_I64, "1048576", 1024,
         INT64_C(1073741824), NULL, G(max_message_bytes),
         "Larger input messages go to the DLQ as oversized."},
        {"processing.min_event_time", FD_CFG_DATE, "2000-01-01", 0, 0, NULL,
         G(min_event_time_ms),
         "Events whose occurred_at is before this UTC date go to the DLQ as "
         "absurd timestamps."},
        {"processing.max_future_days", FD_CFG_DAYS, "1", 0, 3650, NULL,
         G(max_future_ms),
         "Events more than this many days ahead of the wall clock go to the "
         "DLQ as absurd timestamps."},
        {"processing.on_missing_offsets", FD_CFG_ENUM, "stop", 0, 0,
         "stop,rebuild", G(on_missing_offsets),
         "What to do when Redis holds no offset for a partition whose "
         "consumer group has committed offsets in Kafka (Redis lost its "
         "data, or redis.prefix/db changed): stop with an error, or rebuild "
         "the state from the earliest retained offsets."},
        {"log.level", FD_CFG_ENUM, "info", 0, 0, "debug,info,warn,error",
         G(log_level), "Least severe log level written to stderr."},
        {"log.format", FD_CFG_ENUM, "text", 0, 0, "text,json", G(log_format),
         "Log line format on stderr: `text`, or `json` (one object per line "
         "with ts, level, module, msg; the same as --json-logs)."},
        {"http.listen", FD_CFG_STRING, "127.0.0.1:9464", 0, 0, NULL,
         G(http_listen),
         "Address of the HTTP endpoint (/metrics, /healthz, /readyz, the "
         "JSON API and the dashboard): HOST:PORT, `[::1]:PORT`, "
         "`0.0.0.0:PORT` for every interface (only behind a firewall: there "
         "is no authentication), port 0 for any free port (logged), or "
         "`off`. A port that cannot be bound stops funneld at start."},
        {"attribution.models", FD_CFG_MODELS, "all", 0, 0, NULL,
         GL(models, model_cnt),
         "Attribution models computed on closed-won: a comma list of "
         "first_touch, last_touch, linear, position_based, u_shaped, "
         "w_shaped, full_path, time_decay, j_shaped, inverse_j and custom; "
         "`all` stands for the ten built-in models, not custom: to add "
         "the custom model write `all, custom` (custom needs "
         "attribution.custom_weights)."},
        {"timezone", FD_CFG_TIMEZONE, "UTC", 0, 0, NULL, T(timezone),
         "IANA time zone of the day and hour buckets of the funnel counters "
         "(for example Europe/Berlin)."},
        {"mql.min_fit", FD_CFG_I32, NULL, -1000000, 1000000, NULL,
         T(score.mql.min_fit),
         "MQL condition: fit score at least this. All set mql.* thresholds "
         "must hold; with none set, no lead becomes an MQL by score."},
        {"mql.min_engagement", FD_CFG_I32, NULL, -1000000, 1000000, NULL,
         T(score.mql.min_engagement),
         "MQL condition: engagement score at least this."},
        {"mql.min_total", FD_CFG_I32, NULL, -1000000, 1000000, NULL,
         T(score.mql.min_total),
         "MQL condition: fit + engagement at least this."},
        {"scoring.decay", FD_CFG_ENUM, "none", 0, 0,
         "none,linear,half_life,expire", T(score.decay),
         "Decay of the engagement score in event time, applied at each of "
         "the lead's events from the time of its previous one (events "
         "older than that add their points undecayed): `linear` takes "
         "scoring.decay_points off at every boundary of fixed periods of "
         "scoring.decay_days (counted from 1970-01-01 UTC), never past 0; "
         "`half_life` halves it every scoring.decay_days (rounded to whole "
         "points); `expire` takes each event's engagement points off again "
         "once the lead has an event scoring.decay_days or more after it "
         "(an event already that old when it arrives earns nothing; the "
         "lead hash keeps the points of its last 256 scoring events: beyond "
         "that its two oldest merge, counting until the later expires); `none` "
         "keeps it. The fit score does "
         "not decay."},
        {"scoring.decay_days", FD_CFG_DAYS, "30", 1, 3650, NULL,
         T(score.decay_ms),
         "The period of linear decay, the half-life, or how long an "
         "event's points count (expire)."},
        {"scoring.decay_points", FD_CFG_I32, "10", 0, 1000000, NULL,
         T(score.decay_points),
         "Engagement points linear decay takes off per period."},
        {"handraise.types", FD_CFG_LIST, "demo_request,contact_sales", 0, 0,
         NULL, TL(score.handraise_types, score.handraise_cnt),
         "Lead event types that raise the hand: the lead becomes an SQL."},
        {"lifecycle.allow_recycle", FD_CFG_BOOL, "true", 0, 0, NULL,
         T(lifecycle.allow_recycle),
         "A recycled/nurture stage event starts a new lifecycle cycle (the "
         "lead can become an MQL again)."},
        {"lifecycle.allow_reopen", FD_CFG_BOOL, "false", 0, 0, NULL,
         T(lifecycle.allow_reopen),
         "A stage event after closed-won/closed-lost starts a new cycle; "
         "otherwise it is ignored."},
        {"attribution.lookback_days", FD_CFG_DAYS, "90", 1, 3650, NULL,
         T(lookback_ms),
         "Touches older than this before the close get no attribution "
         "credit."},
        {"attribution.half_life_days", FD_CFG_DAYS, "7", 1, 3650, NULL,
         T(half_life_ms),
         "Half-life of the time_decay model: a touch this much older than "
         "the close gets half the weight."},
        {"attribution.custom_weights", FD_CFG_WEIGHTS, NULL, 0, 0, NULL,
         T(custom_weights),
         "Weights of the `custom` attribution model, in percent per "
         "milestone: a comma list of MILESTONE:PERCENT, for example "
         "`first:30,lead_creation:20,opportunity_creation:20,last:20,"
         "spread:10`. Milestones: first, lead_creation, "
         "opportunity_creation, closed_won (the last touch, as in "
         "full_path: it adds to last), last, and spread (divided equally "
         "among the touches that are no milestone); an unlisted milestone "
         "weighs 0. Percentages have at most two decimals and sum to 100. "
         "The milestone rules of the built-in models apply (one touch "
         "100 %, two 50/50, a missing milestone's weight to the present "
         "ones in proportion, or to the spread when none of them weighs). "
         "Required when attribution.models lists custom, and only allowed "
         "then."},
        {"attribution.non_marketing_channels", FD_CFG_LIST, "direct,unknown", 0,
         0, NULL, TL(non_marketing, non_marketing_cnt),
         "Channels that are not marketing: a closed-won deal is "
         "marketing-sourced when the first touch of its journey (in the "
         "lookback window) is on another channel, marketing-influenced when "
         "any touch is (P:{T}:sourcing, docs/REDIS.md)."},
        {"calendar.weekend", FD_CFG_WEEKDAYS, "sat,sun", 0, 0, NULL,
         T(calendar.weekend),
         "Weekdays that are not business days: a comma list of mon, tue, "
         "wed, thu, fri, sat, sun (for example `fri,sat`), or `none`. "
         "funnelctl report and trend, the JSON API and the dashboard divide "
         "stage entries by the business days of the period."},
        {"calendar.holidays", FD_CFG_DATES, "none", 0, 0, NULL,
         TL(calendar.holidays, calendar.holiday_cnt),
         "Dates that are not business days either (public holidays, company "
         "closures): a comma list of dates YYYY-MM-DD of the tenant's "
         "calendar, or `none`. A holiday on a weekend day changes nothing. "
         "The whole list must fit on the key's line."},
        {"goal.period", FD_CFG_ENUM, "month", 0, 0, "month,quarter,year",
         T(goal.period),
         "Period of the revenue goal (`funnelctl pacing`): calendar month, "
         "quarter or year of the tenant's calendar."},
        {"goal.revenue_minor", FD_CFG_I64, NULL, 1, INT64_C(1000000000000000),
         NULL, T(goal.revenue_minor),
         "Revenue target per goal.period in minor units (cents) of "
         "goal.currency; unset: the tenant has no goal. With it set, "
         "goal.deal_size_minor, goal.sql_to_won_pct and "
         "goal.mql_to_sql_pct must be set too."},
        {"goal.currency", FD_CFG_CURRENCY, "USD", 0, 0, NULL, T(goal.currency),
         "Currency of the goal: only closed-won revenue in this currency "
         "counts toward it."},
        {"goal.deal_size_minor", FD_CFG_I64, NULL, 1, INT64_C(1000000000000000),
         NULL, T(goal.deal_size_minor),
         "Average closed-won deal in minor units: wins needed = "
         "ceil(goal.revenue_minor / goal.deal_size_minor)."},
        {"goal.sql_to_won_pct", FD_CFG_I32, NULL, 1, 100, NULL,
         T(goal.sql_to_won_pct),
         "Percentage of SQLs that close won: SQLs needed = ceil(wins * 100 "
         "/ this)."},
        {"goal.mql_to_sql_pct", FD_CFG_I32, NULL, 1, 100, NULL,
         T(goal.mql_to_sql_pct),
         "Percentage of MQLs that become SQLs: MQLs needed = ceil(SQLs * "
         "100 / this)."},
        {"goal.lead_to_mql_pct", FD_CFG_I32, NULL, 1, 100, NULL,
         T(goal.lead_to_mql_pct),
         "Percentage of leads that become MQLs: leads needed = ceil(MQLs * "
         "100 / this); unset: no lead requirement."},
        {"cold.sql_days", FD_CFG_DAYS, "30", 0, 3650, NULL, T(cold.sql_ms),
         "An SQL that has not left stage sql this many days after entering "
         "it goes cold: one AlertEvent (sql_cold) on topics.alerts, counted "
         "in P:{T}:cold (docs/REDIS.md); 0: no SQL alerts."},
        {"cold.mql_sla_hours", FD_CFG_I64, "48", 0, 87600, NULL,
         T(cold.mql_sla_hours),
         "Follow-up SLA of an MQL: one that has not left stage mql this many "
         "hours after entering it raises an AlertEvent (mql_sla_missed); 0: "
         "no MQL alerts."},
        {"cold.clock", FD_CFG_ENUM, "event", 0, 0, "event,wall", T(cold.clock),
         "What time the cold deadlines are checked against: `event` (the "
         "event time its input partition has reached: a deadline passes "
         "when that partition delivers a later lead or CRM event, so "
         "replays give the same alerts) or `wall` (the machine's clock, "
         "checked at every batch and every second when idle: alerts come "
         "even when no more events do). A change applies to deadlines set "
         "after it."},
};

const size_t fd_cfg_key_cnt = sizeof(fd_cfg_keys) / sizeof(fd_cfg_keys[0]);

const fd_cfg_key *fd_cfg_key_find(const char *name)
{
        for (size_t i = 0; i < fd_cfg_key_cnt; i++) {
                if (strcmp(fd_cfg_keys[i].name, name) == 0)
                        return &fd_cfg_keys[i];
        }
        return NULL;
}

#define FIELD(base, off, type)  ((type *)((char *)(base) + (off)))
#define CFIELD(base, off, type) ((const type *)((const char *)(base) + (off)))

int fd_cfg_parse_i64(const char *s, int64_t *out)
{
        char *end;
        long long v;

        if (!s || !*s || isspace((unsigned char)*s))
                return -1;
        errno = 0;
        v = strtoll(s, &end, 10);
        if (errno || *end)
                return -1;
        *out = (int64_t)v;
        return 0;
}

/* Frees the cnt strings of v and v itself. */
void fd_cfg_strv_free(char **v, size_t cnt)
{
        if (!v)
                return;
        for (size_t i = 0; i < cnt; i++)
                free(v[i]);
        free(v);
}

/* Returns a new string: s[0..n) without surrounding white space. */
static char *dup_trimmed(const char *s, size_t n)
{
        char *out;

        while (n && isspace((unsigned char)*s)) {
                s++;
                n--;
        }
        while (n && isspace((unsigned char)s[n - 1]))
                n--;
        out = malloc(n + 1);
        if (out) {
                memcpy(out, s, n);
                out[n] = '\0';
        }
        return out;
}

/* Returns a new array of new strings; see config_internal.h. */
char **fd_cfg_split_list(const char *value, size_t *cnt)
{
        size_t n = 1, i = 0;
        char **v;
        const char *p = value;

        for (const char *q = value; *q; q++)
                n += *q == ',';
        v = calloc(n, sizeof(*v));
        *cnt = 0;
        if (!v)
                return NULL;
        for (;;) {
                const char *comma = strchr(p, ',');
                size_t len = comma ? (size_t)(comma - p) : strlen(p);

                v[i] = dup_trimmed(p, len);
                if (!v[i] || !*v[i]) {
                        int empty = v[i] != NULL;

                        fd_cfg_strv_free(v, i + 1);
                        *cnt = empty;
                        return NULL;
                }
                i++;
                if (!comma)
                        break;
                p = comma + 1;
        }
        *cnt = i;
        return v;
}

static int parse_date(const char *s, int64_t *ms)
{
        int64_t day;

        if (fd_day_parse(s, &day, NULL, NULL) < 0)
                return -1;
        *ms = day * FD_DAY_MS;
        return 0;
}

static int parse_bool(const char *s, int *out)
{
        static const char *const yes[] = {"true", "yes", "on", "1"};
        static const char *const no[] = {"false", "no", "off", "0"};

        for (size_t i = 0; i < 4; i++) {
                if (strcasecmp(s, yes[i]) == 0) {
                        *out = 1;
                        return 0;
                }
                if (strcasecmp(s, no[i]) == 0) {
                        *out = 0;
                        return 0;
                }
        }
        return -1;
}

static int enum_has(const char *choices, const char *s)
{
        size_t n = strlen(s);

        for (const char *p = choices; p && *p;) {
                const char *comma = strchr(p, ',');
                size_t len = comma ? (size_t)(comma - p) : strlen(p);

                if (len == n && strncmp(p, s, n) == 0)
                        return 1;
                p = comma ? comma + 1 : NULL;
        }
        return 0;
}

/* Parses the comma list of model names into a new array at *out (owned by
 * the config; the old array is freed). "all" adds the built-in models. */
static int parse_models(const char *value, fd_model **out, size_t *out_cnt,
                        char *err, size_t err_size)
{
        size_t cnt = 0, n = 0;
        int all_seen = 0;
        char **names = fd_cfg_split_list(value, &cnt);
        fd_model *models = calloc(FD_MODEL__COUNT, sizeof(*models));
        int rc = -1;

        if (!names || !models) {
                snprintf(err, err_size,
                         "key 'attribution.models' must be a comma list of "
                         "model names or 'all', got '%s'",
                         value);
                goto out;
        }
        for (size_t i = 0; i < cnt; i++) {
                int m = fd_model_parse(names[i]);
                int all = strcmp(names[i], "all") == 0;
                int lo = all ? 0 : m, hi = all ? FD_MODEL_BUILTIN_COUNT - 1 : m;

                if (m < 0 && !all) {
                        snprintf(err, err_size,
                                 "key 'attribution.models': unknown model "
                                 "'%s'; use 'all' or a comma list of "
                                 "first_touch, last_touch, linear, "
                                 "position_based, u_shaped, w_shaped, "
                                 "full_path, time_decay, j_shaped, "
                                 "inverse_j, custom",
                                 names[i]);
                        goto out;
                }
                if (all && all_seen) {
                        snprintf(err, err_size,
                                 "key 'attribution.models' lists 'all' "
                                 "twice; write it once");
                        goto out;
                }
                all_seen |= all;
                for (int b = lo; b <= hi; b++) {
                        for (size_t j = 0; j < n; j++) {
                                if (models[j] != (fd_model)b)
                                        continue;
                                snprintf(err, err_size,
                                         "key 'attribution.models' lists "
                                         "model '%s' twice; list each model "
                                         "once ('all' is the ten built-in "
                                         "models, without custom)",
                                         fd_model_name((fd_model)b));
                                goto out;
                        }
                        models[n++] = (fd_model)b;
                }
        }
        free(*out);
        *out = models;
        *out_cnt = n;
        models = NULL;
        rc = 0;
out:
        fd_cfg_strv_free(names, cnt);
        free(models);
        return rc;
}

/* Appends percent (hundredths) as "30", "22.5" or "33.33" to buf. */
static void format_bp(int64_t bp, char *buf, size_t size)
{
        if (bp % 100 == 0)
                snprintf(buf, size, "%" PRId64, bp / 100);
        else if (bp % 10 == 0)
                snprintf(buf, size, "%" PRId64 ".%" PRId64, bp / 100,
                         (bp % 100) / 10);
        else
                snprintf(buf, size, "%" PRId64 ".%02" PRId64, bp / 100,
                         bp % 100);
}

/* A percentage 0 .. 100 with at most two decimals, in hundredths. */
static int parse_percent(const char *s, int32_t *bp)
{
        int64_t whole = 0, frac = 0;
        int digits = 0, decimals = 0;

        for (; isdigit((unsigned char)*s); s++, digits++) {
                whole = whole * 10 + (*s - '0');
                if (whole > 100)
                        return -1;
        }
        if (*s == '.') {
                for (s++; isdigit((unsigned char)*s); s++, decimals++) {
                        if (decimals == 2)
                                return -1;
                        frac = frac * 10 + (*s - '0');
                }
                if (!decimals)
                        return -1;
        }
        if (*s || !digits)
                return -1;
        if (decimals == 1)
                frac *= 10;
        if (whole * 100 + frac > 10000)
                return -1;
        *bp = (int32_t)(whole * 100 + frac);
        return 0;
}

#define WEIGHTS_EXAMPLE                                                        \
        "first:30,lead_creation:20,opportunity_creation:20,last:20,spread:10"

/* Parses "first:30,lead_creation:20,..." into *out. */
static int parse_weights(const fd_cfg_key *key, const char *value,
                         fd_custom_weights *out, char *err, size_t err_size)
{
        fd_custom_weights w;
        size_t cnt = 0;
        char **items = fd_cfg_split_list(value, &cnt);
        unsigned listed = 0;
        int64_t sum = 0;
        char buf[32];
        int rc = -1;

        memset(&w, 0, sizeof(w));
        if (!items) {
                snprintf(err, err_size,
                         cnt ? "key '%s' must be a comma list of "
                               "MILESTONE:PERCENT without empty items, for "
                               "example " WEIGHTS_EXAMPLE "; got '%s'"
                             : "out of memory reading key '%s' ('%s')",
                         key->name, value);
                return -1;
        }
        for (size_t i = 0; i < cnt; i++) {
                char *colon = strchr(items[i], ':'), *pct;
                int ms;

                if (!colon) {
                        snprintf(err, err_size,
                                 "key '%s': '%s' is not MILESTONE:PERCENT; "
                                 "write a comma list such as " WEIGHTS_EXAMPLE,
                                 key->name, items[i]);
                        goto out;
                }
                *colon = '\0';
                pct = colon + 1;
                while (isspace((unsigned char)*pct))
                        pct++;
                for (char *e = colon;
                     e > items[i] && isspace((unsigned char)e[-1]);)
                        *--e = '\0';
                ms = fd_milestone_parse(items[i]);
                if (ms < 0) {
                        snprintf(err, err_size,
                                 "key '%s': unknown milestone '%s'; use "
                                 "first, lead_creation, "
                                 "opportunity_creation, closed_won, last or "
                                 "spread, for example " WEIGHTS_EXAMPLE,
                                 key->name, items[i]);
                        goto out;
                }
                if (listed & (1u << ms)) {
                        snprintf(err, err_size,
                                 "key '%s' lists milestone '%s' twice; list "
                                 "each milestone once",
                                 key->name, items[i]);
                        goto out;
                }
                listed |= 1u << ms;
                if (parse_percent(pct, &w.bp[ms]) < 0) {
                        snprintf(err, err_size,
                                 *pct == '-'
                                         ? "key '%s': the weight of '%s' is "
                                           "negative ('%s'); write a "
                                           "percentage from 0 to 100 with at "
                                           "most two decimals, for example "
                                           "%s:22.5"
                                         : "key '%s': the weight of '%s' "
                                           "('%s') is not a percentage from 0 "
                                           "to 100 with at most two "
                                           "decimals; write for example "
                                           "%s:22.5",
                                 key->name, items[i], pct, items[i]);
                        goto out;
                }
                sum += w.bp[ms];
        }
        if (sum != 10000) {
                format_bp(sum, buf, sizeof(buf));
                snprintf(err, err_size,
                         "key '%s': the weights add up to %s %%, not 100 %%; "
                         "change them so that they sum to exactly 100 (for "
                         "example " WEIGHTS_EXAMPLE ")",
                         key->name, buf);
                goto out;
        }
        w.set = 1;
        *out = w;
        rc = 0;
out:
        fd_cfg_strv_free(items, cnt);
        return rc;
}

static const char *const weekday_names[7] = {"sun", "mon", "tue", "wed",
                                             "thu", "fri", "sat"};

/* The weekday (0 = Sunday) named s: "mon" or "monday", any case; or -1. */
static int weekday_parse(const char *s)
{
        static const char *const rest[7] = {"day",   "day", "sday", "nesday",
                                            "rsday", "day", "urday"};

        for (int d = 0; d < 7; d++) {
                if (strncasecmp(s, weekday_names[d], 3) == 0 &&
                    (s[3] == '\0' || strcasecmp(s + 3, rest[d]) == 0))
                        return d;
        }
        return -1;
}

/* Parses a comma list of weekday names (or "none") into a bit mask. */
static int parse_weekdays(const fd_cfg_key *key, const char *value, int *out,
                          char *err, size_t err_size)
{
        size_t cnt = 0;
        char **names;
        int mask = 0, rc = -1;

        if (strcasecmp(value, "none") == 0) {
                *out = 0;
                return 0;
        }
        names = fd_cfg_split_list(value, &cnt);
        if (!names) {
                snprintf(err, err_size,
                         cnt ? "key '%s' must be a comma list of weekdays "
                               "(mon .. sun) without empty items, or none; "
                               "got '%s'"
                             : "out of memory reading key '%s' ('%s')",
                         key->name, value);
                return -1;
        }
        for (size_t i = 0; i < cnt; i++) {
                int d = weekday_parse(names[i]);

                if (d < 0) {
                        snprintf(err, err_size,
                                 "key '%s': unknown weekday '%s'; use mon, "
                                 "tue, wed, thu, fri, sat, sun (or none for "
                                 "no weekend)",
                                 key->name, names[i]);
                        goto out;
                }
                if (mask & (1 << d)) {
                        snprintf(err, err_size,
                                 "key '%s' lists weekday '%s' twice; list "
                                 "each day once",
                                 key->name, names[i]);
                        goto out;
                }
                mask |= 1 << d;
        }
        if (mask == 0x7f) {
                snprintf(err, err_size,
                         "key '%s' makes all seven days weekend days, so no "
                         "day is a business day; leave at least one day out",
                         key->name);
                goto out;
        }
        *out = mask;
        rc = 0;
out:
        fd_cfg_strv_free(names, cnt);
        return rc;
}

static int cmp_day(const void *a, const void *b)
{
        int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

        return (x > y) - (x < y);
}

/* Parses a comma list of dates (or "none") into a new ascending array of
 * day numbers in the field (old array freed). */
static int parse_dates(const fd_cfg_key *key, void *base, const char *value,
                       char *err, size_t err_size)
{
        int64_t **field = FIELD(base, key->off, int64_t *);
        size_t *field_cnt = FIELD(base, key->off_cnt, size_t);
        size_t cnt = 0;
        char **names = NULL;
        int64_t *days = NULL, ms;
        int rc = -1;

        if (strcasecmp(value, "none") != 0) {
                names = fd_cfg_split_list(value, &cnt);
                if (!names) {
                        snprintf(err, err_size,
                                 cnt ? "key '%s' must be a comma list of "
                                       "dates YYYY-MM-DD without empty "
                                       "items, or none; got '%s'"
                                     : "out of memory reading key '%s' "
                                       "('%s')",
                                 key->name, value);
                        return -1;
                }
                days = calloc(cnt, sizeof(*days));
                if (!days) {
                        snprintf(err, err_size, "out of memory");
                        goto out;
                }
        }
        for (size_t i = 0; i < cnt; i++) {
                if (parse_date(names[i], &ms) < 0) {
                        snprintf(err, err_size,
                                 "key '%s': '%s' is not a date; write each "
                                 "date as YYYY-MM-DD (1970 or later, for "
                                 "example 2026-12-25)",
                                 key->name, names[i]);
                        goto out;
                }
                days[i] = ms / FD_DAY_MS;
                for (size_t j = 0; j < i; j++) {
                        if (days[j] == days[i]) {
                                snprintf(err, err_size,
                                         "key '%s' lists date %s twice; "
                                         "list each date once",
                                         key->name, names[i]);
                                goto out;
                        }
                }
        }
        if (cnt)
                qsort(days, cnt, sizeof(*days), cmp_day);
        free(*field);
        *field = days;
        *field_cnt = cnt;
        days = NULL;
        rc = 0;
out:
        fd_cfg_strv_free(names, cnt);
        free(days);
        return rc;
}

/* Stores a copy of value in the char * field (old string freed). */
static int apply_string(const fd_cfg_key *key, void *base, const char *value,
                        char *err, size_t err_size)
{
        char **field = FIELD(base, key->off, char *);
        char *copy;

        if (key->type == FD_CFG_ENUM && !enum_has(key->choices, value)) {
                snprintf(err, err_size, "key '%s' must be one of %s, got '%s'",
                         key->name, key->choices, value);
                return -1;
        }
        if (key->type == FD_CFG_TIMEZONE && !fd_timezone_valid(value)) {
                snprintf(err, err_size,
                         "key '%s': unknown time zone '%s'; use an IANA name "
                         "such as UTC or Europe/Berlin (see "
                         "/usr/share/zoneinfo, package tzdata)",
                         key->name, value);
                return -1;
        }
        if (key->type == FD_CFG_CURRENCY &&
            (strlen(value) != 3 || !isupper((unsigned char)value[0]) ||
             !isupper((unsigned char)value[1]) ||
             !isupper((unsigned char)value[2]))) {
                snprintf(err, err_size,
                         "key '%s' must be an ISO 4217 currency code of three "
                         "capital letters as the CRM events carry it (for "
                         "example USD or EUR), got '%s'",
                         key->name, value);
                return -1;
        }
        copy = strdup(value);
        if (!copy) {
                snprintf(err, err_size, "out of memory");
                return -1;
        }
        free(*field);
        *field = copy;
        return 0;
}

static int apply_number(const fd_cfg_key *key, void *base, const char *value,
                        char *err, size_t err_size)
{
        int64_t v;

        if (fd_cfg_parse_i64(value, &v) < 0 || v < key->min || v > key->max) {
                snprintf(err, err_size,
                         "key '%s' must be an integer between %" PRId64
                         " and %" PRId64 "%s, got '%s'",
                         key->name, key->min, key->max,
                         key->type == FD_CFG_DAYS ? " (days)" : "", value);
                return -1;
        }
        switch (key->type) {
        case FD_CFG_INT:
                *FIELD(base, key->off, int) = (int)v;
                break;
        case FD_CFG_I32:
                *FIELD(base, key->off, int32_t) = (int32_t)v;
                break;
        case FD_CFG_DAYS:
                *FIELD(base, key->off, int64_t) = v * FD_DAY_MS;
                break;
        default:
                *FIELD(base, key->off, int64_t) = v;
                break;
        }
        return 0;
}

/* Stores a new list split from value in the field (old list freed). */
static int apply_list(const fd_cfg_key *key, void *base, const char *value,
                      char *err, size_t err_size)
{
        size_t cnt = 0;
        char **v = fd_cfg_split_list(value, &cnt);

        if (!v) {
                snprintf(err, err_size,
                         "key '%s' must be a comma list of non-empty names, "
                         "got '%s'",
                         key->name, value);
                return -1;
        }
        fd_cfg_strv_free(*FIELD(base, key->off, char **),
                         *FIELD(base, key->off_cnt, size_t));
        *FIELD(base, key->off, char **) = v;
        *FIELD(base, key->off_cnt, size_t) = cnt;
        return 0;
}

/* The field of key in base owns what is stored; see config_internal.h. */
int fd_cfg_key_apply(const fd_cfg_key *key, void *base, const char *value,
                     char *err, size_t err_size)
{
        int64_t ms;
        int b;

        if (!*value) {
                snprintf(err, err_size,
                         "key '%s' has an empty value; give a value or remove "
                         "the line to use the default",
                         key->name);
                return -1;
        }
        switch (key->type) {
        case FD_CFG_STRING:
        case FD_CFG_ENUM:
        case FD_CFG_TIMEZONE:
        case FD_CFG_CURRENCY:
                return apply_string(key, base, value, err, err_size);
        case FD_CFG_INT:
        case FD_CFG_I32:
        case FD_CFG_I64:
        case FD_CFG_DAYS:
                return apply_number(key, base, value, err, err_size);
        case FD_CFG_BOOL:
                if (parse_bool(value, &b) < 0) {
                        snprintf(err, err_size,
                                 "key '%s' must be true or false, got '%s'",
                                 key->name, value);
                        return -1;
                }
                *FIELD(base, key->off, int) = b;
                return 0;
        case FD_CFG_DATE:
                if (parse_date(value, &ms) < 0) {
                        snprintf(err, err_size,
                                 "key '%s' must be a date YYYY-MM-DD (UTC, "
                                 "1970 or later), got '%s'",
                                 key->name, value);
                        return -1;
                }
                *FIELD(base, key->off, int64_t) = ms;
                return 0;
        case FD_CFG_LIST:
                return apply_list(key, base, value, err, err_size);
        case FD_CFG_MODELS:
                return parse_models(value, FIELD(base, key->off, fd_model *),
                                    FIELD(base, key->off_cnt, size_t), err,
                                    err_size);
        case FD_CFG_WEEKDAYS:
                return parse_weekdays(key, value, FIELD(base, key->off, int),
                                      err, err_size);
        case FD_CFG_DATES:
                return parse_dates(key, base, value, err, err_size);
        case FD_CFG_WEIGHTS:
                return parse_weights(key, value,
                                     FIELD(base, key->off, fd_custom_weights),
                                     err, err_size);
        }
        return -1;
}

/* Frees what the field of key in base owns and zeroes the field. */
void fd_cfg_key_free(const fd_cfg_key *key, void *base)
{
        switch (key->type) {
        case FD_CFG_STRING:
        case FD_CFG_ENUM:
        case FD_CFG_TIMEZONE:
        case FD_CFG_CURRENCY:
                free(*FIELD(base, key->off, char *));
                *FIELD(base, key->off, char *) = NULL;
                break;
        case FD_CFG_LIST:
                fd_cfg_strv_free(*FIELD(base, key->off, char **),
                                 *FIELD(base, key->off_cnt, size_t));
                *FIELD(base, key->off, char **) = NULL;
                *FIELD(base, key->off_cnt, size_t) = 0;
                break;
        case FD_CFG_MODELS:
                free(*FIELD(base, key->off, fd_model *));
                *FIELD(base, key->off, fd_model *) = NULL;
                *FIELD(base, key->off_cnt, size_t) = 0;
                break;
        case FD_CFG_DATES:
                free(*FIELD(base, key->off, int64_t *));
                *FIELD(base, key->off, int64_t *) = NULL;
                *FIELD(base, key->off_cnt, size_t) = 0;
                break;
        case FD_CFG_WEIGHTS:
                memset(FIELD(base, key->off, fd_custom_weights), 0,
                       sizeof(fd_custom_weights));
                break;
        default:
                break;
        }
}

int fd_cfg_key_reset(const fd_cfg_key *key, void *base)
{
        char err[256];

        fd_cfg_key_free(key, base);
        if (key->def)
                return fd_cfg_key_apply(key, base, key->def, err, sizeof(err));
        if (key->type == FD_CFG_I32)
                *FIELD(base, key->off, int32_t) = INT32_MIN;
        return 0;
}

/* dst's field owns new copies of src's strings and lists. */
int fd_cfg_key_copy(const fd_cfg_key *key, void *dst, const void *src)
{
        const void *s = CFIELD(src, key->off, char);
        size_t cnt;

        switch (key->type) {
        case FD_CFG_STRING:
        case FD_CFG_ENUM:
        case FD_CFG_TIMEZONE:
        case FD_CFG_CURRENCY: {
                const char *str = *(char *const *)s;
                char *copy = str ? strdup(str) : NULL;

                if (str && !copy)
                        return -1;
                fd_cfg_key_free(key, dst);
                *FIELD(dst, key->off, char *) = copy;
                return 0;
        }
        case FD_CFG_LIST: {
                char *const *v = *(char **const *)s;
                char **copy;

                cnt = *CFIELD(src, key->off_cnt, size_t);
                copy = calloc(cnt ? cnt : 1, sizeof(*copy));
                for (size_t i = 0; copy && i < cnt; i++) {
                        copy[i] = strdup(v[i]);
                        if (!copy[i]) {
                                fd_cfg_strv_free(copy, i);
                                return -1;
                        }
                }
                if (!copy)
                        return -1;
                fd_cfg_key_free(key, dst);
                *FIELD(dst, key->off, char **) = copy;
                *FIELD(dst, key->off_cnt, size_t) = cnt;
                return 0;
        }
        case FD_CFG_DATES: {
                const int64_t *v = *(int64_t *const *)s;
                int64_t *copy = NULL;

                cnt = *CFIELD(src, key->off_cnt, size_t);
                if (cnt) {
                        copy = malloc(cnt * sizeof(*copy));
                        if (!copy)
                                return -1;
                        memcpy(copy, v, cnt * sizeof(*copy));
                }
                fd_cfg_key_free(key, dst);
                *FIELD(dst, key->off, int64_t *) = copy;
                *FIELD(dst, key->off_cnt, size_t) = cnt;
                return 0;
        }
        case FD_CFG_MODELS:
                return -1; /* global only: never copied */
        case FD_CFG_WEIGHTS:
                *FIELD(dst, key->off, fd_custom_weights) =
                        *(const fd_custom_weights *)s;
                return 0;
        case FD_CFG_INT:
        case FD_CFG_BOOL:
        case FD_CFG_WEEKDAYS:
                *FIELD(dst, key->off, int) = *(const int *)s;
                return 0;
        case FD_CFG_I32:
                *FIELD(dst, key->off, int32_t) = *(const int32_t *)s;
                return 0;
        default:
                *FIELD(dst, key->off, int64_t) = *(const int64_t *)s;
                return 0;
        }
}

static int str_eq(const char *a, const char *b)
{
        return a == b || (a && b && strcmp(a, b) == 0);
}

int fd_cfg_key_equal(const fd_cfg_key *key, const void *a, const void *b)
{
        const void *x = CFIELD(a, key->off, char);
        const void *y = CFIELD(b, key->off, char);
        size_t cnt;

        switch (key->type) {
        case FD_CFG_STRING:
        case FD_CFG_ENUM:
        case FD_CFG_TIMEZONE:
        case FD_CFG_CURRENCY:
                return str_eq(*(char *const *)x, *(char *const *)y);
        case FD_CFG_LIST:
                cnt = *CFIELD(a, key->off_cnt, size_t);
                if (cnt != *CFIELD(b, key->off_cnt, size_t))
                        return 0;
                for (size_t i = 0; i < cnt; i++)
                        if (!str_eq((*(char **const *)x)[i],
                                    (*(char **const *)y)[i]))
                                return 0;
                return 1;
        case FD_CFG_MODELS:
                cnt = *CFIELD(a, key->off_cnt, size_t);
                return cnt == *CFIELD(b, key->off_cnt, size_t) &&
                       (cnt == 0 ||
                        memcmp(*(fd_model *const *)x, *(fd_model *const *)y,
                               cnt * sizeof(fd_model)) == 0);
        case FD_CFG_DATES:
                cnt = *CFIELD(a, key->off_cnt, size_t);
                return cnt == *CFIELD(b, key->off_cnt, size_t) &&
                       (cnt == 0 ||
                        memcmp(*(int64_t *const *)x, *(int64_t *const *)y,
                               cnt * sizeof(int64_t)) == 0);
        case FD_CFG_WEIGHTS:
                return memcmp(x, y, sizeof(fd_custom_weights)) == 0;
        case FD_CFG_INT:
        case FD_CFG_BOOL:
        case FD_CFG_WEEKDAYS:
                return *(const int *)x == *(const int *)y;
        case FD_CFG_I32:
                return *(const int32_t *)x == *(const int32_t *)y;
        default:
                return *(const int64_t *)x == *(const int64_t *)y;
        }
}

/* Levenshtein distance of a and b, both shorter than 128 bytes. */
static size_t edit_distance(const char *a, const char *b)
{
        size_t la = strlen(a), lb = strlen(b), row[128];

        if (la >= 128 || lb >= 128)
                return SIZE_MAX;
        for (size_t j = 0; j <= lb; j++)
                row[j] = j;
        for (size_t i = 1; i <= la; i++) {
                size_t diag = row[0];

                row[0] = i;
                for (size_t j = 1; j <= lb; j++) {
                        size_t up = row[j];
                        size_t cost = tolower((unsigned char)a[i - 1]) !=
                                      tolower((unsigned char)b[j - 1]);
                        size_t best = diag + cost;

                        if (row[j] + 1 < best)
                                best = row[j] + 1;
                        if (row[j - 1] + 1 < best)
                                best = row[j - 1] + 1;
                        row[j] = best;
                        diag = up;
                }
        }
        return row[lb];
}

const char *fd_cfg_closest(const char *name, const char *const *cands,
                           size_t cand_cnt)
{
        const char *best = NULL;
        size_t best_d = SIZE_MAX, limit = strlen(name) / 4;

        if (limit < 2)
                limit = 2;
        for (size_t i = 0; i < cand_cnt; i++) {
                size_t d = edit_distance(name, cands[i]);

                if (d < best_d) {
                        best_d = d;
                        best = cands[i];
                }
        }
        return best_d <= limit ? best : NULL;
}

static const char *type_name(const fd_cfg_key *key)
{
        switch (key->type) {
        case FD_CFG_STRING:
                return "string";
        case FD_CFG_INT:
        case FD_CFG_I32:
        case FD_CFG_I64:
                return "integer";
        case FD_CFG_BOOL:
                return "boolean";
        case FD_CFG_DAYS:
                return "integer (days)";
        case FD_CFG_DATE:
                return "date (YYYY-MM-DD, UTC)";
        case FD_CFG_ENUM:
                return "enum";
        case FD_CFG_LIST:
                return "comma list";
        case FD_CFG_TIMEZONE:
                return "IANA time zone";
        case FD_CFG_CURRENCY:
                return "currency code (ISO 4217)";
        case FD_CFG_MODELS:
                return "comma list of models";
        case FD_CFG_WEEKDAYS:
                return "comma list of weekdays";
        case FD_CFG_DATES:
                return "comma list of dates (YYYY-MM-DD)";
        case FD_CFG_WEIGHTS:
                return "comma list of MILESTONE:PERCENT";
        }
        return "?";
}

static void print_bounds(FILE *fp, const fd_cfg_key *key)
{
        switch (key->type) {
        case FD_CFG_INT:
        case FD_CFG_I32:
        case FD_CFG_I64:
        case FD_CFG_DAYS:
                fprintf(fp, "%" PRId64 " .. %" PRId64, key->min, key->max);
                break;
        case FD_CFG_ENUM:
                for (const char *p = key->choices; *p; p++) {
                        if (*p == ',')
                                fputs(", ", fp);
                        else
                                fputc(*p, fp);
                }
                break;
        case FD_CFG_BOOL:
                fputs("true, false", fp);
                break;
        case FD_CFG_WEEKDAYS:
                fputs("mon, tue, wed, thu, fri, sat, sun; or none", fp);
                break;
        case FD_CFG_DATES:
                fputs("1970-01-01 or later; or none", fp);
                break;
        case FD_CFG_WEIGHTS:
                fputs("0 .. 100 each, sum 100", fp);
                break;
        default:
                break;
        }
}

static void print_key_row(FILE *fp, const fd_cfg_key *key)
{
        fprintf(fp, "| `%s` | %s | ", key->name, type_name(key));
        if (key->def)
                fprintf(fp, "`%s`", key->def);
        else
                fputs("not set", fp);
        fputs(" | ", fp);
        print_bounds(fp, key);
        fprintf(fp, " | %s%s |\n", key->desc,
                key->tenant ? " Per tenant." : "");
}

void fd_config_print_reference(FILE *fp)
{
        fputs("# funneld configuration reference\n\n"
              "funneld reads one INI file (`funneld --config FILE`). Keys "
              "are dotted names; a section is a prefix: `[redis]` followed "
              "by `host = h` sets `redis.host`. Lines starting with `;` or "
              "`#` are comments, and ` ;` starts a comment after a value. "
              "Lines may be at most 197 characters long; do not indent key "
              "lines (an indented line continues the previous value). A "
              "value may be wrapped in double quotes. Every key may be set "
              "once. Unknown keys and bad values stop funneld with the file "
              "and line of the mistake.\n\n"
              "Value types: a boolean is `true`/`false` (also `yes`/`no`, "
              "`on`/`off`, `1`/`0`); days are whole days; a comma list is "
              "`a,b,c` (spaces around items are ignored).\n\n"
              "This page is generated by `funneld --config-reference`.\n\n"
              "## Settings\n\n"
              "| key | type | default | bounds | description |\n"
              "|---|---|---|---|---|\n",
              fp);
        for (size_t i = 0; i < fd_cfg_key_cnt; i++)
                print_key_row(fp, &fd_cfg_keys[i]);
        fputs("| `schemas.id.N` | `lead:PATH`, `crm:PATH` or `spend:PATH` | "
              "`schemas.id.1 = lead:schemas/lead_event.avsc`, "
              "`schemas.id.2 = crm:schemas/crm_stage_event.avsc`, "
              "`schemas.id.5 = spend:schemas/spend_event.avsc` | "
              "N: 1 .. 2147483647 | Writer schema of Confluent schema id N "
              "and the kind of event it encodes (lead, crm or spend). Relative "
              "paths resolve against the current directory. The defaults "
              "apply only when no `schemas.id.*` key is set. |\n"
              "| `kafka.*` | string | see librdkafka | | Passed to "
              "librdkafka with the `kafka.` prefix removed, in file order, "
              "for example `kafka.bootstrap.servers = localhost:9092`. A "
              "`[kafka]` section works the same way. See librdkafka's "
              "CONFIGURATION.md. |\n\n",
              fp);
        fd_cfg_print_rule_reference(fp);
}
