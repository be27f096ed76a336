"""Build im_livechat_ext/README.rst and static/description/index.html from
the readme/ fragments (OCA layout).

``--check`` exits non-zero when either is not what the fragments give.
"""

import re
import sys
from pathlib import Path

ADDON = Path(__file__).resolve().parent.parent / "im_livechat_ext"
SECTIONS = [
    ("Description", "DESCRIPTION"),
    ("Configuration", "CONFIGURE"),
    ("Usage", "USAGE"),
    ("Known issues / Roadmap", "ROADMAP"),
    ("Changelog", "HISTORY"),
    ("Contributors", "CONTRIBUTORS"),
]


def markdown_to_rst(text):
    text = re.sub(
        r"^!\[([^\]]*)\]\(\.\./([^)]+)\)$",
        lambda m: f".. image:: {m.group(2)}\n   :alt: {m.group(1)}\n",
        text,
        flags=re.M,
    )
    text = re.sub(r"(?<!`)`([^`]+)`(?!`)", r"``\1``", text)
    return re.sub(r"^## (.+)$", lambda m: f"{m.group(1)}\n{'~' * len(m.group(1))}", text, flags=re.M)


def build():
    title = "Live Chat Routing by Language and Expertise"
    lines = ["=" * len(title), title, "=" * len(title), ""]
    lines += [".. |badge| image:: https://img.shields.io/badge/licence-LGPL--3-blue.png", ""]
    lines += ["|badge| Odoo 18.0 · module ``im_livechat_ext``", "", ".. contents::", "   :local:", ""]
    for heading, name in SECTIONS:
        fragment = ADDON / "readme" / f"{name}.md"
        if fragment.exists():
            lines += [heading, "=" * len(heading), "", markdown_to_rst(fragment.read_text()).strip(), ""]
    return "\n".join(lines) + "\n"


def build_html(rst):
    """static/description/index.html for Odoo's Apps page: Odoo serves the
    images of a module description from its static/description/ folder."""
    from docutils.core import publish_parts  # noqa: PLC0415 (only this output needs it)

    body = publish_parts(rst.replace("static/description/", ""), writer_name="html5")["html_body"]
    return f'<section class="oe_container">\n{body}</section>\n'


def main(argv):
    outputs = {ADDON / "README.rst": build()}
    outputs[ADDON / "static" / "description" / "index.html"] = build_html(outputs[ADDON / "README.rst"])
    if "--check" in argv:
        stale = [path.name for path, text in outputs.items() if not path.exists() or path.read_text() != text]
        if stale:
            print(f"not up to date: {', '.join(stale)}: run python tools/gen_readme.py")
            return 1
        return 0
    for path, text in outputs.items():
        path.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
