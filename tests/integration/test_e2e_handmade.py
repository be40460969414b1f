#!/usr/bin/env python3
"""End to end on a small hand-written stream with exactly known results.

Tenant "hm", time zone UTC, 4 partitions. The story (T0 = 2026-10-05 09:00
UTC, d = day, h = hour):

  alice  anonymous visitor anon-alice-1 (partition 1) touches twice, then an
         identify carries lead-alice (partition 2) and the cookie: the
         lead is created and stitched; engagement crosses the MQL threshold
         exactly once; a demo request makes her an SQL; CRM opens opp-1 and
         closes it won for 1 000 001 cents (USD); after the close a page
         view and a second closed_won (new event id) change no funnel count.
  bob    a form fill, then CRM says sql straight away: mql is implied.
  carol  only known to the CRM: lead, then closed_lost.
  spend  five SpendEvents (keyed by channel): paid_search/fall-search
         12 345 on 10-05 and a -345 correction of it, social/linkedin-abm
         50 000 on 10-06, referral/partner-x 1 000 on 11-01 (bob's
         source), and
         email/nurture-1 700 EUR on 10-07; the social one is re-sent.
  noise  two re-sent duplicates (alice's MQL-crossing webinar and the
         closed_won), and five bad messages: random bytes, a wrong magic
         byte, an unknown schema id, a corrupt Avro body (lead topic,
         alice's partition) and an unknown CRM stage (crm topic). Good events
         follow them in the same partitions.

Cold leads (defaults: MQL SLA 48 h, SQL 30 days, event clock): alice is an
MQL from e05 (T0+4d) to e07 (T0+5d), inside her 48 h, and an SQL from T0+5d
to the opportunity (T0+10d); carol never reaches mql or sql. Bob becomes an
SQL at b02 (T0+2d3h), deadline T0+32d3h; no lead or CRM event of his
partition (0; spend events do not count) is that late (the story's last is
T0+22d), so he raises no alert: his deadline stays pending in P:due:G:0 and
the alerts topic stays empty.

Scoring model (below): fit = title contains "director" 10 + industry in
{software, saas} 5; engagement = page_view 2 (cap 4), content_download 8,
webinar_attended 12, form_submit 5; MQL when fit >= 10 and engagement >= 20.
"""

import sys
import zlib
from collections import Counter, defaultdict
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import fdit  # noqa: E402
import itlib  # noqa: E402
from refmodel import MODELS, RefModel  # noqa: E402

MODEL = """
[attribution]
models = all
lookback_days = 90
half_life_days = 7

[lifecycle]
allow_recycle = true
allow_reopen = false

[mql]
min_fit = 10
min_engagement = 20

[handraise]
types = demo_request,contact_sales

[rule.title]
kind = fit
attribute = job_title
match = contains
value = director
points = 10

[rule.industry]
kind = fit
attribute = industry
match = set
values = software,saas
points = 5

[rule.page_view]
kind = engagement
event_type = page_view
points = 2
cap = 4

[rule.download]
kind = engagement
event_type = content_download
points = 8

[rule.webinar]
kind = engagement
event_type = webinar_attended
points = 12

[rule.form]
kind = engagement
event_type = form_submit
points = 5
"""

PARTS = 4
T = "hm"
H = 3600 * 1000
D = 24 * H
T0 = 1791190800000  # 2026-10-05T09:00:00Z
AMOUNT = 1000001
ALICE, BOB, CAROL, ANON = "lead-alice", "lead-bob", "lead-carol", \
    "anon-alice-1"


def part(key):
    """The partition of a key (CRC32, like librdkafka's consistent
    partitioner); produced explicitly so the test controls co-location."""
    return zlib.crc32(key.encode()) % PARTS


def lead_ev(eid, at, typ, lead=None, anon=None, channel=None, campaign=None,
            **attrs):
    return {"event_id": eid, "tenant_id": T, "occurred_at": at,
            "lead_id": lead, "anonymous_id": anon, "type": typ,
            "channel": channel, "campaign": campaign, "utm_source": None,
            "utm_medium": None, "utm_campaign": None, "utm_term": None,
            "utm_content": None, "attributes": attrs}


def crm_ev(eid, at, lead, stage, opp=None, amount=None, currency=None):
    return {"event_id": eid, "tenant_id": T, "occurred_at": at,
            "lead_id": lead, "stage": stage, "opportunity_id": opp,
            "amount_minor": amount, "currency": currency, "owner": "sam"}


# The touches of alice, in time order (t1..t9 in the arithmetic below).
E01 = lead_ev("e01", T0, "page_view", anon=ANON, channel="paid_search",
              campaign="fall-search")
E02 = lead_ev("e02", T0 + 1 * D, "ad_click", anon=ANON, channel="social",
              campaign="linkedin-abm")
E03 = lead_ev("e03", T0 + 2 * D, "identify", lead=ALICE, anon=ANON,
              channel="organic_search", job_title="Marketing Director",
              industry="software", persona="marketing_leader")
E04 = lead_ev("e04", T0 + 3 * D, "content_download", lead=ALICE,
              channel="email", campaign="nurture-1")
E05 = lead_ev("e05", T0 + 4 * D, "webinar_attended", lead=ALICE,
              channel="events", campaign="webinar-q4")
E06 = lead_ev("e06", T0 + 4 * D + 2 * H, "page_view", lead=ALICE,
              channel="direct")
E07 = lead_ev("e07", T0 + 5 * D, "demo_request", lead=ALICE,
              channel="paid_search", campaign="fall-search")
E08 = lead_ev("e08", T0 + 6 * D, "pricing_page_view", anon=ANON,
              channel="referral")
E09 = lead_ev("e09", T0 + 12 * D, "page_view", lead=ALICE,
              channel="organic_search")
E10 = lead_ev("e10", T0 + 21 * D, "page_view", lead=ALICE, channel="direct")
C01 = crm_ev("c01", T0 + 10 * D, ALICE, "opportunity", opp="opp-1")
C02 = crm_ev("c02", T0 + 20 * D, ALICE, "closed_won", opp="opp-1",
             amount=AMOUNT, currency="USD")
C03 = crm_ev("c03", T0 + 22 * D, ALICE, "closed_won", opp="opp-1",
             amount=5, currency="USD")
# A "|" in a touch field is stored as "_" (the member's separator).
B01 = lead_ev("b|01", T0 + 1 * D + 3 * H, "form_submit", lead=BOB,
              channel="referral", campaign="partner-x", persona="it_admin")
B02 = crm_ev("b02", T0 + 2 * D + 3 * H, BOB, "sql")
K01 = crm_ev("k01", T0 + 3 * D, CAROL, "lead")
K02 = crm_ev("k02", T0 + 8 * D, CAROL, "closed_lost")

def spend_ev(eid, at, channel, campaign, day, amount, currency="USD"):
    return {"event_id": eid, "tenant_id": T, "occurred_at": at,
            "channel": channel, "campaign": campaign, "day": day,
            "amount_minor": amount, "currency": currency}


S01 = spend_ev("s01", T0 + 1 * H, "paid_search", "fall-search", "2026-10-05",
               12345)
S02 = spend_ev("s02", T0 + 1 * D, "social", "linkedin-abm", "2026-10-06",
               50000)
S03 = spend_ev("s03", T0 + 27 * D, "referral", "partner-x", "2026-11-01",
               1000)
S04 = spend_ev("s04", T0 + 2 * D, "paid_search", "fall-search", "2026-10-05",
               -345)
S05 = spend_ev("s05", T0 + 3 * D, "email", "nurture-1", "2026-10-07", 700,
               "EUR")
GOOD_SPEND = [S01, S02, S03, S04, S05]

GOOD_LEAD = [E01, E02, B01, E03, E04, E05, E06, E07, E08, E09, E10]
GOOD_CRM = [B02, K01, K02, C01, C02, C03]

# Credits of alice's won deal per touch t1..t9, computed by hand.
# Touches (age at the close T0+20d): t1 e01 paid_search/fall-search 20d,
# t2 e02 social/linkedin-abm 19d, t3 e03 organic_search (lead creation) 18d,
# t4 e04 email/nurture-1 17d, t5 e05 events/webinar-q4 16d, t6 e06 direct
# 15d22h, t7 e07 paid_search/fall-search 15d, t8 e08 referral 14d (last
# touch at or before the opportunity at T0+10d), t9 e09 organic_search 8d
# (last touch, the closed-won touch). e10 is after the close: outside.
# A = 1000001; leftover units go to the largest fractions, ties to the
# earlier touch.
CREDITS = {
    # all on t1 / all on t9
    "first_touch": [AMOUNT, 0, 0, 0, 0, 0, 0, 0, 0],
    "last_touch": [0, 0, 0, 0, 0, 0, 0, 0, AMOUNT],
    # A/9 = 111111.222: floors sum 999999, 2 left -> t1, t2 (ties, earlier)
    "linear": [111112, 111112, 111111, 111111, 111111, 111111, 111111,
               111111, 111111],
    # first t1 and last t9: .4A = 400000.4; 7 others .2A/7 = 28571.457;
    # floors 999997, 4 left -> the .457 fractions t2..t5
    "position_based": [400000, 28572, 28572, 28572, 28572, 28571, 28571,
                       28571, 400000],
    # first t1 and lead creation t3: 400000.4; others (t2, t4..t9)
    # 28571.457; 4 left -> t2, t4, t5, t6
    "u_shaped": [400000, 28572, 400000, 28572, 28572, 28572, 28571, 28571,
                 28571],
    # first t1, lead creation t3, opportunity t8: .3A = 300000.3; the 6
    # others .1A/6 = 16666.683; floors 999996, 5 left -> t2, t4, t5, t6, t7
    "w_shaped": [300000, 16667, 300000, 16667, 16667, 16667, 16667, 300000,
                 16666],
    # t1, t3, t8, t9: .225A = 225000.225; the 5 others .1A/5 = 20000.02;
    # floors 1000000, 1 left -> t1 (.225 ties, earliest)
    "full_path": [225001, 20000, 225000, 20000, 20000, 20000, 20000, 225000,
                  225000],
    # weight 2^(-age/7d): .138011 .152377 .168238 .185749 .205084 .206783
    # .226431 .25 .452862, sum 1.985534; exact shares 69508.403 76743.499
    # 84731.692 93551.373 103289.090 104144.932 114040.401 125910.811
    # 228080.801; floors 999996, 5 left -> fractions .933 (t6) .811 (t8)
    # .801 (t9) .692 (t3) .499 (t2)
    "time_decay": [69508, 76744, 84732, 93551, 103289, 104145, 114040,
                   125911, 228081],
    # first t1 .2A = 200000.2, last t9 .6A = 600000.6, the 7 others
    # .2A/7 = 28571.457; floors 999997, 4 left -> t9 (.6), then the .457
    # fractions t2, t3, t4 (ties, earlier)
    "j_shaped": [200000, 28572, 28572, 28572, 28571, 28571, 28571, 28571,
                 600001],
    # mirrored: first .6A, last .2A; 4 left -> t1 (.6), t2, t3, t4
    "inverse_j": [600001, 28572, 28572, 28572, 28571, 28571, 28571, 28571,
                  200000],
}
TOUCHES = [E01, E02, E03, E04, E05, E06, E07, E08, E09]


def framed(avro, schema, rec, sid):
    return avro.encode(schema, rec, schema_id=sid)


def bad_messages(avro):
    """(topic kind, key, value, reason) of the five bad messages."""
    good = framed(avro, "lead_event", lead_ev("bad-x", T0, "page_view",
                                               lead=ALICE), 1)
    unknown_stage = framed(avro, "crm_stage_event",
                           crm_ev("bad-y", T0, ALICE, "won-ish"), 2)
    no_such_day = framed(avro, "spend_event",
                         spend_ev("bad-z", T0, "social", None, "2026-02-30",
                                  10), 5)
    return [
        ("lead", ALICE, bytes.fromhex("9c7f2a11d0e3b4c5a6f70819"),
         "bad-magic-byte"),
        ("lead", ALICE, b"\x05" + good[1:], "bad-magic-byte"),
        ("lead", ALICE, b"\x00\x00\x00\x00\x63" + good[5:],
         "unknown-schema-id"),
        ("lead", ALICE, b"\x00\x00\x00\x00\x01" + b"\xff" * 11,
         "undecodable"),
        ("crm", ALICE, unknown_stage, "invalid-field"),
        ("spend", "social", no_such_day, "invalid-field"),
    ]


def produce_stream(setup, avro):
    """Produces the stream with explicit partitions; returns the bad
    messages."""
    from confluent_kafka import Producer
    p = Producer({"bootstrap.servers": fdit.bootstrap(),
                  "enable.idempotence": True})
    errors = []

    def send(kind, key, value):
        topic = {"lead": setup.lead_topic, "crm": setup.crm_topic,
                 "spend": setup.spend_topic}[kind]
        p.produce(topic, key=key.encode(), value=value, partition=part(key),
                  on_delivery=lambda err, m: err and errors.append(err))

    def key_of(ev):
        return ev["lead_id"] or ev["anonymous_id"]

    bad = bad_messages(avro)
    for ev in GOOD_LEAD:
        if ev is E04:  # bad messages in the middle of alice's partition
            for kind, key, value, _ in bad:
                if kind == "lead":
                    send(kind, key, value)
        send("lead", key_of(ev), framed(avro, "lead_event", ev, 1))
    for ev in GOOD_CRM:
        if ev is C01:
            for kind, key, value, _ in bad:
                if kind == "crm":
                    send(kind, key, value)
        send("crm", ev["lead_id"], framed(avro, "crm_stage_event", ev, 2))
    # re-sent duplicates, same event ids and bytes
    send("lead", ALICE, framed(avro, "lead_event", E05, 1))
    send("crm", ALICE, framed(avro, "crm_stage_event", C02, 2))
    for ev in GOOD_SPEND[:2]:
        send("spend", ev["channel"], framed(avro, "spend_event", ev, 5))
    for kind, key, value, _ in bad:
        if kind == "spend":
            send(kind, key, value)
    for ev in GOOD_SPEND[2:] + [S02]:  # S02 again: a duplicate
        send("spend", ev["channel"], framed(avro, "spend_event", ev, 5))
    assert p.flush(30) == 0 and not errors, errors
    return bad


def late_events(*topics):
    """Events produced after a later event (occurred_at) of their topic and
    partition: [(partition, event)] per topic, in production order (the
    re-sent duplicates come last and are dropped, so they are not counted)."""
    late = 0
    for sent in topics:
        latest = {}
        for p, e in sent:
            if e["occurred_at"] < latest.get(p, e["occurred_at"]):
                late += 1
            latest[p] = max(latest.get(p, e["occurred_at"]), e["occurred_at"])
    return late


# ------------------------------------------------------------ expectations

def expected_promotions():
    def prom(lead, cycle, stage, prev, implied, at, cause, fit, eng):
        return {"event_id": f"{T}:{lead}:{cycle}:{stage}", "tenant_id": T,
                "lead_id": lead, "stage": stage, "previous_stage": prev,
                "implied": implied, "cycle": cycle, "occurred_at": at,
                "cause_event_id": cause, "fit_score": fit,
                "engagement_score": eng}
    return [
        # e05: engagement 8 + 12 = 20 >= 20 with fit 10 + 5 = 15 >= 10
        prom(ALICE, 1, "mql", "lead", False, E05["occurred_at"], "e05", 15,
             20),
        # e06 page view +2 = 22 (no second mql); e07 demo request -> sql
        prom(ALICE, 1, "sql", "mql", False, E07["occurred_at"], "e07", 15,
             22),
        prom(ALICE, 1, "opportunity", "sql", False, C01["occurred_at"],
             "c01", 15, 22),
        # e09 page view +2 = 24 (page_view cap 4 now used up)
        prom(ALICE, 1, "closed_won", "opportunity", False,
             C02["occurred_at"], "c02", 15, 24),
        # bob: form fill 5; CRM sql enters mql (implied) and sql at once
        prom(BOB, 1, "mql", "lead", True, B02["occurred_at"], "b02", 0, 5),
        prom(BOB, 1, "sql", "mql", False, B02["occurred_at"], "b02", 0, 5),
        prom(CAROL, 1, "closed_lost", "lead", False, K02["occurred_at"],
             "k02", 0, 0),
    ]


def expected_revenue():
    """revenue hash per model from the hand-computed per-touch credits."""
    out = {}
    for m, credits in CREDITS.items():
        assert sum(credits) == AMOUNT, m
        h = defaultdict(int, total=AMOUNT, deals=1)
        for ev, c in zip(TOUCHES, credits):
            if c:
                h[f"channel:{ev['channel']}"] += c
                if ev["campaign"]:
                    h[f"campaign:{ev['campaign']}"] += c
        out[m] = {k: str(v) for k, v in h.items()}
    return out


def expected_keys(group):
    p = f":{{{T}}}"
    oct_ = "2026-10"
    k = {}
    # stage entries: alice lead 10-07 09h, mql 10-09 09h, sql 10-10 09h,
    # opportunity 10-15 09h, closed_won 10-25 09h; bob lead 10-06 12h, mql
    # (implied) and sql 10-07 12h; carol lead 10-08 09h, closed_lost 10-13.
    entries = [  # (stage, at, lead source channel, campaign, persona)
        ("lead", E03["occurred_at"], "organic_search", None,
         "marketing_leader"),
        ("mql", E05["occurred_at"], "organic_search", None,
         "marketing_leader"),
        ("sql", E07["occurred_at"], "organic_search", None,
         "marketing_leader"),
        ("opportunity", C01["occurred_at"], "organic_search", None,
         "marketing_leader"),
        ("closed_won", C02["occurred_at"], "organic_search", None,
         "marketing_leader"),
        ("lead", B01["occurred_at"], "referral", "partner-x", "it_admin"),
        ("mql", B02["occurred_at"], "referral", "partner-x", "it_admin"),
        ("sql", B02["occurred_at"], "referral", "partner-x", "it_admin"),
        ("lead", K01["occurred_at"], "unknown", None, None),
        ("closed_lost", K02["occurred_at"], "unknown", None, None),
    ]
    k[f"{p}:total"] = {"lead": "3", "mql": "2", "mql:implied": "1",
                       "sql": "2", "opportunity": "1", "closed_won": "1",
                       "closed_lost": "1"}
    for stage, at, ch, camp, persona in entries:
        d, hh = day(at), f"{(at // H) % 24:02d}"
        _inc(k, f"{p}:daily:{stage}", d)
        _inc(k, f"{p}:monthly:{stage}", oct_)
        _inc(k, f"{p}:hourly:{stage}:{d}", hh)
        for dim, val in (("channel", ch), ("campaign", camp),
                         ("persona", persona)):
            if val:
                _inc(k, f"{p}:daily:{stage}:{dim}:{val}", d)
                _inc(k, f"{p}:monthly:{stage}:{dim}:{oct_}", val)
                k.setdefault(f"{p}:dim:{dim}", set()).add(val)
    # written out for the reader: the funnel per month
    assert k[f"{p}:monthly:lead"] == {oct_: "3"}
    assert k[f"{p}:monthly:mql:channel:{oct_}"] == {"organic_search": "1",
                                                    "referral": "1"}
    assert k[f"{p}:monthly:lead:persona:{oct_}"] == {"marketing_leader": "1",
                                                     "it_admin": "1"}
    for ev in GOOD_LEAD:
        _inc(k, f"{p}:events:{day(ev['occurred_at'])}", ev["type"])
    for m, h in expected_revenue().items():
        k[f"{p}:revenue:{m}:USD"] = h
        k[f"{p}:revenue:{m}:USD:{oct_}"] = dict(h)

    def members(*evs):
        def f(v):
            return (v or "").replace("|", "_")
        return [(f"{f(e['event_id'])}|{f(e['channel']) or 'unknown'}|"
                 f"{f(e['campaign'])}|{f(e['type'])}",
                 float(e["occurred_at"])) for e in evs]
    k[f"{p}:touches:anon:{ANON}"] = members(E01, E02, E08)
    k[f"{p}:touches:lead:{ALICE}"] = members(E03, E04, E05, E06, E07, E09,
                                             E10)
    k[f"{p}:touches:lead:{BOB}"] = members(B01)
    k[f"{p}:alias:{ANON}"] = ALICE
    k[f"{p}:anons:{ALICE}"] = {ANON}
    k[":tenants"] = {T}
    k[f"{p}:dedupe"] = {ev["event_id"]
                        for ev in GOOD_LEAD + GOOD_CRM + GOOD_SPEND}
    rules = ("title", "industry", "page_view", "download", "webinar", "form")

    def lead_hash(stage, fit, eng, created, updated, entered, rule_pts,
                  **extra):
        h = {"layout": "1", "stage": stage, "cycle": "1", "fit": str(fit),
             "engagement": str(eng), "created_at": str(created),
             "updated_at": str(updated)}
        h.update({f"entered:{s}": str(at) for s, at in entered.items()})
        h.update({f"rule:{r}": str(rule_pts[r]) for r in rules
                  if rule_pts.get(r)})  # an absent rule field is 0
        h.update(extra)
        return h
    k[f"{p}:lead:{ALICE}"] = lead_hash(
        "closed_won", 15, 24, E03["occurred_at"],
        C03["occurred_at"],  # the no-op second closed_won is the latest
        {"lead": E03["occurred_at"], "mql": E05["occurred_at"],
         "sql": E07["occurred_at"], "opportunity": C01["occurred_at"],
         "closed_won": C02["occurred_at"]},
        {"title": 10, "industry": 5, "page_view": 4, "download": 8,
         "webinar": 12},
        created_event="e03", source_channel="organic_search",
        persona="marketing_leader", opportunity_id="opp-1")
    k[f"{p}:lead:{BOB}"] = lead_hash(
        "sql", 0, 5, B01["occurred_at"], B02["occurred_at"],
        {"lead": B01["occurred_at"], "mql": B02["occurred_at"],
         "sql": B02["occurred_at"]}, {"form": 5},
        created_event="b|01", source_channel="referral",
        source_campaign="partner-x", persona="it_admin",
        **{"implied:mql": "1"})
    k[f"{p}:lead:{CAROL}"] = lead_hash(
        "closed_lost", 0, 0, K01["occurred_at"], K02["occurred_at"],
        {"lead": K01["occurred_at"], "closed_lost": K02["occurred_at"]}, {},
        source_channel="unknown")
    # Time in stage, counted when a lead leaves a stage it really entered
    # (bob's implied MQL is not a stay): alice lead -> mql -> sql -> opp ->
    # won, bob lead -> sql, carol lead -> closed_lost.
    def at(ev):
        return ev["occurred_at"]
    stays = {  # stage -> [(ms, source channel)]
        "lead": [(at(E05) - at(E03), "organic_search"),
                 (at(B02) - at(B01), "referral"),
                 (at(K02) - at(K01), "unknown")],
        "mql": [(at(E07) - at(E05), "organic_search")],
        "sql": [(at(C01) - at(E07), "organic_search")],
        "opportunity": [(at(C02) - at(C01), "organic_search")],
    }
    bounds = [(3600000, "1h"), (86400000, "1d"), (3 * 86400000, "3d"),
              (7 * 86400000, "7d"), (14 * 86400000, "14d"),
              (30 * 86400000, "30d"), (60 * 86400000, "60d"),
              (90 * 86400000, "90d")]

    def bucket(ms):
        return next((f"le:{n}" for b, n in bounds if ms <= b), "le:inf")
    for stage, lst in stays.items():
        for key, items in [(f"{p}:velocity:{stage}", lst)] + [
                (f"{p}:velocity:{stage}:channel:{ch}",
                 [x for x in lst if x[1] == ch])
                for ch in sorted({c for _, c in lst})]:
            h = Counter()
            for ms, _ in items:
                h["sum_ms"] += ms
                h["count"] += 1
                h[bucket(ms)] += 1
            k[key] = {f: str(v) for f, v in h.items()}
    # Score history: the scores after each event that changed them. alice:
    # e03 title director 10 + software 5; e04 download 8; e05 webinar 12;
    # e06 page view 2; e07 demo request has no points; e08 is anonymous; e09
    # page view 2 (cap 4 reached); e10 page view beyond the cap. bob: b01
    # form 5.
    k[f"{p}:scores:{ALICE}"] = [
        ("e03|15|0", float(E03["occurred_at"])),
        ("e04|15|8", float(E04["occurred_at"])),
        ("e05|15|20", float(E05["occurred_at"])),
        ("e06|15|22", float(E06["occurred_at"])),
        ("e09|15|24", float(E09["occurred_at"]))]
    k[f"{p}:scores:{BOB}"] = [("b_01|0|5", float(B01["occurred_at"]))]
    # Unique visitors: every lead event carrying an anonymous id counts that
    # id on its day (alice's cookie, before and after the identify).
    visitors = defaultdict(set)
    for ev in GOOD_LEAD:
        if ev.get("anonymous_id"):
            visitors[day(ev["occurred_at"])].add(ev["anonymous_id"])
    for d, ids in visitors.items():
        k[f"{p}:visitors:{d}"] = ("hll", len(ids))
    # Sourcing: alice's deal is the one customer; her journey's first touch
    # in the window (t1, paid_search) is marketing, so it is both
    # marketing-sourced and influenced (non-marketing: direct, unknown).
    src = {"customers": "1", "revenue:USD": str(AMOUNT), "sourced": "1",
           "sourced_revenue:USD": str(AMOUNT), "influenced": "1",
           "influenced_revenue:USD": str(AMOUNT)}
    k[f"{p}:sourcing"] = src
    k[f"{p}:sourcing:2026-10"] = dict(src)
    # Cohorts: all three leads were created in October; alice and bob
    # entered MQL in October (bob implied), carol went lead -> closed_lost
    # without an MQL; alice's deal is the cohorts' revenue.
    k[f"{p}:cohort:lead:2026-10"] = {
        "lead": "3", "mql": "2", "sql": "2", "opportunity": "1",
        "closed_won": "1", "closed_lost": "1", "revenue:USD": "1000001"}
    k[f"{p}:cohort:mql:2026-10"] = {
        "mql": "2", "sql": "2", "opportunity": "1", "closed_won": "1",
        "revenue:USD": "1000001"}
    # Spend (USD): paid_search 12 345 - 345 on 10-05 (fall-search); social
    # 50 000 on 10-06 (linkedin-abm, its re-sent copy dropped); referral
    # 1 000 on 11-01 (partner-x). EUR: email 700 on 10-07 (nurture-1).
    oct5 = {"total": "12000", "reports": "2", "channel:paid_search": "12000",
            "campaign:fall-search": "12000"}
    oct6 = {"total": "50000", "reports": "1", "channel:social": "50000",
            "campaign:linkedin-abm": "50000"}
    nov1 = {"total": "1000", "reports": "1", "channel:referral": "1000",
            "campaign:partner-x": "1000"}
    k[f"{p}:spend:USD:2026-10-05"] = oct5
    k[f"{p}:spend:USD:2026-10-06"] = oct6
    k[f"{p}:spend:USD:2026-11-01"] = nov1
    k[f"{p}:spend:USD:2026-10"] = {
        "total": "62000", "reports": "3", "channel:paid_search": "12000",
        "channel:social": "50000", "campaign:fall-search": "12000",
        "campaign:linkedin-abm": "50000"}
    k[f"{p}:spend:USD:2026-11"] = dict(nov1)
    k[f"{p}:spend:USD"] = {
        "total": "63000", "reports": "4", "channel:paid_search": "12000",
        "channel:social": "50000", "channel:referral": "1000",
        "campaign:fall-search": "12000", "campaign:linkedin-abm": "50000",
        "campaign:partner-x": "1000"}
    eur = {"total": "700", "reports": "1", "channel:email": "700",
           "campaign:nurture-1": "700"}
    for key in ("", ":2026-10", ":2026-10-07"):
        k[f"{p}:spend:EUR{key}"] = dict(eur)
    # Markov transitions: alice's won journey t1..t9 (carol's lost deal had
    # no touch: no journey); one count each, all time and October.
    path = ["(start)"] + [e["channel"] for e in TOUCHES] + ["(conversion)"]
    assert path[1:3] == ["paid_search", "social"], path
    trans = Counter(f"{a}|{b}" for a, b in zip(path, path[1:]))
    for key in (f"{p}:markov", f"{p}:markov:{oct_}"):
        k[key] = {f: str(c) for f, c in trans.items()}
    # late: s05 (email, day 10-07) comes after s03 (referral, 11-01) in spend
    # partition 0 and is applied after it (allowed lateness is 0 here).
    # Cold: bob's SQL deadline (b02 + 30 days) pending in the deadline set
    # of his partition; alice left mql and sql before hers; no alert.
    k[f":due:{group}:{part(BOB)}"] = [
        (f"{T}:{BOB}", float(B02["occurred_at"] + 30 * D))]
    k[f":stats:{group}"] = {"in:lead_events": "11", "in:crm_events": "6",
                            "in:spend": "5", "duplicates": "3", "late": "1"}
    k[f":stats:{group}:dlq"] = {"bad-magic-byte": "2",
                                "unknown-schema-id": "1", "undecodable": "1",
                                "invalid-field": "2"}
    # Each lead hash bounds its histories: the members added (touch_max is
    # far off).
    for lead in (ALICE, BOB, CAROL):
        n = [len(k.get(f"{p}:{z}{lead}", ())) for z in ("touches:lead:",
                                                          "scores:")]
        k[f"{p}:lead:{lead}"]["history_bound"] = f"{n[0]},{n[1]}"
    return k


def day(ms):
    """The UTC date of an event time (the tenant's time zone is UTC)."""
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc) \
        .strftime("%Y-%m-%d")


def _inc(k, key, field):
    h = k.setdefault(key, {})
    h[field] = str(int(h.get(field, "0")) + 1)


# ------------------------------------------------------------ the test

def test_handmade_stream():
    assert part(ANON) != part(ALICE), "the anonymous id must live elsewhere"
    assert part(BOB) == 0, "the docstring's partition of bob"
    work = fdit.work_dir()
    setup = itlib.Setup("e2e_hand", work, model=MODEL, partitions=PARTS)
    setup.create_topics()
    config = setup.write_config()
    avro = fdit.Avro()
    bad = produce_stream(setup, avro)

    r = fdit.redis_client()
    setup.run_to_end(r, timeout=90)

    actual = {k: v for k, v in itlib.dump(r, setup.prefix).items()
              if not k.startswith((":meta", ":offsets:", ":epoch:"))}
    expected = expected_keys(setup.group)
    lines = itlib.diff(expected, actual, limit=40)
    assert not lines, "Redis differs from the hand-computed state:\n  " + \
        "\n  ".join(lines)

    # The reference model of test_e2e_generated agrees on the good events.
    model_events = GOOD_LEAD + GOOD_CRM + GOOD_SPEND + [dict(E05), dict(C02),
                                                       dict(S02)]
    model = RefModel(config).run(model_events, partitions=[
        part(e["channel"] if "day" in e else
             e["lead_id"] or e["anonymous_id"]) for e in model_events])
    # The model applies events in event-time order and knows no arrival
    # order: the late count (events applied after a later one of their
    # input partition) comes from the order they were produced in.
    model.stats["late"] = late_events(
        [(part(e["lead_id"] or e["anonymous_id"]), e) for e in GOOD_LEAD],
        [(part(e["lead_id"]), e) for e in GOOD_CRM],
        [(part(e["channel"]), e) for e in GOOD_SPEND])
    exp_model = model.redis_keys(setup.group)
    lines = itlib.diff(exp_model, {k: v for k, v in actual.items()
                                   if not k.endswith(":dlq")})
    assert not lines, "refmodel disagrees:\n  " + "\n  ".join(lines)

    # Promotions: one per stage entry (lead entries are not published),
    # deterministic ids, keyed by lead id.
    want = expected_promotions()
    recs = fdit.consume_all(setup.promotions, expected=len(want), timeout=30)
    got = []
    for rec in recs:
        sid, v = avro.decode("promotion_event", rec.value)
        assert sid == 3 and rec.key == v["lead_id"].encode(), (sid, rec)
        got.append(v)
    got_by_id = {v["event_id"]: v for v in got}
    assert len(got_by_id) == len(got), f"duplicate promotions: {got}"
    wrong = [f"{w['event_id']}:\n    got      {got_by_id.get(w['event_id'])}"
             f"\n    expected {w}" for w in want
             if got_by_id.get(w["event_id"]) != w]
    assert not wrong, "promotions differ:\n  " + "\n  ".join(wrong)

    # Attribution: one event, credits per model exactly as computed by hand.
    recs = fdit.consume_all(setup.attribution, timeout=30, idle=1.0)
    assert len(recs) == 1, recs
    assert recs[0].key == b"opp-1", recs[0].key
    sid, a = avro.decode("attribution_event", recs[0].value)
    assert sid == 4
    head = {k: v for k, v in a.items() if k != "credits"}
    assert head == {"event_id": f"{T}:{ALICE}:1:closed_won", "tenant_id": T,
                    "lead_id": ALICE, "opportunity_id": "opp-1",
                    "amount_minor": AMOUNT, "currency": "USD",
                    "closed_at": C02["occurred_at"], "touch_count": 9}, head
    want_credits = [
        {"model": m, "channel": ev["channel"], "campaign": ev["campaign"],
         "touch_event_id": ev["event_id"], "touch_at": ev["occurred_at"],
         "credit_minor": c}
        for m in MODELS for ev, c in zip(TOUCHES, CREDITS[m]) if c]
    assert a["credits"] == want_credits, a["credits"]
    assert model.attributions == [a], model.attributions

    # Alerts: none in this story (bob's deadline is still ahead).
    assert model.alerts == [], model.alerts
    recs = fdit.consume_all(setup.alerts, timeout=5, idle=1.0)
    assert recs == [], [avro.decode("alert_event", x.value) for x in recs]

    # DLQ: the original bytes and key, with the reason and the source.
    recs = fdit.consume_all(setup.dlq, expected=len(bad), timeout=30)
    got = Counter()
    for rec in recs:
        h = dict(rec.headers)
        reason = h["funneld.reason"].decode()
        src = h["funneld.source.topic"].decode()
        kind = {setup.lead_topic: "lead", setup.crm_topic: "crm",
                setup.spend_topic: "spend"}[src]
        got[(kind, rec.key.decode(), rec.value, reason)] += 1
        assert int(h["funneld.source.partition"]) == part(rec.key.decode()), h
        assert h["funneld.error"], h
    assert got == Counter(bad), got


if __name__ == "__main__":
    fdit.main(globals())
