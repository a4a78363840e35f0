# Turns apt's machine-readable progress (apt-get -o APT::Status-Fd=N) into one line per phase for
# scripts/setup-host.sh, while apt's own output goes to the log file:
#   dlstatus:ITEM:PERCENT:Retrieving file 3 of 40        (downloading)
#   pmstatus:PACKAGE:PERCENT:Unpacking qemu-utils (amd64) (unpacking and setting up)
#   pmerror:PACKAGE:PERCENT:MESSAGE                       (said at once, whatever the phase)
# Variables: total (packages apt will install, dependencies included; 0 when unknown) and tty (1:
# redraw the phase's line in place; 0: a line when the phase starts and at each quarter done).
# POSIX awk only (Debian's default is mawk).
BEGIN { FS = ":"; phase = ""; quarter = -1; width = 78 }

function label(p) {
  if (p == "download") return total > 0 ? "downloading " total " packages" : "downloading packages"
  return total > 0 ? "installing " total " packages" : "installing packages"
}

function rest(from,   s, i) {
  s = $from
  for (i = from + 1; i <= NF; i++) s = s ":" $i
  return s
}

function show(line) {
  if (tty) printf "\r%-" width "s", substr(line, 1, width)
  else print line
}

function finish() {
  if (phase == "") return
  if (tty) printf "\r%-" width "s\n", "  " label(phase) ": done"
  else print "  " label(phase) ": done"
  phase = ""
}

{
  if ($1 == "dlstatus") { p = "download"; pct = $3; text = rest(4) }
  else if ($1 == "pmstatus" || $1 == "pmerror") {
    p = "install"
    # Older apt writes PACKAGE:ARCH, so the percent is the first number after the package.
    if ($3 ~ /^[0-9.]+$/) { pct = $3; text = rest(4) } else { pct = $4; text = rest(5) }
    if ($1 == "pmerror") { finish(); print "  apt: " $2 ": " text; next }
  } else next
  pct = int(pct + 0)
  if (pct > 100) pct = 100
  if (p != phase) { finish(); phase = p; quarter = -1 }
  line = sprintf("  %s: %3d%%  %s", label(p), pct, text)
  if (tty) show(line)
  else if (int(pct / 25) > quarter) { quarter = int(pct / 25); show(line) }
}

END { finish() }
