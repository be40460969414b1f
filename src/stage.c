/* funneld — lifecycle stage names.
 *
 * Parsing is case-insensitive and treats '-' and ' ' like '_', so the CRM
 * spellings "Closed Won" and "closed-won" both mean closed_won. */
#include "funneld/stage.h"

#include <ctype.h>
#include <stddef.h>

#include "funneld/timebucket.h"

#define STAGE_NAME(stage, name) [stage] = name,
static const char *const stage_names[FD_STAGE__COUNT] = {
        [FD_STAGE_NONE] = "none", FD_STAGE_NAMES(STAGE_NAME)};
#undef STAGE_NAME

#define STAGE_LEN(stage, name) [stage] = sizeof(name) - 1,
static const size_t stage_lens[FD_STAGE__COUNT] = {
        [FD_STAGE_NONE] = sizeof("none") - 1, FD_STAGE_NAMES(STAGE_LEN)};
#undef STAGE_LEN

const char *fd_stage_name(fd_stage stage)
{
        if ((int)stage < 0 || stage >= FD_STAGE__COUNT)
                return "unknown";
        return stage_names[stage];
}

size_t fd_stage_name_len(fd_stage stage)
{
        if ((int)stage < 0 || stage >= FD_STAGE__COUNT)
                return sizeof("unknown") - 1;
        return stage_lens[stage];
}

/* 1 when name equals want (lower case, '_' separated) up to case and the
 * separators '-' and ' '. */
static int name_eq(const char *name, const char *want)
{
        size_t i;

        for (i = 0; name[i] && want[i]; i++) {
                int c = tolower((unsigned char)name[i]);
                if (c == '-' || c == ' ')
                        c = '_';
                if (c != want[i])
                        return 0;
        }
        return name[i] == '\0' && want[i] == '\0';
}

fd_stage fd_stage_parse(const char *name)
{
        int s;

        if (!name)
                return FD_STAGE_NONE;
        for (s = FD_STAGE_LEAD; s < FD_STAGE__COUNT; s++)
                if (name_eq(name, stage_names[s]))
                        return (fd_stage)s;
        return FD_STAGE_NONE;
}

int fd_stage_is_recycle(const char *name)
{
        if (!name)
                return 0;
        return name_eq(name, "recycled") || name_eq(name, "nurture");
}

const int64_t fd_velocity_bucket_ms[FD_VELOCITY_BUCKET_CNT] = {
        FD_HOUR_MS,     FD_DAY_MS,      3 * FD_DAY_MS,
        7 * FD_DAY_MS,  14 * FD_DAY_MS, 30 * FD_DAY_MS,
        60 * FD_DAY_MS, 90 * FD_DAY_MS, INT64_MAX,
};

const char *const fd_velocity_bucket_field[FD_VELOCITY_BUCKET_CNT] = {
        "le:1h",  "le:1d",  "le:3d",  "le:7d",  "le:14d",
        "le:30d", "le:60d", "le:90d", "le:inf",
};

int fd_velocity_bucket(int64_t ms)
{
        int b = 0;

        while (ms > fd_velocity_bucket_ms[b])
                b++;
        return b;
}
