/* funneld — one run of the daemon. */
#include "app.h"

#include <stdio.h>

#include "log.h"
#include "pipeline.h"
#include "store.h"

/* Returns a codec owned by the caller. */
fd_codec *fd_app_codec(const fd_config *conf, char *errstr, size_t errstr_size)
{
        fd_codec *codec = fd_codec_new(conf->schema_dir, errstr, errstr_size);
        if (!codec)
                return NULL;
        for (size_t i = 0; i < conf->schema_id_cnt; i++)
                if (fd_codec_add_writer(codec, conf->schema_ids[i].id,
                                        conf->schema_ids[i].kind,
                                        conf->schema_ids[i].path, errstr,
                                        errstr_size) != 0)
                        goto fail;
        if (conf->plain_writer_lead &&
            fd_codec_set_plain_writer(codec, FD_EV_LEAD,
                                      conf->plain_writer_lead, errstr,
                                      errstr_size) != 0)
                goto fail;
        if (conf->plain_writer_crm &&
            fd_codec_set_plain_writer(codec, FD_EV_CRM, conf->plain_writer_crm,
                                      errstr, errstr_size) != 0)
                goto fail;
        return codec;
fail:
        fd_codec_destroy(codec);
        return NULL;
}

int fd_app_run(const fd_config *conf, volatile sig_atomic_t *stop)
{
        char errstr[1024];
        fd_codec *codec = NULL;
        fd_store *store = NULL;
        fd_pipeline *pl = NULL;
        int rc = 1;

        codec = fd_app_codec(conf, errstr, sizeof(errstr));
        if (!codec)
                goto out;
        store = fd_store_new(conf, errstr, sizeof(errstr));
        if (!store)
                goto out;
        pl = fd_pipeline_new(conf, codec, store, errstr, sizeof(errstr));
        if (!pl)
                goto out;
        FD_INFO("funneld",
                "consuming %s and %s as group '%s'; state in redis %s:%d "
                "under prefix '%s'",
                conf->topic_lead, conf->topic_crm, conf->group_id,
                conf->redis_host, conf->redis_port, conf->redis_prefix);
        rc = fd_pipeline_run(pl, stop) == 0 ? 0 : 1;
        const fd_process_stats *st = fd_pipeline_stats(pl);
        FD_INFO("funneld",
                "stopped: %lld events in %lld batches, %lld duplicates, "
                "%lld to the DLQ, %lld promotions, %lld attributions",
                (long long)st->events, (long long)st->batches,
                (long long)st->duplicates, (long long)st->dlq,
                (long long)st->promotions, (long long)st->attributions);
        errstr[0] = '\0';
out:
        if (rc != 0 && errstr[0])
                FD_ERROR("funneld", "%s", errstr);
        fd_pipeline_destroy(pl);
        fd_store_destroy(store);
        fd_codec_destroy(codec);
        return rc;
}
