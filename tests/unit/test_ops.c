/* Unit tests of the operations surface: the http.listen parser, the
 * Prometheus exposition and the health documents (no sockets). */
#include <stdlib.h>
#include <string.h>

#include "fdtest.h"
#include "http.h"
#include "metrics.h"

static void test_parse_listen(void)
{
        char host[64], err[256];
        int port = -1;

        FD_CHECK_INT(fd_http_parse_listen("127.0.0.1:9464", host, sizeof(host),
                                          &port, err, sizeof(err)),
                     0);
        FD_CHECK_STR(host, "127.0.0.1");
        FD_CHECK_INT(port, 9464);
        FD_CHECK_INT(fd_http_parse_listen("[::1]:0", host, sizeof(host), &port,
                                          err, sizeof(err)),
                     0);
        FD_CHECK_STR(host, "::1");
        FD_CHECK_INT(port, 0);
        const char *bad[] = {"9464",     ":9464",   "host:", "host:65536",
                             "host:12x", "[::1:80", NULL};
        for (size_t i = 0; bad[i]; i++) {
                FD_CHECK_INT(fd_http_parse_listen(bad[i], host, sizeof(host),
                                                  &port, err, sizeof(err)),
                             -1);
                FD_CHECK(strstr(err, "http.listen must be HOST:PORT") != NULL);
        }
}

/* The text of one sample line "name{labels} value", or NULL. */
static const char *sample(const fd_buf *b, const char *line)
{
        const char *p = strstr(b->data, line);
        while (p && p != b->data && p[-1] != '\n')
                p = strstr(p + 1, line);
        return p;
}

static void test_render(void)
{
        fd_metrics *m = fd_metrics_new("g1");
        fd_buf b = {0};
        int32_t parts[] = {0, 3};

        const char *names[FD_IN_TOPICS] = {"in.lead", "in.crm", NULL};
        fd_metrics_set_topics(m, names);
        fd_metrics_count_in(m, 0, FD_OUTCOME_APPLIED, 7);
        fd_metrics_count_in(m, 1, FD_OUTCOME_DUPLICATE, 2);
        fd_metrics_count_dlq(m, FD_DECODE_UNKNOWN_SCHEMA);
        fd_metrics_count_out(m, "out.promo");
        fd_metrics_count_out(m, "out.promo");
        fd_metrics_batch(m, 1, 0.002);
        fd_metrics_batch(m, 700, 0.3);
        fd_metrics_assigned(m, parts, 2);
        fd_metrics_set_lag(m, 1, 3, 42);
        fd_metrics_set_outbox(m, 0, 5);
        fd_metrics_set_outbox(m, 9, 1); /* not owned: ignored */
        FD_CHECK_INT(fd_metrics_render(m, &b), 0);
        FD_CHECK(sample(&b, "funneld_events_in_total{topic=\"in.lead\","
                            "outcome=\"applied\"} 7\n"));
        FD_CHECK(sample(&b, "funneld_events_in_total{topic=\"in.crm\","
                            "outcome=\"duplicate\"} 2\n"));
        FD_CHECK(sample(&b, "funneld_dlq_total{reason=\"unknown-schema-id\"} "
                            "1\n"));
        FD_CHECK(sample(&b, "funneld_dlq_total{reason=\"undecodable\"} 0\n"));
        FD_CHECK(sample(&b, "funneld_events_out_total{topic=\"out.promo\"} "
                            "2\n"));
        /* cumulative buckets */
        FD_CHECK(sample(&b, "funneld_batch_events_bucket{le=\"1\"} 1\n"));
        FD_CHECK(sample(&b, "funneld_batch_events_bucket{le=\"500\"} 1\n"));
        FD_CHECK(sample(&b, "funneld_batch_events_bucket{le=\"1000\"} 2\n"));
        FD_CHECK(sample(&b, "funneld_batch_events_bucket{le=\"+Inf\"} 2\n"));
        FD_CHECK(sample(&b, "funneld_batch_events_sum 701.000000\n"));
        FD_CHECK(sample(&b, "funneld_commit_seconds_bucket{le=\"0.0025\"} "
                            "1\n"));
        FD_CHECK(sample(&b, "funneld_commit_seconds_count 2\n"));
        FD_CHECK(sample(&b, "funneld_consumer_lag{topic=\"in.crm\","
                            "partition=\"3\"} 42\n"));
        FD_CHECK(!strstr(b.data, "partition=\"9\""));
        FD_CHECK(sample(&b, "funneld_outbox_depth{partition=\"0\"} 5\n"));
        FD_CHECK(sample(&b, "funneld_partitions_assigned 2\n"));
        FD_CHECK(sample(&b, "# TYPE funneld_commit_seconds histogram\n"));
        /* no event committed yet: an empty age histogram */
        FD_CHECK(sample(&b, "funneld_event_age_seconds_bucket{le=\"+Inf\"} "
                            "0\n"));
        fd_buf_free(&b);

        /* Event ages: bucket edges (le is inclusive), the cap, two batches
         * summed. */
        fd_age_counts a = {{0}, 0}, a2 = {{0}, 0};
        fd_age_add(&a, 0);
        fd_age_add(&a, 5); /* le 0.005 */
        fd_age_add(&a, 6); /* le 0.01 */
        fd_age_add(&a, 3600000);
        fd_age_add(&a, 3600001); /* +Inf */
        fd_age_add(&a2, (uint32_t)FD_AGE_CAP_MS);
        fd_age_add(&a2, 40);
        FD_CHECK_INT((int)a.counts[0], 2);
        FD_CHECK_INT((int)a.counts[1], 1);
        FD_CHECK_INT((int)a.counts[FD_AGE_BUCKETS - 1], 1);
        FD_CHECK_INT((int)a.counts[FD_AGE_BUCKETS], 1);
        fd_metrics_event_ages(m, &a);
        fd_metrics_event_ages(m, &a2);
        FD_CHECK_INT(fd_metrics_render(m, &b), 0);
        FD_CHECK(sample(&b, "funneld_event_age_seconds_bucket{le=\"0.005\"} "
                            "2\n"));
        FD_CHECK(sample(&b, "funneld_event_age_seconds_bucket{le=\"0.01\"} "
                            "3\n"));
        FD_CHECK(sample(&b, "funneld_event_age_seconds_bucket{le=\"0.05\"} "
                            "4\n"));
        FD_CHECK(sample(&b, "funneld_event_age_seconds_bucket{le=\"3600\"} "
                            "5\n"));
        FD_CHECK(sample(&b, "funneld_event_age_seconds_bucket{le=\"+Inf\"} "
                            "7\n"));
        FD_CHECK(sample(&b, "funneld_event_age_seconds_count 7\n"));
        FD_CHECK(sample(&b, "funneld_event_age_seconds_sum 2154683.700000\n"));
        fd_buf_free(&b);
        fd_metrics_destroy(m);
}

static void test_health(void)
{
        fd_metrics *m = fd_metrics_new("g1");
        fd_buf b = {0};

        /* Nothing connected yet: live, not ready. */
        FD_CHECK_INT(fd_metrics_health(m, 0, &b), 200);
        fd_buf_reset(&b);
        FD_CHECK_INT(fd_metrics_health(m, 1, &b), 503);
        FD_CHECK(strstr(b.data, "\"status\":\"not ready\""));
        FD_CHECK(strstr(b.data, "waiting for the consumer group"));

        fd_metrics_up(m, FD_COMP_REDIS);
        fd_metrics_up(m, FD_COMP_KAFKA);
        fd_metrics_assigned(m, NULL, 0);
        fd_buf_reset(&b);
        FD_CHECK_INT(fd_metrics_health(m, 1, &b), 200);
        FD_CHECK(strstr(b.data, "\"status\":\"ok\""));

        fd_metrics_down(m, FD_COMP_REDIS, "Connection refused");
        fd_buf_reset(&b);
        FD_CHECK_INT(fd_metrics_health(m, 0, &b), 200);
        FD_CHECK(strstr(b.data, "\"status\":\"degraded\""));
        FD_CHECK(strstr(b.data, "\"error\":\"Connection refused\""));
        fd_buf_reset(&b);
        FD_CHECK_INT(fd_metrics_health(m, 1, &b), 503);
        FD_CHECK(strstr(b.data, "redis is down: Connection refused"));

        fd_metrics_up(m, FD_COMP_REDIS);
        fd_metrics_stopping(m);
        fd_buf_reset(&b);
        FD_CHECK_INT(fd_metrics_health(m, 1, &b), 503);
        FD_CHECK(strstr(b.data, "shutting down"));
        fd_buf_free(&b);
        fd_metrics_destroy(m);
}

int main(void)
{
        FD_RUN(test_parse_listen);
        FD_RUN(test_render);
        FD_RUN(test_health);
        return FD_DONE();
}
