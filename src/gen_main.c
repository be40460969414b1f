/* funneld-gen — produce a realistic synthetic lead / CRM (/ spend) event
 * stream to Kafka (Avro, Confluent framing) and/or write it as JSON lines. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "gen.h"

#define PROG "funneld-gen"

#ifndef FUNNELD_VERSION
#define FUNNELD_VERSION "unknown"
#endif

static volatile sig_atomic_t stop_flag;

typedef struct gen_opts {
        fd_gen_produce_conf produce;
        const char **props; /* key, value, ... (owned strings) */
        size_t prop_cnt;
        int have_bootstrap;
        const char *jsonl_path;
        int dry_run;
} gen_opts;

typedef struct jsonl_out {
        FILE *f;
        const char *path;
} jsonl_out;

static void usage(FILE *f)
{
        fprintf(f,
                "Usage: " PROG " --brokers HOST:PORT [options]\n"
                "       " PROG " --dry-run --jsonl FILE [options]\n"
                "Produce a deterministic, realistic stream of LeadEvent and "
                "CrmStageEvent\n(and with --spend SpendEvent) records (Avro, "
                "Confluent framing) for funneld.\n"
                "\n"
                "  --brokers HOST:PORT   Kafka bootstrap servers (or -X "
                "bootstrap.servers=...)\n"
                "  --events N            events to produce, 0 = endless "
                "(10000)\n"
                "  --seed S              random seed; same seed, same stream "
                "(1)\n"
                "  --tenants N           tenants t1..tN (3)\n"
                "  --days D              journeys start over D days (60)\n"
                "  --start YYYY-MM-DD    first day, UTC (2026-09-01)\n"
                "  --dup-rate F          share of exact re-sent duplicates "
                "(0.01)\n"
                "  --leads N             about N distinct lead ids: every "
                "journey with a lead\n"
                "                        picks one at random (0 = a new id "
                "per new lead, 0)\n"
                "  --rate EPS            events per second, 0 = as fast as "
                "possible (0)\n"
                "  --lead-topic NAME     (funnel.lead-events)\n"
                "  --crm-topic NAME      (funnel.crm-events)\n"
                "  --spend               also SpendEvents: each day's spend of "
                "the paid channels\n"
                "                        (paid_search, paid_social, email, "
                "events) per tenant,\n"
                "                        reported 00:30-01:15 UTC the next "
                "day, keyed by channel\n"
                "  --spend-topic NAME    topic of the SpendEvents; implies "
                "--spend (funnel.spend)\n"
                "  --schema-dir DIR      reader schemas used to encode "
                "(schemas)\n"
                "  --lead-schema-id N    Confluent schema id of LeadEvent "
                "(1)\n"
                "  --crm-schema-id N     Confluent schema id of CrmStageEvent "
                "(2)\n"
                "  --spend-schema-id N   Confluent schema id of SpendEvent "
                "(5)\n"
                "  -X key=value          librdkafka property, repeatable\n"
                "  --jsonl FILE          also write each event as one JSON "
                "line (- = stdout)\n"
                "  --dry-run             no Kafka: only generate (and write "
                "--jsonl)\n"
                "  --help, --version\n"
                "Exit status: 0 ok, 1 runtime error, 2 usage error.\n");
}

static int usage_error(const char *fmt, const char *a, const char *b)
{
        fprintf(stderr, PROG ": ");
        fprintf(stderr, fmt, a, b);
        fprintf(stderr, "; see " PROG " --help\n");
        return 2;
}

static int parse_i64(const char *opt, const char *s, int64_t lo, int64_t hi,
                     int64_t *out)
{
        char *end;
        long long v;

        errno = 0;
        v = strtoll(s, &end, 10);
        if (errno || end == s || *end || v < lo || v > hi) {
                char range[64];

                snprintf(range, sizeof(range), "%" PRId64 "..%" PRId64, lo, hi);
                fprintf(stderr,
                        PROG
                        ": %s wants a whole number in %s, got '%s'; see " PROG
                        " --help\n",
                        opt, range, s);
                return -1;
        }
        *out = v;
        return 0;
}

static int parse_double(const char *opt, const char *s, double lo, double hi,
                        double *out)
{
        char *end;
        double v;

        errno = 0;
        v = strtod(s, &end);
        if (errno || end == s || *end || !(v >= lo && v <= hi)) {
                fprintf(stderr,
                        PROG ": %s wants a number between %g and %g, got "
                             "'%s'; see " PROG " --help\n",
                        opt, lo, hi, s);
                return -1;
        }
        *out = v;
        return 0;
}

/* YYYY-MM-DD as ms since the epoch at 00:00 UTC. */
static int parse_date(const char *s, int64_t *out)
{
        struct tm tm = {0}, check;
        int y, m, d, n = 0;
        time_t t;

        if (sscanf(s, "%4d-%2d-%2d%n", &y, &m, &d, &n) != 3 || s[n] ||
            y < 1970 || m < 1 || m > 12 || d < 1 || d > 31) {
                fprintf(stderr,
                        PROG ": --start wants a date like 2026-09-01, got "
                             "'%s'\n",
                        s);
                return -1;
        }
        tm.tm_year = y - 1900;
        tm.tm_mon = m - 1;
        tm.tm_mday = d;
        t = timegm(&tm);
        gmtime_r(&t, &check);
        if (check.tm_mday != d) {
                fprintf(stderr,
                        PROG ": --start %s is not a calendar date; pass a real "
                             "YYYY-MM-DD\n",
                        s);
                return -1;
        }
        *out = (int64_t)t * 1000;
        return 0;
}

/* Stores copies of key and value in o. 0, or 1 when out of memory. */
static int add_prop_kv(gen_opts *o, const char *key, size_t key_len,
                       const char *value)
{
        const char **n = realloc(o->props, (2 * o->prop_cnt + 2) * sizeof(*n));

        if (!n)
                return 1;
        o->props = n;
        n[2 * o->prop_cnt] = strndup(key, key_len);
        n[2 * o->prop_cnt + 1] = strdup(value);
        o->prop_cnt++;
        if (!n[2 * o->prop_cnt - 2] || !n[2 * o->prop_cnt - 1])
                return 1;
        if (strcmp(n[2 * o->prop_cnt - 2], "bootstrap.servers") == 0)
                o->have_bootstrap = 1;
        return 0;
}

/* -X key=value. 0, 1 (out of memory) or 2 (usage). */
static int add_prop(gen_opts *o, const char *kv)
{
        const char *eq = strchr(kv, '=');

        if (!eq || eq == kv)
                return usage_error("-X wants key=value, got '%s'%s", kv, "");
        return add_prop_kv(o, kv, (size_t)(eq - kv), eq + 1);
}

static void free_props(gen_opts *o)
{
        size_t i;

        for (i = 0; i < 2 * o->prop_cnt; i++)
                free((char *)o->props[i]);
        free(o->props);
}

enum {
        OPT_BROKERS = 256,
        OPT_EVENTS,
        OPT_SEED,
        OPT_TENANTS,
        OPT_DAYS,
        OPT_START,
        OPT_DUP_RATE,
        OPT_RATE,
        OPT_LEAD_TOPIC,
        OPT_CRM_TOPIC,
        OPT_SCHEMA_DIR,
        OPT_LEAD_ID,
        OPT_CRM_ID,
        OPT_JSONL,
        OPT_DRY_RUN,
        OPT_LEADS,
        OPT_SPEND,
        OPT_SPEND_TOPIC,
        OPT_SPEND_ID,
        OPT_HELP,
        OPT_VERSION,
};

static const struct option long_opts[] = {
        {"brokers", required_argument, NULL, OPT_BROKERS},
        {"events", required_argument, NULL, OPT_EVENTS},
        {"seed", required_argument, NULL, OPT_SEED},
        {"tenants", required_argument, NULL, OPT_TENANTS},
        {"days", required_argument, NULL, OPT_DAYS},
        {"start", required_argument, NULL, OPT_START},
        {"dup-rate", required_argument, NULL, OPT_DUP_RATE},
        {"rate", required_argument, NULL, OPT_RATE},
        {"lead-topic", required_argument, NULL, OPT_LEAD_TOPIC},
        {"crm-topic", required_argument, NULL, OPT_CRM_TOPIC},
        {"schema-dir", required_argument, NULL, OPT_SCHEMA_DIR},
        {"lead-schema-id", required_argument, NULL, OPT_LEAD_ID},
        {"crm-schema-id", required_argument, NULL, OPT_CRM_ID},
        {"jsonl", required_argument, NULL, OPT_JSONL},
        {"dry-run", no_argument, NULL, OPT_DRY_RUN},
        {"leads", required_argument, NULL, OPT_LEADS},
        {"spend", no_argument, NULL, OPT_SPEND},
        {"spend-topic", required_argument, NULL, OPT_SPEND_TOPIC},
        {"spend-schema-id", required_argument, NULL, OPT_SPEND_ID},
        {"help", no_argument, NULL, OPT_HELP},
        {"version", no_argument, NULL, OPT_VERSION},
        {NULL, 0, NULL, 0},
};

/* Applies one numeric option to o; 0 or 2 (usage error). */
static int apply_number(gen_opts *o, int opt, const char *arg)
{
        fd_gen_produce_conf *pc = &o->produce;
        const char *name = long_opts[opt - OPT_BROKERS].name;
        char flag[32];
        int64_t v = 0;
        int rc = 0;

        snprintf(flag, sizeof(flag), "--%s", name);
        switch (opt) {
        case OPT_EVENTS:
                rc = parse_i64(flag, arg, 0, INT64_C(1) << 40,
                               &pc->gen.target_events);
                break;
        case OPT_SEED:
                rc = parse_i64(flag, arg, 0, INT64_MAX, &v);
                pc->gen.seed = (uint64_t)v;
                break;
        case OPT_TENANTS:
                rc = parse_i64(flag, arg, 1, 10000, &v);
                pc->gen.tenants = (int)v;
                break;
        case OPT_DAYS:
                rc = parse_i64(flag, arg, 1, 3650, &v);
                pc->gen.days = (int)v;
                break;
        case OPT_LEAD_ID:
        case OPT_CRM_ID:
        case OPT_SPEND_ID:
                rc = parse_i64(flag, arg, 0, INT32_MAX, &v);
                *(opt == OPT_LEAD_ID  ? &pc->lead_schema_id
                  : opt == OPT_CRM_ID ? &pc->crm_schema_id
                                      : &pc->spend_schema_id) = (int32_t)v;
                break;
        case OPT_LEADS:
                rc = parse_i64(flag, arg, 0, INT64_C(1000000000),
                               &pc->gen.leads);
                break;
        case OPT_DUP_RATE:
                rc = parse_double(flag, arg, 0.0, 0.5, &pc->gen.dup_rate);
                break;
        case OPT_RATE:
                rc = parse_double(flag, arg, 0.0, 1e9, &pc->rate);
                break;
        case OPT_START:
                rc = parse_date(arg, &pc->gen.start_ms);
                break;
        }
        return rc < 0 ? 2 : 0;
}

/* 0 = run, 2 = usage error, 1 = out of memory, -1 = done (help/version). */
static int parse_opts(int argc, char **argv, gen_opts *o)
{
        int opt, rc = 0;

        opterr = 0;
        while (rc == 0 &&
               (opt = getopt_long(argc, argv, ":X:", long_opts, NULL)) != -1) {
                switch (opt) {
                case 'X':
                        rc = add_prop(o, optarg);
                        break;
                case OPT_BROKERS:
                        rc = add_prop_kv(o, "bootstrap.servers", 17, optarg);
                        break;
                case OPT_LEAD_TOPIC:
                        o->produce.lead_topic = optarg;
                        break;
                case OPT_CRM_TOPIC:
                        o->produce.crm_topic = optarg;
                        break;
                case OPT_SPEND_TOPIC:
                        if (!*optarg)
                                return usage_error("--spend-topic needs a "
                                                   "topic name%s%s",
                                                   "", "");
                        o->produce.spend_topic = optarg;
                        o->produce.gen.spend = 1;
                        break;
                case OPT_SPEND:
                        o->produce.gen.spend = 1;
                        break;
                case OPT_SCHEMA_DIR:
                        o->produce.schema_dir = optarg;
                        break;
                case OPT_JSONL:
                        o->jsonl_path = optarg;
                        break;
                case OPT_DRY_RUN:
                        o->dry_run = 1;
                        break;
                case OPT_HELP:
                        usage(stdout);
                        return -1;
                case OPT_VERSION:
                        printf(PROG " " FUNNELD_VERSION "\n");
                        return -1;
                case ':':
                        return usage_error("%s needs a value%s",
                                           argv[optind - 1], "");
                case '?':
                        return usage_error("unknown option '%s'%s",
                                           argv[optind - 1], "");
                default:
                        rc = apply_number(o, opt, optarg);
                }
        }
        if (rc == 0 && optind < argc)
                return usage_error("unexpected argument '%s'%s", argv[optind],
                                   "");
        return rc;
}

static json_t *jstr(const char *s)
{
        return s ? json_string(s) : json_null();
}

/* Returns a new JSON object (caller owns) with the Avro field names. */
static json_t *event_json(const fd_event *ev)
{
        json_t *o = json_object(), *attrs;
        size_t i;

        if (ev->kind == FD_EV_SPEND) {
                const fd_spend_event *se = &ev->u.spend;

                json_object_set_new(o, "event_id", jstr(se->event_id));
                json_object_set_new(o, "tenant_id", jstr(se->tenant_id));
                json_object_set_new(o, "occurred_at",
                                    json_integer(se->occurred_at));
                json_object_set_new(o, "channel", jstr(se->channel));
                json_object_set_new(o, "campaign", jstr(se->campaign));
                json_object_set_new(o, "day", jstr(se->day));
                json_object_set_new(o, "amount_minor",
                                    json_integer(se->amount_minor));
                json_object_set_new(o, "currency", jstr(se->currency));
                return o;
        }
        if (ev->kind == FD_EV_CRM) {
                const fd_crm_event *ce = &ev->u.crm;

                json_object_set_new(o, "event_id", jstr(ce->event_id));
                json_object_set_new(o, "tenant_id", jstr(ce->tenant_id));
                json_object_set_new(o, "occurred_at",
                                    json_integer(ce->occurred_at));
                json_object_set_new(o, "lead_id", jstr(ce->lead_id));
                json_object_set_new(o, "stage", jstr(ce->stage));
                json_object_set_new(o, "opportunity_id",
                                    jstr(ce->opportunity_id));
                json_object_set_new(o, "amount_minor",
                                    ce->has_amount
                                            ? json_integer(ce->amount_minor)
                                            : json_null());
                json_object_set_new(o, "currency", jstr(ce->currency));
                json_object_set_new(o, "owner", jstr(ce->owner));
                return o;
        }
        const fd_lead_event *le = &ev->u.lead;
        const char *const fields[][2] = {
                {"event_id", le->event_id},
                {"tenant_id", le->tenant_id},
                {"occurred_at", NULL},
                {"lead_id", le->lead_id},
                {"anonymous_id", le->anonymous_id},
                {"type", le->type},
                {"channel", le->channel},
                {"campaign", le->campaign},
                {"utm_source", le->utm_source},
                {"utm_medium", le->utm_medium},
                {"utm_campaign", le->utm_campaign},
                {"utm_term", le->utm_term},
                {"utm_content", le->utm_content},
        };
        for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
                json_object_set_new(o, fields[i][0],
                                    i == 2 ? json_integer(le->occurred_at)
                                           : jstr(fields[i][1]));
        attrs = json_object();
        for (i = 0; i < le->attr_cnt; i++)
                json_object_set_new(attrs, le->attrs[i].key,
                                    jstr(le->attrs[i].value));
        json_object_set_new(o, "attributes", attrs);
        return o;
}

static int write_jsonl(void *opaque, const fd_event *ev)
{
        jsonl_out *out = opaque;
        json_t *o = event_json(ev);
        int rc = o ? json_dumpf(o, out->f, JSON_COMPACT) : -1;

        json_decref(o);
        if (rc == 0 && fputc('\n', out->f) != EOF)
                return 0;
        fprintf(stderr,
                PROG ": cannot write %s: %s; check free space and "
                     "permissions\n",
                out->path, strerror(errno));
        return -1;
}

static void on_signal(int sig)
{
        (void)sig;
        stop_flag = 1;
}

/* --dry-run: generate without Kafka. */
static int run_dry(const gen_opts *o, fd_gen_stats *stats)
{
        const fd_gen_produce_conf *pc = &o->produce;
        fd_gen *gen = fd_gen_new(&pc->gen);
        fd_event ev = {0};
        int rc = 0, more;

        if (!gen) {
                fprintf(stderr, PROG ": out of memory\n");
                return 1;
        }
        while (rc == 0 && !stop_flag && (more = fd_gen_next(gen, &ev))) {
                if (more < 0) {
                        fprintf(stderr, PROG ": out of memory; generate fewer "
                                             "events per run\n");
                        rc = 1;
                        break;
                }
                *(ev.kind == FD_EV_LEAD    ? &stats->lead_events
                  : ev.kind == FD_EV_SPEND ? &stats->spend_events
                                           : &stats->crm_events) += 1;
                if (pc->on_event && pc->on_event(pc->opaque, &ev) != 0)
                        rc = 1;
                fd_event_clear(&ev);
        }
        fd_gen_destroy(gen);
        return rc;
}

static int run(gen_opts *o)
{
        fd_gen_produce_conf *pc = &o->produce;
        fd_gen_stats stats = {0};
        char err[512];
        int rc;

        if (o->dry_run) {
                rc = run_dry(o, &stats);
        } else {
                pc->props = o->props;
                pc->prop_cnt = o->prop_cnt;
                pc->stop = &stop_flag;
                rc = fd_gen_produce(pc, &stats, err, sizeof(err)) == 0 ? 0 : 1;
                if (rc)
                        fprintf(stderr, PROG ": %s\n", err);
        }
        fprintf(stderr,
                PROG ": %s %" PRId64 " events (%" PRId64 " lead, %" PRId64
                     " crm, %" PRId64 " spend)",
                o->dry_run ? "generated" : "produced",
                stats.lead_events + stats.crm_events + stats.spend_events,
                stats.lead_events, stats.crm_events, stats.spend_events);
        if (!o->dry_run)
                fprintf(stderr, ", %" PRId64 " delivered to %s / %s%s%s",
                        stats.delivered, pc->lead_topic, pc->crm_topic,
                        pc->gen.spend ? " / " : "",
                        pc->gen.spend ? pc->spend_topic : "");
        if (o->jsonl_path)
                fprintf(stderr, ", JSON lines in %s", o->jsonl_path);
        fprintf(stderr, "%s\n", stop_flag ? " (stopped early)" : "");
        return rc;
}

/* Opens --jsonl; 0, or 1 with a message. */
static int open_jsonl(gen_opts *o, jsonl_out *out)
{
        if (!o->jsonl_path)
                return 0;
        out->path = o->jsonl_path;
        out->f = strcmp(out->path, "-") == 0 ? stdout : fopen(out->path, "w");
        if (!out->f) {
                fprintf(stderr,
                        PROG ": cannot open %s for writing: %s; check the "
                             "directory and permissions\n",
                        out->path, strerror(errno));
                return 1;
        }
        o->produce.on_event = write_jsonl;
        o->produce.opaque = out;
        return 0;
}

int main(int argc, char **argv)
{
        struct sigaction sa;
        jsonl_out out = {0};
        gen_opts o;
        char err[256];
        int rc;

        memset(&o, 0, sizeof(o));
        fd_gen_produce_conf_init(&o.produce);
        rc = parse_opts(argc, argv, &o);
        if (rc == 0 && !o.dry_run && !o.have_bootstrap)
                rc = usage_error("no Kafka brokers given; pass --brokers "
                                 "HOST:PORT (or -X bootstrap.servers=...), or "
                                 "--dry-run%s%s",
                                 " --jsonl FILE to only write JSON lines", "");
        if (rc == 0 && o.dry_run && !o.jsonl_path)
                fprintf(stderr, PROG ": --dry-run without --jsonl only counts "
                                     "the events\n");
        if (rc == 0 && fd_gen_conf_check(&o.produce.gen, err, sizeof(err)))
                rc = usage_error("%s%s", err, "");
        if (rc == 0)
                rc = open_jsonl(&o, &out);
        if (rc == 0) {
                memset(&sa, 0, sizeof(sa));
                sa.sa_handler = on_signal;
                sigaction(SIGINT, &sa, NULL);
                sigaction(SIGTERM, &sa, NULL);
                rc = run(&o);
        }
        if (out.f && out.f != stdout && fclose(out.f) != 0 && rc == 0) {
                fprintf(stderr, PROG ": cannot write %s: %s\n", out.path,
                        strerror(errno));
                rc = 1;
        }
        if (out.f == stdout && fflush(stdout) != 0 && rc == 0)
                rc = 1;
        free_props(&o);
        return rc < 0 ? 0 : rc;
}
