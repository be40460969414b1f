#!/usr/bin/env python3
"""funnelctl against a real funneld deployment.

funneld processes the hand-written stream of test_e2e_handmade.py (tenant
"hm", every number known), and while it keeps running funnelctl's report,
channels, lead and status must show exactly those numbers: each one is
compared with the hand-computed expectation and with Redis read here
independently (redis-py). Then the three output formats (JSON, aligned
table, RFC 4180 CSV) must agree, and the exit codes hold: 0 ok / --help,
1 runtime (Redis unreachable, no data, other layout), 2 usage, 3 not found.
"""

import csv
from collections import Counter, defaultdict
from fractions import Fraction
import io
import json
import os
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import fdit  # noqa: E402
import itlib  # noqa: E402
import test_e2e_handmade as hm  # noqa: E402

STAGES = ["lead", "mql", "sql", "opportunity", "closed_won", "closed_lost"]
STEP_FROM = {"mql": "lead", "sql": "mql", "opportunity": "sql",
             "closed_won": "opportunity"}
from refmodel import MODELS  # noqa: E402
OCT = "2026-10"


def funnelctl_bin():
    path = os.environ.get("FUNNELCTL_BIN")
    if not path or not Path(path).exists():
        raise fdit.ITError(f"FUNNELCTL_BIN is not set or does not exist "
                           f"({path!r}): build the funnelctl target and run "
                           "the test through ctest")
    return path


class Ctl:
    """Runs funnelctl with a deployment's config."""

    def __init__(self, config):
        self.config = str(config)

    def run(self, *args, config=True, timeout=60):
        argv = [funnelctl_bin()] + (["-c", self.config] if config else []) \
            + [str(a) for a in args]
        # bytes, decoded here: text=True would turn CSV's CRLF into LF
        p = subprocess.run(argv, capture_output=True, timeout=timeout)
        return p.returncode, p.stdout.decode(), p.stderr.decode()

    def ok(self, *args, **kw):
        rc, out, err = self.run(*args, **kw)
        assert rc == 0, f"funnelctl {' '.join(map(str, args))} exited " \
                        f"{rc}:\n{err}"
        assert not err, f"funnelctl wrote to stderr: {err}"
        return out

    def json(self, *args):
        return json.loads(self.ok("--format", "json", *args))


def close(a, b, places=4):
    return a is not None and abs(a - round(b, places)) < 10 ** -places / 2 \
        + 1e-9


def ratio(n, d):
    return n / d if d else None


def business_days(month):
    y, m = map(int, month.split("-"))
    d, n = datetime(y, m, 1), 0
    while d.month == m:
        n += d.weekday() < 5
        d = datetime.fromordinal(d.toordinal() + 1)
    return n


def month_add(month, delta):
    y, m = map(int, month.split("-"))
    i = y * 12 + m - 1 + delta
    return f"{i // 12:04d}-{i % 12 + 1:02d}"


def iso(ms):
    return datetime.fromtimestamp(ms // 1000, timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


# ------------------------------------------------------------ report

def check_report(ctl, r, setup, months, args):
    doc = ctl.json("report", "--tenant", hm.T, *args)
    assert doc["command"] == "report"
    rows = doc["funnel"]
    assert [(x["month"], x["stage"]) for x in rows] == \
        [(m, s) for m in months for s in STAGES], rows
    key = f"{setup.prefix}:{{{hm.T}}}:monthly:"
    counts = {s: r.hgetall(key + s) for s in STAGES}

    def n(stage, month):
        return int(counts[stage].get(month, 0))
    for x in rows:
        m, s = x["month"], x["stage"]
        cur, prev = n(s, m), n(s, month_add(m, -1))
        assert x["entries"] == cur, x
        assert x["mom_change"] == cur - prev, x
        want = ratio(cur - prev, prev)
        assert (x["mom_change_ratio"] is None) == (want is None), x
        assert want is None or close(x["mom_change_ratio"], want), x
        want = ratio(cur, n(STEP_FROM[s], m)) if s in STEP_FROM else None
        assert (x["step_conversion"] is None) == (want is None), x
        assert want is None or close(x["step_conversion"], want), x
        want = ratio(cur, n("lead", m)) if s != "lead" else None
        assert (x["cumulative_conversion"] is None) == (want is None), x
        assert want is None or close(x["cumulative_conversion"], want), x
        assert x["business_days"] == business_days(m), x
        assert close(x["per_business_day"], cur / business_days(m)), x
    return rows


def test_report(ctl, r, setup):
    rows = check_report(ctl, r, setup, [OCT], ["--month", OCT])
    # The hand-computed funnel of October (test_e2e_handmade.py).
    got = {x["stage"]: x for x in rows}
    want = {"lead": 3, "mql": 2, "sql": 2, "opportunity": 1,
            "closed_won": 1, "closed_lost": 1}
    assert {s: x["entries"] for s, x in got.items()} == want, got
    assert got["mql"]["step_conversion"] == round(2 / 3, 4)
    assert got["sql"]["step_conversion"] == 1.0
    assert got["opportunity"]["step_conversion"] == 0.5
    assert got["closed_won"]["step_conversion"] == 1.0
    assert got["closed_won"]["cumulative_conversion"] == round(1 / 3, 4)
    assert got["lead"]["mom_change"] == 3  # nothing in September
    assert got["lead"]["mom_change_ratio"] is None
    assert got["lead"]["business_days"] == 22  # October 2026: Mon-Fri
    assert got["lead"]["per_business_day"] == round(3 / 22, 4)

    # A range around it: September and November are empty.
    rows = check_report(ctl, r, setup, ["2026-09", OCT, "2026-11"],
                        ["--from", "2026-09", "--to", "2026-11"])
    nov = {x["stage"]: x for x in rows if x["month"] == "2026-11"}
    assert nov["lead"]["mom_change"] == -3 and \
        nov["lead"]["mom_change_ratio"] == -1.0, nov["lead"]
    assert nov["mql"]["step_conversion"] is None  # no leads: no ratio

    # Default: the last three months up to the current one (tenant hm is
    # UTC).
    now = datetime.now(timezone.utc).strftime("%Y-%m")
    check_report(ctl, r, setup, [month_add(now, -2), month_add(now, -1), now],
                 [])


# ------------------------------------------------------------ channels

# Spend of the hand-made stream (USD), per period and dimension.
SPEND = {
    "all": {"channel": {"paid_search": 12000, "social": 50000,
                        "referral": 1000},
            "campaign": {"fall-search": 12000, "linkedin-abm": 50000,
                         "partner-x": 1000}},
    OCT: {"channel": {"paid_search": 12000, "social": 50000},
          "campaign": {"fall-search": 12000, "linkedin-abm": 50000}},
}


def spend_cols(spend, revenue):
    if spend is None:
        return {"spend_minor": None, "roas": None, "roi": None}
    return {"spend_minor": spend, "roas": round(revenue / spend, 4),
            "roi": round((revenue - spend) / spend, 4)}


def check_channels(ctl, r, setup, args, model_keys, month=None, by="channel"):
    doc = ctl.json("channels", "--tenant", hm.T, *args)
    table = "campaigns" if by == "campaign" else "channels"
    period = month or "all"
    spend = SPEND[period][by]
    want_rows, want_totals = [], []
    for model in model_keys:
        key = f"{setup.prefix}:{{{hm.T}}}:revenue:{model}:USD" + \
            (f":{month}" if month else "")
        h = r.hgetall(key)
        assert h, f"{key} is missing"
        total = int(h["total"])
        credits = sorted(((f[len(by) + 1:], int(v)) for f, v in h.items()
                          if f.startswith(by + ":")),
                         key=lambda c: (-c[1], c[0]))
        for name, v in credits:
            want_rows.append({"model": model, "currency": "USD",
                              "period": period, by: name,
                              "revenue_minor": v,
                              "share": round(v / total, 4),
                              **spend_cols(spend.get(name), v)})
        # spent on but credited nothing under this model: ROI -1
        for name in sorted(set(spend) - {c for c, _ in credits}):
            want_rows.append({"model": model, "currency": "USD",
                              "period": period, by: name,
                              "revenue_minor": 0, "share": 0.0,
                              **spend_cols(spend[name], 0)})
        want_totals.append({
            "model": model, "currency": "USD", "period": period,
            "deals": int(h["deals"]), "total_minor": total,
            "attributed_minor": sum(v for _, v in credits),
            "unattributed_minor": int(h.get("unattributed", 0))})
    assert doc[table] == want_rows, (doc[table], want_rows)
    assert doc["totals"] == want_totals, (doc["totals"], want_totals)
    # Costs: the spend over the stage entries of the leads each channel
    # (campaign) sourced, read here from the funnel counters.
    want_costs = []
    p = f"{setup.prefix}:{{{hm.T}}}"
    for name in sorted(spend):
        counts = []
        for stage in ("lead", "mql", "sql", "closed_won"):
            if month:
                v = r.hget(f"{p}:monthly:{stage}:{by}:{month}", name)
                counts.append(int(v or 0))
            else:
                counts.append(sum(int(x) for x in r.hvals(
                    f"{p}:daily:{stage}:{by}:{name}")))
        want_costs.append({
            "currency": "USD", "period": period, by: name,
            "spend_minor": spend[name], "leads": counts[0],
            "mqls": counts[1], "sqls": counts[2], "customers": counts[3],
            "cost_per_lead": ratio2(spend[name], counts[0]),
            "cost_per_mql": ratio2(spend[name], counts[1]),
            "cost_per_sql": ratio2(spend[name], counts[2]),
            "cac": ratio2(spend[name], counts[3])})
    costs = [c for c in doc["campaign_costs" if by == "campaign" else "costs"]
             if c["currency"] == "USD"]
    assert costs == want_costs, (costs, want_costs)
    return doc


def ratio2(n, d):
    return round(n / d, 2) if d > 0 else None


def test_channels(ctl, r, setup):
    doc = check_channels(ctl, r, setup, [], MODELS)
    # The hand-computed credits: every channel sum equals the deal.
    revenue = hm.expected_revenue()
    for m in MODELS:
        rows = {x["channel"]: x["revenue_minor"] for x in doc["channels"]
                if x["model"] == m and x["revenue_minor"]}
        assert rows == {f[len("channel:"):]: int(v)
                        for f, v in revenue[m].items()
                        if f.startswith("channel:") and int(v)}, (m, rows)
        tot = [t for t in doc["totals"] if t["model"] == m]
        assert tot == [{"model": m, "currency": "USD", "period": "all",
                        "deals": 1, "total_minor": hm.AMOUNT,
                        "attributed_minor": hm.AMOUNT,
                        "unattributed_minor": 0}], tot
    # By hand: first touch gives the whole deal to paid_search (t1), which
    # cost 12 000: ROAS 1 000 001 / 12 000 = 83.3334, ROI 82.3334; social
    # (50 000 spent) got nothing: ROI -1; referral sourced bob (lead, MQL,
    # SQL, no customer yet) for 1 000: cost per lead 1 000, no CAC.
    ft = {x["channel"]: x for x in doc["channels"]
          if x["model"] == "first_touch"}
    assert (ft["paid_search"]["roas"], ft["paid_search"]["roi"]) == \
        (83.3334, 82.3334), ft
    assert (ft["social"]["revenue_minor"], ft["social"]["roi"]) == (0, -1.0)
    assert ft["referral"]["spend_minor"] == 1000, ft
    ref = [c for c in doc["costs"] if c["channel"] == "referral"]
    assert ref == [{"currency": "USD", "period": "all", "channel": "referral",
                    "spend_minor": 1000, "leads": 1, "mqls": 1, "sqls": 1,
                    "customers": 0, "cost_per_lead": 1000.0,
                    "cost_per_mql": 1000.0, "cost_per_sql": 1000.0,
                    "cac": None}], ref
    check_channels(ctl, r, setup, ["--model", "w_shaped", "--month", OCT,
                                   "--currency", "USD"], ["w_shaped"],
                   month=OCT)
    check_channels(ctl, r, setup, ["--model", "linear", "--by", "campaign"],
                   ["linear"], by="campaign")
    # Nothing closed in September, nothing in GBP: empty tables, exit 0.
    for args in (["--month", "2026-09"], ["--currency", "GBP"]):
        doc = ctl.json("channels", "--tenant", hm.T, *args)
        assert doc["channels"] == [] and doc["totals"] == [] and \
            doc["costs"] == [], doc
    # EUR: spend (email 700) but no revenue in EUR: costs only.
    doc = ctl.json("channels", "--tenant", hm.T, "--currency", "EUR")
    assert doc["channels"] == [] and [c["channel"] for c in doc["costs"]] \
        == ["email"], doc


# ------------------------------------------------------------ markov

def test_markov(ctl, r, setup, proc):
    """The removal effects of a hand-computed chain, and hm's one journey."""
    # Journeys A B -> conv, A -> null, B -> conv, A B -> null, C -> conv.
    # From each state: x_C = 1, x_B = 2/3, x_A = (2/3)(2/3) = 4/9; P =
    # (3 x_A + x_B + x_C) / 5 = 3/5. Without A (start->A goes to null):
    # (2/3 + 1) / 5 = 1/3; without B: x_A = 0, (0 + 0 + 1) / 5 = 1/5;
    # without C: (3 * 4/9 + 2/3) / 5 = 2/5. RE = 1 - P'/P: A 4/9, B 2/3,
    # C 1/3; sum 13/9; shares 4/13, 6/13, 3/13. Revenue 1000 USD splits
    # 307.69 / 461.54 / 230.77 -> floors 307 / 461 / 230, the two units
    # left to the largest remainders C (.77) and A (.69): 308 / 461 / 231.
    t = fdit.unique("ctlmk")
    p = f"{setup.prefix}:{{{t}}}"
    r.sadd(f"{setup.prefix}:tenants", t)
    r.hset(f"{p}:markov", mapping={
        "(start)|A": 3, "(start)|B": 1, "(start)|C": 1, "A|B": 2,
        "A|(null)": 1, "B|(conversion)": 2, "B|(null)": 1,
        "C|(conversion)": 1})
    r.hset(f"{p}:sourcing", mapping={"revenue:USD": 1000, "customers": 3})
    try:
        doc = ctl.json("markov", "--tenant", t)
        assert doc["markov"] == [
            {"channel": "A", "removal_effect": round(4 / 9, 4),
             "share": round(4 / 13, 4), "conversion_without": round(1 / 3, 4)},
            {"channel": "B", "removal_effect": round(2 / 3, 4),
             "share": round(6 / 13, 4), "conversion_without": 0.2},
            {"channel": "C", "removal_effect": round(1 / 3, 4),
             "share": round(3 / 13, 4), "conversion_without": 0.4}], doc
        assert doc["summary"] == [{"period": "all", "journeys": 5,
                                   "conversions": 3,
                                   "conversion_probability": 0.6}], doc
        assert doc["revenue"] == [
            {"currency": "USD", "channel": c, "revenue_minor": v}
            for c, v in (("A", 308), ("B", 461), ("C", 231))], doc
        # the same through the JSON API
        base = itlib.http_base(proc)
        status, _, text = itlib.http_get(f"{base}/api/markov?tenant={t}")
        assert status == 200 and json.loads(text)["markov"] == \
            doc["markov"], (status, text)
        # nothing recorded in September: empty chain, exit 0
        doc = ctl.json("markov", "--tenant", t, "--month", "2026-09")
        assert doc["markov"] == [] and doc["summary"][0]["journeys"] == 0
    finally:
        r.delete(f"{p}:markov", f"{p}:sourcing")
        r.srem(f"{setup.prefix}:tenants", t)
    # hm: alice's won journey is the only one. Its first-order chain still
    # branches (a channel seen twice leads on to different channels), so
    # the removal effects are checked against an exact solution here, in
    # fractions, from the transition counts funneld stored.
    doc = ctl.json("markov", "--tenant", hm.T, "--month", OCT)
    trans = {tuple(f.split("|")): int(v) for f, v in
             r.hgetall(f"{setup.prefix}:{{{hm.T}}}:markov:{OCT}").items()}
    path = ["(start)"] + [e["channel"] for e in hm.TOUCHES] + \
        ["(conversion)"]
    assert trans == dict(Counter(zip(path, path[1:]))), trans
    chans = sorted({e["channel"] for e in hm.TOUCHES})
    p_all = markov_p(trans)
    assert p_all == 1
    re_ = {c: 1 - markov_p(trans, removed=c) / p_all for c in chans}
    total = sum(re_.values())
    assert doc["markov"] == [
        {"channel": c, "removal_effect": round(float(re_[c]), 4),
         "share": round(float(re_[c] / total), 4),
         "conversion_without": round(float(markov_p(trans, removed=c)), 4)}
        for c in chans], doc
    assert doc["summary"] == [{"period": OCT, "journeys": 1,
                               "conversions": 1,
                               "conversion_probability": 1.0}], doc
    assert sum(x["revenue_minor"] for x in doc["revenue"]) == hm.AMOUNT


def markov_p(trans, removed=None):
    """P(conversion) from (start) of the chain of transition counts, with
    every transition into `removed` going to (null): Gauss-Jordan in exact
    fractions over the transient states."""
    out = defaultdict(dict)
    for (a, b), n in trans.items():
        b = "(null)" if b == removed else b
        out[a][b] = out[a].get(b, 0) + n
    states = sorted({a for a in out if a != removed})
    idx = {s: i for i, s in enumerate(states)}
    k = len(states)
    # rows: x_s - sum_t P(s,t) x_t = P(s, conversion)
    m = [[Fraction(int(i == j)) for j in range(k)] + [Fraction(0)]
         for i in range(k)]
    for s in states:
        tot = sum(out[s].values())
        for t, n in out[s].items():
            if t == "(conversion)":
                m[idx[s]][k] += Fraction(n, tot)
            elif t in idx:
                m[idx[s]][idx[t]] -= Fraction(n, tot)
    for c in range(k):
        piv = next(r for r in range(c, k) if m[r][c] != 0)
        m[c], m[piv] = m[piv], m[c]
        m[c] = [v / m[c][c] for v in m[c]]
        for r in range(k):
            if r != c and m[r][c] != 0:
                m[r] = [a - m[r][c] * b for a, b in zip(m[r], m[c])]
    return m[idx["(start)"]][k]


# ------------------------------------------------------------ lead

def test_lead(ctl, r, setup):
    doc = ctl.json("lead", "--tenant", hm.T, hm.ALICE)
    h = r.hgetall(f"{setup.prefix}:{{{hm.T}}}:lead:{hm.ALICE}")
    [lead] = doc["lead"]
    assert lead == {
        "lead_id": hm.ALICE, "stage": "closed_won", "cycle": 1, "fit": 15,
        "engagement": 24, "source_channel": "organic_search",
        "source_campaign": None, "persona": "marketing_leader",
        "opportunity_id": "opp-1",
        "created_at": iso(hm.E03["occurred_at"]),
        "created_at_ms": hm.E03["occurred_at"], "created_event": "e03",
        "updated_at": iso(hm.C03["occurred_at"]),
        "updated_at_ms": hm.C03["occurred_at"],
        "anonymous_ids": hm.ANON}, lead
    for f in ("stage", "cycle", "fit", "engagement", "created_at",
              "updated_at"):
        assert str(lead[f if not f.endswith("_at") else f + "_ms"]) == h[f]
    want = [(s, int(h[f"entered:{s}"]), h.get(f"implied:{s}") == "1")
            for s in STAGES if f"entered:{s}" in h]
    assert [(x["stage"], x["entered_at_ms"], x["implied"])
            for x in doc["stages"]] == want, doc["stages"]
    assert [x["stage"] for x in doc["stages"]] == \
        ["lead", "mql", "sql", "opportunity", "closed_won"]
    assert all(x["entered_at"] == iso(x["entered_at_ms"])
               for x in doc["stages"])

    # The journey: anonymous and own touches merged in time order.
    journey = [hm.E01, hm.E02, hm.E03, hm.E04, hm.E05, hm.E06, hm.E07,
               hm.E08, hm.E09, hm.E10]
    assert [(x["event_id"], x["at_ms"], x["channel"], x["campaign"],
             x["type"], x["source"]) for x in doc["touches"]] == \
        [(e["event_id"], e["occurred_at"], e["channel"], e["campaign"],
          e["type"], "lead" if e["lead_id"] else f"anon:{hm.ANON}")
         for e in journey], doc["touches"]
    # ... and the same as Redis's sorted sets, de-duplicated by event id.
    zs = r.zrange(f"{setup.prefix}:{{{hm.T}}}:touches:lead:{hm.ALICE}", 0,
                  -1, withscores=True) + \
        r.zrange(f"{setup.prefix}:{{{hm.T}}}:touches:anon:{hm.ANON}", 0, -1,
                 withscores=True)
    ids = {m.split("|")[0]: int(s) for m, s in zs}
    assert sorted(ids.items(), key=lambda x: (x[1], x[0])) == \
        [(x["event_id"], x["at_ms"]) for x in doc["touches"]]
    milestones = {x["event_id"]: x["milestone"] for x in doc["touches"]
                  if x["milestone"]}
    assert milestones == {"e03": "lead_creation",
                          "e08": "opportunity_creation",
                          "e09": "closed_won"}, milestones
    # The score history: the scores after each event that changed them,
    # as in P:{T}:scores:L.
    assert [(x["event_id"], x["at_ms"], x["fit"], x["engagement"])
            for x in doc["scores"]] == [
        ("e03", hm.E03["occurred_at"], 15, 0),
        ("e04", hm.E04["occurred_at"], 15, 8),
        ("e05", hm.E05["occurred_at"], 15, 20),
        ("e06", hm.E06["occurred_at"], 15, 22),
        ("e09", hm.E09["occurred_at"], 15, 24)], doc["scores"]
    assert doc["scores"][-1]["engagement"] == int(h["engagement"])
    assert all(x["at"] == iso(x["at_ms"]) for x in doc["scores"])

    # Bob: a CRM sql implied his mql.
    doc = ctl.json("lead", "--tenant", hm.T, hm.BOB)
    assert [(x["stage"], x["implied"]) for x in doc["stages"]] == \
        [("lead", False), ("mql", True), ("sql", False)], doc["stages"]
    assert doc["lead"][0]["anonymous_ids"] is None

    # Carol: only known to the CRM, no touches at all.
    doc = ctl.json("lead", "--tenant", hm.T, hm.CAROL)
    assert doc["touches"] == [], doc["touches"]
    assert [x["stage"] for x in doc["stages"]] == ["lead", "closed_lost"]
    assert doc["lead"][0]["source_channel"] == "unknown", doc["lead"]


# ------------------------------------------------------------ status

def expected_offsets(r, setup):
    g, p = setup.group, setup.prefix
    offsets = r.hgetall(f"{p}:offsets:{g}")
    marks = r.hgetall(f"{p}:watermarks:{g}")
    fields = sorted({f for f in list(offsets) + list(marks)
                     if f != "updated_at"},
                    key=lambda f: (f.rsplit(":", 1)[0],
                                   int(f.rsplit(":", 1)[1])))
    want = []
    for f in fields:
        topic, part = f.rsplit(":", 1)
        off = int(offsets[f]) if f in offsets else None
        mark = int(marks[f]) if f in marks else None
        lag = None if mark is None else max(mark - (off or 0), 0)
        want.append({"topic": topic, "partition": int(part), "offset": off,
                     "watermark": mark, "lag": lag})
    return fields, want


def test_status(ctl, r, setup, running):
    g, p = setup.group, setup.prefix
    ends = setup.end_offsets()
    if running:
        # funneld records the watermarks about once a second: wait for them
        # to cover the input (lag "unknown" until then is correct, but this
        # test wants to see a known lag).
        def recorded():
            marks = r.hgetall(f"{p}:watermarks:{g}")
            return all(int(marks.get(k, -1)) == v for k, v in ends.items())
        fdit.wait_for(recorded, 30, f"funneld to record {p}:watermarks:{g}")
    got = {}

    # funneld may rewrite the watermarks (updated_at) between the two reads:
    # compare snapshots until one pair agrees
    def agrees():
        got["doc"] = ctl.json("status")
        got["fields"], got["want"] = expected_offsets(r, setup)
        return got["doc"]["offsets"] == got["want"]
    try:
        fdit.wait_for(agrees, 10, "funnelctl status to match Redis")
    except fdit.ITError:
        raise fdit.ITError(f"status offsets {got['doc']['offsets']} != "
                           f"{got['want']}") from None
    doc, fields, want = got["doc"], got["fields"], got["want"]
    assert all(x["lag"] == 0 for x in want), want
    # every message consumed: the stored offsets are the topics' ends
    assert {f"{x['topic']}:{x['partition']}": x["offset"]
            for x in doc["offsets"] if x["offset"] is not None} == \
        {k: v for k, v in ends.items() if v > 0}
    parts = sorted({int(f.rsplit(":", 1)[1]) for f in fields})
    assert doc["partitions"] == [
        {"partition": q, "epoch": int(r.get(f"{p}:epoch:{g}:{q}"))
         if r.get(f"{p}:epoch:{g}:{q}") else None,
         "outbox_depth": r.llen(f"{p}:outbox:{g}:{q}")} for q in parts], \
        doc["partitions"]
    assert all(x["outbox_depth"] == 0 for x in doc["partitions"])
    totals = {x["counter"]: x["value"] for x in doc["totals"]}
    lags = [x["lag"] for x in want]
    assert totals.pop("lag") == (None if None in lags or not lags
                                 else sum(lags)), doc["totals"]
    # late: the hand-made stream's spend s05 comes after a later one (s03)
    assert totals == {"in:lead_events": 11, "in:crm_events": 6,
                      "in:spend": 5, "duplicates": 3, "late": 1}, totals
    assert {x["reason"]: x["messages"] for x in doc["dlq"]} == {
        "bad-magic-byte": 2, "unknown-schema-id": 1, "undecodable": 1,
        "invalid-field": 2}, doc["dlq"]
    meta = {x["key"]: x["value"] for x in doc["meta"]}
    assert meta["layout_version"] == "2" and meta["prefix"] == p and \
        meta["group"] == g and meta["writer"].startswith("funneld/"), meta


# ------------------------------------------------------------ formats

def csv_blocks(text):
    assert text.endswith("\r\n"), "CSV lines end with CRLF (RFC 4180)"
    blocks = [[]]
    for row in csv.reader(io.StringIO(text, newline="")):
        if row:
            blocks[-1].append(row)
        else:
            blocks.append([])
    return blocks


def test_formats(ctl):
    cases = [("report", "--tenant", hm.T, "--from", "2026-09", "--to", OCT),
             ("channels", "--tenant", hm.T),
             ("channels", "--tenant", hm.T, "--by", "campaign"),
             ("lead", "--tenant", hm.T, hm.ALICE),
             ("status",)]
    for args in cases:
        doc = ctl.json(*args)
        tables = [(k, v) for k, v in doc.items() if isinstance(v, list) and
                  k != "notes"]
        # CSV: per table a header and its rows, every row as wide.
        blocks = csv_blocks(ctl.ok("--format", "csv", *args))
        assert len(blocks) == len(tables), (args, blocks)
        for (name, rows), block in zip(tables, blocks):
            cols = list(rows[0]) if rows else None
            assert cols is None or block[0] == cols, (args, name, block[0])
            assert len(block) == len(rows) + 1, (args, name, block)
            for row, obj in zip(block[1:], rows):
                assert len(row) == len(block[0]), (args, name, row)
                if str(obj.get("key")).startswith("watermarks_"):
                    continue  # moves while funneld runs
                # reals: as many decimals as the column has (4 for shares
                # and ratios, 2 for costs), the JSON value rounded alike
                assert [float(c) if isinstance(v, float) and c else c
                        for c, v in zip(row, obj.values())] == \
                    ["" if v is None else
                     ("true" if v is True else "false")
                     if isinstance(v, bool) else
                     (v if isinstance(v, float) else str(v))
                     for v in obj.values()], (row, obj)
                assert all(len(c.split(".")[1]) in (2, 4)
                           for c, v in zip(row, obj.values())
                           if isinstance(v, float)), row
        # Table: a title line, aligned columns, one line per row.
        text = ctl.ok(*args)
        assert "\r" not in text, args
        sections = text.split("\n\n")
        for (name, rows), sec in zip(tables, sections):
            lines = sec.splitlines()
            assert lines[0] == name, (args, lines[0])
            header = lines[1].split()
            assert header == list(rows[0]) if rows else header, lines[1]
            body = lines[2:] if rows else []
            assert len(body) == len(rows), (args, name, lines)
            for line in body:
                # cells in this data have no spaces
                assert len(line.split()) == len(header), (args, line)


# ------------------------------------------------------------ exit codes

def test_exit_codes(ctl, r, setup):
    for cmd in ([], ["report"], ["channels"], ["lead"], ["status"],
                ["trend"], ["cohorts"], ["pacing"]):
        rc, out, err = ctl.run(*cmd, "--help", config=False)
        assert rc == 0 and "usage: funnelctl" in out, (cmd, rc, out, err)
    rc, out, err = ctl.run("report", "--help", config=False)
    assert "calendar.weekend" in out and "calendar.holidays" in out, out
    usage = [["report"], ["report", "--tenant", hm.T, "--month", "2026-13"],
             ["report", "--tenant", hm.T, "--month", OCT, "--from", OCT],
             ["report", "--tenant", hm.T, "--from", OCT, "--to", "2026-01"],
             ["channels", "--tenant", hm.T, "--model", "nope"],
             ["channels", "--tenant", hm.T, "--currency", "usd"],
             ["lead", "--tenant", hm.T], ["status", "--tenant", hm.T],
             ["cohorts", "--tenant", hm.T, "--by", "nope"],
             ["cohorts", "--tenant", hm.T, "--month", OCT, "--to", OCT],
             ["cohorts", "--tenant", hm.T, "--model", "linear"],
             ["--format", "xml", "status"],
             ["status", "--bogus"], ["lead", "--tenant", hm.T, "a", "b"]]
    for args in usage:
        rc, out, err = ctl.run(*args)
        assert rc == 2 and err.strip() and not out, (args, rc, out, err)
    # not found: lead, an anonymous id (names the lead), tenant
    rc, out, err = ctl.run("lead", "--tenant", hm.T, "lead-nobody")
    assert rc == 3 and "lead-nobody" in err and "not found" in err, (rc, err)
    rc, out, err = ctl.run("lead", "--tenant", hm.T, hm.ANON)
    assert rc == 3 and hm.ALICE in err, (rc, err)
    rc, out, err = ctl.run("report", "--tenant", "no-such-tenant")
    assert rc == 3 and "no-such-tenant" in err, (rc, err)
    # runtime: Redis unreachable (a port nothing listens on)
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    rc, out, err = ctl.run("--redis", f"127.0.0.1:{port}", "status")
    assert rc == 1 and "cannot connect to redis" in err and \
        "--redis" in err, (rc, err)
    # runtime: no data under a prefix; data of another layout version
    other = fdit.unique("ctl-layout")
    rc, out, err = ctl.run("--prefix", other, "status")
    assert rc == 1 and "no funneld data" in err and "--prefix" in err, err
    r.hset(f"{other}:meta", mapping={"layout_version": "99"})
    try:
        rc, out, err = ctl.run("--prefix", other, "status")
        assert rc == 1 and "layout_version 99" in err, (rc, err)
    finally:
        r.delete(f"{other}:meta")
    # --redis/--prefix/--group without a config file reach the same data
    rc, out, err = ctl.run("--redis", f"{fdit.redis_host()}:"
                           f"{fdit.redis_port()}", "--prefix", setup.prefix,
                           "--group", setup.group, "--format", "json",
                           "status", config=False)
    assert rc == 0 and json.loads(out)["totals"], (rc, err)


def test_csv_quoting(ctl, r, setup):
    """A value with a comma and a quote survives CSV (RFC 4180)."""
    t = fdit.unique("ctlq")
    key = f"{setup.prefix}:{{{t}}}:revenue:linear:USD"
    r.sadd(f"{setup.prefix}:tenants", t)
    r.hset(key, mapping={'channel:a,"b"': "7", "channel:c": "3",
                         "total": "10", "deals": "1"})
    try:
        out = ctl.ok("--format", "csv", "channels", "--tenant", t)
        rows = csv_blocks(out)[0]
        assert rows[1][3] == 'a,"b"' and rows[1][4] == "7", rows
        assert all(len(x) == 9 for x in rows), rows
    finally:
        r.delete(key)
        r.srem(f"{setup.prefix}:tenants", t)


# ------------------------------------------------------------ cohorts

COHORT_STAGES = {"lead": ["mql", "sql", "opportunity", "closed_won"],
                 "mql": ["sql", "opportunity", "closed_won"]}


def check_cohorts(ctl, hashes, by, months, args):
    """funnelctl cohorts (JSON, CSV, table) against the hashes written."""
    doc = ctl.json("cohorts", *args)
    size_field = by
    rates = COHORT_STAGES[by]
    cols = ["month", "size"] + [c for s in rates for c in (s, f"{s}_rate")] \
        + ["closed_lost"]
    rows = doc["cohorts"]
    assert [row["month"] for row in rows] == months, (args, rows)
    currencies = sorted({f[len("revenue:"):] for m in months
                         for f in hashes.get((by, m), {})
                         if f.startswith("revenue:")})
    for row in rows:
        h = hashes.get((by, row["month"]), {})  # missing hash = zeros
        size = h.get(size_field, 0)
        assert list(row) == cols, (args, list(row))
        assert row["size"] == size and type(row["size"]) is int, row
        for s in rates:
            assert row[s] == h.get(s, 0) and type(row[s]) is int, (s, row)
            if size:
                assert isinstance(row[f"{s}_rate"], float) and \
                    close(row[f"{s}_rate"], h.get(s, 0) / size), (s, row)
            else:
                assert row[f"{s}_rate"] is None, (s, row)
        assert row["closed_lost"] == h.get("closed_lost", 0), row
    # revenue: every month times every currency of the period, by code
    rev = doc["revenue"]
    assert [(x["month"], x["currency"]) for x in rev] == \
        [(m, c) for m in months for c in currencies], (args, rev)
    for x in rev:
        h = hashes.get((by, x["month"]), {})
        amount = h.get(f"revenue:{x['currency']}", 0)
        assert x["amount_minor"] == amount and \
            type(x["amount_minor"]) is int, x
        size = h.get(size_field, 0)
        assert (x["per_member_minor"] is None) if not size else \
            close(x["per_member_minor"], amount / size, 2), x
    # CSV: two blocks, every row as wide as its header
    blocks = csv_blocks(ctl.ok("--format", "csv", "cohorts", *args))
    assert len(blocks) == 2, blocks
    assert blocks[0][0] == cols and len(blocks[0]) == len(rows) + 1, blocks
    assert blocks[1][0] == ["month", "currency", "amount_minor",
                            "per_member_minor"], blocks[1]
    assert len(blocks[1]) == len(rev) + 1, blocks[1]
    assert all(len(b) == len(blk[0]) for blk in blocks for b in blk), blocks
    # table: title, header, one line per row with every column (NULL "-")
    sections = ctl.ok("cohorts", *args).split("\n\n")
    lines = sections[0].splitlines()
    assert lines[0] == "cohorts" and lines[1].split() == cols, lines
    assert len(lines) == len(rows) + 2, lines
    assert all(len(x.split()) == len(cols) for x in lines[2:]), lines
    lines = sections[1].splitlines()
    assert lines[0] == "revenue" and len(lines) == len(rev) + 2, lines
    return doc


class BareCtl(Ctl):
    """Runs funnelctl without a config file: --redis, --prefix etc."""

    def __init__(self, base):
        super().__init__("")
        self.base = base

    def run(self, *args, config=False, timeout=60):
        return super().run(*self.base, *args, config=False, timeout=timeout)


def test_cohorts(ctl, r):
    """cohorts reads P:{T}:cohort:lead:M / cohort:mql:M, written here."""
    prefix, t = fdit.unique("ctl-cohorts"), "coh"
    hashes = {
        ("lead", "2026-08"): {"lead": 20, "mql": 10, "sql": 5,
                              "opportunity": 4, "closed_won": 2,
                              "closed_lost": 1, "revenue:USD": 250000,
                              "revenue:EUR": 1234},
        # 2026-09: no hash at all (zeros)
        ("lead", "2026-10"): {"lead": 8, "mql": 2, "revenue:USD": 999},
        ("lead", "2026-11"): {"lead": 0, "mql": 1},  # size 0: null rates
        ("mql", "2026-09"): {"mql": 10, "sql": 4, "opportunity": 3,
                             "closed_won": 1, "closed_lost": 2,
                             "revenue:USD": 5000},
        ("mql", "2026-10"): {"mql": 3, "sql": 3, "opportunity": 1,
                             "revenue:GBP": 42},
    }
    keys = [f"{prefix}:meta", f"{prefix}:tenants"]
    r.hset(f"{prefix}:meta", mapping={"layout_version": "1"})
    r.sadd(f"{prefix}:tenants", t)
    for (by, month), h in hashes.items():
        key = f"{prefix}:{{{t}}}:cohort:{by}:{month}"
        keys.append(key)
        r.hset(key, mapping={k: str(v) for k, v in h.items()})
    base = ["--redis", f"{fdit.redis_host()}:{fdit.redis_port()}",
            "--prefix", prefix]
    try:
        c = BareCtl(base)
        months = ["2026-08", "2026-09", "2026-10", "2026-11"]
        args = ["--tenant", t, "--from", "2026-08", "--to", "2026-11"]
        doc = check_cohorts(c, hashes, "lead", months, args)
        assert doc["cohorts"][0]["sql_rate"] == 0.25, doc  # 5 / 20
        assert any("created" in n for n in doc["notes"]), doc["notes"]
        check_cohorts(c, hashes, "lead", months, args + ["--by", "lead"])
        doc = check_cohorts(c, hashes, "mql", months, args + ["--by", "mql"])
        assert doc["cohorts"][1]["closed_won_rate"] == 0.1, doc  # 1 / 10
        assert {x["currency"] for x in doc["revenue"]} == {"USD", "GBP"}
        check_cohorts(c, hashes, "mql", ["2026-10"],
                      ["--tenant", t, "--by", "mql", "--month", "2026-10"])
        # default: the 6 months up to the current one (no time zone
        # configured: UTC); retried once across a month boundary
        for _ in range(2):
            now = datetime.now(timezone.utc).strftime("%Y-%m")
            want = [month_add(now, d) for d in range(-5, 1)]
            if [x["month"] for x in
                    c.json("cohorts", "--tenant", t)["cohorts"]] == want:
                break
        else:
            raise AssertionError(f"default period is not {want}")
        rc, out, err = c.run("cohorts", "--tenant", "nobody")
        assert rc == 3 and "nobody" in err and "not found" in err, (rc, err)
        rc, out, err = c.run("cohorts", "--tenant", t, "--by", "month")
        assert rc == 2 and "--by mql" in err and not out, (rc, err)
        rc, out, err = ctl.run("cohorts", "--help", config=False)
        assert rc == 0 and "CREATED in the month" in out and \
            "MQL entry" in out and "lifecycle cycle" in out, out
    finally:
        r.delete(*keys)
    print("cohorts: lead and mql cohorts, rates, revenue, formats ok",
          flush=True)


# ------------------------------------------------------------ calendar

CAL_CONFIG = """\
[calendar]
holidays = 2026-12-24, 2026-12-25

[tenant.gulf]
calendar.weekend = fri,sat
calendar.holidays = 2026-12-31,2026-12-24
"""
# weekday numbers as Python's date.weekday(): Monday = 0
CALENDARS = {
    "cal": ({5, 6}, {"2026-12-24", "2026-12-25"}),
    "gulf": ({4, 5}, {"2026-12-24", "2026-12-31"}),
    None: ({5, 6}, set()),  # no config file
}


def cal_days(month):
    y, m = map(int, month.split("-"))
    d = datetime(y, m, 1)
    while d.month == m:
        yield d
        d = datetime.fromordinal(d.toordinal() + 1)


def is_bday(cal, d):
    weekend, holidays = CALENDARS[cal]
    return d.weekday() not in weekend and \
        d.strftime("%Y-%m-%d") not in holidays


def cal_bdays(cal, month):
    return sum(is_bday(cal, d) for d in cal_days(month))


def check_calendar_report(c, cal, t, monthly, months):
    doc = c.json("report", "--tenant", t, "--from", months[0], "--to",
                 months[-1])
    rows = doc["funnel"]
    assert [(x["month"], x["stage"]) for x in rows] == \
        [(m, s) for m in months for s in STAGES], rows
    for x in rows:
        m, s = x["month"], x["stage"]
        prev_m = month_add(m, -1)
        cur = monthly.get(s, {}).get(m, 0)
        prev = monthly.get(s, {}).get(prev_m, 0)
        bd, prev_bd = cal_bdays(cal, m), cal_bdays(cal, prev_m)
        assert x["business_days"] == bd, (cal, x)
        assert close(x["per_business_day"], cur / bd), (cal, x)
        rate, prev_rate = cur / bd, prev / prev_bd
        assert close(x["per_business_day_mom_change"], rate - prev_rate), \
            (cal, x)
        want = ratio(rate - prev_rate, prev_rate)
        assert (x["per_business_day_mom_change_ratio"] is None) == \
            (want is None), (cal, x)
        assert want is None or \
            close(x["per_business_day_mom_change_ratio"], want), (cal, x)
    assert any("calendar.weekend" in n for n in doc["notes"]), doc["notes"]
    return {(x["month"], x["stage"]): x for x in rows}


def test_business_day_calendar(r):
    """report/trend divide by the tenant's business days from the config:
    its weekend and holidays (keys written here with redis-py)."""
    prefix = fdit.unique("ctl-calendar")
    # fewer leads in December than in November; for tenant gulf December
    # also has fewer business days: per business day it is the better month
    monthly = {"lead": {"2026-10": 30, "2026-11": 42, "2026-12": 41},
               "mql": {"2026-11": 21, "2026-12": 19},
               "sql": {"2026-11": 10, "2026-12": 11}}
    daily = {"mql": {"2026-12-03": 2, "2026-12-04": 5, "2026-12-24": 1,
                     "2026-12-31": 3},
             "sql": {"2026-12-04": 1, "2026-12-05": 2}}
    keys = [f"{prefix}:meta", f"{prefix}:tenants"]
    r.hset(f"{prefix}:meta", mapping={"layout_version": "1"})
    for t in ("cal", "gulf"):
        r.sadd(f"{prefix}:tenants", t)
        for stage, h in monthly.items():
            keys.append(f"{prefix}:{{{t}}}:monthly:{stage}")
            r.hset(keys[-1], mapping={k: str(v) for k, v in h.items()})
        for stage, h in daily.items():
            keys.append(f"{prefix}:{{{t}}}:daily:{stage}")
            r.hset(keys[-1], mapping={k: str(v) for k, v in h.items()})
    config = Path(fdit.work_dir()) / f"{prefix}.ini"
    config.write_text(CAL_CONFIG)
    base = ["--redis", f"{fdit.redis_host()}:{fdit.redis_port()}",
            "--prefix", prefix]
    months = ["2026-11", "2026-12"]
    try:
        c = BareCtl(["-c", str(config)] + base)
        got = check_calendar_report(c, "cal", "cal", monthly, months)
        # hand-computed: November 2026 has 21 weekdays; December 23, less
        # the 24th (Thu) and 25th (Fri)
        lead = got[("2026-12", "lead")]
        assert lead["business_days"] == 21 and \
            got[("2026-11", "lead")]["business_days"] == 21, got
        assert lead["mom_change"] == -1 and lead["per_business_day"] == \
            round(41 / 21, 4), lead
        assert lead["per_business_day_mom_change"] == round(-1 / 21, 4)
        # gulf: Friday and Saturday off; Dec 24 and 31 (Thursdays) off,
        # Dec 25 is a Friday anyway
        got = check_calendar_report(c, "gulf", "gulf", monthly, months)
        lead = got[("2026-12", "lead")]
        assert lead["business_days"] == 21, lead  # 23 Sun-Thu, less 2
        assert got[("2026-11", "lead")]["business_days"] == 22, got
        assert lead["mom_change"] == -1, lead
        assert lead["per_business_day_mom_change"] == \
            round(41 / 21 - 42 / 22, 4) > 0, lead
        assert lead["per_business_day_mom_change_ratio"] == \
            round((41 / 21 - 42 / 22) / (42 / 22), 4), lead
        # without -c: Saturday and Sunday off, no holidays
        nc = BareCtl(base)
        got = check_calendar_report(nc, None, "gulf", monthly, months)
        assert got[("2026-12", "lead")]["business_days"] == 23, got

        # trend: the flags and the summary follow the calendar
        for ctl_, cal, t in ((c, "gulf", "gulf"), (c, "cal", "cal"),
                             (nc, None, "cal")):
            doc = ctl_.json("trend", "--tenant", t, "--until", "2026-12-31",
                            "--days", "31")
            days = doc["trend"]
            assert [x["date"] for x in days] == \
                [d.strftime("%Y-%m-%d") for d in cal_days("2026-12")], days
            for x, d in zip(days, cal_days("2026-12")):
                assert x["business_day"] == is_bday(cal, d), (cal, x)
                assert x["mql"] == daily["mql"].get(x["date"], 0), x
                assert x["sql"] == daily["sql"].get(x["date"], 0), x
            s = doc["summary"][0]
            assert s["business_days"] == cal_bdays(cal, "2026-12"), (cal, s)
            assert close(s["mql_per_business_day"],
                         11 / cal_bdays(cal, "2026-12")), (cal, s)
            assert close(s["sql_per_business_day"],
                         3 / cal_bdays(cal, "2026-12")), (cal, s)
        doc = c.json("trend", "--tenant", "gulf", "--until", "2026-12-31",
                     "--days", "31")
        flags = {x["date"]: x["business_day"] for x in doc["trend"]}
        assert flags["2026-12-04"] is False and flags["2026-12-06"] is True \
            and flags["2026-12-24"] is False, flags  # Fri, Sun, holiday
        assert doc["summary"][0]["business_days"] == 21, doc["summary"]
        note = [n for n in doc["notes"] if "calendar.weekend" in n]
        assert note and "Friday, Saturday" in note[0] and \
            "2 holidays" in note[0], doc["notes"]

        # a bad calendar in the config: line-precise error, exit 1
        bad = Path(fdit.work_dir()) / f"{prefix}-bad.ini"
        bad.write_text("[tenant.gulf]\ncalendar.weekend = fri,sat\n"
                       "calendar.holidays = 2026-12-32\n")
        rc, out, err = BareCtl(["-c", str(bad)] + base).run(
            "report", "--tenant", "gulf")
        assert rc != 0 and f"{bad}:3:" in err and "2026-12-32" in err and \
            "YYYY-MM-DD" in err, (rc, err)
    finally:
        r.delete(*keys)
    print("calendar: per-business-day report and trend with holidays and "
          "a custom weekend ok", flush=True)


# ------------------------------------------------------------ pacing

PACING_CONFIG = """\
[attribution]
models = first_touch, linear

[tenant.issue]
; the issue's chain: 400 wins, 1,600 SQLs, 8,000 MQLs
goal.revenue_minor = 2000000000
goal.deal_size_minor = 5000000
goal.sql_to_won_pct = 25
goal.mql_to_sql_pct = 20
goal.lead_to_mql_pct = 40

[tenant.even]
; $10M in $50k deals
goal.revenue_minor = 1000000000
goal.deal_size_minor = 5000000
goal.sql_to_won_pct = 25
goal.mql_to_sql_pct = 20

[tenant.q]
goal.period = quarter
goal.currency = EUR
goal.revenue_minor = 123456789
goal.deal_size_minor = 3000000
goal.sql_to_won_pct = 30
goal.mql_to_sql_pct = 35
goal.lead_to_mql_pct = 15
calendar.holidays = 2026-10-12, 2026-11-26, 2026-12-24, 2026-12-25
"""


def ceil_div(a, b):
    return -(-a // b)


def reverse_funnel(target, deal, won_pct, sql_pct, lead_pct=None):
    won = ceil_div(target, deal)
    sql = ceil_div(won * 100, won_pct)
    mql = ceil_div(sql * 100, sql_pct)
    need = {"mql": mql, "sql": sql, "closed_won": won, "revenue": target}
    if lead_pct:
        need["lead"] = ceil_div(mql * 100, lead_pct)
    return need


def q4_bdays(holidays, until=None):
    """Business days (Mon-Fri, less holidays) of 2026-10-01 .. until."""
    n = 0
    for month in ("2026-10", "2026-11", "2026-12"):
        for d in cal_days(month):
            ds = d.strftime("%Y-%m-%d")
            if until and ds > until:
                return n
            n += d.weekday() < 5 and ds not in holidays
    return n


def near(a, b, places):
    """a (a JSON number of funnelctl: 10 significant digits) is b rounded
    to places."""
    return a is not None and \
        abs(a - b) <= max(10 ** -places / 2 + 1e-9, abs(b) * 1e-9)


def check_pacing_rows(doc, need, actual, elapsed, total):
    rows = {x["stage"]: x for x in doc["pacing"]}
    order = [x["stage"] for x in doc["pacing"]]
    assert order == [s for s in ("lead", "mql", "sql", "closed_won",
                                 "revenue") if s in need], order
    for stage, x in rows.items():
        req, act = need[stage], actual.get(stage, 0)
        rtd = req * elapsed / total
        assert x["required_period"] == req, x
        assert near(x["required_to_date"], rtd, 2), (x, rtd)
        assert x["actual_to_date"] == act, x
        assert near(x["pace"], act / rtd, 4), x
        assert near(x["gap_to_date"], act - rtd, 2), x
        left = total - elapsed
        if left:
            assert near(x["per_business_day_needed"],
                        max(0, req - act) / left,
                        2 if stage == "revenue" else 4), x
        else:
            assert x["per_business_day_needed"] is None, x
    return rows


def test_pacing(ctl, r):
    """pacing: the reverse funnel of the goal.* keys and actual against
    required to date, from monthly and revenue hashes written here."""
    prefix = fdit.unique("ctl-pacing")
    q_monthly = {"lead": {"2026-10": 3000, "2026-11": 1200, "2026-12": 999},
                 "mql": {"2026-10": 260, "2026-11": 90, "2026-12": 77},
                 "sql": {"2026-10": 41, "2026-11": 20},
                 "closed_won": {"2026-09": 50, "2026-10": 9, "2026-11": 4}}
    # won revenue: Oct only under linear (first_touch has no key), Nov under
    # first_touch (read first); USD and December do not count for EUR/Nov
    revenue = {("linear", "EUR", "2026-10"): 27000000,
               ("first_touch", "EUR", "2026-11"): 12000000,
               ("linear", "EUR", "2026-11"): 12000000,
               ("first_touch", "USD", "2026-11"): 99999999,
               ("first_touch", "EUR", "2026-12"): 5000000,
               ("first_touch", "EUR", "2026-09"): 7000000}
    keys = [f"{prefix}:meta", f"{prefix}:tenants"]
    r.hset(f"{prefix}:meta", mapping={"layout_version": "1"})
    for t in ("issue", "even", "q", "none"):
        r.sadd(f"{prefix}:tenants", t)
    for stage, h in q_monthly.items():
        keys.append(f"{prefix}:{{q}}:monthly:{stage}")
        r.hset(keys[-1], mapping={k: str(v) for k, v in h.items()})
    for (model, cur, month), total in revenue.items():
        keys.append(f"{prefix}:{{q}}:revenue:{model}:{cur}:{month}")
        r.hset(keys[-1], mapping={"total": str(total), "deals": "1"})
    keys.append(f"{prefix}:{{issue}}:monthly:closed_won")
    r.hset(keys[-1], mapping={"2026-11": "150", "2026-10": "7"})
    config = Path(fdit.work_dir()) / f"{prefix}.ini"
    config.write_text(PACING_CONFIG)
    base = ["--redis", f"{fdit.redis_host()}:{fdit.redis_port()}",
            "--prefix", prefix]
    try:
        c = BareCtl(["-c", str(config)] + base)
        # the issue's example: $20M / $50k = 400 wins; 25% -> 1,600 SQLs;
        # 20% -> 8,000 MQLs; 40% -> 20,000 leads
        doc = c.json("pacing", "--tenant", "issue", "--date", "2026-11-30")
        g = doc["goal"][0]
        assert (g["period"], g["start"], g["end"], g["date"]) == \
            ("month", "2026-11-01", "2026-11-30", "2026-11-30"), g
        assert (g["target_minor"], g["currency"], g["deal_size_minor"],
                g["sql_to_won_pct"], g["mql_to_sql_pct"],
                g["lead_to_mql_pct"]) == \
            (2000000000, "USD", 5000000, 25, 20, 40), g
        need = {x["stage"]: x["required_period"] for x in doc["pacing"]}
        assert need == {"lead": 20000, "mql": 8000, "sql": 1600,
                        "closed_won": 400, "revenue": 2000000000}, need
        assert need == reverse_funnel(2000000000, 5000000, 25, 20, 40)
        # last day of the month: all 21 business days elapsed
        assert (g["business_days"], g["business_days_elapsed"],
                g["business_days_remaining"]) == (21, 21, 0), g
        check_pacing_rows(doc, need, {"closed_won": 150}, 21, 21)
        # $10M in $50k deals is 200 wins, 800 SQLs, 4,000 MQLs; no lead row
        doc = c.json("pacing", "--tenant", "even", "--date", "2026-11-02")
        need = {x["stage"]: x["required_period"] for x in doc["pacing"]}
        assert need == {"mql": 4000, "sql": 800, "closed_won": 200,
                        "revenue": 1000000000}, need
        assert doc["goal"][0]["lead_to_mql_pct"] is None, doc["goal"]
        rows = check_pacing_rows(doc, need, {}, 1, 21)
        assert rows["closed_won"]["pace"] == 0.0, rows

        # a quarter with holidays, computed independently
        holidays = {"2026-10-12", "2026-11-26", "2026-12-24", "2026-12-25"}
        total = q4_bdays(holidays)
        assert total == 66 - 4, total  # Q4 2026: 66 weekdays, 4 holidays
        need = reverse_funnel(123456789, 3000000, 30, 35, 15)
        assert need["closed_won"] == 42 and need["sql"] == 140 and \
            need["mql"] == 400 and need["lead"] == 2667, need
        for date in ("2026-11-20", "2026-11-26", "2026-10-01", "2026-12-31"):
            doc = c.json("pacing", "--tenant", "q", "--date", date)
            g = doc["goal"][0]
            assert (g["period"], g["start"], g["end"], g["currency"]) == \
                ("quarter", "2026-10-01", "2026-12-31", "EUR"), g
            elapsed = q4_bdays(holidays, date)
            assert (g["business_days"], g["business_days_elapsed"],
                    g["business_days_remaining"]) == \
                (total, elapsed, total - elapsed), (date, g)
            months = [m for m in ("2026-10", "2026-11", "2026-12")
                      if m <= date[:7]]
            actual = {s: sum(h.get(m, 0) for m in months)
                      for s, h in q_monthly.items()}
            firsts = {}
            for (model, cur, month), v in revenue.items():
                if cur == "EUR" and month in months and \
                        (month not in firsts or model == "first_touch"):
                    firsts[month] = v
            actual["revenue"] = sum(firsts.values())
            check_pacing_rows(doc, need, actual, elapsed, total)
        assert elapsed == total  # the last date: nothing left
        doc = c.json("pacing", "--tenant", "q", "--date", "2026-11-20")
        rows = {x["stage"]: x for x in doc["pacing"]}
        # Oct 1 .. Nov 20: 37 weekdays less Oct 12 = 36 of 62
        assert doc["goal"][0]["business_days_elapsed"] == 36, doc["goal"]
        assert rows["revenue"]["actual_to_date"] == 39000000, rows
        assert rows["closed_won"]["actual_to_date"] == 13, rows
        assert rows["closed_won"]["required_to_date"] == \
            round(42 * 36 / 62, 2) == 24.39, rows
        assert rows["closed_won"]["pace"] == round(13 / (42 * 36 / 62), 4)
        assert rows["closed_won"]["per_business_day_needed"] == \
            round(29 / 26, 4), rows
        assert any("month to date" in n for n in doc["notes"]), doc["notes"]
        assert any("attribution.models" in n for n in doc["notes"])
        # the three formats agree on the rows
        blocks = csv_blocks(c.ok("--format", "csv", "pacing", "--tenant",
                                 "q", "--date", "2026-11-20"))
        assert [b[0] for b in blocks] == [list(doc["goal"][0]),
                                          list(doc["pacing"][0])], blocks
        assert [row[0] for row in blocks[1][1:]] == \
            [x["stage"] for x in doc["pacing"]], blocks
        text = c.ok("pacing", "--tenant", "q", "--date", "2026-11-20")
        assert "required_to_date" in text and "2026-10-01" in text, text

        # default date: today (UTC, the tenant has no time zone set)
        for _ in range(2):
            today = datetime.now(timezone.utc).strftime("%Y-%m-%d")
            doc = c.json("pacing", "--tenant", "q")
            if doc["goal"][0]["date"] == today:
                break
        else:
            raise AssertionError(f"default date is not {today}: {doc}")

        # no goal: exit 3 naming the keys; also without a config at all
        for ctl_ in (c, BareCtl(base)):
            rc, out, err = ctl_.run("pacing", "--tenant", "none")
            assert rc == 3 and not out and "goal.revenue_minor" in err and \
                "goal.deal_size_minor" in err and "[tenant.none]" in err, \
                (rc, err)
        rc, out, err = c.run("pacing", "--tenant", "nobody-here")
        assert rc == 3 and "goal" in err, (rc, err)
        # usage errors
        for args in (["pacing"], ["pacing", "--tenant", "q", "--date",
                                  "2026-02-29"],
                     ["pacing", "--tenant", "q", "--month", "2026-11"]):
            rc, out, err = c.run(*args)
            assert rc == 2 and not out and err.strip(), (args, rc, err)
        # a goal without its rates: the config names the line
        bad = Path(fdit.work_dir()) / f"{prefix}-bad.ini"
        bad.write_text("[tenant.q]\ngoal.revenue_minor = 100\n"
                       "goal.deal_size_minor = 10\n")
        rc, out, err = BareCtl(["-c", str(bad)] + base).run(
            "pacing", "--tenant", "q")
        assert rc == 1 and f"{bad}:2:" in err and \
            "goal.sql_to_won_pct" in err, (rc, err)
        rc, out, err = ctl.run("pacing", "--help", config=False)
        assert rc == 0 and "usage: funnelctl pacing" in out and \
            "goal.revenue_minor" in out and "--date" in out, out
    finally:
        r.delete(*keys)
    print("pacing: reverse funnel of the issue, quarter pacing with "
          "holidays, exit codes ok", flush=True)


GOAL_HM = """
[tenant.hm]
goal.revenue_minor = 1000000000
goal.deal_size_minor = 5000000
goal.sql_to_won_pct = 25
goal.mql_to_sql_pct = 20
"""


def test_pacing_api(ctl, r, setup, proc):
    """/api/pacing answers funnelctl pacing's document for the data
    funneld wrote; date= is --date."""
    base = itlib.http_base(proc)
    url = f"{base}/api/pacing?tenant={hm.T}&date={OCT}-15"
    status, ctype, text = itlib.http_get(url)
    assert status == 200 and ctype.startswith("application/json"), \
        (status, text)
    doc = json.loads(text)
    assert doc == ctl.json("pacing", "--tenant", hm.T, "--date",
                           f"{OCT}-15"), doc
    rows = {x["stage"]: x for x in doc["pacing"]}
    p = f"{setup.prefix}:{{{hm.T}}}"
    for stage in ("mql", "sql", "closed_won"):
        want = int(r.hget(f"{p}:monthly:{stage}", OCT) or 0)
        assert rows[stage]["actual_to_date"] == want, (stage, rows)
    won = r.hget(f"{p}:revenue:first_touch:USD:{OCT}", "total")
    assert rows["revenue"]["actual_to_date"] == int(won or 0), rows
    assert int(won or 0) > 0, won
    assert doc["goal"][0]["business_days_elapsed"] == 11, doc["goal"]
    status, _, text = itlib.http_get(f"{base}/api/pacing?tenant=nobody")
    assert status == 404 and "goal.revenue_minor" in text, (status, text)
    status, _, text = itlib.http_get(
        f"{base}/api/pacing?tenant={hm.T}&date=2026-10-32")
    assert status == 400 and "date" in text, (status, text)
    status, _, text = itlib.http_get(f"{base}/api/pacing")
    assert status == 400 and "tenant" in text, (status, text)
    print("pacing: /api/pacing equals funnelctl's document and Redis ok",
          flush=True)


# ------------------------------------------------------------ main

def test_funnelctl_against_running_funneld():
    work = fdit.work_dir()
    setup = itlib.Setup("ctl", work, model=hm.MODEL + GOAL_HM,
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
        # funneld keeps running: funnelctl only reads.
        test_status(ctl, r, setup, running=True)
        print(ctl.ok("status"), flush=True)
        test_report(ctl, r, setup)
        test_channels(ctl, r, setup)
        test_markov(ctl, r, setup, proc)
        test_lead(ctl, r, setup)
        test_formats(ctl)
        test_exit_codes(ctl, r, setup)
        test_csv_quoting(ctl, r, setup)
        test_cohorts(ctl, r)
        test_business_day_calendar(r)
        test_pacing(ctl, r)
        test_pacing_api(ctl, r, setup, proc)
        assert proc.alive(), proc.log_tail()
        setup.stop(proc)
        # and after it stopped
        test_status(ctl, r, setup, running=False)
    finally:
        setup.kill_all()


if __name__ == "__main__":
    fdit.main({"test_funnelctl_against_running_funneld":
               test_funnelctl_against_running_funneld})
