/* funneld — re-scoring replays: catch up, then switch the readers. */
#include "replay.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"

struct fd_replay {
        const fd_config *conf;
        fd_store *store;
        const char *readers; /* replay.readers_prefix */
        int switched;
        int64_t *ends; /* [topic][partition] end offsets; NULL: none yet */
        size_t end_cnt;
};

/* Runs one command of r and returns its reply (caller frees), or NULL. */
static redisReply *run1(fd_replay *rp, fd_resp *r)
{
        redisReply *reply = NULL;

        if (fd_store_pipeline(rp->store, r, &reply) != FD_STORE_OK)
                return NULL;
        if (reply->type == REDIS_REPLY_ERROR) {
                FD_WARN("replay", "redis refused a command: %s", reply->str);
                freeReplyObject(reply);
                return NULL;
        }
        return reply;
}

/* 1 when R:active names this replay's namespace, 0 when not, -1 on error. */
static int read_switched(fd_replay *rp)
{
        fd_resp r = {0};
        redisReply *reply;
        int rc = -1;

        if (fd_resp_cmd(&r, 3) || fd_resp_str(&r, "HGET") ||
            fd_resp_fmt(&r, "%s:active", rp->readers) ||
            fd_resp_str(&r, "prefix"))
                goto out;
        if (!(reply = run1(rp, &r)))
                goto out;
        rc = reply->type == REDIS_REPLY_STRING &&
             strcmp(reply->str, fd_store_prefix(rp->store)) == 0;
        freeReplyObject(reply);
out:
        fd_resp_free(&r);
        return rc;
}

fd_replay *fd_replay_new(const fd_config *conf, fd_store *store, char *errstr,
                         size_t errstr_size, int *failed)
{
        fd_resp r = {0};
        redisReply *reply = NULL;
        fd_replay *rp;

        *failed = 0;
        if (!conf->replay_readers_prefix)
                return NULL;
        *failed = 1;
        if (!(rp = calloc(1, sizeof(*rp)))) {
                snprintf(errstr, errstr_size, "out of memory");
                return NULL;
        }
        rp->conf = conf;
        rp->store = store;
        rp->readers = conf->replay_readers_prefix;
        /* The live instances must not share the replay's group: they would
         * split the partitions between them. */
        if (fd_resp_cmd(&r, 2) || fd_resp_str(&r, "EXISTS") ||
            fd_resp_fmt(&r, "%s:offsets:%s", rp->readers,
                        fd_store_group(store)) ||
            !(reply = run1(rp, &r))) {
                snprintf(errstr, errstr_size,
                         "cannot read the live namespace '%s' in redis: %s; "
                         "check redis and replay.readers_prefix",
                         rp->readers, fd_store_error(store));
                goto fail;
        }
        if (reply->type == REDIS_REPLY_INTEGER && reply->integer) {
                snprintf(errstr, errstr_size,
                         "replay.readers_prefix: the live namespace '%s' has "
                         "offsets of consumer group '%s', so live instances "
                         "use that group; give the replay a group of its own "
                         "(funneld.group.id), for example '%s-replay'",
                         rp->readers, fd_store_group(store),
                         fd_store_group(store));
                goto fail;
        }
        rp->switched = read_switched(rp);
        if (rp->switched < 0) {
                snprintf(errstr, errstr_size,
                         "cannot read %s:active in redis: %s; check redis",
                         rp->readers, fd_store_error(store));
                goto fail;
        }
        freeReplyObject(reply);
        fd_resp_free(&r);
        *failed = 0;
        if (rp->switched)
                FD_INFO("replay",
                        "readers of '%s' already read this namespace ('%s'): "
                        "running as the live pipeline",
                        rp->readers, fd_store_prefix(store));
        else
                FD_INFO("replay",
                        "replaying into '%s' without publishing derived "
                        "events; readers of '%s' switch to it once it has "
                        "caught up",
                        fd_store_prefix(store), rp->readers);
        return rp;
fail:
        if (reply)
                freeReplyObject(reply);
        fd_resp_free(&r);
        free(rp);
        return NULL;
}

void fd_replay_destroy(fd_replay *rp)
{
        if (!rp)
                return;
        free(rp->ends);
        free(rp);
}

int fd_replay_switched(const fd_replay *rp)
{
        return rp && rp->switched;
}

/* The stored next offsets of this namespace and group into got (same
 * layout as ends; -1 where none is stored). */
static int stored_offsets(fd_replay *rp, const char *const *topics, int ntopics,
                          int32_t nparts, int64_t *got)
{
        fd_resp r = {0};
        redisReply *reply;
        char field[512];

        for (size_t i = 0; i < (size_t)ntopics * (size_t)nparts; i++)
                got[i] = -1;
        if (fd_resp_cmd(&r, 2) || fd_resp_str(&r, "HGETALL") ||
            fd_resp_fmt(&r, "%s:offsets:%s", fd_store_prefix(rp->store),
                        fd_store_group(rp->store)) ||
            !(reply = run1(rp, &r))) {
                fd_resp_free(&r);
                return -1;
        }
        fd_resp_free(&r);
        for (int t = 0; t < ntopics; t++)
                for (int32_t p = 0; p < nparts; p++) {
                        snprintf(field, sizeof(field), "%s:%d", topics[t],
                                 (int)p);
                        for (size_t i = 0; i + 1 < reply->elements; i += 2)
                                if (strcmp(reply->element[i]->str, field) == 0)
                                        got[t * nparts + p] = strtoll(
                                                reply->element[i + 1]->str,
                                                NULL, 10);
                }
        freeReplyObject(reply);
        return 0;
}

/* Writes R:active: readers of R read this namespace from now on. */
static int do_switch(fd_replay *rp)
{
        fd_resp r = {0};
        redisReply *reply;
        int rc = -1;

        if (!fd_resp_cmd(&r, 8) && !fd_resp_str(&r, "HSET") &&
            !fd_resp_fmt(&r, "%s:active", rp->readers) &&
            !fd_resp_str(&r, "prefix") &&
            !fd_resp_str(&r, fd_store_prefix(rp->store)) &&
            !fd_resp_str(&r, "group") &&
            !fd_resp_str(&r, fd_store_group(rp->store)) &&
            !fd_resp_str(&r, "switched_at") && !fd_resp_i64(&r, fd_wall_ms()) &&
            (reply = run1(rp, &r))) {
                freeReplyObject(reply);
                rc = 0;
        }
        fd_resp_free(&r);
        return rc;
}

int fd_replay_check(fd_replay *rp, rd_kafka_t *consumer,
                    const char *const *topics, int ntopics, int32_t nparts)
{
        size_t n = (size_t)ntopics * (size_t)nparts;
        int64_t *ends, *got;
        int caught_up = 1;

        if (!rp || rp->switched || n == 0)
                return 0;
        if (!(got = malloc(n * sizeof(*got))))
                return -1;
        if (rp->ends) {
                if (stored_offsets(rp, topics, ntopics, nparts, got) != 0) {
                        free(got);
                        return -1;
                }
                for (size_t i = 0; i < n && caught_up; i++)
                        caught_up = rp->ends[i] <= 0 || got[i] >= rp->ends[i];
                if (caught_up) {
                        free(got);
                        if (do_switch(rp) != 0)
                                return -1;
                        rp->switched = 1;
                        FD_INFO("replay",
                                "caught up: readers of '%s' now read '%s' "
                                "(%s:active); this instance publishes derived "
                                "events from now on, stop the old live "
                                "instances",
                                rp->readers, fd_store_prefix(rp->store),
                                rp->readers);
                        return 1;
                }
        }
        /* The end offsets now: the target of the next check. */
        ends = got;
        for (int t = 0; t < ntopics; t++)
                for (int32_t p = 0; p < nparts; p++) {
                        int64_t lo = 0, hi = 0;
                        rd_kafka_resp_err_t err =
                                rd_kafka_query_watermark_offsets(
                                        consumer, topics[t], p, &lo, &hi, 5000);
                        if (err) {
                                FD_WARN("replay",
                                        "cannot read the end offset of %s "
                                        "[%d]: %s; trying again",
                                        topics[t], (int)p,
                                        rd_kafka_err2str(err));
                                free(ends);
                                return -1;
                        }
                        /* Nothing retained: nothing to replay there. */
                        ends[t * nparts + p] = lo == hi ? 0 : hi;
                }
        free(rp->ends);
        rp->ends = ends;
        return 0;
}
