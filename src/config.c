/* funneld — configuration loader: an INI file read with inih, every key
 * checked against the settings table (config_table.c), scoring rules
 * assembled per section (config_rules.c), errors reported with file and
 * line. */
#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "config_internal.h"
#include "funneld/event.h"

#define MAX_ERRORS 30

typedef struct cfg_err {
        int line;
        size_t seq;
        char *msg;
} cfg_err;

typedef struct seen_key {
        char *key;
        int line;
} seen_key;

typedef struct rule_list {
        fd_rule_build *v;
        size_t cnt;
} rule_list;

typedef struct tenant_build {
        fd_tenant_conf conf;
        unsigned char *set; /* fd_cfg_key_cnt flags: key set in the file */
        rule_list rules;
} tenant_build;

typedef struct loader {
        const char *path;
        FILE *fp;
        char *buf;
        size_t buf_cap;
        int line;         /* physical line inih is processing */
        int section_line; /* line of the last [section] header */
        int indented;     /* the current line starts with white space */
        char *prev_key;   /* last full key and its line */
        int prev_line;
        fd_config *conf;
        seen_key *seen;
        size_t seen_cnt;
        rule_list rules;
        tenant_build *tenants;
        size_t tenant_cnt;
        int schema_ids_set;
        size_t regex_budget; /* rule regex nodes left to compile */
        cfg_err *errs;
        size_t err_cnt;
        size_t err_total;
} loader;

static void add_error(loader *ld, int line, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/* Appends a copy of the formatted message to ld->errs (owned by ld). */
static void add_error(loader *ld, int line, const char *fmt, ...)
{
        char msg[512];
        va_list ap;
        cfg_err *errs;

        ld->err_total++;
        if (ld->err_cnt >= MAX_ERRORS)
                return;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        errs = realloc(ld->errs, (ld->err_cnt + 1) * sizeof(*errs));
        if (!errs)
                return;
        ld->errs = errs;
        errs[ld->err_cnt].line = line;
        errs[ld->err_cnt].seq = ld->err_total;
        errs[ld->err_cnt].msg = strdup(msg);
        if (errs[ld->err_cnt].msg)
                ld->err_cnt++;
}

static int has_error_on(const loader *ld, int line)
{
        for (size_t i = 0; i < ld->err_cnt; i++) {
                if (ld->errs[i].line == line)
                        return 1;
        }
        return 0;
}

/* Flags lines inih would reject, so that every one is reported, not only
 * the first. */
static void check_syntax(loader *ld, const char *p)
{
        if (*p == '[' && !strchr(p, ']'))
                add_error(ld, ld->line,
                          "section header without ']'; write it as "
                          "'[section]'");
        else if (*p && *p != '[' && *p != ';' && *p != '#' && !ld->indented &&
                 !strchr(p, '=') && !strchr(p, ':'))
                add_error(ld, ld->line,
                          "expected 'key = value', '[section]' or a comment "
                          "(';' or '#'), got '%.40s'; fix or remove the line",
                          p);
}

/* inih's reader: one physical line per call, so inih's line count and ours
 * agree, and the handler knows the line it is called for. */
static char *read_line(char *str, int num, void *stream)
{
        loader *ld = stream;
        ssize_t n = getline(&ld->buf, &ld->buf_cap, ld->fp);
        const char *p;

        if (n < 0)
                return NULL;
        ld->line++;
        while (n && (ld->buf[n - 1] == '\n' || ld->buf[n - 1] == '\r'))
                ld->buf[--n] = '\0';
        if (n > num - 3) {
                add_error(ld, ld->line,
                          "line is longer than %d characters; shorten it",
                          num - 3);
                strcpy(str, "\n");
                return str;
        }
        memcpy(str, ld->buf, (size_t)n);
        strcpy(str + n, "\n");
        for (p = ld->buf; *p == ' ' || *p == '\t'; p++)
                ;
        ld->indented = p != ld->buf && *p && *p != ';' && *p != '#';
        if (*p == '[')
                ld->section_line = ld->line;
        check_syntax(ld, p);
        return str;
}

/* Records a copy of key (owned by ld) as seen; reports it when it was already
 * set. 0 if new. */
static int note_key(loader *ld, const char *key)
{
        seen_key *seen;

        for (size_t i = 0; i < ld->seen_cnt; i++) {
                if (strcmp(ld->seen[i].key, key) == 0) {
                        add_error(ld, ld->line,
                                  "key '%s' is set twice, on line %d and on "
                                  "line %d; keep one of the two lines",
                                  key, ld->seen[i].line, ld->line);
                        return -1;
                }
        }
        seen = realloc(ld->seen, (ld->seen_cnt + 1) * sizeof(*seen));
        if (!seen)
                return -1;
        ld->seen = seen;
        seen[ld->seen_cnt].key = strdup(key);
        seen[ld->seen_cnt].line = ld->line;
        if (!seen[ld->seen_cnt].key)
                return -1;
        ld->seen_cnt++;
        return 0;
}

static void unknown_key(loader *ld, const char *key, int tenant_only)
{
        const char *cands[64];
        size_t n = 0;
        const char *near;
        const char *tail = tenant_only ? strchr(key + 7, '.') : NULL;
        const char *name = tail ? tail + 1 : key;
        const char *last = strrchr(key, '.');

        if (!tenant_only && last && fd_cfg_key_find(last + 1)) {
                add_error(ld, ld->line,
                          "unknown key '%s': '%s' is a top-level key; move "
                          "the line before the first [section] of the file",
                          key, last + 1);
                return;
        }

        for (size_t i = 0; i < fd_cfg_key_cnt && n < 64; i++) {
                if (!tenant_only || fd_cfg_keys[i].tenant)
                        cands[n++] = fd_cfg_keys[i].name;
        }
        near = fd_cfg_closest(name, cands, n);
        add_error(ld, ld->line,
                  "unknown key '%s'%s%s%s; known keys are listed by "
                  "'funneld --config-reference'",
                  key, near ? " (did you mean '" : "", near ? near : "",
                  near ? "'?)" : "");
}

/* Appends copies of key (prefix stripped) and value to conf->kafka. */
static void kafka_key(loader *ld, const char *key, const char *value)
{
        fd_config *conf = ld->conf;
        fd_kv *kv;

        if (!key[6] || !*value) {
                add_error(ld, ld->line,
                          "kafka key '%s' needs a librdkafka property name "
                          "and a value, as in 'kafka.bootstrap.servers = "
                          "localhost:9092'",
                          key);
                return;
        }
        kv = realloc(conf->kafka, (conf->kafka_cnt + 1) * sizeof(*kv));
        if (!kv)
                return;
        conf->kafka = kv;
        kv[conf->kafka_cnt].key = strdup(key + 6);
        kv[conf->kafka_cnt].value = strdup(value);
        conf->kafka_cnt++;
        if (!kv[conf->kafka_cnt - 1].key || !kv[conf->kafka_cnt - 1].value)
                add_error(ld, ld->line, "out of memory");
}

/* Appends schema id key with a copy of its path to conf->schema_ids. */
static void schema_key(loader *ld, const char *key, const char *value)
{
        fd_config *conf = ld->conf;
        int64_t id;
        int kind = strncmp(value, "lead:", 5) == 0    ? FD_EV_LEAD
                   : strncmp(value, "crm:", 4) == 0   ? FD_EV_CRM
                   : strncmp(value, "spend:", 6) == 0 ? FD_EV_SPEND
                                                      : FD_EV_NONE;
        const char *path = strchr(value, ':') ? strchr(value, ':') + 1 : "";
        fd_schema_ref *ids;

        if (fd_cfg_parse_i64(key + 11, &id) < 0 || id < 1 || id > INT32_MAX) {
                add_error(ld, ld->line,
                          "key '%s': the schema id after 'schemas.id.' must "
                          "be an integer between 1 and 2147483647",
                          key);
                return;
        }
        if (kind == FD_EV_NONE || !*path) {
                add_error(ld, ld->line,
                          "key '%s' must be 'lead:PATH', 'crm:PATH' or "
                          "'spend:PATH' (the kind of event and its writer "
                          "schema file), got "
                          "'%s'",
                          key, value);
                return;
        }
        if (!ld->schema_ids_set) {
                /* the built-in ids apply only when the file sets none */
                for (size_t i = 0; i < conf->schema_id_cnt; i++)
                        free(conf->schema_ids[i].path);
                conf->schema_id_cnt = 0;
                ld->schema_ids_set = 1;
        }
        for (size_t i = 0; i < conf->schema_id_cnt; i++) {
                if (conf->schema_ids[i].id == id) {
                        add_error(ld, ld->line,
                                  "schema id %d is set twice; keep one of "
                                  "the two lines",
                                  (int)id);
                        return;
                }
        }
        ids = realloc(conf->schema_ids,
                      (conf->schema_id_cnt + 1) * sizeof(*ids));
        if (!ids)
                return;
        conf->schema_ids = ids;
        ids[conf->schema_id_cnt].id = (int32_t)id;
        ids[conf->schema_id_cnt].kind = kind;
        ids[conf->schema_id_cnt].path = strdup(path);
        conf->schema_id_cnt++;
        if (!ids[conf->schema_id_cnt - 1].path)
                add_error(ld, ld->line, "out of memory");
}

static int name_ok(const char *s, size_t n)
{
        if (!n)
                return 0;
        for (size_t i = 0; i < n; i++) {
                if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '-')
                        return 0;
        }
        return 1;
}

/* rest is "NAME.KEY" of a rule in list (which owns the rule builders it
 * grows); full is the whole key, section inih's section. */
static void rule_key(loader *ld, rule_list *list, const char *section,
                     const char *full, const char *rest, const char *value)
{
        const char *dot = strchr(rest, '.');
        size_t name_len = dot ? (size_t)(dot - rest) : strlen(rest);
        size_t prefix_len = (size_t)(rest - full) + name_len;
        fd_rule_build *rb = NULL, *v;
        char name[128], err[512] = "";

        if (!dot || !dot[1] || name_len >= sizeof(name) ||
            !name_ok(rest, name_len)) {
                add_error(ld, ld->line,
                          "key '%s' is not a rule key; write rules as a "
                          "section '[rule.NAME]' (NAME of letters, digits, "
                          "'_' and '-') with keys kind, points, ...",
                          full);
                return;
        }
        memcpy(name, rest, name_len);
        name[name_len] = '\0';
        for (size_t i = 0; i < list->cnt && !rb; i++) {
                if (strcmp(list->v[i].name, name) == 0)
                        rb = &list->v[i];
        }
        if (!rb) {
                int at_section = strlen(section) == prefix_len &&
                                 strncmp(section, full, prefix_len) == 0;

                v = realloc(list->v, (list->cnt + 1) * sizeof(*v));
                if (!v)
                        return;
                list->v = v;
                rb = &v[list->cnt];
                if (fd_rule_build_init(rb, name,
                                       at_section ? ld->section_line
                                                  : ld->line) < 0)
                        return;
                list->cnt++;
        }
        if (fd_rule_build_set(rb, dot + 1, value, ld->line, err, sizeof(err)) <
            0)
                add_error(ld, ld->line, "%s", *err ? err : "out of memory");
}

/* The builder of tenant id (id_len bytes), created in ld->tenants (owned
 * by ld) on first use; NULL when out of memory. */
static tenant_build *tenant_get(loader *ld, const char *id, size_t id_len)
{
        tenant_build *tb;

        for (size_t i = 0; i < ld->tenant_cnt; i++) {
                tb = &ld->tenants[i];
                if (strlen(tb->conf.tenant_id) == id_len &&
                    strncmp(tb->conf.tenant_id, id, id_len) == 0)
                        return tb;
        }
        tb = realloc(ld->tenants, (ld->tenant_cnt + 1) * sizeof(*tb));
        if (!tb)
                return NULL;
        ld->tenants = tb;
        tb = &tb[ld->tenant_cnt];
        memset(tb, 0, sizeof(*tb));
        tb->conf.tenant_id = strndup(id, id_len);
        tb->set = calloc(fd_cfg_key_cnt, 1);
        if (!tb->conf.tenant_id || !tb->set) {
                free(tb->conf.tenant_id);
                free(tb->set);
                return NULL;
        }
        ld->tenant_cnt++;
        return tb;
}

/* Applies "tenant.ID.KEY" to that tenant's builder (values owned by it). */
static void tenant_key(loader *ld, const char *section, const char *key,
                       const char *value)
{
        const char *id = key + 7, *dot = strchr(id, '.');
        const fd_cfg_key *def;
        tenant_build *tb;
        char err[512] = "";

        if (!dot || dot == id || !dot[1]) {
                add_error(ld, ld->line,
                          "key '%s' names no tenant setting; write "
                          "'[tenant.ID]' followed by keys such as "
                          "'timezone = UTC'",
                          key);
                return;
        }
        tb = tenant_get(ld, id, (size_t)(dot - id));
        if (!tb)
                return;
        if (strncmp(dot + 1, "rule.", 5) == 0) {
                rule_key(ld, &tb->rules, section, key, dot + 6, value);
                return;
        }
        def = fd_cfg_key_find(dot + 1);
        if (!def) {
                unknown_key(ld, key, 1);
                return;
        }
        if (!def->tenant) {
                add_error(ld, ld->line,
                          "key '%s' cannot be set per tenant; move it out of "
                          "[tenant.%s] (tenants may set timezone, mql.*, "
                          "handraise.types, lifecycle.*, "
                          "attribution.lookback_days, "
                          "attribution.half_life_days, "
                          "attribution.custom_weights, calendar.*, goal.* "
                          "and rules)",
                          def->name, tb->conf.tenant_id);
                return;
        }
        if (fd_cfg_key_apply(def, &tb->conf, value, err, sizeof(err)) < 0) {
                add_error(ld, ld->line, "tenant '%s': %s", tb->conf.tenant_id,
                          err);
                return;
        }
        tb->set[def - fd_cfg_keys] = 1;
}

static void table_key(loader *ld, const char *key, const char *value)
{
        const fd_cfg_key *def = fd_cfg_key_find(key);
        char err[512] = "";
        void *base;

        if (!def) {
                unknown_key(ld, key, 0);
                return;
        }
        base = def->tenant ? (void *)&ld->conf->defaults : (void *)ld->conf;
        if (fd_cfg_key_apply(def, base, value, err, sizeof(err)) < 0)
                add_error(ld, ld->line, "%s", err);
}

/* The value without one pair of surrounding double quotes, copied into the
 * caller's buf; or value itself when it is not quoted. */
static const char *unquote(const char *value, char *buf, size_t size)
{
        size_t n = strlen(value);

        if (n < 2 || value[0] != '"' || value[n - 1] != '"' || n - 1 > size)
                return value;
        memcpy(buf, value + 1, n - 2);
        buf[n - 2] = '\0';
        return buf;
}

static int on_value(void *user, const char *section, const char *name,
                    const char *raw)
{
        loader *ld = user;
        char key[256], vbuf[256];
        const char *value = unquote(raw, vbuf, sizeof(vbuf));
        int n = snprintf(key, sizeof(key), "%s%s%s", section,
                         *section ? "." : "", name);

        if (n < 0 || (size_t)n >= sizeof(key)) {
                add_error(ld, ld->line, "key '%.60s...' is too long", key);
                return 1;
        }
        if (ld->indented && ld->prev_key && strcmp(ld->prev_key, key) == 0) {
                add_error(ld, ld->line,
                          "this indented line continues the value of '%s' "
                          "from line %d; remove the indentation or join the "
                          "value into one line",
                          key, ld->prev_line);
                return 1;
        }
        free(ld->prev_key);
        ld->prev_key = strdup(key);
        ld->prev_line = ld->line;
        if (note_key(ld, key) < 0)
                return 1;
        if (strncmp(key, "kafka.", 6) == 0)
                kafka_key(ld, key, value);
        else if (strncmp(key, "schemas.id.", 11) == 0)
                schema_key(ld, key, value);
        else if (strncmp(key, "rule.", 5) == 0)
                rule_key(ld, &ld->rules, section, key, key + 5, value);
        else if (strncmp(key, "tenant.", 7) == 0)
                tenant_key(ld, section, key, value);
        else
                table_key(ld, key, value);
        return 1;
}

/* Builds model->rules (a new array, owned by model) from the rule sections
 * in list. */
static void finish_rules(loader *ld, const rule_list *list,
                         fd_score_model *model)
{
        char err[512];
        int line;

        if (!list->cnt)
                return;
        model->rules = calloc(list->cnt, sizeof(*model->rules));
        if (!model->rules)
                return;
        for (size_t i = 0; i < list->cnt; i++) {
                fd_score_rule *out = &model->rules[model->rule_cnt];

                err[0] = '\0';
                if (fd_rule_build_finish(&list->v[i], out, &ld->regex_budget,
                                         &line, err, sizeof(err)) < 0)
                        add_error(ld, line, "%s", err);
                else
                        model->rule_cnt++;
        }
}

/* Moves the tenant builders into conf->tenants (a new array owned by conf).
 * Completes each tenant: unset keys inherit the top-level values, and
 * without rules of its own a tenant gets a copy of the default rules. */
static int finish_tenants(loader *ld)
{
        fd_config *conf = ld->conf;

        conf->tenants = calloc(ld->tenant_cnt ? ld->tenant_cnt : 1,
                               sizeof(*conf->tenants));
        if (!conf->tenants)
                return -1;
        for (size_t t = 0; t < ld->tenant_cnt; t++) {
                tenant_build *tb = &ld->tenants[t];
                fd_tenant_conf *tc = &conf->tenants[t];

                *tc = tb->conf;
                memset(&tb->conf, 0, sizeof(tb->conf));
                conf->tenant_cnt++;
                for (size_t i = 0; i < fd_cfg_key_cnt; i++) {
                        if (fd_cfg_keys[i].tenant && !tb->set[i] &&
                            fd_cfg_key_copy(&fd_cfg_keys[i], tc,
                                            &conf->defaults) < 0)
                                return -1;
                }
                if (tb->rules.cnt)
                        finish_rules(ld, &tb->rules, &tc->score);
                else if (fd_score_model_copy_rules(&tc->score,
                                                   &conf->defaults.score) < 0)
                        return -1;
        }
        return 0;
}

/* Releases the rule builders of list and the array. */
static void rule_list_clear(rule_list *list)
{
        for (size_t i = 0; i < list->cnt; i++)
                fd_rule_build_clear(&list->v[i]);
        free(list->v);
        list->v = NULL;
        list->cnt = 0;
}

/* Releases everything the loader holds (not ld->conf). */
static void loader_clear(loader *ld)
{
        for (size_t i = 0; i < ld->seen_cnt; i++)
                free(ld->seen[i].key);
        free(ld->seen);
        for (size_t i = 0; i < ld->tenant_cnt; i++) {
                tenant_build *tb = &ld->tenants[i];

                for (size_t k = 0; k < fd_cfg_key_cnt; k++) {
                        if (fd_cfg_keys[k].tenant)
                                fd_cfg_key_free(&fd_cfg_keys[k], &tb->conf);
                }
                free(tb->conf.tenant_id);
                free(tb->set);
                rule_list_clear(&tb->rules);
        }
        free(ld->tenants);
        rule_list_clear(&ld->rules);
        for (size_t i = 0; i < ld->err_cnt; i++)
                free(ld->errs[i].msg);
        free(ld->errs);
        free(ld->prev_key);
        free(ld->buf);
}

static int err_cmp(const void *a, const void *b)
{
        const cfg_err *x = a, *y = b;

        if (x->line != y->line)
                return x->line < y->line ? -1 : 1;
        return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Writes the errors, sorted by line, one per line, to errstr. */
static void format_errors(loader *ld, char *errstr, size_t errstr_size)
{
        size_t used = 0;

        if (!errstr_size)
                return;
        errstr[0] = '\0';
        qsort(ld->errs, ld->err_cnt, sizeof(*ld->errs), err_cmp);
        for (size_t i = 0; i < ld->err_cnt && used < errstr_size; i++) {
                int n = snprintf(errstr + used, errstr_size - used,
                                 "%s%s:%d: %s", i ? "\n" : "", ld->path,
                                 ld->errs[i].line, ld->errs[i].msg);
                if (n < 0)
                        break;
                used += (size_t)n;
        }
        if (ld->err_total > ld->err_cnt && used < errstr_size)
                snprintf(errstr + used, errstr_size - used,
                         "\n%s: %zu more errors not shown; fix the ones "
                         "above first",
                         ld->path, ld->err_total - ld->err_cnt);
}

/* Allocates conf->schema_ids with the built-in ids (owned by conf). */
static int add_default_schema_ids(fd_config *conf)
{
        static const struct {
                int32_t id;
                int kind;
                const char *path;
        } defs[] = {{1, FD_EV_LEAD, "schemas/lead_event.avsc"},
                    {2, FD_EV_CRM, "schemas/crm_stage_event.avsc"},
                    {5, FD_EV_SPEND, "schemas/spend_event.avsc"}};
        size_t n = sizeof(defs) / sizeof(defs[0]);

        conf->schema_ids = calloc(n, sizeof(*conf->schema_ids));
        if (!conf->schema_ids)
                return -1;
        for (size_t i = 0; i < n; i++) {
                conf->schema_ids[i].id = defs[i].id;
                conf->schema_ids[i].kind = defs[i].kind;
                conf->schema_ids[i].path = strdup(defs[i].path);
                conf->schema_id_cnt++;
                if (!conf->schema_ids[i].path)
                        return -1;
        }
        return 0;
}

/* Returns a new config with the built-in defaults; caller destroys it. */
fd_config *fd_config_new_defaults(void)
{
        fd_config *conf = calloc(1, sizeof(*conf));

        if (!conf)
                return NULL;
        for (size_t i = 0; i < fd_cfg_key_cnt; i++) {
                const fd_cfg_key *key = &fd_cfg_keys[i];
                void *base =
                        key->tenant ? (void *)&conf->defaults : (void *)conf;

                if (fd_cfg_key_reset(key, base) < 0)
                        goto fail;
        }
        if (add_default_schema_ids(conf) < 0)
                goto fail;
        return conf;
fail:
        fd_config_destroy(conf);
        return NULL;
}

/* The line where key (the full name, "tenant.ID.x" for a tenant's) was
 * set, or 0 when it was not. */
static int key_line(const loader *ld, const char *key)
{
        for (size_t i = 0; i < ld->seen_cnt; i++)
                if (strcmp(ld->seen[i].key, key) == 0)
                        return ld->seen[i].line;
        return 0;
}

/* A revenue goal needs the average deal and the SQL and MQL rates to be
 * turned into stage targets. Reported on the line of goal.revenue_minor;
 * a tenant that inherits the target is covered by the defaults' report. */
void fd_goal_missing(const fd_goal *g, char *missing)
{
        if (!g->deal_size_minor)
                strcat(missing, ", goal.deal_size_minor");
        if (g->sql_to_won_pct == INT32_MIN)
                strcat(missing, ", goal.sql_to_won_pct");
        if (g->mql_to_sql_pct == INT32_MIN)
                strcat(missing, ", goal.mql_to_sql_pct");
}

static void check_goal(loader *ld, const fd_tenant_conf *tc)
{
        const fd_goal *g = &tc->goal;
        char key[256], missing[128] = "";
        int line;

        if (!g->revenue_minor)
                return;
        fd_goal_missing(g, missing);
        if (!missing[0])
                return;
        snprintf(key, sizeof(key), "%s%s%sgoal.revenue_minor",
                 tc->tenant_id ? "tenant." : "",
                 tc->tenant_id ? tc->tenant_id : "", tc->tenant_id ? "." : "");
        line = key_line(ld, key);
        if (!line)
                return;
        add_error(ld, line,
                  "%s%s%sgoal.revenue_minor is set but %s %s not; set %s "
                  "too (the reverse funnel needs the average deal size and "
                  "the SQL-to-won and MQL-to-SQL percentages) or remove "
                  "the goal",
                  tc->tenant_id ? "tenant '" : "",
                  tc->tenant_id ? tc->tenant_id : "",
                  tc->tenant_id ? "': " : "", missing + 2,
                  strchr(missing + 2, ',') ? "are" : "is",
                  strchr(missing + 2, ',') ? "them" : "it");
}

/* A replay writes a namespace of its own. */
static void check_replay(loader *ld)
{
        const fd_config *conf = ld->conf;
        int line;

        if (!conf->replay_readers_prefix ||
            strcmp(conf->replay_readers_prefix, conf->redis_prefix) != 0)
                return;
        line = key_line(ld, "replay.readers_prefix");
        add_error(ld, line ? line : 1,
                  "replay.readers_prefix is redis.prefix ('%s'): a replay "
                  "builds its state under a prefix of its own; set "
                  "redis.prefix to a new one (for example '%s.v2')",
                  conf->redis_prefix, conf->redis_prefix);
}

/* A Unix socket path fits sockaddr_un's sun_path with its NUL. */
static void check_socket(loader *ld)
{
        const char *path = ld->conf->redis_socket;
        struct sockaddr_un sa;
        int line;

        if (!path || strlen(path) < sizeof(sa.sun_path))
                return;
        line = key_line(ld, "redis.socket");
        add_error(ld, line ? line : 1,
                  "redis.socket is %zu bytes long; a Unix socket path can "
                  "have at most %zu: move the socket (redis-server's "
                  "unixsocket) to a shorter path or use redis.host and "
                  "redis.port",
                  strlen(path), sizeof(sa.sun_path) - 1);
}

/* The custom model and its weights come together: attribution.models may
 * list custom only when [attribution] sets custom_weights (the tenants
 * without their own inherit them), and custom_weights (global or a
 * tenant's) does nothing unless custom is listed. */
static void check_custom(loader *ld)
{
        const fd_config *conf = ld->conf;
        int listed = 0, line;
        char key[256];

        for (size_t i = 0; i < conf->model_cnt; i++)
                listed |= conf->models[i] == FD_MODEL_CUSTOM;
        if (listed && !conf->defaults.custom_weights.set) {
                add_error(ld, key_line(ld, "attribution.models"),
                          "attribution.models lists custom but "
                          "attribution.custom_weights is not set; set it in "
                          "[attribution] (the weights of tenants that do not "
                          "set their own), for example custom_weights = "
                          "first:30,lead_creation:20,opportunity_creation:20,"
                          "last:20,spread:10, or remove custom from "
                          "attribution.models");
                return;
        }
        if (listed)
                return;
        for (size_t i = 0; i <= conf->tenant_cnt; i++) {
                const char *t = i ? conf->tenants[i - 1].tenant_id : NULL;

                snprintf(key, sizeof(key), "%s%s%sattribution.custom_weights",
                         t ? "tenant." : "", t ? t : "", t ? "." : "");
                line = key_line(ld, key);
                if (!line)
                        continue;
                add_error(ld, line,
                          "%s%s%sattribution.custom_weights is set but "
                          "attribution.models does not list custom, so the "
                          "weights would not be used; add custom to "
                          "attribution.models (for example models = all, "
                          "custom: 'all' is the ten built-in models) or "
                          "remove the weights",
                          t ? "tenant '" : "", t ? t : "", t ? "': " : "");
        }
}

static void parse_file(loader *ld)
{
        int rc = ini_parse_stream(read_line, ld, on_value, ld);

        if (rc > 0 && !has_error_on(ld, rc))
                add_error(ld, rc,
                          "syntax error; write 'key = value', '[section]' or "
                          "a comment starting with ';' or '#'");
        else if (rc < 0)
                add_error(ld, ld->line, "out of memory while reading");
        if (ferror(ld->fp))
                add_error(ld, ld->line, "read error: %s; check the file",
                          strerror(errno));
        finish_rules(ld, &ld->rules, &ld->conf->defaults.score);
        if (finish_tenants(ld) < 0) {
                add_error(ld, ld->line, "out of memory");
                return;
        }
        check_goal(ld, &ld->conf->defaults);
        for (size_t i = 0; i < ld->conf->tenant_cnt; i++)
                check_goal(ld, &ld->conf->tenants[i]);
        check_custom(ld);
        check_replay(ld);
        check_socket(ld);
}

/* Returns a new config read from path, or NULL with errstr set. */
fd_config *fd_config_load(const char *path, char *errstr, size_t errstr_size)
{
        loader ld;
        fd_config *conf = fd_config_new_defaults();

        memset(&ld, 0, sizeof(ld));
        ld.path = path;
        ld.conf = conf;
        ld.regex_budget = FD_REGEX_MAX_TOTAL;
        if (!conf) {
                snprintf(errstr, errstr_size, "%s: out of memory", path);
                return NULL;
        }
        ld.fp = fopen(path, "r");
        if (!ld.fp) {
                snprintf(errstr, errstr_size,
                         "%s: cannot open the config file: %s; check the path "
                         "given with --config",
                         path, strerror(errno));
                fd_config_destroy(conf);
                return NULL;
        }
        parse_file(&ld);
        fclose(ld.fp);
        conf->path = strdup(path);
        if (ld.err_cnt || ld.err_total || !conf->path) {
                if (!ld.err_cnt)
                        snprintf(errstr, errstr_size, "%s: out of memory",
                                 path);
                else
                        format_errors(&ld, errstr, errstr_size);
                fd_config_destroy(conf);
                conf = NULL;
        }
        loader_clear(&ld);
        return conf;
}

static void list_key(char *out, size_t out_size, size_t *n, const char *name)
{
        size_t len = strlen(out);
        if (len < out_size)
                snprintf(out + len, out_size - len, "%s%s", *n ? ", " : "",
                         name);
        (*n)++;
}

size_t fd_config_restart_diff(const fd_config *a, const fd_config *b, char *out,
                              size_t out_size)
{
        size_t n = 0;
        out[0] = '\0';
        for (size_t i = 0; i < fd_cfg_key_cnt; i++) {
                const fd_cfg_key *k = &fd_cfg_keys[i];
                if (k->tenant || strncmp(k->name, "log.", 4) == 0 ||
                    strcmp(k->name, "attribution.models") == 0)
                        continue;
                if (!fd_cfg_key_equal(k, a, b))
                        list_key(out, out_size, &n, k->name);
        }
        int same = a->kafka_cnt == b->kafka_cnt;
        for (size_t i = 0; same && i < a->kafka_cnt; i++)
                same = strcmp(a->kafka[i].key, b->kafka[i].key) == 0 &&
                       strcmp(a->kafka[i].value, b->kafka[i].value) == 0;
        if (!same)
                list_key(out, out_size, &n, "kafka.*");
        same = a->schema_id_cnt == b->schema_id_cnt;
        for (size_t i = 0; same && i < a->schema_id_cnt; i++)
                same = a->schema_ids[i].id == b->schema_ids[i].id &&
                       a->schema_ids[i].kind == b->schema_ids[i].kind &&
                       strcmp(a->schema_ids[i].path, b->schema_ids[i].path) ==
                               0;
        if (!same)
                list_key(out, out_size, &n, "schemas.id.*");
        return n;
}

const char *fd_config_topic(const fd_config *conf, int kind)
{
        if (kind == FD_EV_LEAD)
                return conf->topic_lead;
        if (kind == FD_EV_CRM)
                return conf->topic_crm;
        if (kind == FD_EV_SPEND && conf->topic_spend && *conf->topic_spend &&
            strcmp(conf->topic_spend, "off") != 0)
                return conf->topic_spend;
        return NULL;
}

const fd_tenant_conf *fd_config_tenant(const fd_config *conf,
                                       const char *tenant_id)
{
        if (tenant_id) {
                for (size_t i = 0; i < conf->tenant_cnt; i++) {
                        if (strcmp(conf->tenants[i].tenant_id, tenant_id) == 0)
                                return &conf->tenants[i];
                }
        }
        return &conf->defaults;
}

/* Releases what tc owns (not tc itself). */
static void tenant_conf_clear(fd_tenant_conf *tc)
{
        for (size_t i = 0; i < fd_cfg_key_cnt; i++) {
                if (fd_cfg_keys[i].tenant)
                        fd_cfg_key_free(&fd_cfg_keys[i], tc);
        }
        fd_score_model_clear(&tc->score);
        free(tc->tenant_id);
}

/* Releases conf and everything it owns. NULL is fine. */
void fd_config_destroy(fd_config *conf)
{
        if (!conf)
                return;
        for (size_t i = 0; i < fd_cfg_key_cnt; i++) {
                if (!fd_cfg_keys[i].tenant)
                        fd_cfg_key_free(&fd_cfg_keys[i], conf);
        }
        for (size_t i = 0; i < conf->kafka_cnt; i++) {
                free(conf->kafka[i].key);
                free(conf->kafka[i].value);
        }
        free(conf->kafka);
        for (size_t i = 0; i < conf->schema_id_cnt; i++)
                free(conf->schema_ids[i].path);
        free(conf->schema_ids);
        tenant_conf_clear(&conf->defaults);
        for (size_t i = 0; i < conf->tenant_cnt; i++)
                tenant_conf_clear(&conf->tenants[i]);
        free(conf->tenants);
        free(conf->path);
        free(conf);
}
