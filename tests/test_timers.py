"""The workflow's exit handlers cancel Snakemake's pending rate-limit timers."""

import threading
from pathlib import Path

from tcsummary.core.timers import cancel_pending_timers

ROOT = Path(__file__).resolve().parent.parent


def test_a_pending_timer_is_cancelled_and_never_fires():
    fired = threading.Event()
    timer = threading.Timer(60, fired.set)
    timer.start()
    assert cancel_pending_timers() >= 1
    timer.join(timeout=5)
    assert not timer.is_alive()
    assert not fired.is_set()


def test_the_snakefile_cancels_them_on_success_and_on_error():
    text = (ROOT / "Snakefile").read_text()
    for handler in ("onsuccess:", "onerror:"):
        body = text.split(handler, 1)[1].split("\n\n", 1)[0]
        assert "cancel_pending_timers()" in body
