"""Write README.md from nbs/index.ipynb (nbdev_readme needs Quarto; this keeps the README faithful without it).

The one README mechanism: nbdev_docs does not touch README.md (readme_nb in settings.ini says why).

Markdown cells are copied as they are; code cells are shown as Python blocks with their text outputs, except
cells marked `#| hide` (left out) and `#| echo: false` (output only). nbdev's `#|` directive lines are removed.
Usage: python tools/make_readme.py [--check]   (--check: exit 1 if README.md is out of date, write nothing)
"""
import json, sys
from pathlib import Path

root = Path(__file__).resolve().parent.parent

def directives(src):
    return {l[3:].strip().split(':')[0].strip(): l for l in src.splitlines() if l.startswith('#|')}

def render(nb_path):
    nb = json.loads(Path(nb_path).read_text())
    out = []
    for c in nb['cells']:
        src = ''.join(c['source'])
        if c['cell_type'] == 'markdown':
            out.append(src.strip())
            continue
        if c['cell_type'] != 'code': continue
        d = directives(src)
        if 'hide' in d or 'default_exp' in d: continue
        code = '\n'.join(l for l in src.splitlines() if not l.startswith('#|')).strip()
        if code and 'echo' not in d: out.append(f"```python\n{code}\n```")
        for o in c.get('outputs', []):
            text = o.get('text') or o.get('data', {}).get('text/markdown') or o.get('data', {}).get('text/plain')
            if text is None: continue
            text = ''.join(text).rstrip()
            out.append(text if 'text/markdown' in o.get('data', {}) else f"```\n{text}\n```")
    return '<!-- Generated from nbs/index.ipynb by tools/make_readme.py: edit the notebook, not this file. -->\n\n' + '\n\n'.join(out) + '\n'

if __name__ == '__main__':
    md = render(root/'nbs'/'index.ipynb')
    readme = root/'README.md'
    if '--check' in sys.argv[1:]:
        if not readme.exists() or readme.read_text() != md:
            sys.exit("README.md is out of date with nbs/index.ipynb: run python tools/make_readme.py")
    else: readme.write_text(md)
