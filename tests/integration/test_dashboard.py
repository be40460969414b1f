#!/usr/bin/env python3
"""funneld's JSON API (/api/...) and live dashboard page (/).

The hand-made stream of test_e2e_handmade.py (tenant "hm", October 2026)
goes through funneld; then:

  * every number the JSON API answers (funnel per stage, revenue per
    channel and model, daily MQL/SQL, the tenant list, a lead) equals what
    redis-py reads from the documented keys (docs/REDIS.md) directly;
  * bad or missing arguments answer 400, an unknown tenant or lead 404,
    each with {"error": ...};
  * headless Chromium (Debian's chromium package) loads the page, which
    draws the funnel, revenue and trend from the API: the numbers in the
    rendered DOM (data-* attributes) equal Redis's, for two attribution
    models and the business-day view; a screenshot is kept in the test's
    work dir (its path is printed);
  * Redis unreachable for new connections (the test's proxy closed)
    answers 503.
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from datetime import date, timedelta
from html.parser import HTMLParser
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import fdit  # noqa: E402
import itlib  # noqa: E402
import test_e2e_handmade as hm  # noqa: E402

MONTH = "2026-10"
UNTIL = "2026-10-31"
STAGES = ["lead", "mql", "sql", "opportunity", "closed_won", "closed_lost"]
# Monday to Friday among the 30 days up to UNTIL, by Python's calendar.
BUSINESS_DAYS = sum(
    (date.fromisoformat(UNTIL) - timedelta(days=i)).weekday() < 5
    for i in range(30))
from refmodel import MODELS  # noqa: E402


def get_json(base, path):
    status, ctype, body = itlib.http_get(base + path)
    assert ctype.startswith("application/json"), (path, status, ctype, body)
    return status, json.loads(body)


def ok_json(base, path):
    status, doc = get_json(base, path)
    assert status == 200, (path, status, doc)
    return doc


def ival(v):
    return int(v) if v is not None else 0


# ------------------------------------------------------------ Redis truth

class Truth:
    def __init__(self, r, prefix, tenant):
        self.r, self.p = r, f"{prefix}:{{{tenant}}}"
        self.prefix = prefix

    def monthly(self, stage, month):
        return ival(self.r.hget(f"{self.p}:monthly:{stage}", month))

    def daily(self, stage, day):
        return ival(self.r.hget(f"{self.p}:daily:{stage}", day))

    def revenue(self, model, month=None):
        """{(currency, channel): minor} of deals (closed in month)."""
        out = {}
        for key in self.r.scan_iter(f"{self.p}:revenue:{model}:*",
                                   count=1000):
            parts = key[len(f"{self.p}:revenue:{model}:"):].split(":")
            if (month is None and len(parts) != 1) or \
                    (month is not None and parts[1:] != [month]):
                continue
            for f, v in self.r.hgetall(key).items():
                if f.startswith("channel:"):
                    out[(parts[0], f[len("channel:"):])] = int(v)
        return out


    def spend(self, month, cur_channel):
        """The spend of (currency, channel) in month, None when none."""
        cur, channel = cur_channel
        v = self.r.hget(f"{self.p}:spend:{cur}:{month}", f"channel:{channel}")
        return int(v) if v is not None else None


def check_api(base, truth, r, config):
    # tenants: P:tenants, sorted, with the time zone
    doc = ok_json(base, "/api/tenants")
    assert [t["tenant"] for t in doc["tenants"]] == \
        sorted(r.smembers(f"{truth.prefix}:tenants")), doc
    assert {"tenant": hm.T, "timezone": "UTC"} in doc["tenants"], doc

    # funnel of the month
    doc = ok_json(base, f"/api/funnel?tenant={hm.T}&month={MONTH}")
    got = {row["stage"]: row for row in doc["funnel"]}
    assert sorted(got) == sorted(STAGES), doc
    for s in STAGES:
        assert got[s]["entries"] == truth.monthly(s, MONTH), (s, got[s])
    assert got["mql"]["entries"] > 0 and got["closed_won"]["entries"] > 0
    assert abs(got["sql"]["step_conversion"] -
               truth.monthly("sql", MONTH) /
               truth.monthly("mql", MONTH)) < 1e-4, got["sql"]
    print(f"funnel {MONTH}: " + ", ".join(
        f"{s}={got[s]['entries']}" for s in STAGES), flush=True)

    # revenue per channel, every model, month and all time
    for model in MODELS:
        for month in (MONTH, None):
            q = f"/api/channels?tenant={hm.T}&model={model}" + \
                (f"&month={month}" if month else "")
            doc = ok_json(base, q)
            api = {(row["currency"], row["channel"]): row["revenue_minor"]
                   for row in doc["channels"]}
            want = truth.revenue(model, month)
            # channels with spend but no credit under the model: revenue 0
            spent_only = {k for k in api if k not in want}
            assert all(api[k] == 0 for k in spent_only), (q, api)
            assert all(row["spend_minor"] is not None for row in
                       doc["channels"]
                       if (row["currency"], row["channel"]) in spent_only)
            api = {k: v for k, v in api.items() if k not in spent_only}
            assert api == want, (q, api, want)
            assert want, f"no revenue for {model} {month}"
            assert sum(api.values()) == hm.AMOUNT, (model, api)

    # daily MQL / SQL of the 30 days up to UNTIL
    doc = ok_json(base, f"/api/trend?tenant={hm.T}&days=30&until={UNTIL}")
    assert len(doc["trend"]) == 30 and doc["trend"][-1]["date"] == UNTIL
    for row in doc["trend"]:
        assert row["mql"] == truth.daily("mql", row["date"]), row
        assert row["sql"] == truth.daily("sql", row["date"]), row
        wd = row["weekday"]
        assert row["business_day"] == (wd not in ("Sat", "Sun")), row
    s = doc["summary"][0]
    assert s["mql"] == sum(x["mql"] for x in doc["trend"]) > 0, s
    assert s["business_days"] == sum(x["business_day"] for x in
                                     doc["trend"]) == BUSINESS_DAYS, s

    # the CLI and the API share the command: same document
    cli = subprocess.run(
        [os.environ.get("FUNNELCTL_BIN", "build/funnelctl"), "-c",
         str(config), "--format", "json", "trend", "--tenant", hm.T,
         "--days", "30", "--until", UNTIL],
        capture_output=True, text=True, timeout=30)
    assert cli.returncode == 0, cli.stderr
    assert json.loads(cli.stdout) == doc, (cli.stdout, doc)

    # cohorts: counts and revenue as in P:{T}:cohort:<by>:M (a missing
    # hash is zeros)
    for by in ("lead", "mql"):
        doc = ok_json(base, f"/api/cohorts?tenant={hm.T}&by={by}"
                      "&from=2026-09&to=2026-11")
        assert [x["month"] for x in doc["cohorts"]] == \
            ["2026-09", "2026-10", "2026-11"], doc
        for row in doc["cohorts"]:
            h = r.hgetall(f"{truth.p}:cohort:{by}:{row['month']}")
            assert row["size"] == ival(h.get(by)), (by, row, h)
            for s in ("sql", "opportunity", "closed_won", "closed_lost"):
                assert row[s] == ival(h.get(s)), (by, s, row, h)
        for x in doc["revenue"]:
            h = r.hgetall(f"{truth.p}:cohort:{by}:{x['month']}")
            assert x["amount_minor"] == \
                ival(h.get(f"revenue:{x['currency']}")), (by, x, h)
        print(f"cohorts by {by}: " + ", ".join(
            f"{x['month']} size={x['size']} won={x['closed_won']}"
            for x in doc["cohorts"]), flush=True)

    # a lead
    doc = ok_json(base, f"/api/lead?tenant={hm.T}&id={hm.ALICE}")
    lead = r.hgetall(f"{truth.p}:lead:{hm.ALICE}")
    assert json.dumps(doc).count(lead["stage"]) > 0, (doc, lead)
    assert doc["command"] == "lead"

    doc = ok_json(base, "/api/status")
    assert doc["command"] == "status"

    # errors: 400 (say what to do), 404
    for path, status, words in (
            ("/api/funnel", 400, "tenant"),
            ("/api/funnel?tenant=", 400, "tenant"),
            (f"/api/funnel?tenant={hm.T}&month=2026-13", 400, "YYYY-MM"),
            (f"/api/funnel?tenant={hm.T}&month={MONTH}&from={MONTH}", 400,
             "either"),
            (f"/api/channels?tenant={hm.T}&model=nope", 400, "linear"),
            (f"/api/trend?tenant={hm.T}&days=0", 400, "days"),
            (f"/api/trend?tenant={hm.T}&until=2026-02-30", 400,
             "YYYY-MM-DD"),
            (f"/api/lead?tenant={hm.T}", 400, "id"),
            ("/api/funnel?tenant=no-such-tenant", 404, "not found"),
            (f"/api/lead?tenant={hm.T}&id=no-such-lead", 404, "no-such-lead"),
            ("/api/trend?tenant=no-such-tenant", 404, "not found"),
            (f"/api/cohorts?tenant={hm.T}&by=nope", 400, "--by mql"),
            ("/api/cohorts?tenant=no-such-tenant", 404, "not found")):
        got, doc = get_json(base, path)
        assert got == status and words in doc["error"], (path, got, doc)
    print("API errors: 400 and 404 as documented", flush=True)


# ------------------------------------------------------------ the browser

class DataAttrs(HTMLParser):
    """Collects the data-* attributes of every element."""

    def __init__(self):
        super().__init__()
        self.elems = []

    def handle_starttag(self, tag, attrs):
        d = {k: v for k, v in attrs if k.startswith("data-") or k == "id"}
        if d:
            self.elems.append(d)

    def with_attr(self, name):
        return [e for e in self.elems if name in e]


def chromium():
    exe = shutil.which("chromium")
    assert exe, ("chromium is not installed: run scripts/setup.sh (it "
                 "installs Debian's chromium package)")
    return exe


def browse(url, work, extra):
    """Runs headless Chromium on url with extra arguments; returns
    stdout."""
    with tempfile.TemporaryDirectory(dir=work) as profile:
        env = dict(os.environ, HOME=profile)
        cmd = [chromium(), "--headless=new", "--no-sandbox", "--disable-gpu",
               "--no-first-run", "--disable-extensions",
               "--disable-dev-shm-usage", f"--user-data-dir={profile}",
               "--virtual-time-budget=10000", *extra, url]
        res = subprocess.run(cmd, capture_output=True, text=True, env=env,
                             timeout=120)
        assert res.returncode == 0, (cmd, res.returncode, res.stderr[-3000:])
        return res.stdout


def dom(url, work):
    p = DataAttrs()
    p.feed(browse(url, work, ["--dump-dom"]))
    return p


def check_page(base, truth, work):
    for model, bday in (("linear", False), ("w_shaped", True)):
        url = f"{base}/?tenant={hm.T}&month={MONTH}&model={model}" + \
            ("&bday=1" if bday else "")
        d = dom(url, work)
        body = [e for e in d.elems if "data-ready" in e or "data-error" in e]
        assert body and "data-error" not in body[0], (url, body)
        upd = [e for e in d.elems if e.get("id") == "updated"][0]
        assert upd["data-tenant"] == hm.T and upd["data-month"] == MONTH

        stages = {e["data-stage"]: int(e["data-count"])
                  for e in d.with_attr("data-stage")}
        assert stages == {s: truth.monthly(s, MONTH) for s in STAGES}, \
            stages
        steps = {e["data-stage"]: e["data-step-conversion"]
                 for e in d.with_attr("data-stage")}
        assert abs(float(steps["sql"]) - truth.monthly("sql", MONTH) /
                   truth.monthly("mql", MONTH)) < 1e-4, steps

        rev = {(e["data-currency"], e["data-channel"]):
               int(e["data-revenue-minor"])
               for e in d.with_attr("data-revenue-minor")}
        assert all(e["data-model"] == model
                   for e in d.with_attr("data-revenue-minor"))
        want = truth.revenue(model, MONTH)
        # channels spent on but not credited show revenue 0 and their spend
        assert all(v == 0 for k, v in rev.items() if k not in want), rev
        assert {k: v for k, v in rev.items() if k in want} == want, \
            (model, rev)
        spend = {(e["data-currency"], e["data-channel"]):
                 e["data-spend-minor"]
                 for e in d.with_attr("data-revenue-minor")}
        assert spend == {k: str(truth.spend(MONTH, k)) if
                         truth.spend(MONTH, k) is not None else ""
                         for k in rev}, (model, spend)

        days = d.with_attr("data-date")
        want_days = BUSINESS_DAYS if bday else 30
        assert len(days) == want_days, (len(days), bday)
        for e in days:
            assert int(e["data-mql"]) == truth.daily("mql", e["data-date"])
            assert int(e["data-sql"]) == truth.daily("sql", e["data-date"])
            if bday:
                assert e["data-business-day"] == "1", e
        total = [e for e in d.elems if e.get("id") == "trend-mql"][0]
        assert int(total["data-value"]) == sum(
            int(e["data-mql"]) for e in days) or bday
        print(f"page ({model}{', business days' if bday else ''}): "
              f"{len(stages)} stages, {len(rev)} channels, {len(days)} "
              f"days equal Redis", flush=True)

    shot = work / "dashboard.png"
    browse(f"{base}/?tenant={hm.T}&month={MONTH}&model=linear", work,
           [f"--screenshot={shot}", "--window-size=1280,900",
            "--hide-scrollbars"])
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20000, \
        (shot, len(data))
    print(f"screenshot: {shot} ({len(data)} bytes)", flush=True)


# ------------------------------------------------------------ the test

def test_dashboard_api_and_page():
    work = fdit.work_dir()
    setup = itlib.Setup("dash", work, model=hm.MODEL, partitions=hm.PARTS)
    setup.create_topics()
    setup.write_config()
    hm.produce_stream(setup, fdit.Avro())
    r = fdit.redis_client()
    # funneld reaches Redis through a proxy of the test, so that Redis can
    # be made unreachable for the API's new connections at the end.
    proxy = itlib.Proxy()
    proxy.start()
    p = setup.start(itlib.config_via(setup, proxy.port, "proxy"))
    try:
        base = itlib.http_base(p)
        setup.wait_caught_up(p, r, setup.end_offsets(), timeout=90)
        truth = Truth(r, setup.prefix, hm.T)

        status, ctype, body = itlib.http_get(base + "/")
        assert status == 200 and ctype.startswith("text/html"), ctype
        for needle in ("http://", "https://", "//cdn", "@import"):
            text = body.replace('"http://www.w3.org/2000/svg"', "")
            assert needle not in text, f"external reference {needle!r}"
        assert itlib.http_get(base + "/dashboard")[2] == body

        check_api(base, truth, r, setup.config)
        check_page(base, truth, work)

        # New connections to Redis are refused from now on (shutdown wakes
        # the proxy's accept(); close alone would not on Linux).
        proxy.sock.shutdown(socket.SHUT_RDWR)
        proxy.close()
        for path in (f"/api/funnel?tenant={hm.T}&month={MONTH}",
                     "/api/tenants", "/api/status"):
            got, doc = get_json(base, path)
            assert got == 503 and "redis" in doc["error"].lower(), \
                (path, got, doc)
        print(f"503: {doc['error']}", flush=True)
        print("Redis unreachable: 503 with what to do", flush=True)
        setup.stop(p)
    finally:
        proxy.close()
        setup.kill_all()


if __name__ == "__main__":
    fdit.main(globals())
