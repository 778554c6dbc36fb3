import sys, subprocess, os, tempfile, collections
out = sys.argv[1]; args = sys.argv[2:]
edits = collections.OrderedDict()
for i in range(0, len(args), 3):
    edits.setdefault(args[i], []).append((args[i+1], args[i+2]))
parts = []
for f, reps in edits.items():
    src = open(f).read(); dst = src
    for old, new in reps:
        if dst.count(old) != 1:
            sys.exit(f"{f}: old text found {dst.count(old)} times: {old!r}")
        dst = dst.replace(old, new)
    with tempfile.NamedTemporaryFile('w', delete=False) as t:
        t.write(dst)
    d = subprocess.run(['diff', '-U1', '--label', 'a/' + f, '--label', 'b/' + f, f, t.name],
                       capture_output=True, text=True).stdout
    os.unlink(t.name)
    parts.append(d)
open(out, 'w').write(''.join(parts))
