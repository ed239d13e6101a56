"""One module per `dlrun` subcommand (registered in dlrun.cli.SUBCOMMANDS), each with
`main(argv) -> exit code`. What they share is here: an argparse parser whose mistakes are one
`dlrun: error:` line, the options of the commands that load a trained run, and `command`, which
turns a DlrunError into that line and exit status 2."""

import argparse
import functools

from dlrun.errors import DlrunError, print_error


class Parser(argparse.ArgumentParser):
    """argparse, with a usage mistake raised as a DlrunError (`eval: the following arguments are
    required: RUN_DIR`) instead of argparse's usage text and exit."""

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
