"""The `camcheck` command line: one module per subcommand under camcheck/cli/.

Each subcommand module defines ``NAME``, ``HELP``, ``add_arguments(parser)`` and ``run(args) -> int``.
Modules are imported only when listed here, so `camcheck --help` stays fast and one broken
subcommand cannot take the others down.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from types import ModuleType

from camcheck import __version__

# Order is the order shown in --help.
SUBCOMMANDS: tuple[str, ...] = (
    "run",
    "probe",
    "onvif",
    "discover",
    "simulate",
    "demo",
    "import_",
    "export",
    "report",
    "status",
)

EXIT_USAGE = 3


def _load(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(f"camcheck.cli.{name}")
    except ModuleNotFoundError as exc:
        if exc.name == f"camcheck.cli.{name}":
            return None  # subcommand not built yet
        raise


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="camcheck",
        description=(
            "Verify that CCTV cameras actually work: live, changing, usable pictures at the "
            "registered resolution and frame rate, recorded for the registered number of days."
        ),
        epilog="Run `camcheck COMMAND --help` for the options of each command.",
    )
    parser.add_argument("--version", action="version", version=f"camcheck {__version__}")
    parser.add_argument(
        "--log-level",
        default="INFO",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="log verbosity (default: INFO); logs go to stderr",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMANDS:
        module = _load(name)
        if module is None:
            continue
        p = sub.add_parser(
            module.NAME,
            help=module.HELP,
            description=getattr(module, "DESCRIPTION", module.HELP),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser




def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors; camcheck's usage code is 3
        code = exc.code if isinstance(exc.code, int) else 1
        return EXIT_USAGE if code == 2 else code
    logging.basicConfig(
        level=getattr(logging, args.log_level),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if not getattr(args, "_run", None):
        parser.print_help()
        return EXIT_USAGE
    try:
        return int(args._run(args) or 0)
    except KeyboardInterrupt:
        return 130
