#!/usr/bin/env python3
"""Step 6's figures (issue 12): snapshot, diff and report generation for a
model of THREATS threats, end to end over HTTP.

Starts a release `palisade serve` (and, with a PostgreSQL DATABASE_URL, a
`palisade worker` on RabbitMQ), fills one model with THREATS threats,
CONTROLS controls (each covering 10 threats), TREATMENTS treatments and
ENTRIES evaluation entries, then measures: a version (POST …/versions), a
version read, a second version after EDITS threat edits, the diff between
the two and against the present, and for each format a report of the
second version from POST to `succeeded` (polled every 20 ms), with the size
of each file; then all three formats in one job. Loopback only.

    python3 benches/report_scale.py                      # embedded SQLite
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench \\
      python3 benches/report_scale.py                    # PostgreSQL + RabbitMQ
"""
import os, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import register_scale as rs  # noqa: E402  (the same client, seeding and waiting)

THREATS = int(os.environ.get("THREATS", "10000"))
CONTROLS = int(os.environ.get("CONTROLS", "1000"))
TREATMENTS = int(os.environ.get("TREATMENTS", "1000"))
ENTRIES = int(os.environ.get("ENTRIES", "200"))
EDITS = int(os.environ.get("EDITS", "100"))


def until_succeeded(c, url, limit=1800):
    deadline = time.perf_counter() + limit
    while time.perf_counter() < deadline:
        r = c.call("GET", url)
        if r["status"] == "succeeded":
            return r
        if r["status"] == "failed":
            raise SystemExit(f"report failed: {r}")
        time.sleep(0.02)
    raise SystemExit("report not rendered in time")


def main():
    subprocess.run(["cargo", "build", "--release", "-q", "--bin", "palisade"], cwd=rs.ROOT, check=True)
    work = tempfile.mkdtemp()
    port = rs.free_port()
    env = dict(os.environ, PALISADE_BIND=f"127.0.0.1:{port}", PALISADE_LOG="warn",
               PALISADE_QUEUE_PREFIX=f"bench-{os.getpid()}")
    env.setdefault("DATABASE_URL", os.path.join(work, "palisade.db"))
    production = env["DATABASE_URL"].startswith("postgres")
    if production:
        env.setdefault("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2f")
        subprocess.run([rs.BIN, "migrate"], env=env, check=True, capture_output=True)
    procs = [subprocess.Popen([rs.BIN, "serve"], env=env, cwd=work, stderr=subprocess.DEVNULL)]
    if production:
        procs.append(subprocess.Popen([rs.BIN, "worker"], env=env, cwd=work, stderr=subprocess.DEVNULL))
    try:
        time.sleep(1.5)
        key = subprocess.run([rs.BIN, "keys", "create", "--org", f"bench{os.getpid()}", "--role", "owner"],
                             env=env, cwd=work, capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1]
        c = rs.Client(port, key)
        model = c.call("POST", "/api/v1/models", {"name": "bench"})["id"]
        base = f"/api/v1/models/{model}"
        t0 = time.perf_counter()
        threats = rs.seed_threats(port, key, model, THREATS)
        controls = rs.in_parallel(port, key, CONTROLS, lambda cl, i: cl.call("POST", f"{base}/controls", {
            "name": f"control {i:05d}", "type": "preventive", "category": "technical",
            "status": ["implemented", "partial", "planned"][i % 3], "effectiveness": 50,
            "threat_ids": threats[(i * 10) % THREATS:(i * 10) % THREATS + 10]})["id"])
        treatments = rs.in_parallel(port, key, TREATMENTS, lambda cl, i: cl.call("POST", f"{base}/treatments", {
            "threat_id": threats[(i * 7) % THREATS], "strategy": "reduce", "owner": "bench",
            "due_date": "2030-01-01", "control_ids": [controls[i % CONTROLS]]})["id"])
        rs.in_parallel(port, key, ENTRIES, lambda cl, i: cl.call("POST", f"{base}/evaluation-entries", {
            "kind": ["finding", "success", "lesson_learned"][i % 3], "text": f"entry {i}: " + "words " * 30,
            "author": "bench", "date": "2026-12-01", "tags": ["bench"], "threat_ids": [threats[i]]})["id"])
        rs.wait_fresh(c, model)
        print(f"mode: {'postgres+rabbitmq' if production else 'embedded sqlite'}; {THREATS} threats, "
              f"{CONTROLS} controls, {len(treatments)} treatments, {ENTRIES} entries seeded and scored "
              f"in {time.perf_counter() - t0:.0f} s", flush=True)

        start = time.perf_counter()
        v1 = c.call("POST", f"{base}/versions", {"label": "v1"})
        snap = time.perf_counter() - start
        read, _ = c.timed(f"{base}/versions/{v1['id']}")
        print(f"version: {snap:.2f} s to take, {read:.2f} s to read; document {v1['document_bytes'] / 1e6:.1f} MB", flush=True)

        for i in range(EDITS):
            c.call("PATCH", f"{base}/threats/{threats[(i * 97) % THREATS]}", {"title": f"edited {i}"})
        for i in range(10):
            c.call("PATCH", f"{base}/controls/{controls[i]}", {"status": "implemented", "effectiveness": 90})
        rs.wait_fresh(c, model)
        v2 = c.call("POST", f"{base}/versions", {"label": "v2"})
        between, d = c.timed(f"{base}/diff?from={v1['id']}&to={v2['id']}")
        changed = sum(len(r["changed"]) for r in d["resources"])
        now, _ = c.timed(f"{base}/diff?from={v1['id']}")
        print(f"diff v1 → v2: {between:.2f} s ({changed} changed records, {len(d['risk_movements'])} risk movements); "
              f"v1 → current (snapshot included): {now:.2f} s", flush=True)

        for formats in (["json"], ["markdown"], ["html"], ["json", "markdown", "html"]):
            start = time.perf_counter()
            r = c.call("POST", f"{base}/reports", {"formats": formats, "version_id": v2["id"]})
            done = until_succeeded(c, f"{base}/reports/{r['id']}")
            took = time.perf_counter() - start
            sizes = ", ".join(f"{f['format']} {f['bytes'] / 1e6:.2f} MB" for f in done["files"])
            print(f"report {'+'.join(formats)}: {took:.2f} s to succeeded; {sizes}", flush=True)
        start = time.perf_counter()
        r = c.call("POST", f"{base}/reports", {"formats": ["html"]})
        until_succeeded(c, f"{base}/reports/{r['id']}")
        print(f"report html without a version (the job snapshots first): {time.perf_counter() - start:.2f} s", flush=True)
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait()


if __name__ == "__main__":
    main()
