/* Unit tests of the string map and its composite keys. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fdtest.h"
#include "strmap.h"

static void test_key_joins_parts_with_nuls(void)
{
        fd_buf k = {0};

        FD_CHECK_INT(fd_strmap_key(&k, "acme", "l", "lead-1"), 0);
        FD_CHECK_INT(k.len, 13);
        FD_CHECK(memcmp(k.data, "acme\0l\0lead-1", 13) == 0);

        /* a last "" ends the key in a NUL, for a binary tail */
        FD_CHECK_INT(fd_strmap_key(&k, "w", "3", ""), 0);
        FD_CHECK_INT(k.len, 4);
        FD_CHECK(memcmp(k.data, "w\0003\0", 4) == 0);

        /* one part is the string itself; reuse starts over */
        FD_CHECK_INT(fd_strmap_key(&k, "only"), 0);
        FD_CHECK_INT(k.len, 4);
        FD_CHECK_STR(k.data, "only");
        fd_buf_free(&k);
}

/* Parts with their lengths give the bytes the strings give; a part's
 * bytes past its length are not taken. */
static void test_key_of_counted_parts_matches_strings(void)
{
        fd_buf a = {0}, b = {0};

        FD_CHECK_INT(fd_strmap_key(&a, "acme", "l", "lead-1", ""), 0);
        FD_CHECK_INT(fd_strmap_keyn(&b, FD_SV("acme"), (fd_sv){"lxx", 1},
                                    (fd_sv){"lead-1", 6}, FD_SV("")),
                     0);
        FD_CHECK_INT(b.len, a.len);
        FD_CHECK(memcmp(a.data, b.data, a.len + 1) == 0);
        FD_CHECK_INT(fd_strmap_keyn(&b, (fd_sv){"only", 4}), 0);
        FD_CHECK_INT(b.len, 4);
        FD_CHECK_STR(b.data, "only");
        fd_buf_free(&a);
        fd_buf_free(&b);
}

static void test_keys_differing_after_a_nul_are_distinct(void)
{
        fd_strmap map;
        fd_buf k = {0};
        int created;

        fd_strmap_init(&map);
        fd_strmap_key(&k, "t", "ab");
        fd_strmap_upsert(&map, k.data, k.len, &created)->i64 = 1;
        FD_CHECK_INT(created, 1);
        fd_strmap_key(&k, "t", "a", "b");
        fd_strmap_upsert(&map, k.data, k.len, &created)->i64 = 2;
        FD_CHECK_INT(created, 1);
        fd_strmap_key(&k, "t", "ab");
        fd_strmap_entry *e = fd_strmap_upsert(&map, k.data, k.len, &created);
        FD_CHECK_INT(created, 0);
        FD_CHECK_INT(e->i64, 1);
        FD_CHECK_INT(map.cnt, 2);
        fd_strmap_key(&k, "t", "a", "c");
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

/* A table grown by a large batch and then cleared while holding few
 * entries (the clear zeroes only their slots): every slot ends empty, so
 * nothing of the cleared batch is found and the same keys are new again,
 * over many rounds of few keys whose probe runs wrap and overlap. */
static void test_clear_of_few_entries_in_a_large_table(void)
{
        fd_strmap map;
        char key[32];
        int created, bad = 0;

        fd_strmap_init(&map);
        for (int i = 0; i < 20000; i++) {
                int n = snprintf(key, sizeof(key), "big-%d", i);
                fd_strmap_upsert(&map, key, (size_t)n, &created);
        }
        fd_strmap_clear(&map); /* the whole table */
        size_t slots = map.slot_cnt;
        for (int round = 0; round < 200; round++) {
                for (int i = 0; i < 50; i++) {
                        int n = snprintf(key, sizeof(key), "r%d-%d", round % 3,
                                         i);
                        fd_strmap_upsert(&map, key, (size_t)n, &created)->i64 =
                                i;
                        bad += !created; /* the clear left it behind */
                }
                fd_strmap_clear(&map); /* 50 entries in a large table */
                for (size_t s = 0; s < map.slot_cnt; s++)
                        bad += map.slots[s] != 0;
        }
        FD_CHECK_INT(bad, 0);
        FD_CHECK_INT(map.slot_cnt, slots); /* memory kept */
        FD_CHECK(fd_strmap_get(&map, "r0-1", 4) == NULL);
        FD_CHECK(fd_strmap_get(&map, "big-7", 5) == NULL);
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
                fd_strmap_key(&k, t, id);
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

/* Every byte counts in fd_hash64, at every length around its word and
 * half-word reads: each single-byte change of a 0-40 byte key, and each
 * length of the same bytes, gives another hash (among these keys; not a
 * promise for all). */
static void test_hash_sees_every_byte(void)
{
        enum { MAXLEN = 40 };
        static uint64_t seen[(MAXLEN + 1) * (MAXLEN * 2 + 1)];
        unsigned char key[MAXLEN];
        size_t n = 0;

        for (size_t i = 0; i < MAXLEN; i++)
                key[i] = (unsigned char)('a' + i % 26);
        for (size_t len = 0; len <= MAXLEN; len++) {
                seen[n++] = fd_hash64(key, len);
                for (size_t at = 0; at < len; at++) {
                        unsigned char was = key[at];
                        key[at] = (unsigned char)(was ^ 0x01);
                        seen[n++] = fd_hash64(key, len);
                        key[at] = (unsigned char)(was ^ 0x80);
                        seen[n++] = fd_hash64(key, len);
                        key[at] = was;
                }
        }
        for (size_t i = 0; i < n; i++)
                for (size_t j = i + 1; j < n; j++)
                        if (seen[i] == seen[j]) {
                                fprintf(stderr, "  hashes %zu and %zu equal\n",
                                        i, j);
                                FD_CHECK(0);
                                return;
                        }
}

int main(void)
{
        FD_RUN(test_key_joins_parts_with_nuls);
        FD_RUN(test_key_of_counted_parts_matches_strings);
        FD_RUN(test_keys_differing_after_a_nul_are_distinct);
        FD_RUN(test_many_keys_keep_insertion_order);
        FD_RUN(test_clear_of_few_entries_in_a_large_table);
        FD_RUN(test_sorted_groups_first_parts_stably);
        FD_RUN(test_hash_sees_every_byte);
        return FD_DONE();
}
