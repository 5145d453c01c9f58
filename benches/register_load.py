#!/usr/bin/env python3
"""Register freshness and worker throughput, end to end over HTTP.

Starts a release `palisade serve` (and, with a PostgreSQL DATABASE_URL, a
`palisade worker` on RabbitMQ), fills one model with THREATS threats and
CONTROLS controls, then measures the time from the last edit to a fresh
register, and the worker's throughput on MODELS small models recomputed at
once. Loopback only; every loop is bounded.

    python3 benches/register_load.py                       # embedded SQLite
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench \\
      python3 benches/register_load.py                     # PostgreSQL + RabbitMQ
"""
import http.client, json, os, socket, subprocess, sys, tempfile, time

THREATS = int(os.environ.get("THREATS", "10000"))
CONTROLS = int(os.environ.get("CONTROLS", "1000"))
MODELS = int(os.environ.get("MODELS", "50"))
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release", "palisade")


def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p


def main():
    subprocess.run(["cargo", "build", "--release", "-q", "--bin", "palisade"], cwd=ROOT, check=True)
    work = tempfile.mkdtemp()
    port = free_port()
    env = dict(os.environ, PALISADE_BIND=f"127.0.0.1:{port}", PALISADE_LOG="warn",
               PALISADE_QUEUE_PREFIX=f"bench-{os.getpid()}")
    env.setdefault("DATABASE_URL", os.path.join(work, "palisade.db"))
    production = env["DATABASE_URL"].startswith("postgres")
    if production:
        env.setdefault("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2f")
        subprocess.run([BIN, "migrate"], env=env, check=True, capture_output=True)
    procs = [subprocess.Popen([BIN, "serve"], env=env, cwd=work, stderr=subprocess.DEVNULL)]
    if production:
        procs.append(subprocess.Popen([BIN, "worker"], env=env, cwd=work, stderr=subprocess.DEVNULL))
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        for _ in range(200):
            try:
                conn.request("GET", "/healthz"); conn.getresponse().read(); break
            except OSError:
                time.sleep(0.05); conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        key = subprocess.run([BIN, "keys", "create", "--org", f"bench{os.getpid()}", "--role", "owner"], env=env, cwd=work,
                             capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1]
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}

        def call(method, path, body=None):
            conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
            r = conn.getresponse(); data = r.read()
            if r.status >= 300:
                raise SystemExit(f"{method} {path}: {r.status} {data[:200]}")
            return json.loads(data) if data else None

        def wait_fresh(model, limit=600):
            start = time.time()
            while time.time() - start < limit:
                r = call("GET", f"/api/v1/models/{model}/risks")
                if not r["stale"] and r["computed_at"]:
                    return r
                time.sleep(0.05)
            raise SystemExit("register never became fresh")

        model = call("POST", "/api/v1/models", {"name": "bench"})["id"]
        methods = [
            {"method": "cvss31", "vector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"},
            {"method": "dread", "damage": 7, "reproducibility": 5, "exploitability": 5, "affected_users": 3, "discoverability": 9},
            {"method": "nist", "likelihood": "high", "impact": "moderate"},
        ]
        t0 = time.time()
        threat_ids = [call("POST", f"/api/v1/models/{model}/threats",
                           {"title": f"threat {i}", "stride": "tampering", "assessment": methods[i % 3]})["id"] for i in range(THREATS)]
        t1 = time.time()
        control_ids = [call("POST", f"/api/v1/models/{model}/controls",
                            {"name": f"control {i}", "type": "preventive", "category": "technical", "status": "implemented",
                             "effectiveness": i % 100, "threat_ids": threat_ids[(i * 10) % THREATS:(i * 10) % THREATS + 10]})["id"]
                       for i in range(CONTROLS)]
        t2 = time.time()
        wait_fresh(model)
        edit = time.time()
        call("PATCH", f"/api/v1/models/{model}/controls/{control_ids[0]}", {"effectiveness": 77})
        reg = wait_fresh(model)
        fresh_after = time.time() - edit
        print(f"mode: {'postgres+rabbitmq' if production else 'embedded sqlite'}")
        print(f"created {THREATS} threats in {t1 - t0:.1f} s ({THREATS / (t1 - t0):.0f}/s), {CONTROLS} controls in {t2 - t1:.1f} s")
        print(f"last edit -> fresh register of {THREATS} rows: {fresh_after:.2f} s (first page {len(reg['items'])} rows)")

        small = [call("POST", "/api/v1/models", {"name": f"m{i}"})["id"] for i in range(MODELS)]
        for m in small:
            for i in range(10):
                call("POST", f"/api/v1/models/{m}/threats", {"title": f"t{i}", "stride": "spoofing", "assessment": methods[i % 3]})
        for m in small:
            wait_fresh(m)
        start = time.time()
        for m in small:
            call("POST", f"/api/v1/models/{m}/risk-recomputations")
        for m in small:
            wait_fresh(m)
        took = time.time() - start
        print(f"worker throughput: {MODELS} recompute_risk jobs (10 threats each) in {took:.2f} s = {MODELS / took:.0f} jobs/s")
    finally:
        for p in procs:
            p.terminate(); p.wait(timeout=30)


if __name__ == "__main__":
    sys.exit(main())
