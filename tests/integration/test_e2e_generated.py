#!/usr/bin/env python3
"""End to end on a generated stream: funneld-gen produces 20000 events,
SpendEvents included (and writes them as JSON lines), funneld processes
them, and every documented Redis key (the spend hashes too), every
PromotionEvent and every AttributionEvent must equal what the independent
reference model (refmodel.py) computes from the JSON lines and the same
config. The model gets each event's input partition (funneld-gen's
partitioner, itlib.gen_partitions, checked against what the broker holds):
the cold-lead deadlines fire on the event clock of their partition, and
every AlertEvent must equal the model's too.

Order: funneld merges the input topics of all its partitions by event time
(lead events first at equal times) and funneld-gen writes events in
nondecreasing event time, so the model applies the events in that order. The
one thing that depends on more than event time is the moment a close reads
the touches of the lead's anonymous ids, which live in other partitions:
with every partition's data already in Kafka the merge delivers them in event
time too (it waits processing.max_task_idle_ms for a lagging partition), and
the test relies on that.
"""

import json
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import fdit  # noqa: E402
import itlib  # noqa: E402
from refmodel import RefModel  # noqa: E402

EVENTS = 20000
SEED = 7
# Keys of funneld's processing state that the model does not compute; the
# offsets are checked against the topics' end offsets instead.
STATE_KEYS = (":meta", ":offsets:", ":epoch:")


def generate(setup, jsonl, events=EVENTS, seed=SEED):
    fdit.run_gen(["--brokers", fdit.bootstrap(), "--events", events,
                  "--seed", seed, "--lead-topic", setup.lead_topic,
                  "--crm-topic", setup.crm_topic, "--spend-topic",
                  setup.spend_topic, "--spend-schema-id", 5, "--schema-dir",
                  itlib.SCHEMAS, "--jsonl", jsonl],
                 log_path=jsonl.with_suffix(".gen.log"))
    return [json.loads(line) for line in jsonl.read_text().splitlines()]


def state_key(k):
    return any(k.startswith(s) for s in STATE_KEYS)


def redis_hll_counts(r, setup, model, expected):
    """Sets the expected visitor HyperLogLogs to what Redis estimates for
    the model's exact visitor sets: funneld must have added exactly those
    ids. (Redis's estimate of a few dozen ids can be several percent off the
    exact count, more than itlib.hll_close allows.)"""
    scratch = f"{setup.prefix}:it-scratch-hll"
    for k, ids in model.visitors.items():
        r.delete(scratch)
        if ids:
            r.pfadd(scratch, *ids)
        expected[k] = ("hll", r.pfcount(scratch))
    r.delete(scratch)
    return expected


def compare_keys(expected, actual):
    actual = {k: v for k, v in actual.items() if not state_key(k)}
    lines = itlib.diff(expected, actual)
    assert not lines, (f"{len(lines)} or more Redis keys differ from the "
                       "reference model (first ones):\n  " +
                       "\n  ".join(lines))


def decode_all(avro, schema, records):
    out = []
    for rec in records:
        sid, value = avro.decode(schema, rec.value)
        out.append((rec, sid, value))
    return out


def check_promotions(setup, model):
    avro = fdit.Avro()
    want = {p["event_id"]: p for p in model.promotions}
    assert len(want) == len(model.promotions), "model made duplicate ids"
    recs = fdit.consume_all(setup.promotions, expected=len(want), timeout=60)
    got = decode_all(avro, "promotion_event", recs)
    ids = Counter(v["event_id"] for _, _, v in got)
    dup = [i for i, c in ids.items() if c > 1]
    assert not dup, f"PromotionEvent ids published twice: {dup[:10]}"
    bad = []
    for rec, sid, v in got:
        if sid != 3:
            bad.append(f"{v['event_id']}: schema id {sid}, expected 3")
        if rec.key != v["lead_id"].encode():
            bad.append(f"{v['event_id']}: key {rec.key!r}")
        if want.get(v["event_id"]) != v:
            bad.append(f"{v['event_id']}: got {v}, expected "
                       f"{want.get(v['event_id'])}")
    missing = set(want) - set(ids)
    assert not bad and not missing, \
        "promotions differ from the model:\n  " + "\n  ".join(
            bad[:15] + [f"missing {m}" for m in sorted(missing)[:15]])
    return len(got)


def check_alerts(setup, model):
    """The alerts topic holds each of the model's AlertEvents once (schema
    id 6, key lead id) and nothing else."""
    avro = fdit.Avro()
    want = {a["event_id"]: a for a in model.alerts}
    assert len(want) == len(model.alerts), "model made duplicate alert ids"
    # everything on the topic (funneld has stopped): a second copy too
    recs = fdit.consume_all(setup.alerts, timeout=60 if want else 5,
                            idle=2.0)
    got = decode_all(avro, "alert_event", recs)
    ids = Counter(v["event_id"] for _, _, v in got)
    dup = [i for i, c in ids.items() if c > 1]
    assert not dup, f"AlertEvent ids published twice: {dup[:10]}"
    bad = []
    for rec, sid, v in got:
        if sid != 6:
            bad.append(f"{v['event_id']}: schema id {sid}, expected 6")
        if rec.key != v["lead_id"].encode():
            bad.append(f"{v['event_id']}: key {rec.key!r}")
        if want.get(v["event_id"]) != v:
            bad.append(f"{v['event_id']}:\n    got      {v}\n    expected "
                       f"{want.get(v['event_id'])}")
    missing = set(want) - set(ids)
    assert not bad and not missing, \
        "alerts differ from the model:\n  " + "\n  ".join(
            bad[:15] + [f"missing {m}" for m in sorted(missing)[:15]])
    return len(got)


def input_partitions(setup, events):
    """{(tenant, event id): partition} of the lead and CRM events on the
    input topics, read back from the broker."""
    avro = fdit.Avro()
    out = {}
    for topic, schema in ((setup.lead_topic, "lead_event"),
                          (setup.crm_topic, "crm_stage_event")):
        n = sum(1 for e in events if "day" not in e and
                ("stage" in e) == (schema == "crm_stage_event"))
        for rec in fdit.consume_all(topic, expected=n, timeout=60):
            v = avro.decode(schema, rec.value)[1]
            out.setdefault((v["tenant_id"], v["event_id"]), set()).add(
                rec.partition)
    return out


def check_gen_partitions(setup, events, parts):
    """itlib.gen_partitions (murmur2 of the key) gives the partition the
    broker holds each lead and CRM event in."""
    held = input_partitions(setup, events)
    wrong = [(e["event_id"], p, held.get((e["tenant_id"], e["event_id"])))
             for e, p in zip(events, parts) if "day" not in e and
             held.get((e["tenant_id"], e["event_id"])) != {p}]
    assert not wrong, f"{len(wrong)} events not in the partition murmur2 " \
        f"gives (event, computed, held): {wrong[:10]}"
    assert len(set(parts)) == setup.partitions, set(parts)


# The example model plus the custom position weights: global ones, and
# tenant t2 with its own (attribution.custom_weights per tenant).
CUSTOM_MODEL = itlib.EXAMPLE_MODEL.replace(
    "models = all\n",
    "models = all, custom\ncustom_weights = first:30,lead_creation:20,"
    "opportunity_creation:20,last:20,spread:10\n").replace(
    "attribution.half_life_days = 3\n",
    "attribution.half_life_days = 3\nattribution.custom_weights = "
    "first:12.5,lead_creation:37.5,closed_won:15,spread:35\n")
assert CUSTOM_MODEL.count("custom_weights") == 2


def check_attributions(setup, model):
    avro = fdit.Avro()
    want = {a["event_id"]: a for a in model.attributions}
    recs = fdit.consume_all(setup.attribution, expected=len(want),
                            timeout=60)
    got = decode_all(avro, "attribution_event", recs)
    assert len(got) == len(want), (len(got), len(want))
    bad = []
    for rec, sid, v in got:
        sums = defaultdict(int)
        for c in v["credits"]:
            sums[c["model"]] += c["credit_minor"]
        for m in model.models:
            if v["touch_count"] and sums[m] != v["amount_minor"]:
                bad.append(f"{v['event_id']}: {m} credits sum to {sums[m]}, "
                           f"amount is {v['amount_minor']}")
        if sid != 4:
            bad.append(f"{v['event_id']}: schema id {sid}, expected 4")
        exp = want.get(v["event_id"])
        if exp != v:
            bad.append(f"{v['event_id']}:\n    got      {v}\n    expected "
                       f"{exp}")
    assert not bad, "attributions differ:\n  " + "\n  ".join(bad[:10])
    return len(got)


def test_generated_stream_matches_reference_model():
    check_generated_stream("e2e_gen")


def test_small_overlapped_batches_match_reference_model():
    """Batches of 40 events, each applied while Redis runs the one before
    (processing.overlap): duplicates, deadlines and leads cross hundreds of
    batch boundaries, and the next batch's reads see Redis before the held
    one. A lead cache of 200 turns its generations over every few batches,
    and the dropped one is freed a few leads at a time."""
    proc = check_generated_stream("e2e_small",
                                  "batch.max_events = 40\noverlap = true\n"
                                  "lead_cache = 200\n")
    m = re.search(r"stopped: (\d+) events in (\d+) batches \((\d+) written "
                  r"while the next", proc.log_text())
    assert m, proc.log_tail()
    events, batches, overlapped = map(int, m.groups())
    assert events == EVENTS and batches >= EVENTS // 40, m.groups()
    assert overlapped >= batches * 9 // 10, m.groups()


def check_generated_stream(name, processing=""):
    """Runs funneld over the generated stream and compares Redis and the
    output topics with the reference model; returns the stopped funneld."""
    work = fdit.work_dir()
    setup = itlib.Setup(name, work, model=CUSTOM_MODEL,
                        processing=processing)
    setup.create_topics()
    config = setup.write_config()
    events = generate(setup, work / "events.jsonl")
    assert len(events) == EVENTS, len(events)
    spend = [e for e in events if "day" in e]
    assert len(spend) > 500, len(spend)
    assert any(e["amount_minor"] < 0 for e in spend), "no corrections"

    r = fdit.redis_client()
    ends = setup.end_offsets(total=EVENTS)
    assert sum(ends.values()) == EVENTS, ends
    proc = setup.start()
    setup.wait_caught_up(proc, r, ends, timeout=120)
    setup.stop(proc)

    parts = itlib.gen_partitions(events, setup.partitions)
    check_gen_partitions(setup, events, parts)
    model = RefModel(config).run(events, partitions=parts)
    actual = itlib.dump(r, setup.prefix)
    compare_keys(redis_hll_counts(r, setup, model,
                                  model.redis_keys(setup.group)), actual)
    offsets = setup.offsets(r)
    assert offsets == {k: v for k, v in ends.items() if v > 0}, \
        (offsets, ends)
    assert not r.exists(f"{setup.prefix}:stats:{setup.group}:dlq")

    # The model is not trivially empty: the stream exercises every stage,
    # duplicates, anonymous stitching and closed-won revenue.
    total = actual[f":{{t1}}:total"]
    for stage in ("lead", "mql", "sql", "opportunity", "closed_won",
                  "closed_lost", "mql:implied"):
        assert stage in total, (stage, total)
    assert model.stats["duplicates"] > 0
    assert any(k.startswith(":{t2}:alias:") for k in actual)
    # spend per currency, channel and campaign, all time, month and day
    for t, cur in (("t1", "USD"), ("t2", "EUR"), ("t3", "USD")):
        h = actual[f":{{{t}}}:spend:{cur}"]
        assert int(h["total"]) > 0 and "channel:paid_search" in h, (t, h)
        assert any(k.startswith("campaign:") for k in h), (t, h)
        assert f":{{{t}}}:spend:{cur}:{spend[0]['day']}" in actual, t
        assert f":{{{t}}}:spend:{cur}:{spend[0]['day'][:7]}" in actual, t

    # Both kinds of cold alert, in every tenant, and leads still pending.
    kinds = Counter((a["tenant_id"], a["alert"]) for a in model.alerts)
    for t in ("t1", "t2", "t3"):
        for kind in ("sql_cold", "mql_sla_missed"):
            assert kinds[(t, kind)] > 0, (t, kind, kinds)
    assert any(k.startswith(":due:") for k in actual), "no pending deadline"
    assert int(actual[f":stats:{setup.group}"]["alerts"]) == \
        len(model.alerts), actual[f":stats:{setup.group}"]

    n_prom = check_promotions(setup, model)
    n_attr = check_attributions(setup, model)
    n_alert = check_alerts(setup, model)
    print(f"{len(actual)} keys, {n_prom} promotions, {n_attr} "
          f"attributions and {n_alert} alerts ({dict(kinds)}) equal the "
          "reference model", flush=True)
    return proc


def test_flow_with_spend_matches_reference_model():
    """The Python side: itlib.generated_events(spend=True) and itlib.Flow
    produce SpendEvents to the spend topic (schema id 5, key channel, each
    tenant's channel in one partition) among the journeys; funneld's Redis
    equals the model's key for key."""
    work = fdit.work_dir()
    setup = itlib.Setup("e2e_flow", work)
    setup.create_topics()
    config = setup.write_config()
    events = itlib.generated_events(work / "flow.jsonl", 6000, SEED + 1,
                                    spend=True)
    spend = [e for e in events if "day" in e]
    assert len(events) == 6000 and len(spend) > 200, (len(events),
                                                       len(spend))
    flow = itlib.Flow(setup, events, 1000000)
    flow.start()
    flow.wait(120)
    ends = setup.end_offsets(total=len(events))
    assert sum(v for k, v in ends.items()
               if k.startswith(setup.spend_topic + ":")) == len(spend), ends
    assert sum(ends.values()) == len(events), ends

    r = fdit.redis_client()
    setup.run_to_end(r, timeout=120)
    model = RefModel(config).run(events, partitions=flow.parts)
    actual = itlib.dump(r, setup.prefix)
    compare_keys(redis_hll_counts(r, setup, model,
                                  model.redis_keys(setup.group)), actual)
    n_spend = sum(1 for k in actual if ":spend:" in k)
    assert n_spend > 100, n_spend
    assert model.alerts, "the flow's stream raises no cold alert"
    check_alerts(setup, model)
    print(f"{len(actual)} keys ({n_spend} spend) equal the reference model",
          flush=True)


if __name__ == "__main__":
    fdit.main(globals())
