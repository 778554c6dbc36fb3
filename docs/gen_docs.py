#!/usr/bin/env python3
"""Writes docs/api/<module>.md, one page per public header, from the contract
comments in include/cthreading/*.h, plus docs/api/README.md (the index).

    python3 docs/gen_docs.py           regenerate the pages
    python3 docs/gen_docs.py --check   exit 1 if docs/api/ is stale or a public
                                       function has no contract comment
                                       (the ctest case docs_up_to_date)

The headers are the source of truth: a page lists the header's sections,
declarations and contract comments in header order.  What counts:
  * a comment followed on the next line by declarations documents them;
  * a comment followed by a blank line is prose (a "---- Title ----" first
    line makes a section heading);
  * include guards, #include, extern "C", CT_API's own definition and CT__
    macros are left out; CT_API is dropped from the signatures shown.
Comment paragraphs whose lines are indented or laid out in columns
("name:   text") are kept verbatim.  Python 3.6+, standard library only.

SPDX-License-Identifier: MIT
"""
import argparse
import difflib
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
INCLUDE = os.path.join(ROOT, "include")
OUT = os.path.join(ROOT, "docs", "api")
GENERATOR = "docs/gen_docs.py"


# ---- reading a header into items ---------------------------------------------

class Item:
    """A top-level piece of a header: 'comment', 'pp' or 'decl'."""

    def __init__(self, kind, text, blank_before):
        self.kind = kind
        self.text = text
        self.blank_before = blank_before  # a blank line separates it from the item before


def split_items(src):
    items = []
    i, n = 0, len(src)
    while i < n:
        j = i
        while j < n and src[j] in " \t\r\n":
            j += 1
        blank = src.count("\n", i, j) >= 2
        i = j
        if i >= n:
            break
        if src.startswith("/*", i):
            end = src.find("*/", i + 2)
            end = n if end < 0 else end + 2
            items.append(Item("comment", src[i:end], blank))
            i = end
        elif src.startswith("//", i):
            end = src.find("\n", i)
            end = n if end < 0 else end
            text = src[i:end]
            prev = items[-1] if items else None
            if prev and prev.kind == "comment" and prev.text.startswith("//") and not blank:
                prev.text += "\n" + text
            else:
                items.append(Item("comment", text, blank))
            i = end
        elif src[i] == "#":
            end = i
            while True:
                nl = src.find("\n", end)
                if nl < 0:
                    end = n
                    break
                if src[nl - 1] == "\\":
                    end = nl + 1
                    continue
                end = nl
                break
            items.append(Item("pp", src[i:end].rstrip(), blank))
            i = end
        else:
            end = read_declaration(src, i)
            text = src[i:end].strip()
            # A comment that ends on the declaration's own line belongs to it.
            m = re.match(r"[ \t]*(/\*[^\n]*?\*/|//[^\n]*)", src[end:])
            if m:
                text += " " + m.group(1)
                end += m.end()
            if text.startswith('extern "C"') and text.endswith("{"):
                pass  # the C++ linkage wrapper
            elif text == "}":
                pass
            else:
                items.append(Item("decl", text, blank))
            i = end
    return items


def read_declaration(src, i):
    """Returns the end of the declaration starting at i: after its ';' at
    brace depth 0, after the body of an inline function definition, or after
    the '{' of extern "C" {, or after a lone closing '}'."""
    depth = 0
    j, n = i, len(src)
    while j < n:
        if src.startswith("/*", j):
            k = src.find("*/", j + 2)
            j = n if k < 0 else k + 2
            continue
        if src.startswith("//", j):
            k = src.find("\n", j)
            j = n if k < 0 else k
            continue
        c = src[j]
        if c in "\"'":
            k = j + 1
            while k < n and src[k] != c:
                k += 2 if src[k] == "\\" else 1
            j = k + 1
            continue
        if c == "{":
            head = src[i:j].strip()
            if depth == 0 and head.startswith('extern "C"'):
                return j + 1
            if depth == 0 and head.endswith(")"):
                return matching_brace(src, j)  # an inline function body
            depth += 1
        elif c == "}":
            if depth == 0:
                return j + 1
            depth -= 1
        elif c == ";" and depth == 0:
            return j + 1
        j += 1
    return n


def matching_brace(src, j):
    depth = 0
    for k in range(j, len(src)):
        if src[k] == "{":
            depth += 1
        elif src[k] == "}":
            depth -= 1
            if depth == 0:
                return k + 1
    return len(src)


def comment_lines(text):
    """The lines of a comment without its /* * */ or // markers, keeping the
    indentation that follows the ' * ' prefix."""
    if text.startswith("//"):
        return [re.sub(r"^\s*//[/!]? ?", "", l).rstrip() for l in text.split("\n")]
    body = text[2:-2] if text.endswith("*/") else text[2:]
    body = body.lstrip("*!")
    lines = body.split("\n")
    out = []
    for k, line in enumerate(lines):
        if k == 0:
            out.append(line.strip())
        else:
            out.append(re.sub(r"^\s*\* ?", "", line, count=1) if re.match(r"^\s*\*", line)
                       else line.strip())
    while out and not out[0].strip():
        out.pop(0)
    while out and not out[-1].strip():
        out.pop()
    return [l.rstrip() for l in out]


# ---- which items are shown ------------------------------------------------------

PP_DEFINE = re.compile(r"#\s*define\s+(\w+)")


def shown_pp(text):
    m = PP_DEFINE.match(text)
    if not m:
        return False  # #if, #include, #endif, ...
    name = m.group(1)
    return not (name == "CT_API" or name.startswith("CT__") or name.startswith("CTHREADING_"))


FUNC_NAME = re.compile(r"\b(ct_\w+)\s*\(")


def function_names(decl):
    """Names of the functions a declaration declares or defines (not function
    pointer parameters, not macros)."""
    if decl.startswith("#"):
        return []
    head = decl.split("{", 1)[0] if not decl.startswith("typedef") else ""
    if not head:
        return []
    m = FUNC_NAME.search(head)
    return [m.group(1)] if m else []


def display_decl(decl):
    text = re.sub(r"\bCT_API\s+", "", decl)
    if "{" in text and not text.startswith(("typedef", "struct", "union", "enum", "#")):
        # An inline function in the header: its signature is the contract.
        text = text.split("{", 1)[0].rstrip() + ";  /* inline */"
    return text


# ---- Markdown -------------------------------------------------------------------

CODE_TOKEN = re.compile(
    r"`[^`]*`"                                      # already code
    r"|<[\w./]+\.h>"                                # <cthreading/lock.h>
    r"|\b(?:ct|CT)_\w+(?:\([^()\s]*\))?"            # ct_lock_acquire, CT_MS(x)
    r"|\b[A-Za-z_][\w.]*\((?:[^()]|\([^()]*\))*\)"   # Lock.acquire(timeout=t), f()
    r"(?:\.\w+\((?:[^()]|\([^()]*\))*\))*"             # ... .start()
    r"|\*+[A-Za-z_]\w*(?:->\w+)?"                   # *addr
)


def inline_markdown(text):
    out, last = [], 0
    for m in CODE_TOKEN.finditer(text):
        out.append(escape(text[last:m.start()]))
        tok = m.group(0)
        out.append(tok if tok.startswith("`") else "`" + tok + "`")
        last = m.end()
    out.append(escape(text[last:]))
    return "".join(out)


def escape(text):
    text = text.replace("\\", "\\\\").replace("*", "\\*").replace("<", "&lt;")
    return re.sub(r"(?<!\w)_|_(?!\w)", r"\\_", text)


def verbatim(paragraph):
    return any(l.startswith(" ") or l.startswith("\t") for l in paragraph) or \
        any(re.match(r"^[A-Za-z_][\w.]*:\s{2,}", l) for l in paragraph)


def prose(lines, labels=()):
    """Markdown for comment lines: paragraphs, verbatim blocks, and a line
    break before 'Returns ...' and before 'param: ...' for the parameters
    named in labels."""
    paragraphs, cur = [], []
    for line in lines:
        if line.strip():
            cur.append(line)
        elif cur:
            paragraphs.append(cur)
            cur = []
    if cur:
        paragraphs.append(cur)
    out = []
    for p in paragraphs:
        if verbatim(p):
            indent = min(len(l) - len(l.lstrip()) for l in p)
            out.append("```text\n" + "\n".join(l[indent:] for l in p) + "\n```")
            continue
        text = ""
        for k, line in enumerate(p):
            line = line.strip()
            label = re.match(r"^(\w+):\s", line)
            if k and (line.startswith("Returns") or (label and label.group(1) in labels)):
                text += "\\\n"
            elif k:
                text += " "
            text += inline_markdown(line)
        out.append(text)
    return "\n\n".join(out)


def parameter_names(code):
    """The parameter names of the functions declared in code lines."""
    names = set()
    for decl in code:
        m = re.search(r"\(([^()]*(?:\([^()]*\)[^()]*)*)\)\s*;", decl)
        if not m:
            continue
        for param in m.group(1).split(","):
            w = re.findall(r"(\w+)\s*(?:\[[^\]]*\])?\s*$", param.strip())
            if w and w[0] != "void":
                names.add(w[0])
            fp = re.search(r"\(\s*\*\s*(\w+)\s*\)", param)
            if fp:
                names.add(fp.group(1))
    return names


SECTION = re.compile(r"^-{2,}\s*(.*?)\s*-*$")


class Page:
    def __init__(self, module, header):
        self.module = module
        self.header = header
        self.title = ""
        self.overview = []
        self.blocks = []        # (kind, heading, code lines, prose lines)
        self.functions = []
        self.undocumented = []


def read_header(module, path):
    with open(path, encoding="utf-8") as f:
        src = f.read()
    items = split_items(src)
    page = Page(module, os.path.relpath(path, INCLUDE).replace(os.sep, "/"))
    k = 0
    if items and items[0].kind == "comment":
        lines = [l for l in comment_lines(items[0].text) if "SPDX-License-Identifier" not in l]
        first = lines[0] if lines else ""
        first = re.sub(r"^cthreading\s*[-—]+\s*", "", first)
        page.title = first
        page.overview = lines[1:]
        while page.overview and not page.overview[-1].strip():
            page.overview.pop()
        k = 1
    pending = None  # a comment waiting for the declarations right below it
    block = None

    def flush():
        nonlocal block
        if block:
            page.blocks.append(block)
        block = None

    def flush_pending():
        nonlocal pending
        if pending is not None:
            page.blocks.append(("prose", None, [], pending))
        pending = None

    for item in items[k:]:
        if item.kind == "comment":
            flush()
            flush_pending()
            pending = comment_lines(item.text)
            continue
        if item.kind == "pp" and not shown_pp(item.text):
            # A hidden line ends what is open, except between a comment and its
            # declarations (#if guarding them) -- keep the comment pending.
            flush()
            continue
        text = display_decl(item.text)
        names = function_names(item.text)
        if block and not item.blank_before and pending is None:
            block[2].append(text)
            block[1].extend(names)
            continue
        flush()
        if pending is not None and not item.blank_before:
            block = ("decl", list(names), [text], pending)
            pending = None
        else:
            flush_pending()
            block = ("decl", list(names), [text], None)
    flush()
    flush_pending()
    for kind, names, code, doc in page.blocks:
        if kind == "decl":
            page.functions.extend(names)
            if names and not doc:
                page.undocumented.extend(names)
    return page


def render(page):
    md = ["<!-- Generated by %s from include/%s; do not edit. -->" % (GENERATOR, page.header),
          "",
          "# %s — %s" % (page.module, inline_markdown(page.title) if page.title else page.module),
          "",
          "`#include <%s>` (or `<cthreading.h>` for the whole library)" % page.header,
          ""]
    if page.overview:
        md += [prose(page.overview), ""]
    if page.functions:
        md += ["**Functions:** " + " · ".join("[`%s`](#%s)" % (f, f) for f in page.functions), ""]
    if not page.blocks:
        md += ["_This header declares nothing yet: the module is being written._", ""]
    for kind, names, code, doc in page.blocks:
        if kind == "prose":
            if doc and SECTION.match(doc[0]) and doc[0].startswith("--"):
                heading = SECTION.match(doc[0]).group(1)
                md += ["## " + heading, ""]
                doc = doc[1:]
            if doc:
                md += [prose(doc), ""]
            continue
        if names:
            if len(names) > 1:  # one heading, an anchor for each name
                md += ["".join('<a id="%s"></a>' % n for n in names[1:])]
            md += ["### " + ", ".join(names), ""]
            md += ["```c", "\n".join(code), "```", ""]
            md += [prose(doc, parameter_names(code)) if doc else "_No contract comment._", ""]
        else:
            if doc:
                if SECTION.match(doc[0]) and doc[0].startswith("--"):
                    md += ["## " + SECTION.match(doc[0]).group(1), ""]
                    doc = doc[1:]
                if doc:
                    md += [prose(doc), ""]
            md += ["```c", "\n".join(code), "```", ""]
    return "\n".join(md).rstrip() + "\n"


def module_order():
    """Modules in the umbrella header's order, then any others by name."""
    headers = sorted(f[:-2] for f in os.listdir(os.path.join(INCLUDE, "cthreading"))
                     if f.endswith(".h"))
    order = []
    umbrella = os.path.join(INCLUDE, "cthreading.h")
    if os.path.exists(umbrella):
        with open(umbrella, encoding="utf-8") as f:
            for m in re.finditer(r'#\s*include\s+[<"]cthreading/(\w+)\.h[>"]', f.read()):
                if m.group(1) in headers and m.group(1) not in order:
                    order.append(m.group(1))
    return order + [h for h in headers if h not in order]


def render_index(pages):
    md = ["<!-- Generated by %s from include/cthreading/*.h; do not edit. -->" % GENERATOR,
          "",
          "# cthreading API reference",
          "",
          "One page per public header, generated from the contract comments in the headers",
          "(`python3 docs/gen_docs.py`; the `docs_up_to_date` test fails when a page is stale).",
          "See also [coming from Python threading](../coming-from-python.md) and",
          "[replacing pthread code](../replacing-pthreads.md).",
          "",
          "| module | header | what it is | functions |",
          "|---|---|---|---:|"]
    for p in pages:
        md.append("| [%s](%s.md) | `<%s>` | %s | %d |" % (
            p.module, p.module, p.header,
            inline_markdown(p.title) if p.title else "", len(p.functions)))
    return "\n".join(md) + "\n"


def generate():
    pages = [read_header(m, os.path.join(INCLUDE, "cthreading", m + ".h")) for m in module_order()]
    files = {p.module + ".md": render(p) for p in pages}
    files["README.md"] = render_index(pages)
    return pages, files


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--check", action="store_true",
                    help="fail if docs/api is stale or a function lacks a contract comment")
    args = ap.parse_args()
    pages, files = generate()
    undocumented = [(p.header, f) for p in pages for f in p.undocumented]
    for header, f in undocumented:
        print("%s: %s has no contract comment" % (header, f), file=sys.stderr)

    if args.check:
        stale = []
        existing = set(f for f in os.listdir(OUT) if f.endswith(".md")) if os.path.isdir(OUT) else set()
        for name in sorted(set(files) | existing):
            path = os.path.join(OUT, name)
            have = open(path, encoding="utf-8").read() if name in existing else None
            want = files.get(name)
            if have == want:
                continue
            stale.append(name)
            diff = difflib.unified_diff((have or "").splitlines(), (want or "").splitlines(),
                                        "docs/api/" + name + " (on disk)",
                                        "docs/api/" + name + " (from the headers)", lineterm="")
            print("\n".join(list(diff)[:40]))
        if stale:
            print("docs/api is stale (%s): run  python3 docs/gen_docs.py  and commit docs/api"
                  % ", ".join(stale))
        total = sum(len(p.functions) for p in pages)
        if not stale and not undocumented:
            print("docs/api is up to date: %d pages, %d functions documented"
                  % (len(pages), total))
        return 1 if stale or undocumented else 0

    os.makedirs(OUT, exist_ok=True)
    for name in os.listdir(OUT):
        if name.endswith(".md") and name not in files:
            os.remove(os.path.join(OUT, name))
    for name, text in files.items():
        path = os.path.join(OUT, name)
        old = open(path, encoding="utf-8").read() if os.path.exists(path) else None
        if old != text:
            with open(path, "w", encoding="utf-8", newline="\n") as f:
                f.write(text)
            print("wrote docs/api/" + name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
