#!/usr/bin/env python3
"""Issue 13's figures, end to end over HTTP on loopback:

1. the inbound receiver: N signed GitHub webhooks (`X-Hub-Signature-256`)
   about an untracked ticket (verify, dedup insert, answer `ignored`), then
   the same N again (answered `duplicate`), over CLIENTS connections:
   requests/s and latency percentiles;
2. a tracked ticket closed: the time from the webhook to the treatment
   being `done` (ROUNDS times);
3. outbound: the time from a model's PATCH to a local receiver getting the
   signed `model.updated` delivery (ROUNDS times), and EVENTS patches in a
   burst until the last one arrives (deliveries/s, in order per model).

Starts a release `palisade serve` (and, with a PostgreSQL DATABASE_URL, a
`palisade worker` on RabbitMQ) with PALISADE_OUTBOUND_ALLOW_PRIVATE=true, so
that the receiver on 127.0.0.1 may be reached. Loopback only.

    python3 benches/webhook_load.py                      # embedded SQLite
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench \\
      python3 benches/webhook_load.py                    # PostgreSQL + RabbitMQ
"""
import hashlib, hmac, http.client, http.server, json, os, statistics, subprocess, sys, tempfile
import threading, time, uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import register_scale as rs  # noqa: E402  (the same client and binary)

N = int(os.environ.get("N", "2000"))
CLIENTS = int(os.environ.get("CLIENTS", "4"))
ROUNDS = int(os.environ.get("ROUNDS", "10"))
EVENTS = int(os.environ.get("EVENTS", "200"))
SECRET = "bench-webhook-secret-0123456789"


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p))]


def post_webhook(conn, integration, delivery, body):
    sig = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    conn.request("POST", f"/api/v1/integrations/{integration}/webhook", body=body, headers={
        "Content-Type": "application/json", "X-GitHub-Event": "issues",
        "X-GitHub-Delivery": delivery, "X-Hub-Signature-256": sig})
    r = conn.getresponse()
    data = r.read()
    return r.status, json.loads(data)


def burst(port, integration, bodies):
    """Posts (delivery, body) pairs over CLIENTS connections; returns latencies and statuses."""
    latencies, statuses, lock = [], {}, threading.Lock()
    chunks = [bodies[i::CLIENTS] for i in range(CLIENTS)]

    def run(chunk):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        for delivery, body in chunk:
            t = time.perf_counter()
            status, answer = post_webhook(conn, integration, delivery, body)
            dt = time.perf_counter() - t
            with lock:
                latencies.append(dt)
                statuses[answer["status"]] = statuses.get(answer["status"], 0) + 1
    threads = [threading.Thread(target=run, args=(c,)) for c in chunks]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - start, latencies, statuses


class Sink(http.server.BaseHTTPRequestHandler):
    got = []
    lock = threading.Lock()

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        with Sink.lock:
            Sink.got.append((time.perf_counter(), json.loads(body)))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def main():
    subprocess.run(["cargo", "build", "--release", "-q", "--bin", "palisade"], cwd=rs.ROOT, check=True)
    work = tempfile.mkdtemp()
    port = rs.free_port()
    env = dict(os.environ, PALISADE_BIND=f"127.0.0.1:{port}", PALISADE_LOG="warn",
               PALISADE_QUEUE_PREFIX=f"bench-{os.getpid()}", PALISADE_OUTBOUND_ALLOW_PRIVATE="true")
    env.setdefault("DATABASE_URL", os.path.join(work, "palisade.db"))
    production = env["DATABASE_URL"].startswith("postgres")
    if production:
        env.setdefault("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2f")
        env.setdefault("PALISADE_SECRET_KEY", "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=")
        subprocess.run([rs.BIN, "migrate"], env=env, check=True, capture_output=True)
    procs = [subprocess.Popen([rs.BIN, "serve"], env=env, cwd=work, stderr=subprocess.DEVNULL)]
    if production:
        procs.append(subprocess.Popen([rs.BIN, "worker"], env=env, cwd=work, stderr=subprocess.DEVNULL))
    sink = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Sink)
    threading.Thread(target=sink.serve_forever, daemon=True).start()
    try:
        time.sleep(1.5)
        key = subprocess.run([rs.BIN, "keys", "create", "--org", f"bench{os.getpid()}", "--role", "owner"],
                             env=env, cwd=work, capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1]
        c = rs.Client(port, key)
        mode = "postgres+rabbitmq" if production else "embedded sqlite"
        integration = c.call("POST", "/api/v1/integrations",
                             {"kind": "github", "name": "bench", "secret": SECRET})["id"]

        # 1. Receiver throughput: ignored, then duplicates.
        def closed(repo, number):
            return json.dumps({"action": "closed", "repository": {"full_name": repo},
                               "issue": {"number": number, "state": "closed", "state_reason": "completed"}}).encode()
        bodies = [(str(uuid.uuid4()), closed("bench/untracked", i)) for i in range(N)]
        for label, batch in [("new (ignored)", bodies), ("replayed (duplicate)", bodies)]:
            took, lat, statuses = burst(port, integration, batch)
            print(f"{mode}: {N} webhooks {label} over {CLIENTS} connections in {took:.2f} s = "
                  f"{N / took:.0f}/s; p50 {pct(lat, .5) * 1000:.1f} ms, p99 {pct(lat, .99) * 1000:.1f} ms; {statuses}",
                  flush=True)

        # 2. A tracked ticket closed → treatment done.
        model = c.call("POST", "/api/v1/models", {"name": "bench"})["id"]
        base = f"/api/v1/models/{model}"
        times = []
        for k in range(ROUNDS):
            threat = c.call("POST", f"{base}/threats", {"title": f"t{k}", "stride": "tampering",
                            "assessment": {"method": "nist", "likelihood": "high", "impact": "high"}})["id"]
            t = c.call("POST", f"{base}/treatments", {"threat_id": threat, "strategy": "avoid", "removed": "x",
                       "owner": "bench", "ticket": {"system": "github", "key": f"bench/tracked#{k}"}})["id"]
            c.call("POST", f"{base}/treatments/{t}/transitions", {"to": "approved"})
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            start = time.perf_counter()
            status, answer = post_webhook(conn, integration, str(uuid.uuid4()), closed("bench/tracked", k))
            assert answer["status"] == "accepted", answer
            while c.call("GET", f"{base}/treatments/{t}")["status"] != "done":
                time.sleep(0.005)
            times.append(time.perf_counter() - start)
        print(f"{mode}: webhook → treatment done (two moves, audited), {ROUNDS} rounds: "
              f"median {statistics.median(times) * 1000:.0f} ms, max {max(times) * 1000:.0f} ms", flush=True)

        # 3. Outbound: PATCH → delivery, then a burst.
        c.call("POST", "/api/v1/webhook-subscriptions",
               {"url": f"http://127.0.0.1:{sink.server_address[1]}/hook", "events": ["model.updated"]})
        times = []
        for k in range(ROUNDS):
            n = len(Sink.got)
            start = time.perf_counter()
            c.call("PATCH", base, {"description": f"round {k}"})
            while len(Sink.got) <= n:
                time.sleep(0.002)
            times.append(Sink.got[n][0] - start)
        print(f"{mode}: model PATCH → signed delivery received, {ROUNDS} rounds: "
              f"median {statistics.median(times) * 1000:.0f} ms, max {max(times) * 1000:.0f} ms", flush=True)
        n = len(Sink.got)
        start = time.perf_counter()
        for k in range(EVENTS):
            c.call("PATCH", base, {"description": f"burst {k}"})
        sent = time.perf_counter() - start
        while len(Sink.got) < n + EVENTS:
            time.sleep(0.01)
        took = time.perf_counter() - start
        order = [b["data"]["model"]["description"] for _, b in Sink.got[n:]]
        in_order = order == [f"burst {k}" for k in range(EVENTS)]
        print(f"{mode}: {EVENTS} PATCHes in {sent:.2f} s, all {EVENTS} deliveries in {took:.2f} s = "
              f"{EVENTS / took:.0f}/s (one lane, one at a time); in order: {in_order}", flush=True)
    finally:
        for p in procs:
            p.terminate()
        sink.shutdown()


if __name__ == "__main__":
    main()
