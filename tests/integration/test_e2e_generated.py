#!/usr/bin/env python3
"""End to end on a generated stream: funneld-gen produces 20000 events (and
writes them as JSON lines), funneld processes them, and every documented
Redis key, every PromotionEvent and every AttributionEvent must equal what
the independent reference model (refmodel.py) computes from the JSON lines
and the same config.

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
import sys
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import fdit  # noqa: E402
import itlib  # noqa: E402
from refmodel import MODELS, RefModel  # noqa: E402

EVENTS = 20000
SEED = 7
# Keys of funneld's processing state that the model does not compute; the
# offsets are checked against the topics' end offsets instead.
STATE_KEYS = (":meta", ":offsets:", ":epoch:")


def generate(setup, jsonl, events=EVENTS, seed=SEED):
    fdit.run_gen(["--brokers", fdit.bootstrap(), "--events", events,
                  "--seed", seed, "--lead-topic", setup.lead_topic,
                  "--crm-topic", setup.crm_topic, "--schema-dir",
                  itlib.SCHEMAS, "--jsonl", jsonl],
                 log_path=jsonl.with_suffix(".gen.log"))
    return [json.loads(line) for line in jsonl.read_text().splitlines()]


def state_key(k):
    return any(k.startswith(s) for s in STATE_KEYS)


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
        for m in MODELS:
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
    work = fdit.work_dir()
    setup = itlib.Setup("e2e_gen", work)
    setup.create_topics()
    config = setup.write_config()
    events = generate(setup, work / "events.jsonl")
    assert len(events) == EVENTS, len(events)

    r = fdit.redis_client()
    ends = setup.end_offsets()
    assert sum(ends.values()) == EVENTS, ends
    proc = setup.start()
    setup.wait_caught_up(proc, r, ends, timeout=120)
    setup.stop(proc)

    model = RefModel(config).run(events)
    actual = itlib.dump(r, setup.prefix)
    compare_keys(model.redis_keys(setup.group), actual)
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

    n_prom = check_promotions(setup, model)
    n_attr = check_attributions(setup, model)
    print(f"{len(actual)} keys, {n_prom} promotions and {n_attr} "
          "attributions equal the reference model", flush=True)


if __name__ == "__main__":
    fdit.main(globals())
