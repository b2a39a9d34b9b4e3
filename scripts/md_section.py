#!/usr/bin/env python3
"""Replace (or append) one named section of a Markdown file with standard input.

    md_section.py NAME FILE < section.md

The section sits between `<!-- NAME:start -->` and `<!-- NAME:end -->`; each benchmark script
owns its own section of BENCHMARKS.md, so running one keeps the others' results.
"""
import sys


def main() -> int:
    if len(sys.argv) != 3:
        print("usage: md_section.py NAME FILE < section.md", file=sys.stderr)
        return 2
    name, path = sys.argv[1], sys.argv[2]
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    body = sys.stdin.read().rstrip("\n")
    block = f"{start}\n{body}\n{end}"
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        text = "# Benchmarks\n"
    i, j = text.find(start), text.find(end)
    if i >= 0 and j > i:
        text = text[:i] + block + text[j + len(end):]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
