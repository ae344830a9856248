<#
.SYNOPSIS
  Install the ChatterTrack agent on this PC for every user, silently (no Python needed).
.DESCRIPTION
  Run it elevated or as SYSTEM (a GPO startup script, Intune, an RMM tool). It installs the
  agent's self-contained bundle in Program Files, starts the agent at every user's logon
  (HKLM Run key: as that user, no console window), and adds an Add/Remove Programs entry.
  Each user's agent enrolls at its first start from a token IT placed in
  ProgramData\ChatterTrack\enroll: -TokenFile becomes token.txt there (the first user of the
  PC to log on enrolls with it: one token is one chatter; every user can read it, which is
  what it is for), and -UserTokens copies a folder of <login name>.txt files (one chatter's
  token per Windows account of a shared PC), each readable by SYSTEM, administrators and
  that account only. The -TokenFile given is deleted once its copy is in place.
  Only administrators and SYSTEM may change ProgramData\ChatterTrack: if it exists owned by
  anyone else (a user may have created it to plant tokens), it is moved aside and made anew;
  junctions and links inside it are refused.
  Without -Bundle it downloads the newest chattertrack-agent-*-windows-x86_64.zip listed in
  SERVER/agent/downloads/SHA256SUMS and refuses it if its SHA-256 differs; a -Bundle file is
  checked against the SHA256SUMS beside it (refused if that file does not list it, unless
  -NoChecksum is given).
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
    [switch]$NoChecksum,
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

# The machine PATH as stored: REG_EXPAND_SZ, its %VARIABLES% unexpanded.
# [Environment]::SetEnvironmentVariable would write it back expanded, as REG_SZ.
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
    # Programs started from now on (a new console) see it; logons read the registry anyway.
    try {
        Add-Type -Namespace ChatterTrack -Name Broadcast -MemberDefinition '[DllImport("user32.dll", CharSet = CharSet.Unicode)] public static extern IntPtr SendMessageTimeout(IntPtr hWnd, uint msg, UIntPtr wParam, string lParam, uint flags, uint timeout, out UIntPtr result);'
        $result = [UIntPtr]::Zero
        [void][ChatterTrack.Broadcast]::SendMessageTimeout([IntPtr]0xffff, 0x1A, [UIntPtr]::Zero, "Environment", 2, 5000, [ref]$result)
    } catch {
        Say "the PATH is changed for new logons (running programs were not told: $($_.Exception.Message))"
    }
}

# A SHA256SUMS file as objects (Sha in lower case, File): lines of "<sha256>  <name>" or
# "<sha256> *<name>", blank lines allowed. Anything else (a proxy's or a login page) throws
# $NotAList and how the file begins.
function Read-Checksums([string]$Path, [string]$NotAList) {
    foreach ($line in Get-Content -LiteralPath $Path) {
        if ($line.Trim() -eq "") { continue }
        $m = [regex]::Match($line, "^([0-9a-fA-F]{64}) [ *](\S.*?)\s*$")
        if (-not $m.Success) {
            $start = [string](Get-Content -LiteralPath $Path -TotalCount 1) -replace "[^\x20-\x7e]", ""
            throw "$NotAList (it begins with '$($start.Substring(0, [Math]::Min(60, $start.Length)))')"
        }
        [pscustomobject]@{ Sha = $m.Groups[1].Value.ToLowerInvariant(); File = $m.Groups[2].Value }
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
        if ($NoChecksum) {
            Say "warning: -NoChecksum: the SHA-256 of $ArchiveName is not checked"
        } elseif (Test-Path -LiteralPath $Sums) {
            $notAList = "$Sums is not a checksum list: refusing to install $ArchiveName unchecked"
            $listed = @(Read-Checksums $Sums $notAList | Where-Object { $_.File -eq $ArchiveName })
            if ($listed.Count -eq 0) {
                throw "$Sums does not list ${ArchiveName}: refusing to install it unchecked (-NoChecksum installs it anyway)"
            }
            $Expected = $listed[0].Sha
        } else {
            Say "warning: no SHA256SUMS beside ${ArchiveName}: its SHA-256 is not checked"
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
        $notAList = "the server did not answer with a checksum list (a proxy or login page?): $Server/agent/downloads/SHA256SUMS"
        $offers = foreach ($sum in Read-Checksums $SumsFile $notAList) {
            $m = [regex]::Match($sum.File, "^chattertrack-agent-([0-9][0-9A-Za-z.+-]*)-windows-x86_64\.zip$")
            if ($m.Success) {
                [pscustomobject]@{ Sha = $sum.Sha; File = $sum.File; Key = (Get-VersionKey $m.Groups[1].Value) }
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
        if ($Expected -and $Actual -ne $Expected) {
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
# change ProgramData\ChatterTrack (otherwise one user could plant a token for another).
# Users may list its folders and read only what is theirs: token.txt is readable by every
# user (whoever logs on first enrolls with it: that is what it is for), each
# users\LOGIN.txt by that account alone.
$UsersDir = Join-Path $EnrollDir "users"
$SharedToken = Join-Path $EnrollDir "token.txt"
$SystemSid = New-Object Security.Principal.SecurityIdentifier("S-1-5-18")
$AdminsSid = New-Object Security.Principal.SecurityIdentifier("S-1-5-32-544")
$UsersSid = New-Object Security.Principal.SecurityIdentifier("S-1-5-32-545")
$TrustedInstallerSid = "S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464"

function New-Rule($Sid, [string]$Rights, [string]$Inherit) {
    return New-Object Security.AccessControl.FileSystemAccessRule($Sid,
        [Security.AccessControl.FileSystemRights]$Rights, [Security.AccessControl.InheritanceFlags]$Inherit,
        [Security.AccessControl.PropagationFlags]::None, [Security.AccessControl.AccessControlType]::Allow)
}
# Exactly these entries on a file or folder: nothing inherited, nothing left from before
# (icacls /grant:r would keep entries for others that someone added).
function Set-ExactAccess([string]$Path, [object[]]$Rules, [switch]$OwnedByAdministrators) {
    $item = Get-Item -LiteralPath $Path -Force
    if ($item -is [IO.DirectoryInfo]) {
        $acl = New-Object Security.AccessControl.DirectorySecurity
    } else {
        $acl = New-Object Security.AccessControl.FileSecurity
    }
    $acl.SetAccessRuleProtection($true, $false)
    foreach ($rule in $Rules) { $acl.AddAccessRule($rule) }
    if ($OwnedByAdministrators) { $acl.SetOwner($AdminsSid) }
    # Windows PowerShell's .NET has the method; PowerShell 7's has it as an extension only.
    if ($item.PSObject.Methods["SetAccessControl"]) {
        $item.SetAccessControl($acl)
    } else {
        [IO.FileSystemAclExtensions]::SetAccessControl($item, $acl)
    }
}
# A token file readable by $Reader (a SID; $null: nobody) besides SYSTEM and administrators.
function Set-TokenAccess([string]$Path, $Reader) {
    $rules = @((New-Rule $SystemSid "FullControl" "None"), (New-Rule $AdminsSid "FullControl" "None"))
    if ($Reader) { $rules += New-Rule $Reader "Read" "None" }
    Set-ExactAccess $Path $rules
}
# The SID of the Windows account (local or of the domain) named $Login; $null when there is
# none, or when the name is a built-in group or principal (Users.txt must not go to Users).
function Get-AccountSid([string]$Login) {
    try {
        $sid = (New-Object Security.Principal.NTAccount($Login)).Translate([Security.Principal.SecurityIdentifier])
    } catch {
        return $null
    }
    if ($sid.Value -match "^S-1-5-21-|^S-1-12-1-") { return $sid }
    return $null
}
function Test-Link($Item) { return [bool]($Item.Attributes -band [IO.FileAttributes]::ReparsePoint) }
# Junctions and links under a folder, not followed.
function Find-Links([string]$Path) {
    foreach ($child in Get-ChildItem -LiteralPath $Path -Force) {
        if (Test-Link $child) { $child.FullName } elseif ($child -is [IO.DirectoryInfo]) { Find-Links $child.FullName }
    }
}
# Administrators, SYSTEM and TrustedInstaller own what they made; an administrator's own
# account may too (the owner of a folder an elevated administrator created).
function Test-TrustedOwner([string]$Sid) {
    if ($Sid -in @($SystemSid.Value, $AdminsSid.Value, $TrustedInstallerSid)) { return $true }
    if ($Sid -eq [Security.Principal.WindowsIdentity]::GetCurrent().User.Value) { return $true }
    try {
        $admins = @(Get-LocalGroupMember -SID $AdminsSid.Value -ErrorAction Stop)
        return [bool]($admins | Where-Object { $_.SID.Value -eq $Sid })
    } catch {
        return $false
    }
}
# Reads the token of $Source into a new file $Target: created anew, it inherits the
# folder's entries (SYSTEM and administrators only) until Set-TokenAccess adds its reader.
function Copy-TokenFile([string]$Source, [string]$Target) {
    $bytes = [IO.File]::ReadAllBytes($Source)
    if (Test-Path -LiteralPath $Target) { Remove-Item -LiteralPath $Target -Force }
    [IO.File]::WriteAllBytes($Target, $bytes)
    return ((Get-FileHash -LiteralPath $Source).Hash -eq (Get-FileHash -LiteralPath $Target).Hash)
}

# A ProgramData\ChatterTrack that someone else owns (a user may create folders in
# ProgramData, and plant tokens or keep a way in), or that is a junction, is moved aside, not
# walked: renaming it (allowed by administrators' rights on ProgramData) follows no link.
$makeRoot = -not (Test-Path -LiteralPath $DataRoot)
if (-not $makeRoot) {
    $root = Get-Item -LiteralPath $DataRoot -Force
    $owner = ""
    if (-not (Test-Link $root)) {
        try { $owner = (Get-Acl -LiteralPath $DataRoot).GetOwner([Security.Principal.SecurityIdentifier]).Value } catch { $owner = "" }
    }
    if ((Test-Link $root) -or -not (Test-TrustedOwner $owner)) {
        $why = if (Test-Link $root) { "is a junction or link" } else { "is owned by '$owner', not by administrators or SYSTEM" }
        $aside = "$DataRoot.untrusted-" + (Get-Date -Format "yyyyMMdd-HHmmss")
        Step "move $DataRoot aside to ${aside}: it $why (a user may have made it to plant tokens); nothing in it is used: look at it, then remove it with: rd /s /q `"$aside`"" {
            [IO.Directory]::Move($DataRoot, $aside)
        }
        $makeRoot = $true
    } else {
        $links = @(Find-Links $DataRoot)
        if ($links.Count -gt 0) {
            throw "refusing: $($links -join ', ') is a junction or link inside $DataRoot (tokens must not be read or written where it points): remove it with rd (not del /s) and run this again"
        }
    }
}
if ($makeRoot) {
    Step "create $DataRoot" {
        # Without -Force: if a user made it again in the meantime, this stops.
        New-Item -ItemType Directory -Path $DataRoot | Out-Null
    }
}
Step "let only administrators and SYSTEM change $DataRoot (users may list its folders)" {
    Set-ExactAccess $DataRoot @(
        (New-Rule $SystemSid "FullControl" "ContainerInherit, ObjectInherit"),
        (New-Rule $AdminsSid "FullControl" "ContainerInherit, ObjectInherit"),
        (New-Rule $UsersSid "ReadAndExecute" "ContainerInherit")
    ) -OwnedByAdministrators
    if ($makeRoot -and @(Get-ChildItem -LiteralPath $DataRoot -Force).Count -gt 0) {
        throw "something was put in $DataRoot while it was being made: run this again"
    }
}
foreach ($folder in @($EnrollDir, $UsersDir)) {
    if (-not (Test-Path -LiteralPath $folder)) {
        Step "create $folder" { New-Item -ItemType Directory -Path $folder -Force | Out-Null }
    }
}

if ($TokenFile) {
    if (Test-Path -LiteralPath $TokenFile -PathType Leaf) {
        $given = (Resolve-Path -LiteralPath $TokenFile).Path
        if ($given -eq $SharedToken) {
            Say "the token is already in $SharedToken"
        } else {
            Step "copy the token to $SharedToken (the first user to log on enrolls with it) and delete $given" {
                if (-not (Copy-TokenFile $given $SharedToken)) { throw "the copy of $given in $SharedToken differs: $given was kept" }
                # The copy is in place: the token must not stay where anyone may read it.
                try {
                    Remove-Item -LiteralPath $given -Force
                } catch {
                    Say "warning: could not delete ${given}: $($_.Exception.Message); delete it yourself, it holds the chatter's token"
                }
            }
        }
    } elseif (Test-Path -LiteralPath $SharedToken) {
        Say "$TokenFile is gone (deleted once copied, by an earlier run): the token in $SharedToken stays"
    } else {
        throw "cannot read token file $TokenFile"
    }
}
if ($UserTokens) {
    if (-not (Test-Path -LiteralPath $UserTokens -PathType Container)) { throw "-UserTokens must be a folder of LOGIN.txt files" }
    foreach ($file in Get-ChildItem -LiteralPath $UserTokens -Filter "*.txt" -File) {
        if (-not (Get-AccountSid $file.BaseName)) {
            Say "warning: no account '$($file.BaseName)' on this PC or its domain: $($file.FullName) was not placed"
            continue
        }
        $target = Join-Path $UsersDir $file.Name
        Step "copy $($file.FullName) to $target" {
            if (-not (Copy-TokenFile $file.FullName $target)) { throw "the copy of $($file.FullName) in $target differs" }
        }
    }
}
# Every token file there, the ones placed by hand too: who may read it.
if (Test-Path -LiteralPath $SharedToken) {
    Step "let every user read $SharedToken" { Set-TokenAccess $SharedToken $UsersSid }
}
if (Test-Path -LiteralPath $UsersDir) {
    foreach ($file in Get-ChildItem -LiteralPath $UsersDir -Filter "*.txt" -File -Force) {
        $sid = Get-AccountSid $file.BaseName
        if ($sid) {
            Step "let only $($file.BaseName) read $($file.FullName)" { Set-TokenAccess $file.FullName $sid }
        } else {
            Step "let only administrators read $($file.FullName): no account '$($file.BaseName)' on this PC or its domain" {
                Set-TokenAccess $file.FullName $null
            }
        }
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
$machinePath = Get-MachinePath
if (($machinePath -split ";") -contains $Prefix) {
    Say "$Prefix already on the PATH"
} else {
    Step "add $Prefix to the PATH of every user" {
        Set-MachinePath ($machinePath.TrimEnd(";") + ";" + $Prefix)
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
