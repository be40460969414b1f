#!/usr/bin/env python3
"""SIGHUP reloads the scoring rules from the config file, live.

Model A scores a page view 1 point, model B 3 points; both make a lead an
MQL at engagement 10. Five page views of lead-a under model A leave it at 5
(no MQL); after the config file is rewritten with model B and funneld gets
SIGHUP, five page views of lead-b make it an MQL at 15, while lead-a keeps
what it earned. A config with a syntax error and one that changes a
restart-only key (topics.dlq) are refused with a clear log line, and the
running rules stay: lead-c is still scored by model B. SIGTERM then exits 0.
"""

import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import fdit  # noqa: E402
import itlib  # noqa: E402

T = "rl"
T0 = 1790000000000


def model(points):
    return f"""
[mql]
min_engagement = 10

[rule.page_view]
kind = engagement
event_type = page_view
points = {points}
cap = 100
"""


def page_views(avro, lead, n, start):
    return [(lead.encode(), avro.encode("lead_event", {
        "event_id": f"{lead}-pv-{i}", "tenant_id": T,
        "occurred_at": start + i * 1000, "lead_id": lead,
        "anonymous_id": None, "type": "page_view", "channel": "web",
        "campaign": None, "utm_source": None, "utm_medium": None,
        "utm_campaign": None, "utm_term": None, "utm_content": None,
        "attributes": {}}, schema_id=1)) for i in range(n)]


def test_sighup_reloads_scoring_rules():
    work = fdit.work_dir()
    setup = itlib.Setup("reload", work, partitions=1, model=model(1))
    setup.create_topics()
    cfg = setup.write_config()
    good_text = cfg.read_text()
    avro = fdit.Avro()
    r = fdit.redis_client()
    p = setup.start()
    try:
        def lead(name):
            return r.hgetall(f"{setup.prefix}:{{{T}}}:lead:{name}")

        def feed(name, start):
            fdit.produce(setup.lead_topic, page_views(avro, name, 5, start))
            setup.wait_caught_up(p, r, setup.end_offsets(), timeout=60)

        def reloads(pattern):
            return p.log_text().count(pattern)

        feed("lead-a", T0)
        a = lead("lead-a")
        assert a["engagement"] == "5" and "entered:mql" not in a, a

        # Model B: 3 points per page view.
        cfg.write_text(good_text.replace("points = 1\n", "points = 3\n"))
        p.proc.send_signal(signal.SIGHUP)
        fdit.wait_for(lambda: reloads("reloaded ") == 1, 30,
                      "funneld to log the reload")
        feed("lead-b", T0 + 60000)
        b = lead("lead-b")
        print(f"lead-a {a}\nlead-b {b}", flush=True)
        assert b["engagement"] == "15" and b["stage"] == "mql", b
        assert lead("lead-a")["engagement"] == "5"
        monthly = r.hgetall(f"{setup.prefix}:{{{T}}}:monthly:mql")
        assert sum(map(int, monthly.values())) == 1, monthly

        # A syntax error: refused, model B stays.
        b_text = cfg.read_text()
        cfg.write_text(b_text + "\n[rule.broken\nkind = fit\n")
        p.proc.send_signal(signal.SIGHUP)
        fdit.wait_for(lambda: reloads("reload of ") == 1, 30,
                      "funneld to refuse the broken config")
        # A restart-only key: refused, model B stays.
        cfg.write_text(b_text.replace(f"dlq = {setup.dlq}",
                                      f"dlq = {setup.dlq}-other")
                       .replace("points = 3\n", "points = 7\n"))
        p.proc.send_signal(signal.SIGHUP)
        fdit.wait_for(lambda: reloads("reload of ") == 2, 30,
                      "funneld to refuse a restart-only change")
        log = p.log_text()
        refused = [line for line in log.splitlines() if "reload of" in line]
        print("\n".join(refused), flush=True)
        assert "failed" in refused[0] and \
            "section header without ']'" in refused[0], refused[0]
        assert "refused" in refused[1] and "topics.dlq changed" in \
            refused[1] and "restart" in refused[1], refused[1]
        assert p.alive()

        feed("lead-c", T0 + 120000)
        c = lead("lead-c")
        assert c["engagement"] == "15", c
        setup.stop(p)
    finally:
        setup.kill_all()


if __name__ == "__main__":
    fdit.main(globals())
