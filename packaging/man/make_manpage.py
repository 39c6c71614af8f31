#!/usr/bin/env python3
"""Writes a man page (roff) for a tpdp program from its --help output.

Run at build time (packaging/CMakeLists.txt), so the page always matches the
options of the binary it documents:

  make_manpage.py PROGRAM NAME VERSION OUTPUT

CLI11's help has: description lines, "Usage: PATH ...", then sections
("Positionals:", "Options:", "Subcommands:") of items "  TERM   TEXT" whose
text may go on in deeply indented lines, then a footer. Each subcommand's own
--help becomes a subsection of COMMANDS.
"""
import re
import subprocess
import sys

SECTIONS = ("Positionals:", "Options:", "Subcommands:")
ALL_PROGRAMS = ("tpdp-pool", "tpdp-node", "tpdp-client", "tpdp-http-proxy")


def escape(text):
    text = text.replace("\\", "\\e").replace("-", "\\-")
    if text.startswith((".", "'")):
        text = "\\&" + text
    return text


def run_help(argv):
    out = subprocess.run(argv + ["--help"], check=True, capture_output=True, text=True,
                         timeout=30).stdout
    return out.splitlines()


def parse(lines, program_path, name):
    """-> (description lines, usage, {section: [(term, text)]}, footer lines)"""
    description, footer, sections = [], [], {}
    usage, current = "", None
    for line in lines:
        if line.startswith("Usage:"):
            usage = line[len("Usage:"):].strip().replace(program_path, name, 1)
        elif not usage:
            description.append(line)
        elif line in SECTIONS:
            current = sections.setdefault(line[:-1], [])
        elif not line.strip():
            continue
        elif current is not None and re.match(r"^ {2}\S", line):
            match = re.match(r"^ {2}(\S.*?)(?: {2,}(.*))?$", line)
            current.append([match.group(1), match.group(2) or ""])
        elif current is not None and line.startswith("   ") and current:
            current[-1][1] = (current[-1][1] + "\n" + line.strip()).strip()
        else:
            current = None
            footer.append(line)
    return description, usage, sections, footer


def paragraphs(lines):
    return "\n.PP\n".join(escape(line) for line in lines if line.strip())


def items(entries):
    out = []
    for term, text in entries:
        out.append(".TP\n.B " + escape(term))
        out.append("\n.br\n".join(escape(t) for t in text.split("\n")))
    return "\n".join(out)


def main():
    program, name, version, output = sys.argv[1:5]
    description, usage, sections, footer = parse(run_help([program]), program, name)
    summary = description[0].split(": ", 1)[-1] if description else name
    page = [
        '.TH %s 1 "" "tpdp %s" "tpdp manual"' % (name.upper(), version),
        ".SH NAME",
        "%s \\- %s" % (escape(name), escape(summary.rstrip("."))),
        ".SH SYNOPSIS",
        escape(usage),
        ".SH DESCRIPTION",
        paragraphs(description[1:] or description),
    ]
    if "Positionals" in sections:
        page += [".SH ARGUMENTS", items(sections["Positionals"])]
    page += [".SH OPTIONS", items(sections.get("Options", []))]
    page += [
        ".PP",
        escape("Every option may also be given in the file named by --config, one "
               "'option = value' per line without the leading '--' (see the examples in "
               "/usr/share/doc/tpdp/examples); the command line wins over the file."),
    ]
    if "Subcommands" in sections:
        page.append(".SH COMMANDS")
        for sub, _ in sections["Subcommands"]:
            sub_description, sub_usage, sub_sections, _ = parse(
                run_help([program, sub]), program, name)
            page += [".SS " + escape(sub), escape(sub_usage), ".PP",
                     paragraphs(sub_description)]
            if "Positionals" in sub_sections:
                page.append(items(sub_sections["Positionals"]))
            page.append(items(sub_sections.get("Options", [])))
    if footer:
        page += [".SH NOTES", paragraphs(footer)]
    others = ", ".join("\\fB%s\\fR(1)" % escape(p) for p in ALL_PROGRAMS if p != name)
    page += [".SH SEE ALSO", others]
    with open(output, "w", encoding="utf-8") as f:
        f.write("\n".join(part for part in page if part) + "\n")


if __name__ == "__main__":
    main()
