#!/usr/bin/env python3
"""funnelctl velocity, sourcing and visitors, and their /api routes.

1. Keys written here with redis-py under a fresh prefix, every number
   chosen by hand: funnelctl's JSON must show exactly the hand-computed
   counts, means, median/p90 buckets, shares, PFCOUNTs (exact for a few ids)
   and nulls; CSV and table have one row per JSON row; usage errors exit 2,
   an unknown tenant 3, each with a message saying what to do.
2. The hand-made stream of test_e2e_handmade.py (tenant "hm") through a
   running funneld: the three commands must agree with the keys that test
   expects funneld to write (so the read side matches the writer's field
   names), and /api/velocity, /api/sourcing and /api/visitors must answer
   funnelctl's documents, 400 for bad arguments and 404 for an unknown
   tenant.
"""

import json
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import fdit  # noqa: E402
import itlib  # noqa: E402
import test_e2e_handmade as hm  # noqa: E402
from test_funnelctl import (BareCtl, Ctl, csv_blocks,  # noqa: E402
                            month_add)

DAY = 86400000
STAGES = ["lead", "mql", "sql", "opportunity"]
BUCKETS = [("le:1h", 3600000), ("le:1d", DAY), ("le:3d", 3 * DAY),
           ("le:7d", 7 * DAY), ("le:14d", 14 * DAY), ("le:30d", 30 * DAY),
           ("le:60d", 60 * DAY), ("le:90d", 90 * DAY), ("le:inf", None)]
VEL_COLS = ["stage", "count", "sum_ms", "mean_ms", "mean_days",
            "median_bucket", "median_le_ms", "p90_bucket", "p90_le_ms"] + \
    [b for b, _ in BUCKETS]


def ratio(n, d):
    return round(n / d, 4) if d else None


# ------------------------------------------------------------ expectations

def quantile(h, pct):
    """(bucket, upper bound ms) of the first bucket whose running count
    reaches pct % of the stays (nearest rank), (None, None) when empty."""
    counts = [int(h.get(b, 0)) for b, _ in BUCKETS]
    total, run = sum(counts), 0
    if not total:
        return None, None
    for (b, ms), n in zip(BUCKETS, counts):
        run += n
        if run * 100 >= total * pct:
            return b, ms
    raise AssertionError("unreachable")


def velocity_row(stage, h, channel=None):
    """The row funnelctl velocity must show for velocity hash h."""
    count, total = int(h.get("count", 0)), int(h.get("sum_ms", 0))
    row = {"stage": stage}
    if channel is not None:
        row["channel"] = channel
    med, med_ms = quantile(h, 50)
    p90, p90_ms = quantile(h, 90)
    row.update({"count": count, "sum_ms": total,
                "mean_ms": (total + count // 2) // count if count else None,
                "mean_days": ratio(total, count * DAY),
                "median_bucket": med, "median_le_ms": med_ms,
                "p90_bucket": p90, "p90_le_ms": p90_ms})
    row.update({b: int(h.get(b, 0)) for b, _ in BUCKETS})
    return row


def sourcing_rows(hashes, months):
    """Tables sourcing and sourcing_revenue for {month: sourcing hash}."""
    curs = sorted({f.split(":", 1)[1] for m in months
                   for f in hashes.get(m, {}) if ":" in f})
    src, rev = [], []
    for m in months:
        h = {f: int(v) for f, v in hashes.get(m, {}).items()}
        c = h.get("customers", 0)
        src.append({"month": m, "customers": c,
                    "sourced": h.get("sourced", 0),
                    "sourced_share": ratio(h.get("sourced", 0), c),
                    "influenced": h.get("influenced", 0),
                    "influenced_share": ratio(h.get("influenced", 0), c)})
        for cur in curs:
            total = h.get(f"revenue:{cur}", 0)
            s = h.get(f"sourced_revenue:{cur}", 0)
            i = h.get(f"influenced_revenue:{cur}", 0)
            rev.append({"month": m, "currency": cur, "revenue_minor": total,
                        "sourced_revenue_minor": s,
                        "sourced_revenue_share": ratio(s, total),
                        "influenced_revenue_minor": i,
                        "influenced_revenue_share": ratio(i, total)})
    return src, rev


def persona_rows(hashes, months):
    """Table personas for {(stage, month): persona hash}."""
    out = []
    for m in months:
        hs = {s: {p: int(v) for p, v in hashes.get((s, m), {}).items()}
              for s in ("lead", "mql", "sql")}
        for p in sorted(set().union(*hs.values())):
            n = {s: hs[s].get(p, 0) for s in hs}
            out.append({"month": m, "persona": p, "lead": n["lead"],
                        "mql": n["mql"], "sql": n["sql"],
                        "lead_to_mql": ratio(n["mql"], n["lead"]),
                        "mql_to_sql": ratio(n["sql"], n["mql"])})
    return out


def check_shapes(c, args, doc):
    """CSV: one block per JSON table with a row per JSON row; table: a
    titled block per table with every row."""
    tables = [k for k in doc if k not in ("command", "notes")]
    blocks = csv_blocks(c.ok("--format", "csv", *args))
    assert len(blocks) == len(tables), (args, blocks)
    for name, block in zip(tables, blocks):
        rows = doc[name]
        if rows:
            assert block[0] == list(rows[0]), (name, block[0])
        assert len(block) == len(rows) + 1, (name, block)
        assert all(len(x) == len(block[0]) for x in block), (name, block)
    text = c.ok(*args).split("\n\n")
    for name, section in zip(tables, text):
        lines = section.splitlines()
        assert lines[0] == name and len(lines) == len(doc[name]) + 2, \
            (name, lines)


# ------------------------------------------------------------ hand-written

class Keys:
    """Writes hashes, sets and HyperLogLogs under a fresh prefix and deletes
    them afterwards."""

    def __init__(self, r, prefix, tenant):
        self.r, self.p, self.keys = r, f"{prefix}:{{{tenant}}}", []
        self.keys += [f"{prefix}:meta", f"{prefix}:tenants"]
        r.hset(f"{prefix}:meta", mapping={"layout_version": "1"})
        r.sadd(f"{prefix}:tenants", tenant)

    def hash(self, suffix, h):
        self.keys.append(f"{self.p}:{suffix}")
        self.r.hset(self.keys[-1], mapping={k: str(v) for k, v in h.items()})

    def set(self, suffix, *members):
        self.keys.append(f"{self.p}:{suffix}")
        self.r.sadd(self.keys[-1], *members)

    def hll(self, suffix, *ids):
        self.keys.append(f"{self.p}:{suffix}")
        self.r.pfadd(self.keys[-1], *ids)

    def delete(self):
        self.r.delete(*self.keys)


# Velocity hashes (all time). lead: 4 stays, median the 2nd (le:1d), p90
# the 4th (le:7d); mql: 3 stays, the median falls in le:inf (no bound);
# sql: none; opportunity: 2 stays, median the 1st (le:1h), p90 the 2nd
# (le:14d), an odd sum for the rounding of mean_ms.
VELOCITY = {
    "lead": {"sum_ms": 1050001000, "count": 4, "le:1h": 1, "le:1d": 1,
             "le:7d": 2},
    "mql": {"sum_ms": 300 * DAY, "count": 3, "le:90d": 1, "le:inf": 2},
    "opportunity": {"sum_ms": 1000001, "count": 2, "le:1h": 1, "le:14d": 1},
}
VELOCITY_CHANNEL = {
    ("lead", "email"): {"sum_ms": 1000, "count": 1, "le:1h": 1},
    ("lead", "paid_search"): {"sum_ms": 1050000000, "count": 3, "le:1d": 1,
                              "le:7d": 2},
    ("mql", "paid_search"): {"sum_ms": 300 * DAY, "count": 3, "le:90d": 1,
                             "le:inf": 2},
}
CHANNELS = ["email", "paid_search", "unknown"]

SOURCING = {
    "2026-09": {"customers": 4, "sourced": 1, "influenced": 3,
                "revenue:USD": 1000, "sourced_revenue:USD": 250,
                "influenced_revenue:USD": 999, "revenue:EUR": 300,
                "influenced_revenue:EUR": 300},
    # 2026-10: no hash (zeros, null shares)
    "2026-11": {"customers": 2, "influenced": 2, "revenue:GBP": 700,
                "influenced_revenue:GBP": 700},
}
PERSONAS = {
    ("lead", "2026-09"): {"cto": 10, "cfo": 4},
    ("mql", "2026-09"): {"cto": 5, "dev": 2},
    ("sql", "2026-09"): {"cto": 2},
    ("mql", "2026-11"): {"cfo": 3},
}
VISITORS = {"2026-10-01": ["a", "b", "c"], "2026-10-02": ["c", "d"],
            "2026-10-04": ["a", "e"]}
DAILY_LEAD = {"2026-10-01": 1, "2026-10-03": 2, "2026-10-04": 1,
              "2026-10-05": 7}


def check_velocity(c, t):
    doc = c.json("velocity", "--tenant", t)
    assert doc["command"] == "velocity", doc
    rows = doc["velocity"]
    assert [x["stage"] for x in rows] == STAGES, rows
    assert all(list(x) == VEL_COLS for x in rows), rows[0]
    want = [velocity_row(s, VELOCITY.get(s, {})) for s in STAGES]
    assert rows == want, (rows, want)
    # the same, written out by hand
    lead, mql, sql, opp = rows
    assert (lead["mean_ms"], lead["mean_days"]) == (262500250, 3.0382), lead
    assert (lead["median_bucket"], lead["median_le_ms"]) == \
        ("le:1d", 86400000), lead
    assert (lead["p90_bucket"], lead["p90_le_ms"]) == ("le:7d", 604800000)
    assert (mql["mean_ms"], mql["mean_days"]) == (8640000000, 100.0), mql
    assert mql["median_bucket"] == "le:inf" and mql["median_le_ms"] is None
    assert mql["p90_bucket"] == "le:inf" and mql["p90_le_ms"] is None, mql
    assert mql["le:90d"] == 1 and mql["le:inf"] == 2, mql
    assert sql["count"] == 0 and sql["mean_ms"] is None and \
        sql["mean_days"] is None and sql["median_bucket"] is None and \
        sql["p90_le_ms"] is None, sql
    assert (opp["mean_ms"], opp["mean_days"]) == (500001, 0.0058), opp
    assert (opp["median_bucket"], opp["median_le_ms"]) == ("le:1h", 3600000)
    assert (opp["p90_bucket"], opp["p90_le_ms"]) == ("le:14d", 1209600000)
    check_shapes(c, ["velocity", "--tenant", t], doc)

    doc = c.json("velocity", "--tenant", t, "--by", "channel")
    rows = doc["velocity"]
    assert [(x["stage"], x["channel"]) for x in rows] == \
        [(s, ch) for s in STAGES for ch in CHANNELS], rows
    assert list(rows[0]) == VEL_COLS[:1] + ["channel"] + VEL_COLS[1:]
    want = [velocity_row(s, VELOCITY_CHANNEL.get((s, ch), {}), ch)
            for s in STAGES for ch in CHANNELS]
    assert rows == want, (rows, want)
    email = rows[0]
    assert email["median_bucket"] == "le:1h" and email["mean_ms"] == 1000
    paid = rows[1]  # 3 stays: median the 2nd (le:7d), p90 the 3rd
    assert (paid["median_bucket"], paid["p90_bucket"]) == ("le:7d", "le:7d")
    assert rows[2]["count"] == 0 and rows[2]["median_bucket"] is None
    check_shapes(c, ["velocity", "--tenant", t, "--by", "channel"], doc)


def check_sourcing(c, t):
    months = ["2026-09", "2026-10", "2026-11"]
    args = ["sourcing", "--tenant", t, "--from", "2026-09", "--to", "2026-11"]
    doc = c.json(*args)
    assert doc["command"] == "sourcing" and \
        [k for k in doc] == ["command", "sourcing", "sourcing_revenue",
                             "personas", "notes"], list(doc)
    src, rev = sourcing_rows(SOURCING, months)
    assert doc["sourcing"] == src, doc["sourcing"]
    assert doc["sourcing_revenue"] == rev, doc["sourcing_revenue"]
    assert doc["personas"] == persona_rows(PERSONAS, months), doc["personas"]
    # by hand
    sep, oct_, nov = doc["sourcing"]
    assert (sep["sourced_share"], sep["influenced_share"]) == (0.25, 0.75)
    assert oct_ == {"month": "2026-10", "customers": 0, "sourced": 0,
                    "sourced_share": None, "influenced": 0,
                    "influenced_share": None}, oct_
    assert (nov["sourced_share"], nov["influenced_share"]) == (0.0, 1.0)
    rev = {(x["month"], x["currency"]): x for x in doc["sourcing_revenue"]}
    assert [k for k in rev] == [(m, c_) for m in months
                                for c_ in ("EUR", "GBP", "USD")], list(rev)
    assert rev[("2026-09", "USD")]["sourced_revenue_share"] == 0.25
    assert rev[("2026-09", "USD")]["influenced_revenue_share"] == 0.999
    assert rev[("2026-09", "EUR")]["sourced_revenue_minor"] == 0 and \
        rev[("2026-09", "EUR")]["influenced_revenue_share"] == 1.0
    assert rev[("2026-10", "USD")]["revenue_minor"] == 0 and \
        rev[("2026-10", "USD")]["sourced_revenue_share"] is None
    per = {(x["month"], x["persona"]): x for x in doc["personas"]}
    assert list(per) == [("2026-09", "cfo"), ("2026-09", "cto"),
                         ("2026-09", "dev"), ("2026-11", "cfo")], list(per)
    assert per[("2026-09", "cto")] == {
        "month": "2026-09", "persona": "cto", "lead": 10, "mql": 5,
        "sql": 2, "lead_to_mql": 0.5, "mql_to_sql": 0.4}
    assert per[("2026-09", "cfo")]["mql_to_sql"] is None and \
        per[("2026-09", "cfo")]["lead_to_mql"] == 0.0
    assert per[("2026-09", "dev")]["lead_to_mql"] is None and \
        per[("2026-09", "dev")]["mql_to_sql"] == 0.0
    check_shapes(c, args, doc)
    # one month
    doc = c.json("sourcing", "--tenant", t, "--month", "2026-11")
    assert [x["month"] for x in doc["sourcing"]] == ["2026-11"]
    assert [x["currency"] for x in doc["sourcing_revenue"]] == ["GBP"]
    assert doc["personas"] == persona_rows(PERSONAS, ["2026-11"])
    # default: the 3 months up to the current one (UTC without a config),
    # retried once across a month boundary
    for _ in range(2):
        now = datetime.now(timezone.utc).strftime("%Y-%m")
        want = [month_add(now, d) for d in (-2, -1, 0)]
        got = [x["month"] for x in
               c.json("sourcing", "--tenant", t)["sourcing"]]
        if got == want:
            break
    else:
        raise AssertionError(f"default period {got} is not {want}")


def check_visitors(c, t, keys):
    args = ["visitors", "--tenant", t, "--from", "2026-10-01", "--to",
            "2026-10-04"]
    doc = c.json(*args)
    assert doc["command"] == "visitors"
    assert doc["visitors"] == [
        {"date": "2026-10-01", "visitors": 3, "leads": 1,
         "visitor_to_lead": 0.3333},
        {"date": "2026-10-02", "visitors": 2, "leads": 0,
         "visitor_to_lead": 0.0},
        {"date": "2026-10-03", "visitors": 0, "leads": 2,
         "visitor_to_lead": None},
        {"date": "2026-10-04", "visitors": 2, "leads": 1,
         "visitor_to_lead": 0.5}], doc["visitors"]
    # a, b, c, d, e: the union, not 3 + 2 + 2 = 7
    assert doc["visitors_period"] == [
        {"from": "2026-10-01", "to": "2026-10-04", "days": 4,
         "visitors": 5, "leads": 4, "visitor_to_lead": 0.8}], \
        doc["visitors_period"]
    check_shapes(c, args, doc)
    # a period without visitors: conversion null
    doc = c.json("visitors", "--tenant", t, "--from", "2026-10-05", "--to",
                 "2026-10-05")
    assert doc["visitors_period"][0]["visitors"] == 0 and \
        doc["visitors_period"][0]["leads"] == 7 and \
        doc["visitors_period"][0]["visitor_to_lead"] is None, doc
    # default: the 7 days ending today (UTC without a config); --from alone
    # runs to today. Retried once across midnight.
    for _ in range(2):
        today = datetime.now(timezone.utc).date()
        keys.hll(f"visitors:{today.isoformat()}", "x", "y", "z")
        keys.hll(f"visitors:{(today - timedelta(days=6)).isoformat()}",
                 "x", "w")
        doc = c.json("visitors", "--tenant", t)
        days = [(today - timedelta(days=6 - i)).isoformat()
                for i in range(7)]
        doc2 = c.json("visitors", "--tenant", t, "--from", days[4])
        if [x["date"] for x in doc["visitors"]] == days:
            break
    else:
        raise AssertionError(f"default period is not {days}: {doc}")
    assert doc["visitors"][-1]["visitors"] == 3 and \
        doc["visitors"][0]["visitors"] == 2, doc
    assert doc["visitors_period"][0]["visitors"] == 4, doc  # w, x, y, z
    assert [x["date"] for x in doc2["visitors"]] == days[4:], doc2


def check_errors(c, t):
    usage = [
        (["velocity"], "--tenant"),
        (["velocity", "--tenant", t, "--by", "campaign"], "--by channel"),
        (["velocity", "--tenant", t, "--month", "2026-10"], "all time"),
        (["sourcing"], "--tenant"),
        (["sourcing", "--tenant", t, "--month", "2026-13"], "YYYY-MM"),
        (["sourcing", "--tenant", t, "--from", "2026-11", "--to",
          "2026-09"], "swap"),
        (["sourcing", "--tenant", t, "--by", "channel"], "--month"),
        (["visitors"], "--tenant"),
        (["visitors", "--tenant", t, "--from", "2026-10"], "YYYY-MM-DD"),
        (["visitors", "--tenant", t, "--to", "2026-02-30"], "YYYY-MM-DD"),
        (["visitors", "--tenant", t, "--from", "2026-10-04", "--to",
          "2026-10-01"], "swap"),
        (["visitors", "--tenant", t, "--from", "2025-01-01", "--to",
          "2026-01-02"], "366 days"),
        (["visitors", "--tenant", t, "--from", "2999-01-01"], "give --to"),
        (["visitors", "--tenant", t, "--days", "3"], "--from"),
    ]
    for args, needle in usage:
        rc, out, err = c.run(*args)
        assert rc == 2 and not out and needle in err and \
            f"see funnelctl {args[0]} --help" in err, (args, rc, out, err)
    for cmd in ("velocity", "sourcing", "visitors"):
        rc, out, err = c.run(cmd, "--tenant", "nobody-here")
        assert rc == 3 and not out and "nobody-here" in err and \
            "not found" in err, (cmd, rc, err)
        rc, out, err = c.run(cmd, "--help")
        assert rc == 0 and f"usage: funnelctl {cmd} --tenant T" in out, out
    rc, out, err = c.run("--help")
    assert rc == 0 and all(f"  {cmd} " in out for cmd in
                           ("velocity", "sourcing", "visitors")), out
    rc, out, err = c.run("nope")
    assert rc == 2 and "velocity, sourcing, visitors" in err, err


def test_hand_written_keys():
    r = fdit.redis_client()
    prefix, t = fdit.unique("ctl-analytics"), "ana"
    keys = Keys(r, prefix, t)
    try:
        for stage, h in VELOCITY.items():
            keys.hash(f"velocity:{stage}", h)
        for (stage, ch), h in VELOCITY_CHANNEL.items():
            keys.hash(f"velocity:{stage}:channel:{ch}", h)
        keys.set("dim:channel", *CHANNELS)
        for m, h in SOURCING.items():
            keys.hash(f"sourcing:{m}", h)
        for (stage, m), h in PERSONAS.items():
            keys.hash(f"monthly:{stage}:persona:{m}", h)
        for d, ids in VISITORS.items():
            keys.hll(f"visitors:{d}", *ids)
        keys.hash("daily:lead", DAILY_LEAD)
        c = BareCtl(["--redis", f"{fdit.redis_host()}:{fdit.redis_port()}",
                     "--prefix", prefix])
        check_velocity(c, t)
        print("velocity: means, median/p90 buckets, nulls, per channel ok",
              flush=True)
        check_sourcing(c, t)
        print("sourcing: shares, revenue per currency, personas ok",
              flush=True)
        check_visitors(c, t, keys)
        print("visitors: PFCOUNT per day, union of the period, default "
              "period ok", flush=True)
        check_errors(c, t)
        print("errors: usage 2, unknown tenant 3, help ok", flush=True)
    finally:
        keys.delete()


# ------------------------------------------------------------ real funneld

def check_against_stream(ctl, r, setup):
    """The commands against what funneld wrote for the hand-made stream
    (test_e2e_handmade.expected_keys: the keys it must write)."""
    want = hm.expected_keys(setup.group)
    p = f":{{{hm.T}}}"
    real = f"{setup.prefix}:{{{hm.T}}}"
    # velocity: the expected hashes are the real ones
    for s in STAGES:
        assert r.hgetall(f"{real}:velocity:{s}") == want[f"{p}:velocity:{s}"]
    doc = ctl.json("velocity", "--tenant", hm.T)
    assert doc["velocity"] == [velocity_row(s, want[f"{p}:velocity:{s}"])
                               for s in STAGES], doc["velocity"]
    # alice: lead 2 days (E03 -> E05), mql 1 day, sql 5 days, opportunity
    # 10 days; bob's lead 1 day (his MQL was implied: no stay); carol's
    # lead 5 days. Lead stays 2d, 1d, 5d: median le:3d, p90 le:7d.
    lead = doc["velocity"][0]
    assert lead["count"] == 3 and lead["median_bucket"] == "le:3d" and \
        lead["p90_bucket"] == "le:7d" and lead["le:1d"] == 1, lead
    assert doc["velocity"][3]["median_bucket"] == "le:14d", doc["velocity"]
    channels = sorted(r.smembers(f"{real}:dim:channel"))
    doc = ctl.json("velocity", "--tenant", hm.T, "--by", "channel")
    assert doc["velocity"] == [
        velocity_row(s, want.get(f"{p}:velocity:{s}:channel:{ch}", {}), ch)
        for s in STAGES for ch in channels], doc["velocity"]

    # sourcing: alice's deal, sourced and influenced; personas of October
    doc = ctl.json("sourcing", "--tenant", hm.T, "--month", "2026-10")
    assert doc["sourcing"] == [
        {"month": "2026-10", "customers": 1, "sourced": 1,
         "sourced_share": 1.0, "influenced": 1, "influenced_share": 1.0}]
    assert doc["sourcing_revenue"] == [
        {"month": "2026-10", "currency": "USD", "revenue_minor": hm.AMOUNT,
         "sourced_revenue_minor": hm.AMOUNT, "sourced_revenue_share": 1.0,
         "influenced_revenue_minor": hm.AMOUNT,
         "influenced_revenue_share": 1.0}], doc["sourcing_revenue"]
    personas = {(s, "2026-10"): want.get(f"{p}:monthly:{s}:persona:2026-10",
                                         {})
                for s in ("lead", "mql", "sql")}
    assert doc["personas"] == persona_rows(personas, ["2026-10"])
    assert [(x["persona"], x["lead"], x["mql"], x["sql"]) for x in
            doc["personas"]] == [("it_admin", 1, 1, 1),
                                 ("marketing_leader", 1, 1, 1)], doc

    # visitors: alice's cookie on the days of e01, e02, e03, e08
    doc = ctl.json("visitors", "--tenant", hm.T, "--from", "2026-10-01",
                   "--to", "2026-10-31")
    for x in doc["visitors"]:
        hll = want.get(f"{p}:visitors:{x['date']}")
        assert x["visitors"] == (hll[1] if hll else 0), x
        assert x["leads"] == int(want[f"{p}:daily:lead"].get(x["date"], 0))
    period = doc["visitors_period"][0]
    assert sum(x["visitors"] for x in doc["visitors"]) == 4 and \
        period["visitors"] == 1 and period["leads"] == 3 and \
        period["visitor_to_lead"] == 3.0, period


def check_api(ctl, proc):
    base = itlib.http_base(proc)
    for path, args in (
            (f"/api/velocity?tenant={hm.T}", ["velocity", "--tenant", hm.T]),
            (f"/api/velocity?tenant={hm.T}&by=channel",
             ["velocity", "--tenant", hm.T, "--by", "channel"]),
            (f"/api/sourcing?tenant={hm.T}&from=2026-09&to=2026-11",
             ["sourcing", "--tenant", hm.T, "--from", "2026-09", "--to",
              "2026-11"]),
            (f"/api/sourcing?tenant={hm.T}&month=2026-10",
             ["sourcing", "--tenant", hm.T, "--month", "2026-10"]),
            (f"/api/visitors?tenant={hm.T}&from=2026-10-01&to=2026-10-31",
             ["visitors", "--tenant", hm.T, "--from", "2026-10-01", "--to",
              "2026-10-31"])):
        status, ctype, text = itlib.http_get(base + path)
        assert status == 200 and ctype.startswith("application/json"), \
            (path, status, text)
        assert json.loads(text) == ctl.json(*args), path
    # without from/to: the last 7 days up to today (UTC)
    status, _, text = itlib.http_get(f"{base}/api/visitors?tenant={hm.T}")
    assert status == 200 and len(json.loads(text)["visitors"]) == 7, text
    for path, code, needle in (
            ("/api/velocity", 400, "tenant"),
            (f"/api/velocity?tenant={hm.T}&by=campaign", 400, "--by channel"),
            (f"/api/sourcing?tenant={hm.T}&month=2026-13", 400, "YYYY-MM"),
            (f"/api/visitors?tenant={hm.T}&from=2026-10", 400, "YYYY-MM-DD"),
            (f"/api/visitors?tenant={hm.T}&from=2026-10-09&to=2026-10-01",
             400, "swap"),
            ("/api/velocity?tenant=no-such-tenant", 404, "not found"),
            ("/api/sourcing?tenant=no-such-tenant", 404, "not found"),
            ("/api/visitors?tenant=no-such-tenant", 404, "not found")):
        status, ctype, text = itlib.http_get(base + path)
        assert status == code and ctype.startswith("application/json") and \
            needle in json.loads(text)["error"], (path, status, text)


def test_against_running_funneld():
    work = fdit.work_dir()
    setup = itlib.Setup("ctl_analytics", work, model=hm.MODEL,
                        partitions=hm.PARTS)
    setup.create_topics()
    config = setup.write_config()
    hm.produce_stream(setup, fdit.Avro())
    r = fdit.redis_client()
    ends = setup.end_offsets()
    proc = setup.start()
    try:
        setup.wait_caught_up(proc, r, ends, timeout=90)
        ctl = Ctl(config)
        check_against_stream(ctl, r, setup)
        print("stream: velocity, sourcing, personas and visitors match "
              "what funneld wrote", flush=True)
        check_api(ctl, proc)
        print("api: /api/velocity, /api/sourcing, /api/visitors equal "
              "funnelctl's documents; 400 and 404 ok", flush=True)
        assert proc.alive(), proc.log_tail()
        setup.stop(proc)
    finally:
        setup.kill_all()


if __name__ == "__main__":
    fdit.main(globals())
