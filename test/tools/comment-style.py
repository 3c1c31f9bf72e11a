#!/usr/bin/env python3
"""
comment-style.py: one banner form and one function-comment form in every C
file of the project (PostgreSQL's):

    /*                                /*
     * file.c                          * function_name
     *	  What the file is for.        *	  What it does.
     *                                 */
     * Invariants: ...                (an SQL-callable function may give its
     */                                 SQL signature on the name's line)

Usage: test/tools/comment-style.py [--fix] [file ...]
  (default: every tracked *.c / *.h under src/, bgworker/ and test/)

Without --fix it lists what differs and exits 1 if anything does.  With
--fix it rewrites, in place:
  - a banner whose first line is "file.c - text" / "file.c -- text" /
    "file.c: text": the file name alone on its line, the text below it;
  - a function comment that does not start with the function's name
    ("/* text */", "/*\\n * text\\n */", "/* See x.h. */"): the name on the
    first line, the text below it.
Prose paragraphs are re-filled to 79 columns (tabs of 4); lists, indented
and code-like lines are kept line by line.  Functions with no comment at all
are listed, never invented.  The rewrite is idempotent: after merging a
branch that kept the old forms, run it again with --fix.
"""
import os
import re
import subprocess
import sys
import textwrap

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
PREFIX = ' *\t  '
WIDTH = 79 - 6                   # " *" + tab to column 4 + two spaces
DIVIDER = re.compile(r'^/\*\s*[-=]{3,}.*\*/\s*$')


def files_to_check(args):
    if args:
        return args
    out = subprocess.run(['git', 'ls-files', '*.c', '*.h'], cwd=ROOT, check=True,
                         capture_output=True, text=True).stdout.split()
    return [f for f in out if f.split('/')[0] in ('src', 'bgworker', 'test')]


def comment_lines(block):
    """The text of a comment block (list of source lines), without the
    comment markers; one entry per source line."""
    text = []
    for i, line in enumerate(block):
        s = line.rstrip('\n')
        if i == 0:
            s = s.lstrip()
            assert s.startswith('/*'), block
            s = s[2:]
        else:
            s = re.sub(r'^\s*\*(?!/)', '', s, count=1)
        if s.rstrip().endswith('*/'):
            s = s.rstrip()[:-2]
        text.append(s.rstrip())
    # drop leading and trailing empty lines
    while text and text[0].strip() == '':
        text.pop(0)
    while text and text[-1].strip() == '':
        text.pop()
    return text


def structured(line):
    s = line.lstrip(' \t')
    indent = len(line) - len(s)
    return (re.match(r'^([-*+]|\d+[.)]|[a-z][.)]|\|)\s', s) is not None or indent >= 3
            or s.startswith(('{', '}', '#')) or '\t' in s.strip())


def body(paragraph_lines):
    """Comment lines (with PREFIX) for the given text lines: prose paragraphs
    re-filled, structured ones kept."""
    out = []
    paras, cur = [], []
    for line in paragraph_lines:
        if line.strip() == '':
            if cur:
                paras.append(cur)
            cur = []
            paras.append(None)
        else:
            cur.append(line)
    if cur:
        paras.append(cur)
    for p in paras:
        if p is None:
            if out and out[-1] != ' *':
                out.append(' *')
            continue
        # strip the common indentation of the paragraph
        lead = min(len(l) - len(l.lstrip(' \t')) for l in p)
        p = [l[lead:] if l[:lead].strip(' \t') == '' else l.lstrip() for l in p]
        if any(structured(l) for l in p[1:]) or structured(p[0]):
            out.extend((PREFIX + l).rstrip() for l in p)
        else:
            text = ' '.join(l.strip() for l in p)
            # no break inside "quotes" or `code`
            text = re.sub(r'"[^"]*"|`[^`]*`', lambda m: m.group(0).replace(' ', '\x00'), text)
            for w in textwrap.wrap(text, WIDTH, break_long_words=False, break_on_hyphens=False):
                out.append(PREFIX + w.replace('\x00', ' '))
    while out and out[-1] == ' *':
        out.pop()
    return out


def fix_banner(lines, path, problems, fix):
    name = os.path.basename(path)
    if not lines or not lines[0].startswith('/*'):
        problems.append(f'{path}:1: no banner comment')
        return lines
    end = next((i for i, l in enumerate(lines) if '*/' in l), None)
    if end is None:
        return lines
    text = comment_lines(lines[:end + 1])
    first = text[0].strip() if text else ''
    if first == name:
        return lines
    m = re.match(r'^' + re.escape(name) + r'\s*(?:--|-|:|—)\s*(.*)$', first)
    if m is None:
        problems.append(f'{path}:1: banner does not start with the file name ({first[:50]!r})')
        return lines
    problems.append(f'{path}:1: banner "{name} - text" form')
    if not fix:
        return lines
    # the first paragraph is the description: text after the dash plus the
    # following lines up to a blank line
    rest = text[1:]
    k = next((i for i, l in enumerate(rest) if l.strip() == ''), len(rest))
    desc = [m.group(1)] + rest[:k]
    new = ['/*', f' * {name}'] + body(desc)
    tail = rest[k:]
    if tail:
        new += [(' * ' + l.lstrip(' ') if l.startswith(' ') and not l.startswith('  ') else
                 (' *' + l if l else ' *')).rstrip() for l in tail]
    new.append(' */')
    return [l + '\n' for l in new] + lines[end + 1:]


def functions(path):
    out = subprocess.run(['ctags', '-o', '-', '--c-kinds=f', '--fields=+ne', path], cwd=ROOT,
                         check=True, capture_output=True, text=True).stdout
    res = []
    for row in out.splitlines():
        cols = row.split('\t')
        line = next((int(c[5:]) for c in cols if c.startswith('line:')), None)
        if line is not None:
            res.append((cols[0], line))
    return sorted(res, key=lambda r: -r[1])      # bottom up: edits keep earlier lines


def fix_functions(lines, path, problems, fix):
    for name, lineno in functions(path):
        i = lineno - 1                            # the line with the name
        # walk up over the return type / storage class lines
        j = i - 1
        while j >= 0 and lines[j].strip() != '' and not lines[j].rstrip().endswith(('*/', ';', '}', '{')) \
                and not lines[j].lstrip().startswith('#') and i - j <= 3:
            j -= 1
        if j < 0 or not lines[j].rstrip().endswith('*/') or DIVIDER.match(lines[j].strip()):
            problems.append(f'{path}:{lineno}: {name}: no comment')
            continue
        end = j
        start = end
        while start >= 0 and '/*' not in lines[start]:
            start -= 1
        if start < 0:
            continue
        text = comment_lines(lines[start:end + 1])
        first = text[0].strip() if text else ''
        if first == name or (first.startswith(name + '(') and len(text) > 1):
            if len(text) == 1:
                problems.append(f'{path}:{lineno}: {name}: comment names the function only')
            continue                              # the PostgreSQL form
        m = re.match(re.escape(name) + r'(?:\(\))?\s*(?:--|-|:)\s+(.*)$', first)
        other = re.match(r'^([A-Za-z_][A-Za-z0-9_]*)$', first)
        if m:
            problems.append(f'{path}:{lineno}: {name}: "name - text" form')
            text = [m.group(1)] + text[1:]
        elif other and len(text) > 1:
            problems.append(f'{path}:{lineno}: {name}: comment names {other.group(1)}')
            text = text[1:]
        else:
            problems.append(f'{path}:{lineno}: {name}: comment does not start with the name')
        if not fix:
            continue
        indent = re.match(r'^\s*', lines[start]).group(0)
        new = ['/*', f' * {name}'] + body(text) + [' */']
        lines[start:end + 1] = [indent + l + '\n' for l in new]
    return lines


def main():
    args = sys.argv[1:]
    fix = '--fix' in args
    args = [a for a in args if a != '--fix']
    problems = []
    for path in files_to_check(args):
        full = os.path.join(ROOT, path)
        with open(full) as f:
            lines = f.readlines()
        new = fix_banner(list(lines), path, problems, fix)
        new = fix_functions(new, path, problems, fix)
        if fix and new != lines:
            with open(full, 'w') as f:
                f.writelines(new)
    for p in problems:
        print(p)
    print(f'comment-style: {len(problems)} finding(s)' + (' (fixed where possible)' if fix else ''))
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
