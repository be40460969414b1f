#!/usr/bin/env python3
"""Redis AUTH with an ACL user that may touch only funneld's key prefix:
funneld works with it (every key it writes is under redis.prefix), and a user
whose keys do not cover the prefix, or who may not run SMISMEMBER (the
dedupe sets' read, Redis 6.2), is refused at start with a message that
says what to fix."""

import sys
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import fdit  # noqa: E402
import itlib  # noqa: E402


def acl_user(r, key_pattern, *rules):
    name, password = f"fd-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    r.execute_command("ACL", "SETUSER", name, "on", f">{password}",
                      "resetkeys", f"~{key_pattern}", "resetchannels",
                      "+@all", "-@admin", "-@dangerous", *rules)
    return name, password


def with_user(setup, name, password):
    cfg = setup.write_config()
    cfg.write_text(cfg.read_text() +
                   f"\n[redis]\nuser = {name}\npassword = {password}\n")
    return cfg


def test_acl_user_limited_to_prefix():
    work = fdit.work_dir()
    setup = itlib.Setup("acl", work, partitions=2)
    setup.create_topics()
    r = fdit.redis_client()
    name, password = acl_user(r, f"{setup.prefix}:*")
    with_user(setup, name, password)
    fdit.run_gen(["--brokers", fdit.bootstrap(), "--events", 3000,
                  "--seed", 5, "--lead-topic", setup.lead_topic,
                  "--crm-topic", setup.crm_topic])
    setup.run_to_end(r, timeout=120)
    keys = list(r.scan_iter(match=f"{setup.prefix}:*", count=1000))
    assert len(keys) > 100, len(keys)
    stats = r.hgetall(f"{setup.prefix}:stats:{setup.group}")
    assert int(stats["in:lead_events"]) + int(stats["in:crm_events"]) + \
        int(stats.get("duplicates", 0)) == 3000, stats


def test_acl_user_outside_prefix_is_refused():
    work = fdit.work_dir()
    setup = itlib.Setup("acl_no", work, partitions=2)
    setup.create_topics()
    r = fdit.redis_client()
    name, password = acl_user(r, "somebody-else:*")
    cfg = with_user(setup, name, password)
    p = fdit.start_funneld(cfg)
    rc = p.wait(timeout=60)
    log = p.log_text()
    assert rc == 1, f"exit code {rc}\n{log}"
    assert "NOPERM" in log and "check redis.user, redis.password" in log, log


def test_acl_user_without_smismember_is_refused():
    work = fdit.work_dir()
    setup = itlib.Setup("acl_smis", work, partitions=2)
    setup.create_topics()
    r = fdit.redis_client()
    name, password = acl_user(r, f"{setup.prefix}:*", "-smismember")
    cfg = with_user(setup, name, password)
    p = fdit.start_funneld(cfg)
    rc = p.wait(timeout=60)
    log = p.log_text()
    assert rc == 1, f"exit code {rc}\n{log}"
    assert "refused SMISMEMBER: NOPERM" in log and \
        "use Redis 6.2 or later and let redis.user run it" in log, log


if __name__ == "__main__":
    fdit.main(globals())
