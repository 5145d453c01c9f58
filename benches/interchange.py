#!/usr/bin/env python3
"""Interchange at scale, end to end over HTTP (issue 14's figures).

Generates an Open Threat Model file of COMPONENTS components in ZONES
trust zones, 2 x COMPONENTS dataflows, THREATS threats (each on one
component and one dataflow, with one of MITIGATIONS mitigations) and
imports it into a fresh release `palisade serve` (with a PostgreSQL
DATABASE_URL, also a `palisade worker` on RabbitMQ). Measures the import,
the server's peak resident memory (VmHWM) before and after, the time
until the register is fresh (computed once for the whole model), the
export as OTM and as our own document, and the re-import of that
document. Loopback only; every wait is bounded.

    python3 benches/interchange.py                      # embedded SQLite
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench \\
      python3 benches/interchange.py                    # PostgreSQL + RabbitMQ
"""
import http.client, json, os, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import register_scale as rs  # noqa: E402  (the shared client and server helpers)

COMPONENTS = int(os.environ.get("COMPONENTS", "10000"))
THREATS = int(os.environ.get("THREATS", "10000"))
MITIGATIONS = int(os.environ.get("MITIGATIONS", "1000"))
ZONES = int(os.environ.get("ZONES", "10"))
# Another build (a debug one, for a quick check) instead of building release.
BIN = os.environ.get("PALISADE_BIN", rs.BIN)
TYPES = ["web-service", "database", "web-client", "queue", "code-class", "lambda"]


def generate():
    zones = [{"id": f"z{i}", "name": f"Zone {i}", "type": "network", "risk": {"trustRating": (i * 10) % 101}}
             for i in range(ZONES)]
    comps = [{"id": f"c{i}", "name": f"Component {i}", "type": TYPES[i % len(TYPES)],
              "parent": {"trustZone": f"z{i % ZONES}"}, "tags": ["generated"], "threats": []}
             for i in range(COMPONENTS)]
    flows = [{"id": f"f{i}", "name": f"Flow {i}", "source": f"c{i % COMPONENTS}",
              "destination": f"c{(i * 7 + 1) % COMPONENTS}", "bidirectional": False, "threats": []}
             for i in range(2 * COMPONENTS)]
    threats = [{"id": f"t{i}", "name": f"Threat {i}", "categories": ["Tampering"],
                "risk": {"likelihood": [20, 50, 80][i % 3], "impact": [50, 80, 100][i % 3]}}
               for i in range(THREATS)]
    mitigations = [{"id": f"m{i}", "name": f"Mitigation {i}", "riskReduction": 20 + i % 60}
                   for i in range(MITIGATIONS)]
    for i in range(THREATS):
        inst = {"threat": f"t{i}", "state": "exposed",
                "mitigations": [{"mitigation": f"m{i % MITIGATIONS}", "state": "required"}]}
        comps[i % COMPONENTS]["threats"].append(inst)
        flows[(2 * i) % len(flows)]["threats"].append(dict(inst, mitigations=[]))
    return json.dumps({"otmVersion": "0.2.0", "project": {"name": "generated", "id": "gen"},
                       "trustZones": zones, "components": comps, "dataflows": flows,
                       "threats": threats, "mitigations": mitigations}).encode()


def peak_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def post_raw(port, key, path, body, content_type="application/json"):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1800)
    start = time.perf_counter()
    conn.request("POST", path, body=body, headers={"Authorization": f"Bearer {key}", "Content-Type": content_type})
    r = conn.getresponse(); data = r.read()
    took = time.perf_counter() - start
    if r.status != 201:
        raise SystemExit(f"POST {path}: {r.status} {data[:500]}")
    return took, json.loads(data)


def get_raw(port, key, path):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1800)
    start = time.perf_counter()
    conn.request("GET", path, headers={"Authorization": f"Bearer {key}"})
    r = conn.getresponse(); data = r.read()
    took = time.perf_counter() - start
    if r.status != 200:
        raise SystemExit(f"GET {path}: {r.status} {data[:300]}")
    return took, data


def main():
    if "PALISADE_BIN" not in os.environ:
        subprocess.run(["cargo", "build", "--release", "-q", "--bin", "palisade"], cwd=rs.ROOT, check=True)
    body = generate()
    work = tempfile.mkdtemp()
    port = rs.free_port()
    env = dict(os.environ, PALISADE_BIND=f"127.0.0.1:{port}", PALISADE_LOG="warn",
               PALISADE_QUEUE_PREFIX=f"bench-{os.getpid()}", PALISADE_MAX_IMPORT=str(256 * 1024 * 1024))
    env.setdefault("DATABASE_URL", os.path.join(work, "palisade.db"))
    production = env["DATABASE_URL"].startswith("postgres")
    if production:
        env.setdefault("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2f")
        subprocess.run([BIN, "migrate"], env=env, check=True, capture_output=True)
    serve = subprocess.Popen([BIN, "serve"], env=env, cwd=work, stderr=subprocess.DEVNULL)
    procs = [serve]
    if production:
        procs.append(subprocess.Popen([BIN, "worker"], env=env, cwd=work, stderr=subprocess.DEVNULL))
    try:
        for _ in range(200):
            try:
                probe = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                probe.request("GET", "/healthz"); probe.getresponse().read(); break
            except OSError:
                time.sleep(0.05)
        key = subprocess.run([BIN, "keys", "create", "--org", f"bench{os.getpid()}", "--role", "owner"], env=env,
                             cwd=work, capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1]
        c = rs.Client(port, key)
        mode = "postgres+rabbitmq" if production else "embedded sqlite"
        print(f"mode: {mode}; OTM of {COMPONENTS} components, {2 * COMPONENTS} dataflows, {THREATS} threats, "
              f"{MITIGATIONS} mitigations: {len(body) / 1e6:.1f} MB", flush=True)
        before = peak_kib(serve.pid)
        took, result = post_raw(port, key, "/api/v1/models/import?format=otm", body)
        model = result["model"]["id"]
        counts = result["report"]["counts"]
        print(f"import otm: {took:.2f} s -> {counts['assets']} assets, {counts['interactions']} interactions, "
              f"{counts['threats']} threats, {counts['controls']} controls, {counts['treatments']} treatments; "
              f"server peak RSS {before / 1024:.0f} MiB before, {peak_kib(serve.pid) / 1024:.0f} MiB after", flush=True)
        fresh = rs.wait_fresh(c, model)
        jobs = c.call("GET", f"/api/v1/models/{model}/risks?limit=1")
        print(f"register fresh {fresh:.2f} s after the import answered ({jobs['computed_at']})", flush=True)
        took, otm = get_raw(port, key, f"/api/v1/models/{model}/export?format=otm")
        print(f"export otm: {took:.2f} s, {len(otm) / 1e6:.1f} MB", flush=True)
        took, doc = get_raw(port, key, f"/api/v1/models/{model}/export?format=json")
        print(f"export json: {took:.2f} s, {len(doc) / 1e6:.1f} MB; server peak RSS {peak_kib(serve.pid) / 1024:.0f} MiB",
              flush=True)
        took, result = post_raw(port, key, "/api/v1/models/import?format=json", doc)
        print(f"import json (the exported document): {took:.2f} s; server peak RSS {peak_kib(serve.pid) / 1024:.0f} MiB",
              flush=True)
        fresh = rs.wait_fresh(c, result["model"]["id"])
        print(f"register of the copy fresh {fresh:.2f} s after", flush=True)
    finally:
        for p in procs:
            p.terminate()
            p.wait(timeout=30)


if __name__ == "__main__":
    main()
