/* Replays the fuzzers' inputs through the fuzz targets' own entry points
 * (tests/fuzz/fuzz_decode.c, tests/fuzz/fuzz_config.c, included here without
 * their libFuzzer entry): every kept crash input in
 * tests/fuzz/regressions/{decode,config}/ and every seed in
 * tests/fuzz/corpus/{decode,config}/. Each must be decoded / loaded with
 * every invariant holding, or be rejected with a message; a broken
 * invariant aborts the test. Runs from the repo root or with
 * FUNNELD_SOURCE_DIR set; a missing regressions directory means no crash
 * was found yet. */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "fdtest.h"

#define FD_FUZZ_NO_ENTRY
#include "../fuzz/fuzz_config.c"
#include "../fuzz/fuzz_decode.c"

typedef int (*fuzz_one_fn)(const uint8_t *data, size_t size);

/* Counts of one replayed directory. */
typedef struct replay_stats {
        int files;
        int accepted;
        int rejected;
} replay_stats;

static const char *dir_path(const char *rel, char *dst, size_t size)
{
        const char *root = getenv("FUNNELD_SOURCE_DIR");

        snprintf(dst, size, "%s/%s", root && root[0] ? root : ".", rel);
        return dst;
}

/* Reads file path into a new heap buffer the caller frees; NULL on error. */
static uint8_t *read_all(const char *path, size_t *len)
{
        FILE *fp = fopen(path, "rb");
        uint8_t *data = NULL;
        long size;

        if (!fp)
                return NULL;
        if (fseek(fp, 0, SEEK_END) == 0 && (size = ftell(fp)) >= 0 &&
            fseek(fp, 0, SEEK_SET) == 0 &&
            (data = malloc((size_t)size + 1)) != NULL &&
            fread(data, 1, (size_t)size, fp) != (size_t)size) {
                free(data);
                data = NULL;
        }
        if (data)
                *len = (size_t)size;
        fclose(fp);
        return data;
}

static int skip_name(const char *name)
{
        return name[0] == '.' || strcmp(name, "README.md") == 0;
}

/* Feeds every regular file of dir to fn. A missing dir returns -1 (not a
 * failure for regressions, which exist only after a crash was found). */
static int replay_dir(const char *dir, fuzz_one_fn fn, replay_stats *st)
{
        DIR *d = opendir(dir);
        struct dirent *de;

        memset(st, 0, sizeof(*st));
        if (!d) {
                if (errno != ENOENT) {
                        fprintf(stderr, "cannot read %s: %s\n", dir,
                                strerror(errno));
                        FD_CHECK(d != NULL);
                }
                return -1;
        }
        while ((de = readdir(d)) != NULL) {
                char path[4096];
                struct stat sb;
                uint8_t *data;
                size_t len = 0;

                if (skip_name(de->d_name))
                        continue;
                snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
                if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
                        continue;
                data = read_all(path, &len);
                FD_CHECK(data != NULL);
                if (!data)
                        continue;
                st->files++;
                if (fn(data, len))
                        st->accepted++;
                else
                        st->rejected++;
                free(data);
        }
        closedir(d);
        printf("  %s: %d files, %d accepted, %d rejected\n", dir, st->files,
               st->accepted, st->rejected);
        return 0;
}

/* The decode seeds hold valid and invalid values of both kinds: both
 * outcomes must occur, so a codec that rejects everything fails here. */
static void test_decode_corpus(void)
{
        char dir[4096];
        replay_stats st;

        FD_CHECK_INT(replay_dir(dir_path("tests/fuzz/corpus/decode", dir,
                                         sizeof(dir)),
                                fd_fuzz_decode_one, &st),
                     0);
        FD_CHECK(st.files >= 20);
        FD_CHECK(st.accepted >= 10);
        FD_CHECK(st.rejected >= 5);
}

static void test_config_corpus(void)
{
        char dir[4096];
        replay_stats st;

        FD_CHECK_INT(replay_dir(dir_path("tests/fuzz/corpus/config", dir,
                                         sizeof(dir)),
                                fd_fuzz_config_one, &st),
                     0);
        FD_CHECK(st.files >= 5);
        FD_CHECK(st.accepted >= 3);
        FD_CHECK(st.rejected >= 3);
}

/* Kept crash inputs: each must now be handled (no crash, no broken
 * invariant); the outcome itself may be either. */
static void test_decode_regressions(void)
{
        char dir[4096];
        replay_stats st;

        if (replay_dir(
                    dir_path("tests/fuzz/regressions/decode", dir, sizeof(dir)),
                    fd_fuzz_decode_one, &st) != 0)
                printf("  %s: none kept\n", dir);
        FD_CHECK_INT(st.files, st.accepted + st.rejected);
}

static void test_config_regressions(void)
{
        char dir[4096];
        replay_stats st;

        if (replay_dir(
                    dir_path("tests/fuzz/regressions/config", dir, sizeof(dir)),
                    fd_fuzz_config_one, &st) != 0)
                printf("  %s: none kept\n", dir);
        FD_CHECK_INT(st.files, st.accepted + st.rejected);
}

int main(void)
{
        FD_RUN(test_decode_corpus);
        FD_RUN(test_config_corpus);
        FD_RUN(test_decode_regressions);
        FD_RUN(test_config_regressions);
        fd_fuzz_decode_teardown();
        fuzz_config_cleanup();
        return FD_DONE();
}
