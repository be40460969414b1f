/* funnelctl — operator and analyst CLI of funneld: reads the documented
 * Redis keys (docs/REDIS.md) and prints the funnel, attributed revenue, a
 * lead's journey or the processing status. Read-only; safe while funneld
 * runs. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_cmds.h"
#include "funneld/config.h"

typedef struct ctl_command {
        const char *name;
        int (*check)(ctl_ctx *ctx);
        int (*run)(ctl_ctx *ctx);
        const char *help;
} ctl_command;

static const char global_help[] =
        "global options (before or after the command):\n"
        "  -c, --config FILE      funneld's config file: redis.host, "
        "redis.port,\n"
        "                         redis.socket, redis.user, redis.password, "
        "redis.db,\n"
        "                         redis.prefix, funneld.group.id and "
        "tenant time\n"
        "                         zones come from it\n"
        "      --redis HOST:PORT  override redis.host and redis.port "
        "(and redis.socket)\n"
        "      --redis /PATH      connect to redis-server's Unix socket "
        "PATH instead\n"
        "      --prefix P         override redis.prefix (default fd)\n"
        "      --group G          override funneld.group.id (default "
        "funneld)\n"
        "      --format F         table (default, aligned columns), json (one "
        "document)\n"
        "                         or csv (RFC 4180; one header row per "
        "table, tables\n"
        "                         separated by an empty line)\n"
        "  -h, --help             help (of a command: funnelctl COMMAND "
        "--help)\n"
        "  -V, --version          print the version\n"
        "\n"
        "exit codes: 0 ok, 1 runtime error (Redis unreachable, unknown "
        "layout),\n"
        "            2 usage error, 3 not found (tenant, lead)\n";

static const ctl_command commands[] = {
        {"report", ctl_report_check, ctl_report_run,
         "usage: funnelctl report --tenant T [--month YYYY-MM | --from "
         "YYYY-MM --to YYYY-MM]\n"
         "\n"
         "The funnel per month, from P:{T}:monthly:<stage>: stage entries "
         "(lead, mql,\n"
         "sql, opportunity, closed_won, closed_lost), the change against the "
         "previous\n"
         "month (mom_change, mom_change_ratio), next-step conversion "
         "(mql/lead, sql/mql,\n"
         "opportunity/sql, closed_won/opportunity), cumulative conversion "
         "(stage/lead)\n"
         "and entries per business day with their change against the "
         "previous month\n"
         "(per_business_day, per_business_day_mom_change[_ratio]), so a "
         "month with fewer\n"
         "working days is not a worse month. Business days follow the "
         "tenant's calendar\n"
         "in the config (-c): calendar.weekend (default sat,sun) and "
         "calendar.holidays\n"
         "(default none), per tenant in [tenant.ID].\n"
         "Months are event-time months in the tenant's time zone; the current "
         "month is\n"
         "month to date. Default period: the last 3 months up to the current "
         "one.\n"
         "\n"
         "  --tenant T          tenant id (required)\n"
         "  --month YYYY-MM     one month\n"
         "  --from YYYY-MM      first month (default: 2 months before --to)\n"
         "  --to YYYY-MM        last month (default: the current month)\n"},
        {"channels", ctl_channels_check, ctl_channels_run,
         "usage: funnelctl channels --tenant T [--model M|all] [--month "
         "YYYY-MM]\n"
         "                          [--currency CUR] [--by channel|campaign]\n"
         "\n"
         "Attributed closed-won revenue per channel (or campaign) and "
         "attribution model,\n"
         "from P:{T}:revenue:<model>:<CUR>[:M], in minor units (cents), with "
         "each one's\n"
         "share of the total; table \"totals\" has deals, total, attributed "
         "and\n"
         "unattributed amounts. Currencies are found with SCAN. Spend "
         "(P:{T}:spend:<CUR>[:M])\n"
         "adds spend_minor, ROAS and ROI to the rows, and table \"costs\" "
         "the cost per\n"
         "lead, MQL, SQL and customer of the channels with spend.\n"
         "\n"
         "  --tenant T          tenant id (required)\n"
         "  --model M           first_touch, last_touch, linear, "
         "position_based,\n"
         "                      u_shaped, w_shaped, full_path, time_decay, "
         "j_shaped, inverse_j,\n"
         "                      custom (attribution.custom_weights) or all "
         "(default)\n"
         "  --month YYYY-MM     deals closed in that month (default: all "
         "time)\n"
         "  --currency CUR      one ISO 4217 currency (default: every one "
         "found)\n"
         "  --by channel|campaign  credit per channel (default) or campaign\n"},
        {"lead", ctl_lead_check, ctl_lead_run,
         "usage: funnelctl lead --tenant T LEAD_ID\n"
         "\n"
         "One lead's journey: its current state (stage, cycle, fit and "
         "engagement\n"
         "scores, source, persona, created/updated times), its stage entries "
         "in the\n"
         "current cycle (times in UTC, implied flags) and its touches: its "
         "own merged\n"
         "with those of every anonymous id stitched to it, de-duplicated by "
         "event id,\n"
         "in time order, with the journey milestones (lead_creation,\n"
         "opportunity_creation, closed_won). funneld keeps no score history: "
         "only the\n"
         "current scores are shown. Exit code 3 when the lead does not "
         "exist.\n"
         "\n"
         "  --tenant T          tenant id (required)\n"},
        {"status", ctl_status_check, ctl_status_run,
         "usage: funnelctl status [--group G]\n"
         "\n"
         "Processing state of a consumer group: per input partition the "
         "stored offset\n"
         "(P:offsets:G), the high watermark funneld last saw (P:watermarks:G; "
         "\"unknown\"\n"
         "when not recorded) and the lag; per partition pair the owner epoch "
         "and the\n"
         "outbox depth; the counters of P:stats:G, the DLQ reasons of "
         "P:stats:G:dlq\n"
         "and the layout in P:meta.\n"},
        {"trend", ctl_trend_check, ctl_trend_run,
         "usage: funnelctl trend --tenant T [--days N] [--until YYYY-MM-DD]\n"
         "\n"
         "Daily MQL and SQL entries from P:{T}:daily:mql and "
         "P:{T}:daily:sql for the N\n"
         "days ending on --until (table \"trend\": date, weekday, "
         "business_day, mql,\n"
         "sql) and their totals (table \"summary\": business days, entries "
         "per business\n"
         "day, sql per mql). Business days follow the tenant's calendar in "
         "the config\n"
         "(-c): calendar.weekend (default sat,sun) and calendar.holidays "
         "(default none).\n"
         "\n"
         "  --tenant T          tenant id (required)\n"
         "  --days N            number of days, 1 to 366 (default 30)\n"
         "  --until YYYY-MM-DD  last day (default: today in the tenant's "
         "time zone)\n"},
        {"cohorts", ctl_cohorts_check, ctl_cohorts_run,
         "usage: funnelctl cohorts --tenant T [--by lead|mql]\n"
         "                         [--month YYYY-MM | --from YYYY-MM --to "
         "YYYY-MM]\n"
         "\n"
         "Cohort conversion: per cohort month, the cohort's size and how many "
         "of its\n"
         "leads reached each later stage, whenever they did (also in later "
         "months),\n"
         "with the rate count/size. A lead cohort (--by lead, default) is the "
         "leads\n"
         "CREATED in the month (created_at, P:{T}:cohort:lead:M): size = "
         "leads, then\n"
         "mql, sql, opportunity, closed_won with rates, and closed_lost. An "
         "MQL cohort\n"
         "(--by mql, P:{T}:cohort:mql:M) is the leads whose MQL entry in "
         "their current\n"
         "lifecycle cycle fell in the month: size = MQLs, then sql, "
         "opportunity,\n"
         "closed_won with rates, and closed_lost. Table \"revenue\": the "
         "closed-won\n"
         "amounts of the cohort's leads per month and currency (every "
         "currency seen in\n"
         "the period), in minor units (cents), and per cohort member. "
         "Months are in the\n"
         "tenant's time zone; a missing month counts as zero. Younger "
         "cohorts have had\n"
         "less time to convert. Default period: the last 6 months up to the "
         "current one.\n"
         "\n"
         "  --tenant T          tenant id (required)\n"
         "  --by lead|mql       cohorts by creation month (default) or MQL "
         "month\n"
         "  --month YYYY-MM     one cohort month\n"
         "  --from YYYY-MM      first month (default: 5 months before --to)\n"
         "  --to YYYY-MM        last month (default: the current month)\n"},
        {"markov", ctl_markov_check, ctl_markov_run,
         "usage: funnelctl markov --tenant T [--month YYYY-MM]\n"
         "\n"
         "Data-driven attribution by a first-order Markov chain. Every lead "
         "that closes\n"
         "adds its journey (the channels of its touches in the lookback "
         "window, oldest\n"
         "first) to the transition counts P:{T}:markov (all time) and "
         "P:{T}:markov:M\n"
         "(closes in month M): start -> channels -> conversion when won, "
         "null when lost.\n"
         "Table \"markov\": per channel the removal effect (1 - P(conversion "
         "with the\n"
         "channel removed) / P(conversion)), computed exactly by absorbing-"
         "chain linear\n"
         "algebra (no simulation: the same counts always give the same "
         "numbers), its\n"
         "share of the sum of removal effects, and the conversion "
         "probability without\n"
         "it. Table \"summary\": journeys, conversions, P(conversion). Table "
         "\"revenue\":\n"
         "the period's won revenue per currency (P:{T}:sourcing[:M]) split "
         "by share.\n"
         "\n"
         "  --tenant T          tenant id (required)\n"
         "  --month YYYY-MM     journeys closed in that month (default: all "
         "time)\n"},
        {"pacing", ctl_pacing_check, ctl_pacing_run,
         "usage: funnelctl pacing --tenant T [--date YYYY-MM-DD]\n"
         "\n"
         "The tenant's revenue goal from the config (-c; keys goal.*) as a "
         "reverse\n"
         "funnel and its pacing. Table \"goal\": the period (goal.period: "
         "month, quarter\n"
         "or year) containing --date, its start and end, the target "
         "(goal.revenue_minor,\n"
         "minor units of goal.currency), the average deal and the rates, "
         "and the\n"
         "business days of the period, elapsed up to and including the "
         "date, and left.\n"
         "Table \"pacing\": per stage (lead when goal.lead_to_mql_pct is "
         "set, mql, sql,\n"
         "closed_won, revenue) required_period, rounded up at each step "
         "(wins =\n"
         "ceil(target / deal), sqls = ceil(wins * 100 / sql_to_won_pct), "
         "mqls =\n"
         "ceil(sqls * 100 / mql_to_sql_pct), leads likewise), "
         "required_to_date =\n"
         "required_period * elapsed / business days, actual_to_date, pace = "
         "actual /\n"
         "required to date, gap_to_date and per_business_day_needed for the "
         "rest of the\n"
         "period. Actual entries are P:{T}:monthly:<stage> summed over the "
         "period's\n"
         "months up to and including the date's month (its whole month, "
         "i.e. month to\n"
         "date as stored); won revenue is field total of\n"
         "P:{T}:revenue:<model>:<CUR>:<M> of the first model of "
         "attribution.models that\n"
         "has the key. Business days follow calendar.weekend and "
         "calendar.holidays.\n"
         "Exit 3 when the tenant has no goal.\n"
         "\n"
         "  --tenant T          tenant id (required)\n"
         "  --date YYYY-MM-DD   the day paced (default: today in the "
         "tenant's time zone)\n"},
        {"velocity", ctl_velocity_check, ctl_velocity_run,
         "usage: funnelctl velocity --tenant T [--by channel]\n"
         "\n"
         "Time in stage, from P:{T}:velocity:<stage> (all time): a stay is "
         "counted under\n"
         "the stage a lead left (entered in its current cycle, not implied), "
         "from its\n"
         "entry to the next stage entry. Table \"velocity\": per stage that "
         "can be left\n"
         "(lead, mql, sql, opportunity) count, sum_ms, mean_ms and "
         "mean_days (null\n"
         "without stays), the histogram bucket holding the median and the "
         "90th\n"
         "percentile (median_bucket, p90_bucket: e.g. le:7d, the first "
         "bucket whose\n"
         "running count reaches 50 % / 90 % of the stays) with its upper "
         "bound in ms\n"
         "(median_le_ms, p90_le_ms; null for le:inf), and the bucket counts "
         "le:1h, le:1d,\n"
         "le:3d, le:7d, le:14d, le:30d, le:60d, le:90d, le:inf (not "
         "cumulative).\n"
         "With --by channel: one row per stage and source channel "
         "(P:{T}:velocity:<stage>:\n"
         "channel:<ch>, every channel of P:{T}:dim:channel, by name).\n"
         "\n"
         "  --tenant T          tenant id (required)\n"
         "  --by channel        per source channel (default: per stage "
         "only)\n"},
        {"sourcing", ctl_sourcing_check, ctl_sourcing_run,
         "usage: funnelctl sourcing --tenant T [--month YYYY-MM | --from "
         "YYYY-MM --to YYYY-MM]\n"
         "\n"
         "Marketing-sourced and influenced deals per month, from "
         "P:{T}:sourcing:M. A won\n"
         "deal is sourced when the first touch of its journey in the "
         "lookback window is on\n"
         "a marketing channel, influenced when any touch is (all channels "
         "but\n"
         "attribution.non_marketing_channels). Table \"sourcing\": month, "
         "customers (won\n"
         "deals), sourced, sourced_share, influenced, influenced_share "
         "(shares of\n"
         "customers; null when there are none). Table "
         "\"sourcing_revenue\": per month and\n"
         "currency seen in the period revenue_minor, sourced_revenue_minor, "
         "influenced_\n"
         "revenue_minor (minor units) and their shares of revenue_minor. "
         "Table \"personas\":\n"
         "per month and persona the lead, mql and sql entries "
         "(P:{T}:monthly:<stage>:\n"
         "persona:M) with lead_to_mql = mql/lead and mql_to_sql = sql/mql "
         "(same month;\n"
         "null when the denominator is 0). Months are in the tenant's time "
         "zone. Default\n"
         "period: the last 3 months up to the current one.\n"
         "\n"
         "  --tenant T          tenant id (required)\n"
         "  --month YYYY-MM     one month\n"
         "  --from YYYY-MM      first month (default: 2 months before --to)\n"
         "  --to YYYY-MM        last month (default: the current month)\n"},
        {"visitors", ctl_visitors_check, ctl_visitors_run,
         "usage: funnelctl visitors --tenant T [--from YYYY-MM-DD] [--to "
         "YYYY-MM-DD]\n"
         "\n"
         "Unique visitors and visitor-to-lead conversion per day. Table "
         "\"visitors\": per\n"
         "day date, visitors (PFCOUNT of the HyperLogLog P:{T}:visitors:D: "
         "the anonymous\n"
         "ids of the day's LeadEvents; exact for small counts, standard "
         "error 0.81 %),\n"
         "leads (leads created that day, P:{T}:daily:lead) and "
         "visitor_to_lead =\n"
         "leads / visitors (null without visitors). Table "
         "\"visitors_period\": from, to,\n"
         "days, the period's unique visitors (one PFCOUNT over all its days: "
         "a union,\n"
         "not a sum), its leads and their conversion. Days are event-time "
         "days in the\n"
         "tenant's time zone; at most 366.\n"
         "\n"
         "  --tenant T          tenant id (required)\n"
         "  --from YYYY-MM-DD   first day (default: 6 days before --to)\n"
         "  --to YYYY-MM-DD     last day (default: today in the tenant's "
         "time zone)\n"},
        {"cold", ctl_cold_check, ctl_cold_run,
         "usage: funnelctl cold --tenant T [--month YYYY-MM] [--limit N] "
         "[--upcoming]\n"
         "\n"
         "Leads going cold: an MQL that stays past cold.mql_sla_hours or an "
         "SQL past\n"
         "cold.sql_days raises one alert. Table \"cold\": alerts per stage "
         "(mql, sql) from\n"
         "P:{T}:cold (all time) or P:{T}:cold:M (deadlines in month M, "
         "tenant time zone).\n"
         "Table \"cold_value\": per currency the value lost (minor units; "
         "only when the\n"
         "tenant's goal sets deal size and rates). Table \"cold_channels\": "
         "alerts per stage\n"
         "and source channel, most first, with their share of the stage's. "
         "Table\n"
         "\"cold_now\": per stage the leads cold now (ZCARD of "
         "P:{T}:cold:leads:<stage>), and\n"
         "\"cold_leads\" the --limit oldest of them: lead_id, deadline (ISO "
         "8601 in the\n"
         "tenant's time zone), deadline_ms, days_cold (whole days since the "
         "deadline).\n"
         "With --upcoming, table \"upcoming\": the tenant's pending "
         "deadlines, soonest\n"
         "first (lead_id, current stage, deadline, due_in_hours, clock, "
         "partition), read\n"
         "from the deadline sets P:due:G:<p> and P:due:wall:G:<p> of the "
         "partitions in\n"
         "P:offsets:G (G: --group or funneld.group.id), and "
         "\"upcoming_total\" their count.\n"
         "\n"
         "  --tenant T          tenant id (required)\n"
         "  --month YYYY-MM     alerts whose deadline fell in that month "
         "(default: all\n"
         "                      time; the leads cold now are listed "
         "whatever the month)\n"
         "  --limit N           leads listed per list, 0 to 1000 (default "
         "20)\n"
         "  --upcoming          also list the pending deadlines\n"},
};
#define COMMAND_CNT (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *fp)
{
        fprintf(fp,
                "usage: funnelctl [options] COMMAND [command options]\n"
                "\n"
                "Reads funneld's Redis keys (docs/REDIS.md) without writing; "
                "safe while\nfunneld runs.\n"
                "\n"
                "commands:\n"
                "  report     the funnel per month: entries, conversion, "
                "month over month,\n"
                "             per business day\n"
                "  channels   attributed revenue per channel and model\n"
                "  lead       one lead's journey\n"
                "  status     offsets, lag, outboxes, epochs, counters, DLQ\n"
                "  trend      daily MQL and SQL entries, business days "
                "flagged\n"
                "  cohorts    conversion and revenue of the leads created "
                "(or turned MQL)\n"
                "             in a month\n"
                "  markov     data-driven attribution: removal effect per "
                "channel\n"
                "  pacing     the revenue goal as a reverse funnel, actual "
                "against required\n"
                "             to date by business day\n"
                "  velocity   time in stage: mean, median and p90 buckets, "
                "per channel\n"
                "  sourcing   marketing-sourced and influenced customers and "
                "revenue per\n"
                "             month; lead, MQL and SQL entries per persona\n"
                "  visitors   unique visitors per day and period, "
                "visitor-to-lead conversion\n"
                "  cold       cold-lead alerts per stage, value and "
                "channel; the leads cold\n"
                "             now and those about to go cold\n"
                "\n%s",
                global_help);
}

static int usage_error(const char *fmt, const char *arg)
{
        fprintf(stderr, "funnelctl: ");
        fprintf(stderr, fmt, arg);
        fprintf(stderr, "; see funnelctl --help\n");
        return CTL_EXIT_USAGE;
}

typedef struct cli {
        const char *config, *redis, *prefix, *group, *format;
        int help, version;
        const char *args[4];
        int arg_cnt;
        ctl_opts opt;
} cli;

static int parse_cli(int argc, char **argv, cli *c)
{
        static const struct option opts[] = {
                {"config", required_argument, NULL, 'c'},
                {"redis", required_argument, NULL, 'r'},
                {"prefix", required_argument, NULL, 'p'},
                {"group", required_argument, NULL, 'g'},
                {"format", required_argument, NULL, 'f'},
                {"tenant", required_argument, NULL, 't'},
                {"month", required_argument, NULL, 'm'},
                {"from", required_argument, NULL, 'F'},
                {"to", required_argument, NULL, 'T'},
                {"model", required_argument, NULL, 'M'},
                {"currency", required_argument, NULL, 'C'},
                {"by", required_argument, NULL, 'b'},
                {"days", required_argument, NULL, 'd'},
                {"until", required_argument, NULL, 'u'},
                {"date", required_argument, NULL, 'D'},
                {"limit", required_argument, NULL, 'l'},
                {"upcoming", no_argument, NULL, 'U'},
                {"help", no_argument, NULL, 'h'},
                {"version", no_argument, NULL, 'V'},
                {NULL, 0, NULL, 0},
        };
        const char **slot[] = {
                ['c'] = &c->config,       ['r'] = &c->redis,
                ['p'] = &c->prefix,       ['g'] = &c->group,
                ['f'] = &c->format,       ['t'] = &c->opt.tenant,
                ['m'] = &c->opt.month,    ['F'] = &c->opt.from,
                ['T'] = &c->opt.to,       ['M'] = &c->opt.model,
                ['C'] = &c->opt.currency, ['b'] = &c->opt.by,
                ['d'] = &c->opt.days,     ['u'] = &c->opt.until,
                ['D'] = &c->opt.date,     ['l'] = &c->opt.limit,
        };
        int ch;
        opterr = 0;
        while ((ch = getopt_long(argc, argv, ":c:hV", opts, NULL)) != -1) {
                if (ch == 'h') {
                        c->help = 1;
                } else if (ch == 'U') {
                        c->opt.upcoming = "1";
                } else if (ch == 'V') {
                        c->version = 1;
                } else if (ch == '?' || ch == ':') {
                        return usage_error(ch == ':' ? "option %s needs a value"
                                                     : "unknown option %s",
                                           argv[optind - 1]);
                } else if (ch > 0 &&
                           (size_t)ch < sizeof(slot) / sizeof(*slot) &&
                           slot[ch]) {
                        *slot[ch] = optarg;
                }
        }
        for (; optind < argc; optind++) {
                if (c->arg_cnt == 3)
                        return usage_error("unexpected argument '%s'",
                                           argv[optind]);
                c->args[c->arg_cnt++] = argv[optind];
        }
        return CTL_EXIT_OK;
}

/* Applies the config file and the overrides. */
static fd_config *load_config(const cli *c)
{
        char errstr[4096];
        fd_config *conf =
                c->config ? fd_config_load(c->config, errstr, sizeof(errstr))
                          : fd_config_new_defaults();
        if (!conf) {
                fprintf(stderr, "funnelctl: cannot use config %s:\n%s\n",
                        c->config ? c->config : "(defaults)",
                        c->config ? errstr : "out of memory");
                return NULL;
        }
        if (c->redis && c->redis[0] == '/') { /* a Unix socket's path */
                char *path = strdup(c->redis);
                if (!path) {
                        fd_config_destroy(conf);
                        return NULL;
                }
                free(conf->redis_socket);
                conf->redis_socket = path;
        } else if (c->redis) {
                const char *colon = strrchr(c->redis, ':');
                char *end, *host;
                long port = colon ? strtol(colon + 1, &end, 10) : 0;
                if (!colon || colon == c->redis || *end || port < 1 ||
                    port > 65535 ||
                    !(host = strndup(c->redis, colon - c->redis))) {
                        fprintf(stderr,
                                "funnelctl: --redis '%s' is not HOST:PORT "
                                "(e.g. 127.0.0.1:6379) or the absolute path "
                                "of a Unix socket\n",
                                c->redis);
                        fd_config_destroy(conf);
                        return NULL;
                }
                free(conf->redis_host);
                conf->redis_host = host;
                conf->redis_port = (int)port;
                free(conf->redis_socket); /* HOST:PORT wins over the file */
                conf->redis_socket = NULL;
        }
        return conf;
}

static const ctl_command *find_command(const char *name)
{
        for (size_t i = 0; name && i < COMMAND_CNT; i++)
                if (!strcmp(commands[i].name, name))
                        return &commands[i];
        return NULL;
}

static int parse_format(const char *s, ctl_format *f)
{
        if (!s || !strcmp(s, "table"))
                *f = CTL_FMT_TABLE;
        else if (!strcmp(s, "json"))
                *f = CTL_FMT_JSON;
        else if (!strcmp(s, "csv"))
                *f = CTL_FMT_CSV;
        else
                return -1;
        return 0;
}

static int run(const cli *c, const ctl_command *cmd, ctl_format format)
{
        ctl_ctx *ctx = calloc(1, sizeof(*ctx));
        fd_config *conf = NULL;
        int rc = CTL_EXIT_RUNTIME;
        if (!ctx) {
                fprintf(stderr, "funnelctl: out of memory\n");
                return rc;
        }
        ctx->opt = c->opt;
        if (!strcmp(cmd->name, "lead") && c->arg_cnt > 1)
                ctx->opt.lead_id = c->args[1];
        if (c->arg_cnt > (strcmp(cmd->name, "lead") ? 1 : 2)) {
                rc = usage_error("unexpected argument '%s'",
                                 c->args[c->arg_cnt - 1]);
                goto done;
        }
        if ((ctx->opt.limit || ctx->opt.upcoming) &&
            cmd->check != ctl_cold_check) {
                rc = ctl_usage(ctx, "--limit and --upcoming are options of "
                                    "funnelctl cold only");
                goto fail;
        }
        if ((rc = cmd->check(ctx)) != CTL_EXIT_OK)
                goto fail;
        rc = CTL_EXIT_RUNTIME;
        if (!(conf = load_config(c)))
                goto done;
        ctx->conf = conf;
        ctx->prefix = c->prefix ? c->prefix : conf->redis_prefix;
        ctx->group = c->group ? c->group : conf->group_id;
        if ((cmd->check == ctl_report_check ||
             cmd->check == ctl_cohorts_check ||
             cmd->check == ctl_sourcing_check) &&
            cmd->check(ctx))
                goto fail; /* again: the current month needs the time zone */
        if (!(ctx->doc = ctl_doc_new(cmd->name))) {
                fprintf(stderr, "funnelctl: out of memory\n");
                goto done;
        }
        if (ctl_redis_connect(&ctx->redis, conf, ctx->prefix, ctx->errstr,
                              sizeof(ctx->errstr)))
                goto fail;
        ctx->prefix = ctx->redis.prefix; /* followed P:active */
        if (ctx->redis.group[0] && !c->group)
                ctx->group = ctx->redis.group;
        if ((rc = cmd->run(ctx)) != CTL_EXIT_OK)
                goto fail;
        if (ctl_doc_print(ctx->doc, format, stdout, ctx->errstr,
                          sizeof(ctx->errstr)) ||
            fflush(stdout)) {
                rc = CTL_EXIT_RUNTIME;
                goto fail;
        }
        goto done;
fail:
        fprintf(stderr, "funnelctl %s: %s\n", cmd->name,
                ctx->errstr[0] ? ctx->errstr : "failed");
        if (rc == CTL_EXIT_USAGE)
                fprintf(stderr, "see funnelctl %s --help\n", cmd->name);
done:
        ctl_redis_close(&ctx->redis);
        ctl_doc_destroy(ctx->doc);
        fd_config_destroy(conf);
        free(ctx);
        return rc;
}

int main(int argc, char **argv)
{
        cli c = {0};
        const ctl_command *cmd;
        ctl_format format;
        int rc = parse_cli(argc, argv, &c);
        if (rc)
                return rc;
        if (c.version) {
                printf("funnelctl %s\n", FUNNELD_VERSION);
                return CTL_EXIT_OK;
        }
        cmd = find_command(c.arg_cnt ? c.args[0] : NULL);
        if (c.help) {
                if (cmd)
                        printf("%s\n%s", cmd->help, global_help);
                else
                        usage(stdout);
                return CTL_EXIT_OK;
        }
        if (!c.arg_cnt) {
                usage(stderr);
                return CTL_EXIT_USAGE;
        }
        if (!cmd)
                return usage_error(
                        "unknown command '%s' (commands: report, "
                        "channels, lead, status, trend, cohorts, markov, "
                        "pacing, velocity, sourcing, visitors, cold)",
                        c.args[0]);
        if (parse_format(c.format, &format))
                return usage_error("--format '%s' is not table, json or csv",
                                   c.format);
        return run(&c, cmd, format);
}
