#!/usr/bin/env python3
"""Cold-lead alerts end to end on a hand-made story with exactly known
results (the contract: docs/REDIS.md "Leads going cold",
schemas/alert_event.avsc).

Four input partitions, each event produced to an explicit partition (keys
are lead ids). T0 = 2026-09-01 00:00 UTC, d = day, h = hour. Tenants (all
UTC): ca (the windows of the [cold] section: SQL 30 d, MQL 48 h, event
clock), cv (cold.sql_days = 10, cold.mql_sla_hours = 24 and a goal that
gives the alerts a value), co (cold.sql_days = 0: no SQL alerts), ce (no
overrides: the defaults) and cw (cold.clock = wall).

Round 1 (produced before funneld starts):

  P0  sql-cold (ca)      identify (paid_search, Director: fit 10) T0, page
                         view T0+1h (engagement 2), CRM sql T0+1h: deadline
                         T0+30d1h. ticker-0's page view at T0+30d2h is the
                         first later event of P0: sql_cold fires before it.
      sql-progress (ca)  page view T0+3d, sql T0+3d1h, opportunity T0+20d:
                         left sql in time, no alert.
      idle-sql (ce, cw)  the same story in two tenants: page view (events)
                         at W = now - 35 d, CRM sql at W+1m: deadline
                         W+1m+30d, five days ago. No later event comes to
                         P0: ce's (event clock) stays pending in P:due:G:0;
                         cw's (wall clock) fires by itself.
  P1  mql-sla (ca)       identify (email, Director) T0+2h, CRM mql T0+3h:
                         deadline T0+2d3h. ticker-1's page view at T0+3d
                         fires mql_sla_missed; CRM sql at T0+5d then clears
                         `cold` (off P:{ca}:cold:leads:mql) and sets the SQL
                         deadline T0+35d.
  P2  at-deadline (ca)   page view T0+1d, sql T0+2d (deadline T0+32d),
                         opportunity exactly at T0+32d: in time, no alert.
      late-opp (ca)      webinar T0+9d (engagement 12), sql T0+10d
                         (deadline T0+40d), its own opportunity at T0+44d:
                         sql_cold fires first (without the opportunity id),
                         then the lead leaves sql (off cold:leads:sql).
  P3  cv-sql (cv)        identify (partner, Director) T0, sql T0+1h:
                         deadline T0+10d1h (10 days).
      cv-mql (cv)        page view (paid_social) T0+2h, mql T0+3h: deadline
                         T0+1d3h (24 h).
      co-sql (co)        CRM-only lead, sql T0+4h: SQL window 0, no deadline.
      exact (ca)         page view (direct) T0+1d, sql T0+1d: deadline
                         T0+31d.
      ticker-3 (ca)      page view at exactly T0+31d: fires cv-mql, then
                         cv-sql (deadline order), not exact (not later).
      Values (cv: deal 1 234 550, SQL->won 33 %, MQL->SQL 45 %, EUR): SQL
      1234550 x 33 / 100 = 407401.5 -> 407402; MQL 1234550 x 45 x 33 /
      10000 = 183330.675 -> 183331.

Round 2 (after a SIGTERM, a stale entry of sql-progress added to
P:due:G:3 at T0+50d, and a restart): the entry is removed, ticker-1 at T0+40d fires mql-sla's
SQL deadline (T0+35d), ticker-3 at T0+60d fires exact's (T0+31d). P0 gets
a SpendEvent and a CRM event of ce's idle-sql with an unknown stage (to the
DLQ), both timed now: neither moves P0's event clock, ce's deadline stays
pending. Every
AlertEvent id is on the topic exactly once, the restart repeats nothing
(the wall-clock alert included), and Redis equals both the hand-computed
cold keys and the reference model (refmodel.py) on the whole stream.
"""

import sys
import time
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import fdit  # noqa: E402
import itlib  # noqa: E402
from refmodel import RefModel  # noqa: E402

MODEL = """
[mql]
min_fit = 10
min_engagement = 20

[handraise]
types = demo_request

[rule.title]
kind = fit
attribute = job_title
match = contains
value = director
points = 10

[rule.page_view]
kind = engagement
event_type = page_view
points = 2
cap = 4

[rule.webinar]
kind = engagement
event_type = webinar_attended
points = 12

[cold]
sql_days = 30
mql_sla_hours = 48
clock = event

[tenant.cv]
cold.sql_days = 10
cold.mql_sla_hours = 24
goal.deal_size_minor = 1234550
goal.sql_to_won_pct = 33
goal.mql_to_sql_pct = 45
goal.currency = EUR

[tenant.co]
cold.sql_days = 0

[tenant.cw]
cold.clock = wall
"""

PARTS = 4
H = 3600 * 1000
D = 24 * H
T0 = 1788220800000  # 2026-09-01T00:00:00Z
# The wall-clock story: entered sql 35 days before the test started.
NOW0 = int(time.time() * 1000) // 60000 * 60000
W = NOW0 - 35 * D
SQL_W, MQL_W = 30 * D, 48 * H


def lead_ev(eid, t, at, lead, typ, channel=None, **attrs):
    return {"event_id": eid, "tenant_id": t, "occurred_at": at,
            "lead_id": lead, "anonymous_id": None, "type": typ,
            "channel": channel, "campaign": None, "utm_source": None,
            "utm_medium": None, "utm_campaign": None, "utm_term": None,
            "utm_content": None, "attributes": attrs}


def crm_ev(eid, t, at, lead, stage, opp=None):
    return {"event_id": eid, "tenant_id": t, "occurred_at": at,
            "lead_id": lead, "stage": stage, "opportunity_id": opp,
            "amount_minor": None, "currency": None, "owner": None}


# (partition, event) in production order (time order per partition)
ROUND1 = [
    # P0
    (0, lead_ev("a1", "ca", T0, "sql-cold", "identify", "paid_search",
                job_title="Director")),
    (0, lead_ev("a2", "ca", T0 + H, "sql-cold", "page_view", "paid_search")),
    (0, crm_ev("a3", "ca", T0 + H, "sql-cold", "sql")),
    (0, lead_ev("b1", "ca", T0 + 3 * D, "sql-progress", "page_view",
                "organic_search")),
    (0, crm_ev("b2", "ca", T0 + 3 * D + H, "sql-progress", "sql")),
    (0, crm_ev("b3", "ca", T0 + 20 * D, "sql-progress", "opportunity",
               opp="opp-3")),
    (0, lead_ev("c1", "ca", T0 + 30 * D + 2 * H, "ticker-0", "page_view",
                "direct")),
    (0, lead_ev("w1", "ce", W, "idle-sql", "page_view", "events")),
    (0, lead_ev("v1", "cw", W, "idle-sql", "page_view", "events")),
    (0, crm_ev("w2", "ce", W + 60000, "idle-sql", "sql")),
    (0, crm_ev("v2", "cw", W + 60000, "idle-sql", "sql")),
    # P1
    (1, lead_ev("d1", "ca", T0 + 2 * H, "mql-sla", "identify", "email",
                job_title="Director")),
    (1, crm_ev("d2", "ca", T0 + 3 * H, "mql-sla", "mql")),
    (1, lead_ev("e1", "ca", T0 + 3 * D, "ticker-1", "page_view", "direct")),
    (1, crm_ev("d3", "ca", T0 + 5 * D, "mql-sla", "sql")),
    # P2
    (2, lead_ev("f1", "ca", T0 + D, "at-deadline", "page_view", "social")),
    (2, crm_ev("f2", "ca", T0 + 2 * D, "at-deadline", "sql")),
    (2, lead_ev("g1", "ca", T0 + 9 * D, "late-opp", "webinar_attended",
                "events")),
    (2, crm_ev("g2", "ca", T0 + 10 * D, "late-opp", "sql")),
    (2, crm_ev("f3", "ca", T0 + 32 * D, "at-deadline", "opportunity",
               opp="opp-5")),
    (2, crm_ev("g3", "ca", T0 + 44 * D, "late-opp", "opportunity",
               opp="opp-4")),
    # P3
    (3, lead_ev("h1", "cv", T0, "cv-sql", "identify", "partner",
                job_title="Director")),
    (3, crm_ev("h2", "cv", T0 + H, "cv-sql", "sql")),
    (3, lead_ev("h3", "cv", T0 + 2 * H, "cv-mql", "page_view",
                "paid_social")),
    (3, crm_ev("h4", "cv", T0 + 3 * H, "cv-mql", "mql")),
    (3, crm_ev("h5", "co", T0 + 4 * H, "co-sql", "sql")),
    (3, lead_ev("i1", "ca", T0 + D, "exact", "page_view", "direct")),
    (3, crm_ev("i2", "ca", T0 + D, "exact", "sql")),
    (3, lead_ev("j1", "ca", T0 + 31 * D, "ticker-3", "page_view", "direct")),
]
def spend_ev(eid, t, at, channel, amount):
    return {"event_id": eid, "tenant_id": t, "occurred_at": at,
            "channel": channel, "campaign": None,
            "day": datetime.fromtimestamp(at / 1000, tz=timezone.utc)
            .strftime("%Y-%m-%d"), "amount_minor": amount, "currency": "USD"}


ROUND2 = [
    (1, lead_ev("e2", "ca", T0 + 40 * D, "ticker-1", "page_view", "direct")),
    (3, lead_ev("j2", "ca", T0 + 60 * D, "ticker-3", "page_view", "direct")),
    # P0 gets a SpendEvent later than ce's deadline: not an event clock
    (0, spend_ev("s1", "ce", NOW0, "events", 100)),
]
# ... and a CRM event of ce's lead, later than its deadline too, that goes
# to the DLQ (unknown stage): it moves no clock either.
DLQ2 = [(0, crm_ev("x1", "ce", NOW0, "idle-sql", "won-ish"))]

# The deadlines, by hand.
DUE = {
    "sql-cold": T0 + H + SQL_W,          # T0+30d1h
    "mql-sla:mql": T0 + 3 * H + MQL_W,   # T0+2d3h
    "mql-sla:sql": T0 + 5 * D + SQL_W,   # T0+35d
    "late-opp": T0 + 10 * D + SQL_W,     # T0+40d
    "cv-sql": T0 + H + 10 * D,           # T0+10d1h
    "cv-mql": T0 + 3 * H + 24 * H,       # T0+1d3h
    "exact": T0 + D + SQL_W,             # T0+31d
    "idle-sql": W + 60000 + SQL_W,       # five days ago
}
assert DUE["exact"] == ROUND1[-1][1]["occurred_at"]  # ticker-3 at exactly
assert DUE["late-opp"] < T0 + 44 * D and DUE["idle-sql"] < NOW0
VAL_SQL, VAL_MQL = 407402, 183331


def alert(t, lead, stage, entered, due, window, channel, fit, eng,
          clock="event", opp=None, value=None):
    return {"event_id": f"{t}:{lead}:1:{stage}:cold", "tenant_id": t,
            "lead_id": lead,
            "alert": "sql_cold" if stage == "sql" else "mql_sla_missed",
            "stage": stage, "cycle": 1, "entered_at": entered,
            "occurred_at": due, "window_ms": window, "clock": clock,
            "source_channel": channel, "opportunity_id": opp,
            "fit_score": fit, "engagement_score": eng, "value_minor": value,
            "currency": "EUR" if value else None}


ALERTS1 = [
    alert("ca", "sql-cold", "sql", T0 + H, DUE["sql-cold"], SQL_W,
          "paid_search", 10, 2),
    alert("ca", "mql-sla", "mql", T0 + 3 * H, DUE["mql-sla:mql"], MQL_W,
          "email", 10, 0),
    # fired before its own opportunity event: no opportunity id yet
    alert("ca", "late-opp", "sql", T0 + 10 * D, DUE["late-opp"], SQL_W,
          "events", 0, 12),
    alert("cv", "cv-mql", "mql", T0 + 3 * H, DUE["cv-mql"], 24 * H,
          "paid_social", 0, 2, value=VAL_MQL),
    alert("cv", "cv-sql", "sql", T0 + H, DUE["cv-sql"], 10 * D, "partner",
          10, 0, value=VAL_SQL),
    alert("cw", "idle-sql", "sql", W + 60000, DUE["idle-sql"], SQL_W,
          "events", 0, 2, clock="wall"),
]
ALERTS2 = [
    alert("ca", "mql-sla", "sql", T0 + 5 * D, DUE["mql-sla:sql"], SQL_W,
          "email", 10, 0),
    alert("ca", "exact", "sql", T0 + D, DUE["exact"], SQL_W, "direct", 0, 2),
]


def day(ms):
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc) \
        .strftime("%Y-%m-%d")


LEADS = (("ca", "sql-cold"), ("ca", "sql-progress"), ("ca", "mql-sla"),
         ("ca", "at-deadline"), ("ca", "late-opp"), ("ca", "exact"),
         ("cv", "cv-sql"), ("cv", "cv-mql"), ("co", "co-sql"),
         ("ce", "idle-sql"), ("cw", "idle-sql"))


def expected_cold(group, alerts, cold_now, due_sets):
    """The cold keys, hand-computed: the counters of the alerts raised,
    P:{T}:cold:leads:<S> from cold_now {(tenant, stage): [lead, ...]} (their
    score is the deadline of their alert) and the deadline sets from
    due_sets {partition: [(member, deadline)]}; as itlib.dump gives them."""
    k = {}

    def inc(key, field, by=1):
        h = k.setdefault(key, {})
        h[field] = str(int(h.get(field, "0")) + by)
    for a in alerts:
        p, s = f":{{{a['tenant_id']}}}", a["stage"]
        for key in (f"{p}:cold", f"{p}:cold:{day(a['occurred_at'])[:7]}"):
            inc(key, s)
            inc(key, f"{s}:channel:{a['source_channel']}")
            if a["value_minor"]:
                inc(key, f"{s}:value:EUR", a["value_minor"])
                inc(key, "value:EUR", a["value_minor"])
        inc(f"{p}:cold:daily:{s}", day(a["occurred_at"]))
    due_of = {(a["tenant_id"], a["lead_id"], a["stage"]): a["occurred_at"]
              for a in alerts}
    for (t, s), leads in cold_now.items():
        k[f":{{{t}}}:cold:leads:{s}"] = sorted(
            ((lead, float(due_of[(t, lead, s)])) for lead in leads),
            key=lambda x: (x[1], x[0]))
    for p, members in due_sets.items():
        k[f":due:{group}:{p}"] = sorted(
            ((m, float(d)) for m, d in members), key=lambda x: (x[1], x[0]))
    return k


def cold_part(actual):
    """The cold keys of a dump: P:{T}:cold* and the deadline sets."""
    return {k: v for k, v in actual.items()
            if k.startswith(":due:") or
            (k.startswith(":{") and k.split("}", 1)[1].startswith(":cold"))}


def cold_fields(r, prefix):
    return {(t, lead): r.hget(f"{prefix}:{{{t}}}:lead:{lead}", "cold")
            for t, lead in LEADS}


def check_state(r, setup, alerts, cold_now, due_sets, fields):
    actual = itlib.dump(r, setup.prefix)
    want = expected_cold(setup.group, alerts, cold_now, due_sets)
    lines = itlib.diff(want, cold_part(actual))
    assert not lines, "cold keys differ from the hand-computed ones:\n  " + \
        "\n  ".join(lines)
    got = cold_fields(r, setup.prefix)
    assert got == fields, f"lead field cold:\n  got      {got}\n  expected " \
        f"{fields}"
    stats = actual[f":stats:{setup.group}"]
    assert stats.get("alerts") == str(len(alerts)), stats
    return actual


def read_alerts(setup, avro, expected):
    """Every record of the alerts topic: (key, schema id, record)."""
    recs = fdit.consume_all(setup.alerts, timeout=60, idle=2.0)
    out = [(rec.key,) + avro.decode("alert_event", rec.value) for rec in recs]
    ids = Counter(v["event_id"] for _, _, v in out)
    dup = [i for i, c in ids.items() if c > 1]
    assert not dup, f"AlertEvent ids on the topic more than once: {dup}"
    for key, sid, v in out:
        assert sid == 6 and key == v["lead_id"].encode(), (key, sid, v)
    got = {v["event_id"]: v for _, _, v in out}
    want = {a["event_id"]: a for a in expected}
    wrong = [f"{i}:\n    got      {got.get(i)}\n    expected {want.get(i)}"
             for i in sorted(set(got) | set(want)) if got.get(i) != want.get(i)]
    assert not wrong, "AlertEvents differ:\n  " + "\n  ".join(wrong)
    return got


def produce(setup, avro, events):
    from confluent_kafka import Producer
    p = Producer({"bootstrap.servers": fdit.bootstrap(),
                  "enable.idempotence": True})
    errors = []
    for part, ev in events:
        if "day" in ev:
            topic, schema, sid, key = (setup.spend_topic, "spend_event", 5,
                                       ev["channel"])
        elif "stage" in ev:
            topic, schema, sid, key = (setup.crm_topic, "crm_stage_event", 2,
                                       ev["lead_id"])
        else:
            topic, schema, sid, key = (setup.lead_topic, "lead_event", 1,
                                       ev["lead_id"])
        p.produce(topic, key=key.encode(), partition=part,
                  value=avro.encode(schema, ev, sid),
                  on_delivery=lambda err, m: err and errors.append(err))
    assert p.flush(30) == 0 and not errors, errors


def wait_done(setup, proc, r, ends, what):
    """Caught up with ends and the wall-clock alert raised (cw's lead has
    the field cold; its outbox drained)."""
    def done():
        if not proc.alive():
            raise fdit.ITError(f"funneld exited with {proc.proc.returncode}:"
                               f"\n{proc.log_tail()}")
        return setup.caught_up(r, ends) and r.hget(
            f"{setup.prefix}:{{cw}}:lead:idle-sql", "cold") == "sql" and \
            setup.outbox_depth(r) == 0
    try:
        fdit.wait_for(done, 90, what)
    except fdit.ITError as e:
        raise fdit.ITError(f"{e}\n{proc.log_tail()}") from None


def compare_model(r, setup, config, events, alerts):
    model = RefModel(config).run([e for _, e in events],
                                 partitions=[p for p, _ in events],
                                 now=int(time.time() * 1000))
    actual = {k: v for k, v in itlib.dump(r, setup.prefix).items()
              if not k.startswith((":meta", ":offsets:", ":epoch:")) and
              k != f":stats:{setup.group}:dlq"}
    lines = itlib.diff(model.redis_keys(setup.group), actual, limit=40)
    assert not lines, "refmodel disagrees with funneld:\n  " + \
        "\n  ".join(lines)
    key = lambda a: a["event_id"]  # noqa: E731
    assert sorted(model.alerts, key=key) == sorted(alerts, key=key), \
        f"refmodel's alerts differ from the hand-computed ones:\n" \
        f"  model {sorted(model.alerts, key=key)}\n  hand  " \
        f"{sorted(alerts, key=key)}"


def test_cold_alerts():
    work = fdit.work_dir()
    setup = itlib.Setup("cold", work, model=MODEL, partitions=PARTS)
    setup.create_topics()
    config = setup.write_config()
    avro = fdit.Avro()
    r = fdit.redis_client()
    fields = dict.fromkeys(LEADS)
    fields.update({("ca", "sql-cold"): "sql", ("cv", "cv-sql"): "sql",
                   ("cv", "cv-mql"): "mql", ("cw", "idle-sql"): "sql"})
    with itlib.Cleanup() as c:
        c.add(setup)
        # round 1
        produce(setup, avro, ROUND1)
        ends = setup.end_offsets()
        proc = setup.start()
        wait_done(setup, proc, r, ends, "round 1 and the wall-clock alert")
        # cold now: mql-sla left mql, late-opp left sql
        check_state(r, setup, ALERTS1, {
            ("ca", "sql"): ["sql-cold"], ("cv", "sql"): ["cv-sql"],
            ("cv", "mql"): ["cv-mql"], ("cw", "sql"): ["idle-sql"]}, {
            0: [("ce:idle-sql", DUE["idle-sql"])],
            1: [("ca:mql-sla", DUE["mql-sla:sql"])],
            3: [("ca:exact", DUE["exact"])]}, fields)
        read_alerts(setup, avro, ALERTS1)
        compare_model(r, setup, config, ROUND1, ALERTS1)
        # the event-clock twin of the wall story raised nothing
        assert not r.exists(f"{setup.prefix}:{{ce}}:cold")
        assert not r.exists(f"{setup.prefix}:due:wall:{setup.group}:0")

        # round 2: SIGTERM, restart, more events
        setup.stop(proc)
        # A stale deadline-set entry (as a changed window leaves one):
        # sql-progress left sql long ago and has no deadline. ticker-3's
        # event at T0+60d passes it, and funneld removes it.
        r.zadd(f"{setup.prefix}:due:{setup.group}:3",
               {"ca:sql-progress": T0 + 50 * D})
        proc = setup.start()
        proc.wait_log(r"assigned \d+ partition pair", timeout=60)
        produce(setup, avro, ROUND2 + DLQ2)
        ends = setup.end_offsets()
        wait_done(setup, proc, r, ends, "round 2")
        setup.stop(proc)
        assert r.hgetall(f"{setup.prefix}:stats:{setup.group}:dlq") == \
            {"invalid-field": "1"}
        fields[("ca", "mql-sla")] = "sql"
        fields[("ca", "exact")] = "sql"
        check_state(r, setup, ALERTS1 + ALERTS2, {
            ("ca", "sql"): ["sql-cold", "mql-sla", "exact"],
            ("cv", "sql"): ["cv-sql"], ("cv", "mql"): ["cv-mql"],
            ("cw", "sql"): ["idle-sql"]},
            {0: [("ce:idle-sql", DUE["idle-sql"])]}, fields)
        got = read_alerts(setup, avro, ALERTS1 + ALERTS2)
        compare_model(r, setup, config, ROUND1 + ROUND2, ALERTS1 + ALERTS2)
        print(f"{len(got)} AlertEvents, each once, equal the hand-computed "
              "ones and the reference model", flush=True)


def test_cold_alerts_in_one_batch():
    """The same story, all of it in Kafka before funneld starts and applied
    in as few batches as funneld allows (a close starts its own): a
    deadline set by an event must be passed by a later event of its
    partition in the same batch. The end state equals the two-round run's."""
    work = fdit.work_dir()
    setup = itlib.Setup("cold1b", work, model=MODEL, partitions=PARTS,
                        processing="batch.max_ms = 5000\n"
                                   "batch.max_events = 100000\n")
    setup.create_topics()
    config = setup.write_config()
    avro = fdit.Avro()
    r = fdit.redis_client()
    fields = dict.fromkeys(LEADS)
    fields.update({("ca", "sql-cold"): "sql", ("cv", "cv-sql"): "sql",
                   ("cv", "cv-mql"): "mql", ("cw", "idle-sql"): "sql",
                   ("ca", "mql-sla"): "sql", ("ca", "exact"): "sql"})
    with itlib.Cleanup() as c:
        c.add(setup)
        produce(setup, avro, ROUND1 + ROUND2 + DLQ2)
        ends = setup.end_offsets()
        proc = setup.start()
        wait_done(setup, proc, r, ends, "the whole story")
        setup.stop(proc)
        check_state(r, setup, ALERTS1 + ALERTS2, {
            ("ca", "sql"): ["sql-cold", "mql-sla", "exact"],
            ("cv", "sql"): ["cv-sql"], ("cv", "mql"): ["cv-mql"],
            ("cw", "sql"): ["idle-sql"]},
            {0: [("ce:idle-sql", DUE["idle-sql"])]}, fields)
        read_alerts(setup, avro, ALERTS1 + ALERTS2)
        compare_model(r, setup, config, ROUND1 + ROUND2, ALERTS1 + ALERTS2)


if __name__ == "__main__":
    fdit.main(globals())
