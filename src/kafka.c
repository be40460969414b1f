/* funneld — librdkafka set-up. */
#include "kafka.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "outbox.h"

/* Turns librdkafka's errors into log lines that say what to check. */
static void error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
        fd_kafka_ctx *ctx = opaque;
        (void)rk;
        if (ctx && ctx->metrics) {
                if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN)
                        fd_metrics_down(ctx->metrics, FD_COMP_KAFKA, reason);
                else
                        fd_metrics_count_error(ctx->metrics, FD_COMP_KAFKA);
        }
        if (err == RD_KAFKA_RESP_ERR__AUTHENTICATION)
                FD_ERROR(
                        "kafka",
                        "authentication failed: %s; check kafka.sasl.username, "
                        "kafka.sasl.password, kafka.sasl.mechanisms and "
                        "kafka.security.protocol",
                        reason);
        else if (err == RD_KAFKA_RESP_ERR__SSL)
                FD_ERROR("kafka",
                         "TLS failed: %s; check kafka.ssl.ca.location and the "
                         "broker's certificate",
                         reason);
        else if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN)
                FD_WARN("kafka",
                        "%s; retrying (check kafka.bootstrap.servers and that "
                        "the brokers are up)",
                        reason);
        else
                FD_WARN("kafka", "%s: %s", rd_kafka_err2name(err), reason);
}

/* Applies the kafka.* pass-through, then funneld's own required settings. */
static rd_kafka_conf_t *base_conf(const fd_config *conf, const char **defaults,
                                  const char **fixed, char *errstr,
                                  size_t errstr_size)
{
        rd_kafka_conf_t *kc = rd_kafka_conf_new();
        char err[512];

        /* funneld's defaults, which the user's kafka.* settings may change */
        for (size_t i = 0; defaults && defaults[i]; i += 2)
                rd_kafka_conf_set(kc, defaults[i], defaults[i + 1], err,
                                  sizeof(err));
        for (size_t i = 0; i < conf->kafka_cnt; i++) {
                if (rd_kafka_conf_set(kc, conf->kafka[i].key,
                                      conf->kafka[i].value, err,
                                      sizeof(err)) != RD_KAFKA_CONF_OK) {
                        snprintf(errstr, errstr_size,
                                 "config key 'kafka.%s': %s; fix or remove it "
                                 "(see librdkafka's CONFIGURATION.md)",
                                 conf->kafka[i].key, err);
                        rd_kafka_conf_destroy(kc);
                        return NULL;
                }
        }
        for (size_t i = 0; fixed[i]; i += 2) {
                if (rd_kafka_conf_set(kc, fixed[i], fixed[i + 1], err,
                                      sizeof(err)) != RD_KAFKA_CONF_OK) {
                        snprintf(errstr, errstr_size,
                                 "librdkafka refused %s=%s: %s", fixed[i],
                                 fixed[i + 1], err);
                        rd_kafka_conf_destroy(kc);
                        return NULL;
                }
        }
        rd_kafka_conf_set_log_cb(kc, fd_log_rdkafka_cb);
        rd_kafka_conf_set_error_cb(kc, error_cb);
        return kc;
}

/* librdkafka's statistics (JSON): Kafka is up while at least one broker
 * connection (a broker with a node id) is in state UP. Returns 0: librdkafka
 * frees the JSON. */
static int stats_cb(rd_kafka_t *rk, char *json, size_t len, void *opaque)
{
        fd_kafka_ctx *ctx = opaque;
        json_t *doc = json_loadb(json, len, 0, NULL);
        json_t *brokers = json_object_get(doc, "brokers");
        const char *name;
        json_t *b;
        int up = 0;
        (void)rk;
        json_object_foreach(brokers, name, b)
        {
                const char *state =
                        json_string_value(json_object_get(b, "state"));
                if (json_integer_value(json_object_get(b, "nodeid")) >= 0 &&
                    state && strcmp(state, "UP") == 0)
                        up = 1;
        }
        if (ctx && ctx->metrics && doc) {
                if (up)
                        fd_metrics_up(ctx->metrics, FD_COMP_KAFKA);
                else
                        fd_metrics_down(ctx->metrics, FD_COMP_KAFKA,
                                        "no broker connection is up");
        }
        json_decref(doc);
        return 0;
}

rd_kafka_t *fd_kafka_consumer_new(
        const fd_config *conf,
        void (*rebalance_cb)(rd_kafka_t *, rd_kafka_resp_err_t,
                             rd_kafka_topic_partition_list_t *, void *),
        fd_kafka_ctx *ctx, char *errstr, size_t errstr_size)
{
        const char *fixed[] = {"group.id",
                               conf->group_id,
                               "enable.auto.commit",
                               "false",
                               "enable.auto.offset.store",
                               "false",
                               "enable.partition.eof",
                               "true",
                               "partition.assignment.strategy",
                               "range",
                               "statistics.interval.ms",
                               "5000",
                               NULL};
        /* An offset retention deleted while funneld lagged: go on from the
         * oldest message left, not from the newest (librdkafka's default
         * skips all that is left). */
        const char *defaults[] = {"auto.offset.reset", "earliest", NULL};
        rd_kafka_conf_t *kc =
                base_conf(conf, defaults, fixed, errstr, errstr_size);
        rd_kafka_t *rk;

        if (!kc)
                return NULL;
        rd_kafka_conf_set_rebalance_cb(kc, rebalance_cb);
        rd_kafka_conf_set_stats_cb(kc, stats_cb);
        rd_kafka_conf_set_opaque(kc, ctx);
        rk = rd_kafka_new(RD_KAFKA_CONSUMER, kc, errstr, errstr_size);
        if (!rk) {
                rd_kafka_conf_destroy(kc);
                return NULL;
        }
        rd_kafka_poll_set_consumer(rk);
        return rk;
}

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
        fd_kafka_ctx *ctx = opaque;
        (void)rk;
        if (!m->err && ctx->metrics)
                fd_metrics_count_out(ctx->metrics, rd_kafka_topic_name(m->rkt));
        fd_outbox_delivered(ctx->outbox, m->_private, m->err);
        if (m->err) {
                if (ctx->metrics)
                        fd_metrics_count_error(ctx->metrics, FD_COMP_KAFKA);
                FD_WARN("outbox", "delivery to %s failed: %s",
                        rd_kafka_topic_name(m->rkt), rd_kafka_err2str(m->err));
        }
}

/* 1 for librdkafka properties only a consumer understands. */
static int consumer_only(const char *key)
{
        static const char *const names[] = {"group.id",
                                            "group.instance.id",
                                            "session.timeout.ms",
                                            "heartbeat.interval.ms",
                                            "max.poll.interval.ms",
                                            "isolation.level",
                                            "client.rack",
                                            "check.crcs",
                                            "group.protocol.type",
                                            "coordinator.query.interval.ms",
                                            NULL};
        static const char *const prefixes[] = {"auto.offset", "auto.commit",
                                               "fetch.",      "queued.",
                                               "enable.auto", NULL};
        for (size_t i = 0; names[i]; i++)
                if (strcmp(key, names[i]) == 0)
                        return 1;
        for (size_t i = 0; prefixes[i]; i++)
                if (strncmp(key, prefixes[i], strlen(prefixes[i])) == 0)
                        return 1;
        return 0;
}

rd_kafka_t *fd_kafka_producer_new(const fd_config *conf, fd_kafka_ctx *ctx,
                                  char *errstr, size_t errstr_size)
{
        const char *fixed[] = {"enable.idempotence", "true", "acks", "all",
                               "linger.ms",          "5",    NULL};
        rd_kafka_conf_t *kc;
        rd_kafka_t *rk;
        /* Consumer-only pass-through keys would only produce warnings. */
        fd_config copy = *conf;
        fd_kv kv[conf->kafka_cnt + 1];
        size_t n = 0;
        for (size_t i = 0; i < conf->kafka_cnt; i++)
                if (!consumer_only(conf->kafka[i].key))
                        kv[n++] = conf->kafka[i];
        copy.kafka = kv;
        copy.kafka_cnt = n;
        kc = base_conf(&copy, NULL, fixed, errstr, errstr_size);
        if (!kc)
                return NULL;
        rd_kafka_conf_set_dr_msg_cb(kc, dr_cb);
        rd_kafka_conf_set_opaque(kc, ctx);
        rk = rd_kafka_new(RD_KAFKA_PRODUCER, kc, errstr, errstr_size);
        if (!rk)
                rd_kafka_conf_destroy(kc);
        return rk;
}

/* The partition count of topic in md, or -1 when absent. */
static int partition_count(const rd_kafka_metadata_t *md, const char *topic,
                           rd_kafka_resp_err_t *err)
{
        for (int i = 0; i < md->topic_cnt; i++)
                if (strcmp(md->topics[i].topic, topic) == 0) {
                        *err = md->topics[i].err;
                        return md->topics[i].err ? -1
                                                 : md->topics[i].partition_cnt;
                }
        *err = RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART;
        return -1;
}

int fd_kafka_check_copartitioned(rd_kafka_t *rk, const fd_config *conf,
                                 int timeout_ms, int *spend, char *errstr,
                                 size_t errstr_size)
{
        const char *spend_topic = fd_config_topic(conf, FD_EV_SPEND);
        int spend_cnt;
        const rd_kafka_metadata_t *md;
        rd_kafka_resp_err_t err =
                rd_kafka_metadata(rk, 1, NULL, &md, timeout_ms);
        const char *topics[2] = {conf->topic_lead, conf->topic_crm};
        int cnt[2];

        if (err) {
                snprintf(errstr, errstr_size,
                         "cannot read topic metadata from kafka: %s; check "
                         "kafka.bootstrap.servers and that the brokers are "
                         "up, and the errors logged above (credentials, TLS)",
                         rd_kafka_err2str(err));
                return -1;
        }
        for (int i = 0; i < 2; i++) {
                cnt[i] = partition_count(md, topics[i], &err);
                if (cnt[i] <= 0) {
                        snprintf(errstr, errstr_size,
                                 "input topic '%s' is not available (%s); "
                                 "create it with the same partition count as "
                                 "'%s', or set topics.* in the config",
                                 topics[i], rd_kafka_err2str(err),
                                 topics[1 - i]);
                        rd_kafka_metadata_destroy(md);
                        return -1;
                }
        }
        const char *outputs[4] = {conf->topic_promotions,
                                  conf->topic_attribution, conf->topic_alerts,
                                  conf->topic_dlq};
        for (int i = 0; i < 4; i++) {
                if (partition_count(md, outputs[i], &err) > 0)
                        continue;
                snprintf(errstr, errstr_size,
                         "output topic '%s' is not available (%s); create it "
                         "(any partition count), or set topics.* in the "
                         "config",
                         outputs[i], rd_kafka_err2str(err));
                rd_kafka_metadata_destroy(md);
                return -1;
        }
        *spend = 0;
        spend_cnt = spend_topic ? partition_count(md, spend_topic, &err) : 0;
        rd_kafka_metadata_destroy(md);
        if (spend_topic && spend_cnt <= 0)
                FD_WARN("kafka",
                        "spend topic '%s' is not available (%s); running "
                        "without cost data: create it with the partition "
                        "count of '%s' and restart funneld, or set "
                        "topics.spend = off to silence this",
                        spend_topic, rd_kafka_err2str(err), topics[0]);
        if (spend_cnt > 0 && spend_cnt != cnt[0]) {
                snprintf(errstr, errstr_size,
                         "spend topic '%s' has %d partitions, '%s' has %d; "
                         "funneld reads partition p of every input topic "
                         "together, so give the spend topic the same "
                         "partition count (or set topics.spend = off)",
                         spend_topic, spend_cnt, topics[0], cnt[0]);
                return -1;
        }
        *spend = spend_cnt > 0;
        if (cnt[0] != cnt[1]) {
                snprintf(errstr, errstr_size,
                         "input topics are not co-partitioned: '%s' has %d "
                         "partitions, '%s' has %d; a lead's events must meet "
                         "in one partition pair, so give both topics the same "
                         "partition count (and the same key: the lead id)",
                         topics[0], cnt[0], topics[1], cnt[1]);
                return -1;
        }
        return cnt[0];
}

void fd_kafka_topics_warm(rd_kafka_t *rk, const char *const *topics, size_t cnt,
                          rd_kafka_topic_t **rkts)
{
        for (size_t i = 0; i < cnt; i++) {
                const struct rd_kafka_metadata *md = NULL;

                rkts[i] = NULL;
                if (!topics[i] || !*topics[i])
                        continue;
                rkts[i] = rd_kafka_topic_new(rk, topics[i], NULL);
                if (rkts[i] && rd_kafka_metadata(rk, 0, rkts[i], &md, 10000) ==
                                       RD_KAFKA_RESP_ERR_NO_ERROR)
                        rd_kafka_metadata_destroy(md);
        }
}

void fd_kafka_topics_release(rd_kafka_topic_t **rkts, size_t cnt)
{
        for (size_t i = 0; i < cnt; i++) {
                if (rkts[i])
                        rd_kafka_topic_destroy(rkts[i]);
                rkts[i] = NULL;
        }
}
