/* funneld — produce a generated stream to Kafka (Avro, Confluent framing).
 *
 * One idempotent librdkafka producer per call; every state lives on the
 * caller's stack, so several calls may run in different threads. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <librdkafka/rdkafka.h>

#include "funneld/codec.h"
#include "gen.h"
#include "kafka.h"
#include "log.h"

/* Delivery accounting, updated by the delivery report callback (which runs
 * inside rd_kafka_poll / rd_kafka_flush on the producing thread). */
typedef struct produce_state {
        fd_gen_stats *stats; /* the caller's, updated as we go */
        char first_err[256];
} produce_state;

void fd_gen_produce_conf_init(fd_gen_produce_conf *conf)
{
        memset(conf, 0, sizeof(*conf));
        fd_gen_conf_init(&conf->gen);
        conf->lead_topic = "funnel.lead-events";
        conf->crm_topic = "funnel.crm-events";
        conf->spend_topic = "funnel.spend";
        conf->schema_dir = "schemas";
        conf->lead_schema_id = 1;
        conf->crm_schema_id = 2;
        conf->spend_schema_id = 5;
        conf->flush_timeout_ms = 30000;
}

static int stopped(const fd_gen_produce_conf *conf)
{
        return conf->stop && *conf->stop;
}

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *msg,
                        void *opaque)
{
        produce_state *st = opaque;

        (void)rk;
        if (!msg->err) {
                st->stats->delivered++;
                return;
        }
        if (st->stats->failed++ == 0)
                snprintf(st->first_err, sizeof(st->first_err),
                         "topic %s partition %" PRId32 ": %s",
                         rd_kafka_topic_name(msg->rkt), msg->partition,
                         rd_kafka_err2str(msg->err));
}

static int set_prop(rd_kafka_conf_t *kc, const char *key, const char *value,
                    char *errstr, size_t errstr_size)
{
        char err[256];

        if (rd_kafka_conf_set(kc, key, value, err, sizeof(err)) ==
            RD_KAFKA_CONF_OK)
                return 0;
        snprintf(errstr, errstr_size,
                 "cannot set librdkafka property %s=%s: %s; fix or drop that "
                 "-X key=value pair",
                 key, value, err);
        return -1;
}

/* Returns a producer owned by the caller (rd_kafka_destroy), or NULL. */
static rd_kafka_t *producer_new(const fd_gen_produce_conf *conf,
                                produce_state *st, char *errstr,
                                size_t errstr_size)
{
        static const char *const defaults[] = {
                "enable.idempotence", "true", "acks", "all", "partitioner",
                "murmur2_random", /* as Java clients */
                "linger.ms",          "5",
        };
        rd_kafka_conf_t *kc = rd_kafka_conf_new();
        char err[512];
        rd_kafka_t *rk;
        size_t i;

        for (i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i += 2)
                if (set_prop(kc, defaults[i], defaults[i + 1], errstr,
                             errstr_size) < 0)
                        goto fail;
        for (i = 0; i < conf->prop_cnt; i++)
                if (set_prop(kc, conf->props[2 * i], conf->props[2 * i + 1],
                             errstr, errstr_size) < 0)
                        goto fail;
        rd_kafka_conf_set_dr_msg_cb(kc, on_delivery);
        rd_kafka_conf_set_log_cb(kc, fd_log_rdkafka_cb);
        rd_kafka_conf_set_opaque(kc, st);
        rk = rd_kafka_new(RD_KAFKA_PRODUCER, kc, err, sizeof(err));
        if (rk)
                return rk; /* kc is owned by rk now */
        snprintf(errstr, errstr_size,
                 "cannot create the Kafka producer: %s; check the -X "
                 "properties",
                 err);
fail:
        rd_kafka_conf_destroy(kc);
        return NULL;
}

/* Hands one encoded event to the producer, waiting while its queue is
 * full. 0 = queued, 1 = stopped before it could be queued, -1 = error. */
static int produce_value(rd_kafka_t *rk, const fd_gen_produce_conf *conf,
                         const fd_event *ev, const fd_buf *val, char *errstr,
                         size_t errstr_size)
{
        const char *topic, *key;
        rd_kafka_resp_err_t err;

        if (ev->kind == FD_EV_LEAD) {
                topic = conf->lead_topic;
                key = ev->u.lead.lead_id ? ev->u.lead.lead_id
                                         : ev->u.lead.anonymous_id;
        } else if (ev->kind == FD_EV_SPEND) {
                topic = conf->spend_topic;
                key = ev->u.spend.channel;
        } else {
                topic = conf->crm_topic;
                key = ev->u.crm.lead_id;
        }
        for (;;) {
                err = rd_kafka_producev(
                        rk, RD_KAFKA_V_TOPIC(topic),
                        RD_KAFKA_V_KEY(key, key ? strlen(key) : 0),
                        RD_KAFKA_V_VALUE(val->data, val->len),
                        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                        RD_KAFKA_V_END);
                if (err == RD_KAFKA_RESP_ERR_NO_ERROR)
                        return 0;
                if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                        snprintf(errstr, errstr_size,
                                 "cannot produce to topic %s: %s; check the "
                                 "topic name and the producer properties",
                                 topic, rd_kafka_err2str(err));
                        return -1;
                }
                if (stopped(conf))
                        return 1;
                rd_kafka_poll(rk, 100);
        }
}

static double elapsed_ms(const struct timespec *t0)
{
        struct timespec now;

        clock_gettime(CLOCK_MONOTONIC, &now);
        return (double)(now.tv_sec - t0->tv_sec) * 1e3 +
               (double)(now.tv_nsec - t0->tv_nsec) / 1e6;
}

/* Serves delivery reports and, with a rate, waits until event n is due. */
static void pace(rd_kafka_t *rk, const fd_gen_produce_conf *conf,
                 const struct timespec *t0, int64_t n)
{
        double due = conf->rate > 0 ? (double)n * 1000.0 / conf->rate : 0;

        rd_kafka_poll(rk, 0);
        while (conf->rate > 0 && !stopped(conf)) {
                double wait = due - elapsed_ms(t0);

                if (wait <= 0)
                        break;
                rd_kafka_poll(rk, wait > 100 ? 100 : (int)wait + 1);
        }
}

/* The Confluent schema id of events of ev's kind. */
static int32_t schema_id(const fd_gen_produce_conf *conf, const fd_event *ev)
{
        if (ev->kind == FD_EV_LEAD)
                return conf->lead_schema_id;
        return ev->kind == FD_EV_SPEND ? conf->spend_schema_id
                                       : conf->crm_schema_id;
}

/* The counter of events of ev's kind in stats. */
static int64_t *kind_count(fd_gen_stats *stats, const fd_event *ev)
{
        if (ev->kind == FD_EV_LEAD)
                return &stats->lead_events;
        return ev->kind == FD_EV_SPEND ? &stats->spend_events
                                       : &stats->crm_events;
}

static const char *id_of(const fd_event *ev)
{
        if (ev->kind == FD_EV_LEAD)
                return ev->u.lead.event_id;
        return ev->kind == FD_EV_SPEND ? ev->u.spend.event_id
                                       : ev->u.crm.event_id;
}

/* Generates and produces until the stream ends, *stop, or an error. */
static int produce_loop(rd_kafka_t *rk, const fd_gen_produce_conf *conf,
                        fd_codec *codec, fd_gen *gen, fd_gen_stats *stats,
                        char *errstr, size_t errstr_size)
{
        fd_event ev = {0};
        fd_buf val = {0};
        struct timespec t0;
        int64_t n = 0;
        int rc = 0, more;

        clock_gettime(CLOCK_MONOTONIC, &t0);
        while (rc == 0 && !stopped(conf) && (more = fd_gen_next(gen, &ev))) {
                int32_t id = schema_id(conf, &ev);

                if (more < 0) {
                        snprintf(errstr, errstr_size,
                                 "the generator ran out of memory; produce "
                                 "fewer events per run");
                        rc = -1;
                        break;
                }
                fd_buf_reset(&val);
                rc = fd_codec_encode_event(codec, id, &ev, &val, errstr,
                                           errstr_size);
                if (rc == 0)
                        rc = produce_value(rk, conf, &ev, &val, errstr,
                                           errstr_size);
                if (rc == 0) {
                        *kind_count(stats, &ev) += 1;
                        if (conf->on_event &&
                            conf->on_event(conf->opaque, &ev) != 0) {
                                snprintf(errstr, errstr_size,
                                         "the event hook failed on event %s; "
                                         "see the message before",
                                         id_of(&ev));
                                rc = -1;
                        }
                }
                fd_event_clear(&ev);
                if (rc == 0)
                        pace(rk, conf, &t0, ++n);
        }
        fd_buf_free(&val);
        return rc < 0 ? -1 : 0;
}

/* Flushes within the deadline and reports what did not get through. */
static int finish(rd_kafka_t *rk, const fd_gen_produce_conf *conf,
                  const produce_state *st, char *errstr, size_t errstr_size)
{
        char fatal[256];
        int left;

        rd_kafka_flush(rk, conf->flush_timeout_ms);
        left = rd_kafka_outq_len(rk);
        if (rd_kafka_fatal_error(rk, fatal, sizeof(fatal))) {
                snprintf(errstr, errstr_size,
                         "the idempotent producer failed fatally: %s; check "
                         "the broker logs and run again",
                         fatal);
                return -1;
        }
        if (st->stats->failed > 0) {
                snprintf(errstr, errstr_size,
                         "%" PRId64 " events were not delivered (first: %s); "
                         "check that the topics exist and the brokers are "
                         "reachable",
                         st->stats->failed, st->first_err);
                return -1;
        }
        if (left > 0) {
                snprintf(errstr, errstr_size,
                         "%d messages still unacknowledged after waiting %d "
                         "ms; check that bootstrap.servers is reachable",
                         left, conf->flush_timeout_ms);
                return -1;
        }
        return 0;
}

/* Fetches the metadata of the topics to produce to before the stream
 * starts. Otherwise the producer looks a topic up when its first event
 * comes and holds that topic's events meanwhile: at a fixed rate the CRM
 * topic's events of the first second were delivered up to 1 s late, an
 * artefact in any latency measured from their produce time. Failures are
 * left to the producing that follows, which reports them. */
static void warm_up(rd_kafka_t *rk, const fd_gen_produce_conf *conf)
{
        const char *topics[] = {conf->lead_topic, conf->crm_topic,
                                conf->gen.spend ? conf->spend_topic : NULL};
        rd_kafka_topic_t *rkts[3];

        fd_kafka_topics_warm(rk, topics, 3, rkts);
        fd_kafka_topics_release(rkts, 3);
}

int fd_gen_produce(const fd_gen_produce_conf *conf, fd_gen_stats *stats,
                   char *errstr, size_t errstr_size)
{
        fd_gen_stats local;
        produce_state st = {0};
        char err[400];
        fd_codec *codec = NULL;
        rd_kafka_t *rk = NULL;
        fd_gen *gen = NULL;
        int rc = -1;

        st.stats = stats ? stats : &local;
        memset(st.stats, 0, sizeof(*st.stats));
        if (fd_gen_conf_check(&conf->gen, errstr, errstr_size) < 0)
                goto out;
        if (conf->gen.spend && (!conf->spend_topic || !*conf->spend_topic)) {
                snprintf(errstr, errstr_size,
                         "spend events are on but no spend topic is set; "
                         "give one (--spend-topic) or turn spend off");
                goto out;
        }
        codec = fd_codec_new(conf->schema_dir, err, sizeof(err));
        if (!codec) {
                snprintf(errstr, errstr_size,
                         "cannot load the reader schemas from directory %s "
                         "(--schema-dir): %s",
                         conf->schema_dir, err);
                goto out;
        }
        gen = fd_gen_new(&conf->gen);
        if (!gen) {
                snprintf(errstr, errstr_size,
                         "cannot create the generator: out of memory");
                goto out;
        }
        rk = producer_new(conf, &st, errstr, errstr_size);
        if (!rk)
                goto out;
        warm_up(rk, conf);
        rc = produce_loop(rk, conf, codec, gen, st.stats, errstr, errstr_size);
        if (rc == 0)
                rc = finish(rk, conf, &st, errstr, errstr_size);
        else
                rd_kafka_flush(rk, conf->flush_timeout_ms);
out:
        if (rk)
                rd_kafka_destroy(rk);
        fd_gen_destroy(gen);
        if (codec)
                fd_codec_destroy(codec);
        return rc;
}
