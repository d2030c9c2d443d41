"""``lm-eval-so view [WORKSPACE]``: browse a workspace's runs in a local, read-only web page.

    lm-eval-so view                        # ./workspace, on a free port of 127.0.0.1
    lm-eval-so view path/to/workspace --port 8765 --open
    lm-eval-so view --export site/         # the same pages as static files (open site/index.html)

The address is printed on standard output; nothing opens unless ``--open``. The server binds
127.0.0.1 only, answers GET and HEAD, writes nothing to the workspace, and loads nothing from
the network. Stop it with Ctrl-C.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from ..common.cli_support import EXIT_OK, info, standalone_main
from ..common.errors import ConfigError
from ..common.refs import DEFAULT_WORKSPACE


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "workspace", metavar="WORKSPACE", nargs="?", default=DEFAULT_WORKSPACE,
        help="the workspace to show (default: ./workspace)",
    )  # fmt: skip
    parser.add_argument("--port", type=_port, default=0, help="port on 127.0.0.1 (default: a free one)")
    parser.add_argument("--open", action="store_true", help="open the page in the default browser")
    parser.add_argument(
        "--export", metavar="DIR", help="write the pages as a static site into DIR instead of serving"
    )


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be 0..65535 (got {value})")
    return value


def run(args: argparse.Namespace) -> int:
    root = Path(args.workspace).expanduser()
    if not root.is_dir():
        raise ConfigError(f"{root}: no such workspace directory (give the folder that holds runs/)")
    if args.export:
        from .export import export_site

        counts = export_site(root, args.export)
        index = Path(args.export).expanduser().resolve() / "index.html"
        info(
            f"exported {counts['runs']} runs, {counts['compare']} comparisons, {counts['trends']} trends, "
            f"{counts['experiments']} experiments"
        )
        print(index.as_uri())
        return EXIT_OK
    from .server import serve

    try:
        server = serve(root, args.port)
    except OSError as exc:
        raise ConfigError(f"cannot listen on 127.0.0.1:{args.port}: {exc.strerror or exc}") from None
    with server:
        info(f"serving {root.resolve()} (read-only); Ctrl-C stops")
        print(server.url, flush=True)
        sys.stdout.flush()
        if args.open:
            import webbrowser

            webbrowser.open(server.url)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            info("stopped")
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    return standalone_main("lm-eval-so view", __doc__, add_arguments, run, argv)


if __name__ == "__main__":
    raise SystemExit(main())
