"""``chatter-agent``: enroll, run, status, pause, resume, retire, purge."""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import logging
import logging.handlers
import os
import platform
import re
import signal
import socket
import sqlite3
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from agent import __version__, paths
from agent.config import (
    AgentConfig,
    DeviceKey,
    NotEnrolled,
    enroll_request_id,
    forget_enroll_request,
    load_config,
    load_key,
    save_config,
    save_key,
)

if TYPE_CHECKING:
    import httpx

# Exit statuses: enrollment failed for now (unreachable, busy: sysexits' EX_TEMPFAIL), and
# `run --enroll-from` gave up because the collector refused the token (the service
# managers' definitions do not restart the agent on it: a used token stays used).
TRY_AGAIN = 75
TOKEN_REFUSED = 3

# A token as the collector makes them: "cte_" and 32 URL-safe characters (a little slack).
TOKEN_SHAPE = re.compile(r"cte_[A-Za-z0-9_-]{16,100}")


def _http_timeout() -> httpx.Timeout:
    """How long to wait for the collector's answer (the tests shorten it to fake a hang)."""
    import httpx

    from agent.client import TIMEOUT

    answer = float(os.environ.get("CHATTER_AGENT_HTTP_TIMEOUT", TIMEOUT.read or 20.0))
    return httpx.Timeout(answer, connect=5.0)


def _decode_token(raw: bytes) -> str:
    """Text from a token file as editors and shells write it: UTF-8 with or without a BOM,
    or UTF-16 with a BOM (Windows PowerShell 5.1's ``>`` and ``Out-File``)."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16")
    return raw.decode("utf-8-sig")


def _read_token(args: argparse.Namespace) -> str:
    """From --token-file, standard input, or CHATTER_ENROLL_TOKEN; never from argv."""
    try:
        if args.token_file:
            if args.token_file == "-":
                source = _decode_token(sys.stdin.buffer.read())
            else:
                source = _decode_token(Path(args.token_file).read_bytes())
        elif os.environ.get("CHATTER_ENROLL_TOKEN"):
            source = os.environ["CHATTER_ENROLL_TOKEN"]
        elif not sys.stdin.isatty():
            source = _decode_token(sys.stdin.buffer.read())
        else:
            raise SystemExit(
                "chatter-agent: give the enrollment token with --token-file FILE, on standard "
                "input, or in CHATTER_ENROLL_TOKEN (never on the command line)"
            )
    except UnicodeDecodeError:
        raise SystemExit(
            "chatter-agent: the token file is not text (UTF-8 or UTF-16 expected)"
        ) from None
    token = source.strip().strip("\ufeff").strip()
    if not token:
        raise SystemExit("chatter-agent: the enrollment token is empty")
    if not TOKEN_SHAPE.fullmatch(token):
        raise SystemExit(
            "chatter-agent: that is not an enrollment token (they look like cte_ and 32 "
            "letters and digits, on one line): check the token file"
        )
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
    client = CollectorClient(args.server, timeout=_http_timeout())
    try:
        sent = time.time()
        reply = client.enroll(
            token,
            socket.gethostname(),
            f"{platform.system()}-{platform.release()}",
            enroll_request_id(token),
        )
        received = time.time()
    except EnrollError as exc:
        if exc.final:
            print(f"chatter-agent: enrollment refused: {exc}", file=sys.stderr)
            return 1
        print(f"chatter-agent: could not enroll now, try again: {exc}", file=sys.stderr)
        return TRY_AGAIN
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
            chatter_name=reply.chatter_name,
            stats_url=(
                args.server.rstrip("/") + reply.stats_path
                if reply.stats_path and reply.stats_path.startswith("/")
                else None
            ),
        )
    )
    forget_enroll_request()
    who = f" for {reply.chatter_name}" if reply.chatter_name else ""
    print(f"enrolled this computer{who} (device {reply.device_id}) with {args.server}")
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
    from agent.client import CollectorClient
    from agent.lock import AlreadyRunning, SingleInstance
    from agent.presence import interval_from_env
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
    client = CollectorClient(config.server, timeout=_http_timeout())
    runner = Runner(
        SharedState(config=config, key=key),
        client,
        policy=policy,
        presence_interval=interval_from_env(),
    )
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: runner.request_stop())
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
    import getpass
    import io
    import time

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
    wait = 5.0
    while True:
        # Windows starts the agent without a console: its reason must reach the log file.
        said = io.StringIO()
        with contextlib.redirect_stderr(said):
            try:
                code = cmd_enroll(request)
            except SystemExit as exc:  # a token file that holds no token
                print(exc, file=sys.stderr)
                code = 1
        if code == 0:
            log.info("enrolled from %s with %s", found, server)
            return 0
        reason = said.getvalue().strip()
        if code != TRY_AGAIN:
            log.error("could not enroll from %s: %s", found, reason)
            print(reason, file=sys.stderr)
            return TOKEN_REFUSED
        # At logon the network (a VPN, Wi-Fi) may not be up yet: try again, not next logon.
        log.warning(
            "could not enroll from %s yet (%s); trying again in %.0f s", found, reason, wait
        )
        time.sleep(wait)
        wait = min(wait * 2, 300.0)


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
    if until is None:
        print(
            "Tracking paused until you resume it: run 'chatter-agent resume' when you are "
            "back. Paused time is reported as paused, not idle."
        )
    else:
        end = dt.datetime.fromtimestamp(until).astimezone()
        when = f"{end:%H:%M}" if end.date() == dt.date.today() else f"{end:%a %d %b %H:%M}"
        unit = "minute" if args.minutes == 1 else "minutes"
        print(
            f"Tracking paused for {args.minutes:g} {unit}, until {when} "
            "(or until you run 'chatter-agent resume')."
        )
    return 0


def cmd_resume(_args: argparse.Namespace) -> int:
    from agent import pause

    print("Tracking resumed." if pause.resume() else "Tracking was not paused.")
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


def _unsent() -> int | None:
    """Slices on this computer the collector has not stored (queued or parked); None when
    the outbox cannot be read (damaged): then nobody knows."""
    from agent.outbox import Outbox

    if not paths.outbox_file().exists():
        return 0
    try:
        outbox = Outbox(paths.outbox_file())
        try:
            counts = outbox.counts()
        finally:
            outbox.close()
    except sqlite3.DatabaseError:
        return None
    return counts.queued + counts.parked


def cmd_retire(_args: argparse.Namespace) -> int:
    """Tell the collector this computer's agent is being uninstalled."""
    import httpx
    import msgspec

    from agent.client import RETIRE, CollectorClient
    from shared.protocol import RetireReply, RetireRequest

    config, key = load_config(), load_key()
    unsent = _unsent()
    client = CollectorClient(config.server)
    try:
        body = msgspec.json.encode(RetireRequest(unsent_slices=unsent))
        reply = client.signed_post(RETIRE, body, key, config.clock_offset)
    except httpx.HTTPError as exc:
        print(
            f"chatter-agent: could not tell {config.server} that this computer is "
            f"uninstalled ({exc.__class__.__name__}); it will show as not seen lately",
            file=sys.stderr,
        )
        return 1
    finally:
        client.close()
    try:
        answer = msgspec.json.decode(reply.content, type=RetireReply)
    except msgspec.DecodeError:
        answer = None
    if reply.status_code != 200 or answer is None or answer.device_id != config.device_id:
        # Not the collector's answer for this device (an error, a login page, a proxy).
        print(
            f"chatter-agent: {config.server} did not record the uninstall "
            f"({reply.status_code}: {' '.join(reply.text[:200].split())})",
            file=sys.stderr,
        )
        return 1
    left = (
        "; the number of slices not sent is unknown (the outbox cannot be read)"
        if unsent is None
        else f"; {unsent} slices were not sent and stay on this computer"
        if unsent
        else ""
    )
    print(f"told {config.server} that this computer is uninstalled{left}")
    return 0


def _linked(folder: Path) -> Path | None:
    """The first link on the way to ``folder`` that purge must not follow: the folder
    itself if it is a symbolic link and, on Windows (where an administrator's uninstall
    purges every account's folders), any junction or link above it too, which would turn
    the deletion to another place."""
    import stat

    chain = [folder, *folder.parents] if sys.platform == "win32" else [folder]
    for place in chain:
        try:
            st = os.lstat(place)
        except FileNotFoundError:
            continue
        if stat.S_ISLNK(st.st_mode) or getattr(st, "st_file_attributes", 0) & 0x400:
            return place  # 0x400: FILE_ATTRIBUTE_REPARSE_POINT (junctions, links)
    return None


def cmd_purge(args: argparse.Namespace) -> int:
    """Delete the agent's settings, key, queued slices and logs from this computer."""
    import shutil

    from agent.lock import AlreadyRunning, SingleInstance

    try:
        lock = SingleInstance(paths.lock_file())
    except AlreadyRunning:
        print("chatter-agent: the agent is running; stop it first", file=sys.stderr)
        return 1
    lock.release()
    unsent = _unsent()
    if unsent is None and not args.yes:
        print(
            "chatter-agent: the outbox cannot be read (damaged?), so it may hold slices that "
            "were not sent. Run 'chatter-agent purge --yes' to delete it anyway.",
            file=sys.stderr,
        )
        return 1
    if unsent and not args.yes:
        print(
            f"chatter-agent: {unsent} slices of tracked time were not sent yet and would be "
            "lost. Start the agent until 'chatter-agent status' shows none waiting (slices "
            "the server refused are sent again with 'chatter-agent retry-parked'), or run "
            "'chatter-agent purge --yes' to delete them anyway.",
            file=sys.stderr,
        )
        return 1
    folders = list(dict.fromkeys((paths.config_dir(), paths.data_dir(), paths.log_dir())))
    for folder in folders:
        link = _linked(folder)
        if link is not None:
            print(
                f"chatter-agent: {link} is a link; not deleting through it (nothing deleted)",
                file=sys.stderr,
            )
            return 1
    for folder in folders:
        if folder.exists():
            shutil.rmtree(folder)
            print(f"removed {folder}")
        if folder.parent.name == paths.APP_NAME:  # ~/.config/chattertrack, once empty
            with contextlib.suppress(OSError):
                folder.parent.rmdir()
    if unsent:
        print(f"{unsent} unsent slices were deleted")
    elif unsent is None:
        print("the unreadable outbox was deleted")
    return 0


ABOUT = """\
ChatterTrack counts how long you work at this computer and how much you type and
click, so that you and your agency see your working time. It counts key presses
and mouse events only: never which key, never what you type, no screenshots.
It runs by itself in the background; you don't need to start it."""

COMMANDS_HELP = """\
what you can do:
  status       what was counted today, whether it reached the server, and where
               to see your stats
  pause        stop counting for a while (a break, something private);
               'pause --minutes 15' resumes by itself
  resume       start counting again after a pause

for IT (installing and removing):
  enroll       connect this computer to your agency's server (once)
  run          the background program itself (started at login)
  retry-parked send again the slices the server refused
  retire       tell the server this computer's agent is being uninstalled
  purge        delete everything the agent keeps on this computer

'chatter-agent COMMAND --help' shows a command's options."""


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="chatter-agent",
        usage="chatter-agent COMMAND [options]",
        description=ABOUT,
        epilog=COMMANDS_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,
    )
    top.add_argument("--version", action="version", version=f"chatter-agent {__version__}")
    sub = top.add_subparsers(
        dest="command",
        required=True,
        metavar="COMMAND",
        help=argparse.SUPPRESS,
        prog="chatter-agent",
    )
    enroll = sub.add_parser(
        "enroll",
        description="Connect this computer to your agency's server with a one-time token "
        "from IT. The token is read from a file or standard input, never typed on the "
        "command line.",
        allow_abbrev=False,
    )
    enroll.add_argument(
        "--server", required=True, help="the server's address, e.g. https://track.example.com"
    )
    enroll.add_argument(
        "--token-file", help="file holding the enrollment token ('-': standard input)"
    )
    enroll.add_argument("--force", action="store_true", help="enroll again as a new device")
    # Accepted only to refuse it with a reason.
    enroll.add_argument("--token", help=argparse.SUPPRESS)
    enroll.set_defaults(func=cmd_enroll)
    run = sub.add_parser(
        "run",
        description="Count and send, until stopped. The installer starts this at login; "
        "only one runs per user.",
    )
    run.add_argument("-v", "--verbose", action="store_true", help="also log to the terminal")
    run.add_argument(
        "--enroll-from",
        metavar="PATH",
        help="not enrolled yet: enroll first from this token file, or from a folder with "
        "users/<login name>.txt or token.txt (what the all-users installs start)",
    )
    run.add_argument("--server", help="the server's address, for --enroll-from")
    run.set_defaults(func=cmd_run)
    stat = sub.add_parser(
        "status",
        description="What the agent counted today, whether it reaches the server, any "
        "problem in plain words, and where to see your stats.",
    )
    stat.add_argument("--json", action="store_true", help="the same as JSON, for scripts")
    stat.set_defaults(func=cmd_status)
    pause = sub.add_parser(
        "pause",
        description="Stop counting. Paused time is reported as paused (not idle). "
        "Without --minutes the pause lasts until you run 'chatter-agent resume'.",
    )
    pause.add_argument("--minutes", type=float, help="resume by itself after this many minutes")
    pause.set_defaults(func=cmd_pause)
    sub.add_parser("resume", description="Start counting again after a pause.").set_defaults(
        func=cmd_resume
    )
    sub.add_parser(
        "retry-parked", description="Send again the slices the server refused earlier."
    ).set_defaults(func=cmd_retry_parked)
    sub.add_parser(
        "retire",
        description="Tell the server that the agent on this computer is being uninstalled "
        "(the uninstaller runs this). The device then shows as uninstalled.",
    ).set_defaults(func=cmd_retire)
    purge = sub.add_parser(
        "purge",
        description="Delete the agent's settings, device key, queued slices and logs from "
        "this computer. Refuses while slices are still unsent, unless --yes.",
    )
    purge.add_argument(
        "--yes", action="store_true", help="delete even slices that were not sent yet"
    )
    purge.set_defaults(func=cmd_purge)
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
    except sqlite3.DatabaseError as exc:
        print(
            f"chatter-agent: the outbox cannot be read ({exc}); the agent sets a damaged "
            "outbox aside and starts a new one when it starts",
            file=sys.stderr,
        )
        code = 1
    sys.exit(code)
