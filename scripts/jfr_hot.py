#!/usr/bin/env python3
"""Where a JMH fork spent its time: JFR execution samples of the last SECONDS of a recording, each counted
at its innermost rnnkit frame (Vector API internals inlined into a kernel count as that kernel).

usage: scripts/jfr_hot.py RECORDING.jfr SECONDS   (needs `jfr` from a JDK >= 21 on PATH or in JAVA_HOME)
"""
import collections, datetime, json, os, subprocess, sys

JFR = os.path.join(os.environ["JAVA_HOME"], "bin", "jfr") if "JAVA_HOME" in os.environ else "jfr"
f, secs = sys.argv[1], float(sys.argv[2])
out = subprocess.run([JFR,'print','--json','--events','jdk.ExecutionSample',f],capture_output=True,text=True).stdout
ev = json.loads(out)['recording']['events']
def ts(e): return datetime.datetime.fromisoformat(e['values']['startTime'].replace('Z','+00:00')).timestamp()
end = max(ts(e) for e in ev)
top = collections.Counter(); n=0
for e in ev:
    if ts(e) < end - secs: continue
    fr = e['values']['stackTrace']['frames']
    if not fr: continue
    m = fr[0]['method']; name = m['type']['name'].split('.')[-1] + '::' + m['name']
    # attribute JDK vector internals to the first rnnkit frame
    for x in fr:
        t = x['method']['type']['name']
        if t.startswith('org.rnnkit'):
            name = t.split('.')[-1] + '::' + x['method']['name']; break
    top[name]+=1; n+=1
print(f, 'samples', n)
for k,v in top.most_common(12): print(f'  {100*v/n:5.1f}%  {k}')
