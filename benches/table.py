#!/usr/bin/env python3
"""Renders compare.sh results (TSV: name, size, median seconds or input bytes, peak RSS KiB or output bytes) as markdown tables.

Usage: table.py RESULTS.tsv MACHINE VERSIONS [OUT]
"""
import sys, collections
path, machine, versions = sys.argv[1:4]
out = sys.argv[4] if len(sys.argv) > 4 else ""
t = collections.defaultdict(dict)
sizes = {}
for line in open(path):
    name, n, a, b = line.rstrip("\n").split("\t")
    n = int(n)
    if name == "sizes":
        sizes[n] = (int(a), int(b))
        continue
    t[n][name] = (float(a), float(b) if b not in ("", "NaN") else float("nan"))

def ms(s): return "n/a" if s != s else (f"{s*1000:.1f} ms" if s < 10 else f"{s:.1f} s")
def mb(kb): return "n/a" if kb != kb else f"{kb/1024:.0f} MB"
def ratio(a, b): return "n/a" if a != a or b != b or b == 0 else f"{a/b:.2f}x"

lines = [f"Machine: {machine}. {versions}.", ""]
lines += ["| workloads | input | output | function | floor | function/floor time | function/floor RSS | kyaml (kpt fn source) | kyaml/function |",
          "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
for n in sorted(sizes):
    r = t[n]
    f, fl, ky = r.get("function", (float("nan"),)*2), r.get("floor", (float("nan"),)*2), r.get("kyaml", (float("nan"),)*2)
    i, o = sizes[n]
    lines.append(f"| {n:,} | {i/1e6:.2f} MB | {o/1e6:.2f} MB | {ms(f[0])}, {mb(f[1])} | {ms(fl[0])}, {mb(fl[1])} | {ratio(f[0], fl[0])} | {ratio(f[1], fl[1])} | {ms(ky[0])}, {mb(ky[1])} | {ratio(ky[0], f[0])} |")
kz = [n for n in sorted(t) if "kustomize-function" in t[n]]
if kz:
    lines += ["", "| workloads | kustomize + function | + identity function | function/identity | + replay (same output, no work) | function/replay | native patches | no function |",
              "|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for n in kz:
        r = t[n]
        g = lambda k: r.get(k, (float("nan"),)*2)[0]
        fn, ident, rep = g('kustomize-function'), g('kustomize-identity'), g('kustomize-replay')
        lines.append(f"| {n:,} | {ms(fn)} | {ms(ident)} | {ratio(fn, ident)} | {ms(rep)} | {ratio(fn, rep)} | {ms(g('kustomize-native'))} | {ms(g('kustomize-plain'))} |")
text = "\n".join(lines) + "\n"
print(text)
if out:
    open(out, "w").write(text)
