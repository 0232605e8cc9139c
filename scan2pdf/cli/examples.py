"""The example that ends each command's ``--help`` (Click keeps ``\\b`` paragraphs as written)."""

CONVERT = """\b
Examples:
  scan2pdf convert scans/ -o out/ -l eng+spa
  scan2pdf convert box12.zip -o out/ --dry-run
  scan2pdf convert letters/ -o out/ --group-pages
"""

WATCH = """\b
Example:
  scan2pdf watch /srv/inbox -o /srv/out --settle 5 -l eng+spa
"""

RETRY = """\b
Example:
  scan2pdf retry out/ --reason timeout
"""

STATUS = """\b
Examples:
  scan2pdf status out/
  scan2pdf status out/ --review     # the pages to check by eye, worst first
"""

DOCTOR = """\b
Example:
  scan2pdf doctor
"""

SEARCH = """\b
Example:
  scan2pdf search out/ '"tax return" 1998'
"""

INDEX = """\b
Example:
  scan2pdf index out/ --rebuild
"""

VERIFY = """\b
Examples:
  scan2pdf verify out/              # every output still as it was published?
  scan2pdf verify out/ --sources    # and every input as it was when converted
"""
