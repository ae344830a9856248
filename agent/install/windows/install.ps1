<#
.SYNOPSIS
  Install the ChatterTrack agent on this PC for every user, silently (no Python needed).
.DESCRIPTION
  Run it elevated or as SYSTEM (a GPO startup script, Intune, an RMM tool). It installs the
  agent's self-contained bundle in Program Files, starts the agent at every user's logon
  (HKLM Run key: as that user, no console window), and adds an Add/Remove Programs entry.
  Each user's agent enrolls at its first start from a token IT placed in
  ProgramData\ChatterTrack\enroll: -TokenFile becomes token.txt there (the first user of the
  PC to log on enrolls with it: one token is one chatter), and -UserTokens copies a folder of
  <login name>.txt files (one chatter's token per Windows account of a shared PC).
  Without -Bundle it downloads the newest chattertrack-agent-*-windows-x86_64.zip listed in
  SERVER/agent/downloads/SHA256SUMS and refuses it if its SHA-256 differs.
  Idempotent: running it again changes nothing and says so. -DryRun prints what it would do.
.EXAMPLE
  powershell -NoProfile -ExecutionPolicy Bypass -File install.ps1 -Server https://track.example.com -TokenFile \\files\it\tokens\pc-042.txt
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory = $true)][string]$Server,
    [string]$TokenFile = "",
    [string]$UserTokens = "",
    [string]$Bundle = "",
    [string]$Prefix = (Join-Path $env:ProgramFiles "ChatterTrack\agent"),
    [switch]$DryRun
)
$ErrorActionPreference = "Stop"

$Name = "ChatterTrack agent"
$RunKey = "HKLM:\Software\Microsoft\Windows\CurrentVersion\Run"
$UninstallKey = "HKLM:\Software\Microsoft\Windows\CurrentVersion\Uninstall\ChatterTrackAgent"
$DataRoot = Join-Path $env:ProgramData "ChatterTrack"
$EnrollDir = Join-Path $DataRoot "enroll"
$Background = Join-Path $Prefix "chatter-agent-background.exe"
$Agent = Join-Path $Prefix "chatter-agent.exe"
$Server = $Server.TrimEnd("/")

function Say([string]$Message) { Write-Output "chattertrack: $Message" }

# Step "what" { change }: does it, or under -DryRun only says it.
function Step([string]$What, [scriptblock]$Change) {
    if ($DryRun) { Say "would $What" } else { & $Change; Say $What }
}

# A native command's exit code, its output as text. Windows PowerShell 5.1 turns each line
# a native program writes to stderr into an error record, which $ErrorActionPreference =
# "Stop" makes a terminating error (PowerShell issue 4002): "Continue" while it runs, and
# the exit code decides.
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

function Test-Administrator {
    $identity = [Security.Principal.WindowsIdentity]::GetCurrent()
    $principal = New-Object Security.Principal.WindowsPrincipal($identity)
    return $principal.IsInRole([Security.Principal.WindowsBuiltInRole]::Administrator)
}

# "0.10.2" sorts after "0.9.1": each dotted part's number padded, its suffix kept.
function Get-VersionKey([string]$Version) {
    $parts = @($Version.Split(".") + @("0", "0", "0", "0"))[0..3]
    $keys = foreach ($part in $parts) {
        $m = [regex]::Match($part, "^(\d*)(.*)$")
        $number = if ($m.Groups[1].Value) { [long]$m.Groups[1].Value } else { 0 }
        $rest = if ($m.Groups[2].Value) { $m.Groups[2].Value } else { "~" }
        "{0:D9}{1}" -f $number, $rest
    }
    return ($keys -join ".")
}

if ($DryRun) {
    Say "dry run: nothing is changed"
} elseif (-not (Test-Administrator)) {
    throw "run this elevated (as an administrator) or as SYSTEM: it installs for every user of the PC"
}
if ($Server -notmatch "^https?://") { throw "-Server must be an http(s) URL" }

# 1. The bundle: a local .zip, or the newest one the collector offers, checked.
$Work = Join-Path ([IO.Path]::GetTempPath()) ("chattertrack-install-" + [guid]::NewGuid())
New-Item -ItemType Directory -Path $Work | Out-Null
try {
    $Expected = ""
    if ($Bundle) {
        if (-not (Test-Path -LiteralPath $Bundle -PathType Leaf)) { throw "cannot read $Bundle" }
        $Archive = (Resolve-Path -LiteralPath $Bundle).Path
        $ArchiveName = Split-Path -Leaf $Archive
        $Sums = Join-Path (Split-Path -Parent $Archive) "SHA256SUMS"
        if (Test-Path -LiteralPath $Sums) {
            foreach ($line in Get-Content -LiteralPath $Sums) {
                $fields = $line -split "\s+\*?", 2
                if ($fields.Count -eq 2 -and $fields[1] -eq $ArchiveName) { $Expected = $fields[0] }
            }
        }
    } elseif ($DryRun) {
        Say "would download $Server/agent/downloads/SHA256SUMS and the newest chattertrack-agent-*-windows-x86_64.zip it lists, and check its SHA-256"
        $Archive = ""
        $ArchiveName = "chattertrack-agent-VERSION-windows-x86_64.zip"
    } else {
        # Windows PowerShell 5.1 may not offer TLS 1.2 by default.
        [Net.ServicePointManager]::SecurityProtocol = [Net.ServicePointManager]::SecurityProtocol -bor [Net.SecurityProtocolType]::Tls12
        $SumsFile = Join-Path $Work "SHA256SUMS"
        Invoke-WebRequest -UseBasicParsing -Uri "$Server/agent/downloads/SHA256SUMS" -OutFile $SumsFile
        $offers = foreach ($line in Get-Content -LiteralPath $SumsFile) {
            $m = [regex]::Match($line, "^([0-9a-fA-F]{64})\s+\*?(chattertrack-agent-([0-9][0-9A-Za-z.+-]*)-windows-x86_64\.zip)$")
            if ($m.Success) {
                [pscustomobject]@{ Sha = $m.Groups[1].Value; File = $m.Groups[2].Value; Key = (Get-VersionKey $m.Groups[3].Value) }
            }
        }
        $newest = @($offers | Sort-Object -Property Key -Descending)
        if ($newest.Count -eq 0) { throw "the collector offers no chattertrack-agent-*-windows-x86_64.zip (ask IT to build it)" }
        $ArchiveName = $newest[0].File
        $Expected = $newest[0].Sha
        $Archive = Join-Path $Work $ArchiveName
        Say "downloading $ArchiveName"
        Invoke-WebRequest -UseBasicParsing -Uri "$Server/agent/downloads/$ArchiveName" -OutFile $Archive
    }
    $Actual = ""
    if ($Archive) {
        $Actual = (Get-FileHash -LiteralPath $Archive -Algorithm SHA256).Hash.ToLowerInvariant()
        if ($Expected -and $Actual -ne $Expected.ToLowerInvariant()) {
            throw "SHA-256 mismatch for ${ArchiveName}: expected $Expected, got $Actual; refusing to install it"
        }
        if ($Expected) { Say "SHA-256 of $ArchiveName checked" }
    }

    $Marker = Join-Path $Prefix ".archive-sha256"
    if ($Actual -and (Test-Path -LiteralPath $Marker) -and ((Get-Content -LiteralPath $Marker -Raw).Trim() -eq $Actual)) {
        Say "agent bundle $ArchiveName already installed in $Prefix"
    } else {
        Step "unpack $ArchiveName into $Prefix" {
            $unpacked = Join-Path $Work "unpacked"
            Expand-Archive -LiteralPath $Archive -DestinationPath $unpacked -Force
            $folder = @(Get-ChildItem -LiteralPath $unpacked -Directory)[0].FullName
            if (-not (Test-Path -LiteralPath (Join-Path $folder "chatter-agent-background.exe"))) {
                throw "$ArchiveName holds no chatter-agent-background.exe"
            }
            # Running agents hold their files: they stop here (at most their last ten
            # seconds of counts are lost) and start again, new, at their user's next logon.
            Get-Process -Name "chatter-agent", "chatter-agent-background" -ErrorAction SilentlyContinue |
                Where-Object { $_.Path -and $_.Path.StartsWith($Prefix, [StringComparison]::OrdinalIgnoreCase) } |
                Stop-Process -Force
            if (Test-Path -LiteralPath $Prefix) { Remove-Item -LiteralPath $Prefix -Recurse -Force }
            New-Item -ItemType Directory -Path (Split-Path -Parent $Prefix) -Force | Out-Null
            Move-Item -LiteralPath $folder -Destination $Prefix
            Set-Content -LiteralPath $Marker -Value $Actual -Encoding ASCII
        }
    }
} finally {
    Remove-Item -LiteralPath $Work -Recurse -Force -ErrorAction SilentlyContinue
}

if (-not $DryRun) {
    $version = Invoke-Native $Agent @("--version")
    if ($version.Code -ne 0) { throw "$Agent does not start: $($version.Output)" }
    Say "installed: $($version.Output)"
}

# 2. The tokens each user's first start enrolls from. Only administrators and SYSTEM may
# change the folder (otherwise one user could plant a token for another); users read it.
if (-not (Test-Path -LiteralPath $EnrollDir)) {
    Step "create $EnrollDir" { New-Item -ItemType Directory -Path $EnrollDir -Force | Out-Null }
}
Step "restrict $DataRoot to administrators and SYSTEM (users may read)" {
    $acl = Invoke-Native "icacls.exe" @($DataRoot, "/inheritance:r", "/grant:r",
        "*S-1-5-18:(OI)(CI)F", "*S-1-5-32-544:(OI)(CI)F", "*S-1-5-32-545:(OI)(CI)RX")
    if ($acl.Code -ne 0) { throw "icacls failed: $($acl.Output)" }
}
if ($TokenFile) {
    if (-not (Test-Path -LiteralPath $TokenFile -PathType Leaf)) { throw "cannot read token file $TokenFile" }
    Step "copy the token to $EnrollDir\token.txt (the first user to log on enrolls with it)" {
        Copy-Item -LiteralPath $TokenFile -Destination (Join-Path $EnrollDir "token.txt") -Force
    }
}
if ($UserTokens) {
    if (-not (Test-Path -LiteralPath $UserTokens -PathType Container)) { throw "-UserTokens must be a folder of LOGIN.txt files" }
    $users = Join-Path $EnrollDir "users"
    Step "copy the per-user tokens of $UserTokens to $users" {
        New-Item -ItemType Directory -Path $users -Force | Out-Null
        Copy-Item -Path (Join-Path $UserTokens "*.txt") -Destination $users -Force
    }
}
$tokens = @(Get-ChildItem -Path $EnrollDir -Recurse -Filter "*.txt" -ErrorAction SilentlyContinue)
if (-not $TokenFile -and -not $UserTokens -and $tokens.Count -eq 0) {
    Say "warning: no token given: put token.txt (or users\LOGIN.txt) in $EnrollDir before users log on"
}

# 3. Start at every user's logon, as that user, without a console window.
$command = "`"$Background`" run --enroll-from `"$EnrollDir`" --server $Server"
$current = (Get-ItemProperty -Path $RunKey -Name $Name -ErrorAction SilentlyContinue)
if ($current -and $current.$Name -eq $command) {
    Say "logon entry '$Name' already in place"
} else {
    Step "set the logon entry '$Name' ($RunKey): $command" {
        Set-ItemProperty -Path $RunKey -Name $Name -Value $command
    }
}
# The per-user scheduled task of earlier versions of this installer.
$legacy = Get-ScheduledTask -TaskName $Name -ErrorAction SilentlyContinue
if ($legacy) {
    Step "remove the older per-user scheduled task '$Name'" {
        Unregister-ScheduledTask -TaskName $Name -Confirm:$false
    }
}

# 4. chatter-agent on every user's PATH (chatter-agent status), and the uninstall entry.
$machinePath = [Environment]::GetEnvironmentVariable("Path", "Machine")
if (($machinePath -split ";") -contains $Prefix) {
    Say "$Prefix already on the PATH"
} else {
    Step "add $Prefix to the PATH of every user" {
        [Environment]::SetEnvironmentVariable("Path", ($machinePath.TrimEnd(";") + ";" + $Prefix), "Machine")
    }
}
$uninstall = "powershell.exe -NoProfile -ExecutionPolicy Bypass -File `"$Prefix\uninstall.ps1`""
$entry = [ordered]@{
    DisplayName = $Name
    Publisher = "ChatterTrack"
    InstallLocation = $Prefix
    DisplayIcon = $Agent
    UninstallString = $uninstall
    QuietUninstallString = $uninstall
}
$existing = Get-ItemProperty -Path $UninstallKey -ErrorAction SilentlyContinue
$same = $existing -and @($entry.Keys | Where-Object { $existing.$_ -ne $entry[$_] }).Count -eq 0
if ($same) {
    Say "Add/Remove Programs entry already in place"
} else {
    Step "register '$Name' in Add/Remove Programs" {
        New-Item -Path $UninstallKey -Force | Out-Null
        foreach ($key in $entry.Keys) { Set-ItemProperty -Path $UninstallKey -Name $key -Value $entry[$key] }
        Set-ItemProperty -Path $UninstallKey -Name "NoModify" -Value 1 -Type DWord
        Set-ItemProperty -Path $UninstallKey -Name "NoRepair" -Value 1 -Type DWord
    }
}
Say "done: the agent starts at each user's next logon and enrolls then; check with: chatter-agent status"
