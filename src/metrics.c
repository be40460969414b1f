/* funneld — counters, gauges and histograms, and their two renderings. */
#include "metrics.h"

#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"

#define FD_STALL_MS   90000 /* no loop iteration for this long: not live */
#define FD_OUT_TOPICS 16

static const double batch_bounds[] = {1,    10,   100,  250,   500,
                                      1000, 2000, 5000, 10000, 50000};
static const double commit_bounds[] = {0.0005, 0.001, 0.0025, 0.005, 0.01,
                                       0.025,  0.05,  0.1,    0.25,  0.5,
                                       1,      2.5,   5};
const uint32_t fd_age_bounds_ms[FD_AGE_BUCKETS] = {
        5,    10,   25,    50,    100,   250,    500,    1000,
        2500, 5000, 10000, 30000, 60000, 300000, 3600000};
#define NBATCH  (sizeof(batch_bounds) / sizeof(batch_bounds[0]))
#define NCOMMIT (sizeof(commit_bounds) / sizeof(commit_bounds[0]))

typedef struct histogram {
        const double *bounds;
        size_t nb;
        int64_t counts[16]; /* per bucket, not cumulative; [nb] = +Inf */
        double sum;
        int64_t cnt;
} histogram;

typedef struct comp_state {
        int known; /* 0 until the first up/down */
        int up;
        int64_t since_ms; /* wall clock of the last change */
        char why[256];
        int64_t errors;
} comp_state;

struct fd_metrics {
        pthread_mutex_t lock;
        char *group;
        char *topics[FD_IN_TOPICS];
        int64_t in[FD_IN_TOPICS][FD_OUTCOME__COUNT];
        int64_t dlq[8]; /* by -fd_decode_err */
        struct {
                char *name;
                int64_t n;
        } out[FD_OUT_TOPICS];
        size_t out_cnt;
        histogram batch, commit, age;
        double age_bounds[FD_AGE_BUCKETS]; /* fd_age_bounds_ms in seconds */
        int64_t fenced;
        comp_state comp[FD_COMP__COUNT];
        int64_t started_ms, heartbeat_ms; /* monotonic */
        int64_t started_wall_ms;
        int assigned_once, stopping;
        int32_t *parts;
        int64_t *lag[FD_IN_TOPICS], *outbox;
        size_t part_cnt;
};

static const char *const comp_names[FD_COMP__COUNT] = {"redis", "kafka"};
static const char *const outcome_names[FD_OUTCOME__COUNT] = {
        "applied", "duplicate", "dlq"};

fd_metrics *fd_metrics_new(const char *group)
{
        fd_metrics *m = calloc(1, sizeof(*m));
        if (!m)
                return NULL;
        m->group = strdup(group ? group : "");
        if (!m->group || pthread_mutex_init(&m->lock, NULL) != 0) {
                free(m->group);
                free(m);
                return NULL;
        }
        m->batch.bounds = batch_bounds;
        m->batch.nb = NBATCH;
        m->commit.bounds = commit_bounds;
        m->commit.nb = NCOMMIT;
        for (size_t b = 0; b < FD_AGE_BUCKETS; b++)
                m->age_bounds[b] = fd_age_bounds_ms[b] / 1000.0;
        m->age.bounds = m->age_bounds;
        m->age.nb = FD_AGE_BUCKETS;
        m->started_ms = m->heartbeat_ms = fd_mono_ms();
        m->started_wall_ms = fd_wall_ms();
        return m;
}

void fd_metrics_destroy(fd_metrics *m)
{
        if (!m)
                return;
        pthread_mutex_destroy(&m->lock);
        free(m->group);
        for (int t = 0; t < FD_IN_TOPICS; t++) {
                free(m->topics[t]);
                free(m->lag[t]);
        }
        for (size_t i = 0; i < m->out_cnt; i++)
                free(m->out[i].name);
        free(m->parts);
        free(m->outbox);
        free(m);
}

void fd_metrics_set_topics(fd_metrics *m, const char *const *names)
{
        pthread_mutex_lock(&m->lock);
        for (int t = 0; t < FD_IN_TOPICS; t++) {
                free(m->topics[t]);
                m->topics[t] = names[t] ? strdup(names[t]) : NULL;
        }
        pthread_mutex_unlock(&m->lock);
}

void fd_metrics_count_in(fd_metrics *m, int topic, fd_outcome outcome,
                         int64_t n)
{
        if (topic < 0 || topic >= FD_IN_TOPICS || outcome >= FD_OUTCOME__COUNT)
                return;
        pthread_mutex_lock(&m->lock);
        m->in[topic][outcome] += n;
        pthread_mutex_unlock(&m->lock);
}

void fd_metrics_count_dlq(fd_metrics *m, fd_decode_err reason)
{
        size_t i = (size_t) - (int)reason;
        if (reason >= 0 || i >= sizeof(m->dlq) / sizeof(m->dlq[0]))
                return;
        pthread_mutex_lock(&m->lock);
        m->dlq[i]++;
        pthread_mutex_unlock(&m->lock);
}

void fd_metrics_count_out(fd_metrics *m, const char *topic)
{
        pthread_mutex_lock(&m->lock);
        size_t i = 0;
        while (i < m->out_cnt && strcmp(m->out[i].name, topic) != 0)
                i++;
        if (i == m->out_cnt && i < FD_OUT_TOPICS &&
            (m->out[i].name = strdup(topic)) != NULL)
                m->out_cnt++;
        if (i < m->out_cnt)
                m->out[i].n++;
        pthread_mutex_unlock(&m->lock);
}

static void observe(histogram *h, double v)
{
        size_t b = 0;
        while (b < h->nb && v > h->bounds[b])
                b++;
        h->counts[b]++;
        h->sum += v;
        h->cnt++;
}

void fd_metrics_batch(fd_metrics *m, size_t events, double commit_seconds)
{
        pthread_mutex_lock(&m->lock);
        observe(&m->batch, (double)events);
        observe(&m->commit, commit_seconds);
        pthread_mutex_unlock(&m->lock);
}

void fd_metrics_event_ages(fd_metrics *m, const fd_age_counts *a)
{
        pthread_mutex_lock(&m->lock);
        for (size_t b = 0; b <= FD_AGE_BUCKETS; b++) {
                m->age.counts[b] += a->counts[b];
                m->age.cnt += a->counts[b];
        }
        m->age.sum += (double)a->sum_ms / 1000.0;
        pthread_mutex_unlock(&m->lock);
}

void fd_metrics_fenced(fd_metrics *m)
{
        pthread_mutex_lock(&m->lock);
        m->fenced++;
        pthread_mutex_unlock(&m->lock);
}

static void set_state(fd_metrics *m, fd_component c, int up, const char *why)
{
        comp_state *s = &m->comp[c];
        if (!s->known || s->up != up)
                s->since_ms = fd_wall_ms();
        s->known = 1;
        s->up = up;
        snprintf(s->why, sizeof(s->why), "%s", why ? why : "");
}

void fd_metrics_up(fd_metrics *m, fd_component c)
{
        pthread_mutex_lock(&m->lock);
        set_state(m, c, 1, NULL);
        pthread_mutex_unlock(&m->lock);
}

void fd_metrics_down(fd_metrics *m, fd_component c, const char *why)
{
        pthread_mutex_lock(&m->lock);
        set_state(m, c, 0, why);
        m->comp[c].errors++;
        pthread_mutex_unlock(&m->lock);
}

void fd_metrics_count_error(fd_metrics *m, fd_component c)
{
        pthread_mutex_lock(&m->lock);
        m->comp[c].errors++;
        pthread_mutex_unlock(&m->lock);
}

void fd_metrics_heartbeat(fd_metrics *m)
{
        pthread_mutex_lock(&m->lock);
        m->heartbeat_ms = fd_mono_ms();
        pthread_mutex_unlock(&m->lock);
}

void fd_metrics_assigned(fd_metrics *m, const int32_t *parts, size_t n)
{
        int32_t *p = calloc(n ? n : 1, sizeof(*p));
        int64_t *lag[FD_IN_TOPICS];
        int64_t *ob = calloc(n ? n : 1, sizeof(*ob));
        int ok = p && ob;
        for (int t = 0; t < FD_IN_TOPICS; t++)
                ok &= (lag[t] = calloc(n ? n : 1, sizeof(int64_t))) != NULL;
        if (!ok) {
                free(p);
                free(ob);
                n = 0;
                p = NULL;
                ob = NULL;
                for (int t = 0; t < FD_IN_TOPICS; t++) {
                        free(lag[t]);
                        lag[t] = NULL;
                }
        }
        for (size_t i = 0; i < n; i++) {
                p[i] = parts[i];
                ob[i] = -1;
                for (int t = 0; t < FD_IN_TOPICS; t++)
                        lag[t][i] = -1;
        }
        pthread_mutex_lock(&m->lock);
        free(m->parts);
        free(m->outbox);
        m->parts = p;
        for (int t = 0; t < FD_IN_TOPICS; t++) {
                free(m->lag[t]);
                m->lag[t] = lag[t];
        }
        m->outbox = ob;
        m->part_cnt = n;
        m->assigned_once = 1;
        pthread_mutex_unlock(&m->lock);
}

/* Index of partition in the table, or -1; called locked. */
static long part_index(const fd_metrics *m, int32_t partition)
{
        for (size_t i = 0; i < m->part_cnt; i++)
                if (m->parts[i] == partition)
                        return (long)i;
        return -1;
}

void fd_metrics_set_lag(fd_metrics *m, int topic, int32_t partition,
                        int64_t lag)
{
        if (topic < 0 || topic >= FD_IN_TOPICS)
                return;
        pthread_mutex_lock(&m->lock);
        long i = part_index(m, partition);
        if (i >= 0)
                m->lag[topic][i] = lag;
        pthread_mutex_unlock(&m->lock);
}

void fd_metrics_set_outbox(fd_metrics *m, int32_t partition, int64_t depth)
{
        pthread_mutex_lock(&m->lock);
        long i = part_index(m, partition);
        if (i >= 0)
                m->outbox[i] = depth;
        pthread_mutex_unlock(&m->lock);
}

void fd_metrics_stopping(fd_metrics *m)
{
        pthread_mutex_lock(&m->lock);
        m->stopping = 1;
        pthread_mutex_unlock(&m->lock);
}

/* ------------------------------------------------------------ rendering */

static int emit(fd_buf *out, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
static int emit(fd_buf *out, const char *fmt, ...)
{
        char line[1024];
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(line, sizeof(line), fmt, ap);
        va_end(ap);
        if (n < 0)
                return -1;
        return fd_buf_append(out, line,
                             (size_t)n < sizeof(line) ? (size_t)n
                                                      : sizeof(line) - 1);
}

/* Label values: Prometheus escapes backslash, quote and newline. Topic and
 * group names are restricted by Kafka to [A-Za-z0-9._-], so this only
 * guards against surprises. */
static const char *label(const char *s, char *buf, size_t size)
{
        size_t j = 0;
        for (size_t i = 0; s && s[i] && j + 3 < size; i++) {
                if (s[i] == '\\' || s[i] == '"' || s[i] == '\n') {
                        buf[j++] = '\\';
                        buf[j++] = s[i] == '\n' ? 'n' : s[i];
                } else {
                        buf[j++] = s[i];
                }
        }
        buf[j] = '\0';
        return buf;
}

static int head(fd_buf *out, const char *name, const char *type,
                const char *help)
{
        return emit(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name,
                    type);
}

static int render_histogram(fd_buf *out, const char *name, const char *help,
                            const histogram *h)
{
        int rc = head(out, name, "histogram", help);
        int64_t cum = 0;
        for (size_t b = 0; b <= h->nb; b++) {
                cum += h->counts[b];
                if (b < h->nb)
                        rc |= emit(out, "%s_bucket{le=\"%g\"} %" PRId64 "\n",
                                   name, h->bounds[b], cum);
                else
                        rc |= emit(out, "%s_bucket{le=\"+Inf\"} %" PRId64 "\n",
                                   name, cum);
        }
        rc |= emit(out, "%s_sum %.6f\n%s_count %" PRId64 "\n", name, h->sum,
                   name, h->cnt);
        return rc;
}

static int render_locked(const fd_metrics *m, fd_buf *out)
{
        char a[300], b[300];
        int rc = 0;
        int64_t now = fd_mono_ms();

        rc |= head(out, "funneld_build_info", "gauge",
                   "Version of this funneld; always 1.");
        rc |= emit(out, "funneld_build_info{version=\"%s\",group=\"%s\"} 1\n",
                   FUNNELD_VERSION, label(m->group, a, sizeof(a)));
        rc |= head(out, "funneld_uptime_seconds", "gauge",
                   "Seconds since funneld started.");
        rc |= emit(out, "funneld_uptime_seconds %.3f\n",
                   (double)(now - m->started_ms) / 1000.0);
        rc |= head(out, "funneld_events_in_total", "counter",
                   "Input messages committed to Redis, by topic and outcome "
                   "(applied, duplicate: dropped by event id, dlq).");
        for (int t = 0; t < FD_IN_TOPICS; t++)
                for (int o = 0; o < FD_OUTCOME__COUNT && m->topics[t]; o++)
                        rc |= emit(out,
                                   "funneld_events_in_total{topic=\"%s\","
                                   "outcome=\"%s\"} %" PRId64 "\n",
                                   label(m->topics[t], a, sizeof(a)),
                                   outcome_names[o], m->in[t][o]);
        rc |= head(out, "funneld_dlq_total", "counter",
                   "Input messages sent to the dead-letter topic, by reason.");
        for (size_t i = 1; i < sizeof(m->dlq) / sizeof(m->dlq[0]); i++) {
                const char *name = fd_decode_err_name((fd_decode_err) - (int)i);
                if (name && strcmp(name, "unknown") != 0)
                        rc |= emit(out,
                                   "funneld_dlq_total{reason=\"%s\"} %" PRId64
                                   "\n",
                                   name, m->dlq[i]);
        }
        rc |= head(out, "funneld_events_out_total", "counter",
                   "Records delivered to an output topic (promotions, "
                   "attribution, alerts, DLQ), confirmed by the broker.");
        for (size_t i = 0; i < m->out_cnt; i++)
                rc |= emit(out,
                           "funneld_events_out_total{topic=\"%s\"} %" PRId64
                           "\n",
                           label(m->out[i].name, a, sizeof(a)), m->out[i].n);
        rc |= render_histogram(out, "funneld_batch_events",
                               "Input events per committed batch.", &m->batch);
        rc |= render_histogram(out, "funneld_commit_seconds",
                               "From a batch's MULTI/EXEC going out to its "
                               "answer being read (with processing.overlap "
                               "this includes applying and polling for the "
                               "next batch).",
                               &m->commit);
        rc |= render_histogram(out, "funneld_event_age_seconds",
                               "From an input message's Kafka timestamp "
                               "(when it was produced) to its batch's atomic "
                               "write answered by Redis: end-to-end "
                               "freshness, including the producer and the "
                               "broker.",
                               &m->age);
        rc |= head(out, "funneld_commits_fenced_total", "counter",
                   "Batches refused because another instance took over the "
                   "partitions (zombie fencing).");
        rc |= emit(out, "funneld_commits_fenced_total %" PRId64 "\n",
                   m->fenced);
        rc |= head(out, "funneld_up", "gauge",
                   "1 when funneld's connection to the component works.");
        for (int c = 0; c < FD_COMP__COUNT; c++)
                rc |= emit(out, "funneld_up{component=\"%s\"} %d\n",
                           comp_names[c], m->comp[c].up);
        rc |= head(out, "funneld_errors_total", "counter",
                   "Errors talking to a component (failed commands, lost "
                   "connections, broker errors).");
        for (int c = 0; c < FD_COMP__COUNT; c++)
                rc |= emit(out,
                           "funneld_errors_total{component=\"%s\"} %" PRId64
                           "\n",
                           comp_names[c], m->comp[c].errors);
        rc |= head(out, "funneld_partitions_assigned", "gauge",
                   "Partition pairs this instance owns.");
        rc |= emit(out, "funneld_partitions_assigned %zu\n", m->part_cnt);
        rc |= head(out, "funneld_consumer_lag", "gauge",
                   "Messages between the offset committed to Redis and the "
                   "partition's end (high watermark), per owned partition.");
        for (size_t i = 0; i < m->part_cnt; i++)
                for (int t = 0; t < FD_IN_TOPICS; t++)
                        if (m->topics[t] && m->lag[t][i] >= 0)
                                rc |= emit(out,
                                           "funneld_consumer_lag{topic=\"%s\","
                                           "partition=\"%d\"} %" PRId64 "\n",
                                           label(m->topics[t], b, sizeof(b)),
                                           (int)m->parts[i], m->lag[t][i]);
        rc |= head(out, "funneld_outbox_depth", "gauge",
                   "Derived events waiting in Redis to be produced, per owned "
                   "partition.");
        for (size_t i = 0; i < m->part_cnt; i++)
                if (m->outbox[i] >= 0)
                        rc |= emit(out,
                                   "funneld_outbox_depth{partition=\"%d\"} "
                                   "%" PRId64 "\n",
                                   (int)m->parts[i], m->outbox[i]);
        return rc ? -1 : 0;
}

int fd_metrics_render(fd_metrics *m, fd_buf *out)
{
        pthread_mutex_lock(&m->lock);
        int rc = render_locked(m, out);
        pthread_mutex_unlock(&m->lock);
        return rc;
}

/* ------------------------------------------------------------- health */

static json_t *comp_json(const comp_state *s)
{
        json_t *o = json_object();
        json_object_set_new(o, "state",
                            json_string(!s->known ? "connecting"
                                        : s->up   ? "up"
                                                  : "down"));
        if (s->known)
                json_object_set_new(o, "since_ms", json_integer(s->since_ms));
        if (s->known && !s->up && s->why[0])
                json_object_set_new(o, "error", json_string(s->why));
        json_object_set_new(o, "errors", json_integer(s->errors));
        return o;
}

static int health_locked(const fd_metrics *m, int readiness, json_t *doc)
{
        int64_t now = fd_mono_ms();
        int stalled = now - m->heartbeat_ms > FD_STALL_MS;
        int deps_up = m->comp[FD_COMP_REDIS].up && m->comp[FD_COMP_KAFKA].up;
        json_t *why = json_array();
        int ok;

        if (stalled)
                json_array_append_new(
                        why, json_string("the consume loop has not run for "
                                         "90 s: funneld is stuck; restart it "
                                         "and report its log"));
        for (int c = 0; c < FD_COMP__COUNT; c++)
                if (!m->comp[c].up) {
                        char text[400];
                        snprintf(text, sizeof(text), "%s is %s%s%s",
                                 comp_names[c],
                                 m->comp[c].known ? "down" : "not reached yet",
                                 m->comp[c].why[0] ? ": " : "", m->comp[c].why);
                        json_array_append_new(why, json_string(text));
                }
        if (!m->assigned_once)
                json_array_append_new(
                        why, json_string("waiting for the consumer group to "
                                         "assign partitions"));
        if (m->stopping)
                json_array_append_new(why, json_string("shutting down"));

        if (readiness)
                ok = !stalled && deps_up && m->assigned_once && !m->stopping;
        else
                ok = !stalled;
        json_object_set_new(doc, "status",
                            json_string(stalled                   ? "stalled"
                                        : readiness && !ok        ? "not ready"
                                        : !deps_up || m->stopping ? "degraded"
                                                                  : "ok"));
        json_object_set_new(doc, "group", json_string(m->group));
        json_object_set_new(doc, "version", json_string(FUNNELD_VERSION));
        json_object_set_new(doc, "uptime_s",
                            json_integer((now - m->started_ms) / 1000));
        json_object_set_new(doc, "last_loop_ms_ago",
                            json_integer(now - m->heartbeat_ms));
        json_object_set_new(doc, "redis", comp_json(&m->comp[FD_COMP_REDIS]));
        json_object_set_new(doc, "kafka", comp_json(&m->comp[FD_COMP_KAFKA]));
        json_t *parts = json_array();
        for (size_t i = 0; i < m->part_cnt; i++)
                json_array_append_new(parts, json_integer(m->parts[i]));
        json_object_set_new(doc, "partitions", parts);
        json_object_set_new(doc, "reasons", why);
        return ok ? 200 : 503;
}

int fd_metrics_health(fd_metrics *m, int readiness, fd_buf *out)
{
        json_t *doc = json_object();
        pthread_mutex_lock(&m->lock);
        int status = health_locked(m, readiness, doc);
        pthread_mutex_unlock(&m->lock);
        char *text = json_dumps(doc, JSON_COMPACT);
        json_decref(doc);
        if (!text || fd_buf_append(out, text, strlen(text)) != 0 ||
            fd_buf_append(out, "\n", 1) != 0)
                status = 500;
        free(text);
        return status;
}
