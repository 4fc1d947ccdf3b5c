"""tcsummary: trustworthy campaign reports for tcbench experiment repositories.

The package is split by responsibility: ``aim_reader`` and ``artifacts`` read a
repository without changing a byte of it, ``repository`` joins both into one
scan, ``tables`` turns a scan into DataFrames, ``example`` writes realistic
repositories and ``cli`` exposes all of it from the shell.
"""

__version__ = "0.1.0"
