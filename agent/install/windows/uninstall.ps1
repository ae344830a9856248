<#
.SYNOPSIS
  Remove the ChatterTrack agent of the current user.
.DESCRIPTION
  Unsent slices stay in the agent's data folder unless -Purge is given.
#>
param(
    [string]$Prefix = (Join-Path $env:LOCALAPPDATA "ChatterTrack\agent"),
    [switch]$Purge
)
$ErrorActionPreference = "Stop"
function Say([string]$Message) { Write-Host "chattertrack: $Message" }

$TaskName = "ChatterTrack agent"
$Python = Join-Path $Prefix "venv\Scripts\python.exe"

$task = Get-ScheduledTask -TaskName $TaskName -ErrorAction SilentlyContinue
if ($task) {
    Stop-ScheduledTask -TaskName $TaskName -ErrorAction SilentlyContinue
    Unregister-ScheduledTask -TaskName $TaskName -Confirm:$false
    Say "removed scheduled task '$TaskName'"
}
if ($Purge -and (Test-Path $Python)) {
    & $Python -c "import shutil; from agent import paths; [shutil.rmtree(p, ignore_errors=True) for p in (paths.config_dir(), paths.data_dir(), paths.log_dir())]"
    Say "removed the agent's configuration, data and logs"
}
if (Test-Path $Prefix) {
    Remove-Item -Recurse -Force $Prefix
    Say "removed $Prefix"
}
Say "uninstalled"
