"""refmodel: an independent Python model of funneld's documented effects.

Given funneld's config (the INI file the test wrote) and a stream of input
events (dicts as funneld-gen --jsonl writes them), RefModel computes the
Redis keys docs/REDIS.md documents (without the P: prefix), the
PromotionEvents and the AttributionEvents funneld must publish. It follows
the contracts (docs/REDIS.md, include/funneld/*.h, DESIGN.md), not the C
code:

- order: funneld merges the two input topics by event time (lead events
  before CRM events at equal times); the model applies the events sorted by
  (occurred_at, lead before crm), keeping the given order otherwise;
- dedupe: an event_id seen before (per tenant) changes nothing but
  stats.duplicates;
- spend: SpendEvents (dicts with a "day") add their amount per currency to
  the tenant's spend hashes (all time, month, day; channel and campaign);
- identity: an event with lead_id and anonymous_id stitches (alias: first
  wins; anons: every one); touches live under the lead id, or under the
  anonymous id for anonymous-only events; at a close the lead's touches and
  those of its anonymous ids are merged;
- lead: created_at / created_event = earliest event carrying the lead id
  (a CRM event leaves created_event unset), source = channel / campaign of
  the first LeadEvent when the lead was new, else "unknown"; persona = last
  non-empty persona attribute; updated_at = latest event time;
- scoring: rules in config order, each match awards its points within its
  cap per lead and cycle (fit default cap |points|); a new cycle restarts
  engagement and the engagement rules' caps, fit carries over; MQL when the
  lead is at stage lead and meets every set threshold; hand-raise -> sql;
- lifecycle: high-water mark with implied skipped stages, closes end a
  cycle, recycling starts a new one at lead (allow_recycle), stage events
  after a close are ignored (allow_reopen = false is all the model needs);
- Markov: at every close (won: conversion, lost: null) the channels of
  the touches in the lookback window count as transitions start -> ... ->
  end in P:{T}:markov[:M];
- attribution: DESIGN.md's models over the touches in the lookback window,
  largest-remainder rounding with exact rationals, ties to the earlier
  touch;
- cold leads (cold.sql_days, cold.mql_sla_hours, cold.clock): a lead in
  stage mql or sql whose field `cold` is not that stage has the deadline
  entered:<stage> + window, indexed under P:due:G:<p> (P:due:wall:G:<p> on
  the wall clock), p = input partition of the event that set it. Event
  clock: before a lead or CRM event of partition p with time t is applied
  (a duplicate too), every pending deadline d < t of p fires in (deadline,
  member) order: an AlertEvent, `cold` = stage, P:{T}:cold:leads:<stage>,
  the P:{T}:cold* counters, stats.alerts. Leaving the stage removes `cold`
  and the lead from P:{T}:cold:leads:<stage>. Wall clock: the model takes
  the wall time `now` of the run (run(now=...)) and fires the pending wall
  deadlines before it at the end of the stream; a wall-clock lead with
  another event after its deadline passed in wall time is outside the model
  (funneld's wall checks run per batch). The deadlines need each event's
  input partition (run(partitions=...)).
"""

import configparser
import math
from collections import defaultdict
from datetime import datetime, timezone
from fractions import Fraction
from zoneinfo import ZoneInfo
import re

STAGES = ["lead", "mql", "sql", "opportunity", "closed_won", "closed_lost"]
RANK = {s: i + 1 for i, s in enumerate(STAGES)}
MODELS = ["first_touch", "last_touch", "linear", "position_based",
          "u_shaped", "w_shaped", "full_path", "time_decay", "j_shaped",
          "inverse_j"]
DAY_MS = 86400000
HOUR_MS = 3600000


# ------------------------------------------------------------------ config

class Rule:
    def __init__(self, name, sec):
        self.name = name
        self.kind = sec["kind"]
        self.event_type = sec.get("event_type")
        self.attr = sec.get("attribute")
        self.match = sec.get("match")
        self.value = sec.get("value")
        self.values = [v.strip() for v in sec.get("values", "").split(",")
                       if v.strip()]
        self.points = int(sec["points"])
        if "cap" in sec:
            self.cap = abs(int(sec["cap"]))
        else:
            self.cap = abs(self.points) if self.kind == "fit" else 0
        self.rx = (re.compile(self.value, re.IGNORECASE)
                   if self.match == "regex" else None)

    def matches(self, ev):
        if self.event_type and ev["type"] != self.event_type:
            return False
        if not self.attr:
            return True
        v = (ev.get("attributes") or {}).get(self.attr)
        if v is None:
            return False
        if self.match == "exact":
            return v == self.value
        if self.match == "set":
            return v in self.values
        if self.match == "contains":
            return self.value.lower() in v.lower()
        if self.match == "regex":
            return self.rx.search(v) is not None
        raise ValueError(f"rule {self.name}: match {self.match}")

    def award(self, already):
        if self.cap == 0:
            return self.points
        room = self.cap - abs(already)
        if room <= 0:
            return 0
        return max(-room, min(room, self.points))


class TenantConf:
    def __init__(self, top, over, rules):
        def get(k, default=None):
            return over.get(k, top.get(k, default))
        self.tz = ZoneInfo(get("timezone", "UTC"))
        self.min_fit = _int_or_none(get("mql.min_fit"))
        self.min_eng = _int_or_none(get("mql.min_engagement"))
        self.min_total = _int_or_none(get("mql.min_total"))
        self.handraise = [t.strip() for t in
                          get("handraise.types",
                              "demo_request,contact_sales").split(",")]
        self.allow_recycle = _bool(get("lifecycle.allow_recycle", "true"))
        self.allow_reopen = _bool(get("lifecycle.allow_reopen", "false"))
        if self.allow_reopen:
            raise ValueError("refmodel does not model allow_reopen = true")
        self.lookback_ms = int(get("attribution.lookback_days", "90")) * DAY_MS
        self.half_life_ms = int(get("attribution.half_life_days", "7")) * DAY_MS
        self.custom = _custom_weights(get("attribution.custom_weights"))
        self.non_marketing = {c.strip() for c in get(
            "attribution.non_marketing_channels", "direct,unknown").split(",")}
        self.rules = rules
        self.cold_sql_ms = int(get("cold.sql_days", "30")) * DAY_MS
        self.cold_mql_ms = int(get("cold.mql_sla_hours", "48")) * HOUR_MS
        self.cold_wall = get("cold.clock", "event").strip() == "wall"
        if get("cold.clock", "event").strip() not in ("event", "wall"):
            raise ValueError(f"cold.clock {get('cold.clock')!r}")
        self.currency = get("goal.currency", "USD")
        self.deal_minor = _int_or_none(get("goal.deal_size_minor"))
        self.sql_to_won = _int_or_none(get("goal.sql_to_won_pct"))
        self.mql_to_sql = _int_or_none(get("goal.mql_to_sql_pct"))

    def cold_window(self, stage):
        """The cold window of a stage in ms (0: none)."""
        return {"sql": self.cold_sql_ms,
                "mql": self.cold_mql_ms}.get(stage, 0)

    def cold_value(self, stage):
        """The funnel value a lead going cold in stage takes away (minor
        units of goal.currency), rounded half up; 0 without a goal for it."""
        deal, won, m2s = self.deal_minor, self.sql_to_won, self.mql_to_sql
        if deal is None or won is None:
            return 0
        if stage == "sql":
            return (deal * won + 50) // 100
        if m2s is None:
            return 0
        return (deal * m2s * won + 5000) // 10000

    def is_mql(self, fit, eng):
        conds = [(self.min_fit, fit), (self.min_eng, eng),
                 (self.min_total, fit + eng)]
        conds = [(t, v) for t, v in conds if t is not None]
        return bool(conds) and all(v >= t for t, v in conds)


def _int_or_none(v):
    return None if v is None else int(v)


def _bool(v):
    return v.strip().lower() in ("true", "yes", "on", "1")


def _custom_weights(v):
    """attribution.custom_weights ("first:30,lead_creation:20,...") as a
    POSITION entry: ((first, last, lead, opp, won), spread), or None."""
    if v is None:
        return None
    pct = {}
    for item in v.split(","):
        name, w = item.split(":")
        pct[name.strip().lower()] = Fraction(w.strip())
    assert sum(pct.values()) == 100, v
    g = lambda k: pct.get(k, Fraction(0))
    return ((g("first"), g("last"), g("lead_creation"),
             g("opportunity_creation"), g("closed_won")), g("spread"))


def load_config(path):
    """(top-level settings, {tenant: TenantConf}, default TenantConf,
    models, touch_max)."""
    cp = configparser.RawConfigParser(inline_comment_prefixes=None,
                                      comment_prefixes=("#", ";"))
    cp.optionxform = str
    cp.read_string("[__top__]\n" + open(path).read())
    flat = {}
    rules, tenant_rules, tenant_over = [], defaultdict(list), defaultdict(dict)
    for sec in cp.sections():
        items = dict(cp.items(sec))
        if sec.startswith("rule."):
            rules.append(Rule(sec[5:], items))
        elif sec.startswith("tenant.") and ".rule." in sec:
            t, name = sec[7:].split(".rule.", 1)
            tenant_rules[t].append(Rule(name, items))
        elif sec.startswith("tenant."):
            tenant_over[sec[7:]].update(items)
        else:
            for k, v in items.items():
                flat[k if sec == "__top__" else f"{sec}.{k}"] = v
    tenants = {t: TenantConf(flat, tenant_over[t], tenant_rules.get(t, rules))
               for t in set(tenant_over) | set(tenant_rules)}
    default = TenantConf(flat, {}, rules)
    models = []  # in the listed order; "all" is the built-in ten
    for x in flat.get("attribution.models", "all").split(","):
        models += MODELS if x.strip() == "all" else [x.strip()]
    return flat, tenants, default, models, int(flat.get("processing.touch_max",
                                                         "200"))


# ------------------------------------------------------------- attribution

def largest_remainder(amount, weights):
    """Integer parts of amount proportional to weights (exact), summing to
    amount; leftover units to the largest remainders, ties to the lower
    index."""
    n = len(weights)
    if amount <= 0 or n == 0:
        return [0] * n
    total = sum(weights)
    if total <= 0:
        weights, total = [Fraction(1)] * n, Fraction(n)
    exact = [Fraction(amount) * w / total for w in weights]
    parts = [math.floor(x) for x in exact]
    left = amount - sum(parts)
    order = sorted((i for i in range(n) if weights[i] > 0),
                   key=lambda i: (-(exact[i] - parts[i]), i))
    for i in order[:left]:
        parts[i] += 1
    return parts


POSITION = {  # milestone weights (first, last, lead, opp, won), spread
    "position_based": ((40, 40, 0, 0, 0), 20),
    "u_shaped": ((40, 0, 40, 0, 0), 20),
    "w_shaped": ((30, 0, 30, 30, 0), 10),
    "full_path": ((Fraction(45, 2), 0, Fraction(45, 2), Fraction(45, 2),
                   Fraction(45, 2)), 10),
    "j_shaped": ((20, 60, 0, 0, 0), 20),
    "inverse_j": ((60, 20, 0, 0, 0), 20),
}


def model_weights(model, touches, lead_idx, opp_idx, closed_at, half_life,
                  custom=None):
    """Weights of the in-window touches (sorted) under model; custom: the
    tenant's _custom_weights() for model "custom"."""
    n = len(touches)
    if model == "first_touch":
        return [1 if i == 0 else 0 for i in range(n)]
    if model == "last_touch":
        return [1 if i == n - 1 else 0 for i in range(n)]
    if model == "linear":
        return [1] * n
    if model == "time_decay":
        # exact enough: weights of distinct touches differ far more than
        # the float error; equal times give equal weights either way.
        return [Fraction(2.0 ** (-(closed_at - t["at"]) / half_life))
                for t in touches]
    if n <= 2:
        return [1] * n
    ms_w, spread = custom if model == "custom" else POSITION[model]
    ms_idx = (0, n - 1, lead_idx, opp_idx, n - 1)
    all_w = sum(Fraction(w) for w in ms_w)
    present = sum(Fraction(w) for w, i in zip(ms_w, ms_idx) if i is not None)
    if present == 0:  # custom only: no present milestone weighs
        spread = Fraction(spread) + all_w
    weights = [Fraction(0)] * n
    is_ms = [False] * n
    for w, i in zip(ms_w, ms_idx):
        if i is not None and w > 0:
            weights[i] += Fraction(w) * all_w / present
            is_ms[i] = True
    others = [i for i in range(n) if not is_ms[i]]
    for i in others:
        weights[i] = Fraction(spread) / len(others)
    return weights


# ------------------------------------------------------------------ model

class Lead:
    def __init__(self, tenant, lead_id, tconf):
        self.tenant, self.lead_id, self.tconf = tenant, lead_id, tconf
        self.stage = None
        self.cycle = 0
        self.entered = {}
        self.implied = set()
        self.fit = self.eng = 0
        self.awarded = {r.name: 0 for r in tconf.rules}
        self.created_at = None
        self.created_event = None
        self.source_channel = None
        self.source_campaign = None
        self.persona = None
        self.opportunity_id = None
        self.updated_at = 0
        self.cold = None      # the stage whose cold alert fired
        self.due = None       # pending deadline entry (d, wall, partition)

    def deadline(self):
        """(deadline ms, window ms) of the lead, or None."""
        s = self.stage
        w = self.tconf.cold_window(s)
        if w <= 0 or self.cold == s or s not in self.entered:
            return None
        return self.entered[s] + w, w

    def hash(self):
        h = {"layout": "1", "stage": self.stage or "none",
             "cycle": str(self.cycle), "fit": str(self.fit),
             "engagement": str(self.eng),
             "created_at": str(self.created_at or 0),
             "updated_at": str(self.updated_at)}
        for k in ("created_event", "source_channel", "source_campaign",
                  "persona", "opportunity_id", "cold"):
            if getattr(self, k) is not None:
                h[k] = getattr(self, k)
        for s, at in self.entered.items():
            h[f"entered:{s}"] = str(at)
        for s in self.implied:
            h[f"implied:{s}"] = "1"
        for name, v in self.awarded.items():
            if v:  # an absent rule field is 0
                h[f"rule:{name}"] = str(v)
        return h


def _field(s):
    return (s or "").replace("|", "_")


class RefModel:
    def __init__(self, config_path):
        (self.flat, self.tenants, self.default, self.models,
         self.touch_max) = load_config(config_path)
        self.keys = {}
        self.counters = defaultdict(lambda: defaultdict(int))
        self.sets = defaultdict(set)
        self.visitors = defaultdict(set)  # HyperLogLog key -> exact ids
        self.zsets = defaultdict(dict)  # key -> {member: score}
        self.strings = {}
        self.leads = {}
        self.seen = set()
        self.stats = defaultdict(int)
        self.promotions = []
        self.attributions = []
        self.alerts = []
        self.clock = {}  # input partition -> its event clock
        # (wall, partition) -> {"T:L": (deadline, Lead)}: P:due[:wall]:G:<p>
        self.due = defaultdict(dict)
        self.now = None

    def tconf(self, tenant):
        return self.tenants.get(tenant, self.default)

    # ------------------------------------------------------------ helpers

    def bucket(self, tenant, ms):
        t = datetime.fromtimestamp(ms / 1000, tz=timezone.utc) \
            .astimezone(self.tconf(tenant).tz)
        return t.strftime("%Y-%m-%d"), t.strftime("%Y-%m"), t.strftime("%H")

    def count(self, key, field, delta=1):
        self.counters[key][field] += delta

    # ------------------------------------------------------------ events

    def run(self, events, partitions=None, now=None):
        """Applies events; partitions: the input partition of each event
        (a list parallel to events), needed as soon as a lead gets a cold
        deadline; now: the wall time (ms) for tenants with cold.clock =
        wall, needed when one of them has a deadline pending at the end."""
        if partitions is not None and len(partitions) != len(events):
            raise ValueError(f"{len(partitions)} partitions for "
                             f"{len(events)} events")
        self.now = now
        order = sorted(range(len(events)),
                       key=lambda i: (events[i]["occurred_at"],
                                      1 if "stage" in events[i] else 0, i))
        for i in order:
            self.apply(events[i],
                       None if partitions is None else partitions[i])
        if now is not None:
            self.fire_wall(now)
        elif any(z for (wall, _), z in self.due.items() if wall):
            raise ValueError("a wall-clock tenant has cold deadlines "
                             "pending: pass run(now=...)")
        return self

    def apply(self, ev, partition=None):
        t, eid = ev["tenant_id"], ev["event_id"]
        if "day" not in ev:  # lead and CRM events drive the event clock
            self.tick(partition, ev["occurred_at"])
        if (t, eid) in self.seen:
            self.stats["duplicates"] += 1
            return
        self.seen.add((t, eid))
        self.sets[":tenants"].add(t)
        lid = ev.get("lead_id")
        if lid and "day" not in ev:
            self.wall_guard(t, lid, ev)
        if "stage" in ev:
            self.stats["in:crm_events"] += 1
            self.apply_crm(ev)
        elif "day" in ev:
            self.stats["in:spend"] += 1
            self.apply_spend(ev)
        else:
            self.stats["in:lead_events"] += 1
            self.apply_lead(ev)
        if lid and "day" not in ev and (t, lid) in self.leads:
            self.cold_changed(self.leads[(t, lid)], partition)

    # ------------------------------------------------------------ cold

    def tick(self, partition, at):
        """The event clock of partition moves to at (if later); every
        pending event-clock deadline of the partition before it fires."""
        if partition is None:
            return
        clock = max(self.clock.get(partition, at), at)
        self.clock[partition] = clock
        z = self.due.get((False, partition), {})
        for d, member in sorted((d, m.encode()) for m, (d, _) in z.items()
                                if d < clock):
            self.fire(z[member.decode()][1])

    def fire_wall(self, now):
        """Every pending wall-clock deadline before now fires."""
        for (wall, _), z in list(self.due.items()):
            if not wall:
                continue
            for d, member in sorted((d, m.encode())
                                    for m, (d, _) in z.items() if d < now):
                self.fire(z[member.decode()][1])

    def wall_guard(self, t, lid, ev):
        ld = self.leads.get((t, lid))
        if ld and ld.due and ld.due[1] and self.now is not None and \
                ld.due[0] < self.now:
            raise ValueError(f"event {ev['event_id']} of wall-clock lead "
                             f"{lid} comes after its deadline {ld.due[0]} "
                             "passed in wall time: outside the model")

    def cold_changed(self, ld, partition):
        """After an event of the lead: off P:{T}:cold:leads:<stage> when it
        left the stage that went cold; its deadline entry moved when the
        deadline changed (to the set of the event's partition)."""
        t = ld.tenant
        if ld.cold is not None and ld.cold != ld.stage:
            key = f":{{{t}}}:cold:leads:{ld.cold}"
            self.zsets[key].pop(ld.lead_id, None)
            ld.cold = None
        dl = ld.deadline()
        new = dl[0] if dl else None
        if new == (ld.due[0] if ld.due else None):
            return
        member = f"{t}:{ld.lead_id}"
        if ld.due:
            del self.due[ld.due[1:]][member]
            ld.due = None
        if dl:
            if partition is None:
                raise ValueError(f"lead {t}:{ld.lead_id} has a cold deadline"
                                 ": the model needs run(partitions=...)")
            ld.due = (new, ld.tconf.cold_wall, partition)
            self.due[ld.due[1:]][member] = (new, ld)

    def fire(self, ld):
        """The lead's alert: its deadline passed."""
        t, tc, s = ld.tenant, ld.tconf, ld.stage
        d, w = ld.deadline()
        assert ld.due and ld.due[0] == d, (ld.lead_id, ld.due, d)
        del self.due[ld.due[1:]][f"{t}:{ld.lead_id}"]
        ld.due = None
        ld.cold = s
        self.zsets[f":{{{t}}}:cold:leads:{s}"][ld.lead_id] = d
        v = tc.cold_value(s)
        day, month, _ = self.bucket(t, d)
        ch = ld.source_channel or "unknown"
        for key in (f":{{{t}}}:cold", f":{{{t}}}:cold:{month}"):
            self.count(key, s)
            self.count(key, f"{s}:channel:{ch}")
            if v > 0:
                self.count(key, f"{s}:value:{tc.currency}", v)
                self.count(key, f"value:{tc.currency}", v)
        self.count(f":{{{t}}}:cold:daily:{s}", day)
        self.stats["alerts"] += 1
        self.alerts.append({
            "event_id": f"{t}:{ld.lead_id}:{ld.cycle}:{s}:cold",
            "tenant_id": t, "lead_id": ld.lead_id,
            "alert": "sql_cold" if s == "sql" else "mql_sla_missed",
            "stage": s, "cycle": ld.cycle, "entered_at": ld.entered[s],
            "occurred_at": d, "window_ms": w,
            "clock": "wall" if tc.cold_wall else "event",
            "source_channel": ld.source_channel,
            "opportunity_id": ld.opportunity_id,
            "fit_score": ld.fit, "engagement_score": ld.eng,
            "value_minor": v if v > 0 else None,
            "currency": tc.currency if v > 0 else None})

    def apply_spend(self, ev):
        """SpendEvent: amounts add up per currency, all time, in the month
        and on the day of its `day` field, per channel and campaign."""
        t, cur, d = ev["tenant_id"], ev["currency"], ev["day"]
        for period in ("", f":{d[:7]}", f":{d}"):
            key = f":{{{t}}}:spend:{cur}{period}"
            self.count(key, "total", ev["amount_minor"])
            self.count(key, "reports")
            self.count(key, f"channel:{ev['channel']}", ev["amount_minor"])
            if ev.get("campaign"):
                self.count(key, f"campaign:{ev['campaign']}",
                           ev["amount_minor"])

    def lead(self, t, lead_id):
        k = (t, lead_id)
        if k not in self.leads:
            self.leads[k] = Lead(t, lead_id, self.tconf(t))
        return self.leads[k]

    def apply_lead(self, ev):
        t, at = ev["tenant_id"], ev["occurred_at"]
        day, _, _ = self.bucket(t, at)
        self.count(f":{{{t}}}:events:{day}", ev["type"])
        lid, aid = ev.get("lead_id"), ev.get("anonymous_id")
        kind, owner = ("lead", lid) if lid else ("anon", aid)
        member = "|".join([_field(ev["event_id"]),
                           _field(ev.get("channel") or "unknown"),
                           _field(ev.get("campaign")), _field(ev["type"])])
        self.zsets[f":{{{t}}}:touches:{kind}:{owner}"][member] = at
        if aid:
            self.visitors[f":{{{t}}}:visitors:{day}"].add(aid)
        if not lid:
            return
        ld = self.lead(t, lid)
        if aid:
            self.strings.setdefault(f":{{{t}}}:alias:{aid}", lid)
            self.sets[f":{{{t}}}:anons:{lid}"].add(aid)
        new = ld.stage is None
        if new or at < ld.created_at:
            ld.created_at, ld.created_event = at, ev["event_id"]
        if new:
            ld.source_channel = ev.get("channel") or "unknown"
            ld.source_campaign = ev.get("campaign")
        persona = (ev.get("attributes") or {}).get("persona")
        if persona:
            ld.persona = persona
        ld.updated_at = max(ld.updated_at, at)
        if new:
            self.advance(ld, "lead", at, ev)
        before = (ld.fit, ld.eng)
        for r in ld.tconf.rules:
            if not r.matches(ev):
                continue
            pts = r.award(ld.awarded[r.name])
            ld.awarded[r.name] += pts
            if r.kind == "fit":
                ld.fit += pts
            else:
                ld.eng += pts
        if (ld.fit, ld.eng) != before:
            self.zsets[f":{{{t}}}:scores:{lid}"][
                f"{_field(ev['event_id'])}|{ld.fit}|{ld.eng}"] = at
        if ld.stage == "lead" and ld.tconf.is_mql(ld.fit, ld.eng):
            self.advance(ld, "mql", at, ev)
        if ev["type"] in ld.tconf.handraise:
            self.advance(ld, "sql", at, ev)

    def apply_crm(self, ev):
        t, at = ev["tenant_id"], ev["occurred_at"]
        ld = self.lead(t, ev["lead_id"])
        stage = ev["stage"].lower().replace("-", "_").replace(" ", "_")
        recycle = stage in ("recycled", "nurture")
        if ld.stage is None:
            if recycle:
                if ld.cycle == 0:
                    del self.leads[(t, ev["lead_id"])]
                return
            ld.created_at = at
            ld.source_channel = "unknown"
        ld.updated_at = max(ld.updated_at, at)
        opp = ev.get("opportunity_id")
        if opp and (stage == "opportunity" or ld.opportunity_id is None):
            ld.opportunity_id = opp
        if recycle:
            if ld.tconf.allow_recycle:
                self.new_cycle(ld)
                self.enter(ld, "lead", False, at, ev, "")
            return
        self.advance(ld, stage, at, ev)

    # ------------------------------------------------------------ lifecycle

    def new_cycle(self, ld):
        ld.cycle += 1
        ld.stage = None
        ld.entered = {}
        ld.implied = set()
        ld.eng = 0
        for r in ld.tconf.rules:
            if r.kind == "engagement":
                ld.awarded[r.name] = 0

    def advance(self, ld, target, at, ev):
        prev = ld.stage
        if prev in ("closed_won", "closed_lost"):
            return  # allow_reopen = false: stage events after a close
        if prev is None:
            ld.cycle = max(ld.cycle, 1)
            steps = ["lead"] if target == "lead" else \
                ["lead"] + self.path("lead", target)
        elif RANK[target] <= RANK[prev]:
            return
        else:
            steps = self.path(prev, target)
            if prev not in ld.implied:
                self.velocity(ld, prev, at)
        for s in steps:
            self.enter(ld, s, s != target, at, ev, ld.stage or "")

    VELOCITY_BUCKETS = [(3600000, "1h"), (86400000, "1d"),
                        (3 * 86400000, "3d"), (7 * 86400000, "7d"),
                        (14 * 86400000, "14d"), (30 * 86400000, "30d"),
                        (60 * 86400000, "60d"), (90 * 86400000, "90d")]

    def velocity(self, ld, left, at):
        """Time in stage `left`: sum, count and a bucket, overall and per
        source channel."""
        d = max(0, at - ld.entered[left])
        bucket = next((f"le:{name}" for ms, name in self.VELOCITY_BUCKETS
                       if d <= ms), "le:inf")
        ch = ld.source_channel or "unknown"
        for key in (f":{{{ld.tenant}}}:velocity:{left}",
                    f":{{{ld.tenant}}}:velocity:{left}:channel:{ch}"):
            self.count(key, "sum_ms", d)
            self.count(key, "count", 1)
            self.count(key, bucket, 1)

    @staticmethod
    def path(cur, target):
        if target == "closed_lost":
            return ["closed_lost"]
        return STAGES[RANK[cur]:RANK[target]]

    def enter(self, ld, stage, implied, at, ev, prev):
        t = ld.tenant
        ld.stage = stage
        ld.entered[stage] = at
        if implied:
            ld.implied.add(stage)
        day, month, hour = self.bucket(t, at)
        p = f":{{{t}}}"
        self.count(f"{p}:daily:{stage}", day)
        self.count(f"{p}:monthly:{stage}", month)
        self.count(f"{p}:hourly:{stage}:{day}", hour)
        self.count(f"{p}:total", stage)
        if implied:
            self.count(f"{p}:total", f"{stage}:implied")
        for dim, val in (("channel", ld.source_channel or "unknown"),
                         ("campaign", ld.source_campaign),
                         ("persona", ld.persona)):
            if val is None:
                continue
            self.count(f"{p}:daily:{stage}:{dim}:{val}", day)
            self.count(f"{p}:monthly:{stage}:{dim}:{month}", val)
            self.sets[f"{p}:dim:{dim}"].add(val)
        self.cohorts(ld, stage, 1, stage != "lead")
        if stage == "closed_won" and ev.get("amount_minor"):
            self.cohorts(ld, f"revenue:{ev.get('currency') or 'XXX'}",
                         ev["amount_minor"], True)
        if stage != "lead":
            self.promotions.append({
                "event_id": f"{t}:{ld.lead_id}:{ld.cycle}:{stage}",
                "tenant_id": t, "lead_id": ld.lead_id, "stage": stage,
                "previous_stage": prev, "implied": implied,
                "cycle": ld.cycle, "occurred_at": at,
                "cause_event_id": ev["event_id"], "fit_score": ld.fit,
                "engagement_score": ld.eng})
        if stage == "closed_won":
            self.close_won(ld, ev, at)
        if stage == "closed_lost":
            self.journey(ld, at, False)

    def journey(self, ld, closed_at, converted):
        """Markov transition counts: start -> the channels of the touches
        in the lookback window -> (conversion) or (null); all time and in the
        month of the close. No touch, no journey."""
        reserved = ("(start)", "(conversion)", "(null)")
        path = [x["channel"] for x in
                self.touches_of(ld, closed_at - ld.tconf.lookback_ms,
                                closed_at) if x["channel"] not in reserved]
        if not path:
            return
        states = ["(start)"] + path + \
            ["(conversion)" if converted else "(null)"]
        month = self.bucket(ld.tenant, closed_at)[1]
        for a, b in zip(states, states[1:]):
            for sfx in ("", f":{month}"):
                self.count(f":{{{ld.tenant}}}:markov{sfx}", f"{a}|{b}")

    def cohorts(self, ld, field, delta, with_mql):
        """Cohort counters: the lead's creation month and, for what follows
        its MQL entry of this cycle, the MQL month."""
        p = f":{{{ld.tenant}}}"
        if ld.created_at:
            month = self.bucket(ld.tenant, ld.created_at)[1]
            self.count(f"{p}:cohort:lead:{month}", field, delta)
        if with_mql and ld.entered.get("mql"):
            month = self.bucket(ld.tenant, ld.entered["mql"])[1]
            self.count(f"{p}:cohort:mql:{month}", field, delta)

    # ------------------------------------------------------------ revenue

    def touches_of(self, ld, lo, hi):
        t = ld.tenant
        keys = [f":{{{t}}}:touches:lead:{ld.lead_id}"] + \
            [f":{{{t}}}:touches:anon:{a}"
             for a in sorted(self.sets.get(f":{{{t}}}:anons:{ld.lead_id}",
                                           ()))]
        out, ids = [], set()
        for k in keys:
            z = self.zsets.get(k, {})
            if len(z) > self.touch_max:
                raise ValueError(f"{k} has {len(z)} touches, more than "
                                 "touch_max: the model does not trim")
            for m, at in z.items():
                eid, ch, camp, _ = m.split("|")
                if lo <= at <= hi and eid not in ids:
                    ids.add(eid)
                    out.append({"event_id": eid, "at": at, "channel": ch,
                                "campaign": camp or None})
        out.sort(key=lambda x: (x["at"], x["event_id"].encode()))
        return out

    def close_won(self, ld, ev, closed_at):
        t, tc = ld.tenant, ld.tconf
        amount = ev.get("amount_minor") or 0
        cur = ev.get("currency") or "XXX"
        touches = self.touches_of(ld, closed_at - tc.lookback_ms, closed_at)
        n = len(touches)
        self.journey(ld, closed_at, True)
        lead_idx = next((i for i, x in enumerate(touches)
                         if x["event_id"] == ld.created_event), None)
        opp_at = ld.entered.get("opportunity", 0)
        opp_idx = None
        if opp_at:
            for i, x in enumerate(touches):
                if x["at"] <= opp_at:
                    opp_idx = i
        _, month, _ = self.bucket(t, closed_at)
        sourced = n > 0 and touches[0]["channel"] not in tc.non_marketing
        influenced = any(x["channel"] not in tc.non_marketing
                         for x in touches)
        for key in (f":{{{t}}}:sourcing", f":{{{t}}}:sourcing:{month}"):
            for field, on in (("customers", True), ("sourced", sourced),
                              ("influenced", influenced)):
                if not on:
                    continue
                self.count(key, field, 1)
                if amount:
                    prefix = "" if field == "customers" else f"{field}_"
                    self.count(key, f"{prefix}revenue:{cur}", amount)
        credits = []
        for m in self.models:
            parts = largest_remainder(amount, model_weights(
                m, touches, lead_idx, opp_idx, closed_at,
                tc.half_life_ms, tc.custom)) if n else []
            for sfx in ("", f":{month}"):
                key = f":{{{t}}}:revenue:{m}:{cur}{sfx}"
                self.count(key, "total", amount)
                self.count(key, "deals", 1)
                if n == 0:
                    self.count(key, "unattributed", amount)
                for x, c in zip(touches, parts):
                    if c:
                        self.count(key, f"channel:{x['channel']}", c)
                        if x["campaign"]:
                            self.count(key, f"campaign:{x['campaign']}", c)
            for x, c in zip(touches, parts):
                if c:
                    credits.append({"model": m, "channel": x["channel"],
                                    "campaign": x["campaign"],
                                    "touch_event_id": x["event_id"],
                                    "touch_at": x["at"], "credit_minor": c})
        opp = ev.get("opportunity_id") or ld.opportunity_id or ""
        self.attributions.append({
            "event_id": f"{t}:{ld.lead_id}:{ld.cycle}:closed_won",
            "tenant_id": t, "lead_id": ld.lead_id, "opportunity_id": opp,
            "amount_minor": amount, "currency": cur, "closed_at": closed_at,
            "touch_count": n, "credits": credits})

    # ------------------------------------------------------------ output

    def redis_keys(self, group):
        """The expected keys (without the prefix), as itlib.dump gives them
        (a tenant's dedupe sets as one set of event ids)."""
        out = {}
        for k, h in self.counters.items():
            out[k] = {f: str(v) for f, v in h.items()}
        for k, s in self.sets.items():
            out[k] = set(s)
        for (wall, p), z in self.due.items():
            if z:
                out[f":due:{'wall:' if wall else ''}{group}:{p}"] = sorted(
                    ((m, float(d)) for m, (d, _) in z.items()),
                    key=lambda x: (x[1], x[0].encode()))
        for k, z in self.zsets.items():
            if not z:
                continue
            out[k] = sorted(((m, float(s)) for m, s in z.items()),
                            key=lambda x: (x[1], x[0].encode()))
            if ":scores:" in k:  # trimmed to the newest touch_max
                out[k] = out[k][-self.touch_max:]
        out.update(self.strings)
        for k, ids in self.visitors.items():
            out[k] = ("hll", len(ids))
        for (t, _), ld in self.leads.items():
            h = out[f":{{{t}}}:lead:{ld.lead_id}"] = ld.hash()
            # at most how many members its histories hold: what was added,
            # capped at touch_max once they are trimmed
            n = [min(len(self.zsets.get(f":{{{t}}}:{k}{ld.lead_id}", ())),
                     self.touch_max) for k in ("touches:lead:", "scores:")]
            h["history_bound"] = f"{n[0]},{n[1]}"
        for t, eid in self.seen:
            out.setdefault(f":{{{t}}}:dedupe", set()).add(eid)
        out[f":stats:{group}"] = {k: str(v) for k, v in self.stats.items()}
        return out
