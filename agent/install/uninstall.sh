#!/usr/bin/env bash
# Remove the ChatterTrack agent of the current user (Linux or macOS).
#   uninstall.sh [--prefix DIR] [--purge]
# Unsent slices are kept in the agent's data directory unless --purge is given.
set -euo pipefail

os="$(uname -s)" purge=0
if [[ $os == Darwin ]]; then
  prefix="$HOME/Library/Application Support/chattertrack-agent"
else
  prefix="${XDG_DATA_HOME:-$HOME/.local/share}/chattertrack-agent"
fi
say() { printf 'chattertrack: %s\n' "$*"; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    --prefix) prefix="$2"; shift 2 ;;
    --purge) purge=1; shift ;;
    *) printf 'chattertrack: error: unknown option %s\n' "$1" >&2; exit 2 ;;
  esac
done
bin="$prefix/venv/bin"

if [[ $os == Darwin ]]; then
  plist="$HOME/Library/LaunchAgents/com.chattertrack.agent.plist"
  if [[ -f $plist ]]; then
    launchctl bootout "gui/$(id -u)" "$plist" 2>/dev/null || true
    rm -f "$plist"; say "removed $plist"
  fi
else
  unit="${XDG_CONFIG_HOME:-$HOME/.config}/systemd/user/chattertrack-agent.service"
  if [[ -f $unit ]]; then
    systemctl --user disable --now chattertrack-agent.service 2>/dev/null || true
    rm -f "$unit"; say "removed $unit"
    systemctl --user daemon-reload 2>/dev/null || true
  fi
  desktop="${XDG_CONFIG_HOME:-$HOME/.config}/autostart/chattertrack-agent.desktop"
  [[ -f $desktop ]] && rm -f "$desktop" && say "removed $desktop"
fi

queued=""
if [[ -x $bin/chatter-agent ]]; then
  queued="$("$bin/chatter-agent" status --json 2>/dev/null | "$bin/python" -c \
    'import json,sys; print(json.load(sys.stdin)["queued_slices"])' 2>/dev/null || true)"
  if [[ $purge == 1 ]]; then
    "$bin/python" - <<'PY'
import shutil
from agent import paths
for folder in (paths.config_dir(), paths.data_dir(), paths.log_dir()):
    shutil.rmtree(folder, ignore_errors=True)
    print(f"chattertrack: removed {folder}")
PY
  fi
fi
[[ -L $HOME/.local/bin/chatter-agent ]] && rm -f "$HOME/.local/bin/chatter-agent" && say "removed ~/.local/bin/chatter-agent"
[[ -d $prefix ]] && rm -rf "$prefix" && say "removed $prefix"
if [[ $purge == 0 && -n $queued && $queued != 0 ]]; then
  say "$queued slices were not sent yet; they stay in the agent's data folder (reinstall to send them)"
fi
say "uninstalled"
