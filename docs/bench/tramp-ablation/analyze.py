# Throwaway analysis of the ablation runs (docs/bench/tramp.md): reads
# /tmp/abl/out*.json (Google Benchmark JSON of ablation_bench).
import json, sys, statistics as st, glob
files = sorted(glob.glob('/tmp/abl/out*.json'))
runs = {}
for f in files:
    try: d = json.load(open(f))
    except Exception: continue
    per = {}
    for b in d['benchmarks']:
        if b.get('run_type') != 'iteration': continue
        per.setdefault(b['run_name'], []).append(b['cpu_time'])
    runs[f] = per
names = ["F1","F2","F2d","F2j","F3"] + [f"{k}_v{v}" for k in ("3","3s") for v in (0,1,2,4,8,16,32,47,63,64)] + ["5_v0","5_v64"]
def fig(per, n, how): 
    xs = per.get(n)
    return (st.median(xs) if how=='med' else min(xs)) if xs else None
for how in ('med','min'):
    print(f"## {how} per run; then min over runs of that")
    agg = {}
    for f, per in runs.items():
        base = fig(per, '1_plain', how); f2 = fig(per, 'F2', how) - base
        for n in names:
            v = fig(per, n, how)
            if v is None: continue
            agg.setdefault(n, []).append((v - base, (v - base) / f2))
    for n in names:
        if n not in agg: continue
        o = min(a[0] for a in agg[n]); r = min(a[1] for a in agg[n])
        print(f"{n:8s} overhead {o:5.2f} ns  xF2 {r:4.2f}   runs: " + " ".join(f"{a[1]:.2f}" for a in agg[n]))
