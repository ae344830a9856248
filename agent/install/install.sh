#!/usr/bin/env bash
# Install the ChatterTrack agent (Linux or macOS), enroll it, start it at login.
# Idempotent: running it again changes nothing and says so. It needs no Python: it installs
# the agent's self-contained bundle, and works piped from the collector:
#
#   curl -fsSL https://track.example.com/agent/install.sh | bash -s -- \
#        --server https://track.example.com --token-file ~/token.txt
#
# Options:
#   --server URL         the collector (required)
#   --token-file FILE    the enrollment token (required to enroll; '-': standard input,
#                        not when the script itself is piped); never on the command line
#   --bundle FILE        install this chattertrack-agent-*.tar.gz, checked against the
#                        SHA256SUMS beside it (refused if that file does not list it);
#                        without it the newest bundle for this computer is downloaded from
#                        URL/agent/downloads/ and checked against URL/agent/downloads/SHA256SUMS
#   --no-checksum        with --bundle: install it even though no SHA256SUMS beside it lists it
#   --pip [SPEC]         instead of a bundle, pip-install SPEC (default chattertrack) into a
#                        virtual environment (needs Python 3.11+ and a package index)
#   --prefix DIR         where the agent goes
#   --user-tokens DIR    (macOS with sudo) a folder of LOGIN.txt files: one chatter's token
#                        for each account of a shared Mac
#   --no-start           install and enroll, but do not start it now
#   --dry-run            print what would be done (and the files it would write), do nothing
#
# On Linux it installs for the account that runs it, and refuses to run as root. On macOS run
# with sudo, it installs for every user of the Mac: the bundle in
# /Library/Application Support/ChatterTrack, a LaunchAgent in /Library/LaunchAgents, and
# the tokens each user's agent enrolls from at its first login: token.txt (readable by every
# user: whoever logs in first enrolls with it) and users/LOGIN.txt (owned by that account,
# mode 0600, readable by nobody else). One token is one chatter: see the README.
#
# For the tests only: CHATTERTRACK_INSTALL_OS stands in for uname -s, and
# CHATTERTRACK_LAUNCH_AGENTS for /Library/LaunchAgents.
set -euo pipefail

server="" token_file="" bundle="" pip_spec="" start=1 dry=0 prefix="" checksum=1 user_tokens=""
os="${CHATTERTRACK_INSTALL_OS:-$(uname -s)}"  # the tests render the macOS files on Linux
machine="$(uname -m)"
python="${PYTHON:-python3}"

usage() {
  cat <<'EOF'
usage: install.sh --server URL --token-file FILE [--bundle FILE [--no-checksum] | --pip [SPEC]]
                  [--user-tokens DIR] [--prefix DIR] [--no-start] [--dry-run]
Installs the ChatterTrack agent for this user (for every user with sudo on macOS).
EOF
  exit 2
}
say() { printf 'chattertrack: %s\n' "$*"; }
die() { printf 'chattertrack: error: %s\n' "$*" >&2; exit 1; }
# act CMD...: run it, or only say it under --dry-run.
act() {
  if ((dry)); then say "would run: $*"; else "$@"; fi
}

while [[ $# -gt 0 ]]; do
  case "$1" in
    --server) server="${2:-}"; shift 2 || usage ;;
    --token-file) token_file="${2:-}"; shift 2 || usage ;;
    --bundle) bundle="${2:-}"; shift 2 || usage ;;
    --no-checksum) checksum=0; shift ;;
    --user-tokens) user_tokens="${2:-}"; shift 2 || usage ;;
    --pip)
      pip_spec="chattertrack"; shift
      if [[ $# -gt 0 && $1 != --* ]]; then pip_spec="$1"; shift; fi ;;
    --from) pip_spec="${2:-}"; shift 2 || usage ;;  # the older name of --pip SPEC
    --prefix) prefix="${2:-}"; shift 2 || usage ;;
    --no-start) start=0; shift ;;
    --dry-run) dry=1; shift ;;
    --token) die "refusing --token: pass the token in a file with --token-file" ;;
    -h|--help) usage ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done
[[ -n $server ]] || die "--server URL is required"
[[ -z $bundle || -z $pip_spec ]] || die "--bundle and --pip exclude each other"
server="${server%/}"
[[ $server == http://* || $server == https://* ]] || die "--server must be an http(s) URL"
((checksum || ${#bundle})) || die "--no-checksum only goes with --bundle FILE"

all_users=0
if [[ $os == Darwin && $(id -u) == 0 ]]; then
  all_users=1
elif [[ $(id -u) == 0 ]]; then
  # On Linux the agent is installed for the account that runs this, and enrolled with the
  # token at once: as root it would count root's input and spend the chatter's token.
  die "refusing to run as root: on Linux the agent is installed for the account that runs this script and enrolled with the token at once (a token enrolls only once). Run it as the chatter, without sudo"
fi
[[ -z $user_tokens ]] || ((all_users)) \
  || die "--user-tokens is for the install for every user of a Mac (run with sudo on macOS)"
if [[ -z $prefix ]]; then
  if ((all_users)); then
    prefix="/Library/Application Support/ChatterTrack/agent"
  elif [[ $os == Darwin ]]; then
    prefix="$HOME/Library/Application Support/chattertrack-agent"
  else
    prefix="${XDG_DATA_HOME:-$HOME/.local/share}/chattertrack-agent"
  fi
fi
enroll_dir="$(dirname "$prefix")/enroll"  # all users: each user's first run enrolls from here
((dry)) && say "dry run: nothing is changed"

# The bundle's name for this computer, as make agent-dist names it.
case "$os-$machine" in
  Linux-x86_64|Linux-amd64) tag="linux-x86_64" ;;
  Linux-aarch64|Linux-arm64) tag="linux-aarch64" ;;
  Darwin-arm64|Darwin-aarch64) tag="macos-arm64" ;;
  Darwin-x86_64) tag="macos-x86_64" ;;
  *) tag="" ;;
esac

sha256_of() {
  if command -v sha256sum >/dev/null 2>&1; then sha256sum "$1" | awk '{print $1}'
  else shasum -a 256 "$1" | awk '{print $1}'; fi
}
fetch() {  # fetch URL FILE
  if command -v curl >/dev/null 2>&1; then
    curl -fsSL --retry 2 -o "$2" "$1" || die "could not download $1"
  elif command -v wget >/dev/null 2>&1; then
    wget -q -O "$2" "$1" || die "could not download $1"
  else
    die "neither curl nor wget is installed: download the bundle and use --bundle FILE"
  fi
}
# checksum_list FILE: FILE as "<sha256>  <name>" lines (what sha256sum prints: "  " or " *"
# before the name), carriage returns dropped (a list saved on Windows) and the hex in
# lower case; fails, printing nothing, when any line is something else (an HTML page).
checksum_list() {
  LC_ALL=C awk '
    { sub(/\r$/, "") }
    /^[ \t]*$/ { next }
    {
      hex = substr($0, 1, 64); gap = substr($0, 65, 2); name = substr($0, 67)
      if (length(hex) != 64 || hex !~ /^[0-9A-Fa-f]+$/ || (gap != "  " && gap != " *") || name == "") {
        bad = 1; exit
      }
      lines[++n] = tolower(hex) "  " name
    }
    END {
      if (bad) exit 1
      for (i = 1; i <= n; i++) print lines[i]
    }' "$1"
}
# sum_for LIST NAME: the SHA-256 a checksum list (as checksum_list prints it) gives NAME.
sum_for() {
  awk -v n="$2" 'substr($0, 67) == n {print $1; exit}' "$1"
}
# newest_in LIST TAG: the highest version of chattertrack-agent-*-TAG.tar.gz listed.
newest_in() {
  awk -v tag="$2" '
    function key(v,   n, parts, i, p, out) {
      n = split(v, parts, "."); out = ""
      for (i = 1; i <= 4; i++) {
        p = (i <= n) ? parts[i] : "0"
        if (match(p, /^[0-9]+/)) {
          out = out sprintf("%09d", substr(p, 1, RLENGTH)) (RLENGTH < length(p) ? substr(p, RLENGTH + 1) : "~") "."
        } else {
          out = out sprintf("%09d", 0) p "."
        }
      }
      return out
    }
    {
      name = substr($0, 67)
      prefix = "chattertrack-agent-"; suffix = "-" tag ".tar.gz"
      if (index(name, prefix) == 1 && substr(name, length(name) - length(suffix) + 1) == suffix) {
        version = substr(name, length(prefix) + 1, length(name) - length(prefix) - length(suffix))
        if (version ~ /^[0-9][0-9A-Za-z.+-]*$/) print key(version), name
      }
    }' "$1" | LC_ALL=C sort | tail -n 1 | awk '{print $2}'
}

workdir="$(mktemp -d "${TMPDIR:-/tmp}/chattertrack-install.XXXXXX")"
lock_file=""  # shlock's, removed at exit; flock's lock goes with the process
locked=0
unpacked=""   # this run's half-unpacked bundle, removed at exit
cleanup() {
  rm -rf "$workdir"
  [[ -z $unpacked ]] || rm -rf "$unpacked"
  [[ -z $lock_file ]] || rm -f "$lock_file"
}
trap cleanup EXIT

# One install at a time for this prefix: runs at the same moment (a login script, IT by
# hand, a retried deployment) would swap the bundle under each other and enroll twice with
# one token. The later run waits, then finds everything in place. Taken once the bundle is
# checked: a refused one leaves nothing behind.
lock_install() {
  local lock="$prefix/.install.lock" waited=0
  mkdir -p "$prefix"
  if command -v flock >/dev/null 2>&1; then
    exec 9>>"$lock"
    if ! flock -n 9; then
      say "another install for $prefix is running: waiting for it to finish"
      flock -w 600 9 || die "another install has held $lock for 10 minutes: try again later"
    fi
    locked=1
  elif command -v shlock >/dev/null 2>&1; then  # macOS has no flock(1); shlock clears a dead holder's lock
    until shlock -f "$lock" -p "$$"; do
      if ((waited == 0)); then say "another install for $prefix is running: waiting for it to finish"; fi
      if ((++waited > 600)); then die "another install has held $lock for 10 minutes: try again later"; fi
      sleep 1
    done
    lock_file="$lock" locked=1
  else
    say "warning: neither flock nor shlock is installed: do not run two installs at the same time"
  fi
}

# 1. The agent: a bundle (default) or a Python package in a virtual environment.
if [[ -n $pip_spec ]]; then
  bin="$prefix/venv/bin"
  command -v "$python" >/dev/null || die "$python not found: install Python 3.11 or newer, or leave out --pip"
  "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
    || die "$python is older than 3.11"
  ((dry)) || lock_install
  if [[ -d $prefix/bundle ]]; then
    act rm -rf "$prefix/bundle"; say "removed the bundle in $prefix/bundle (replaced by --pip)"
  fi
  if [[ -x $bin/python ]]; then
    say "virtual environment $prefix/venv already exists"
  else
    act "$python" -m venv "$prefix/venv"
    say "created virtual environment $prefix/venv"
  fi
  if ((dry)); then
    say "would run: $bin/python -m pip install ${pip_spec}[agent]"
  else
    before="$("$bin/python" -m pip freeze 2>/dev/null | sort | sha256_of /dev/stdin)"
    "$bin/python" -m pip install --quiet --disable-pip-version-check "${pip_spec}[agent]"
    after="$("$bin/python" -m pip freeze 2>/dev/null | sort | sha256_of /dev/stdin)"
    if [[ $before == "$after" ]]; then say "agent package already installed"; else say "installed $pip_spec"; fi
  fi
else
  bin="$prefix/bundle"
  expected=""
  if [[ -n $bundle ]]; then
    [[ -r $bundle ]] || die "cannot read $bundle"
    archive="$bundle" name="$(basename "$bundle")"
    sums="$(dirname "$bundle")/SHA256SUMS"
    if ((!checksum)); then
      say "warning: --no-checksum: the SHA-256 of $name is not checked"
    elif [[ -e $sums ]]; then
      checksum_list "$sums" > "$workdir/sums" \
        || die "$sums is not a checksum list (lines of '<sha256>  <file name>'): refusing to install $name unchecked"
      expected="$(sum_for "$workdir/sums" "$name")"
      [[ -n $expected ]] \
        || die "$sums does not list $name: refusing to install it unchecked (--no-checksum installs it anyway)"
    else
      say "warning: no SHA256SUMS beside $name: its SHA-256 is not checked"
    fi
  else
    [[ -n $tag ]] || die "no agent bundle is built for $os $machine: use --pip"
    if ((dry)); then
      say "would download $server/agent/downloads/SHA256SUMS and the newest chattertrack-agent-*-$tag.tar.gz it lists, and check its SHA-256"
      archive="" name="chattertrack-agent-VERSION-$tag.tar.gz"
    else
      fetch "$server/agent/downloads/SHA256SUMS" "$workdir/SHA256SUMS"
      checksum_list "$workdir/SHA256SUMS" > "$workdir/sums" \
        || die "the server did not answer with a checksum list (a proxy or login page?): $server/agent/downloads/SHA256SUMS begins with '$(head -c 60 "$workdir/SHA256SUMS" | LC_ALL=C tr -cd '[:print:]')'"
      name="$(newest_in "$workdir/sums" "$tag")"
      [[ -n $name ]] || die "the collector offers no chattertrack-agent-*-$tag.tar.gz (ask IT to run make agent-dist for this system, or use --pip)"
      expected="$(sum_for "$workdir/sums" "$name")"
      say "downloading $name"
      archive="$workdir/$name"
      fetch "$server/agent/downloads/$name" "$archive"
    fi
  fi
  actual=""
  if [[ -n $archive ]]; then
    actual="$(sha256_of "$archive")"
    if [[ -n $expected && $actual != "$expected" ]]; then
      die "SHA-256 mismatch for $name: expected $expected, got $actual; refusing to install it"
    fi
    [[ -n $expected ]] && say "SHA-256 of $name checked"
  fi
  ((dry)) || lock_install
  if [[ -d $prefix/venv ]]; then
    act rm -rf "$prefix/venv"; say "removed the pip install in $prefix/venv (replaced by the bundle)"
  fi
  if [[ -n $actual && -f $bin/.archive-sha256 && "$(cat "$bin/.archive-sha256")" == "$actual" ]]; then
    say "agent bundle $name already installed in $bin"
    bundle_changed=0
  elif ((dry)); then
    say "would unpack ${name} into $bin"
    bundle_changed=1
  else
    # Unpacked beside the target under a name of this run's own, then swapped in by renames
    # (a running agent keeps its open files until it restarts). Owners and modes are not
    # taken from the archive: the files belong to whoever installs, and nobody else may
    # change the program that the service runs.
    if ((locked)); then rm -rf "$prefix"/.bundle.new.* "$prefix"/.bundle.old.*; fi  # a killed run's
    unpacked="$(mktemp -d "$prefix/.bundle.new.XXXXXX")"
    tar -xzf "$archive" -C "$unpacked" --strip-components 1 --no-same-owner --no-same-permissions \
      || die "could not unpack $name"
    [[ -x $unpacked/chatter-agent ]] || die "$name holds no chatter-agent"
    printf '%s\n' "$actual" > "$unpacked/.archive-sha256"
    chmod -R go-w "$unpacked"
    chmod 0755 "$unpacked"  # mktemp made it 0700
    if ((all_users)); then chmod -R a+rX "$unpacked"; fi  # every user runs it, whatever root's umask
    old=""
    if [[ -d $bin ]]; then old="$(mktemp -d "$prefix/.bundle.old.XXXXXX")"; mv "$bin" "$old/"; fi
    mv "$unpacked" "$bin"
    unpacked=""
    [[ -z $old ]] || rm -rf "$old"
    say "installed agent bundle $name in $bin"
    bundle_changed=1
  fi
fi
agent="$bin/chatter-agent"

if ((!all_users)); then
  act mkdir -p "$HOME/.local/bin"
  act ln -sfn "$agent" "$HOME/.local/bin/chatter-agent"
  say "command: $HOME/.local/bin/chatter-agent"
fi

# 2. Enrollment: now for this user; for all users, at each user's first login.
# owned FILE OWNER MODE: FILE belongs to OWNER and has exactly MODE.
owned() { [[ -n "$(find "$1" -prune -user "$2" -perm "$3" 2>/dev/null)" ]]; }
# root_folder DIR: DIR made root's, writable by root only (refused if it is a link).
root_folder() {
  [[ ! -L $1 ]] || die "refusing: $1 is a symbolic link (the tokens would go where it points)"
  act mkdir -p "$1"
  act chown 0:0 "$1"
  act chmod 0755 "$1"
}
# protect FILE OWNER MODE: a token file already there made OWNER's with MODE.
protect() {
  [[ -f $1 && ! -L $1 ]] || die "refusing: $1 is not a plain file"
  if owned "$1" "$2" "$3"; then return 0; fi
  act chown "$2" "$1"
  act chmod "$3" "$1"
  ((dry)) || say "made $1 $2's with mode $3"
}
# place_token SOURCE TARGET OWNER MODE: the token written where the agents read it.
place_token() {
  [[ ! -L $2 ]] || die "refusing: $2 is a symbolic link"
  if [[ -f $2 ]] && cmp -s "$1" "$2"; then
    say "$2 already holds that token"
    protect "$2" "$3" "$4"
  else
    act install -o "$3" -m "$4" "$1" "$2"
    ((dry)) || say "placed $2 (owner $3, mode $4)"
  fi
}
# account_of TOKEN_FILE: the login its name gives, when this Mac knows that account.
account_of() {
  local login
  login="$(basename "$1" .txt)"
  [[ $login =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]*$ ]] && id -u "$login" >/dev/null 2>&1 && printf '%s' "$login"
}
if ((all_users)); then
  # Only root may change the tokens (else one user could plant a token for another): the
  # folders are root's; token.txt is readable by every user, because whoever logs in first
  # enrolls with it; each users/LOGIN.txt is that account's alone (0600).
  root_folder "$enroll_dir"
  if [[ -n $user_tokens || -e $enroll_dir/users || -L $enroll_dir/users ]]; then
    root_folder "$enroll_dir/users"
  fi
  if [[ -n $token_file ]]; then
    [[ $token_file != - ]] || die "--token-file - is not for an install for all users: give a file"
    [[ -r $token_file ]] || die "cannot read token file $token_file"
    place_token "$token_file" "$enroll_dir/token.txt" root 0644
    say "the first user to log in enrolls with $enroll_dir/token.txt (every user can read it)"
  elif [[ -e $enroll_dir/token.txt || -L $enroll_dir/token.txt ]]; then
    protect "$enroll_dir/token.txt" root 0644
  fi
  if [[ -n $user_tokens ]]; then
    [[ -d $user_tokens ]] || die "--user-tokens must be a folder of LOGIN.txt files"
    for source in "$user_tokens"/*.txt; do
      [[ -f $source ]] || continue
      if login="$(account_of "$source")"; then
        place_token "$source" "$enroll_dir/users/$login.txt" "$login" 0600
      else
        say "warning: no account '$(basename "$source" .txt)' on this Mac: $source was not placed"
      fi
    done
  fi
  # Tokens put in users/ by hand as well: each readable by its own account only.
  for target in "$enroll_dir"/users/*.txt; do
    [[ -e $target || -L $target ]] || continue
    if login="$(account_of "$target")"; then
      protect "$target" "$login" 600
    else
      protect "$target" root 600
      say "warning: no account '$(basename "$target" .txt)' on this Mac: $target is readable by root only"
    fi
  done
  if [[ -z $token_file && -z $user_tokens && ! -f $enroll_dir/token.txt ]] \
    && ! compgen -G "$enroll_dir/users/*.txt" >/dev/null; then
    say "warning: no --token-file: put tokens in $enroll_dir (token.txt, or users/LOGIN.txt) before users log in"
  fi
elif [[ $dry == 0 || -x $agent ]] && "$agent" status --json 2>/dev/null | grep -q '"device_id"'; then
  say "already enrolled; not enrolling again"
else
  [[ -n $token_file ]] || die "--token-file FILE is required for the first install"
  if [[ $token_file == - ]]; then
    # Piped into bash, standard input is the rest of this script.
    [[ -f ${BASH_SOURCE[0]:-} ]] || die "--token-file - does not work when the script is piped: give a file"
    act "$agent" enroll --server "$server" --token-file -
  else
    [[ -r $token_file ]] || die "cannot read token file $token_file"
    act "$agent" enroll --server "$server" --token-file "$token_file"
  fi
  ((dry)) || say "enrolled with $server"
fi

# 3. Start at login.
# place TARGET CONTENT: write only when it differs (returns 1 when unchanged).
place() {
  local target="$1" content="$2"
  if [[ -f $target ]] && [[ "$(cat "$target")" == "$content" ]]; then
    say "$target unchanged"
    return 1
  fi
  if ((dry)); then
    say "would write $target:"
    printf -- '----- begin %s -----\n%s\n----- end %s -----\n' "$target" "$content" "$target"
    return 0
  fi
  mkdir -p "$(dirname "$target")"
  printf '%s\n' "$content" > "$target"
  say "wrote $target"
}
xml_escape() { sed -e 's/&/\&amp;/g' -e 's/</\&lt;/g' -e 's/>/\&gt;/g' <<<"$1"; }

launch_agent_plist() {  # the LaunchAgent: this user's, or every user's
  local program logs="" keep_alive="<true/>"
  program="$(xml_escape "$agent")"
  local args="        <string>$program</string>
        <string>run</string>"
  if ((all_users)); then
    args="$args
        <string>--enroll-from</string>
        <string>$(xml_escape "$enroll_dir")</string>
        <string>--server</string>
        <string>$(xml_escape "$server")</string>"
    # Started again only after a crash (a signal), not after an exit with a status: a
    # refused token (exit 3: used, expired, revoked) would otherwise be retried every
    # minute for ever. launchd cannot tell one exit status from another, and a shell
    # around the agent would become the program macOS asks Input Monitoring for; the
    # agent retries network errors itself, so an exit means "until the next login".
    keep_alive="<dict>
        <key>Crashed</key>
        <true/>
    </dict>"
  else
    # One user's: launchd's own output beside the agent's log (the agent logs itself).
    logs="
    <key>StandardOutPath</key>
    <string>$(xml_escape "$HOME/Library/Logs/chattertrack/launchd.out.log")</string>
    <key>StandardErrorPath</key>
    <string>$(xml_escape "$HOME/Library/Logs/chattertrack/launchd.err.log")</string>"
  fi
  cat <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
    <key>Label</key>
    <string>com.chattertrack.agent</string>
    <key>ProgramArguments</key>
    <array>
$args
    </array>
    <key>RunAtLoad</key>
    <true/>
    <key>KeepAlive</key>
    $keep_alive
    <key>ThrottleInterval</key>
    <integer>60</integer>
    <key>ProcessType</key>
    <string>Background</string>
    <key>LimitLoadToSessionType</key>
    <string>Aqua</string>$logs
</dict>
</plist>
EOF
}

systemd_unit() {
  cat <<EOF
[Unit]
Description=ChatterTrack agent (counts input, never which key)
After=graphical-session.target
PartOf=graphical-session.target

[Service]
Type=simple
ExecStart="$agent" run
Restart=always
RestartSec=5
# The agent is light; keep it that way if something goes wrong.
MemoryMax=200M
Nice=5

[Install]
WantedBy=graphical-session.target default.target
EOF
}

desktop_entry() {
  cat <<EOF
[Desktop Entry]
Type=Application
Name=ChatterTrack agent
Comment=Counts keyboard and mouse input (never which key) for ChatterTrack
Exec="$agent" run
X-GNOME-Autostart-enabled=true
NoDisplay=true
Terminal=false
EOF
}

if [[ $os == Darwin ]]; then
  if ((all_users)); then
    plist="${CHATTERTRACK_LAUNCH_AGENTS:-/Library/LaunchAgents}/com.chattertrack.agent.plist"
  else
    plist="$HOME/Library/LaunchAgents/com.chattertrack.agent.plist"
    act mkdir -p "$HOME/Library/Logs/chattertrack"
  fi
  changed=0
  place "$plist" "$(launch_agent_plist)" && changed=1
  if ((all_users)); then act chmod 0644 "$plist"; act chown 0:0 "$plist"; fi  # root:wheel
  # The user to start it for now: this one, or (all users) whoever is at the screen.
  uid="$(id -u)"
  if ((all_users)); then uid="$(stat -f %u /dev/console 2>/dev/null || echo 0)"; fi
  if [[ $start == 1 && $uid != 0 ]] && ((changed || ${bundle_changed:-0})); then
    act launchctl bootout "gui/$uid/com.chattertrack.agent" 2>/dev/null || true
    act launchctl bootstrap "gui/$uid" "$plist"
    say "started the LaunchAgent com.chattertrack.agent"
  fi
  say "macOS asks once to allow Input Monitoring for $agent (System Settings >"
  say "Privacy & Security > Input Monitoring): the agent counts nothing until it is allowed"
else
  config_home="${XDG_CONFIG_HOME:-$HOME/.config}"
  unit="$config_home/systemd/user/chattertrack-agent.service"
  changed=0
  place "$unit" "$(systemd_unit)" && changed=1
  if [[ $start == 1 ]] && systemctl --user show-environment >/dev/null 2>&1; then
    ((changed)) && act systemctl --user daemon-reload
    if systemctl --user is-enabled --quiet chattertrack-agent.service 2>/dev/null; then
      say "systemd user service already enabled"
      if ((changed || ${bundle_changed:-0})); then act systemctl --user restart chattertrack-agent.service; fi
    else
      act systemctl --user enable --now chattertrack-agent.service
      say "enabled and started the systemd user service chattertrack-agent"
    fi
  else
    desktop="$config_home/autostart/chattertrack-agent.desktop"
    place "$desktop" "$(desktop_entry)" || true
    say "no systemd user session here: the agent starts at the next graphical login (XDG autostart)"
  fi
fi
say "done. Check with: chatter-agent status"
