"""`trainer.save_top_k=K`: besides best.pt, the weights of the K best epochs by the monitored metric
in checkpoints/top/epoch-NNN.pt (the same content as best.pt: {"model", "epoch", "val"}). An epoch
that enters the K best is saved, the one it pushes out is deleted. The list is a TrainState
component (in last.pt), so a resumed run keeps the same K; with K = 1 best.pt alone is written."""

from pathlib import Path

from dlrun.metrics import better

TOP = "top"


class TopK:
    def __init__(self, folder, k: int, monitor: str, mode: str):
        self.folder, self.k, self.monitor, self.mode = folder, k, monitor, mode
        self.kept: list[dict] = []  # {"epoch", "value", "path"}, best first
        if k > 1 and folder.writable:
            (folder.checkpoints / TOP).mkdir(exist_ok=True)

    def offer(self, epoch: int, value: float, checkpoint: dict) -> None:
        """Epoch `epoch` was validated with `value` (finite): keep its `checkpoint` if it is among the K best."""
        if self.k == 1:
            return
        if len(self.kept) == self.k and not better(value, self.kept[-1]["value"], self.mode):
            return
        name = f"epoch-{epoch:03d}"
        self.folder.save_checkpoint(f"{TOP}/{name}", checkpoint)
        self.kept.append({"epoch": epoch, "value": value, "path": f"checkpoints/{TOP}/{name}.pt"})
        # best first; among equal values the earlier epoch first
        self.kept.sort(key=lambda e: (-e["value"] if self.mode == "max" else e["value"], e["epoch"]))
        for dropped in self.kept[self.k :]:
            self._remove(dropped["path"])
        del self.kept[self.k :]

    def _remove(self, path: str) -> None:
        if self.folder.writable:
            (self.folder.path / path).unlink(missing_ok=True)

    def listing(self) -> list[dict]:
        """For summary.json: [{"epoch", <monitor>, "path"}], best first."""
        return [{"epoch": e["epoch"], self.monitor: e["value"], "path": e["path"]} for e in self.kept]

    def state_dict(self) -> dict:
        return {"kept": [dict(e) for e in self.kept]}

    def load_state_dict(self, state: dict) -> None:
        """Also deletes files a killed session saved after last.pt was written (not in the list)."""
        self.kept = [dict(e) for e in state["kept"]]
        top = Path(self.folder.path) / "checkpoints" / TOP
        listed = {e["path"] for e in self.kept}
        for f in top.glob("*.pt") if top.is_dir() else []:
            if f"checkpoints/{TOP}/{f.name}" not in listed:
                self._remove(f"checkpoints/{TOP}/{f.name}")
