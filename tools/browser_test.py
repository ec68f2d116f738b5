"""Read the docs site (or a standalone HTML file) in headless Chromium, offline, as a reader would.

    python tools/browser_test.py                       # every page of _docs/, served on localhost
    python tools/browser_test.py --file run/report.html    # self-contained HTML files (repeatable)
    python tools/browser_test.py --warn code-link,code-scroll  # report those, fail on the rest

Each page is loaded with the network cut off (requests that leave localhost are aborted and
reported) and checked for:
  console      console errors and uncaught exceptions
  request      local requests that fail (HTTP >= 400, or not loaded)
  offsite      requests that leave the site (a standalone file: any but itself and data: URIs)
  link         internal links whose page is not HTTP 200 (a standalone file: links to local files)
  anchor       internal links whose #anchor is not on the page they point to
  image        images that do not load (naturalWidth 0); in a standalone file also images that are
               not embedded or not visible
  tex          raw TeX left in the text (\\( \\[ $$ outside code), math MathJax did not typeset
  code-link    literal "[`name`](" text in code blocks (nbdev's links in show_doc signatures)
  code-scroll  code blocks wider than their box (the reader must scroll sideways)
  overflow     the page or the content column wider than its box (a table under the margin),
               and display formulas too wide for the column (they scroll in their own box)
A full-page screenshot of each page goes to --shots (default screenshots/, gitignored), with a JSON
summary, results.json. Exit status 1 if a check not named in --warn found something.
Needs Chromium (Debian `chromium`) and the Python package playwright (a dev requirement; its own
browser download is not used: /usr/bin/chromium, or --chromium PATH).
"""
from __future__ import annotations
import argparse, functools, http.server, json, re, sys, tempfile, threading, time, urllib.request
from pathlib import Path
from urllib.parse import urldefrag, urlparse, unquote

CHECKS = 'console request offsite link anchor image tex code-link code-scroll overflow'.split()
FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync']

# Runs in the page after load and after MathJax has typeset: what the checks need, as plain data.
INSPECT_JS = r"""async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) await MathJax.startup.promise;
  const short = (s, n=90) => {
    s = s.replace(/\s+/g, ' ').trim(); return s.length > n ? s.slice(0, n) + '…' : s; };
  const right = el => el.getBoundingClientRect().right;
  // images: load lazy ones too, then measure
  const imgs = [...document.images];
  imgs.forEach(im => { im.loading = 'eager'; });
  await Promise.all(imgs.map(im => im.complete ? null : new Promise(r => {
    im.addEventListener('load', r); im.addEventListener('error', r); setTimeout(r, 5000); })));
  const visible = el => { const r = el.getBoundingClientRect(), cs = getComputedStyle(el);
    return r.width > 0 && r.height > 0 && cs.visibility !== 'hidden' && cs.display !== 'none'; };
  const images = imgs.map(im => ({src: (im.getAttribute('src') || '').slice(0, 80),
    data: im.src.startsWith('data:'), ok: im.complete && im.naturalWidth > 0,
    visible: visible(im)}));
  const links = [...document.querySelectorAll('a[href]')].map(a => a.href);
  // raw TeX: in text outside code, scripts and typeset math
  const skip = 'pre, code, script, style, noscript, textarea, mjx-container';
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const tex = [];
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    if (n.parentElement.closest(skip)) continue;
    const t = n.textContent, m = t.match(/\\\(|\\\[|\$\$/);
    if (m) tex.push(short(t.slice(Math.max(0, m.index - 30), m.index + 60)));
  }
  const math = [...document.querySelectorAll('span.math')];
  const untypeset = math.filter(s => !s.querySelector('mjx-container'))
    .map(s => short(s.textContent, 60));
  // code blocks: markdown links as text, and lines wider than the block
  const pres = [...document.querySelectorAll('pre')];
  const codeLinks = [];
  pres.forEach(p => p.textContent.split('\n').forEach(line =>
    (line.match(/\[`[^`]+`\]\(/g) || []).forEach(m =>
      codeLinks.push(`${m}: ${short(line.replace(/\]\([^)]*\)/g, '](…)'), 80)}`))));
  const scroll = pres.filter(p => p.scrollWidth > p.clientWidth + 1).map(p => {
    const longest = p.textContent.split('\n').reduce((a, b) => b.length > a.length ? b : a, '');
    return {chars: longest.length, over: p.scrollWidth - p.clientWidth, line: short(longest, 70)};
  });
  // overflow: the page, the content column (naming the outermost elements past its edge)
  const de = document.documentElement;
  const main = document.querySelector('main#quarto-document-content') ||
               document.querySelector('main') || document.body;
  const edge = main.getBoundingClientRect().right + 1;
  const scrolls = el => { for (let p = el.parentElement; p && p !== main; p = p.parentElement)
    if (['auto', 'scroll', 'hidden'].includes(getComputedStyle(p).overflowX)) return true;
    return false; };
  const past = el => right(el) > edge && el.tagName !== 'MJX-ASSISTIVE-MML' && !scrolls(el);
  const wide = main.scrollWidth <= main.clientWidth + 1 ? [] : [...main.querySelectorAll('*')]
    .filter(el => past(el) && !(el.parentElement !== main && past(el.parentElement)))
    .map(el => `<${el.tagName.toLowerCase()}${typeof el.className === 'string' && el.className ?
      '.' + el.className.split(' ')[0] : ''}> ${Math.round(right(el) - edge + 1)} px past ` +
      `the column: ${short(el.textContent, 60)}`);
  const mathScroll = [...document.querySelectorAll('mjx-container[display="true"]')]
    .filter(m => m.scrollWidth > m.clientWidth + 1).map(m => m.scrollWidth - m.clientWidth);
  return {images, links, tex, untypeset, math: math.length, codeLinks, pres: pres.length, scroll,
          pageOver: de.scrollWidth - de.clientWidth,
          columnOver: main.scrollWidth - main.clientWidth,
          wide: wide.slice(0, 5), mathScroll};
}"""


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *a): pass


def serve(root:Path):
    "Serve `root` on a free localhost port in a thread; returns (server, base URL)."
    handler = functools.partial(Quiet, directory=str(root))
    srv = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv, f'http://127.0.0.1:{srv.server_address[1]}/'


@functools.lru_cache(None)
def fetch(url:str):
    "(status, text) of a local URL."
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, r.read().decode('utf-8', 'replace')
    except urllib.error.HTTPError as e: return e.code, ''
    except Exception as e: return 0, str(e)


def has_anchor(html:str, frag:str)->bool:
    "Whether the page has an element with this id (or an <a name>)."
    frag = unquote(frag)
    return re.search(r'''\b(?:id|name)\s*=\s*["']%s["']''' % re.escape(frag), html) is not None


def check_page(ctx, url:str, shot:Path, base:str|None, width:int)->dict:
    "Load one page, run every check, save a screenshot; {check: [findings]} and counts."
    found = {c: [] for c in CHECKS}
    page = ctx.new_page()
    page.set_viewport_size({'width': width, 'height': 900})
    add = lambda check, text: found[check].append(text)
    page.on('console', lambda m: m.type == 'error' and
            add('console', f'{m.text} ({m.location.get("url", "")})'))
    page.on('pageerror', lambda e: add('console', f'uncaught: {e}'))
    page.on('requestfailed', lambda r: r.url.startswith(base or 'file:') and
            add('request', f'{r.url} ({r.failure})'))
    page.on('response', lambda r: r.status >= 400 and add('request', f'{r.url} (HTTP {r.status})'))

    def local(u): return u.startswith('data:') or (u.startswith(base) if base else u == url)
    page.on('request', lambda r: local(r.url) or add('offsite', r.url[:120]))
    page.route('**/*', lambda r: r.continue_() if local(r.request.url) else r.abort())
    page.goto(url, wait_until='load', timeout=60_000)
    info = page.evaluate(INSPECT_JS)
    page.screenshot(path=str(shot), full_page=True)
    page.close()

    for im in info['images']:
        if not im['ok']: add('image', f"not loaded: {im['src']}")
        elif base is None and not im['data']: add('image', f"not embedded: {im['src']}")
        elif base is None and not im['visible']: add('image', f"not visible: {im['src'][:40]}")
    for link in sorted(set(info['links'])):
        target, frag = urldefrag(link)
        if base is None:   # a standalone file: anchors within it, and no other local file
            if target == url:
                if frag and not has_anchor(Path(urlparse(url).path).read_text(), frag):
                    add('anchor', f'#{frag}: no such anchor')
            elif urlparse(link).scheme == 'file': add('link', f'{link}: needs a file beside it')
            continue
        if not target.startswith(base): continue   # external (GitHub source): not checked offline
        status, html = fetch(target)
        if status != 200: add('link', f'{target[len(base):] or "/"}: HTTP {status}')
        elif frag and target.endswith('.html') and not has_anchor(html, frag):
            add('anchor', f'{target[len(base):]}#{frag}: no such anchor')
    found['tex'] += [f'raw TeX: {t}' for t in info['tex']]
    found['tex'] += [f'not typeset: {t}' for t in info['untypeset']]
    found['code-link'] = info['codeLinks']
    found['code-scroll'] = [f"{s['chars']} chars, {s['over']} px hidden: {s['line']}"
                            for s in info['scroll']]
    if info['pageOver'] > 0: add('overflow', f"page {info['pageOver']} px wider than the window")
    if info['columnOver'] > 0:
        add('overflow', f"content column overflows by {info['columnOver']} px")
        found['overflow'] += info['wide']
    found['overflow'] += [f'display formula {px} px wider than the column (scrolls)'
                          for px in info['mathScroll']]
    return dict(found=found, pres=info['pres'], math=info['math'], images=len(info['images']),
                external=sum(1 for l in set(info['links']) if not l.startswith(base or url)))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('site', nargs='?', default='_docs', help='built site folder (default: _docs)')
    p.add_argument('--file', action='append', default=[],
                   help='a standalone HTML file to check instead of the site (repeatable)')
    p.add_argument('--warn', default='', help='comma-separated checks to report without failing')
    p.add_argument('--shots', default='screenshots', help='folder for screenshots, results.json')
    p.add_argument('--width', type=int, default=1280, help='window width in CSS px (default 1280)')
    p.add_argument('--chromium', default='/usr/bin/chromium', help='Chromium executable')
    a = p.parse_args(argv)
    warn = {w for w in a.warn.split(',') if w}
    if warn - set(CHECKS):
        p.error(f'unknown check(s) {sorted(warn - set(CHECKS))}; checks: {", ".join(CHECKS)}')
    if not Path(a.chromium).exists():
        sys.exit(f'no Chromium at {a.chromium}: apt-get install chromium, or pass --chromium PATH')
    from playwright.sync_api import sync_playwright

    srv = base = None
    if a.file:
        files = [Path(f).resolve() for f in a.file]
        missing = [str(f) for f in files if not f.is_file()]
        if missing: sys.exit(f'no such file: {", ".join(missing)}')
        pages = [(f.name, f.as_uri()) for f in files]
        shots = Path(a.shots)/'files'
    else:
        site = Path(a.site)
        if not (site/'index.html').is_file():
            sys.exit(f'{site}/index.html not found: build the site first (bash tools/docs.sh)')
        srv, base = serve(site)
        own = lambda f: not any(d.startswith(('.', 'site_libs', 'mathjax'))
                                for d in f.relative_to(site).parts)
        names = sorted(str(f.relative_to(site)) for f in site.rglob('*.html') if own(f))
        pages = [(n, base + n) for n in names]
        shots = Path(a.shots)/'site'
    shots.mkdir(parents=True, exist_ok=True)

    t0, results, failed = time.time(), {}, 0
    with sync_playwright() as pw, tempfile.TemporaryDirectory() as profile:
        ctx = pw.chromium.launch_persistent_context(profile, executable_path=a.chromium,
                                                    headless=True, args=FLAGS,
                                                    service_workers='block')
        for name, url in pages:
            r = check_page(ctx, url, shots/(Path(name).stem + '.png'), base, a.width)
            results[name] = r
            f = r['found']
            bad = [c for c in CHECKS if f[c] and c not in warn]
            failed += bool(bad)
            counts = (f"{len(f['code-scroll'])}/{r['pres']} code blocks scroll, "
                      f"{len(f['code-link'])} code links, {r['math']} math, {r['images']} images")
            print(f"{'FAIL' if bad else 'ok  '} {name}: {counts}")
            for c in CHECKS:
                if not f[c]: continue
                tag = 'FAIL' if c in bad else 'warn'
                print(f'     {tag} {c} ({len(f[c])}):')
                for x in f[c][:6]: print(f'          {x}')
                if len(f[c]) > 6: print(f'          ... {len(f[c]) - 6} more')
        ctx.close()
    if srv: srv.shutdown()
    (shots/'results.json').write_text(json.dumps(results, indent=1))
    print(f'{len(pages)} page(s) in {time.time() - t0:.0f} s; screenshots in {shots}/; '
          f'{failed} page(s) failed' + f' (reported only: {", ".join(sorted(warn))})' * bool(warn))
    return 1 if failed else 0


if __name__ == '__main__': sys.exit(main())
