/* Unit tests of the config loader: defaults, the example files, every
 * validation error with its line, kafka pass-through, tenants, reference. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config_internal.h"
#include "fdtest.h"
#include "funneld/config.h"
#include "funneld/event.h"

#define DAY_MS INT64_C(86400000)

static char tmp_path[64];
static char err[4096];

/* Writes text to a new temp file and loads it; returns the config or NULL
 * with err set. The file is removed again. */
static fd_config *load_text(const char *text)
{
        int fd;
        fd_config *conf;

        strcpy(tmp_path, "/tmp/fdtest_config_XXXXXX");
        fd = mkstemp(tmp_path);
        if (fd < 0)
                return NULL;
        if (write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
                close(fd);
                unlink(tmp_path);
                return NULL;
        }
        close(fd);
        err[0] = '\0';
        conf = fd_config_load(tmp_path, err, sizeof(err));
        unlink(tmp_path);
        return conf;
}

/* Loads text, expects failure with "PATH:LINE: " + expected in err. */
static int expect_error(const char *text, int line, const char *expected)
{
        char want[1024];
        fd_config *conf = load_text(text);

        if (conf) {
                fd_config_destroy(conf);
                fprintf(stderr, "  loaded, expected error %s\n", expected);
                return 0;
        }
        snprintf(want, sizeof(want), "%s:%d: %s", tmp_path, line, expected);
        if (!strstr(err, want)) {
                fprintf(stderr, "  got:  %s\n  want: %s\n", err, want);
                return 0;
        }
        return 1;
}

static void test_defaults(void)
{
        fd_config *conf = fd_config_new_defaults();
        const fd_tenant_conf *tc;

        FD_CHECK(conf != NULL);
        if (!conf)
                return;
        FD_CHECK(conf->path == NULL);
        FD_CHECK_STR(conf->group_id, "funneld");
        FD_CHECK_STR(conf->topic_lead, "funnel.lead-events");
        FD_CHECK_STR(conf->topic_crm, "funnel.crm-events");
        FD_CHECK_STR(conf->topic_promotions, "funnel.promotions");
        FD_CHECK_STR(conf->topic_attribution, "funnel.attribution");
        FD_CHECK_STR(conf->topic_dlq, "funnel.dlq");
        FD_CHECK_STR(conf->redis_host, "127.0.0.1");
        FD_CHECK_INT(conf->redis_port, 6379);
        FD_CHECK(conf->redis_user == NULL && conf->redis_password == NULL);
        FD_CHECK_INT(conf->redis_db, 0);
        FD_CHECK_STR(conf->redis_prefix, "fd");
        FD_CHECK_STR(conf->schema_dir, "schemas");
        FD_CHECK_INT(conf->schema_id_cnt, 3);
        FD_CHECK_INT(conf->schema_ids[0].id, 1);
        FD_CHECK_INT(conf->schema_ids[0].kind, FD_EV_LEAD);
        FD_CHECK_STR(conf->schema_ids[0].path, "schemas/lead_event.avsc");
        FD_CHECK_INT(conf->schema_ids[1].id, 2);
        FD_CHECK_INT(conf->schema_ids[1].kind, FD_EV_CRM);
        FD_CHECK_STR(conf->schema_ids[1].path, "schemas/crm_stage_event.avsc");
        FD_CHECK_INT(conf->schema_ids[2].id, 5);
        FD_CHECK_INT(conf->schema_ids[2].kind, FD_EV_SPEND);
        FD_CHECK_STR(conf->schema_ids[2].path, "schemas/spend_event.avsc");
        FD_CHECK_STR(conf->topic_spend, "funnel.spend");
        FD_CHECK_STR(fd_config_topic(conf, FD_EV_SPEND), "funnel.spend");
        FD_CHECK(conf->plain_writer_lead == NULL);
        FD_CHECK(conf->plain_writer_crm == NULL);
        FD_CHECK_INT(conf->out_schema_id_promotion, 3);
        FD_CHECK_INT(conf->out_schema_id_attribution, 4);
        FD_CHECK_INT(conf->batch_max_events, 2000);
        FD_CHECK_INT(conf->batch_catchup_events, 8000);
        FD_CHECK_INT(conf->batch_max_ms, 5);
        FD_CHECK_INT(conf->max_task_idle_ms, 500);
        FD_CHECK_INT(conf->touch_max, 200);
        FD_CHECK_INT(conf->dedupe_window_ms, 7 * DAY_MS);
        FD_CHECK_INT(conf->max_message_bytes, 1048576);
        FD_CHECK_INT(conf->min_event_time_ms, INT64_C(946684800000));
        FD_CHECK_INT(conf->max_future_ms, DAY_MS);
        FD_CHECK_STR(conf->log_level, "info");
        FD_CHECK_INT(conf->model_cnt, FD_MODEL_BUILTIN_COUNT);
        for (size_t i = 0; i < conf->model_cnt; i++)
                FD_CHECK_INT(conf->models[i], i);
        FD_CHECK_INT(conf->kafka_cnt, 0);
        FD_CHECK_INT(conf->tenant_cnt, 0);
        tc = fd_config_tenant(conf, "anyone");
        FD_CHECK(tc == &conf->defaults);
        FD_CHECK(tc->tenant_id == NULL);
        FD_CHECK_STR(tc->timezone, "UTC");
        FD_CHECK_INT(tc->score.rule_cnt, 0);
        FD_CHECK_INT(tc->score.mql.min_fit, INT32_MIN);
        FD_CHECK_INT(tc->score.mql.min_engagement, INT32_MIN);
        FD_CHECK_INT(tc->score.mql.min_total, INT32_MIN);
        FD_CHECK_INT(tc->score.handraise_cnt, 2);
        FD_CHECK_STR(tc->score.handraise_types[0], "demo_request");
        FD_CHECK_STR(tc->score.handraise_types[1], "contact_sales");
        FD_CHECK_INT(tc->lifecycle.allow_recycle, 1);
        FD_CHECK_INT(tc->lifecycle.allow_reopen, 0);
        FD_CHECK_INT(tc->lookback_ms, 90 * DAY_MS);
        FD_CHECK_INT(tc->half_life_ms, 7 * DAY_MS);
        FD_CHECK_INT(tc->custom_weights.set, 0);
        fd_config_destroy(conf);
}

static const fd_score_rule *find_rule(const fd_score_model *m, const char *name)
{
        for (size_t i = 0; i < m->rule_cnt; i++) {
                if (strcmp(m->rules[i].name, name) == 0)
                        return &m->rules[i];
        }
        return NULL;
}

static void check_example(const char *file)
{
        char path[1024];
        const char *src = getenv("FUNNELD_SOURCE_DIR");
        fd_config *conf;
        const fd_tenant_conf *acme;
        const fd_score_rule *r;

        snprintf(path, sizeof(path), "%s/config/%s", src ? src : ".", file);
        conf = fd_config_load(path, err, sizeof(err));
        FD_CHECK(conf != NULL);
        if (!conf) {
                fprintf(stderr, "  %s\n", err);
                return;
        }
        FD_CHECK_INT(conf->kafka_cnt >= 1, 1);
        /* The demo embeds its Kafka unless brokers are configured. */
        FD_CHECK_STR(conf->kafka[0].key, strcmp(file, "demo.ini") == 0
                                                 ? "client.id"
                                                 : "bootstrap.servers");
        FD_CHECK_INT(conf->defaults.score.rule_cnt, 17);
        FD_CHECK_INT(conf->defaults.score.mql.min_fit, 20);
        FD_CHECK_INT(conf->defaults.score.mql.min_engagement, 25);
        FD_CHECK_INT(conf->defaults.score.mql.min_total, INT32_MIN);
        r = find_rule(&conf->defaults.score, "pricing_page");
        FD_CHECK(r && r->points == 10 && r->cap == 30 &&
                 r->kind == FD_SCORE_ENGAGEMENT);
        r = find_rule(&conf->defaults.score, "title_c_level");
        FD_CHECK(r && r->match == FD_MATCH_REGEX && r->cap == 20);
        r = find_rule(&conf->defaults.score, "unsubscribe");
        FD_CHECK(r && r->points == -15 && r->cap == 0);
        acme = fd_config_tenant(conf, "acme");
        FD_CHECK(acme != &conf->defaults);
        FD_CHECK_STR(acme->tenant_id, "acme");
        FD_CHECK_STR(acme->timezone, "America/New_York");
        FD_CHECK_INT(acme->score.mql.min_fit, 25);
        FD_CHECK_INT(acme->score.mql.min_engagement, 40);
        FD_CHECK_INT(acme->lookback_ms, 120 * DAY_MS);
        FD_CHECK_INT(acme->half_life_ms, 7 * DAY_MS);
        FD_CHECK_INT(acme->score.rule_cnt, conf->defaults.score.rule_cnt);
        FD_CHECK_INT(acme->score.handraise_cnt, 2);
        fd_config_destroy(conf);
}

static void test_example_files_load(void)
{
        check_example("funneld.example.ini");
        check_example("demo.ini");
}

static void test_error_unknown_key(void)
{
        FD_CHECK(expect_error("timezone = UTC\n\n[redis]\nhots = x\n", 4,
                              "unknown key 'redis.hots' (did you mean "
                              "'redis.host'?); known keys are listed by "
                              "'funneld --config-reference'"));
        FD_CHECK(expect_error("[redis]\nhost = x\n[log]\ntimezone = UTC\n", 4,
                              "unknown key 'log.timezone': 'timezone' is a "
                              "top-level key"));
        FD_CHECK(expect_error("[tenant.a]\nredis.host = x\n", 2,
                              "key 'redis.host' cannot be set per tenant"));
        FD_CHECK(expect_error("[tenant.a]\nmql.min_fitt = 3\n", 2,
                              "unknown key 'tenant.a.mql.min_fitt' (did you "
                              "mean 'mql.min_fit'?)"));
        FD_CHECK(expect_error("[rule.x]\nkind = fit\npoint = 3\n", 3,
                              "rule 'x': unknown key 'point' (did you mean "
                              "'points'?)"));
}

static void test_error_bad_values(void)
{
        FD_CHECK(expect_error("# c\n[processing]\nbatch.max_events = abc\n", 3,
                              "key 'processing.batch.max_events' must be an "
                              "integer between 1 and 100000, got 'abc'"));
        FD_CHECK(expect_error("processing.batch.max_events = 100001\n", 1,
                              "key 'processing.batch.max_events' must be an "
                              "integer between 1 and 100000, got '100001'"));
        FD_CHECK(expect_error("\n[processing]\ndedupe_window_days = 3\n", 3,
                              "key 'processing.dedupe_window_days' must be an "
                              "integer between 7 and 3650 (days), got '3'"));
        FD_CHECK(expect_error("[processing]\nmin_event_time = 2001-02-29\n", 2,
                              "key 'processing.min_event_time' must be a "
                              "date YYYY-MM-DD"));
        FD_CHECK(expect_error("[lifecycle]\nallow_reopen = maybe\n", 2,
                              "key 'lifecycle.allow_reopen' must be true or "
                              "false, got 'maybe'"));
        FD_CHECK(expect_error("[log]\nlevel = loud\n", 2,
                              "key 'log.level' must be one of "
                              "debug,info,warn,error, got 'loud'"));
        FD_CHECK(expect_error("[redis]\nhost =\n", 2,
                              "key 'redis.host' has an empty value"));
        FD_CHECK(expect_error("[schemas]\nid.5 = schemas/x.avsc\n", 2,
                              "key 'schemas.id.5' must be 'lead:PATH', "
                              "'crm:PATH' or 'spend:PATH'"));
        {
                fd_config *off = load_text("[topics]\nspend = off\n");
                FD_CHECK(off && fd_config_topic(off, FD_EV_SPEND) == NULL);
                fd_config_destroy(off);
        }
}

static void test_error_models_timezone(void)
{
        FD_CHECK(expect_error("[attribution]\nmodels = linear, markov\n", 2,
                              "key 'attribution.models': unknown model "
                              "'markov'"));
        FD_CHECK(expect_error("[attribution]\nmodels = linear,linear\n", 2,
                              "key 'attribution.models' lists model "
                              "'linear' twice"));
        FD_CHECK(expect_error("timezone = Mars/Olympus\n", 1,
                              "key 'timezone': unknown time zone "
                              "'Mars/Olympus'"));
        FD_CHECK(expect_error("[tenant.t]\n\ntimezone = Europe/Nowhere\n", 3,
                              "tenant 't': key 'timezone': unknown time "
                              "zone 'Europe/Nowhere'"));
}

/* All rule regexes of a file together may compile to 10000 nodes: 10
 * rules of 1000 load (a, then 999 copies), the 11th is refused at its
 * value's line. */
static void test_error_regex_budget(void)
{
        char text[2048];
        size_t len = 0, len10 = 0;
        fd_config *conf;

        for (int i = 1; i <= 11; i++) {
                len10 = len;
                len += (size_t)snprintf(text + len, sizeof(text) - len,
                                        "[rule.r%d]\nkind = fit\n"
                                        "attribute = t\nmatch = regex\n"
                                        "value = a{999}\npoints = 5\n",
                                        i);
        }
        FD_CHECK(len < sizeof(text));
        FD_CHECK(expect_error(text, 10 * 6 + 5,
                              "rule 'r11': regex 'a{999}' takes the regexes "
                              "of this file past 10000 nodes in all"));
        text[len10] = '\0';
        conf = load_text(text);
        FD_CHECK(conf != NULL);
        if (conf) {
                FD_CHECK_INT(conf->defaults.score.rule_cnt, 10);
                fd_config_destroy(conf);
        }
}

static void test_error_rules(void)
{
        FD_CHECK(expect_error("[rule.a]\nkind = fit\nattribute = job_title\n"
                              "match = regex\nvalue = ([a-z\npoints = 5\n",
                              5, "rule 'a': regex '([a-z' does not compile"));
        FD_CHECK(expect_error("[rule.a]\nkind = fit\nattribute = t\n"
                              "match = regex\nvalue = ((a{99}){99}){99}\n"
                              "points = 5\n",
                              5,
                              "rule 'a': regex '((a{99}){99}){99}' is too "
                              "large: it compiles to more than 1000 nodes"));
        FD_CHECK(expect_error("[rule.a]\nkind = fit\nattribute = t\n"
                              "match = regex\nvalue = (a+)\\1\npoints = 5\n",
                              5,
                              "rule 'a': regex '(a+)\\1' uses a "
                              "back-reference"));
        FD_CHECK(expect_error("[rule.a]\nkind = fit\nattribute = t\n"
                              "match = regex\nvalue = x(a?){3}\npoints = 5\n",
                              5,
                              "rule 'a': regex 'x(a?){3}' repeats something "
                              "that can match the empty string"));
        FD_CHECK(expect_error("[mql]\nmin_fit = 1\n\n[rule.b]\n"
                              "kind = engagement\nevent_type = page_view\n",
                              4,
                              "rule 'b' has no 'points'; add for example "
                              "'points = 5'"));
        FD_CHECK(expect_error("[rule.c]\nkind = fit\npoints = 0\n", 3,
                              "rule 'c': key 'points' must be a non-zero "
                              "integer between -10000 and 10000, got '0'"));
        FD_CHECK(expect_error("[rule.d]\npoints = 2\n", 1,
                              "rule 'd' has no 'kind'"));
        FD_CHECK(expect_error("[rule.e]\nkind = fit\npoints = 2\n"
                              "attribute = industry\n",
                              4, "rule 'e' sets 'attribute' but no 'match'"));
        FD_CHECK(expect_error("[rule.f]\nkind = fit\npoints = 2\n"
                              "attribute = industry\nmatch = set\n"
                              "value = saas\n",
                              6,
                              "rule 'f' has 'match = set', which takes "
                              "'values = a,b,c'"));
        FD_CHECK(expect_error("[rule.g]\nkind = fit\npoints = 2\n"
                              "match = exact\n",
                              4, "rule 'g' sets 'match' but no 'attribute'"));
        FD_CHECK(expect_error("[tenant.t.rule.h]\nkind = fitness\n", 2,
                              "rule 'h': key 'kind' must be fit or "
                              "engagement, got 'fitness'"));
        FD_CHECK(expect_error("[rule.bad name]\nkind = fit\n", 2,
                              "key 'rule.bad name.kind' is not a rule key"));
}

static void test_error_duplicate_and_syntax(void)
{
        FD_CHECK(expect_error("[redis]\nport = 1\nhost = h\nport = 2\n", 4,
                              "key 'redis.port' is set twice, on line 2 and "
                              "on line 4; keep one of the two lines"));
        FD_CHECK(expect_error("redis.port = 1\n[redis]\nport = 2\n", 3,
                              "key 'redis.port' is set twice, on line 1"));
        FD_CHECK(expect_error("[redis]\nthis is not a key\n", 2,
                              "expected 'key = value'"));
        FD_CHECK(expect_error("[redis\nport = 1\n", 1,
                              "section header without ']'"));
        FD_CHECK(expect_error("[handraise]\ntypes = demo_request\n"
                              "   contact_sales\n",
                              3,
                              "this indented line continues the value of "
                              "'handraise.types' from line 2"));
}

static void test_all_errors_reported_in_line_order(void)
{
        char want[256];
        fd_config *conf = load_text("[rule.r]\nkind = fit\n[redis]\n"
                                    "port = x\nbogus = 1\n");

        FD_CHECK(conf == NULL);
        fd_config_destroy(conf);
        snprintf(want, sizeof(want), "%s:1: rule 'r' has no 'points'",
                 tmp_path);
        FD_CHECK(strncmp(err, want, strlen(want)) == 0);
        snprintf(want, sizeof(want), "\n%s:4: key 'redis.port'", tmp_path);
        FD_CHECK(strstr(err, want) != NULL);
        snprintf(want, sizeof(want), "\n%s:5: unknown key 'redis.bogus'",
                 tmp_path);
        FD_CHECK(strstr(err, want) != NULL);
        FD_CHECK(strstr(err, ":4:") < strstr(err, ":5:"));
}

static void test_error_missing_file(void)
{
        fd_config *conf =
                fd_config_load("/nonexistent/funneld.ini", err, sizeof(err));

        FD_CHECK(conf == NULL);
        FD_CHECK(strstr(err, "/nonexistent/funneld.ini: cannot open the "
                             "config file") == err);
}

static void test_kafka_pass_through(void)
{
        fd_config *conf = load_text("kafka.bootstrap.servers = b:9092\n"
                                    "[kafka]\nclient.id = me\n"
                                    "sasl.mechanisms = PLAIN\n"
                                    "[redis]\nport = 7000\n"
                                    "[kafka.ssl]\nca.location = \"/x y\"\n");

        FD_CHECK(conf != NULL);
        if (!conf) {
                fprintf(stderr, "  %s\n", err);
                return;
        }
        FD_CHECK_INT(conf->kafka_cnt, 4);
        FD_CHECK_STR(conf->kafka[0].key, "bootstrap.servers");
        FD_CHECK_STR(conf->kafka[0].value, "b:9092");
        FD_CHECK_STR(conf->kafka[1].key, "client.id");
        FD_CHECK_STR(conf->kafka[1].value, "me");
        FD_CHECK_STR(conf->kafka[2].key, "sasl.mechanisms");
        FD_CHECK_STR(conf->kafka[3].key, "ssl.ca.location");
        FD_CHECK_STR(conf->kafka[3].value, "/x y");
        FD_CHECK_INT(conf->redis_port, 7000);
        FD_CHECK_STR(conf->path, tmp_path);
        fd_config_destroy(conf);
        FD_CHECK(expect_error("[kafka]\nclient.id =\n", 2,
                              "kafka key 'kafka.client.id' needs"));
}

static void test_schema_ids(void)
{
        fd_config *conf = load_text("[schemas]\nid.7 = crm:/abs/crm.avsc\n"
                                    "id.9 = lead:rel/lead.avsc\n");

        FD_CHECK(conf != NULL);
        if (!conf)
                return;
        FD_CHECK_INT(conf->schema_id_cnt, 2);
        FD_CHECK_INT(conf->schema_ids[0].id, 7);
        FD_CHECK_INT(conf->schema_ids[0].kind, FD_EV_CRM);
        FD_CHECK_STR(conf->schema_ids[0].path, "/abs/crm.avsc");
        FD_CHECK_INT(conf->schema_ids[1].id, 9);
        FD_CHECK_INT(conf->schema_ids[1].kind, FD_EV_LEAD);
        FD_CHECK_STR(conf->schema_ids[1].path, "rel/lead.avsc");
        fd_config_destroy(conf);
}

static const char tenant_text[] = "[tenant.t1]\n"
                                  "mql.min_fit = 5\n"
                                  "[tenant.t2]\n"
                                  "timezone = Europe/Berlin\n"
                                  "handraise.types = quote_request\n"
                                  "[tenant.t2.rule.own]\n"
                                  "kind = engagement\n"
                                  "event_type = webinar_attended\n"
                                  "points = 4\n"
                                  "[mql]\n"
                                  "min_engagement = 30\n"
                                  "[lifecycle]\n"
                                  "allow_reopen = yes\n"
                                  "[rule.g1]\n"
                                  "kind = fit\n"
                                  "attribute = job_title\n"
                                  "match = regex\n"
                                  "value = ^vp\n"
                                  "points = -7\n"
                                  "[rule.g2]\n"
                                  "kind = engagement\n"
                                  "points = 1\n"
                                  "cap = -3\n";

static void test_tenant_inheritance(void)
{
        fd_config *conf = load_text(tenant_text);
        const fd_tenant_conf *t1, *t2, *d;

        FD_CHECK(conf != NULL);
        if (!conf) {
                fprintf(stderr, "  %s\n", err);
                return;
        }
        d = &conf->defaults;
        t1 = fd_config_tenant(conf, "t1");
        t2 = fd_config_tenant(conf, "t2");
        FD_CHECK_INT(conf->tenant_cnt, 2);
        FD_CHECK(fd_config_tenant(conf, "t3") == d);
        FD_CHECK(fd_config_tenant(conf, NULL) == d);
        FD_CHECK_INT(d->score.mql.min_fit, INT32_MIN);
        FD_CHECK_INT(d->score.mql.min_engagement, 30);
        FD_CHECK_INT(d->lifecycle.allow_reopen, 1);
        FD_CHECK_INT(d->score.rule_cnt, 2);
        FD_CHECK_INT(d->score.rules[0].cap, 7); /* fit default |points| */
        FD_CHECK_INT(d->score.rules[1].cap, 3); /* |cap| */
        /* t1: own min_fit, the rest inherited although set later */
        FD_CHECK_STR(t1->timezone, "UTC");
        FD_CHECK_INT(t1->score.mql.min_fit, 5);
        FD_CHECK_INT(t1->score.mql.min_engagement, 30);
        FD_CHECK_INT(t1->lifecycle.allow_reopen, 1);
        FD_CHECK_INT(t1->score.handraise_cnt, 2);
        FD_CHECK_INT(t1->score.rule_cnt, 2);
        FD_CHECK(t1->score.rules != d->score.rules);
        FD_CHECK_STR(t1->score.rules[0].name, "g1");
        FD_CHECK_INT(t1->score.rules[0].match, FD_MATCH_REGEX);
        FD_CHECK_STR(t1->score.rules[0].values[0], "^vp");
        /* the copy shares the defaults' compiled regex */
        FD_CHECK(t1->score.rules[0].rx == d->score.rules[0].rx);
        FD_CHECK_INT(d->score.rules[0].rx->refs, 2);
        /* t2: own time zone, hand-raise list and rules */
        FD_CHECK_STR(t2->timezone, "Europe/Berlin");
        FD_CHECK_INT(t2->score.mql.min_fit, INT32_MIN);
        FD_CHECK_INT(t2->score.mql.min_engagement, 30);
        FD_CHECK_INT(t2->score.handraise_cnt, 1);
        FD_CHECK_STR(t2->score.handraise_types[0], "quote_request");
        FD_CHECK_INT(t2->score.rule_cnt, 1);
        FD_CHECK_STR(t2->score.rules[0].name, "own");
        FD_CHECK_INT(t2->score.rules[0].cap, 0);
        FD_CHECK_INT(t2->lookback_ms, 90 * DAY_MS);
        fd_config_destroy(conf);
}

static void test_rule_fields(void)
{
        fd_config *conf = load_text("[rule.size]\nkind = fit\n"
                                    "attribute = company_size\nmatch = set\n"
                                    "values = 51-200 , 201-1000,1000+\n"
                                    "points = 10\ncap = 0\n"
                                    "[rule.t]\nkind = fit\n"
                                    "attribute = job_title\n"
                                    "match = contains\nvalue = VP\n"
                                    "points = 3\n");
        const fd_score_rule *r;

        FD_CHECK(conf != NULL);
        if (!conf)
                return;
        r = &conf->defaults.score.rules[0];
        FD_CHECK_STR(r->name, "size");
        FD_CHECK_INT(r->kind, FD_SCORE_FIT);
        FD_CHECK(r->event_type == NULL);
        FD_CHECK_STR(r->attr, "company_size");
        FD_CHECK_INT(r->match, FD_MATCH_SET);
        FD_CHECK_INT(r->value_cnt, 3);
        FD_CHECK_STR(r->values[0], "51-200");
        FD_CHECK_STR(r->values[2], "1000+");
        FD_CHECK_INT(r->cap, 0); /* explicit 0: no cap */
        r = &conf->defaults.score.rules[1];
        FD_CHECK_INT(r->match, FD_MATCH_CONTAINS);
        FD_CHECK_INT(r->value_cnt, 1);
        FD_CHECK_STR(r->values[0], "VP");
        FD_CHECK_INT(r->cap, 3);
        fd_config_destroy(conf);
}

static void test_reference_lists_every_key(void)
{
        char *buf = NULL, pat[128];
        size_t len = 0;
        FILE *fp = open_memstream(&buf, &len);

        FD_CHECK(fp != NULL);
        if (!fp)
                return;
        fd_config_print_reference(fp);
        fclose(fp);
        for (size_t i = 0; i < fd_cfg_key_cnt; i++) {
                snprintf(pat, sizeof(pat), "| `%s` |", fd_cfg_keys[i].name);
                if (!strstr(buf, pat)) {
                        fprintf(stderr, "  missing %s\n", pat);
                        FD_CHECK(0);
                }
        }
        for (size_t i = 0; i < fd_rule_key_cnt; i++) {
                snprintf(pat, sizeof(pat), "| `%s` |", fd_rule_key_names[i]);
                FD_CHECK(strstr(buf, pat) != NULL);
        }
        FD_CHECK(strstr(buf, "| `kafka.*` |") != NULL);
        FD_CHECK(strstr(buf, "| `schemas.id.N` |") != NULL);
        FD_CHECK(strstr(buf, "| `processing.batch.max_events` | integer | "
                             "`2000` | 1 .. 100000 |") != NULL);
        FD_CHECK(strstr(buf, "## Tenants") != NULL);
        FD_CHECK(strstr(buf, "`mql.min_total`") != NULL);
        free(buf);
}

/* SIGHUP may change rules and tenant settings, not Kafka/Redis/topics. */
static void test_restart_diff(void)
{
        const char *base = "[topics]\ndlq = d1\n[kafka]\nacks = all\n"
                           "[mql]\nmin_fit = 5\n[rule.a]\nkind = fit\n"
                           "attribute = x\nmatch = exact\nvalue = y\n"
                           "points = 3\n";
        char diff[512];
        fd_config *a = load_text(base);
        fd_config *same = load_text(base);
        fd_config *rules = load_text(
                "timezone = Europe/Berlin\n[topics]\ndlq = d1\n[kafka]\n"
                "acks = all\n[log]\n"
                "level = debug\n[attribution]\nmodels = linear\n"
                "[mql]\nmin_fit = 9\n");
        fd_config *infra =
                load_text("[topics]\ndlq = d2\n[kafka]\nacks = 1\n[redis]\n"
                          "port = 7000\n[mql]\nmin_fit = 5\n");

        FD_CHECK(a && same && rules && infra);
        if (a && same && rules && infra) {
                FD_CHECK_INT(
                        fd_config_restart_diff(a, same, diff, sizeof(diff)), 0);
                FD_CHECK_STR(diff, "");
                FD_CHECK_INT(
                        fd_config_restart_diff(a, rules, diff, sizeof(diff)),
                        0);
                FD_CHECK_INT(
                        fd_config_restart_diff(a, infra, diff, sizeof(diff)),
                        3);
                FD_CHECK_STR(diff, "topics.dlq, redis.port, kafka.*");
        }
        fd_config_destroy(a);
        fd_config_destroy(same);
        fd_config_destroy(rules);
        fd_config_destroy(infra);
}

static void test_calendar(void)
{
        static const char text[] = "[calendar]\n"
                                   "weekend = sun, Saturday\n"
                                   "holidays = 2026-12-25, 2026-01-01 ,"
                                   "2026-12-24\n"
                                   "[tenant.gulf]\n"
                                   "calendar.weekend = fri,sat\n"
                                   "[tenant.open]\n"
                                   "calendar.weekend = none\n"
                                   "calendar.holidays = none\n";
        fd_config *conf = load_text(text), *def = fd_config_new_defaults();
        const fd_tenant_conf *d, *gulf, *open;

        FD_CHECK(def != NULL);
        if (def) {
                FD_CHECK_INT(def->defaults.calendar.weekend,
                             FD_WEEKEND_DEFAULT);
                FD_CHECK_INT(def->defaults.calendar.holiday_cnt, 0);
                fd_config_destroy(def);
        }
        FD_CHECK(conf != NULL);
        if (!conf) {
                fprintf(stderr, "  %s\n", err);
                return;
        }
        d = &conf->defaults;
        gulf = fd_config_tenant(conf, "gulf");
        open = fd_config_tenant(conf, "open");
        FD_CHECK_INT(d->calendar.weekend, FD_WEEKEND_DEFAULT);
        FD_CHECK_INT(d->calendar.holiday_cnt, 3);
        if (d->calendar.holiday_cnt == 3) { /* sorted */
                FD_CHECK_INT(d->calendar.holidays[0],
                             fd_days_from_civil(2026, 1, 1));
                FD_CHECK_INT(d->calendar.holidays[1],
                             fd_days_from_civil(2026, 12, 24));
                FD_CHECK_INT(d->calendar.holidays[2],
                             fd_days_from_civil(2026, 12, 25));
        }
        FD_CHECK_INT(fd_business_days_in_month(&d->calendar, 2026, 12), 21);
        /* gulf: own weekend, the default holidays (a copy) */
        FD_CHECK_INT(gulf->calendar.weekend, (1 << 5) | (1 << 6));
        FD_CHECK_INT(gulf->calendar.holiday_cnt, 3);
        FD_CHECK(gulf->calendar.holidays != d->calendar.holidays);
        FD_CHECK_INT(fd_business_days_in_month(&gulf->calendar, 2026, 2), 20);
        /* 23 days that are not Fri/Sat, minus Dec 24 (Thu); Dec 25 is a
         * Friday: weekend anyway */
        FD_CHECK_INT(fd_business_days_in_month(&gulf->calendar, 2026, 12), 22);
        /* open: every day counts */
        FD_CHECK_INT(open->calendar.weekend, 0);
        FD_CHECK_INT(open->calendar.holiday_cnt, 0);
        FD_CHECK_INT(fd_business_days_in_month(&open->calendar, 2026, 2), 28);
        fd_config_destroy(conf);

        /* a reload with another tenant calendar is not a restart change */
        conf = load_text("[tenant.gulf]\ncalendar.weekend = fri,sat\n");
        def = load_text("[tenant.gulf]\ncalendar.weekend = thu,fri\n");
        FD_CHECK(conf && def);
        if (conf && def) {
                char out[256];
                FD_CHECK_INT(
                        fd_config_restart_diff(conf, def, out, sizeof(out)), 0);
        }
        fd_config_destroy(conf);
        fd_config_destroy(def);
}

static void test_error_calendar(void)
{
        FD_CHECK(expect_error("[calendar]\nweekend = sat,sunday,funday\n", 2,
                              "key 'calendar.weekend': unknown weekday "
                              "'funday'; use mon, tue"));
        FD_CHECK(expect_error("[calendar]\nweekend = sat,,sun\n", 2,
                              "key 'calendar.weekend' must be a comma list "
                              "of weekdays"));
        FD_CHECK(expect_error("[calendar]\nweekend = sat,Sat\n", 2,
                              "key 'calendar.weekend' lists weekday 'Sat' "
                              "twice"));
        FD_CHECK(expect_error("[calendar]\nweekend = mon,tue,wed,thu,fri,sat,"
                              "sun\n",
                              2,
                              "key 'calendar.weekend' makes all seven days "
                              "weekend days"));
        FD_CHECK(expect_error("[calendar]\nholidays = 2026-12-25,2026-02-30\n",
                              2,
                              "key 'calendar.holidays': '2026-02-30' is not "
                              "a date; write each date as YYYY-MM-DD"));
        FD_CHECK(expect_error("[calendar]\nholidays = 25.12.2026\n", 2,
                              "key 'calendar.holidays': '25.12.2026' is not "
                              "a date"));
        FD_CHECK(expect_error("[calendar]\nholidays = 2026-12-25, "
                              "2026-12-25\n",
                              2,
                              "key 'calendar.holidays' lists date "
                              "2026-12-25 twice"));
        FD_CHECK(expect_error("[calendar]\nholidays = 2026-12-25,\n", 2,
                              "key 'calendar.holidays' must be a comma list "
                              "of dates"));
        FD_CHECK(expect_error("[tenant.t]\n\n\ncalendar.weekend = sa\n", 4,
                              "tenant 't': key 'calendar.weekend': unknown "
                              "weekday 'sa'"));
        FD_CHECK(expect_error("[tenant.t]\ncalendar.holidays = 2026-13-01\n", 2,
                              "tenant 't': key 'calendar.holidays': "
                              "'2026-13-01' is not a date"));
}

static void test_goal(void)
{
        static const char text[] = "[goal]\n"
                                   "period = quarter\n"
                                   "revenue_minor = 1000000000\n"
                                   "deal_size_minor = 5000000\n"
                                   "sql_to_won_pct = 25\n"
                                   "mql_to_sql_pct = 20\n"
                                   "[tenant.eu]\n"
                                   "goal.currency = EUR\n"
                                   "goal.lead_to_mql_pct = 10\n"
                                   "[tenant.big]\n"
                                   "goal.period = year\n"
                                   "goal.revenue_minor = 2000000000\n";
        fd_config *conf = load_text(text), *def = fd_config_new_defaults();
        const fd_tenant_conf *d, *eu, *big;

        FD_CHECK(def != NULL);
        if (def) { /* no goal by default */
                const fd_goal *g = &def->defaults.goal;
                FD_CHECK_STR(g->period, "month");
                FD_CHECK_STR(g->currency, "USD");
                FD_CHECK(g->revenue_minor == 0 && g->deal_size_minor == 0);
                FD_CHECK_INT(g->sql_to_won_pct, INT32_MIN);
                FD_CHECK_INT(g->mql_to_sql_pct, INT32_MIN);
                FD_CHECK_INT(g->lead_to_mql_pct, INT32_MIN);
        }
        fd_config_destroy(def);
        FD_CHECK(conf != NULL);
        if (!conf) {
                fprintf(stderr, "  %s\n", err);
                return;
        }
        d = fd_config_tenant(conf, "other");
        eu = fd_config_tenant(conf, "eu");
        big = fd_config_tenant(conf, "big");
        FD_CHECK_STR(d->goal.period, "quarter");
        FD_CHECK(d->goal.revenue_minor == INT64_C(1000000000));
        FD_CHECK(d->goal.deal_size_minor == INT64_C(5000000));
        FD_CHECK_INT(d->goal.sql_to_won_pct, 25);
        FD_CHECK_INT(d->goal.mql_to_sql_pct, 20);
        FD_CHECK_INT(d->goal.lead_to_mql_pct, INT32_MIN);
        FD_CHECK_STR(d->goal.currency, "USD");
        /* a tenant inherits what it does not set */
        FD_CHECK_STR(eu->goal.currency, "EUR");
        FD_CHECK_INT(eu->goal.lead_to_mql_pct, 10);
        FD_CHECK_STR(eu->goal.period, "quarter");
        FD_CHECK(eu->goal.revenue_minor == INT64_C(1000000000));
        FD_CHECK(eu->goal.currency != d->goal.currency);
        FD_CHECK_STR(big->goal.period, "year");
        FD_CHECK(big->goal.revenue_minor == INT64_C(2000000000));
        FD_CHECK_INT(big->goal.mql_to_sql_pct, 20);
        FD_CHECK_STR(big->goal.currency, "USD");
        fd_config_destroy(conf);
}

static void test_error_goal(void)
{
        FD_CHECK(expect_error("[goal]\nperiod = week\n", 2,
                              "key 'goal.period' must be one of "
                              "month,quarter,year, got 'week'"));
        FD_CHECK(expect_error("[goal]\nrevenue_minor = 0\n", 2,
                              "key 'goal.revenue_minor' must be an integer "
                              "between 1 and 1000000000000000"));
        FD_CHECK(expect_error("[goal]\n\ndeal_size_minor = 50k\n", 3,
                              "key 'goal.deal_size_minor' must be an "
                              "integer"));
        FD_CHECK(expect_error("[goal]\nsql_to_won_pct = 101\n", 2,
                              "key 'goal.sql_to_won_pct' must be an integer "
                              "between 1 and 100, got '101'"));
        FD_CHECK(expect_error("[goal]\nmql_to_sql_pct = 0\n", 2,
                              "key 'goal.mql_to_sql_pct' must be an integer "
                              "between 1 and 100"));
        FD_CHECK(expect_error("[goal]\nlead_to_mql_pct = 12.5\n", 2,
                              "key 'goal.lead_to_mql_pct' must be an integer "
                              "between 1 and 100"));
        FD_CHECK(expect_error("[goal]\ncurrency = usd\n", 2,
                              "key 'goal.currency' must be an ISO 4217 "
                              "currency code of three capital letters"));
        FD_CHECK(expect_error("[tenant.t]\ngoal.currency = EURO\n", 2,
                              "tenant 't': key 'goal.currency' must be an "
                              "ISO 4217 currency code"));
        /* a target without the deal size and rates: on the target's line */
        FD_CHECK(expect_error("[goal]\ncurrency = EUR\nrevenue_minor = 100\n"
                              "sql_to_won_pct = 25\n",
                              3,
                              "goal.revenue_minor is set but "
                              "goal.deal_size_minor, goal.mql_to_sql_pct are "
                              "not; set them too"));
        FD_CHECK(expect_error("[goal]\ndeal_size_minor = 5\n"
                              "sql_to_won_pct = 25\n[tenant.t]\n\n"
                              "goal.revenue_minor = 100\n",
                              6,
                              "tenant 't': goal.revenue_minor is set but "
                              "goal.mql_to_sql_pct is not; set it too"));
}

/* attribution.custom_weights: global, per tenant, inherited; custom in
 * attribution.models. */
static void test_custom_weights(void)
{
        fd_config *conf = load_text(
                "[attribution]\n"
                "models = all, custom\n"
                "custom_weights = first:30, lead_creation:20,"
                "opportunity_creation : 20,last:20,spread:10\n"
                "[tenant.t1]\n"
                "attribution.custom_weights = FIRST:22.5,lead_creation:22.5,"
                "opportunity_creation:22.5,closed_won:22.5,spread:10\n"
                "[tenant.t2]\n"
                "timezone = UTC\n"
                "[tenant.t3]\n"
                "attribution.custom_weights = last:33.33,first:33.33,"
                "spread:33.34\n");
        const fd_tenant_conf *d, *t1, *t2, *t3;

        FD_CHECK(conf != NULL);
        if (!conf) {
                fprintf(stderr, "  %s\n", err);
                return;
        }
        FD_CHECK_INT(conf->model_cnt, FD_MODEL_BUILTIN_COUNT + 1);
        for (size_t i = 0; i < conf->model_cnt; i++)
                FD_CHECK_INT(conf->models[i], i);
        d = &conf->defaults;
        t1 = fd_config_tenant(conf, "t1");
        t2 = fd_config_tenant(conf, "t2");
        t3 = fd_config_tenant(conf, "t3");
        FD_CHECK_INT(d->custom_weights.set, 1);
        FD_CHECK_INT(d->custom_weights.bp[FD_MS_FIRST], 3000);
        FD_CHECK_INT(d->custom_weights.bp[FD_MS_LEAD_CREATION], 2000);
        FD_CHECK_INT(d->custom_weights.bp[FD_MS_OPPORTUNITY_CREATION], 2000);
        FD_CHECK_INT(d->custom_weights.bp[FD_MS_CLOSED_WON], 0);
        FD_CHECK_INT(d->custom_weights.bp[FD_MS_LAST], 2000);
        FD_CHECK_INT(d->custom_weights.bp[FD_MS_SPREAD], 1000);
        FD_CHECK_INT(t1->custom_weights.set, 1);
        FD_CHECK_INT(t1->custom_weights.bp[FD_MS_FIRST], 2250);
        FD_CHECK_INT(t1->custom_weights.bp[FD_MS_CLOSED_WON], 2250);
        FD_CHECK_INT(t1->custom_weights.bp[FD_MS_LAST], 0);
        FD_CHECK_INT(t1->custom_weights.bp[FD_MS_SPREAD], 1000);
        /* t2 sets none: inherits the [attribution] weights */
        FD_CHECK(memcmp(&t2->custom_weights, &d->custom_weights,
                        sizeof(d->custom_weights)) == 0);
        FD_CHECK_INT(t3->custom_weights.bp[FD_MS_FIRST], 3333);
        FD_CHECK_INT(t3->custom_weights.bp[FD_MS_LAST], 3333);
        FD_CHECK_INT(t3->custom_weights.bp[FD_MS_SPREAD], 3334);
        FD_CHECK_INT(t3->custom_weights.bp[FD_MS_LEAD_CREATION], 0);
        fd_config_destroy(conf);

        /* custom alone, and custom before built-in models: listed order */
        conf = load_text("[attribution]\nmodels = custom, linear\n"
                         "custom_weights = spread:100\n");
        FD_CHECK(conf && conf->model_cnt == 2 &&
                 conf->models[0] == FD_MODEL_CUSTOM &&
                 conf->models[1] == FD_MODEL_LINEAR);
        fd_config_destroy(conf);
}

static void test_error_custom_weights(void)
{
        FD_CHECK(expect_error(
                "[attribution]\nmodels = all, custom\n"
                "custom_weights = first:30,lead_creation:20,last:20,"
                "spread:10\n",
                3,
                "key 'attribution.custom_weights': the weights add up to 80 "
                "%, not 100 %; change them so that they sum to exactly 100 "
                "(for example first:30,lead_creation:20,"
                "opportunity_creation:20,last:20,spread:10)"));
        FD_CHECK(expect_error("[attribution]\nmodels = all, custom\n"
                              "custom_weights = first:50.5,last:50\n",
                              3,
                              "key 'attribution.custom_weights': the "
                              "weights add up to 100.5 %, not 100 %"));
        FD_CHECK(expect_error(
                "[attribution]\nmodels = all, custom\n"
                "custom_weights = first:30,middle:20,last:50\n",
                3,
                "key 'attribution.custom_weights': unknown milestone "
                "'middle'; use first, lead_creation, opportunity_creation, "
                "closed_won, last or spread, for example first:30,"
                "lead_creation:20,opportunity_creation:20,last:20,spread:10"));
        FD_CHECK(expect_error("[attribution]\nmodels = all, custom\n"
                              "custom_weights = first:110,last:-10\n",
                              3,
                              "key 'attribution.custom_weights': the weight "
                              "of 'first' ('110') is not a percentage from 0 "
                              "to 100 with at most two decimals; write for "
                              "example first:22.5"));
        FD_CHECK(expect_error("[attribution]\nmodels = all, custom\n"
                              "custom_weights = last:-10,first:110\n",
                              3,
                              "key 'attribution.custom_weights': the weight "
                              "of 'last' is negative ('-10'); write a "
                              "percentage from 0 to 100 with at most two "
                              "decimals, for example last:22.5"));
        FD_CHECK(expect_error("[attribution]\nmodels = all, custom\n"
                              "custom_weights = first:33.333,last:66.667\n",
                              3,
                              "key 'attribution.custom_weights': the weight "
                              "of 'first' ('33.333') is not a percentage"));
        FD_CHECK(expect_error("[attribution]\nmodels = all, custom\n"
                              "custom_weights = first:50,first:50\n",
                              3,
                              "key 'attribution.custom_weights' lists "
                              "milestone 'first' twice; list each "
                              "milestone once"));
        FD_CHECK(expect_error("[attribution]\nmodels = all, custom\n"
                              "custom_weights = first=50,last=50\n",
                              3,
                              "key 'attribution.custom_weights': "
                              "'first=50' is not MILESTONE:PERCENT; write "
                              "a comma list such as first:30,"));
        FD_CHECK(expect_error("[tenant.t9]\n"
                              "attribution.custom_weights = first:100,"
                              "spread:1\n",
                              2,
                              "tenant 't9': key "
                              "'attribution.custom_weights': the weights "
                              "add up to 101 %, not 100 %"));
        /* custom listed without weights */
        FD_CHECK(expect_error("[attribution]\nmodels = linear, custom\n"
                              "[tenant.t1]\n"
                              "attribution.custom_weights = first:100\n",
                              2,
                              "attribution.models lists custom but "
                              "attribution.custom_weights is not set; set "
                              "it in [attribution] (the weights of tenants "
                              "that do not set their own), for example "
                              "custom_weights = first:30,lead_creation:20,"
                              "opportunity_creation:20,last:20,spread:10, "
                              "or remove custom from attribution.models"));
        /* weights without custom (all does not include it) */
        FD_CHECK(expect_error("[attribution]\n"
                              "custom_weights = first:100\n",
                              2,
                              "attribution.custom_weights is set but "
                              "attribution.models does not list custom, so "
                              "the weights would not be used; add custom to "
                              "attribution.models (for example models = "
                              "all, custom: 'all' is the ten built-in "
                              "models) or remove the weights"));
        FD_CHECK(expect_error("[attribution]\nmodels = linear\n"
                              "[tenant.t1]\n"
                              "attribution.custom_weights = first:100\n",
                              4,
                              "tenant 't1': attribution.custom_weights is "
                              "set but attribution.models does not list "
                              "custom"));
        FD_CHECK(expect_error("[attribution]\nmodels = all, linear\n", 2,
                              "key 'attribution.models' lists model "
                              "'linear' twice; list each model once ('all' "
                              "is the ten built-in models, without "
                              "custom)"));
        FD_CHECK(expect_error("[attribution]\nmodels = all, custom, all\n", 2,
                              "key 'attribution.models' lists 'all' twice; "
                              "write it once"));
        FD_CHECK(expect_error("[attribution]\nmodels = customized\n", 2,
                              "key 'attribution.models': unknown model "
                              "'customized'; use 'all' or a comma list of "
                              "first_touch, last_touch, linear, "
                              "position_based, u_shaped, w_shaped, "
                              "full_path, time_decay, j_shaped, inverse_j, "
                              "custom"));
}

int main(void)
{
        FD_RUN(test_defaults);
        FD_RUN(test_example_files_load);
        FD_RUN(test_error_unknown_key);
        FD_RUN(test_error_bad_values);
        FD_RUN(test_error_models_timezone);
        FD_RUN(test_error_rules);
        FD_RUN(test_error_regex_budget);
        FD_RUN(test_error_duplicate_and_syntax);
        FD_RUN(test_all_errors_reported_in_line_order);
        FD_RUN(test_error_missing_file);
        FD_RUN(test_kafka_pass_through);
        FD_RUN(test_schema_ids);
        FD_RUN(test_tenant_inheritance);
        FD_RUN(test_rule_fields);
        FD_RUN(test_reference_lists_every_key);
        FD_RUN(test_restart_diff);
        FD_RUN(test_calendar);
        FD_RUN(test_error_calendar);
        FD_RUN(test_goal);
        FD_RUN(test_error_goal);
        FD_RUN(test_custom_weights);
        FD_RUN(test_error_custom_weights);
        return FD_DONE();
}
