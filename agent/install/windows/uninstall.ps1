<#
.SYNOPSIS
  Remove the ChatterTrack agent from this PC (the per-machine install), silently.
.DESCRIPTION
  Run elevated or as SYSTEM; Add/Remove Programs runs it too. For every Windows account on
  the PC whose agent is enrolled it first tells the collector ('chatter-agent retire': the
  device then shows as uninstalled; if the collector cannot be reached it warns and goes on),
  after its running agents have exited. Each user's configuration, unsent slices and logs
  stay unless -Purge is given; -Purge refuses, before it removes anything, while any account
  has unsent slices (queued or parked: it says how many) unless -Yes is given too, and if an
  account's files cannot be purged the program stays, so that this can run again.
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

# The machine PATH as stored (see install.ps1: REG_EXPAND_SZ, its %VARIABLES% kept).
$EnvironmentKey = "SYSTEM\CurrentControlSet\Control\Session Manager\Environment"
function Get-MachinePath {
    $key = [Microsoft.Win32.Registry]::LocalMachine.OpenSubKey($EnvironmentKey, $false)
    try {
        return [string]$key.GetValue("Path", "", [Microsoft.Win32.RegistryValueOptions]::DoNotExpandEnvironmentNames)
    } finally {
        $key.Close()
    }
}
function Set-MachinePath([string]$Value) {
    $key = [Microsoft.Win32.Registry]::LocalMachine.OpenSubKey($EnvironmentKey, $true)
    try {
        $key.SetValue("Path", $Value, [Microsoft.Win32.RegistryValueKind]::ExpandString)
    } finally {
        $key.Close()
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

# Before anything is removed: -Purge without -Yes must not get half way ('chatter-agent
# purge' refuses while slices are queued or parked).
function Get-Count([string]$Status, [string]$Field) {
    $m = [regex]::Match($Status, '"' + $Field + '":\s*(\d+)')
    if ($m.Success) { return [int]$m.Groups[1].Value }
    return 0
}
if ($Purge -and -not $Yes -and $haveAgent) {
    foreach ($local in $profiles) {
        $status = (Invoke-AgentFor $local @("status", "--json")).Output
        $queued = Get-Count $status "queued_slices"
        $parked = Get-Count $status "parked_slices"
        $keep = "nothing was removed. Run again with -Purge -Yes to delete them, or without -Purge to keep them"
        if ($parked -gt 0) {
            throw "$($queued + $parked) slices of $local were not sent yet ($queued queued, $parked parked: the collector refused those, and parked slices are not sent again by themselves; 'chatter-agent status' says why, and 'chatter-agent retry-parked' queues them again): $keep"
        } elseif ($queued -gt 0) {
            throw "$queued slices of $local were not sent yet (that account's agent sends them while it runs): $keep"
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
    # Retiring waits until they have exited: a batch still being sent would reach the
    # collector after the retirement and list the device as active again.
    Step "stop $($running.Count) running agent(s)" {
        $running | Stop-Process -Force -ErrorAction SilentlyContinue
        foreach ($process in $running) {
            if (-not $process.WaitForExit(30000)) {
                throw "the agent (process $($process.Id)) did not stop: nothing was told to the collector and the program was kept; run this again"
            }
        }
    }
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
            Warn "the collector was not told for ${local}: $($retire.Output); the device stays listed as active: revoke it on Admin > Devices if it should never send again"
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

# Never the program without an account's data: nothing could deal with that data any more.
if ($kept) {
    throw "the agent's files of some accounts were kept (see above), and so is the program in $Prefix (the agents no longer start at logon): deal with the above and run this again"
}

# 3. The program, the tokens, the PATH entry and the uninstall entry.
if (Test-Path -LiteralPath $Prefix) {
    Step "remove $Prefix" { Remove-Item -LiteralPath $Prefix -Recurse -Force }
}
if (Test-Path -LiteralPath $DataRoot) {
    # rd removes a junction inside without following it (Windows PowerShell's Remove-Item
    # -Recurse may delete what one points to).
    Step "remove $DataRoot (the enrollment tokens)" {
        $removed = Invoke-Native "cmd.exe" @("/d", "/c", "rd", "/s", "/q", $DataRoot)
        if (Test-Path -LiteralPath $DataRoot) { throw "could not remove ${DataRoot}: $($removed.Output)" }
    }
}
$machinePath = Get-MachinePath
$parts = @($machinePath -split ";" | Where-Object { $_ -and $_ -ne $Prefix })
if ($parts.Count -ne @($machinePath -split ";" | Where-Object { $_ }).Count) {
    Step "remove $Prefix from the PATH" { Set-MachinePath ($parts -join ";") }
}
if (Test-Path -Path $UninstallKey) {
    Step "remove the Add/Remove Programs entry" { Remove-Item -Path $UninstallKey -Recurse -Force }
}
if (-not $Purge -and $profiles.Count -gt 0) {
    Say "each account's configuration and unsent slices are kept (reinstall to send them; -Purge deletes them)"
}
Say "uninstalled"
