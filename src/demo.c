/* funneld — the embedded demo. */
#include "demo.h"

#include <arpa/inet.h>
#include <errno.h>
#include <hiredis/hiredis.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "app.h"
#include "dashboard.h"
#include "gen.h"
#include "log.h"

typedef struct demo {
        fd_config *conf;
        const fd_demo_opts *opts;
        volatile sig_atomic_t *stop;
        volatile sig_atomic_t gen_stop;
        pid_t redis_pid;
        char redis_dir[64];
        rd_kafka_t *mock_rk;
        rd_kafka_mock_cluster_t *mock;
        char brokers[512];
        fd_gen_stats gen_stats;
        int gen_done;
        int gen_rc;
        char gen_err[512];
} demo;

static int free_port(void)
{
        struct sockaddr_in sa = {.sin_family = AF_INET};
        socklen_t len = sizeof(sa);
        int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
            getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
                port = ntohs(sa.sin_port);
        if (fd >= 0)
                close(fd);
        return port;
}

static void sleep_ms(int ms)
{
        struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
        nanosleep(&ts, NULL);
}

/* Starts redis-server on a free loopback port and waits for PING. */
static int start_redis(demo *d)
{
        char port_s[16];
        int port = free_port();
        if (port < 0)
                return -1;
        snprintf(port_s, sizeof(port_s), "%d", port);
        snprintf(d->redis_dir, sizeof(d->redis_dir),
                 "/tmp/funneld-demo-XXXXXX");
        if (!mkdtemp(d->redis_dir))
                return -1;
        d->redis_pid = fork();
        if (d->redis_pid == 0) {
                execlp("redis-server", "redis-server", "--port", port_s,
                       "--bind", "127.0.0.1", "--save", "", "--appendonly",
                       "no", "--dir", d->redis_dir, "--loglevel", "warning",
                       (char *)NULL);
                fprintf(stderr,
                        "funneld demo: cannot run redis-server: %s; install "
                        "it (scripts/setup.sh does)\n",
                        strerror(errno));
                _exit(127);
        }
        for (int i = 0; i < 100; i++) {
                struct timeval tv = {1, 0};
                redisContext *c =
                        redisConnectWithTimeout("127.0.0.1", port, tv);
                redisReply *r = c && !c->err ? redisCommand(c, "PING") : NULL;
                int ok = r && r->type == REDIS_REPLY_STATUS;
                if (r)
                        freeReplyObject(r);
                if (c)
                        redisFree(c);
                if (ok) {
                        free(d->conf->redis_host);
                        free(d->conf->redis_socket);
                        d->conf->redis_socket = NULL;
                        d->conf->redis_host = strdup("127.0.0.1");
                        d->conf->redis_port = port;
                        return 0;
                }
                if (waitpid(d->redis_pid, NULL, WNOHANG) == d->redis_pid) {
                        d->redis_pid = 0;
                        return -1;
                }
                sleep_ms(100);
        }
        return -1;
}

static void stop_redis(demo *d)
{
        if (d->redis_pid > 0) {
                kill(d->redis_pid, SIGTERM);
                waitpid(d->redis_pid, NULL, 0);
        }
        if (d->redis_dir[0]) {
                char path[128];
                snprintf(path, sizeof(path), "%s/dump.rdb", d->redis_dir);
                unlink(path);
                rmdir(d->redis_dir);
        }
}

static const char *configured_brokers(const fd_config *conf)
{
        for (size_t i = 0; i < conf->kafka_cnt; i++)
                if (strcmp(conf->kafka[i].key, "bootstrap.servers") == 0)
                        return conf->kafka[i].value;
        return NULL;
}

/* Creates the mock cluster with every topic, 4 partitions each (the spend
 * topic too unless topics.spend is off), and points conf's
 * kafka.bootstrap.servers at it. */
static int start_mock(demo *d)
{
        char errstr[256];
        fd_config *conf = d->conf;
        rd_kafka_conf_t *kc = rd_kafka_conf_new();
        const char *topics[] = {conf->topic_lead,
                                conf->topic_crm,
                                conf->topic_promotions,
                                conf->topic_attribution,
                                conf->topic_dlq,
                                conf->topic_alerts,
                                fd_config_topic(conf, FD_EV_SPEND)};

        rd_kafka_conf_set_log_cb(kc, fd_log_rdkafka_cb);
        /* The host handle of the mock cluster talks to no broker itself. */
        rd_kafka_conf_set(kc, "log_level", "3", errstr, sizeof(errstr));
        d->mock_rk =
                rd_kafka_new(RD_KAFKA_PRODUCER, kc, errstr, sizeof(errstr));
        if (!d->mock_rk) {
                rd_kafka_conf_destroy(kc);
                return -1;
        }
        d->mock = rd_kafka_mock_cluster_new(d->mock_rk, 1);
        if (!d->mock)
                return -1;
        for (size_t i = 0; i < sizeof(topics) / sizeof(topics[0]); i++)
                if (topics[i])
                        rd_kafka_mock_topic_create(d->mock, topics[i], 4, 1);
        snprintf(d->brokers, sizeof(d->brokers), "%s",
                 rd_kafka_mock_cluster_bootstraps(d->mock));
        fd_kv *kv = realloc(conf->kafka, (conf->kafka_cnt + 1) * sizeof(*kv));
        if (!kv)
                return -1;
        conf->kafka = kv;
        kv[conf->kafka_cnt].key = strdup("bootstrap.servers");
        kv[conf->kafka_cnt].value = strdup(d->brokers);
        conf->kafka_cnt++;
        return 0;
}

/* The Confluent schema id for events of kind: dflt when conf maps it to
 * that kind, else the first id conf maps to it, else dflt. */
static int32_t schema_id_of(const fd_config *conf, int kind, int32_t dflt)
{
        int32_t first = -1;

        for (size_t i = 0; i < conf->schema_id_cnt; i++) {
                if (conf->schema_ids[i].kind != kind)
                        continue;
                if (conf->schema_ids[i].id == dflt)
                        return dflt;
                if (first < 0)
                        first = conf->schema_ids[i].id;
        }
        return first >= 0 ? first : dflt;
}

static void *gen_thread(void *arg)
{
        demo *d = arg;
        fd_gen_produce_conf gc;
        const char *props[2] = {"bootstrap.servers", d->brokers};

        fd_gen_produce_conf_init(&gc);
        gc.gen.target_events = d->opts->events;
        gc.lead_topic = d->conf->topic_lead;
        gc.crm_topic = d->conf->topic_crm;
        /* spend (and so the dashboard's spend, ROAS and costs) unless
         * topics.spend is off */
        gc.spend_topic = fd_config_topic(d->conf, FD_EV_SPEND);
        gc.gen.spend = gc.spend_topic != NULL;
        gc.spend_schema_id = schema_id_of(d->conf, FD_EV_SPEND, 5);
        gc.schema_dir = d->conf->schema_dir;
        gc.rate = d->opts->rate;
        gc.props = props;
        gc.prop_cnt = 1;
        gc.stop = &d->gen_stop;
        d->gen_rc = fd_gen_produce(&gc, &d->gen_stats, d->gen_err,
                                   sizeof(d->gen_err));
        d->gen_done = 1;
        return NULL;
}

static void *screen_thread(void *arg)
{
        demo *d = arg;
        struct timespec t0, now;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        while (!*d->stop) {
                sleep_ms(1000);
                clock_gettime(CLOCK_MONOTONIC, &now);
                double el = (double)(now.tv_sec - t0.tv_sec) +
                            (double)(now.tv_nsec - t0.tv_nsec) / 1e9;
                fd_dashboard_print(stdout, d->conf, el,
                                   d->gen_stats.lead_events +
                                           d->gen_stats.crm_events +
                                           d->gen_stats.spend_events);
                if (d->opts->route_cnt && strcmp(d->conf->http_listen, "off"))
                        fprintf(stdout, "live dashboard: http://%s/\n",
                                d->conf->http_listen);
                if (d->opts->duration_s > 0 && el >= d->opts->duration_s)
                        *d->stop = 1;
        }
        return NULL;
}

int fd_demo_run(fd_config *conf, const fd_demo_opts *opts,
                volatile sig_atomic_t *stop)
{
        demo d = {.conf = conf, .opts = opts, .stop = stop};
        pthread_t gen_tid, screen_tid;
        const char *brokers = configured_brokers(conf);
        int rc = 1;

        if (start_redis(&d) != 0) {
                FD_ERROR("demo", "cannot start a local redis-server; install "
                                 "redis-server (scripts/setup.sh does)");
                goto out;
        }
        if (brokers)
                snprintf(d.brokers, sizeof(d.brokers), "%s", brokers);
        else if (start_mock(&d) != 0) {
                FD_ERROR("demo", "cannot start the embedded Kafka cluster");
                goto out;
        }
        FD_INFO("demo", "redis-server on 127.0.0.1:%d, kafka at %s%s",
                conf->redis_port, d.brokers,
                brokers ? "" : " (embedded mock cluster)");
        pthread_create(&gen_tid, NULL, gen_thread, &d);
        pthread_create(&screen_tid, NULL, screen_thread, &d);
        fd_app_opts app = {stop, NULL, opts->routes, opts->route_cnt};
        rc = fd_app_run(conf, &app);
        *stop = 1;
        d.gen_stop = 1;
        pthread_join(gen_tid, NULL);
        pthread_join(screen_tid, NULL);
        if (d.gen_rc != 0 && d.gen_err[0])
                FD_WARN("demo", "generator: %s", d.gen_err);
        fd_dashboard_print(stdout, conf, -1,
                           d.gen_stats.lead_events + d.gen_stats.crm_events +
                                   d.gen_stats.spend_events);
out:
        if (d.mock)
                rd_kafka_mock_cluster_destroy(d.mock);
        if (d.mock_rk)
                rd_kafka_destroy(d.mock_rk);
        stop_redis(&d);
        return rc;
}
