#!/usr/bin/env bash
# Remove the ChatterTrack agent (Linux or macOS; with sudo on macOS: the install for all users).
#
#   uninstall.sh [--prefix DIR] [--purge [--yes]] [--dry-run]
#
# It stops the agent (waiting until it has exited), then tells the collector ('chatter-agent
# retire': the device then shows as uninstalled); if the collector cannot be reached it
# warns and goes on. The agent's configuration, unsent slices and logs stay unless --purge
# is given; --purge refuses, before it removes anything, while slices are unsent (queued or
# parked: it says how many) unless --yes is given too.
set -euo pipefail

os="${CHATTERTRACK_INSTALL_OS:-$(uname -s)}"
# How long a stopping agent may take to finish the batch it is sending before it is killed
# (a smaller figure for the tests).
stop_wait="${CHATTERTRACK_STOP_WAIT:-30}"
purge=0 yes=0 dry=0 prefix=""
say() { printf 'chattertrack: %s\n' "$*"; }
warn() { printf 'chattertrack: warning: %s\n' "$*" >&2; }
die() { printf 'chattertrack: error: %s\n' "$*" >&2; exit 1; }
act() {
  if ((dry)); then say "would run: $*"; else "$@"; fi
}
while [[ $# -gt 0 ]]; do
  case "$1" in
    --prefix) prefix="${2:-}"; shift 2 || die "--prefix needs a folder" ;;
    --purge) purge=1; shift ;;
    --yes) yes=1; shift ;;
    --dry-run) dry=1; shift ;;
    -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) printf 'chattertrack: error: unknown option %s\n' "$1" >&2; exit 2 ;;
  esac
done
((yes == 0 || purge == 1)) || die "--yes only goes with --purge"
all_users=0
if [[ $os == Darwin && $(id -u) == 0 ]]; then all_users=1; fi
if [[ -z $prefix ]]; then
  if ((all_users)); then
    prefix="/Library/Application Support/ChatterTrack/agent"
  elif [[ $os == Darwin ]]; then
    prefix="$HOME/Library/Application Support/chattertrack-agent"
  else
    prefix="${XDG_DATA_HOME:-$HOME/.local/share}/chattertrack-agent"
  fi
fi
((dry)) && say "dry run: nothing is changed"

# The agent's command: the bundle, or an older pip install's virtual environment.
agent=""
for candidate in "$prefix/bundle/chatter-agent" "$prefix/venv/bin/chatter-agent"; do
  if [[ -x $candidate ]]; then agent="$candidate"; break; fi
done

# count_of FIELD: a count in the agent's status --json (0 when it is not there).
count_of() {
  local count
  count="$(sed -n "s/.*\"$1\": *\([0-9][0-9]*\).*/\1/p" <<<"$status" | head -n 1)"
  printf '%s' "${count:-0}"
}

enrolled=0 status=""
if ((!all_users)) && [[ -n $agent ]]; then
  status="$("$agent" status --json 2>/dev/null || true)"
  [[ $status == *'"device_id"'* ]] && enrolled=1
  # Before anything is removed: --purge without --yes must not get half way ('chatter-agent
  # purge' refuses while slices are queued or parked).
  if ((enrolled && purge && !yes)); then
    queued="$(count_of queued_slices)" parked="$(count_of parked_slices)"
    unsent=$((queued + parked))
    if ((parked)); then
      die "$unsent slices were not sent yet ($queued queued, $parked parked: the collector refused those, and parked slices are not sent again by themselves; 'chatter-agent status' says why, and 'chatter-agent retry-parked' queues them again): nothing was removed. Run again with --purge --yes to delete them, or without --purge to keep them"
    elif ((queued)); then
      die "$unsent slices were not sent yet: nothing was removed. Let the agent run until 'chatter-agent status' shows none queued, run again with --purge --yes to delete them, or without --purge to keep them"
    fi
  fi
fi

# 1. Stop it and remove the start at login.
if [[ $os == Darwin ]]; then
  if ((all_users)); then plist="/Library/LaunchAgents/com.chattertrack.agent.plist"
  else plist="$HOME/Library/LaunchAgents/com.chattertrack.agent.plist"; fi
  if [[ -f $plist ]]; then
    if ((all_users)); then
      uid="$(stat -f %u /dev/console 2>/dev/null || echo 0)"
    else
      uid="$(id -u)"
    fi
    [[ $uid != 0 ]] && { act launchctl bootout "gui/$uid/com.chattertrack.agent" 2>/dev/null || true; }
    act rm -f "$plist"; say "removed $plist"
  fi
else
  unit="${XDG_CONFIG_HOME:-$HOME/.config}/systemd/user/chattertrack-agent.service"
  if [[ -f $unit ]]; then
    act systemctl --user disable --now chattertrack-agent.service 2>/dev/null || true
    act rm -f "$unit"; say "removed $unit"
    act systemctl --user daemon-reload 2>/dev/null || true
  fi
  desktop="${XDG_CONFIG_HOME:-$HOME/.config}/autostart/chattertrack-agent.desktop"
  if [[ -f $desktop ]]; then act rm -f "$desktop"; say "removed $desktop"; fi
fi
# An agent of this install still running (the autostart entry's, or started by hand): only
# those started from this prefix. Retiring waits until it has exited: a batch it is still
# sending would reach the collector after the retirement and list the device as active.
alive() {  # PID: running (a zombie has exited: only its parent has not collected it yet)
  local state
  state="$(ps -o stat= -p "$1" 2>/dev/null)" || return 1
  [[ -n $state && $state != Z* ]]
}
wait_gone() {  # PID SECONDS: 0 once PID has exited, 1 if it still runs after SECONDS
  local ticks=$(($2 * 5))
  while alive "$1"; do
    ((ticks-- > 0)) || return 1
    sleep 0.2
  done
}
# The one status names as running counts too, however it was started ('chatter-agent run'
# through the ~/.local/bin link shows no prefix in its command line).
running="$(count_of pid)"
if ((!dry)) && [[ -n $agent ]] && command -v pgrep >/dev/null 2>&1; then
  for pid in $(pgrep -u "$(id -u)" -x chatter-agent 2>/dev/null || true); do
    if [[ $pid == "$running" || "$(ps -o args= -p "$pid" 2>/dev/null)" == *"$agent"* ]]; then
      kill -TERM "$pid" 2>/dev/null || true
      if ! wait_gone "$pid" "$stop_wait"; then
        warn "the agent (pid $pid) did not stop within $stop_wait s: killing it"
        kill -KILL "$pid" 2>/dev/null || true
        wait_gone "$pid" 5 \
          || die "the agent (pid $pid) is still running: the collector was not told and the program was kept; stop it and run this again"
      fi
      say "stopped the running agent (pid $pid)"
    fi
  done
fi

# 2. Tell the collector, then (--purge) delete the configuration, data and logs.
if ((enrolled)); then
  if ((dry)); then
    say "would run: $agent retire"
  elif "$agent" retire; then
    say "the collector now lists this device as uninstalled"
  else
    warn "the collector was not told (see above): the device stays listed as active; revoke it on Admin → Devices if it should never send again"
  fi
fi
purged=0
if ((purge)) && [[ -n $agent ]] && ((!all_users)); then
  if ((yes)); then purge_args=(purge --yes); else purge_args=(purge); fi
  if ((dry)); then
    say "would run: $agent ${purge_args[*]}"
  elif "$agent" "${purge_args[@]}"; then
    purged=1
  else
    # Never the program without its data: its data could not be dealt with any more.
    die "the agent's configuration, data and logs were kept (see above), and so is the program in $prefix (its start at login is removed): deal with the above and run this again"
  fi
fi

# 3. The program itself.
if [[ -L $HOME/.local/bin/chatter-agent ]] && ((!all_users)); then
  act rm -f "$HOME/.local/bin/chatter-agent"; say "removed ~/.local/bin/chatter-agent"
fi
if [[ -d $prefix ]]; then act rm -rf "$prefix"; say "removed $prefix"; fi
if ((all_users)); then
  enroll_dir="$(dirname "$prefix")/enroll"
  if [[ -d $enroll_dir ]]; then act rm -rf "$enroll_dir"; say "removed the enrollment tokens in $enroll_dir"; fi
  say "each user's configuration and unsent slices stay in their home (chatter-agent purge, as that user, deletes them)"
elif ((purge == 0)) && ((enrolled)); then
  say "the agent's configuration and any unsent slices are kept (reinstall to send them; --purge deletes them)"
fi
if ((purge && !purged && !dry && !all_users)) && [[ -z $agent ]]; then
  # Uninstalled before without --purge: the program that counts and deletes is gone.
  if [[ $os == Darwin ]]; then
    data="$HOME/Library/Application Support/chattertrack and $HOME/Library/Logs/chattertrack"
  else
    data="${XDG_CONFIG_HOME:-$HOME/.config}/chattertrack, ${XDG_DATA_HOME:-$HOME/.local/share}/chattertrack and ${XDG_STATE_HOME:-$HOME/.local/state}/chattertrack"
  fi
  die "the agent is not installed any more, so its unsent slices cannot be counted and nothing was deleted: its configuration, key, outbox and logs are in $data; delete those folders to purge them (or install again, let it send, then uninstall with --purge)"
fi
((purge == 0 || purged == 1 || dry == 1)) || exit 1
say "uninstalled"
