"""JUnit XML report of a build's checks, for the users' own CI (one case per check).

Each check (stream verification per simulator and driver, overflow proof per layer) is a
``testcase`` of a ``testsuite`` in ``<build>/junit.xml``; recording a case again (a step
re-run) replaces it, so the file always holds the latest verdict of every check.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

FILE = "junit.xml"


def record_case(path: Path, suite: str, name: str, failure: str | None = None,
                seconds: float = 0.0) -> None:
    """Add or replace case ``name`` of ``suite``; ``failure`` is the message of a failed
    check (None: passed).

    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / FILE
    >>> record_case(p, "sim", "verilator/hdl")
    >>> record_case(p, "sim", "verilator/hdl", "frame 3, word 1: expected 0x1, got 0x0")
    >>> record_case(p, "overflow", "MVAU_0")
    >>> root = ET.parse(p).getroot()
    >>> [(s.get("name"), s.get("tests"), s.get("failures")) for s in root]
    [('sim', '1', '1'), ('overflow', '1', '0')]
    """
    root = ET.parse(path).getroot() if path.is_file() else ET.Element("testsuites")
    node = root.find(f"testsuite[@name='{suite}']")
    if node is None:
        node = ET.SubElement(root, "testsuite", name=suite)
    for old in node.findall(f"testcase[@name='{name}']"):
        node.remove(old)
    case = ET.SubElement(node, "testcase", classname=f"codesign.{suite}", name=name,
                         time=f"{seconds:.3f}")
    if failure is not None:
        ET.SubElement(case, "failure", message=failure.splitlines()[0][:200]).text = failure
    for s in root:
        cases = s.findall("testcase")
        s.set("tests", str(len(cases)))
        s.set("failures", str(sum(c.find("failure") is not None for c in cases)))
    ET.indent(root)
    path.parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)
