"""A writer SIGKILLed while it writes a claim leaves nothing that blocks the next run.

Found by ``test_crash.py``'s random kills (1 trial in several hundred): a run killed
between creating ``.agentreel-claims/NAME`` and writing its pid into it left an empty
claim. An empty claim looks like one being written right now, so for 5 s the restarted
run took it for a live writer's: its video went to ``NAME-<pid>.mp4`` instead of
Gymnasium's name, and the claims folder outlived it. A claim is now written whole
before it appears under its name; what a killed writer leaves is its draft, which
names its dead pid and is swept.
"""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from agentreel.clips.claims import CLAIMS_FOLDER, NameClaims, _release_at_exit

#: A child that gets stuck (forever) in the middle of writing a claim or a sub-env rank.
STUCK_WRITER = textwrap.dedent("""
    import os, sys, time
    from agentreel.clips.claims import NameClaims
    from agentreel.core.sub_env import SubEnvSlot

    def stuck(*args, **kwargs):
        print("WRITING", flush=True)
        time.sleep(600)

    os.write = stuck          # the claim's bytes never arrive
    os.fdopen = stuck
    folder, what = sys.argv[1], sys.argv[2]
    if what == "claim":
        NameClaims(folder).claim(os.path.join(folder, "rl-video-episode-0.mp4"))
    else:
        SubEnvSlot(folder, "rl-video", 0)
""")

#: A normal run afterwards: claim the same name (or rank), release it, exit.
NEXT_RUN = textwrap.dedent("""
    import os, sys
    from agentreel.clips.claims import NameClaims
    from agentreel.core.sub_env import SubEnvSlot

    folder, what = sys.argv[1], sys.argv[2]
    if what == "claim":
        claims = NameClaims(folder)
        print(os.path.basename(claims.claim(os.path.join(folder, "rl-video-episode-0.mp4"))))
        claims.release_all()
    else:
        slot = SubEnvSlot(folder, "rl-video", 0)
        print(slot.registered)
        slot.release()
""")


def kill_while_writing(folder: Path, what: str) -> None:
    proc = subprocess.Popen([sys.executable, "-c", STUCK_WRITER, str(folder), what],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "WRITING", proc.stderr.read()
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    assert proc.returncode == -signal.SIGKILL


def next_run(folder: Path, what: str) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-c", NEXT_RUN, str(folder), what],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc


@pytest.mark.parametrize("what", ["claim", "rank"])
def test_a_writer_killed_mid_claim_blocks_nothing(tmp_path, what):
    kill_while_writing(tmp_path, what)
    assert os.listdir(tmp_path / CLAIMS_FOLDER)  # it left something behind
    proc = next_run(tmp_path, what)  # at once: well within the 5 s an empty claim is trusted
    expected = "rl-video-episode-0.mp4" if what == "claim" else "True"
    assert proc.stdout.strip() == expected, proc.stderr
    assert "another live recorder" not in proc.stderr
    assert not (tmp_path / CLAIMS_FOLDER).exists(), os.listdir(tmp_path / CLAIMS_FOLDER)


def test_claims_work_where_hard_links_do_not(tmp_path, monkeypatch):
    """Some shared file systems refuse hard links: claims fall back to an exclusive create."""
    def no_links(src, dst, *args, **kwargs):
        raise OSError(errno.EPERM, "Operation not permitted", dst)

    monkeypatch.setattr(os, "link", no_links)
    path = str(tmp_path / "rl-video-episode-0.mp4")
    first, second = NameClaims(str(tmp_path)), NameClaims(str(tmp_path))
    assert first.claim(path) == path
    assert second.claim(path) == str(tmp_path / f"rl-video-episode-0-{os.getpid()}.mp4")
    claim = tmp_path / CLAIMS_FOLDER / "rl-video-episode-0.mp4"
    assert claim.read_text().split()[0] == str(os.getpid())
    first.release_all()
    second.release_all()
    _release_at_exit()
    assert not (tmp_path / CLAIMS_FOLDER).exists()
