"""Start-up checks against the real broker: funneld refuses input topics that
are not co-partitioned or missing, and unreachable Redis, with messages that
say what to do; --check-config reports the line of a mistake."""

import fdit

SCHEMAS = (fdit.SOURCE_DIR / "schemas").resolve()


def write_config(path, names, redis_port=None, extra=""):
    path.write_text(f"""
[funneld]
group.id = {names.group()}
[kafka]
bootstrap.servers = {fdit.bootstrap()}
[topics]
lead_events = {names.topic('lead')}
crm_events = {names.topic('crm')}
promotions = {names.topic('promotions')}
attribution = {names.topic('attribution')}
alerts = {names.topic('alerts')}
dlq = {names.topic('dlq')}
[redis]
port = {redis_port or fdit.redis_port()}
prefix = {names.redis_prefix}
[schemas]
dir = {SCHEMAS}
id.1 = lead:{SCHEMAS}/lead_event.avsc
id.2 = crm:{SCHEMAS}/crm_stage_event.avsc
[http]
listen = 127.0.0.1:0
{extra}
""")
    return path


def run_to_exit(config):
    p = fdit.start_funneld(config)
    rc = p.wait(timeout=60)
    return rc, p.log_text()


def test_topics_not_copartitioned():
    names = fdit.Names()
    fdit.create_topics([names.topic("lead")], partitions=4)
    fdit.create_topics([names.topic("crm")], partitions=3)
    fdit.create_topics([names.topic(t) for t in ("promotions", "attribution",
                                                 "alerts", "dlq")],
                       partitions=1)
    cfg = write_config(fdit.work_dir() / "f.ini", names)
    rc, log = run_to_exit(cfg)
    assert rc == 1, f"exit code {rc}\n{log}"
    assert "not co-partitioned" in log and "4 partitions" in log \
        and "has 3" in log, log
    assert "same partition count" in log, log


def test_missing_input_topic():
    names = fdit.Names()
    fdit.create_topics([names.topic("lead")], partitions=2)
    cfg = write_config(fdit.work_dir() / "f.ini", names)
    rc, log = run_to_exit(cfg)
    assert rc == 1, f"exit code {rc}\n{log}"
    assert f"input topic '{names.topic('crm')}' is not available" in log, log


def test_missing_output_topic():
    names = fdit.Names()
    fdit.create_topics([names.topic(t) for t in ("lead", "crm", "promotions",
                                                 "attribution", "alerts")],
                       partitions=2)
    cfg = write_config(fdit.work_dir() / "f.ini", names)
    rc, log = run_to_exit(cfg)
    assert rc == 1, f"exit code {rc}\n{log}"
    assert f"output topic '{names.topic('dlq')}' is not available" in log, log


def test_missing_alerts_topic():
    """The alerts topic (topics.alerts) is an output topic like the others:
    without it funneld refuses to start and says how to fix it."""
    names = fdit.Names()
    fdit.create_topics([names.topic(t) for t in ("lead", "crm", "promotions",
                                                 "attribution", "dlq")],
                       partitions=2)
    cfg = write_config(fdit.work_dir() / "f.ini", names)
    rc, log = run_to_exit(cfg)
    assert rc == 1, f"exit code {rc}\n{log}"
    assert f"output topic '{names.topic('alerts')}' is not available" in log \
        and "create it" in log, log


def test_redis_unreachable():
    names = fdit.Names()
    # A port nobody listens on: bind, read the number, close.
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    cfg = write_config(fdit.work_dir() / "f.ini", names, redis_port=port)
    rc, log = run_to_exit(cfg)
    assert rc == 1, f"exit code {rc}\n{log}"
    assert f"cannot connect to redis at 127.0.0.1:{port}" in log, log
    assert "start redis-server or set redis.host/redis.port" in log, log


def test_check_config_reports_line():
    names = fdit.Names()
    cfg = write_config(fdit.work_dir() / "bad.ini", names,
                       extra="[processing]\nbatch.max_events = lots\n")
    lines = cfg.read_text().splitlines()
    bad_line = next(i for i, l in enumerate(lines, 1) if "lots" in l)
    p = fdit.Process([fdit.funneld_bin(), "--check-config", str(cfg)],
                     fdit.work_dir() / "check.log")
    rc = p.wait(timeout=30)
    log = p.log_text()
    assert rc == 1, f"exit code {rc}\n{log}"
    assert f"{cfg}:{bad_line}:" in log and "batch.max_events" in log, log
    good = write_config(fdit.work_dir() / "good.ini", names)
    p = fdit.Process([fdit.funneld_bin(), "--check-config", str(good)],
                     fdit.work_dir() / "check2.log")
    assert p.wait(timeout=30) == 0, p.log_text()
    assert "valid" in p.log_text()


if __name__ == "__main__":
    fdit.main(globals())
