"""The `csv` logger: metrics.csv, one row per epoch (other loggers: tensorboard.py)."""


class CSVLogger:
    """Rewrites the run folder's metrics.csv after every epoch from the rows the run holds (they
    are in last.pt too, so a resumed run continues the same file)."""

    def on_epoch_end(self, trainer, row: dict) -> None:
        trainer.folder.write_metrics(trainer.rows)
