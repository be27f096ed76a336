"""Fail when an XML file does not parse (views, data, demo)."""

import sys
from xml.dom import minidom
from xml.parsers.expat import ExpatError


def main(paths):
    bad = 0
    for path in paths:
        try:
            minidom.parse(path)
        except ExpatError as error:
            print(f"{path}: {error}")
            bad += 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
