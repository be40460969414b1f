/* libFuzzer target for the config loader (fd_config_load).
 *
 * The input is written to a per-process file under /dev/shm or /tmp (the
 * loader takes a path) and loaded. On success the config must hold its path and
 * answer fd_config_tenant() for every tenant; it is then destroyed. On failure
 * errstr must be non-empty and start with the file's path. A broken
 * invariant aborts, which libFuzzer reports as a crash.
 *
 * tests/unit/test_fuzz_regressions.c includes this file with
 * FD_FUZZ_NO_ENTRY defined and calls fd_fuzz_config_one() directly. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "funneld/config.h"

#ifndef FUZZ_ASSERT
#define FUZZ_ASSERT(cond)                                                      \
        do {                                                                   \
                if (!(cond)) {                                                 \
                        fprintf(stderr, "%s:%d: invariant broken: %s\n",       \
                                __FILE__, __LINE__, #cond);                    \
                        abort();                                               \
                }                                                              \
        } while (0)
#endif

/* The scratch file of this process; removed at exit. */
static char fuzz_config_file[64];

static void fuzz_config_cleanup(void)
{
        if (fuzz_config_file[0])
                unlink(fuzz_config_file);
}

/* The scratch file's path: in /dev/shm when it is usable (tmpfs: no
 * writeback on every truncate-and-close), else in /tmp. */
static const char *fuzz_config_path(void)
{
        if (!fuzz_config_file[0]) {
                const char *dir =
                        access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";

                snprintf(fuzz_config_file, sizeof(fuzz_config_file),
                         "%s/funneld-fuzz-config-%ld.ini", dir, (long)getpid());
                atexit(fuzz_config_cleanup);
        }
        return fuzz_config_file;
}

static void check_loaded(const fd_config *conf, const char *path)
{
        size_t i;

        FUZZ_ASSERT(conf->path && strcmp(conf->path, path) == 0);
        FUZZ_ASSERT(fd_config_tenant(conf, NULL) == &conf->defaults);
        FUZZ_ASSERT(conf->tenant_cnt == 0 || conf->tenants != NULL);
        for (i = 0; i < conf->tenant_cnt; i++) {
                const char *id = conf->tenants[i].tenant_id;

                FUZZ_ASSERT(id != NULL);
                FUZZ_ASSERT(fd_config_tenant(conf, id)->tenant_id != NULL);
                FUZZ_ASSERT(strcmp(fd_config_tenant(conf, id)->tenant_id, id) ==
                            0);
        }
        for (i = 0; i < conf->kafka_cnt; i++)
                FUZZ_ASSERT(conf->kafka[i].key && conf->kafka[i].value);
        for (i = 0; i < conf->schema_id_cnt; i++)
                FUZZ_ASSERT(conf->schema_ids[i].path != NULL);
}

/* Loads one fuzz input as a config file. Returns 1 when it loaded, 0 when
 * it was rejected with a message; aborts on a broken invariant. */
static int fd_fuzz_config_one(const uint8_t *data, size_t size)
{
        const char *path = fuzz_config_path();
        char err[4096] = "";
        fd_config *conf;
        FILE *fp = fopen(path, "wb");

        if (!fp || (size && fwrite(data, 1, size, fp) != size) ||
            fclose(fp) != 0) {
                fprintf(stderr, "fuzz_config: cannot write %s\n", path);
                abort();
        }
        conf = fd_config_load(path, err, sizeof(err));
        if (!conf) {
                FUZZ_ASSERT(memchr(err, '\0', sizeof(err)) != NULL);
                FUZZ_ASSERT(err[0] != '\0');
                FUZZ_ASSERT(strncmp(err, path, strlen(path)) == 0);
                return 0;
        }
        check_loaded(conf, path);
        fd_config_destroy(conf);
        return 1;
}

#ifndef FD_FUZZ_NO_ENTRY
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        (void)fd_fuzz_config_one(data, size);
        return 0;
}
#endif
