"""privbroker: a private single-node Kafka broker (KRaft) with a SASL_SSL
listener, for tests of funneld's Kafka TLS and SASL settings.

The broker listens on 127.0.0.1 with
  - SASL_SSL (SASL/PLAIN over TLS) for the clients under test: user
    USER / PASSWORD; the server certificate is signed by a CA made at start
    (openssl) and names IP:127.0.0.1 and DNS:localhost, so clients verify
    both the chain and the host name;
  - PLAINTEXT for the broker itself (inter-broker, readiness, warm-up) and
    CONTROLLER for KRaft, as in fixture.py.
Clients that bootstrap from the SASL_SSL port see only SASL_SSL endpoints in
the metadata, so everything they do goes over TLS with authentication.

    with SaslSslBroker(work) as broker:
        broker.bootstrap          # "127.0.0.1:PORT" of the SASL_SSL listener
        broker.client_conf()      # librdkafka security settings for it
        broker.ca_pem             # the CA certificate clients trust

Keys, configs and logs live in <work>/sasl-broker; close() stops the broker
and deletes its data and private keys (the logs stay for post-mortems).
Reuses fixture.py's helpers: ports, properties, spawning, readiness.
"""

import secrets
import shutil
import subprocess
from pathlib import Path

import fixture

START_DEADLINE_S = 90.0
USER = "funneld"
PASSWORD = "secret"


class BrokerError(Exception):
    pass


def _run(argv, cwd, what, timeout=60):
    res = subprocess.run(argv, cwd=cwd, stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         text=True, timeout=timeout)
    if res.returncode != 0:
        raise BrokerError(f"{what} failed (exit {res.returncode}): "
                          f"{' '.join(map(str, argv))}\n{res.stdout}")
    return res.stdout


def make_keys(d, store_password):
    """A CA and a broker key + certificate signed by it (SAN IP:127.0.0.1,
    DNS:localhost), made with openssl in d. Returns (ca_pem, keystore_p12):
    the CA certificate for clients, the broker's key, certificate and chain
    as a PKCS12 keystore protected by store_password."""
    openssl = shutil.which("openssl")
    if not openssl:
        raise BrokerError("openssl not found on PATH; install the openssl "
                          "package (scripts/setup.sh)")
    d.mkdir(parents=True, exist_ok=True)
    curve = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"]
    _run([openssl, "req", "-x509", *curve, "-nodes", "-days", "2",
          "-keyout", "ca.key", "-out", "ca.pem",
          "-subj", "/CN=funneld integration test CA",
          "-addext", "basicConstraints=critical,CA:TRUE",
          "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
         d, "making the test CA")
    _run([openssl, "req", "-new", *curve, "-nodes", "-keyout", "broker.key",
          "-out", "broker.csr", "-subj", "/CN=localhost"],
         d, "making the broker key")
    (d / "broker.ext").write_text(
        "basicConstraints=CA:FALSE\n"
        "keyUsage=critical,digitalSignature,keyEncipherment\n"
        "extendedKeyUsage=serverAuth\n"
        "subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    _run([openssl, "x509", "-req", "-in", "broker.csr", "-CA", "ca.pem",
          "-CAkey", "ca.key", "-set_serial", str(secrets.randbits(63)),
          "-days", "2", "-extfile", "broker.ext", "-out", "broker.pem"],
         d, "signing the broker certificate")
    _run([openssl, "pkcs12", "-export", "-in", "broker.pem",
          "-inkey", "broker.key", "-certfile", "ca.pem", "-name", "broker",
          "-out", "broker.p12", "-passout", f"pass:{store_password}"],
         d, "packing the broker keystore")
    return d / "ca.pem", d / "broker.p12"


def _override(properties, values):
    """properties (text of key=value lines) with values replacing the keys
    it has and the others appended."""
    out, seen = [], set()
    for line in properties.splitlines():
        key = line.split("=", 1)[0].strip()
        if "=" in line and not line.lstrip().startswith("#") and key in values:
            out.append(f"{key}={values[key]}")
            seen.add(key)
        else:
            out.append(line)
    out += [f"{k}={v}" for k, v in values.items() if k not in seen]
    return "\n".join(out) + "\n"


def _jaas(users):
    creds = " ".join(f'user_{u}="{p}"' for u, p in users.items())
    return ("org.apache.kafka.common.security.plain.PlainLoginModule "
            f"required {creds};")


class SaslSslBroker:
    """A private broker with a SASL_SSL listener (see the module doc)."""

    def __init__(self, work):
        self.dir = Path(work).resolve() / "sasl-broker"
        self.keys = self.dir / "keys"
        self.pidfile = self.dir / "kafka.pid"
        self.props = self.dir / "server.properties"
        self.bootstrap = None            # SASL_SSL listener
        self.plain_bootstrap = None      # PLAINTEXT listener (broker's own)
        self.ca_pem = None
        self.proc = None

    def __enter__(self):
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc):
        self.close()

    def client_conf(self, user=USER, password=PASSWORD):
        """librdkafka settings (besides bootstrap.servers) for the SASL_SSL
        listener."""
        return {"security.protocol": "SASL_SSL",
                "sasl.mechanisms": "PLAIN",
                "sasl.username": user,
                "sasl.password": password,
                "ssl.ca.location": str(self.ca_pem)}

    def _properties(self, port, sport, cport, store_password, keystore):
        base = fixture.kafka_properties(self.dir, port, cport)
        lsn = "listener.name.sasl_ssl."
        return _override(base, {
            "listeners": f"PLAINTEXT://127.0.0.1:{port},"
                         f"SASL_SSL://127.0.0.1:{sport},"
                         f"CONTROLLER://127.0.0.1:{cport}",
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{port},"
                                    f"SASL_SSL://127.0.0.1:{sport}",
            "listener.security.protocol.map":
                "PLAINTEXT:PLAINTEXT,SASL_SSL:SASL_SSL,CONTROLLER:PLAINTEXT",
            "sasl.enabled.mechanisms": "PLAIN",
            lsn + "sasl.enabled.mechanisms": "PLAIN",
            lsn + "plain.sasl.jaas.config": _jaas({USER: PASSWORD}),
            lsn + "ssl.keystore.type": "PKCS12",
            lsn + "ssl.keystore.location": str(keystore),
            lsn + "ssl.keystore.password": store_password,
            lsn + "ssl.key.password": store_password,
            lsn + "ssl.client.auth": "none",
        })

    def _ports(self):
        ports = set()
        while len(ports) < 3:
            ports.add(fixture.free_port())
        return list(ports)

    def start(self):
        fixture.kill_pidfile(self.pidfile, str(self.props),
                             "stale private Kafka broker")
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir.mkdir(parents=True)
        store_password = secrets.token_hex(12)
        self.ca_pem, keystore = make_keys(self.keys, store_password)
        port, sport, cport = self._ports()
        self.props.write_text(self._properties(port, sport, cport,
                                               store_password, keystore))
        (self.dir / "log4j.properties").write_text(
            fixture.kafka_log4j(self.dir))
        jvm = [fixture.java_bin(), "-Djava.awt.headless=true",
               f"-Dlog4j.configuration=file:{self.dir / 'log4j.properties'}",
               f"-Dkafka.logs.dir={self.dir}",
               "-cp", str(fixture.kafka_libs() / "*")]
        cluster_id = fixture.new_cluster_id()
        _run(jvm + ["-Xmx256m", "kafka.tools.StorageTool", "format", "-t",
                    cluster_id, "-c", str(self.props)],
             self.dir, "formatting the private broker's storage", 120)
        self.proc = fixture.spawn_detached(
            jvm + fixture.JVM_HEAP + ["kafka.Kafka", str(self.props)],
            self.dir / "broker.out", self.dir)
        self.pidfile.write_text(f"{self.proc.pid}\n")
        self.plain_bootstrap = f"127.0.0.1:{port}"
        self.bootstrap = f"127.0.0.1:{sport}"
        fixture.log(f"private SASL_SSL broker pid {self.proc.pid}: SASL_SSL "
                    f"{self.bootstrap}, PLAINTEXT {self.plain_bootstrap}")
        self._wait_ready()
        try:
            fixture.kafka_warm_up(self.plain_bootstrap)
        except Exception as e:  # noqa: BLE001 - the broker is up; tests retry
            fixture.log(f"warning: warming up the private broker: {e}")

    def _logs(self):
        return (f"--- {self.dir / 'server.log'} ---\n"
                f"{fixture.tail(self.dir / 'server.log')}\n"
                f"--- {self.dir / 'broker.out'} ---\n"
                f"{fixture.tail(self.dir / 'broker.out')}")

    def _wait_ready(self):
        def ready():
            if self.proc.poll() is not None:
                raise BrokerError(f"the private broker exited with "
                                  f"{self.proc.returncode} during startup."
                                  f"\n{self._logs()}")
            return (fixture.kafka_ready(self.plain_bootstrap)
                    and self.sasl_ready())

        if not fixture.poll(ready, START_DEADLINE_S, 0.25):
            raise BrokerError(f"the private broker did not answer on "
                              f"{self.bootstrap} (SASL_SSL) within "
                              f"{START_DEADLINE_S:.0f} s.\n{self._logs()}")

    def sasl_ready(self):
        """True once a metadata request over SASL_SSL succeeds."""
        from confluent_kafka.admin import AdminClient
        admin = AdminClient({"bootstrap.servers": self.bootstrap,
                             "socket.connection.setup.timeout.ms": 3000,
                             "log_level": 0, **self.client_conf()})
        try:
            return len(admin.list_topics(timeout=3).brokers) >= 1
        except Exception:  # noqa: BLE001 - KafkaException while starting
            return False

    def close(self):
        """Stops the broker; deletes its data and private keys."""
        fixture.kill_pidfile(self.pidfile, str(self.props),
                             "private SASL_SSL broker")
        shutil.rmtree(self.dir / "data", ignore_errors=True)
        shutil.rmtree(self.keys, ignore_errors=True)
