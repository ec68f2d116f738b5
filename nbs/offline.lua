-- Pandoc filter (named in _quarto.yml) that keeps the docs site self-contained, so that it reads
-- the same offline.
--
-- 1. Links within the site. nbdev links every backticked name it knows (`linear_cka`) to
--    doc_host + doc_baseurl from settings.ini: the published address, which it writes into
--    repsim/_modidx.py and, as site-url, into nbs/nbdev.yml. Browsed locally (file://, localhost,
--    CI's browser test) those links would leave the site. Links that start with site-url become
--    paths relative to the page; the published site works the same, and settings.ini keeps its
--    real address for the sitemap and for other projects' links to repsim.
-- 2. No CDN polyfill. With html-math-method mathjax, Quarto's page template also loads an ES6
--    polyfill from cdnjs.cloudflare.com (for browsers older than 2016). Pandoc sets its `mathjax`
--    template variable only when the document's metadata has none, so `mathjax: false` here
--    drops that line and nothing else; MathJax itself comes from html-math-method's url.
local prefix = nil

local function site_url()
  local dir = quarto.project.directory
  local f = dir and io.open(dir .. '/nbdev.yml', 'r')
  if not f then return nil end
  local text = f:read('a'); f:close()
  local url = text:match('site%-url:%s*"([^"]+)"')
  return url and (url:gsub('/*$', '/'))
end

function Link(el)
  if prefix == nil then prefix = site_url() or false end
  if prefix and el.target:sub(1, #prefix) == prefix then
    local rest = el.target:sub(#prefix + 1)
    local offset = quarto.project.offset or '.'
    el.target = (offset == '.' and '' or offset .. '/') .. (rest == '' and 'index.html' or rest)
    return el
  end
end

function Meta(meta)
  meta.mathjax = false
  return meta
end
