"""Build im_livechat_ext/README.rst from its readme/ fragments (OCA layout).

``--check`` exits non-zero when README.rst is not what the fragments give.
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


def main(argv):
    readme = ADDON / "README.rst"
    if "--check" in argv:
        if readme.read_text() != build():
            print("im_livechat_ext/README.rst is not up to date: run python3 tools/gen_readme.py")
            return 1
        return 0
    readme.write_text(build())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
