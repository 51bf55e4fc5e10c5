"""comet.experimental.tqdm_ray (Ray's tqdm_ray): bars made in tasks draw in
the driver's terminal, one line per bar, kept apart from streamed lines —
checked in a real pseudo-terminal and through a pipe."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys
import textwrap

from comet._private.progress_bars import MAGIC, render

DRIVER = textwrap.dedent("""
    import time
    import comet
    from comet.experimental.tqdm_ray import tqdm, safe_print

    comet.init(num_cpus=2, _temp_dir={temp!r})

    @comet.remote
    def work(n, tag):
        for i in tqdm(range(n), desc=f"bar {{tag}}", flush_interval_s=0.02):
            time.sleep(0.01)
            if i == 3:
                print("halfway", tag)
        return n

    results = comet.get([work.remote(20, "a"), work.remote(30, "b")])
    for _ in tqdm(range(5), desc="in the driver"):
        pass
    comet.shutdown()
    safe_print("RESULTS", results)
""")


def _script(tmp_path):
    path = tmp_path / "bars.py"
    path.write_text(DRIVER.format(temp=str(tmp_path / "comet")))
    return str(path)


def test_bars_draw_in_a_terminal_without_tearing_streamed_lines(tmp_path):
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, _script(tmp_path)], stdout=slave, stderr=slave,
                            env={**os.environ, "NO_COLOR": "1"})
    os.close(slave)
    out = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the driver exited and closed the terminal
            break
        if not chunk:
            break
        out += chunk
    assert proc.wait(timeout=120) == 0, out.decode(errors="replace")
    text = out.decode()
    assert "\x1b[" in text  # live bars are redrawn in place
    # Every line the terminal shows is whole: a bar, a streamed line, or ours.
    lines = [re.sub(r"\x1b\[\d+F\x1b\[J", "", line) for line in text.split("\r\n")]
    for line in lines:
        if "halfway" in line:
            assert re.fullmatch(r"\(work pid=\d+\) halfway [ab]", line), line
        if "%|" in line:
            assert re.fullmatch(r"(bar [ab]|in the driver): +\d+%\|[# ]{20}\| \d+/\d+ "
                                r"\[.*\]( \(work pid=\d+\))?", line), line
    assert any(re.fullmatch(r"bar a: 100%\|#{20}\| 20/20 .*", line) for line in lines), lines
    assert any(re.fullmatch(r"bar b: 100%\|#{20}\| 30/30 .*", line) for line in lines), lines
    assert any(line.startswith("in the driver: 100%") for line in lines), lines
    assert "RESULTS [20, 30]" in text
    assert MAGIC not in text


def test_bars_through_a_pipe_print_their_final_state(tmp_path):
    result = subprocess.run([sys.executable, _script(tmp_path)], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert re.search(r"^bar a: 100%\|#{20}\| 20/20 \[.*\] \(work pid=\d+\)$", result.stderr,
                     re.M), result.stderr
    assert re.search(r"^bar b: 100%\|#{20}\| 30/30 ", result.stderr, re.M)
    assert re.search(r"^in the driver: 100%\|#{20}\| 5/5 ", result.stderr, re.M)
    assert "\x1b[" not in result.stderr
    assert MAGIC not in result.stdout + result.stderr
    assert re.search(r"^\(work pid=\d+\) halfway a$", result.stdout, re.M)


def test_render_shows_progress_rate_and_who():
    state = {"x": 4, "total": 10, "desc": "load", "unit": "it", "start": 100.0}
    assert render(state, " (f pid=7)", 102.0) == \
        "load:  40%|########            | 4/10 [00:02, 2.0it/s] (f pid=7)"
    unknown = {"x": 3, "total": None, "desc": "", "unit": "rows", "start": 100.0}
    assert render(unknown, "", 101.0) == "3rows [00:01, 3.0rows/s]"


def test_a_bar_from_another_node_names_its_ip(capsys):
    """As streamed lines do: `(name pid=N, ip=H)` for another node's worker,
    no ip for this node's."""
    from comet._private.progress_bars import BarManager

    bars = BarManager("10.0.0.1")
    closed = {"x": 2, "total": 2, "desc": "d", "unit": "it", "start": 0.0, "closed": True}
    bars.update(("10.0.0.2", 7, "f", False, False), {**closed, "uuid": "a"})
    bars.update(("10.0.0.1", 8, "g", False, False), {**closed, "uuid": "b"})
    lines = capsys.readouterr().err.splitlines()
    assert lines[0].endswith(" (f pid=7, ip=10.0.0.2)"), lines
    assert lines[1].endswith(" (g pid=8)"), lines
