"""An SB3 callback that keeps every ``info["episode"]`` the training loop saw.

What fills SB3's ``ep_info_buffer``: the SB3 tests compare the logs with it.
"""

from __future__ import annotations

from stable_baselines3.common.callbacks import BaseCallback


class EpisodeInfos(BaseCallback):
    """(sub-env, return, length) of every ``info["episode"]`` the training loop saw."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[tuple[int, float, int]] = []

    def _on_step(self) -> bool:
        for i, info in enumerate(self.locals["infos"]):
            if "episode" in info:
                self.seen.append((i, float(info["episode"]["r"]), int(info["episode"]["l"])))
        return True
