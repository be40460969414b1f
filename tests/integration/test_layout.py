#!/usr/bin/env python3
"""Redis data of layout 1 is upgraded in place; an unknown layout is refused.

Layout 1 kept one string per event id, P:{T}:seen:<event_id>, with a TTL of
the dedupe window. Layout 2 keeps a tenant's event ids in one set per
generation of processing days, P:{T}:dedupe:<first day>. funneld started on
layout-1 data writes layout_version 2 and dedupe_v1_until (now + the
window) to P:meta and, until then, reads the layout-1 markers too: an event
applied by the old funneld and delivered again counts as a duplicate, not a
second time. Data of a layout it does not know it refuses to touch."""

import calendar
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import fdit  # noqa: E402
import itlib  # noqa: E402

T = "layout"
T0 = 1791190800000  # 2026-10-05T09:00:00Z
WINDOW_MS = 7 * 86400000  # processing.dedupe_window_days default
GEN_MS = 4 * 86400000  # FD_DEDUPE_GEN_DAYS


def crm(eid, lead, stage, at):
    return {"event_id": eid, "tenant_id": T, "occurred_at": at,
            "lead_id": lead, "stage": stage, "opportunity_id": None,
            "amount_minor": None, "currency": None, "owner": None}


def new_setup(name):
    setup = itlib.Setup(name, fdit.work_dir(), partitions=1)
    setup.create_topics()
    return setup


def produce(setup, events):
    avro = fdit.Avro()
    fdit.produce(setup.crm_topic,
                 [(e["lead_id"].encode(), avro.encode("crm_stage_event", e, 2))
                  for e in events])


def stats(r, setup):
    return r.hgetall(f"{setup.prefix}:stats:{setup.group}")


def dedupe_sets(r, setup):
    """{key: members} of the tenant's dedupe sets."""
    return {k: r.smembers(k)
            for k in r.scan_iter(match=f"{setup.prefix}:{{{T}}}:dedupe:*")}


def test_layout_1_is_upgraded_in_place():
    setup = new_setup("layout_up")
    setup.write_config()
    r = fdit.redis_client()
    p = setup.prefix
    # what a layout-1 funneld left: its marker and the markers of the two
    # events it applied
    r.hset(f"{p}:meta", mapping={"layout_version": "1",
                                 "writer": "funneld/0.0.1"})
    for eid in ("u1", "u2"):
        r.set(f"{p}:{{{T}}}:seen:{eid}", "1", px=WINDOW_MS)
    first = [crm("u1", "lead-1", "lead", T0),
             crm("u2", "lead-1", "mql", T0 + 1000),
             crm("u3", "lead-2", "sql", T0 + 2000)]
    produce(setup, first)
    ends = setup.end_offsets()
    before = int(time.time() * 1000)
    proc = setup.start()
    try:
        setup.wait_caught_up(proc, r, ends, timeout=60)
        after = int(time.time() * 1000)
        meta = r.hgetall(f"{p}:meta")
        assert meta["layout_version"] == "2", meta
        assert meta["writer"].startswith("funneld/") and \
            meta["writer"] != "funneld/0.0.1", meta
        until = int(meta["dedupe_v1_until"])
        assert before + WINDOW_MS <= until <= after + WINDOW_MS, \
            (before, until, after)
        st = stats(r, setup)
        assert st.get("duplicates") == "2" and \
            st.get("in:crm_events") == "1", st
        # u3 went to the set of this generation, which expires after the
        # generation's end plus the window and a day
        sets = dedupe_sets(r, setup)
        assert set().union(*sets.values()) == {"u3"}, sets
        for k in sets:
            day = k.rsplit(":", 1)[1]
            start = calendar.timegm(time.strptime(day, "%Y-%m-%d")) * 1000
            assert start % GEN_MS == 0 and \
                start <= after and before < start + GEN_MS + 600000, k
            expire = r.pexpiretime(k)
            assert expire == start + GEN_MS + WINDOW_MS + 86400000, \
                (k, expire)
        # re-sent: u1 (a layout-1 marker) and u3 (a layout-2 set) are both
        # duplicates; u4 is new
        produce(setup, [crm("u1", "lead-1", "lead", T0),
                        crm("u3", "lead-2", "sql", T0 + 2000),
                        crm("u4", "lead-3", "lead", T0 + 3000)])
        setup.wait_caught_up(proc, r, setup.end_offsets(), timeout=60)
        st = stats(r, setup)
        assert st.get("duplicates") == "4" and \
            st.get("in:crm_events") == "2", st
        assert set().union(*dedupe_sets(r, setup).values()) == \
            {"u3", "u4"}
        # the layout-1 markers kept lead-1's events from being applied again
        assert not r.exists(f"{p}:{{{T}}}:lead:lead-1")
        assert r.hget(f"{p}:{{{T}}}:lead:lead-2", "stage") == "sql"
        assert r.hget(f"{p}:{{{T}}}:lead:lead-3", "stage") == "lead"
        setup.stop(proc)
    finally:
        setup.kill_all()


def test_unknown_layout_is_refused():
    setup = new_setup("layout_unknown")
    setup.write_config()
    r = fdit.redis_client()
    r.hset(f"{setup.prefix}:meta", mapping={"layout_version": "3"})
    proc = setup.start()
    try:
        rc = proc.wait(timeout=60)
        log = proc.log_text()
        assert rc != 0, (rc, proc.log_tail())
        assert f"redis key {setup.prefix}:meta says layout_version 3 but " \
            "this funneld writes layout 2; use another redis.prefix or " \
            "migrate the data" in log, proc.log_tail()
        assert r.hgetall(f"{setup.prefix}:meta") == {"layout_version": "3"}
    finally:
        setup.kill_all()


if __name__ == "__main__":
    fdit.main(globals())
