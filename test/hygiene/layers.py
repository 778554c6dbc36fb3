#!/usr/bin/env python3
"""The layer test (issue 17): every #include of every file in docs/layers.json's
parts follows an allowed arrow and no forbidden one, and no preprocessor
condition names an OS or a CPU outside the platform files.

    layers.py [--root DIR] [--rules FILE]

DIR defaults to the source tree this script is in, FILE to DIR/docs/layers.json.
Prints one line per violation, `file:line: rule: what (why)`, and exits 1 if
there is any; exits 0 and prints a count otherwise.  Only direct includes are
checked (each file answers for its own lines).

SPDX-License-Identifier: MIT
"""
import argparse
import json
import os
import re
import sys

SOURCE_EXT = (".c", ".h", ".cc", ".cpp", ".hpp")
SKIP_DIRS = {"build", ".git"}

INCLUDE_RE = re.compile(r'^[ \t]*#[ \t]*include[ \t]*([<"])([^>"]+)[>"]')
COND_RE = re.compile(r'^[ \t]*#[ \t]*(if|ifdef|ifndef|elif|elifdef|elifndef)\b(.*)$')
IDENT_RE = re.compile(r'[A-Za-z_][A-Za-z0-9_]*')


def glob_re(pattern):
    """`**` matches across directories, `*` inside one, `?` one character."""
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out) + r"\Z")


def matches(path, globs):
    return any(glob_re(g).match(path) for g in globs)


def strip_comments(text):
    """Blank out comments (keeping newlines, so line numbers hold); string and
    character literals are skipped whole so a "/*" inside one is not a comment."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if c == "/" and text.startswith("/*", i):
            end = text.find("*/", i + 2)
            end = n if end < 0 else end + 2
            out.append("".join("\n" if ch == "\n" else " " for ch in text[i:end]))
            i = end
        elif c == "/" and text.startswith("//", i):
            end = text.find("\n", i)
            end = n if end < 0 else end
            out.append(" " * (end - i))
            i = end
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            out.append(text[i:j + 1])
            i = j + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def logical_lines(text):
    """(first line number, text) of each logical line: backslash-newline joined."""
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        start, buf = i + 1, lines[i]
        while buf.endswith("\\") and i + 1 < len(lines):
            i += 1
            buf = buf[:-1] + " " + lines[i]
        yield start, buf
        i += 1


class Layers:
    def __init__(self, root, rules):
        self.root = root
        self.rules = rules
        self.parts = list(rules["parts"].items())
        self.part_names = {name for name, _ in self.parts}
        self.external = rules["external"]
        self.external_names = {e["name"] for e in self.external}
        self.errors = []
        self.checked_includes = 0
        self.checked_conditions = 0
        for part, targets in rules["allowed"].items():
            if part not in self.part_names:
                self.fail("docs/layers.json", 0, "rules", "allowed names unknown part " + part)
            for t in targets:
                if t not in self.part_names | self.external_names:
                    self.fail("docs/layers.json", 0, "rules",
                              "allowed[%s] names unknown part %s" % (part, t))
        for rule in rules["forbidden"]:
            for p in rule["from"]:
                if p not in self.part_names:
                    self.fail("docs/layers.json", 0, "rules",
                              "%s: unknown part %s" % (rule["rule"], p))

    def fail(self, path, line, rule, what, why=None):
        msg = "%s:%d: %s: %s" % (path, line, rule, what)
        if why:
            msg += " (" + why + ")"
        self.errors.append(msg)

    def part_of(self, rel):
        for name, part in self.parts:
            if matches(rel, part["globs"]):
                return name
        return None

    def files(self):
        for dirpath, dirnames, filenames in os.walk(self.root):
            dirnames[:] = sorted(d for d in dirnames
                                 if d not in SKIP_DIRS and not d.startswith(".")
                                 and not d.startswith("build"))
            for f in sorted(filenames):
                if f.endswith(SOURCE_EXT):
                    full = os.path.join(dirpath, f)
                    yield os.path.relpath(full, self.root).replace(os.sep, "/")

    def resolve(self, rel, kind, name):
        """The include's target: ("tree", relpath) or ("external", name) or None."""
        dirs = [os.path.dirname(rel)] if kind == '"' else []
        dirs += self.rules["include_paths"]
        for d in dirs:
            cand = os.path.normpath(os.path.join(self.root, d, name))
            if os.path.isfile(cand):
                return "tree", os.path.relpath(cand, self.root).replace(os.sep, "/")
        for e in self.external:
            if e.get("angle_only") and kind != "<":
                continue
            if matches(name, e["headers"]):
                return "external", e["name"]
        return None

    def check_include(self, rel, part, line, kind, name):
        self.checked_includes += 1
        spelled = "%s%s%s" % (kind, name, ">" if kind == "<" else '"')
        target = self.resolve(rel, kind, name)
        if target is None:
            self.fail(rel, line, "unresolved-include",
                      "#include %s is in no part and no `external` entry" % spelled)
            return
        where, what = target
        if where == "tree":
            tpart = self.part_of(what)
            if tpart is None:
                self.fail(rel, line, "include-outside-parts",
                          "#include %s reaches %s, which is in no part" % (spelled, what))
                return
            tpath = what
        else:
            tpart, tpath = what, None
        for rule in self.rules["forbidden"]:
            if part not in rule["from"]:
                continue
            if tpath is not None and matches(tpath, rule.get("except", [])):
                continue
            hit = False
            for t in rule["to"]:
                if t in self.part_names or t in self.external_names:
                    hit = hit or t == tpart
                elif tpath is not None:
                    hit = hit or bool(glob_re(t).match(tpath))
            if hit:
                self.fail(rel, line, rule["rule"],
                          "%s includes %s (%s)" % (part, spelled, tpath or tpart), rule["why"])
                return
        if tpart not in self.rules["allowed"].get(part, []):
            self.fail(rel, line, "arrow-not-allowed",
                      "%s -> %s is not an allowed arrow: #include %s%s"
                      % (part, tpart, spelled, " (%s)" % tpath if tpath else ""))

    def check_conditions(self, rel, text):
        pc = self.rules["platform_conditions"]
        if not matches(rel, pc["scan"]) or matches(rel, pc["allowed_files"]):
            return
        names = set(pc["names"])
        excused = set()
        for e in pc.get("exceptions", []):
            if e["file"] == rel:
                excused |= set(e["names"])
        for line, logical in logical_lines(text):
            m = COND_RE.match(logical)
            if not m:
                continue
            self.checked_conditions += 1
            named = [t for t in IDENT_RE.findall(m.group(2)) if t in names]
            bad = [t for t in named if t not in excused]
            if bad:
                self.fail(rel, line, "platform-if-outside-platform-files",
                          "#%s names %s" % (m.group(1), ", ".join(bad)),
                          "move it into src/internal/platform.h as a named CT__ macro")

    def run(self):
        seen = {name: 0 for name, _ in self.parts}
        nfiles = 0
        for rel in self.files():
            part = self.part_of(rel)
            pc = self.rules["platform_conditions"]
            if part is None and not matches(rel, pc["scan"]):
                continue
            nfiles += 1
            with open(os.path.join(self.root, rel), encoding="utf-8", errors="replace") as f:
                text = strip_comments(f.read())
            if part is not None:
                seen[part] += 1
                for line, logical in logical_lines(text):
                    m = INCLUDE_RE.match(logical)
                    if m:
                        self.check_include(rel, part, line, m.group(1), m.group(2).strip())
            self.check_conditions(rel, text)
        for name, count in seen.items():
            if count == 0:
                self.fail("docs/layers.json", 0, "empty-part",
                          "part %s matches no file: its globs are stale" % name)
        return nfiles


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--root", default=os.path.normpath(os.path.join(here, "..", "..")))
    ap.add_argument("--rules")
    args = ap.parse_args()
    rules_path = args.rules or os.path.join(args.root, "docs", "layers.json")
    with open(rules_path, encoding="utf-8") as f:
        rules = json.load(f)
    layers = Layers(os.path.abspath(args.root), rules)
    nfiles = layers.run()
    for e in layers.errors:
        print(e)
    if layers.errors:
        print("layers: %d violation(s) in %s" % (len(layers.errors), args.root))
        return 1
    print("layers: ok: %d files, %d includes, %d preprocessor conditions checked"
          % (nfiles, layers.checked_includes, layers.checked_conditions))
    return 0


if __name__ == "__main__":
    sys.exit(main())
