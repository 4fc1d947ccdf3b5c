"""Render a view in a process of its own: ``python -m tcsummary.render KIND VIEW OUT_DIR``.

What the workflow's render jobs run (:func:`tcsummary.jobs.render.render`): only the render
stage is imported (jinja2, no pandas), so a report renders on a core of its own while
the in-process jobs go on. ``KIND`` is ``campaign`` or ``comparison``; prints the number
of figures written.
"""

from __future__ import annotations

import sys

from .report import render_view


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print("usage: python -m tcsummary.render campaign|comparison VIEW OUT_DIR", file=sys.stderr)
        return 2
    kind, work_file, out_dir = argv
    print(render_view(kind, work_file, out_dir))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
