/* funneld-naive — the benchmark's baseline: a Kafka -> Redis funnel counter
 * written the way most teams would write it first.
 *
 * - librdkafka high-level consumer, offsets committed to Kafka by
 *   auto-commit (enable.auto.commit=true, the default 5 s interval): at least
 *   once, Redis effects and offsets are not atomic.
 * - Values decoded with funneld's own codec (fd_codec_decode), so decoding
 *   costs the same as in funneld.
 * - Per event, synchronous hiredis round trips (one command, one reply):
 *     SET P:{T}:seen:<event_id> 1 NX EX 604800   dedupe; a duplicate stops
 *     HINCRBY P:{T}:events:<day> <type> 1        LeadEvents only
 *     HMGET P:{T}:lead:<L> stage cycle           events with a lead id
 *     for each stage entered (first sight of a lead enters "lead"; a CRM
 *     stage ahead of the lead's stage enters it and, as implied entries,
 *     the stages skipped on the way; closed_lost from any open stage):
 *       HINCRBY P:{T}:total <stage> 1
 *       HINCRBY P:{T}:daily:<stage> <YYYY-MM-DD> 1
 *       HINCRBY P:{T}:monthly:<stage> <YYYY-MM> 1
 *     HSET P:{T}:lead:<L> stage .. cycle .. updated_at .. [created_at ..]
 *          [entered:<stage> ..]
 *   "recycled"/"nurture" moves the lead back to "lead" in a new cycle.
 * - It does NOT score (no MQL from fit/engagement rules), keep touches,
 *   stitch anonymous ids, attribute revenue, count by channel / campaign /
 *   persona or by hour, publish promotions or attribution events, or keep
 *   the per-lead bookkeeping funneld keeps. funneld does strictly more work
 *   per event; docs/PERFORMANCE.md says so next to the ratio.
 *
 * It runs until it has consumed --expect messages, then commits, closes and
 * prints one JSON line of statistics on stdout.
 *
 * With --receive-only it is a plain consumer instead: it decodes nothing
 * and touches no Redis, so its CPU per message is what receiving the
 * stream through librdkafka costs, the floor under funneld's (the
 * throughput phase). --ages FILE (receive only as well) also writes each
 * message's Kafka timestamp and its age when rd_kafka_consumer_poll handed
 * it over (ms, both from the wall clock) to FILE: when any consumer on this
 * box could first have had the event, the floor under funneld's latency. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <hiredis/hiredis.h>
#include <librdkafka/rdkafka.h>

#include "funneld/codec.h"
#include "funneld/event.h"
#include "funneld/stage.h"

#define PROG "funneld-naive"

static volatile sig_atomic_t stop_flag;

typedef struct naive_opts {
        const char *brokers, *group, *lead_topic, *crm_topic, *schema_dir;
        const char *redis_host, *prefix, *ages_path;
        int redis_port, redis_db;
        int receive_only; /* --receive-only, or --ages */
        int64_t expect;
} naive_opts;

typedef struct naive_stats {
        int64_t messages, events, duplicates, errors, redis_cmds;
        double first_wall, last_wall, cpu_first;
} naive_stats;

typedef struct naive {
        naive_opts o;
        redisContext *redis;
        fd_codec *codec;
        naive_stats st;
        FILE *ages; /* --ages */
} naive;

static void on_signal(int sig)
{
        (void)sig;
        stop_flag = 1;
}

static double now_s(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(struct rusage *ru)
{
        getrusage(RUSAGE_SELF, ru);
        return (double)ru->ru_utime.tv_sec + ru->ru_utime.tv_usec / 1e6 +
               (double)ru->ru_stime.tv_sec + ru->ru_stime.tv_usec / 1e6;
}

/* Sends one command and waits for its reply; -1 on a Redis error. */
static int cmd(naive *n, redisReply **out, const char *fmt, ...)
{
        redisReply *rep;
        va_list ap;

        va_start(ap, fmt);
        rep = redisvCommand(n->redis, fmt, ap);
        va_end(ap);
        n->st.redis_cmds++;
        if (!rep) {
                fprintf(stderr,
                        PROG ": Redis command failed: %s; check that "
                             "redis-server is running\n",
                        n->redis->errstr);
                return -1;
        }
        if (rep->type == REDIS_REPLY_ERROR) {
                fprintf(stderr, PROG ": Redis replied %s\n", rep->str);
                freeReplyObject(rep);
                return -1;
        }
        if (out)
                *out = rep;
        else
                freeReplyObject(rep);
        return 0;
}

static void day_month(int64_t ms, char day[16], char month[16])
{
        time_t t = (time_t)(ms / 1000);
        struct tm tm;

        gmtime_r(&t, &tm);
        strftime(day, 16, "%Y-%m-%d", &tm);
        strftime(month, 16, "%Y-%m", &tm);
}

static int count_entry(naive *n, const char *tenant, fd_stage s,
                       const char *day, const char *month)
{
        const char *name = fd_stage_name(s);

        if (cmd(n, NULL, "HINCRBY %s:{%s}:total %s 1", n->o.prefix, tenant,
                name) < 0 ||
            cmd(n, NULL, "HINCRBY %s:{%s}:daily:%s %s 1", n->o.prefix, tenant,
                name, day) < 0 ||
            cmd(n, NULL, "HINCRBY %s:{%s}:monthly:%s %s 1", n->o.prefix, tenant,
                name, month) < 0)
                return -1;
        return 0;
}

/* The counting of one decoded event; -1 on a Redis error. */
static int apply(naive *n, const fd_event *ev)
{
        const char *p = n->o.prefix, *tenant, *lead, *event_id;
        char day[16], month[16], at[24], cyc[16];
        fd_stage cur = FD_STAGE_NONE, to = FD_STAGE_NONE, s;
        redisReply *rep;
        int64_t t;
        int cycle = 1, created = 0, recycle = 0;

        if (ev->kind == FD_EV_LEAD) {
                tenant = ev->u.lead.tenant_id;
                lead = ev->u.lead.lead_id;
                event_id = ev->u.lead.event_id;
                t = ev->u.lead.occurred_at;
        } else {
                tenant = ev->u.crm.tenant_id;
                lead = ev->u.crm.lead_id;
                event_id = ev->u.crm.event_id;
                t = ev->u.crm.occurred_at;
        }
        day_month(t, day, month);
        if (cmd(n, &rep, "SET %s:{%s}:seen:%s 1 NX EX 604800", p, tenant,
                event_id) < 0)
                return -1;
        if (rep->type == REDIS_REPLY_NIL) {
                freeReplyObject(rep);
                n->st.duplicates++;
                return 0;
        }
        freeReplyObject(rep);
        n->st.events++;
        if (ev->kind == FD_EV_LEAD &&
            cmd(n, NULL, "HINCRBY %s:{%s}:events:%s %s 1", p, tenant, day,
                ev->u.lead.type) < 0)
                return -1;
        if (!lead)
                return 0;
        if (cmd(n, &rep, "HMGET %s:{%s}:lead:%s stage cycle", p, tenant, lead) <
            0)
                return -1;
        if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 2) {
                if (rep->element[0]->type == REDIS_REPLY_STRING)
                        cur = fd_stage_parse(rep->element[0]->str);
                if (rep->element[1]->type == REDIS_REPLY_STRING)
                        cycle = atoi(rep->element[1]->str);
        }
        freeReplyObject(rep);
        if (cur == FD_STAGE_NONE) {
                created = 1;
                cur = FD_STAGE_LEAD;
                if (count_entry(n, tenant, FD_STAGE_LEAD, day, month) < 0)
                        return -1;
        }
        if (ev->kind == FD_EV_CRM) {
                if (fd_stage_is_recycle(ev->u.crm.stage)) {
                        recycle = cur != FD_STAGE_CLOSED_WON &&
                                  cur != FD_STAGE_CLOSED_LOST;
                } else {
                        to = fd_stage_parse(ev->u.crm.stage);
                        if (cur == FD_STAGE_CLOSED_WON ||
                            cur == FD_STAGE_CLOSED_LOST || to <= cur)
                                to = FD_STAGE_NONE;
                }
        }
        if (to == FD_STAGE_CLOSED_LOST) {
                if (count_entry(n, tenant, to, day, month) < 0)
                        return -1;
        } else if (to != FD_STAGE_NONE) {
                for (s = cur + 1; s <= to; s++)
                        if (count_entry(n, tenant, s, day, month) < 0)
                                return -1;
        }
        if (recycle) {
                cycle++;
                to = FD_STAGE_LEAD;
        }
        snprintf(at, sizeof(at), "%" PRId64, t);
        snprintf(cyc, sizeof(cyc), "%d", cycle);
        if (to != FD_STAGE_NONE)
                return cmd(n, NULL,
                           "HSET %s:{%s}:lead:%s stage %s cycle %s "
                           "updated_at %s entered:%s %s",
                           p, tenant, lead, fd_stage_name(to), cyc, at,
                           fd_stage_name(to), at);
        if (created)
                return cmd(n, NULL,
                           "HSET %s:{%s}:lead:%s stage lead cycle %s "
                           "updated_at %s created_at %s entered:lead %s",
                           p, tenant, lead, cyc, at, at, at);
        return cmd(n, NULL, "HSET %s:{%s}:lead:%s updated_at %s", p, tenant,
                   lead, at);
}

static int handle(naive *n, const rd_kafka_message_t *m)
{
        static const fd_decode_limits limits = {1048576, 0, INT64_MAX, NULL};
        const char *topic = rd_kafka_topic_name(m->rkt);
        fd_event ev = {0};
        char err[256];
        int rc;

        if (n->st.messages++ == 0) {
                struct rusage ru;

                n->st.first_wall = now_s();
                n->st.cpu_first = cpu_s(&ru);
        }
        if (n->o.receive_only) {
                n->st.last_wall = now_s();
                if (n->ages) {
                        rd_kafka_timestamp_type_t type;
                        int64_t ts = rd_kafka_message_timestamp(m, &type);

                        fprintf(n->ages, "%" PRId64 " %.3f\n", ts,
                                n->st.last_wall * 1000.0 - (double)ts);
                }
                return 0;
        }
        if (fd_codec_decode(n->codec,
                            strcmp(topic, n->o.crm_topic) == 0 ? FD_EV_CRM
                                                               : FD_EV_LEAD,
                            m->payload, m->len, &limits, &ev, err,
                            sizeof(err)) != FD_DECODE_OK) {
                n->st.errors++;
                return 0;
        }
        rc = apply(n, &ev);
        fd_event_clear(&ev);
        n->st.last_wall = now_s();
        return rc;
}

/* Takes what the group assigns and says so on stderr: the benchmark starts
 * producing once the consumer is in place. */
static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque)
{
        (void)opaque;
        if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
                rd_kafka_assign(rk, parts);
                fprintf(stderr, PROG ": assigned %d partitions\n", parts->cnt);
        } else {
                rd_kafka_assign(rk, NULL);
        }
}

static rd_kafka_t *consumer_new(const naive_opts *o)
{
        const char *props[][2] = {
                {"bootstrap.servers", o->brokers},
                {"group.id", o->group},
                {"auto.offset.reset", "earliest"},
                {"enable.auto.commit", "true"},
        };
        char err[512];
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        rd_kafka_topic_partition_list_t *topics;
        rd_kafka_resp_err_t rerr;
        rd_kafka_t *rk;
        size_t i;

        for (i = 0; i < sizeof(props) / sizeof(props[0]); i++)
                if (rd_kafka_conf_set(conf, props[i][0], props[i][1], err,
                                      sizeof(err)) != RD_KAFKA_CONF_OK) {
                        fprintf(stderr, PROG ": %s\n", err);
                        rd_kafka_conf_destroy(conf);
                        return NULL;
                }
        rd_kafka_conf_set_rebalance_cb(conf, rebalance_cb);
        rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
        if (!rk) {
                fprintf(stderr, PROG ": creating the consumer: %s\n", err);
                return NULL;
        }
        rd_kafka_poll_set_consumer(rk);
        topics = rd_kafka_topic_partition_list_new(2);
        rd_kafka_topic_partition_list_add(topics, o->lead_topic,
                                          RD_KAFKA_PARTITION_UA);
        rd_kafka_topic_partition_list_add(topics, o->crm_topic,
                                          RD_KAFKA_PARTITION_UA);
        rerr = rd_kafka_subscribe(rk, topics);
        rd_kafka_topic_partition_list_destroy(topics);
        if (rerr) {
                fprintf(stderr, PROG ": subscribing: %s\n",
                        rd_kafka_err2str(rerr));
                rd_kafka_destroy(rk);
                return NULL;
        }
        return rk;
}

static int setup(naive *n, char *err, size_t err_size)
{
        char lead[1024], crm[1024];
        struct timeval tv = {10, 0};
        redisReply *rep;

        n->codec = fd_codec_new(n->o.schema_dir, err, err_size);
        if (!n->codec)
                return -1;
        snprintf(lead, sizeof(lead), "%s/lead_event.avsc", n->o.schema_dir);
        snprintf(crm, sizeof(crm), "%s/crm_stage_event.avsc", n->o.schema_dir);
        if (fd_codec_add_writer(n->codec, 1, FD_EV_LEAD, lead, err, err_size) <
                    0 ||
            fd_codec_add_writer(n->codec, 2, FD_EV_CRM, crm, err, err_size) < 0)
                return -1;
        n->redis =
                redisConnectWithTimeout(n->o.redis_host, n->o.redis_port, tv);
        if (!n->redis || n->redis->err) {
                snprintf(err, err_size,
                         "cannot connect to Redis at %s:%d (%s); start "
                         "redis-server or pass --redis-host/--redis-port",
                         n->o.redis_host, n->o.redis_port,
                         n->redis ? n->redis->errstr : "out of memory");
                return -1;
        }
        rep = redisCommand(n->redis, "SELECT %d", n->o.redis_db);
        if (!rep || rep->type == REDIS_REPLY_ERROR) {
                snprintf(err, err_size,
                         "SELECT %d failed; pick a database "
                         "the server has",
                         n->o.redis_db);
                if (rep)
                        freeReplyObject(rep);
                return -1;
        }
        freeReplyObject(rep);
        return 0;
}

static void print_stats(const naive *n)
{
        struct rusage ru;
        double cpu = cpu_s(&ru);

        printf("{\"messages\": %" PRId64 ", \"events\": %" PRId64
               ", \"duplicates\": %" PRId64 ", \"errors\": %" PRId64
               ", \"redis_cmds\": %" PRId64
               ", \"first_wall\": %.6f, \"last_wall\": %.6f"
               ", \"cpu_s\": %.6f, \"cpu_from_first_s\": %.6f"
               ", \"cpu_user_s\": %.6f, \"cpu_sys_s\": %.6f"
               ", \"maxrss_kb\": %ld}\n",
               n->st.messages, n->st.events, n->st.duplicates, n->st.errors,
               n->st.redis_cmds, n->st.first_wall, n->st.last_wall, cpu,
               cpu - n->st.cpu_first,
               (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6,
               (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6,
               ru.ru_maxrss);
        fflush(stdout);
}

static void usage(FILE *f)
{
        fprintf(f, "Usage: " PROG " --brokers HOST:PORT --expect N [options]\n"
                   "Naive baseline consumer of funneld's benchmark (see "
                   "bench/naive.c).\n"
                   "  --brokers HOST:PORT  Kafka bootstrap servers\n"
                   "  --group ID           consumer group (funneld-naive)\n"
                   "  --lead-topic NAME    (funnel.lead-events)\n"
                   "  --crm-topic NAME     (funnel.crm-events)\n"
                   "  --schema-dir DIR     (schemas)\n"
                   "  --redis-host HOST    (127.0.0.1)\n"
                   "  --redis-port PORT    (6379)\n"
                   "  --redis-db N         (0)\n"
                   "  --prefix P           Redis key prefix (naive)\n"
                   "  --expect N           stop after N messages\n"
                   "  --receive-only       receive only: no decoding, no "
                   "Redis\n"
                   "  --ages FILE          receive only, and write each "
                   "message's timestamp\n"
                   "                       and age on receipt (ms) to "
                   "FILE\n");
}

static int parse(int argc, char **argv, naive_opts *o)
{
        static const struct option opts[] = {
                {"brokers", required_argument, NULL, 'b'},
                {"group", required_argument, NULL, 'g'},
                {"lead-topic", required_argument, NULL, 'l'},
                {"crm-topic", required_argument, NULL, 'c'},
                {"schema-dir", required_argument, NULL, 's'},
                {"redis-host", required_argument, NULL, 'H'},
                {"redis-port", required_argument, NULL, 'P'},
                {"redis-db", required_argument, NULL, 'd'},
                {"prefix", required_argument, NULL, 'p'},
                {"expect", required_argument, NULL, 'e'},
                {"ages", required_argument, NULL, 'a'},
                {"receive-only", no_argument, NULL, 'r'},
                {"help", no_argument, NULL, 'h'},
                {NULL, 0, NULL, 0},
        };
        int c;

        o->group = "funneld-naive";
        o->lead_topic = "funnel.lead-events";
        o->crm_topic = "funnel.crm-events";
        o->schema_dir = "schemas";
        o->redis_host = "127.0.0.1";
        o->redis_port = 6379;
        o->prefix = "naive";
        while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
                switch (c) {
                case 'b':
                        o->brokers = optarg;
                        break;
                case 'g':
                        o->group = optarg;
                        break;
                case 'l':
                        o->lead_topic = optarg;
                        break;
                case 'c':
                        o->crm_topic = optarg;
                        break;
                case 's':
                        o->schema_dir = optarg;
                        break;
                case 'H':
                        o->redis_host = optarg;
                        break;
                case 'P':
                        o->redis_port = atoi(optarg);
                        break;
                case 'd':
                        o->redis_db = atoi(optarg);
                        break;
                case 'p':
                        o->prefix = optarg;
                        break;
                case 'e':
                        o->expect = strtoll(optarg, NULL, 10);
                        break;
                case 'a':
                        o->ages_path = optarg;
                        o->receive_only = 1;
                        break;
                case 'r':
                        o->receive_only = 1;
                        break;
                case 'h':
                        usage(stdout);
                        exit(0);
                default:
                        fprintf(stderr,
                                PROG ": bad option; see " PROG " --help\n");
                        return -1;
                }
        }
        if (!o->brokers || o->expect <= 0 || o->redis_port <= 0) {
                fprintf(stderr, PROG ": --brokers and --expect N (N > 0) are "
                                     "required; see " PROG " --help\n");
                return -1;
        }
        return 0;
}

int main(int argc, char **argv)
{
        naive n = {0};
        char err[512];
        rd_kafka_t *rk;
        int rc = 0;

        if (parse(argc, argv, &n.o) < 0)
                return 2;
        signal(SIGINT, on_signal);
        signal(SIGTERM, on_signal);
        if (n.o.ages_path && !(n.ages = fopen(n.o.ages_path, "w"))) {
                fprintf(stderr,
                        PROG ": cannot write --ages %s: %s; pass a path in a "
                             "writable directory\n",
                        n.o.ages_path, strerror(errno));
                return 1;
        }
        if (!n.o.receive_only && setup(&n, err, sizeof(err)) < 0) {
                fprintf(stderr, PROG ": %s\n", err);
                return 1;
        }
        rk = consumer_new(&n.o);
        if (!rk)
                return 1;
        while (!stop_flag && n.st.messages < n.o.expect) {
                rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);

                if (!m)
                        continue;
                if (m->err) {
                        if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                                fprintf(stderr, PROG ": consumer: %s\n",
                                        rd_kafka_message_errstr(m));
                } else if (handle(&n, m) < 0) {
                        rc = 1;
                        stop_flag = 1;
                }
                rd_kafka_message_destroy(m);
        }
        rd_kafka_consumer_close(rk);
        rd_kafka_destroy(rk);
        print_stats(&n);
        if (n.ages && fclose(n.ages) != 0) {
                fprintf(stderr, PROG ": writing --ages %s: %s\n", n.o.ages_path,
                        strerror(errno));
                rc = 1;
        }
        redisFree(n.redis);
        fd_codec_destroy(n.codec);
        return rc;
}
