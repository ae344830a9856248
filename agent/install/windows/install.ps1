<#
.SYNOPSIS
  Install the ChatterTrack agent for the current user, enroll it, and start it at logon.
.DESCRIPTION
  Idempotent: running it again changes nothing. The enrollment token is read from a file,
  never from the command line (the process list and shell history would show it).
.EXAMPLE
  powershell -ExecutionPolicy Bypass -File install.ps1 -Server https://track.example.com -TokenFile C:\it\token.txt
#>
param(
    [Parameter(Mandatory = $true)][string]$Server,
    [string]$TokenFile = "",
    [string]$From = "chattertrack",
    [string]$Prefix = (Join-Path $env:LOCALAPPDATA "ChatterTrack\agent"),
    [switch]$NoStart
)
$ErrorActionPreference = "Stop"
function Say([string]$Message) { Write-Host "chattertrack: $Message" }

$TaskName = "ChatterTrack agent"
$Venv = Join-Path $Prefix "venv"
$Python = Join-Path $Venv "Scripts\python.exe"
$Agent = Join-Path $Venv "Scripts\chatter-agent.exe"
$AgentW = Join-Path $Venv "Scripts\pythonw.exe"

# 1. The agent in its own virtual environment.
if (Test-Path $Python) {
    Say "virtual environment $Venv already exists"
} else {
    $launcher = Get-Command py -ErrorAction SilentlyContinue
    if ($launcher) { & py -3 -m venv $Venv } else { & python -m venv $Venv }
    if ($LASTEXITCODE -ne 0) { throw "could not create $Venv (is Python 3.11+ installed?)" }
    Say "created virtual environment $Venv"
}
& $Python -m pip install --quiet --disable-pip-version-check "$From[agent]"
if ($LASTEXITCODE -ne 0) { throw "pip install $From[agent] failed" }
Say "agent package installed ($From)"

# 2. Enrollment (once).
& $Agent status *> $null
if ($LASTEXITCODE -eq 0) {
    Say "already enrolled; not enrolling again"
} else {
    if (-not $TokenFile) { throw "-TokenFile is required for the first install" }
    if (-not (Test-Path $TokenFile)) { throw "cannot read token file $TokenFile" }
    & $Agent enroll --server $Server --token-file $TokenFile
    if ($LASTEXITCODE -ne 0) { throw "enrollment failed" }
    Say "enrolled with $Server"
}

# 3. Start at logon: a per-user scheduled task, no console window, restarted on failure.
$action = New-ScheduledTaskAction -Execute $AgentW -Argument "-m agent run" -WorkingDirectory $Prefix
$trigger = New-ScheduledTaskTrigger -AtLogOn -User "$env:USERDOMAIN\$env:USERNAME"
$settings = New-ScheduledTaskSettingsSet -AllowStartIfOnBatteries -DontStopIfGoingOnBatteries `
    -RestartCount 999 -RestartInterval (New-TimeSpan -Minutes 1) -ExecutionTimeLimit ([TimeSpan]::Zero)
$principal = New-ScheduledTaskPrincipal -UserId "$env:USERDOMAIN\$env:USERNAME" -LogonType Interactive -RunLevel Limited
$existing = Get-ScheduledTask -TaskName $TaskName -ErrorAction SilentlyContinue
if ($existing -and $existing.Actions[0].Execute -eq $AgentW) {
    Say "scheduled task '$TaskName' already registered"
} else {
    Register-ScheduledTask -TaskName $TaskName -Action $action -Trigger $trigger -Settings $settings `
        -Principal $principal -Force | Out-Null
    Say "registered scheduled task '$TaskName' (runs at logon)"
}
if (-not $NoStart) {
    $task = Get-ScheduledTask -TaskName $TaskName
    if ($task.State -ne "Running") {
        Start-ScheduledTask -TaskName $TaskName
        Say "started the agent"
    } else {
        Say "agent already running"
    }
}
Say "done. Check with: $Agent status"
