#!/usr/bin/env python3
"""funnelctl cold and /api/cold: cold-lead alerts, the leads cold now and
the pending deadlines.

1. Keys written here with redis-py under a fresh prefix (every number
   chosen by hand; deadlines relative to now, with margins so that
   days_cold and due_in_hours cannot change while the test runs):
   P:{T}:cold and P:{T}:cold:M (alerts, channels, value per currency),
   P:{T}:cold:leads:<stage>, the deadline sets P:due[:wall]:G:<p> of the
   partitions in P:offsets:G (with members of other tenants, one of them a
   prefix of the id), lead hashes for the stage. funnelctl's table output
   must be exactly the hand-written one, its JSON exactly the hand-computed
   rows; --month, --limit, --upcoming, --group, a tenant with no data, the
   tenant's time zone (a +05:30 zone, and summer and winter time in
   Europe/Berlin); usage errors exit 2 and an unknown tenant 3, each with
   a message saying what to do.
2. A running funneld whose prefix's P:active names the hand-written
   namespace: /api/cold must answer funnelctl's JSON documents (same
   prefix and group), 400 for bad arguments and 404 for an unknown tenant.
"""

import json
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent))
import fdit  # noqa: E402
import itlib  # noqa: E402
from test_funnelctl import BareCtl, Ctl, csv_blocks  # noqa: E402

HOUR = 3600000
DAY = 24 * HOUR
T = "acme"
GROUP = "hand"
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)

# P:{T}:cold (all time). mql: 3 alerts (email 2, unknown 1); sql: 5
# (paid_search 3, email 1, webinar 1: a tie, by name); value in two
# currencies; a field of a later version (mql:latency_ms) is not shown.
COLD = {"mql": 3, "sql": 5, "mql:channel:email": 2, "mql:channel:unknown": 1,
        "sql:channel:paid_search": 3, "sql:channel:email": 1,
        "sql:channel:webinar": 1, "mql:value:USD": 3000,
        "sql:value:USD": 50000, "value:USD": 53000, "sql:value:EUR": 700,
        "value:EUR": 700, "mql:latency_ms": 99}
COLD_NOV = {"sql": 2, "sql:channel:paid_search": 2, "sql:value:USD": 20000,
            "value:USD": 20000}
# Leads cold now: lead -> deadline as days before now (+ half a day: the
# whole days cannot change during the test). S3 and S4 tie: by id.
COLD_SQL = {"S1": 40.5, "S2": 3.5, "S3": 10.5, "S4": 10.5}
COLD_MQL = {"M1": 1.5}
# Pending deadlines: (set, member, hours from now). + 0.03 h: rounded to
# 0.1 h the hours stay the same for almost 5 minutes.
OFFSETS = {"lead-events:0": 7, "lead-events:1": 3, "crm-events:1": 1,
           "lead-events:2": 2, "spend:0": 1}
DUE = [(f"due:{GROUP}:0", f"{T}:U1", 5), (f"due:{GROUP}:0", f"{T}:U2", 50),
       (f"due:{GROUP}:0", f"{T}x:Z1", 1), (f"due:{GROUP}:0", "other:Q1", 2),
       (f"due:{GROUP}:2", f"{T}:U3", -2),
       (f"due:wall:{GROUP}:1", f"{T}:U4", 30),
       (f"due:{GROUP}:1", "other:Q2", 3),
       ("due:othergroup:0", f"{T}:U8", 4)]
STAGE = {"U1": "mql", "U2": "sql", "U3": "mql"}  # U4: no lead hash


def iso(ms, tz=None):
    """The deadline as funnelctl shows it: UTC with Z, else the zone's
    local time with its offset."""
    dt = EPOCH + timedelta(milliseconds=ms)
    if tz is None:
        return dt.strftime("%Y-%m-%dT%H:%M:%S") + f".{ms % 1000:03d}Z"
    return dt.astimezone(ZoneInfo(tz)).isoformat(timespec="milliseconds")


def text_table(name, cols, rows):
    """A table as funnelctl prints it: two spaces before each column,
    numbers (int, float as given) right-aligned, the last string column
    not padded, "-" for null."""
    cells = [[c for c, _ in cols]] + [
        ["-" if r.get(c) is None else str(r[c]) for c, _ in cols]
        for r in rows]
    width = [max(len(x[i]) for x in cells) for i in range(len(cols))]
    out = [name]
    for line in cells:
        s = ""
        for i, (cell, (_, right)) in enumerate(zip(line, cols)):
            s += "  "
            if right:
                s += cell.rjust(width[i])
            elif i + 1 == len(cols):
                s += cell
            else:
                s += cell.ljust(width[i])
        out.append(s)
    if not rows:
        out.append("  (no rows)")
    return "\n".join(out) + "\n"


S, N = False, True  # string column, number column
COLS = {
    "cold": [("period", S), ("stage", S), ("alerts", N)],
    "cold_value": [("period", S), ("currency", S), ("mql_value_minor", N),
                   ("sql_value_minor", N), ("value_minor", N)],
    "cold_channels": [("period", S), ("stage", S), ("channel", S),
                      ("alerts", N), ("share", N)],
    "cold_now": [("stage", S), ("leads", N), ("shown", N)],
    "cold_leads": [("stage", S), ("lead_id", S), ("deadline", S),
                   ("deadline_ms", N), ("days_cold", N)],
    "upcoming": [("lead_id", S), ("stage", S), ("deadline", S),
                 ("deadline_ms", N), ("due_in_hours", N), ("clock", S),
                 ("partition", N)],
    "upcoming_total": [("group", S), ("partitions", N), ("pending", N),
                       ("shown", N)],
}


class Data:
    """The hand-written keys under a fresh prefix, deleted afterwards."""

    def __init__(self, r, prefix):
        self.r, self.prefix, self.keys = r, prefix, []
        self.now = int(datetime.now(timezone.utc).timestamp() * 1000)
        p = f"{prefix}:{{{T}}}"
        self.hset(f"{prefix}:meta", {"layout_version": 1})
        self.keys.append(f"{prefix}:tenants")
        r.sadd(f"{prefix}:tenants", T, "quiet", "kol", "ber")
        self.hset(f"{p}:cold", COLD)
        self.hset(f"{p}:cold:2026-11", COLD_NOV)
        self.hset(f"{p}:cold:daily:sql", {"2026-11-02": 2})
        self.leads = {}
        for stage, leads in (("sql", COLD_SQL), ("mql", COLD_MQL)):
            self.leads[stage] = {lead: self.now - int(days * DAY)
                                 for lead, days in leads.items()}
            self.zadd(f"{p}:cold:leads:{stage}", self.leads[stage])
        self.hset(f"{prefix}:offsets:{GROUP}", OFFSETS)
        self.due = {}
        for key, member, hours in DUE:
            at = self.now + int((hours + 0.03) * HOUR)
            self.zadd(f"{prefix}:{key}", {member: at})
            self.due[member] = (key, at)
        for lead, stage in STAGE.items():
            self.hset(f"{p}:lead:{lead}", {"stage": stage, "cycle": 1})
        # time zones (config): kol +05:30; ber, one SQL cold since summer
        # time and one since winter time
        self.zadd(f"{prefix}:{{kol}}:cold:leads:sql", {"K1": 1790000000000})
        self.zadd(f"{prefix}:{{ber}}:cold:leads:sql",
                  {"B1": 1782900000000, "B2": 1768500000000})

    def hset(self, key, h):
        self.keys.append(key)
        self.r.hset(key, mapping={k: str(v) for k, v in h.items()})

    def zadd(self, key, members):
        self.keys.append(key)
        self.r.zadd(key, members)

    def delete(self):
        self.r.delete(*self.keys)


# ------------------------------------------------------------ expectations

def alert_rows(period, h):
    return [{"period": period, "stage": s, "alerts": h.get(s, 0)}
            for s in ("mql", "sql")]


def lead_rows(data, limit):
    out = []
    for stage in ("mql", "sql"):
        leads = sorted(data.leads[stage].items(), key=lambda x: (x[1], x[0]))
        for lead, at in leads[:limit]:
            out.append({"stage": stage, "lead_id": lead,
                        "deadline": iso(at), "deadline_ms": at,
                        "days_cold": (data.now - at) // DAY})
    return out


def now_rows(data, limit):
    return [{"stage": s, "leads": len(data.leads[s]),
             "shown": min(limit, len(data.leads[s]))} for s in ("mql", "sql")]


def upcoming_rows(data, limit):
    mine = sorted(((at, m[len(T) + 1:], key) for m, (key, at)
                   in data.due.items()
                   if m.startswith(f"{T}:") and f":{GROUP}:" in key),
                  key=lambda x: (x[0], x[1]))
    rows = [{"lead_id": lead, "stage": STAGE.get(lead), "deadline": iso(at),
             "deadline_ms": at,
             "due_in_hours": round((at - data.now) / HOUR, 1),
             "clock": "wall" if ":wall:" in key else "event",
             "partition": int(key.rsplit(":", 1)[1])}
            for at, lead, key in mine[:limit]]
    total = [{"group": GROUP, "partitions": 3, "pending": len(mine),
              "shown": len(rows)}]
    return rows, total


def expected_text(doc):
    """The table rendering of the hand-computed tables of doc."""
    tables = [k for k in doc if k not in ("command", "notes")]
    return "\n".join(text_table(k, COLS[k], doc[k]) for k in tables)


def fmt_share(doc):
    """Table text shows shares with 4 decimals, hours with 1."""
    out = dict(doc)
    out["cold_channels"] = [dict(r, share=f"{r['share']:.4f}")
                            for r in doc["cold_channels"]]
    if "upcoming" in doc:
        out["upcoming"] = [dict(r, due_in_hours=f"{r['due_in_hours']:.1f}")
                           for r in doc["upcoming"]]
    return out


# ------------------------------------------------------------ checks

def check_all_time(c, data):
    want = {
        "command": "cold",
        "cold": alert_rows("all", COLD),
        "cold_value": [
            {"period": "all", "currency": "EUR", "mql_value_minor": 0,
             "sql_value_minor": 700, "value_minor": 700},
            {"period": "all", "currency": "USD", "mql_value_minor": 3000,
             "sql_value_minor": 50000, "value_minor": 53000}],
        "cold_channels": [
            {"period": "all", "stage": "mql", "channel": "email",
             "alerts": 2, "share": 0.6667},
            {"period": "all", "stage": "mql", "channel": "unknown",
             "alerts": 1, "share": 0.3333},
            {"period": "all", "stage": "sql", "channel": "paid_search",
             "alerts": 3, "share": 0.6},
            {"period": "all", "stage": "sql", "channel": "email",
             "alerts": 1, "share": 0.2},
            {"period": "all", "stage": "sql", "channel": "webinar",
             "alerts": 1, "share": 0.2}],
        "cold_now": now_rows(data, 20),
        "cold_leads": lead_rows(data, 20),
    }
    # by hand: the oldest first, ties by id; whole days since the deadline
    assert [(x["lead_id"], x["days_cold"]) for x in want["cold_leads"]] == \
        [("M1", 1), ("S1", 40), ("S3", 10), ("S4", 10), ("S2", 3)]
    doc = c.json("cold", "--tenant", T)
    notes = doc.pop("notes")
    assert doc == want, json.dumps(doc, indent=1)
    assert len(notes) == 2 and "all time" in notes[0] and \
        "at most 20 per stage" in notes[1] and "UTC" in notes[1], notes

    text = c.ok("cold", "--tenant", T)
    tables, _, note_text = text.partition("\n\nnote: ")
    assert tables + "\n" == expected_text(fmt_share(want)), \
        f"got:\n{tables}\nwant:\n{expected_text(fmt_share(want))}"
    assert note_text.count("\nnote: ") == 1, note_text
    # the literal start, as a reader sees it
    assert text.startswith(
        "cold\n"
        "  period  stage  alerts\n"
        "  all     mql         3\n"
        "  all     sql         5\n"
        "\n"
        "cold_value\n"
        "  period  currency  mql_value_minor  sql_value_minor  value_minor\n"
        "  all     EUR                     0              700          700\n"
        "  all     USD                  3000            50000        53000\n"
        "\n"
        "cold_channels\n"
        "  period  stage  channel      alerts   share\n"
        "  all     mql    email             2  0.6667\n"
        "  all     mql    unknown           1  0.3333\n"
        "  all     sql    paid_search       3  0.6000\n"
        "  all     sql    email             1  0.2000\n"
        "  all     sql    webinar           1  0.2000\n"
        "\n"
        "cold_now\n"
        "  stage  leads  shown\n"
        "  mql        1      1\n"
        "  sql        4      4\n"), text
    # CSV: one block per table
    blocks = csv_blocks(c.ok("--format", "csv", "cold", "--tenant", T))
    assert [len(b) - 1 for b in blocks] == [2, 2, 5, 2, 5], blocks
    assert blocks[4][0] == [c_ for c_, _ in COLS["cold_leads"]], blocks[4]


def check_month_limit_upcoming(c, data):
    # November: its own hash; the leads cold now whatever the month
    doc = c.json("cold", "--tenant", T, "--month", "2026-11", "--limit", "3",
                 "--upcoming")
    notes = doc.pop("notes")
    rows, total = upcoming_rows(data, 3)
    want = {
        "command": "cold",
        "cold": alert_rows("2026-11", COLD_NOV),
        "cold_value": [{"period": "2026-11", "currency": "USD",
                        "mql_value_minor": 0, "sql_value_minor": 20000,
                        "value_minor": 20000}],
        "cold_channels": [{"period": "2026-11", "stage": "sql",
                           "channel": "paid_search", "alerts": 2,
                           "share": 1.0}],
        "cold_now": now_rows(data, 3),
        "cold_leads": lead_rows(data, 3),
        "upcoming": rows,
        "upcoming_total": total,
    }
    # by hand: U3 is past its deadline on the wall clock (no later event
    # of its partition yet); U4 is on the wall clock and has no lead hash;
    # acmex:Z1 and other:* are other tenants', U8 another group's
    assert [(x["lead_id"], x["stage"], x["due_in_hours"], x["clock"],
             x["partition"]) for x in rows] == \
        [("U3", "mql", -2.0, "event", 2), ("U1", "mql", 5.0, "event", 0),
         ("U4", None, 30.0, "wall", 1)], rows
    assert total == [{"group": GROUP, "partitions": 3, "pending": 4,
                      "shown": 3}], total
    assert [x["lead_id"] for x in want["cold_leads"]] == \
        ["M1", "S1", "S3", "S4"], want["cold_leads"]
    assert doc == want, json.dumps(doc, indent=1)
    assert "deadline fell in" in notes[0] or "month of the deadline" in \
        notes[0], notes
    assert any(f"{data.prefix}:due:{GROUP}:<p>" in n and
               f"{data.prefix}:offsets:{GROUP}" in n for n in notes), notes

    text = c.ok("cold", "--tenant", T, "--month", "2026-11", "--limit", "3",
                "--upcoming")
    tables = text.partition("\n\nnote: ")[0]
    assert tables + "\n" == expected_text(fmt_share(want)), \
        f"got:\n{tables}\nwant:\n{expected_text(fmt_share(want))}"

    # a month without alerts; --limit 0: the counts only
    doc = c.json("cold", "--tenant", T, "--month", "2026-10", "--limit", "0")
    assert doc["cold"] == alert_rows("2026-10", {}) and \
        doc["cold_value"] == [] and doc["cold_channels"] == [], doc
    assert doc["cold_now"] == now_rows(data, 0) and doc["cold_leads"] == []

    # another group: its own offsets (none here), so no partition read
    doc = c.json("cold", "--tenant", T, "--upcoming", "--group", "othergroup")
    assert doc["upcoming"] == [] and doc["upcoming_total"] == [
        {"group": "othergroup", "partitions": 0, "pending": 0, "shown": 0}]
    assert any("no input partition recorded for group 'othergroup'" in n
               for n in doc["notes"]), doc["notes"]

    # a tenant with no data at all: empty tables and a note saying so
    doc = c.json("cold", "--tenant", "quiet", "--upcoming")
    assert doc["cold"] == alert_rows("all", {}) and \
        doc["cold_now"] == [{"stage": s, "leads": 0, "shown": 0}
                            for s in ("mql", "sql")] and \
        doc["upcoming"] == [] and \
        doc["upcoming_total"][0]["pending"] == 0, doc
    assert doc["notes"][0].startswith(
        "tenant 'quiet' has no cold-lead alert recorded and no lead cold "
        "now"), doc["notes"]


def check_time_zones(base, data):
    config = Path(fdit.work_dir()) / f"{data.prefix}.ini"
    config.write_text("[tenant.kol]\ntimezone = Asia/Kolkata\n\n"
                      "[tenant.ber]\ntimezone = Europe/Berlin\n")
    c = BareCtl(["-c", str(config)] + base)
    doc = c.json("cold", "--tenant", "kol")
    assert doc["cold_leads"][0]["deadline"] == \
        "2026-09-21T19:43:20.000+05:30" == iso(1790000000000,
                                               "Asia/Kolkata"), doc
    assert "deadline in Asia/Kolkata" in doc["notes"][-1], doc["notes"]
    doc = c.json("cold", "--tenant", "ber")
    assert [(x["lead_id"], x["deadline"]) for x in doc["cold_leads"]] == [
        ("B2", "2026-01-15T19:00:00.000+01:00"),
        ("B1", "2026-07-01T12:00:00.000+02:00")], doc["cold_leads"]
    # the same without the config: UTC
    doc = BareCtl(base).json("cold", "--tenant", "ber")
    assert doc["cold_leads"][0]["deadline"] == "2026-01-15T18:00:00.000Z"


def check_errors(c):
    usage = [
        (["cold"], "needs --tenant"),
        (["cold", "--tenant", T, "--month", "2026-13"], "YYYY-MM"),
        (["cold", "--tenant", T, "--month", "11-2026"], "YYYY-MM"),
        (["cold", "--tenant", T, "--limit", "x"], "0 to 1000"),
        (["cold", "--tenant", T, "--limit", "-1"], "0 to 1000"),
        (["cold", "--tenant", T, "--limit", "1001"], "0 to 1000"),
        (["cold", "--tenant", T, "--from", "2026-10"], "--month YYYY-MM"),
        (["cold", "--tenant", T, "--by", "channel"], "--month YYYY-MM"),
        (["velocity", "--tenant", T, "--limit", "3"], "cold only"),
        (["report", "--tenant", T, "--upcoming"], "cold only"),
    ]
    for args, needle in usage:
        rc, out, err = c.run(*args)
        assert rc == 2 and not out and needle in err and \
            f"see funnelctl {args[0]} --help" in err, (args, rc, out, err)
    rc, out, err = c.run("cold", "--tenant", "nobody-here")
    assert rc == 3 and not out and "tenant 'nobody-here' not found" in err \
        and "check --tenant, --prefix" in err, (rc, err)
    rc, out, err = c.run("cold", "--help")
    assert rc == 0 and "usage: funnelctl cold --tenant T" in out and \
        "--upcoming" in out, out
    rc, out, err = c.run("--help")
    assert rc == 0 and "  cold " in out, out
    rc, out, err = c.run("nope")
    assert rc == 2 and "visitors, cold)" in err, err


def test_hand_written_keys():
    r = fdit.redis_client()
    prefix = fdit.unique("ctl-cold")
    data = Data(r, prefix)
    try:
        base = ["--redis", f"{fdit.redis_host()}:{fdit.redis_port()}",
                "--prefix", prefix]
        c = BareCtl(base + ["--group", GROUP])
        check_all_time(c, data)
        print("all time: alerts, value per currency, channels, leads cold "
              "now: exact table and JSON ok", flush=True)
        check_month_limit_upcoming(c, data)
        print("--month, --limit, --upcoming, --group, a tenant without "
              "data ok", flush=True)
        check_time_zones(base, data)
        print("deadlines in the tenant's time zone ok", flush=True)
        check_errors(c)
        print("errors: usage 2, unknown tenant 3, help ok", flush=True)
    finally:
        data.delete()


# ------------------------------------------------------------ /api/cold

def check_api(ctl, base):
    for query, args in (
            (f"tenant={T}", ["--tenant", T]),
            (f"tenant={T}&month=2026-11", ["--tenant", T, "--month",
                                           "2026-11"]),
            (f"tenant={T}&limit=2&upcoming=1",
             ["--tenant", T, "--limit", "2", "--upcoming"]),
            (f"tenant={T}&upcoming=true&limit=0",
             ["--tenant", T, "--upcoming", "--limit", "0"]),
            (f"tenant={T}&upcoming=0", ["--tenant", T]),
            ("tenant=quiet", ["--tenant", "quiet"])):
        status, ctype, text = itlib.http_get(f"{base}/api/cold?{query}")
        assert status == 200 and ctype.startswith("application/json"), \
            (query, status, text)
        assert json.loads(text) == ctl.json("cold", *args), query
    doc = json.loads(itlib.http_get(
        f"{base}/api/cold?tenant={T}&limit=2&upcoming=1")[2])
    assert [x["lead_id"] for x in doc["upcoming"]] == ["U3", "U1"] and \
        doc["upcoming_total"][0]["group"] == GROUP, doc
    for query, code, needle in (
            ("", 400, "tenant"),
            (f"tenant={T}&month=2026-13", 400, "YYYY-MM"),
            (f"tenant={T}&limit=many", 400, "0 to 1000"),
            (f"tenant={T}&upcoming=maybe", 400, "upcoming=1"),
            (f"tenant={T}&from=2026-10", 400, "--month YYYY-MM"),
            ("tenant=no-such-tenant", 404, "not found")):
        status, ctype, text = itlib.http_get(f"{base}/api/cold?{query}")
        assert status == code and ctype.startswith("application/json") and \
            needle in json.loads(text)["error"], (query, status, text)


def test_api_cold():
    r = fdit.redis_client()
    work = fdit.work_dir()
    setup = itlib.Setup("ctl_cold", work, partitions=1)
    setup.create_topics()
    config = setup.write_config()
    data = Data(r, fdit.unique("ctl-cold-api"))
    # readers of the deployment's prefix read the hand-written namespace
    # (as after a re-scoring replay): funneld itself never writes there
    active = f"{setup.prefix}:active"
    r.hset(active, mapping={"prefix": data.prefix, "group": GROUP})
    proc = setup.start()
    try:
        base = itlib.http_base(proc)
        check_api(Ctl(config), base)
        print("api: /api/cold equals funnelctl's documents; 400 and 404 ok",
              flush=True)
        assert proc.alive(), proc.log_tail()
        setup.stop(proc)
    finally:
        setup.kill_all()
        data.delete()
        r.delete(active)


if __name__ == "__main__":
    fdit.main(globals())
