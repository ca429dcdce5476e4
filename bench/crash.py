"""Kill a writer with SIGKILL, 50 times: is the database intact and every acknowledged note kept?

Method. One notes.db and one acknowledgement log live in a temporary folder for the
whole run. Each round starts a writer process (this script with --writer) that opens
the database with app.connect(), rebuilds from the log which of its notes are live
(with body and version), prints "ready", then loops: create a note (70%), update a live
note (20%) or delete one (10%), with a unique body and, for update and delete, the
version it last saw. Before each call it appends an "intent" line to the log; only after
the call RETURNED does it append an "ack" line (note_id, body, returned version). Each
line is one os.write() on an O_APPEND file; an ack is then fsynced, so the log is never
ahead of the database. (An intent is not fsynced: a SIGKILL cannot undo a finished
write(), and skipping it lets more kills land inside the database call.)

The parent waits a random 0.05-1.0 s (seeded) after "ready" and sends SIGKILL. It then
opens the database with app.connect() (which recovers the WAL) and requires PRAGMA
integrity_check = "ok" and app.check_database() = []; and, replaying the log, every
acknowledged note must be in `notes` with its last acknowledged body and version, and
every acknowledged delete absent from `notes` and in `trash`. The one write in flight
(an intent without an ack) may or may not have happened: both outcomes are accepted
for that note alone, and the outcome is logged so that later rounds expect it. Any other
row (besides the welcome note #1) is a phantom. Prints a table, writes JSON (default
bench/results/crash.json) and exits 1 unless every kill leaves an intact database with
every acknowledged note. Run: python bench/crash.py [--kills 50 --seed 0]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import app

BENCH_DIR = Path(__file__).resolve().parent


def append(log: Path | int, record: dict, sync: bool = True) -> None:
    """Append one JSON line to the log (a path or an O_APPEND fd) in one write; fsync it."""
    fd = log if isinstance(log, int) else os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    os.write(fd, (json.dumps(record) + "\n").encode())
    if sync:
        os.fsync(fd)
    if fd is not log:
        os.close(fd)


def replay(log: Path) -> tuple[dict, dict, dict | None, int]:
    """Return (live, trashed, in-flight intent or None, acks); note_id -> [body, version]."""
    live: dict[int, list] = {}
    trashed: dict[int, list] = {}
    pending, acks = None, 0
    for line in log.read_text().splitlines() if log.exists() else []:
        rec = json.loads(line)
        pending = rec if rec["t"] == "intent" else None
        if rec["t"] == "ack":  # other lines: intent, error (nothing saved), kill
            acks += not rec.get("recovered")  # recovered: an in-flight write found applied
            if rec["op"] == "delete":
                trashed[rec["id"]] = live.pop(rec["id"])
            else:
                live[rec["id"]] = [rec["body"], rec["version"]]
    return live, trashed, pending, acks


def writer(args: argparse.Namespace) -> None:
    """Writer process: write notes and acknowledge each one until killed."""
    conn = app.connect(args.db)
    live = replay(Path(args.log))[0]
    fd = os.open(args.log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    rng = random.Random(args.seed * 100_003 + args.round)
    print("ready", flush=True)
    for n in range(10**9):
        roll = rng.random()
        op = "create" if roll < 0.7 or not live else ("update" if roll < 0.9 else "delete")
        note_id = rng.choice(list(live)) if op != "create" else None
        body = f"round {args.round} write {n} {op} #crash"
        append(fd, {"t": "intent", "op": op, "id": note_id, "body": body}, sync=False)
        try:
            if op == "create":
                note = app.NoteService.create_note(conn, "crash", body)
            elif op == "update":
                note = app.NoteService.update_note(
                    conn, note_id, "crash", body, version=live[note_id][1]
                )
            else:
                note = app.NoteService.delete_note(conn, note_id, version=live.pop(note_id)[1])
        except app.NotesError as error:
            append(fd, {"t": "error", "op": op, "id": note_id, "error": repr(error)})
            continue
        append(
            fd, {"t": "ack", "op": op, "id": note.id, "body": note.body, "version": note.version}
        )
        if op != "delete":
            live[note.id] = [note.body, note.version]


def verify(db: Path, log: Path) -> dict:
    """Check the database after a kill, log the in-flight write's outcome, return findings."""
    text = log.read_bytes()
    if not text.endswith(b"\n"):  # a line torn by the kill (never seen): it acked nothing
        os.truncate(log, text.rfind(b"\n") + 1)
    live, trashed, pending, acks = replay(log)
    conn = app.connect(db)
    integrity = [row[0] for row in conn.execute("PRAGMA integrity_check")]
    problems = app.check_database(conn).problems
    notes = {r: [b, v] for r, b, v in conn.execute("SELECT id, body, version FROM notes")}
    trash = {r: [b, v] for r, b, v in conn.execute("SELECT id, body, version FROM trash")}
    conn.close()
    missing = [r for r, state in live.items() if notes.get(r) != state]
    missing += [r for r, state in trashed.items() if r in notes or trash.get(r) != state]
    extra = sorted((set(notes) | set(trash)) - set(live) - set(trashed) - {1})
    done = None  # the in-flight write, as an ack, if the database shows that it happened
    op, note_id = (pending["op"], pending["id"]) if pending else (None, None)
    if op == "create":
        found = [r for r in extra if notes.get(r, [None])[0] == pending["body"]]
        if len(found) == 1:
            done = {"op": op, "id": found[0], "body": pending["body"], "version": 1}
            extra.remove(found[0])
    elif op and note_id in missing:
        body, version = live[note_id]
        if op == "update" and notes.get(note_id) == [pending["body"], version + 1]:
            done = {"op": op, "id": note_id, "body": pending["body"], "version": version + 1}
        elif op == "delete" and note_id not in notes and trash.get(note_id) == [body, version]:
            done = {"op": op, "id": note_id, "body": body, "version": version}
        if done:
            missing.remove(note_id)
    append(log, {"t": "ack", "recovered": True, **done} if done else {"t": "kill"})
    landed = "between writes" if not op else "in a write, " + ("applied" if done else "not applied")
    return {"integrity": integrity, "check_database": problems, "acks": acks,
            "checked": len(live) + len(trashed), "missing": missing, "phantoms": extra,
            "landed": landed}  # fmt: skip


def main(args: argparse.Namespace) -> int:
    rng = random.Random(args.seed)
    folder = Path(tempfile.mkdtemp(prefix="notes-crash-", dir=args.tmpdir))
    db, log = folder / "notes.db", folder / "acks.log"
    app.connect(db).close()
    argv = [sys.executable, __file__, "--writer", "--db", str(db), "--log", str(log)]
    rounds: list[dict] = []
    started = time.perf_counter()
    for n in range(args.kills):
        proc = subprocess.Popen(
            [*argv, "--round", str(n), "--seed", str(args.seed)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        ready = proc.stdout.readline().strip() == "ready"
        delay = rng.uniform(args.min_delay, args.max_delay)
        time.sleep(delay)
        alive = ready and proc.poll() is None
        proc.kill()  # SIGKILL
        stderr = proc.communicate()[1]
        r = verify(db, log)
        r.update(round=n, delay_s=round(delay, 3), killed_alive=alive)
        r["intact"] = r["integrity"] == ["ok"] and not r["check_database"]
        r["kept"] = r["intact"] and alive and not r["missing"] and not r["phantoms"]
        if not alive:
            r["writer_stderr"] = stderr[-1000:]
        rounds.append(r)
        if not r["kept"] or args.verbose:
            print(f"round {n}: {json.dumps(r)[:600]}", file=sys.stderr)
    wall = time.perf_counter() - started
    lines = log.read_text().splitlines()
    report = {
        "kills": len(rounds), "seed": args.seed, "delay_s": [args.min_delay, args.max_delay],
        "wall_s": wall, "intact_databases": sum(r["intact"] for r in rounds),
        "kills_with_every_ack_kept": sum(r["kept"] for r in rounds),
        "acknowledged_writes": rounds[-1]["acks"] if rounds else 0,
        "acknowledged_notes_checked": sum(r["checked"] for r in rounds),
        "missing_acknowledged_notes": sum(len(r["missing"]) for r in rounds),
        "phantom_notes": sum(len(r["phantoms"]) for r in rounds),
        "writer_errors": sum('"t": "error"' in line for line in lines),
        "writers_dead_before_kill": sum(not r["killed_alive"] for r in rounds),
        "landed": {k: sum(r["landed"] == k for r in rounds)
                   for k in ("between writes", "in a write, not applied", "in a write, applied")},
        "rounds": rounds,
    }  # fmt: skip
    ok = args.kills > 0 and report["kills_with_every_ack_kept"] == args.kills
    report["pass"] = ok
    k = args.kills
    rows = [
        ("kills", report["kills"], k),
        ("intact databases (integrity_check ok, check_database empty)",
         report["intact_databases"], k),
        ("kills after which every acknowledged note was kept",
         report["kills_with_every_ack_kept"], k),
        ("acknowledged writes (all rounds)", f"{report['acknowledged_writes']:,}", ""),
        ("acknowledged notes checked (summed over kills)",
         f"{report['acknowledged_notes_checked']:,}", ""),
        ("missing acknowledged notes", report["missing_acknowledged_notes"], 0),
        ("phantom notes", report["phantom_notes"], 0),
        ("kill landed: " + " / ".join(report["landed"]),
         " / ".join(map(str, report["landed"].values())), "any"),
        ("writer errors / writers dead before the kill",
         f"{report['writer_errors']} / {report['writers_dead_before_kill']}", "0 / 0"),
        ("wall time", f"{wall:.1f} s", ""),
    ]  # fmt: skip
    print(f"\n## Crash: {k} SIGKILLs of a writer, one notes.db\n")
    print("| metric | value | target |\n|---|---|---|")
    for row in rows:
        print("| " + " | ".join(map(str, row)) + " |")
    print(f"\nresult: {'PASS' if ok else 'FAIL'}")
    if args.keep or not ok:
        print(f"kept {folder}")
    else:
        shutil.rmtree(folder)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0 if ok else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kills", type=int, default=50)
    parser.add_argument("--min-delay", type=float, default=0.05, help="seconds after ready")
    parser.add_argument("--max-delay", type=float, default=1.0, help="seconds after ready")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tmpdir", help="folder for the temporary database (default: system)")
    parser.add_argument("--keep", action="store_true", help="keep the database and the log")
    parser.add_argument("--verbose", action="store_true", help="print each round")
    parser.add_argument("--out", default=str(BENCH_DIR / "results" / "crash.json"))
    parser.add_argument("--writer", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    parser.add_argument("--log", help=argparse.SUPPRESS)
    parser.add_argument("--round", type=int, default=0, help=argparse.SUPPRESS)
    parsed = parser.parse_args()
    if parsed.writer:
        writer(parsed)
    else:
        sys.exit(main(parsed))
