"""tcsummary: trustworthy campaign reports for tcbench experiment repositories.

The package has the workflow's stages as subpackages; imports only go down
(a test checks it):

- ``core``: the run model, hparam values, errors, atomic files, logging, processes
- ``read``: Aim runs and artifact files, read without changing a byte (discovery, inventory)
- ``plan``: what a build covers (selection, campaigns, grids, batches, lock, waiting)
- ``summarise``: extraction, statistics, the campaign tables, tcbench's files, provenance
- ``render``: HTML, Markdown, LaTeX and SVG from the summary's view

Beside them: ``jobs`` (what each Snakemake rule calls), ``cli`` (the ``tcsummary``
command) and ``example`` (a generator of realistic repositories, never on the
build's path except to create the bundled example).
"""

__version__ = "0.1.0"
