/* funneld — command line entry point. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "demo.h"
#include "funneld/config.h"
#include "log.h"
#include "web_api.h"

static volatile sig_atomic_t stop_flag, reload_flag;

static void on_signal(int sig)
{
        if (sig == SIGHUP)
                reload_flag = 1;
        else
                stop_flag = 1;
}

static void usage(FILE *fp)
{
        fprintf(fp,
                "usage: funneld [-c FILE] [options]\n"
                "       funneld --demo [--duration SECONDS] [--events N] "
                "[--rate EPS]\n"
                "       funneld --check-config FILE\n"
                "\n"
                "funneld turns lead activity and CRM stage events from Kafka "
                "into a\nreal-time revenue funnel in Redis (exactly once) and "
                "publishes MQL/SQL\npromotions and closed-won attribution.\n"
                "\n"
                "  -c, --config FILE        configuration file (INI); without "
                "it the\n"
                "                           built-in defaults apply\n"
                "      --check-config FILE  validate FILE and exit (0 = "
                "valid)\n"
                "      --config-reference   print every config key as "
                "Markdown\n"
                "      --demo               run on an embedded Kafka and a "
                "local\n"
                "                           redis-server with generated "
                "events,\n"
                "                           showing the live funnel\n"
                "      --duration SECONDS   demo: stop after this long "
                "(default: Ctrl-C)\n"
                "      --events N           demo: events to generate "
                "(default 200000)\n"
                "      --rate EPS           demo: events per second "
                "(default 2000)\n"
                "      --log-level LEVEL    error, warn, info (default), "
                "debug\n"
                "      --json-logs          log one JSON object per line\n"
                "  -h, --help               this help\n"
                "  -V, --version            print the version\n"
                "\n"
                "Signals: SIGTERM/SIGINT finish the batch in hand, drain the "
                "outbox and\nleave the group (exit 0); SIGHUP reads the "
                "config file again and applies\nits scoring rules and tenant "
                "settings from the next batch.\n");
}

static fd_config *load_config(const char *path)
{
        char errstr[4096];
        fd_config *conf;
        if (!path)
                return fd_config_new_defaults();
        conf = fd_config_load(path, errstr, sizeof(errstr));
        if (!conf)
                fprintf(stderr, "funneld: invalid configuration:\n%s\n",
                        errstr);
        return conf;
}

int main(int argc, char **argv)
{
        static const struct option opts[] = {
                {"config", required_argument, NULL, 'c'},
                {"check-config", required_argument, NULL, 'k'},
                {"config-reference", no_argument, NULL, 'r'},
                {"demo", no_argument, NULL, 'd'},
                {"duration", required_argument, NULL, 't'},
                {"events", required_argument, NULL, 'n'},
                {"rate", required_argument, NULL, 'R'},
                {"log-level", required_argument, NULL, 'l'},
                {"json-logs", no_argument, NULL, 'j'},
                {"help", no_argument, NULL, 'h'},
                {"version", no_argument, NULL, 'V'},
                {NULL, 0, NULL, 0},
        };
        const char *config_path = NULL, *log_level = NULL;
        fd_demo_opts demo = {.duration_s = 0, .events = 200000, .rate = 2000};
        int demo_mode = 0, c, rc;
        fd_config *conf;

        while ((c = getopt_long(argc, argv, "c:hV", opts, NULL)) != -1) {
                switch (c) {
                case 'c':
                        config_path = optarg;
                        break;
                case 'k':
                        conf = load_config(optarg);
                        if (!conf)
                                return 1;
                        printf("%s: valid\n", optarg);
                        fd_config_destroy(conf);
                        return 0;
                case 'r':
                        fd_config_print_reference(stdout);
                        return 0;
                case 'd':
                        demo_mode = 1;
                        break;
                case 't':
                        demo.duration_s = atof(optarg);
                        break;
                case 'n':
                        demo.events = atoll(optarg);
                        break;
                case 'R':
                        demo.rate = atof(optarg);
                        break;
                case 'l':
                        log_level = optarg;
                        break;
                case 'j':
                        fd_log_set_json(1);
                        break;
                case 'h':
                        usage(stdout);
                        return 0;
                case 'V':
                        printf("funneld %s\n", FUNNELD_VERSION);
                        return 0;
                default:
                        usage(stderr);
                        return 2;
                }
        }
        if (optind < argc) {
                fprintf(stderr,
                        "funneld: unexpected argument '%s'; see funneld "
                        "--help\n",
                        argv[optind]);
                return 2;
        }
        conf = load_config(config_path);
        if (!conf)
                return 1;
        if (!log_level)
                log_level = conf->log_level;
        if (log_level && fd_log_level_parse(log_level) < 0) {
                fprintf(stderr,
                        "funneld: unknown log level '%s'; use error, warn, "
                        "info or debug\n",
                        log_level);
                fd_config_destroy(conf);
                return 2;
        }
        if (log_level)
                fd_log_threshold = (fd_log_level)fd_log_level_parse(log_level);
        if (conf->log_format && strcmp(conf->log_format, "json") == 0)
                fd_log_set_json(1);
        struct sigaction sa = {.sa_handler = on_signal};
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGHUP, &sa, NULL);
        signal(SIGPIPE, SIG_IGN);
        /* Routes besides /metrics, /healthz, /readyz: the JSON API and the
         * dashboard (src/web). */
        fd_http_route web[FD_WEB_ROUTE_CNT];
        fd_web_api apis[FD_WEB_API_CNT];
        fd_app_opts app = {&stop_flag, &reload_flag, web,
                           fd_web_routes(conf, web, apis)};
        demo.routes = app.routes;
        demo.route_cnt = app.route_cnt;
        rc = demo_mode ? fd_demo_run(conf, &demo, &stop_flag)
                       : fd_app_run(conf, &app);
        fd_config_destroy(conf);
        return rc;
}
