#!/usr/bin/env python3
"""Checks that every C, C++ and Fortran code block of the README is a file of the repository, verbatim.

A block is registered by an HTML comment on the line just before its opening fence:

    <!-- snippet: examples/readme/first_model.cpp -->          the whole file
    <!-- snippet: examples/readme/tour.cpp#devices -->          the lines between the markers
                                                                "snippet-begin: devices" and
                                                                "snippet-end: devices" (in comments)

Every block in one of the checked languages must carry such a comment, and every file under
examples/readme/ must be shown somewhere, so that what the README shows is what CI builds and runs.
With --fix the README's blocks are rewritten from the files instead (the files are the source).
Usage: tools/check_readme.py [--fix] [README.md ...]
"""
import difflib
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
CHECKED = {"cpp", "c++", "c", "cuda", "fortran", "f90"}
MARKER = re.compile(r"^<!--\s*snippet:\s*(\S+?)\s*-->\s*$")
FENCE = re.compile(r"^(\s*)(`{3,})(\S*)\s*$")


def snippet_text(ref):
    path, _, name = ref.partition("#")
    file = ROOT / path
    if not file.is_file():
        raise ValueError(f"{ref}: no such file")
    lines = file.read_text().splitlines()
    if not name:
        return lines
    begin = [i for i, l in enumerate(lines) if re.search(rf"snippet-begin:\s*{re.escape(name)}\s*(\*/)?\s*$", l)]
    end = [i for i, l in enumerate(lines) if re.search(rf"snippet-end:\s*{re.escape(name)}\s*(\*/)?\s*$", l)]
    if len(begin) != 1 or len(end) != 1 or end[0] <= begin[0]:
        raise ValueError(f"{ref}: needs one 'snippet-begin: {name}' line before one 'snippet-end: {name}' line")
    body = lines[begin[0] + 1:end[0]]
    indent = min((len(l) - len(l.lstrip()) for l in body if l.strip()), default=0)
    return [l[indent:] for l in body]


def check(readme, fix, shown):
    lines = readme.read_text().splitlines()
    out, errors, count, i = [], [], 0, 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            out.append(lines[i])
            i += 1
            continue
        indent, ticks, lang = m.groups()
        close = next((j for j in range(i + 1, len(lines)) if lines[j].strip() == ticks), None)
        if close is None:
            errors.append(f"{readme.name}:{i + 1}: code block never closed")
            out.extend(lines[i:])
            break
        body = [l[len(indent):] if l.startswith(indent) else l for l in lines[i + 1:close]]
        marker = MARKER.match(lines[i - 1].strip()) if i > 0 else None
        new_body = body
        if lang.lower() in CHECKED:
            if not marker:
                errors.append(f"{readme.name}:{i + 1}: {lang} block without a '<!-- snippet: FILE -->' line before it")
            else:
                ref = marker.group(1)
                try:
                    want = snippet_text(ref)
                except ValueError as e:
                    errors.append(f"{readme.name}:{i}: {e}")
                    want = body
                shown.add(ref.partition("#")[0])
                count += 1
                if body != want:
                    if fix:
                        new_body = want
                    else:
                        diff = "\n".join(difflib.unified_diff(want, body, ref, f"{readme.name} line {i + 2}", lineterm=""))
                        errors.append(f"{readme.name}:{i + 2}: block differs from {ref}:\n{diff}")
        out.append(lines[i])
        out.extend(indent + l if l else l for l in new_body)
        out.append(lines[close])
        i = close + 1
    if fix:
        readme.write_text("\n".join(out) + "\n")
    return errors, count


def main(argv):
    fix = "--fix" in argv
    files = [pathlib.Path(a) for a in argv if a != "--fix"] or [ROOT / "README.md"]
    errors, count, shown = [], 0, set()
    for f in files:
        e, n = check(f, fix, shown)
        errors += e
        count += n
    for src in sorted((ROOT / "examples" / "readme").glob("*")):
        rel = src.relative_to(ROOT).as_posix()
        if src.is_file() and src.suffix in {".cpp", ".c", ".f90", ".cu"} and rel not in shown:
            errors.append(f"{rel} is not shown in the README (add a '<!-- snippet: {rel} -->' block, or move it)")
    for e in errors:
        print(e, file=sys.stderr)
    print(f"check_readme: {count} code blocks checked against their files, {len(errors)} problems"
          + (" (--fix rewrote the blocks)" if fix else ""))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
