"""The password options every camera-facing subcommand takes: never on the command line itself."""

from __future__ import annotations

import argparse

from camcheck.secrets import Secret


class PasswordError(Exception):
    """The password option points at nothing readable; the message says which and why."""


def add_password_arguments(parser: argparse.ArgumentParser) -> None:
    pw = parser.add_mutually_exclusive_group()
    pw.add_argument("--password-env", metavar="VAR", help="read the password from environment variable VAR")
    pw.add_argument("--password-file", metavar="FILE", help="read the password from FILE (one trailing newline ignored)")


def read_password(args: argparse.Namespace) -> Secret | None:
    """The password from --password-env or --password-file, or None when neither is given."""
    if args.password_env:
        try:
            return Secret.from_env(args.password_env)
        except KeyError:
            raise PasswordError(f"environment variable {args.password_env} is not set") from None
    if args.password_file:
        try:
            return Secret.from_file(args.password_file)
        except OSError as exc:
            raise PasswordError(f"cannot read password file {args.password_file}: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise PasswordError(f"password file {args.password_file} is not UTF-8 text") from None
    return None
