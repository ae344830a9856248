<#
.SYNOPSIS
  Remove the ChatterTrack agent from this PC (the per-machine install), silently.
.DESCRIPTION
  Run elevated or as SYSTEM; Add/Remove Programs runs it too. For every Windows account on
  the PC whose agent is enrolled it first tells the collector ('chatter-agent retire': the
  device then shows as uninstalled; if the collector cannot be reached it warns and goes on).
  Each user's configuration, unsent slices and logs stay unless -Purge is given; -Purge
  refuses while any account has unsent slices (it says how many) unless -Yes is given too.
  -DryRun prints what it would do.
#>
[CmdletBinding()]
param(
    [string]$Prefix = (Join-Path $env:ProgramFiles "ChatterTrack\agent"),
    [switch]$Purge,
    [switch]$Yes,
    [switch]$DryRun
)
$ErrorActionPreference = "Stop"

$Name = "ChatterTrack agent"
$RunKey = "HKLM:\Software\Microsoft\Windows\CurrentVersion\Run"
$UninstallKey = "HKLM:\Software\Microsoft\Windows\CurrentVersion\Uninstall\ChatterTrackAgent"
$DataRoot = Join-Path $env:ProgramData "ChatterTrack"
$Agent = Join-Path $Prefix "chatter-agent.exe"

function Say([string]$Message) { Write-Output "chattertrack: $Message" }
function Warn([string]$Message) { Write-Warning "chattertrack: $Message" }
function Step([string]$What, [scriptblock]$Change) {
    if ($DryRun) { Say "would $What" } else { & $Change; Say $What }
}
# See install.ps1: stderr of a native program must not stop Windows PowerShell 5.1.
function Invoke-Native([string]$Program, [string[]]$Arguments) {
    $saved = $ErrorActionPreference
    $ErrorActionPreference = "Continue"
    try {
        $output = & $Program @Arguments 2>&1 | ForEach-Object { "$_" }
        return [pscustomobject]@{ Code = $LASTEXITCODE; Output = ($output -join "`n") }
    } finally {
        $ErrorActionPreference = $saved
    }
}

if ($Yes -and -not $Purge) { throw "-Yes only goes with -Purge" }
if ($DryRun) { Say "dry run: nothing is changed" }

# Every account's agent: its local application data folder, where platformdirs puts the
# agent's files; the agent run with WIN_PD_OVERRIDE_LOCAL_APPDATA acts on that account's.
$profiles = @()
$profileList = "HKLM:\SOFTWARE\Microsoft\Windows NT\CurrentVersion\ProfileList"
foreach ($item in Get-ChildItem -Path $profileList -ErrorAction SilentlyContinue) {
    $profileHome = (Get-ItemProperty -Path $item.PSPath -Name ProfileImagePath -ErrorAction SilentlyContinue).ProfileImagePath
    if ($profileHome) {
        $local = Join-Path $profileHome "AppData\Local"
        if (Test-Path -LiteralPath (Join-Path $local "chattertrack\agent\agent.json")) { $profiles += $local }
    }
}
function Invoke-AgentFor([string]$LocalAppData, [string[]]$Arguments) {
    $env:WIN_PD_OVERRIDE_LOCAL_APPDATA = $LocalAppData
    try { return Invoke-Native $Agent $Arguments } finally { Remove-Item Env:\WIN_PD_OVERRIDE_LOCAL_APPDATA }
}
$haveAgent = Test-Path -LiteralPath $Agent

# Before anything is removed: -Purge without -Yes must not get half way.
if ($Purge -and -not $Yes -and $haveAgent) {
    foreach ($local in $profiles) {
        $status = Invoke-AgentFor $local @("status", "--json")
        $m = [regex]::Match($status.Output, '"queued_slices":\s*(\d+)')
        if ($m.Success -and [int]$m.Groups[1].Value -gt 0) {
            throw "$($m.Groups[1].Value) slices of $local were not sent yet: nothing was removed. Run again with -Purge -Yes to delete them, or without -Purge to keep them"
        }
    }
}

# 1. No more starts, and the running agents stopped (so they send nothing after retiring).
if (Get-ItemProperty -Path $RunKey -Name $Name -ErrorAction SilentlyContinue) {
    Step "remove the logon entry '$Name'" { Remove-ItemProperty -Path $RunKey -Name $Name }
}
$running = @(Get-Process -Name "chatter-agent", "chatter-agent-background" -ErrorAction SilentlyContinue |
    Where-Object { $_.Path -and $_.Path.StartsWith($Prefix, [StringComparison]::OrdinalIgnoreCase) })
if ($running.Count -gt 0) {
    Step "stop $($running.Count) running agent(s)" { $running | Stop-Process -Force }
}

# 2. Tell the collector for each account, then (-Purge) delete that account's agent files.
$kept = $false
if ($haveAgent) {
    foreach ($local in $profiles) {
        if ($DryRun) { Say "would run: chatter-agent retire (for $local)"; continue }
        $retire = Invoke-AgentFor $local @("retire")
        if ($retire.Code -eq 0) {
            Say "the collector now lists the device of $local as uninstalled"
        } else {
            Warn "the collector was not told for ${local}: $($retire.Output); the device stays listed as active until an admin retires it on the Devices page"
        }
    }
    if ($Purge) {
        $purgeArgs = @("purge")
        if ($Yes) { $purgeArgs += "--yes" }
        foreach ($local in $profiles) {
            if ($DryRun) { Say "would run: chatter-agent $($purgeArgs -join ' ') (for $local)"; continue }
            $purged = Invoke-AgentFor $local $purgeArgs
            if ($purged.Code -eq 0) {
                Say "removed the agent's configuration, data and logs of $local"
            } else {
                Warn "kept the agent's files of ${local}: $($purged.Output)"
                $kept = $true
            }
        }
    }
}

# 3. The program, the tokens, the PATH entry and the uninstall entry.
if (Test-Path -LiteralPath $Prefix) {
    Step "remove $Prefix" { Remove-Item -LiteralPath $Prefix -Recurse -Force }
}
if (Test-Path -LiteralPath $DataRoot) {
    Step "remove $DataRoot (the enrollment tokens)" { Remove-Item -LiteralPath $DataRoot -Recurse -Force }
}
$machinePath = [Environment]::GetEnvironmentVariable("Path", "Machine")
$parts = @($machinePath -split ";" | Where-Object { $_ -and $_ -ne $Prefix })
if ($parts.Count -ne @($machinePath -split ";" | Where-Object { $_ }).Count) {
    Step "remove $Prefix from the PATH" {
        [Environment]::SetEnvironmentVariable("Path", ($parts -join ";"), "Machine")
    }
}
if (Test-Path -Path $UninstallKey) {
    Step "remove the Add/Remove Programs entry" { Remove-Item -Path $UninstallKey -Recurse -Force }
}
if (-not $Purge -and $profiles.Count -gt 0) {
    Say "each account's configuration and unsent slices are kept (reinstall to send them; -Purge deletes them)"
}
if ($kept) { exit 1 }
Say "uninstalled"
