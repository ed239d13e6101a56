"""One module per `dlrun` subcommand (registered in dlrun.cli.SUBCOMMANDS), each with
`main(argv) -> exit code`. What they share is here: an argparse parser whose mistakes are one
`dlrun: error:` line, the options of the commands that load a trained run, and `command`, which
turns a DlrunError into that line and exit status 2."""

import argparse
import functools
import os
from pathlib import Path

from dlrun.errors import DlrunError, print_error


class Parser(argparse.ArgumentParser):
    """argparse, with a usage mistake raised as a DlrunError (`eval: the following arguments are
    required: RUN_DIR`) instead of argparse's usage text and exit."""

    def add_argument(self, *args, **kwargs):
        # argparse counts a positional `nargs="*"` without a default as required and names it in
        # "the following arguments are required: RUN_DIR, overrides"; it is optional
        if kwargs.get("nargs") == "*" and args and not args[0].startswith("-"):
            kwargs.setdefault("default", [])
        return super().add_argument(*args, **kwargs)

    def error(self, message: str):
        raise DlrunError(f"{self.prog.removeprefix('dlrun ')}: {message}")


def new_parser(name: str, doc: str) -> Parser:
    """The parser of `dlrun NAME`, described by the first paragraph of its module's docstring."""
    return Parser(prog=f"dlrun {name}", description=doc.split("\n\n")[0])


def add_trained_run(p: Parser) -> None:
    """RUN_DIR, --checkpoint and --trust-code: the options of a command that loads a trained run."""
    p.add_argument("run_dir", metavar="RUN_DIR", help="a run folder (it has .hydra/ and checkpoints/)")
    p.add_argument("--checkpoint", choices=["best", "last"], default="best", help="which checkpoint (default: best)")
    p.add_argument(
        "--trust-code",
        action="store_true",
        help="build _target_s from the run's config that are not dlrun's own (your own model): a run "
        "folder is data, so only do this for a run you trust",
    )


def check_out_file(path: str, option: str, example: str, suffixes: tuple[str, ...] = ()) -> Path:
    """The file `option` names can be written: not a folder, in a folder that exists and can be
    written to, with one of `suffixes` (lower case, with the dot) when given. Checked before any
    work or output, so a typo costs nothing; DlrunError (`predict: --out x/p.csv: no such folder x`).
    `example`: a file name to suggest when `path` is a folder."""
    p = Path(path)
    where = f"{option} {path}"
    if p.is_dir():
        raise DlrunError(f"{where}: is a folder, not a file (give a file name, e.g. {p / example})")
    if suffixes and p.suffix.lower() not in suffixes:
        raise DlrunError(f"{where}: give a file name ending in {', '.join(suffixes)}")
    folder = p.parent
    if not folder.exists():
        raise DlrunError(f"{where}: no such folder {folder}")
    if not folder.is_dir():
        raise DlrunError(f"{where}: {folder} is a file, not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise DlrunError(f"{where}: cannot write into the folder {folder} (permission denied)")
    return p


def check_out_folder(path: str, option: str) -> Path:
    """The folder `option` names can be created or written into: it is not a file, nor under one,
    and its nearest existing folder is writable. Nothing is created here."""
    p = Path(path)
    where = f"{option} {path}"
    if p.exists() and not p.is_dir():
        raise DlrunError(f"{where}: is a file, not a folder")
    top = p
    while not top.exists() and top != top.parent:  # up to the current folder or /
        top = top.parent
    if not top.is_dir():
        raise DlrunError(f"{where}: {top} is a file, not a folder")
    if not os.access(top, os.W_OK | os.X_OK):
        raise DlrunError(f"{where}: cannot write into the folder {top} (permission denied)")
    return p


def command(main):
    """`main(argv)` with dlrun's error habits: a DlrunError is one line and exit 2, a closed pipe
    (`dlrun compare ... | head`) exit 1 without a traceback; otherwise main's exit code (None: 0)."""

    @functools.wraps(main)
    def run(argv: list[str]) -> int:
        try:
            return main(argv) or 0
        except DlrunError as e:
            print_error(str(e))
            return 2
        except BrokenPipeError:
            return 1

    return run
