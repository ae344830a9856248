"""``chatter-agent``: enroll, run, status, pause, resume."""

from __future__ import annotations

import argparse
import json
import logging
import logging.handlers
import os
import platform
import signal
import socket
import sys
from pathlib import Path

from agent import __version__, paths
from agent.config import (
    AgentConfig,
    DeviceKey,
    NotEnrolled,
    load_config,
    load_key,
    save_config,
    save_key,
)


def _read_token(args: argparse.Namespace) -> str:
    """From --token-file, standard input, or CHATTER_ENROLL_TOKEN; never from argv."""
    if args.token_file:
        source = sys.stdin.read() if args.token_file == "-" else Path(args.token_file).read_text()
    elif os.environ.get("CHATTER_ENROLL_TOKEN"):
        source = os.environ["CHATTER_ENROLL_TOKEN"]
    elif not sys.stdin.isatty():
        source = sys.stdin.read()
    else:
        raise SystemExit(
            "chatter-agent: give the enrollment token with --token-file FILE, on standard "
            "input, or in CHATTER_ENROLL_TOKEN (never on the command line)"
        )
    token = source.strip()
    if not token:
        raise SystemExit("chatter-agent: the enrollment token is empty")
    return token


def cmd_enroll(args: argparse.Namespace) -> int:
    import time

    from agent.client import CollectorClient, EnrollError

    if args.token is not None:
        print(
            "chatter-agent: refusing --token: a token on the command line shows in the process "
            "list and shell history. Use --token-file FILE, standard input, or "
            "CHATTER_ENROLL_TOKEN. That token is exposed now: ask IT for a new one.",
            file=sys.stderr,
        )
        return 2
    if paths.config_file().exists() and not args.force:
        print(
            f"chatter-agent: already enrolled ({paths.config_file()}); use --force to "
            "enroll this computer again as a new device",
            file=sys.stderr,
        )
        return 1
    token = _read_token(args)
    client = CollectorClient(args.server)
    try:
        sent = time.time()
        reply = client.enroll(
            token, socket.gethostname(), f"{platform.system()}-{platform.release()}"
        )
        received = time.time()
    except EnrollError as exc:
        print(f"chatter-agent: enrollment refused: {exc}", file=sys.stderr)
        return 1
    finally:
        client.close()
    offset = reply.server_time.timestamp() - (sent + received) / 2
    save_key(DeviceKey(key_id=reply.key_id, secret=reply.secret))
    save_config(
        AgentConfig(
            server=args.server,
            device_id=reply.device_id,
            settings=reply.settings,
            clock_offset=round(offset, 3),
        )
    )
    print(f"enrolled as device {reply.device_id} with {args.server}")
    return 0


def _setup_logging(verbose: bool) -> None:
    paths.log_dir().mkdir(parents=True, exist_ok=True)
    handler = logging.handlers.RotatingFileHandler(
        paths.log_file(), maxBytes=1 << 20, backupCount=5, encoding="utf-8"
    )
    handlers: list[logging.Handler] = [handler]
    if verbose or sys.stderr.isatty():
        handlers.append(logging.StreamHandler())
    logging.basicConfig(
        level=logging.INFO,
        handlers=handlers,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)


def cmd_run(args: argparse.Namespace) -> int:
    import httpx

    from agent.client import TIMEOUT, CollectorClient
    from agent.lock import AlreadyRunning, SingleInstance
    from agent.runner import Runner
    from agent.sender import RetryPolicy
    from agent.state import SharedState

    if args.enroll_from is not None:
        if not args.server:
            print("chatter-agent: --enroll-from needs --server URL", file=sys.stderr)
            return 2
        if not paths.config_file().exists():
            _setup_logging(args.verbose)  # the reason of a failure goes to the log too
            enrolled = _enroll_from(Path(args.enroll_from), args.server)
            if enrolled != 0:
                return enrolled
    config, key = load_config(), load_key()
    _setup_logging(args.verbose)
    try:
        lock = SingleInstance(paths.lock_file())
    except AlreadyRunning as exc:
        print(f"chatter-agent: {exc}", file=sys.stderr)
        return 1
    policy = RetryPolicy(
        cap=float(os.environ.get("CHATTER_AGENT_RETRY_CAP", "300")),
        refused_wait=float(os.environ.get("CHATTER_AGENT_REFUSED_WAIT", "300")),
    )
    # How long to wait for the collector's answer (the tests shorten it to fake a hang).
    answer = float(os.environ.get("CHATTER_AGENT_HTTP_TIMEOUT", TIMEOUT.read or 20.0))
    client = CollectorClient(config.server, timeout=httpx.Timeout(answer, connect=5.0))
    runner = Runner(SharedState(config=config, key=key), client, policy=policy)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: runner.stop.set())
    try:
        runner.run()
    finally:
        client.close()
        lock.release()
    return 0


def _enroll_from(place: Path, server: str) -> int:
    """``run --enroll-from``: this user's first run enrolls from a token file IT placed.

    PLACE is a token file, or a folder holding ``users/<login name>.txt`` (one chatter's
    token for each account on a shared computer) and ``token.txt`` (for whoever runs it
    first).  Tokens are single-use: a used one is refused and the agent says so."""
    import contextlib
    import getpass
    import io

    log = logging.getLogger("agent.enroll")
    candidates = [place]
    if place.is_dir():
        candidates = [place / "users" / f"{getpass.getuser()}.txt", place / "token.txt"]
    found = next((path for path in candidates if path.is_file()), None)
    if found is None:
        log.error("not enrolled, and no enrollment token for %s in %s", getpass.getuser(), place)
        print(
            f"chatter-agent: not enrolled, and no token for {getpass.getuser()} in {place}",
            file=sys.stderr,
        )
        return 1
    request = argparse.Namespace(server=server, token_file=str(found), token=None, force=False)
    # Windows starts the agent without a console: its reason must reach the log file.
    said = io.StringIO()
    with contextlib.redirect_stderr(said):
        code = cmd_enroll(request)
    if code != 0:
        log.error("could not enroll from %s: %s", found, said.getvalue().strip())
        print(said.getvalue(), end="", file=sys.stderr)
    else:
        log.info("enrolled from %s with %s", found, server)
    return code


def cmd_status(args: argparse.Namespace) -> int:
    from agent import status

    info = status.collect()
    print(json.dumps(info, indent=2) if args.json else status.render(info))
    return 0


def cmd_pause(args: argparse.Namespace) -> int:
    from agent import pause

    if args.minutes is not None and args.minutes <= 0:
        print("chatter-agent: --minutes must be positive", file=sys.stderr)
        return 2
    until = pause.pause(args.minutes)
    print(
        "tracking paused "
        + ("until you resume" if until is None else f"for {args.minutes:g} minutes")
    )
    return 0


def cmd_resume(_args: argparse.Namespace) -> int:
    from agent import pause

    print("tracking resumed" if pause.resume() else "tracking was not paused")
    return 0


def cmd_retry_parked(_args: argparse.Namespace) -> int:
    from agent.outbox import Outbox

    outbox = Outbox(paths.outbox_file())
    try:
        count = outbox.unpark()
    finally:
        outbox.close()
    print(f"{count} parked slices queued again")
    return 0


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="chatter-agent", description=__doc__, allow_abbrev=False)
    top.add_argument("--version", action="version", version=f"chatter-agent {__version__}")
    sub = top.add_subparsers(dest="command", required=True)
    enroll = sub.add_parser(
        "enroll", help="enroll this computer with a collector", allow_abbrev=False
    )
    enroll.add_argument(
        "--server", required=True, help="collector URL, e.g. https://track.example.com"
    )
    enroll.add_argument(
        "--token-file", help="file holding the enrollment token ('-': standard input)"
    )
    enroll.add_argument("--force", action="store_true", help="enroll again as a new device")
    # Accepted only to refuse it with a reason.
    enroll.add_argument("--token", help=argparse.SUPPRESS)
    enroll.set_defaults(func=cmd_enroll)
    run = sub.add_parser("run", help="track and send (what the background service runs)")
    run.add_argument("-v", "--verbose", action="store_true", help="also log to stderr")
    run.add_argument(
        "--enroll-from",
        metavar="PATH",
        help="not enrolled yet: enroll first from this token file, or from a folder with "
        "users/<login name>.txt or token.txt (what the all-users installs start)",
    )
    run.add_argument("--server", help="collector URL for --enroll-from")
    run.set_defaults(func=cmd_run)
    stat = sub.add_parser("status", help="what is collected, queued and sent")
    stat.add_argument("--json", action="store_true")
    stat.set_defaults(func=cmd_status)
    pause = sub.add_parser("pause", help="pause tracking (reported as paused, not idle)")
    pause.add_argument("--minutes", type=float, help="resume by itself after this long")
    pause.set_defaults(func=cmd_pause)
    sub.add_parser("resume", help="resume tracking").set_defaults(func=cmd_resume)
    sub.add_parser("retry-parked", help="send refused slices again").set_defaults(
        func=cmd_retry_parked
    )
    return top


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    try:
        code = args.func(args)
    except NotEnrolled as exc:
        print(f"chatter-agent: {exc}", file=sys.stderr)
        code = 1
    except OSError as exc:
        print(f"chatter-agent: {exc}", file=sys.stderr)
        code = 1
    sys.exit(code)
