#!/usr/bin/python3
"""Feature Relay's scale-out benchmark (bench/scale-out.sh runs it; Python 3 standard library only).

On one machine: PostgreSQL (LocalPostgres), the Kafka broker, one trainer-service and transfer-service replicas as
processes on free loopback ports. Trains one base model, then measures
  1. throughput: a queue of transfer jobs on 1 replica, then on 2 (fresh JVMs for each phase);
  2. latency of GET /api/v1/transfers/{id}: concurrent readers over 2 replicas, idle and while one trains;
  3. takeover: a replica SIGKILLed in the middle of a transfer, the survivor claiming it after the lease expires
     and resuming it from its last checkpoint.
Prints one table, writes JSON and Markdown to the output directory, and stops every process it started on exit
(also on Ctrl-C or SIGTERM).
"""

import argparse
import datetime
import http.client
import json
import math
import os
import platform
import re
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

TRAINER_JAR = "trainer-service/target/quarkus-app/quarkus-run.jar"
TRANSFER_JAR = "transfer-service/target/quarkus-app/quarkus-run.jar"
BROKER = "deploy/local/kafka-broker/target"
POSTGRES = "deploy/local/postgres/target"
# the services' JVM settings, as deploy/local/run.sh and bench/run.sh use them
SERVICE_JVM = ["-Xmx512m", "-XX:MinHeapFreeRatio=10", "-XX:MaxHeapFreeRatio=30", "-Dorg.bytedeco.javacpp.maxbytes=900m", "-Dorg.bytedeco.javacpp.maxphysicalbytes=1500m", "--add-modules=jdk.incubator.vector"]
TERMINAL = ("SUCCEEDED", "FAILED", "CANCELLED")


class BenchError(Exception):
    pass


def log(message):
    print(time.strftime("%H:%M:%S ") + message, flush=True)


# --- processes ------------------------------------------------------------------------------------------------

class Processes:
    """Every process this run started, stopped in reverse order (SIGTERM, then SIGKILL after a grace period)."""

    def __init__(self, run_dir):
        self.run_dir = run_dir
        self.logs = os.path.join(run_dir, "logs")
        os.makedirs(self.logs, exist_ok=True)
        self.started = []  # (name, Popen)
        self.pid_file = os.path.join(run_dir, "pids")

    def start(self, name, command, env=None):
        log_path = os.path.join(self.logs, name + ".log")
        out = open(log_path, "ab")
        # a session of its own: Ctrl-C reaches this script only, which then stops the processes in order
        p = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                             env=env, start_new_session=True)
        out.close()
        self.started.append((name, p))
        with open(self.pid_file, "a") as f:
            f.write("%d %s\n" % (p.pid, name))
        return p

    def log_tail(self, name, lines=30):
        try:
            with open(os.path.join(self.logs, name + ".log"), errors="replace") as f:
                return "".join(f.readlines()[-lines:])
        except OSError:
            return ""

    def stop(self, name, p, grace=30):
        if p.poll() is not None:
            return
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(grace)
        except subprocess.TimeoutExpired:
            log("%s did not stop in %d s: SIGKILL" % (name, grace))
            p.kill()
            p.wait()

    def stop_one(self, name):
        for n, p in self.started:
            if n == name:
                self.stop(n, p)

    def stop_all(self):
        alive = [(n, p) for n, p in self.started if p.poll() is None]
        if alive:
            log("stopping " + ", ".join(n for n, _ in reversed(alive)) + " ...")
        for n, p in reversed(alive):
            self.stop(n, p)


def cpu_seconds(pid):
    """User + system CPU time of a process, all its threads, from /proc (0 when it is gone)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_in_use(port):
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def wait_for(what, predicate, timeout, interval=0.5, processes=None, name=None, p=None):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if p is not None and p.poll() is not None:
            raise BenchError("%s exited (status %s); the end of its log:\n%s" % (name, p.returncode,
                                                                                 processes.log_tail(name)))
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise BenchError("%s: not within %d s" % (what, timeout))


# --- HTTP ------------------------------------------------------------------------------------------------------

def request(method, url, body=None, timeout=30):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            raw = r.read()
            return r.status, (json.loads(raw) if raw else None)
    except urllib.error.HTTPError as e:
        raw = e.read()
        try:
            return e.code, json.loads(raw)
        except ValueError:
            return e.code, raw.decode(errors="replace")


def get_json(url):
    status, body = request("GET", url)
    if status != 200:
        raise BenchError("GET %s: %s %s" % (url, status, body))
    return body


def ready(url):
    try:
        with urllib.request.urlopen(url + "/q/health/ready", timeout=5) as r:
            return r.status == 200
    except (urllib.error.URLError, OSError):
        return False


def instant(value):
    """An Instant from the API (ISO-8601, up to nanoseconds, or epoch seconds) as epoch seconds."""
    if value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value)
    m = re.match(r"^(.*T\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)$", value)
    if not m:
        raise BenchError("not an instant: %r" % value)
    base = datetime.datetime.fromisoformat(m.group(1) + ("+00:00" if m.group(3) == "Z" else m.group(3)))
    return base.timestamp() + (float(m.group(2)) if m.group(2) else 0.0)


# --- the system ------------------------------------------------------------------------------------------------

class System:
    def __init__(self, args, processes):
        self.args = args
        self.p = processes
        self.run_dir = processes.run_dir
        self.secrets = os.path.join(self.run_dir, "secrets")
        os.makedirs(self.secrets, exist_ok=True)
        self.pg_data = os.path.join(self.run_dir, "postgres")
        self.pg_port = self.pick_port(args.postgres_port)
        self.kafka_port = self.pick_port(args.kafka_port)
        self.controller_port = self.pick_port(args.controller_port)
        self.trainer_port = self.pick_port(args.trainer_port)
        self.transfers = {}  # replica id -> (port, Popen)

    def pick_port(self, wanted):
        if wanted:
            if port_in_use(wanted):
                raise BenchError("port %d is in use on 127.0.0.1; stop what uses it or choose another" % wanted)
            return wanted
        return free_port()

    def jdbc_url(self):
        return "jdbc:postgresql://127.0.0.1:%d/featurerelay" % self.pg_port

    def password(self, role):
        with open(os.path.join(self.secrets, role + ".password")) as f:
            return f.read().strip()

    def start_postgres(self):
        name = "postgres"
        p = self.p.start(name, ["java", "-Xmx96m", "-XX:+UseSerialGC", "-cp",
                                POSTGRES + "/local-postgres.jar:" + POSTGRES + "/lib/*",
                                "io.featurerelay.postgres.LocalPostgres", "--data-dir", self.pg_data,
                                "--port", str(self.pg_port), "--database", "featurerelay",
                                "--role", "trainer:" + os.path.join(self.secrets, "trainer.password"),
                                "--role", "transfer:" + os.path.join(self.secrets, "transfer.password"),
                                "--log", os.path.join(self.p.logs, "postgres-server.log")])
        wait_for("PostgreSQL ready", lambda: "PostgreSQL ready" in self.p.log_tail(name, 200), 120,
                 processes=self.p, name=name, p=p)
        log("PostgreSQL          127.0.0.1:%d (data in %s)" % (self.pg_port, self.pg_data))

    def start_kafka(self):
        name = "kafka"
        p = self.p.start(name, ["java", "-Xmx192m", "-Xms32m", "-XX:+UseSerialGC",
                                "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn", "-cp",
                                BROKER + "/kafka-broker.jar:" + BROKER + "/lib/*",
                                "io.featurerelay.broker.LocalKafkaBroker", "--data-dir",
                                os.path.join(self.run_dir, "kafka"), "--port", str(self.kafka_port),
                                "--controller-port", str(self.controller_port)])
        wait_for("the Kafka broker's port", lambda: port_in_use(self.kafka_port), 120, processes=self.p,
                 name=name, p=p)
        log("Kafka broker        127.0.0.1:%d" % self.kafka_port)

    def signing_key(self):
        if not getattr(self, "_signing_key", None):
            self._signing_key = secrets.token_urlsafe(32)
        return self._signing_key

    def service_command(self, role, port, replica, jar, extra):
        props = {
            "quarkus.http.port": port,
            "quarkus.datasource.jdbc.url": self.jdbc_url(),
            "quarkus.datasource.username": role,
            "kafka.bootstrap.servers": "127.0.0.1:%d" % self.kafka_port,
            "featurerelay.replica-id": replica,
            "featurerelay.jobs.lease": "%ds" % self.args.lease,
        }
        props.update(extra)
        env = dict(os.environ)
        env["QUARKUS_DATASOURCE_PASSWORD"] = self.password(role)
        # the services refuse to start without a signing key (featurerelay.allow-unsigned is for nothing
        # measured here): one key for this run, in the environment so that ps does not show it
        env["TRAINER_SIGNING_KEY" if role == "trainer" else "TRANSFER_SIGNING_KEYS"] = self.signing_key()
        return ["java"] + SERVICE_JVM + ["-D%s=%s" % kv for kv in props.items()] + ["-jar", jar], env

    def start_trainer(self):
        command, env = self.service_command("trainer", self.trainer_port, "trainer-1", TRAINER_JAR,
                                            {"trainer.data-dir": self.args.data_dir})
        p = self.p.start("trainer-1", command, env)
        return "trainer-1", p

    def start_transfer(self, i):
        replica = "transfer-%d" % i
        port = self.pick_port(0)
        a = self.args
        command, env = self.service_command("transfer", port, replica, TRANSFER_JAR, {
            # no automatic job for the base model: the queue below is all there is
            "transfer.targets.default.enabled": "false",
            "transfer.targets.default.data-dir": a.data_dir,
            "transfer.targets.default.epochs": a.job_epochs,
            "transfer.targets.default.batch-size": a.batch_size,
            "transfer.targets.default.optimizer": a.optimizer,
            "transfer.targets.default.featurized": "true",
        })
        p = self.p.start(replica, command, env)
        self.transfers[replica] = (port, p)
        return replica, p

    def await_ready(self, started):
        """Waits for every (name, Popen) in started to answer /q/health/ready."""
        for name, p in started:
            url = self.url(name)
            wait_for(name + " ready", lambda: ready(url), 240, processes=self.p, name=name, p=p)
            log("%-19s %s (pid %d)" % (name, url, p.pid))

    def url(self, name):
        if name.startswith("trainer"):
            return "http://127.0.0.1:%d" % self.trainer_port
        return "http://127.0.0.1:%d" % self.transfers[name][0]

    def stop_transfers(self):
        for name in list(self.transfers):
            self.p.stop_one(name)
            del self.transfers[name]

    def psql(self, sql):
        """One query as the superuser (LocalPostgres keeps its password beside the data directory)."""
        with open(self.pg_data + ".superuser-password") as f:
            password = f.read().strip()
        env = dict(os.environ, PGPASSWORD=password, PGCONNECT_TIMEOUT="5")
        r = subprocess.run(["psql", "-X", "-q", "-At", "-h", "127.0.0.1", "-p", str(self.pg_port), "-U", "postgres",
                            "-d", "featurerelay", "-v", "ON_ERROR_STOP=1", "-c", sql], env=env,
                           capture_output=True, text=True, timeout=20)
        if r.returncode != 0:
            raise BenchError("psql: " + r.stderr.strip())
        return r.stdout.strip()

    def lease_of(self, job):
        """(lease_until as epoch seconds or None, owner, attempts) of a transfer job, from the table itself."""
        if not re.match(r"^[a-z0-9][a-z0-9-]{0,126}$", job):
            raise BenchError("unexpected job id " + job)
        out = self.psql("SELECT coalesce(extract(epoch FROM lease_until)::text, ''), coalesce(owner, ''), attempts"
                        " FROM transfer.jobs WHERE id = '%s'" % job)
        until, owner, attempts = out.split("|")
        return (float(until) if until else None), owner, int(attempts)


# --- measurements ----------------------------------------------------------------------------------------------

def train_base(system):
    a = system.args
    trainer = system.url("trainer-1")
    status, body = request("POST", trainer + "/api/v1/trainings", {
        "epochs": 1, "batchSize": a.batch_size, "optimizer": a.optimizer, "classes": [0, 1, 2, 3, 4]})
    if status != 202:
        raise BenchError("the trainer refused the training: %s %s" % (status, body))
    base = body["id"]
    log("base training %s: classes 0-4, 1 epoch, batch %d, %s" % (base, a.batch_size, a.optimizer))
    started = time.time()
    done = wait_for("base training " + base, lambda: terminal(get_json(trainer + "/api/v1/trainings/" + base)),
                    3600, interval=1)
    if done["state"] != "SUCCEEDED":
        raise BenchError("the base training ended %s: %s" % (done["state"], done.get("error")))
    trained = time.time()
    return base, trained - started


def terminal(status):
    return status if status["state"] in TERMINAL else None


def await_base_model(system, replica, base, timeout=180):
    url = system.url(replica) + "/api/v1/base-models"
    wait_for("base model %s stored by %s" % (base, replica),
             lambda: any(m.get("id") == base for m in get_json(url)), timeout, interval=0.5)


def submit(system, replica, body):
    status, answer = request("POST", system.url(replica) + "/api/v1/transfers", body)
    if status != 202:
        raise BenchError("%s refused the transfer %s: %s %s" % (replica, body, status, answer))
    return answer["id"]


def throughput(system, replicas, base):
    a = system.args
    log("throughput, %d replica(s) (%s): %d transfer jobs of %d epoch(s), submitted alternately" % (
        len(replicas), ", ".join(replicas), a.jobs, a.job_epochs))
    pids = [system.transfers[r][1].pid for r in replicas]
    cpu_before = sum(cpu_seconds(pid) for pid in pids)
    observed_start = time.time()
    jobs = [submit(system, replicas[i % len(replicas)], {"baseModelId": base, "epochs": a.job_epochs})
            for i in range(a.jobs)]
    observer = system.url(replicas[-1])
    done = {}

    def all_done():
        for job in jobs:
            if job not in done:
                s = get_json(observer + "/api/v1/transfers/" + job)
                if s["state"] in TERMINAL:
                    done[job] = s
        return len(done) == len(jobs)

    wait_for("%d transfer jobs" % len(jobs), all_done, 3600, interval=0.5)
    observed_wall = time.time() - observed_start
    cpu = sum(cpu_seconds(pid) for pid in pids) - cpu_before
    failed = [s for s in done.values() if s["state"] != "SUCCEEDED"]
    if failed:
        raise BenchError("transfer %s ended %s: %s" % (failed[0]["id"], failed[0]["state"], failed[0].get("error")))
    statuses = [done[j] for j in jobs]
    first = min(instant(s["createdAt"]) for s in statuses)
    last = max(instant(s["finishedAt"]) for s in statuses)
    wall = last - first
    per = {}
    for r in replicas:
        mine = [s for s in statuses if s["replica"] == r]
        runs = [instant(s["finishedAt"]) - instant(s["startedAt"]) for s in mine]
        per[r] = {"jobs": len(mine), "jobs_per_minute": round(len(mine) / wall * 60, 2),
                  "mean_job_seconds": round(sum(runs) / len(runs), 2) if runs else None}
    others = sorted({s["replica"] for s in statuses} - set(replicas))
    if others:
        raise BenchError("jobs ran on unexpected replicas: %s" % others)
    result = {"replicas": len(replicas), "jobs": len(jobs), "wall_seconds": round(wall, 2),
              "jobs_per_minute": round(len(jobs) / wall * 60, 2), "per_replica": per,
              "mean_job_seconds": round(sum(instant(s["finishedAt"]) - instant(s["startedAt"])
                                            for s in statuses) / len(statuses), 2),
              "attempts_above_1": sum(1 for s in statuses if s["attempts"] > 1),
              # how much of the machine the replicas used: their CPU time over the wall time of all cores
              "replicas_cpu_seconds_per_job": round(cpu / len(jobs), 2),
              "replicas_cpu_share_of_all_cores": round(cpu / (observed_wall * os.cpu_count()), 3),
              "load_average_1min_at_end": round(os.getloadavg()[0], 2)}
    log("  %d jobs in %.1f s: %.2f jobs/minute (%s); replicas' CPU %.0f%% of all cores, load average %.1f" % (
        len(jobs), wall, result["jobs_per_minute"],
        ", ".join("%s %d jobs, %.2f/min" % (r, v["jobs"], v["jobs_per_minute"]) for r, v in per.items()),
        100 * result["replicas_cpu_share_of_all_cores"], result["load_average_1min_at_end"]))
    return result, jobs


def percentile(sorted_values, q):
    if not sorted_values:
        return None
    return sorted_values[max(0, math.ceil(q * len(sorted_values)) - 1)]


def latency(system, replicas, job, seconds, readers, warmup=3):
    """Closed loop: each reader thread sends GET /api/v1/transfers/{job} on its own keep-alive connection, after
    warmup seconds of the same that are not counted (the endpoint's first calls on a fresh JVM are compiled)."""
    if warmup:
        latency(system, replicas, job, warmup, readers, warmup=0)
    results = [[] for _ in range(readers)]
    errors = [0] * readers
    stop_at = time.time() + seconds
    path = "/api/v1/transfers/" + job

    def reader(i):
        port = system.transfers[replicas[i % len(replicas)]][0]
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while time.time() < stop_at:
            t0 = time.perf_counter()
            try:
                conn.request("GET", path)
                r = conn.getresponse()
                r.read()
                ok = r.status == 200
            except (OSError, http.client.HTTPException):
                ok = False
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            dt = time.perf_counter() - t0
            if ok:
                results[i].append(dt)
            else:
                errors[i] += 1
        conn.close()

    threads = [threading.Thread(target=reader, args=(i,), daemon=True) for i in range(readers)]
    t0 = time.time()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.time() - t0

    def summary(values):
        values = sorted(values)
        if not values:
            return {"requests": 0}
        return {"requests": len(values), "requests_per_second": round(len(values) / elapsed, 1),
                "p50_ms": round(percentile(values, 0.50) * 1000, 2),
                "p99_ms": round(percentile(values, 0.99) * 1000, 2),
                "mean_ms": round(sum(values) / len(values) * 1000, 2), "max_ms": round(values[-1] * 1000, 2)}

    out = summary([v for r in results for v in r])
    with urllib.request.urlopen(system.url(replicas[0]) + path, timeout=30) as r:
        out["response_bytes"] = len(r.read())
    out["errors"] = sum(errors)
    out["seconds"] = round(elapsed, 1)
    out["readers"] = readers
    out["per_replica"] = {r: summary([v for i, res in enumerate(results) if replicas[i % len(replicas)] == r
                                      for v in res]) for r in replicas}
    return out


def await_running(url, history_entries, timeout=600, interval=0.1):
    """The job's status once it is RUNNING with at least history_entries epochs of model 2 (progress shown)."""
    def check():
        s = get_json(url)
        if s["state"] in TERMINAL:
            raise BenchError("%s ended %s before it could be measured; give it more epochs" % (url, s["state"]))
        if s["state"] == "RUNNING" and len(s.get("transferHistory") or []) >= history_entries and s.get("progress"):
            return s
        return None
    return wait_for("a running transfer", check, timeout, interval=interval)


def latency_phases(system, replicas, idle_job, base):
    a = system.args
    log("latency, idle: %d readers on %s for %d s, GET /api/v1/transfers/%s" % (
        a.readers, " and ".join(replicas), a.latency_seconds, idle_job))
    idle = latency(system, replicas, idle_job, a.latency_seconds, a.readers)
    idle["job_state"] = "SUCCEEDED"
    log_latency(idle)
    busy = None
    if a.latency_training:
        job = submit(system, replicas[0], {"baseModelId": base, "epochs": a.training_epochs, "featurized": False})
        s = await_running(system.url(replicas[1]) + "/api/v1/transfers/" + job, 0)
        # the same job as while idle, so that the load is all that differs
        log("latency, while %s trains transfer %s (%d epochs, plain path): %d readers for %d s, GET %s" % (
            s["replica"], job, a.training_epochs, a.readers, a.latency_seconds, idle_job))
        busy = latency(system, replicas, idle_job, a.latency_seconds, a.readers)
        after = get_json(system.url(replicas[1]) + "/api/v1/transfers/" + job)
        busy["training_replica"] = s["replica"]
        busy["job_state"] = after["state"]
        busy["still_training_at_end"] = after["state"] == "RUNNING"
        log_latency(busy)
        if not busy["still_training_at_end"]:
            log("  note: the transfer was %s before the readers stopped; raise --training-epochs" % after["state"])
        request("DELETE", system.url(replicas[1]) + "/api/v1/transfers/" + job)
        wait_for("cancelling " + job, lambda: terminal(get_json(system.url(replicas[1]) + "/api/v1/transfers/" + job)),
                 120, interval=0.5)
    return idle, busy


def log_latency(r):
    log("  %d requests (%.0f/s), p50 %.1f ms, p99 %.1f ms, mean %.1f ms, max %.1f ms, %d errors" % (
        r["requests"], r.get("requests_per_second", 0), r.get("p50_ms", 0), r.get("p99_ms", 0), r.get("mean_ms", 0),
        r.get("max_ms", 0), r["errors"]))


def takeover(system, replicas, base):
    a = system.args
    job = submit(system, replicas[0], {"baseModelId": base, "epochs": a.takeover_epochs, "featurized": False})
    log("takeover: transfer %s (%d epochs, plain path, baseline too), SIGKILL of its replica after epoch 1" % (
        job, a.takeover_epochs))
    # watch it through both replicas until we know which one runs it
    before = await_running(system.url(replicas[0]) + "/api/v1/transfers/" + job, 1, interval=0.05)
    victim = before["replica"]
    if victim not in replicas:
        raise BenchError("the transfer runs on %s, not one of %s" % (victim, replicas))
    survivor = [r for r in replicas if r != victim][0]
    survivor_url = system.url(survivor) + "/api/v1/transfers/" + job
    lease_before, owner_before, _ = system.lease_of(job)
    epochs_at_kill = len(before["transferHistory"]) + len(before.get("scratchHistory") or [])
    victim_process = system.transfers[victim][1]
    os.kill(victim_process.pid, signal.SIGKILL)
    killed = time.time()
    victim_process.wait()
    # the victim renews no more: what the table holds now is when its lease ends
    expiry, owner_after_kill, _ = system.lease_of(job)
    log("  SIGKILL to %s (pid %d) with %d epoch(s) done; its lease ends %.2f s after the kill (%.2f s before it)" % (
        victim, victim_process.pid, epochs_at_kill, expiry - killed, killed - (expiry - a.lease)))

    def claimed():
        s = get_json(survivor_url)
        if s["attempts"] >= 2 and s["replica"] == survivor:
            return s
        if s["state"] in TERMINAL:
            raise BenchError("the transfer ended %s before the survivor claimed it: %s" % (s["state"], s.get("error")))
        return None

    wait_for("the survivor's claim", claimed, 4 * a.lease + 60, interval=0.05)
    seen = time.time()
    lease_after, owner, attempts = system.lease_of(job)
    # the claim set lease_until = now() + lease; a renewal comes only a quarter of the lease later
    claim = lease_after - a.lease if lease_after is not None else seen
    if claim > seen + 0.05 or seen - claim > a.lease / 4:
        claim = seen  # a renewal came first: the observation is the best there is
        claim_source = "observed (API poll every 50 ms)"
    else:
        claim_source = "database (lease_until - lease)"
    log("  %s claimed it %.2f s after the kill, %.2f s after the lease expired (attempts %d)" % (
        survivor, claim - killed, claim - expiry, attempts))

    def next_epoch():
        s = get_json(survivor_url)
        n = len(s.get("transferHistory") or []) + len(s.get("scratchHistory") or [])
        if n > epochs_at_kill:
            return s
        if s["state"] in TERMINAL and s["state"] != "SUCCEEDED":
            raise BenchError("the resumed transfer ended %s: %s" % (s["state"], s.get("error")))
        return None

    wait_for("the resumed run's next epoch", next_epoch, 600, interval=0.05)
    resumed_epoch = time.time()
    log("  the next epoch was recorded %.2f s after the claim, %.2f s after the kill" % (
        resumed_epoch - claim, resumed_epoch - killed))
    final = wait_for("the resumed transfer", lambda: terminal(get_json(survivor_url)), 600, interval=0.5)
    epochs = [e["epoch"] for e in final.get("transferHistory") or []]
    checks = {
        "final_state": final["state"],
        "attempts": final["attempts"],
        "ran_to_end_on": final["replica"],
        "transfer_epochs": epochs,
        "scratch_epochs": [e["epoch"] for e in final.get("scratchHistory") or []],
        "epoch_1_unchanged": bool(final.get("transferHistory")) and final["transferHistory"][0] ==
        before["transferHistory"][0],
        "epochs_complete": epochs == list(range(1, a.takeover_epochs + 1)),
    }
    ok = checks["final_state"] == "SUCCEEDED" and checks["attempts"] == 2 and checks["epoch_1_unchanged"] \
        and checks["epochs_complete"] and checks["ran_to_end_on"] == survivor
    log("  ended %s on %s, attempts %d, model 2 epochs %s, epoch 1 unchanged: %s" % (
        final["state"], final["replica"], final["attempts"], epochs, checks["epoch_1_unchanged"]))
    return {
        "job": job, "epochs": a.takeover_epochs, "victim": victim, "survivor": survivor,
        "epochs_done_at_kill": epochs_at_kill,
        "lease_seconds": a.lease,
        "lease_until_before_kill_minus_kill": round(lease_before - killed, 3) if lease_before else None,
        "kill_to_lease_expiry_seconds": round(expiry - killed, 3),
        "lease_expiry_to_claim_seconds": round(claim - expiry, 3),
        "kill_to_claim_seconds": round(claim - killed, 3),
        "claim_time_from": claim_source,
        "claim_observed_after_kill_seconds": round(seen - killed, 3),
        "claim_to_next_epoch_seconds": round(resumed_epoch - claim, 3),
        "kill_to_next_epoch_seconds": round(resumed_epoch - killed, 3),
        "owner_before_kill": owner_before, "owner_after_claim": owner,
        "checks": checks, "passed": ok,
    }


# --- the report ------------------------------------------------------------------------------------------------

def machine():
    model = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = None
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal"):
                    mem = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    java = subprocess.run(["java", "-version"], capture_output=True, text=True).stderr.splitlines()
    return {"cores": os.cpu_count(), "cpu": model, "memory_gib": mem, "kernel": platform.release(),
            "java": java[0] if java else None, "python": platform.python_version(),
            "load_average_at_start": [round(x, 2) for x in os.getloadavg()]}


def rows(report):
    out = []
    for t in report["throughput"]:
        n = t["replicas"]
        label = "throughput, %d replica%s" % (n, "" if n == 1 else "s")
        out.append((label + ": %d jobs, wall" % t["jobs"], "%.1f s" % t["wall_seconds"]))
        out.append((label + ": jobs/minute, all", "%.2f" % t["jobs_per_minute"]))
        for r, v in t["per_replica"].items():
            out.append((label + ": jobs/minute, " + r, "%.2f (%d jobs, %.1f s each)" % (
                v["jobs_per_minute"], v["jobs"], v["mean_job_seconds"] or 0)))
        out.append((label + ": replicas' CPU, all cores", "%.0f%% (%.1f core-s per job; load average %.1f)" % (
            100 * t["replicas_cpu_share_of_all_cores"], t["replicas_cpu_seconds_per_job"],
            t["load_average_1min_at_end"])))
    if len(report["throughput"]) == 2:
        ratio = report["throughput"][1]["jobs_per_minute"] / report["throughput"][0]["jobs_per_minute"]
        out.append(("throughput, 2 replicas / 1 replica", "%.2fx" % ratio))
    k = report.get("takeover")
    if k:
        out.append(("takeover (lease %d s): kill -> lease expiry" % k["lease_seconds"],
                    "%.2f s" % k["kill_to_lease_expiry_seconds"]))
        out.append(("takeover: lease expiry -> survivor's claim", "%.2f s" % k["lease_expiry_to_claim_seconds"]))
        out.append(("takeover: kill -> survivor's claim", "%.2f s" % k["kill_to_claim_seconds"]))
        out.append(("takeover: claim -> next epoch recorded", "%.2f s" % k["claim_to_next_epoch_seconds"]))
        out.append(("takeover: kill -> next epoch recorded", "%.2f s" % k["kill_to_next_epoch_seconds"]))
        c = k["checks"]
        out.append(("takeover: resumed from checkpoint", "%s (attempts %d, epochs %s, epoch 1 unchanged: %s)" % (
            "yes" if k["passed"] else "NO", c["attempts"], c["transfer_epochs"], c["epoch_1_unchanged"])))
    for key, label in (("latency_idle", "idle"), ("latency_training", "one training")):
        r = report.get(key)
        if not r:
            continue
        name = "GET /transfers/{id}, %d readers, %s" % (r["readers"], label)
        out.append((name + ": p50 / p99", "%.1f / %.1f ms" % (r.get("p50_ms", 0), r.get("p99_ms", 0))))
        out.append((name + ": mean / max", "%.1f / %.1f ms" % (r.get("mean_ms", 0), r.get("max_ms", 0))))
        out.append((name + ": requests", "%d in %.0f s (%.0f/s), %d errors" % (
            r["requests"], r["seconds"], r.get("requests_per_second", 0), r["errors"])))
        for rep, v in r["per_replica"].items():
            tag = " (training)" if rep == r.get("training_replica") else ""
            if v.get("requests"):
                out.append(("GET, %s, on %s%s: p50 / p99" % (label, rep, tag), "%.1f / %.1f ms" % (
                    v["p50_ms"], v["p99_ms"])))
    return out


def table(pairs):
    width = max(len(a) for a, _ in pairs)
    lines = ["%-*s | %s" % (width, "measure", "value"), "-" * (width + 40)]
    lines += ["%-*s | %s" % (width, a, b) for a, b in pairs]
    return "\n".join(lines)


def markdown(report, pairs):
    m = report["machine"]
    s = report["settings"]
    lines = ["# Scale-out benchmark, %s" % report["finished"], "",
             "Machine: %d cores, %s, %s GiB; %s; load average at start %s." % (
                 m["cores"], m["cpu"], m["memory_gib"], m["java"], m["load_average_at_start"]), "",
             "Settings: " + ", ".join("%s=%s" % kv for kv in s.items()), "",
             "| measure | value |", "|---|---|"]
    lines += ["| %s | %s |" % (a.strip(), b) for a, b in pairs]
    lines += ["", "Notes:"] + ["- " + n for n in report["notes"]]
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run-dir", required=True)
    ap.add_argument("--out", default="bench/results")
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--jobs", type=int, default=8)
    ap.add_argument("--job-epochs", type=int, default=1)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--optimizer", default="adam")
    ap.add_argument("--lease", type=int, default=10)
    ap.add_argument("--takeover-epochs", type=int, default=3)
    ap.add_argument("--training-epochs", type=int, default=30)
    ap.add_argument("--latency-seconds", type=int, default=20)
    ap.add_argument("--readers", type=int, default=8)
    ap.add_argument("--no-latency-training", dest="latency_training", action="store_false")
    ap.add_argument("--postgres-port", type=int, default=0)
    ap.add_argument("--kafka-port", type=int, default=0)
    ap.add_argument("--controller-port", type=int, default=0)
    ap.add_argument("--trainer-port", type=int, default=0)
    a = ap.parse_args()

    def on_signal(signum, _frame):
        raise KeyboardInterrupt("signal %d" % signum)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    started = time.time()
    processes = Processes(a.run_dir)
    report = {"started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)), "machine": machine(),
              "settings": {"data_dir": os.path.relpath(a.data_dir) if a.data_dir.startswith(os.getcwd())
                           else a.data_dir, "transfer_jobs": a.jobs, "job_epochs": a.job_epochs,
                           "batch_size": a.batch_size, "optimizer": a.optimizer, "job_path": "featurized + baseline",
                           "lease_s": a.lease, "poll_interval": "500ms (default)", "transfer_concurrency": 1,
                           "takeover_epochs": a.takeover_epochs, "readers": a.readers,
                           "latency_seconds": a.latency_seconds, "jvm": " ".join(SERVICE_JVM)},
              "throughput": []}
    m = report["machine"]
    log("machine: %d cores, %s, %s GiB, %s, load average %s" % (m["cores"], m["cpu"], m["memory_gib"], m["java"],
                                                                  m["load_average_at_start"]))
    log("settings: " + ", ".join("%s=%s" % kv for kv in report["settings"].items()))
    log("logs: " + processes.logs)
    try:
        system = System(a, processes)
        system.start_postgres()
        system.start_kafka()
        trainer = system.start_trainer()
        first = system.start_transfer(1)
        system.await_ready([trainer, first])

        base, base_seconds = train_base(system)
        await_base_model(system, "transfer-1", base)
        report["base_model"] = {"id": base, "training_seconds": round(base_seconds, 1)}
        log("base model %s trained in %.1f s and stored by transfer-1" % (base, base_seconds))

        result, _ = throughput(system, ["transfer-1"], base)
        report["throughput"].append(result)

        log("restarting: fresh transfer-1 and transfer-2")
        system.stop_transfers()
        system.await_ready([system.start_transfer(1), system.start_transfer(2)])
        replicas = ["transfer-1", "transfer-2"]
        result, jobs = throughput(system, replicas, base)
        report["throughput"].append(result)

        idle, busy = latency_phases(system, replicas, jobs[-1], base)
        report["latency_idle"] = idle
        report["latency_training"] = busy

        report["takeover"] = takeover(system, replicas, base)
    except BenchError as e:
        print("error: %s" % e, file=sys.stderr)
        print("logs: %s" % processes.logs, file=sys.stderr)
        processes.stop_all()
        return 1
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        processes.stop_all()
        return 130
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        processes.stop_all()

    report["finished"] = time.strftime("%Y-%m-%dT%H:%M:%SZ")
    report["seconds"] = round(time.time() - started, 1)
    t = report["throughput"]
    ratio = t[1]["jobs_per_minute"] / t[0]["jobs_per_minute"]
    report["notes"] = [
        "%d cores: both replicas share them (a training uses every core it gets), so on this machine 2 replicas are "
        "expected to give about the throughput of 1, not twice it; measured 2 replicas / 1 replica = %.2fx. A job "
        "took %.1f s alone and %.1f s beside another; the single replica kept %.0f%% of the cores busy and the two "
        "%.0f%%: what a second replica adds here is only the CPU that one left idle (its JVM's serial parts, database "
        "and Kafka waits, the gaps between jobs), and other work on the machine takes its share too. Replicas add "
        "throughput when they get cores of their own (other nodes)." % (
            m["cores"], ratio, t[0]["mean_job_seconds"], t[1]["mean_job_seconds"],
            100 * t[0]["replicas_cpu_share_of_all_cores"], 100 * t[1]["replicas_cpu_share_of_all_cores"]),
        "jobs/minute per replica = the jobs that replica ran / the phase's wall time (first job created to last "
        "finished), so the replicas' figures add up to the total.",
        "takeover = the rest of the dead replica's lease (renewed every quarter of it, so it ends between 3/4 and "
        "all of the lease after the kill) + up to one poll interval (500 ms) + the claim; then the survivor loads "
        "the base model and the checkpoint and trains the next epoch.",
        "latency: closed loop, %d Python threads on keep-alive connections, half on each replica; the client shares "
        "the cores with the services, so the figures include its own scheduling." % a.readers,
        "this machine runs other work as well: figures vary from run to run.",
    ]
    pairs = rows(report)
    print()
    print("machine: %d cores, %s; %s" % (m["cores"], m["cpu"], m["java"]))
    print("settings: " + ", ".join("%s=%s" % kv for kv in report["settings"].items()))
    print()
    print(table(pairs))
    print()
    for n in report["notes"]:
        print("- " + n)
    os.makedirs(a.out, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    base_path = os.path.join(a.out, "scale-out-" + stamp)
    with open(base_path + ".json", "w") as f:
        json.dump(report, f, indent=2)
        f.write("\n")
    with open(base_path + ".md", "w") as f:
        f.write(markdown(report, pairs))
    print("\nwritten: %s.json, %s.md" % (base_path, base_path))
    ok = report["takeover"]["passed"]
    if not ok:
        print("error: the takeover checks failed: %s" % report["takeover"]["checks"], file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
