#!/usr/bin/env bash
# Install the ChatterTrack agent for the current user (Linux or macOS), enroll it
# and start it at login. Idempotent: running it again changes nothing.
#
#   install.sh --server https://track.example.com --token-file /path/to/token \
#              [--from chattertrack-0.1.0-py3-none-any.whl] [--prefix DIR] [--no-start]
#
# The enrollment token is read from a file (or standard input with --token-file -),
# never from the command line, where the process list and shell history would show it.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
server="" token_file="" from="chattertrack" start=1
os="$(uname -s)"
if [[ $os == Darwin ]]; then
  prefix="$HOME/Library/Application Support/chattertrack-agent"
else
  prefix="${XDG_DATA_HOME:-$HOME/.local/share}/chattertrack-agent"
fi
python="${PYTHON:-python3}"

usage() { sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
say() { printf 'chattertrack: %s\n' "$*"; }
die() { printf 'chattertrack: error: %s\n' "$*" >&2; exit 1; }

while [[ $# -gt 0 ]]; do
  case "$1" in
    --server) server="$2"; shift 2 ;;
    --token-file) token_file="$2"; shift 2 ;;
    --from) from="$2"; shift 2 ;;
    --prefix) prefix="$2"; shift 2 ;;
    --no-start) start=0; shift ;;
    --token) die "refusing --token: pass the token in a file with --token-file" ;;
    -h|--help) usage ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done
[[ -n $server ]] || die "--server URL is required"
command -v "$python" >/dev/null || die "$python not found: install Python 3.11 or newer"
"$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
  || die "$python is older than 3.11"

venv="$prefix/venv"
bin="$venv/bin"

# 1. The agent in its own virtual environment.
if [[ -x $bin/python ]]; then
  say "virtual environment $venv already exists"
else
  "$python" -m venv "$venv"
  say "created virtual environment $venv"
fi
spec="$from[agent]"
before="$("$bin/python" -m pip freeze 2>/dev/null | sort | sha256sum)"
"$bin/python" -m pip install --quiet --disable-pip-version-check "$spec"
after="$("$bin/python" -m pip freeze 2>/dev/null | sort | sha256sum)"
if [[ $before == "$after" ]]; then say "agent package already installed"; else say "installed $spec"; fi

mkdir -p "$HOME/.local/bin"
ln -sfn "$bin/chatter-agent" "$HOME/.local/bin/chatter-agent"
say "command: $HOME/.local/bin/chatter-agent"

# 2. Enrollment (once).
if "$bin/chatter-agent" status >/dev/null 2>&1; then
  say "already enrolled; not enrolling again"
else
  [[ -n $token_file ]] || die "--token-file FILE is required for the first install"
  if [[ $token_file == - ]]; then
    "$bin/chatter-agent" enroll --server "$server" --token-file -
  else
    [[ -r $token_file ]] || die "cannot read token file $token_file"
    "$bin/chatter-agent" enroll --server "$server" --token-file "$token_file"
  fi
  say "enrolled with $server"
fi

# 3. Start at login.
render() { sed -e "s|@BIN@|$bin|g" -e "s|@LOGDIR@|$2|g" "$1"; }
place() {  # place TARGET CONTENT: write only when it differs
  local target="$1" content="$2"
  mkdir -p "$(dirname "$target")"
  if [[ -f $target ]] && [[ "$(cat "$target")" == "$content" ]]; then
    say "$target unchanged"
    return 1
  fi
  printf '%s\n' "$content" > "$target"
  say "wrote $target"
}

if [[ $os == Darwin ]]; then
  logdir="$HOME/Library/Logs/chattertrack"
  mkdir -p "$logdir"
  plist="$HOME/Library/LaunchAgents/com.chattertrack.agent.plist"
  if place "$plist" "$(render "$here/macos/com.chattertrack.agent.plist" "$logdir")" && [[ $start == 1 ]]; then
    launchctl bootout "gui/$(id -u)" "$plist" 2>/dev/null || true
    launchctl bootstrap "gui/$(id -u)" "$plist"
    say "started the LaunchAgent com.chattertrack.agent"
  fi
  say "macOS asks once for Input Monitoring and Accessibility: allow $bin/python in System Settings"
else
  unit="${XDG_CONFIG_HOME:-$HOME/.config}/systemd/user/chattertrack-agent.service"
  changed=0
  place "$unit" "$(render "$here/linux/chattertrack-agent.service" "")" && changed=1
  if [[ $start == 1 ]] && systemctl --user show-environment >/dev/null 2>&1; then
    [[ $changed == 1 ]] && systemctl --user daemon-reload
    if systemctl --user is-enabled --quiet chattertrack-agent.service 2>/dev/null; then
      say "systemd user service already enabled"
      [[ $changed == 1 ]] && systemctl --user restart chattertrack-agent.service
    else
      systemctl --user enable --now chattertrack-agent.service
      say "enabled and started the systemd user service chattertrack-agent"
    fi
  else
    desktop="${XDG_CONFIG_HOME:-$HOME/.config}/autostart/chattertrack-agent.desktop"
    place "$desktop" "$(render "$here/linux/chattertrack-agent.desktop" "")" || true
    say "no systemd user session here: the agent starts at the next graphical login (XDG autostart)"
  fi
fi
say "done. Check with: chatter-agent status"
