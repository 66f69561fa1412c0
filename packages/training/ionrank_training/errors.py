"""Typed errors of the training core, and atomic writes. `python3 -m ionrank_training` prints an error as one
line, `IONRANK_ERROR {json}`, which the TypeScript driver turns into a TrainingError: the user reads the
file and the reason, never a traceback."""
import json
import os

ERROR_PREFIX = "IONRANK_ERROR "


class TrainingCoreError(Exception):
    """Bad input: `file` is what is wrong (a dataset file, an entry's file, a checkpoint), `reason` why."""

    def __init__(self, file: str, reason: str):
        super().__init__(f"{file}: {reason}")
        self.file = file
        self.reason = reason

    def record(self) -> dict:
        return {"type": type(self).__name__, "file": self.file, "reason": self.reason, "message": str(self)}


class DatasetError(TrainingCoreError):
    """A featurized dataset is missing, damaged, of the wrong kind, or lacks labels."""


class CheckpointError(TrainingCoreError):
    """A checkpoint or stage result cannot be read, or was written by a run with other settings."""


class OptionError(TrainingCoreError):
    """The options do not fit the data (e.g. more folds than entries)."""


class DivergedError(TrainingCoreError):
    """Training went to NaN or infinity; `file` is the stage's folder, whose checkpoints a rerun would resume from."""


def _replace_atomically(path: str, write):
    # Written beside the target and renamed: the pipeline treats these files as "stage done", so a run
    # killed mid-write must leave either the old file or none, never a truncated one.
    tmp = f"{path}.partial-{os.getpid()}"
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def write_json(path: str, obj, indent=1):
    """JSON written atomically; NaN and infinity are refused (JSON has none: a card holding them cannot be loaded)."""
    try:
        text = json.dumps(obj, indent=indent, allow_nan=False) + "\n"
    except ValueError:
        raise CheckpointError(path, "the results hold NaN or infinity (did training diverge?): not written") from None

    def write(tmp):
        with open(tmp, "w") as f:
            f.write(text)

    _replace_atomically(path, write)


def save_torch(obj, path: str):
    import torch

    _replace_atomically(path, lambda tmp: torch.save(obj, tmp))


def read_json(path: str, what: str, error=CheckpointError):
    """A JSON file another stage wrote; missing or damaged gives `error` naming it."""
    try:
        with open(path) as f:
            return json.load(f)
    except FileNotFoundError:
        raise error(path, f"missing ({what})") from None
    except (ValueError, UnicodeDecodeError) as e:
        raise error(path, f"is not valid JSON ({str(e).splitlines()[0]}): delete it to redo {what}") from None

