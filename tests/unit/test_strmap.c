/* Unit tests of the string map and its composite keys. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fdtest.h"
#include "strmap.h"

static void test_key_joins_parts_with_nuls(void)
{
        fd_buf k = {0};

        FD_CHECK_INT(fd_strmap_key(&k, "acme", "l", "lead-1", NULL), 0);
        FD_CHECK_INT(k.len, 13);
        FD_CHECK(memcmp(k.data, "acme\0l\0lead-1", 13) == 0);

        /* a last "" ends the key in a NUL, for a binary tail */
        FD_CHECK_INT(fd_strmap_key(&k, "w", "3", "", NULL), 0);
        FD_CHECK_INT(k.len, 4);
        FD_CHECK(memcmp(k.data, "w\0003\0", 4) == 0);

        /* one part is the string itself; reuse starts over */
        FD_CHECK_INT(fd_strmap_key(&k, "only", NULL), 0);
        FD_CHECK_INT(k.len, 4);
        FD_CHECK_STR(k.data, "only");
        fd_buf_free(&k);
}

static void test_keys_differing_after_a_nul_are_distinct(void)
{
        fd_strmap map;
        fd_buf k = {0};
        int created;

        fd_strmap_init(&map);
        fd_strmap_key(&k, "t", "ab", NULL);
        fd_strmap_upsert(&map, k.data, k.len, &created)->i64 = 1;
        FD_CHECK_INT(created, 1);
        fd_strmap_key(&k, "t", "a", "b", NULL);
        fd_strmap_upsert(&map, k.data, k.len, &created)->i64 = 2;
        FD_CHECK_INT(created, 1);
        fd_strmap_key(&k, "t", "ab", NULL);
        fd_strmap_entry *e = fd_strmap_upsert(&map, k.data, k.len, &created);
        FD_CHECK_INT(created, 0);
        FD_CHECK_INT(e->i64, 1);
        FD_CHECK_INT(map.cnt, 2);
        fd_strmap_key(&k, "t", "a", "c", NULL);
        FD_CHECK(fd_strmap_get(&map, k.data, k.len) == NULL);
        fd_strmap_free(&map);
        fd_buf_free(&k);
}

static void test_many_keys_keep_insertion_order(void)
{
        fd_strmap map;
        char key[32];
        int created;

        fd_strmap_init(&map);
        for (int i = 0; i < 20000; i++) {
                int n = snprintf(key, sizeof(key), "lead-%d", i);
                fd_strmap_upsert(&map, key, (size_t)n, &created)->i64 = i;
        }
        FD_CHECK_INT(map.cnt, 20000);
        for (size_t i = 0; i < map.cnt; i++)
                if (map.entries[i].i64 != (int64_t)i)
                        FD_CHECK_INT(map.entries[i].i64, i);
        fd_strmap_entry *e = fd_strmap_get(&map, "lead-12345", 10);
        FD_CHECK(e && e->i64 == 12345);
        fd_strmap_entry **by = fd_strmap_sorted(&map);
        FD_CHECK(by != NULL);
        for (size_t i = 1; by && i < map.cnt; i++)
                if (strcmp(by[i - 1]->key, by[i]->key) >= 0)
                        FD_CHECK_STR(by[i]->key, "after its predecessor");
        free(by);
        fd_strmap_clear(&map);
        FD_CHECK_INT(map.cnt, 0);
        FD_CHECK(fd_strmap_get(&map, "lead-1", 6) == NULL);
        fd_strmap_free(&map);
}

/* Keys "t<7i mod parts>\0id-<i>": sorted by first part, and in insertion order
 * within one, for few and for many distinct first parts. */
static void check_grouped(int parts)
{
        fd_strmap map;
        fd_buf k = {0};
        char t[16], id[16];
        int created, bad = 0;

        fd_strmap_init(&map);
        for (int i = 0; i < 5000; i++) {
                snprintf(t, sizeof(t), "t%d", (i * 7) % parts);
                snprintf(id, sizeof(id), "id-%d", i);
                fd_strmap_key(&k, t, id, NULL);
                fd_strmap_upsert(&map, k.data, k.len, &created)->i64 = i;
        }
        fd_strmap_entry **by = fd_strmap_sorted(&map);
        FD_CHECK(by != NULL);
        for (size_t i = 1; by && i < map.cnt; i++) {
                int c = strcmp(by[i - 1]->key, by[i]->key);
                bad += c > 0 || (c == 0 && by[i - 1]->i64 >= by[i]->i64);
        }
        FD_CHECK_INT(bad, 0);
        free(by);
        fd_buf_free(&k);
        fd_strmap_free(&map);
}

static void test_sorted_groups_first_parts_stably(void)
{
        check_grouped(1);
        check_grouped(3);
        check_grouped(32);
        check_grouped(33);
        check_grouped(500);
}

int main(void)
{
        FD_RUN(test_key_joins_parts_with_nuls);
        FD_RUN(test_keys_differing_after_a_nul_are_distinct);
        FD_RUN(test_many_keys_keep_insertion_order);
        FD_RUN(test_sorted_groups_first_parts_stably);
        return FD_DONE();
}
