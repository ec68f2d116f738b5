#!/usr/bin/env bash
# Build the docs site into _docs/, offline:   bash tools/docs.sh
# Needs the project's virtual environment .venv (tools/test.sh makes it; VENV=DIR for another).
#
# - Quarto: the `quarto` on PATH if there is one; on a machine with network, `nbdev_install_quarto`
#   or any Quarto >= 1.5 works the same. Otherwise Quarto 1.7.34 is assembled once from
#   ../shared/quarto (source and install script, about 15 s; QUARTO_SRC=DIR for another folder)
#   into .cache/quarto.
# - MathJax 3: npm's `mathjax` goes into .cache/npm; its browser build is copied to nbs/mathjax,
#   which _quarto.yml ships with the site (`resources`) and names as the MathJax URL
#   (`html-math-method`), so formulas typeset without network.
# - Then nbdev_docs from the venv. It leaves README.md alone (readme_nb in settings.ini says why).
# .cache/ and nbs/mathjax/ are gitignored. Check the site: .venv/bin/python tools/browser_test.py
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
VENV=${VENV:-$root/.venv}
QUARTO_VERSION=1.7.34 MATHJAX_VERSION=3.2.2
start=$(date +%s)
[ -x "$VENV/bin/nbdev_docs" ] || {
  echo "no nbdev_docs in $VENV: run bash tools/test.sh first (it makes .venv)"; exit 1; }

if command -v quarto >/dev/null; then
  have=$(quarto --version)
  if [ "$(printf '%s\n1.5\n' "$have" | sort -V | head -1)" != 1.5 ]; then
    echo "quarto $have on PATH is older than 1.5: upgrade it, or take it off PATH"; exit 1
  fi
else
  qdir=$root/.cache/quarto
  if [ "$("$qdir/bin/quarto" --version 2>/dev/null)" != "$QUARTO_VERSION" ]; then
    src=${QUARTO_SRC:-$(cd .. && pwd)/shared/quarto}
    tarball=$src/quarto-$QUARTO_VERSION-src.tar.gz
    [ -f "$tarball" ] || {
      echo "quarto is not on PATH and $tarball is missing: install Quarto >= 1.5"
      echo "(nbdev_install_quarto), or set QUARTO_SRC to the folder holding it"; exit 1; }
    echo "== installing Quarto $QUARTO_VERSION from $src into .cache/quarto"
    rm -rf "$qdir"
    bash "$src/install_quarto_offline.sh" "$tarball" "$qdir" >/dev/null
  fi
  export PATH=$qdir/bin:$PATH
fi
echo "== quarto $(quarto --version)"

mj=$root/.cache/npm/node_modules/mathjax
if [ "$(node -p "require('$mj/package.json').version" 2>/dev/null)" != "$MATHJAX_VERSION" ]; then
  echo "== installing MathJax $MATHJAX_VERSION (npm) into .cache/npm"
  npm install --prefix .cache/npm --no-audit --no-fund --silent "mathjax@$MATHJAX_VERSION"
fi
# The component Quarto loads (TeX input, CommonHTML output, every TeX extension), its fonts, and
# what its menu loads on demand (accessibility, speech).
rm -rf nbs/mathjax; mkdir -p nbs/mathjax/output/chtml/fonts
cp -p "$mj/LICENSE" "$mj/es5/tex-chtml-full.js" nbs/mathjax/
cp -pr "$mj/es5/output/chtml/fonts/woff-v2" nbs/mathjax/output/chtml/fonts/
cp -pr "$mj/es5/a11y" "$mj/es5/sre" "$mj/es5/ui" nbs/mathjax/

echo "== nbdev_docs"
# nbdev keeps processed notebooks in _proc/ between builds and never removes one, so a deleted or
# renamed notebook's page would stay in the site; processing them again costs a few seconds.
rm -rf _proc
"$VENV/bin/nbdev_docs"
echo "docs built into _docs/ in $(( $(date +%s) - start )) s"
