#!/usr/bin/env python3
"""Step 5's figure: the time from a treatment transition to a fresh register
on a model of THREATS threats (issue 11), end to end over HTTP.

Starts a release `palisade serve` (and, with a PostgreSQL DATABASE_URL, a
`palisade worker` on RabbitMQ), seeds THREATS threats over SEEDERS
connections, waits for the register, then for ROUNDS avoid treatments on
threats spread over the model: moves each proposed → approved →
in_progress → done, and times the last move (done: the row drops to 0) to
the register answering `stale: false` with that row at 0. Loopback only.

    python3 benches/treatment_latency.py                      # embedded SQLite
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench \\
      python3 benches/treatment_latency.py                    # PostgreSQL + RabbitMQ
"""
import os, statistics, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import register_scale as rs  # noqa: E402  (the same client, seeding and waiting)

THREATS = int(os.environ.get("THREATS", "10000"))
ROUNDS = int(os.environ.get("ROUNDS", "7"))


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
        t0 = time.perf_counter()
        threats = rs.seed_threats(port, key, model, THREATS)
        rs.wait_fresh(c, model)
        print(f"mode: {'postgres+rabbitmq' if production else 'embedded sqlite'}; "
              f"{THREATS} threats seeded and scored in {time.perf_counter() - t0:.0f} s", flush=True)
        base = f"/api/v1/models/{model}"
        times = []
        for k in range(ROUNDS):
            threat = threats[(k * 997) % THREATS]
            t = c.call("POST", f"{base}/treatments",
                       {"threat_id": threat, "strategy": "avoid", "removed": "the feature", "owner": "bench"})["id"]
            for to in ["approved", "in_progress"]:
                c.call("POST", f"{base}/treatments/{t}/transitions", {"to": to})
            rs.wait_fresh(c, model)
            start = time.perf_counter()
            c.call("POST", f"{base}/treatments/{t}/transitions", {"to": "done"})
            while True:
                r = c.call("GET", f"{base}/risks?limit=1&status=avoided&count=true")
                if not r["stale"] and r["total"] == k + 1:
                    break
                time.sleep(0.01)
            times.append(time.perf_counter() - start)
        print(f"transition to done -> fresh register with the row at 0: median {statistics.median(times):.3f} s "
              f"(of {ROUNDS}: {', '.join(f'{x:.3f}' for x in times)})", flush=True)
    finally:
        for p in procs:
            p.terminate(); p.wait(timeout=30)


if __name__ == "__main__":
    sys.exit(main())
