#!/usr/bin/env python3
"""The register at scale, end to end over HTTP (issue 10's figures).

Starts a release `palisade serve` (and, with a PostgreSQL DATABASE_URL, a
`palisade worker` on RabbitMQ), fills one model with THREATS threats and
CONTROLS controls (control 0 covers 1 000 threats, the others 10 each),
then measures: one threat edit -> fresh register, an edit of control 0 ->
fresh register, a full recomputation, the first and a deep page sorted by
residual score; then fills PORTFOLIO_MODELS models of PORTFOLIO_THREATS
threats and measures the organisation-wide query. Seeding uses SEEDERS
connections at once. Loopback only; every loop is bounded.

    python3 benches/register_scale.py                      # embedded SQLite
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench \\
      python3 benches/register_scale.py                    # PostgreSQL + RabbitMQ
"""
import http.client, json, os, socket, statistics, subprocess, sys, tempfile, threading, time

THREATS = int(os.environ.get("THREATS", "100000"))
CONTROLS = int(os.environ.get("CONTROLS", "1000"))
PORTFOLIO_MODELS = int(os.environ.get("PORTFOLIO_MODELS", "10"))
PORTFOLIO_THREATS = int(os.environ.get("PORTFOLIO_THREATS", "10000"))
SEEDERS = int(os.environ.get("SEEDERS", "4"))
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release", "palisade")
METHODS = [
    {"method": "cvss31", "vector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"},
    {"method": "dread", "damage": 7, "reproducibility": 5, "exploitability": 5, "affected_users": 3, "discoverability": 9},
    {"method": "nist", "likelihood": "high", "impact": "moderate"},
    {"method": "cvss31", "vector": "CVSS:3.1/AV:L/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N"},
]


def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p


class Client:
    def __init__(self, port, key):
        self.port, self.key = port, key
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)

    def call(self, method, path, body=None):
        headers = {"Authorization": f"Bearer {self.key}", "Content-Type": "application/json"}
        payload = json.dumps(body) if body is not None else None
        try:
            self.conn.request(method, path, body=payload, headers=headers)
            r = self.conn.getresponse(); data = r.read()
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            # An idle keep-alive connection the server closed: open another.
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=300)
            self.conn.request(method, path, body=payload, headers=headers)
            r = self.conn.getresponse(); data = r.read()
        if r.status >= 300:
            raise SystemExit(f"{method} {path}: {r.status} {data[:300]}")
        return json.loads(data) if data else None

    def timed(self, path):
        start = time.perf_counter(); r = self.call("GET", path); return time.perf_counter() - start, r


def in_parallel(port, key, n, make):
    """Runs make(client, i) for i in 0..n over SEEDERS connections; results in order."""
    out = [None] * n
    def work(k):
        c = Client(port, key)
        try:
            for i in range(k, n, SEEDERS):
                out[i] = make(c, i)
        except BaseException as e:  # report, then let the caller fail
            print(f"seeding thread {k}: {e!r}", file=sys.stderr, flush=True)
    threads = [threading.Thread(target=work, args=(k,)) for k in range(SEEDERS)]
    for t in threads: t.start()
    for t in threads: t.join()
    if any(x is None for x in out):
        raise SystemExit("a seeding thread failed")
    return out


def seed_threats(port, key, model, n):
    return in_parallel(port, key, n, lambda c, i: c.call("POST", f"/api/v1/models/{model}/threats",
                       {"title": f"threat {i:06d}", "stride": "tampering", "assessment": METHODS[i % len(METHODS)]})["id"])


def wait_fresh(c, model, limit=1800):
    start = time.perf_counter()
    while time.perf_counter() - start < limit:
        r = c.call("GET", f"/api/v1/models/{model}/risks?limit=1")
        if not r["stale"] and r["computed_at"]:
            return time.perf_counter() - start
        time.sleep(0.02)
    raise SystemExit("register never became fresh")


def latencies(c, path, n=20):
    times = sorted(c.timed(path)[0] for _ in range(n))
    return f"median {statistics.median(times) * 1000:.1f} ms, max {times[-1] * 1000:.1f} ms"


def deep_cursor(c, path, rows):
    """The cursor after `rows` rows of `path`, walking pages of 500."""
    cursor = None
    sep = "&" if "?" in path else "?"
    walked = 0
    for _ in range(rows // 500):
        r = c.call("GET", f"{path}{sep}limit=500" + (f"&cursor={cursor}" if cursor else ""))
        if not r["next_cursor"]:
            break
        cursor, walked = r["next_cursor"], walked + 500
    return cursor, walked


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
        for _ in range(200):
            try:
                probe = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                probe.request("GET", "/healthz"); probe.getresponse().read(); break
            except OSError:
                time.sleep(0.05)
        key = subprocess.run([BIN, "keys", "create", "--org", f"bench{os.getpid()}", "--role", "owner"], env=env, cwd=work,
                             capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1]
        c = Client(port, key)
        print(f"mode: {'postgres+rabbitmq' if production else 'embedded sqlite'}; {THREATS} threats, {CONTROLS} controls", flush=True)

        model = c.call("POST", "/api/v1/models", {"name": "bench"})["id"]
        t0 = time.perf_counter()
        threats = seed_threats(port, key, model, THREATS)
        t1 = time.perf_counter()
        def control(cl, i):
            covered = threats[:1000] if i == 0 else threats[(i * 10) % THREATS:(i * 10) % THREATS + 10]
            return cl.call("POST", f"/api/v1/models/{model}/controls",
                           {"name": f"control {i}", "type": "preventive", "category": "technical", "status": "implemented",
                            "effectiveness": 10 + i % 80, "threat_ids": covered})["id"]
        controls = in_parallel(port, key, CONTROLS, control)
        t2 = time.perf_counter()
        caught_up = wait_fresh(c, model)
        print(f"seeded {THREATS} threats in {t1 - t0:.0f} s ({THREATS / (t1 - t0):.0f}/s), {CONTROLS} controls in {t2 - t1:.1f} s; "
              f"register fresh {caught_up:.1f} s after the last write", flush=True)

        def edit_to_fresh(method, path, body, n):
            times = []
            for k in range(n):
                start = time.perf_counter()
                c.call(method, path, body(k))
                wait_fresh(c, model)
                times.append(time.perf_counter() - start)
            return f"median {statistics.median(times):.2f} s (of {n}: {', '.join(f'{t:.2f}' for t in times)})"

        print("one threat edit -> fresh register:",
              edit_to_fresh("PATCH", f"/api/v1/models/{model}/threats/{threats[THREATS // 8 * 4]}",
                            lambda k: {"assessment": METHODS[3 if k % 2 == 0 else 0]}, 5), flush=True)
        print("control edit touching 1 000 threats -> fresh register:",
              edit_to_fresh("PATCH", f"/api/v1/models/{model}/controls/{controls[0]}",
                            lambda k: {"effectiveness": 20 + k * 10}, 3), flush=True)
        print("full recomputation -> fresh register:",
              edit_to_fresh("POST", f"/api/v1/models/{model}/risk-recomputations", lambda k: None, 2), flush=True)

        register = f"/api/v1/models/{model}/risks?sort=-residual_score"
        print(f"first page (50 rows, -residual_score): {latencies(c, register + '&limit=50')}", flush=True)
        cursor, walked = deep_cursor(c, register, THREATS // 2)
        print(f"page after {walked} rows (50 rows, -residual_score): {latencies(c, register + f'&limit=50&cursor={cursor}')}", flush=True)
        print(f"first page (50 rows, rank): {latencies(c, f'/api/v1/models/{model}/risks?limit=50')}", flush=True)

        if PORTFOLIO_MODELS:
            models = [c.call("POST", "/api/v1/models", {"name": f"portfolio {i}"})["id"] for i in range(PORTFOLIO_MODELS)]
            t0 = time.perf_counter()
            for m in models:
                seed_threats(port, key, m, PORTFOLIO_THREATS)
            for m in models:
                wait_fresh(c, m)
            print(f"portfolio: {PORTFOLIO_MODELS} models of {PORTFOLIO_THREATS} threats seeded in {time.perf_counter() - t0:.0f} s", flush=True)
            everything = "/api/v1/risks?severity=critical"
            print(f"portfolio first page (50 critical rows of {PORTFOLIO_MODELS * PORTFOLIO_THREATS + THREATS}): "
                  f"{latencies(c, everything + '&limit=50')}", flush=True)
            cursor, walked = deep_cursor(c, everything, 10000)
            print(f"portfolio page after {walked} critical rows: {latencies(c, everything + f'&limit=50&cursor={cursor}')}", flush=True)
            print(f"portfolio first page, every severity, rank: {latencies(c, '/api/v1/risks?sort=rank&limit=50')}", flush=True)
    finally:
        for p in procs:
            p.terminate(); p.wait(timeout=30)


if __name__ == "__main__":
    sys.exit(main())
